"""The image catalog: name normalisation, shipped entries, user overrides, validation, package data."""

from __future__ import annotations

from importlib import resources

import pytest

from kubelet.images import CatalogError, is_shell_form, load_catalog, parse_image


@pytest.fixture(scope="module")
def catalog():
    return load_catalog()


@pytest.mark.parametrize("image", ["nginx", "nginx:1.25", "docker.io/library/nginx:1.25", "library/nginx",
                                   "NGINX:latest", "nginx@sha256:0123abcd", "localhost:5000/team/nginx:1"])
def test_lookup_normalises_registry_library_tag_and_digest(catalog, image):
    entry = catalog.lookup(image)
    assert entry.name == "nginx"
    assert entry.kind == "http-server"
    assert (entry.port, entry.fallback_port) == (80, 8080)


def test_shipped_entries(catalog):
    kinds = {name: catalog.lookup(name).kind for name in
             ("nginx", "httpd", "busybox", "alpine", "ubuntu", "debian", "python", "pause")}
    assert kinds == {"nginx": "http-server", "httpd": "http-server", "busybox": "shell", "alpine": "shell",
                     "ubuntu": "shell", "debian": "shell", "python": "shell", "pause": "idle"}
    assert catalog.lookup("registry.k8s.io/pause:3.9").kind == "idle"
    assert catalog.lookup("ubuntu").pull_delay_seconds == 0.5  # the default
    assert catalog.lookup("busybox").size_bytes > 0
    assert catalog.lookup("does-not-exist:v1").kind == "fail-pull"
    assert catalog.lookup("busybox").port is None


def test_unknown_image_is_idle_with_default_delay(catalog):
    entry = catalog.lookup("quay.io/acme/widget:2.0")
    assert entry.kind == "idle"
    assert entry.name == "acme/widget"
    assert entry.pull_delay_seconds == catalog.default_pull_delay_seconds == 0.5


def test_parse_image_canonical():
    assert parse_image("nginx").canonical == "docker.io/library/nginx:latest"
    assert parse_image("bitnami/redis:7").canonical == "docker.io/bitnami/redis:7"
    ref = parse_image("registry.k8s.io/pause:3.9")
    assert (ref.registry, ref.repository, ref.tag, ref.name) == ("registry.k8s.io", "pause", "3.9", "pause")
    assert parse_image("localhost:5000/app").canonical == "localhost:5000/app:latest"
    assert parse_image("busybox@sha256:ab").canonical == "docker.io/library/busybox@sha256:ab"
    with pytest.raises(ValueError):
        parse_image("  ")


def test_user_catalog_merges_over_shipped(tmp_path):
    extra = tmp_path / "images.yaml"
    extra.write_text("""
defaults:
  pullDelaySeconds: 0.05
images:
  nginx:
    pullDelaySeconds: 2
  myweb:
    kind: http-server
    port: 8081
  worker:
    kind: shell
    defaultCommand: ["sh", "-c", "echo working"]
  pause:
    kind: fail-pull
""")
    cat = load_catalog(str(extra))
    nginx = cat.lookup("nginx")
    assert (nginx.kind, nginx.pull_delay_seconds, nginx.port) == ("http-server", 2.0, 80)  # field by field
    myweb = cat.lookup("example.com/myweb:3")
    assert (myweb.kind, myweb.port, myweb.fallback_port) == ("http-server", 8081, 8080)
    assert cat.lookup("worker").default_command == ["sh", "-c", "echo working"]
    assert cat.lookup("pause").kind == "fail-pull"
    assert cat.lookup("ubuntu").pull_delay_seconds == 0.05  # the user's default applies to shipped entries
    assert cat.lookup("busybox").pull_delay_seconds == 0.3  # an explicit shipped value stays
    assert cat.lookup("unknown-thing").pull_delay_seconds == 0.05


@pytest.mark.parametrize("body, words", [
    ("images:\n  x:\n    kind: webserver\n", "kind"),
    ("images:\n  x:\n    pullDelaySeconds: -1\n", "pullDelaySeconds"),
    ("images:\n  x:\n    kind: http-server\n    port: 70000\n", "port"),
    ("images:\n  x:\n    colour: blue\n", "unknown fields"),
    ("images: [1, 2]\n", "mapping"),
    ("- just a list\n", "mapping"),
])
def test_invalid_user_catalog_is_rejected_with_a_clear_message(tmp_path, body, words):
    extra = tmp_path / "bad.yaml"
    extra.write_text(body)
    with pytest.raises(CatalogError, match=words) as err:
        load_catalog(str(extra))
    assert str(extra) in str(err.value)


def test_catalog_yaml_is_package_data():
    assert resources.files("kubelet.images").joinpath("catalog.yaml").is_file()


@pytest.mark.parametrize("argv, expected", [
    (["echo hello && exit 3"], True),
    (["sleep 5"], True),
    (["echo"], False),
    (["sh", "-c", "echo hi"], False),
    ([], False),
])
def test_is_shell_form(argv, expected):
    assert is_shell_form(argv) is expected
