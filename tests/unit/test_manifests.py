"""Tests for kubemu.manifests: reading YAML/JSON manifests from files, directories and stdin."""

from __future__ import annotations

import io
import json
import os
import textwrap

import pytest

from kubemu.manifests import ManifestError, load_manifests

POD = """\
apiVersion: v1
kind: Pod
metadata:
  name: nginx
  creationTimestamp: 2026-11-25T08:40:02Z
spec:
  containers:
  - name: nginx
    image: nginx:1.25
"""

CONFIGMAP = """\
kind: ConfigMap
apiVersion: v1
metadata:
  name: settings
data:
  "on": "yes"
  level: "3"
"""


def write(tmp_path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return str(path)


@pytest.fixture
def in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_single_document_keeps_key_order_and_string_timestamps(tmp_path) -> None:
    [pod] = load_manifests(write(tmp_path, "pod.yaml", POD))
    assert list(pod) == ["apiVersion", "kind", "metadata", "spec"]
    assert list(pod["metadata"]) == ["name", "creationTimestamp"]
    assert pod["metadata"]["creationTimestamp"] == "2026-11-25T08:40:02Z"
    assert pod["spec"]["containers"] == [{"name": "nginx", "image": "nginx:1.25"}]


def test_multiple_documents_and_empty_ones_skipped(tmp_path) -> None:
    text = "---\n" + POD + "---\n---\n# just a comment\n---\n" + CONFIGMAP + "---\n"
    objects = load_manifests(write(tmp_path, "all.yaml", text))
    assert [o["kind"] for o in objects] == ["Pod", "ConfigMap"]
    assert list(objects[1]) == ["kind", "apiVersion", "metadata", "data"]
    assert objects[1]["data"] == {"on": "yes", "level": "3"}


def test_list_kind_is_expanded(tmp_path) -> None:
    text = """\
    apiVersion: v1
    kind: List
    items:
    - apiVersion: v1
      kind: Namespace
      metadata: {name: team-a}
    - apiVersion: v1
      kind: Namespace
      metadata: {name: team-b}
    """
    objects = load_manifests(write(tmp_path, "list.yaml", text))
    assert [o["metadata"]["name"] for o in objects] == ["team-a", "team-b"]


def test_directory_reads_yaml_yml_json_sorted(tmp_path) -> None:
    write(tmp_path, "b.yml", CONFIGMAP)
    write(tmp_path, "a.yaml", POD)
    write(
        tmp_path, "c.json", json.dumps({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "x"}})
    )
    write(tmp_path, "notes.txt", "not a manifest: [")
    (tmp_path / "sub").mkdir()
    write(tmp_path / "sub", "d.yaml", POD.replace("nginx", "nested"))
    assert [o["kind"] for o in load_manifests(str(tmp_path))] == ["Pod", "ConfigMap", "Namespace"]
    assert len(load_manifests(str(tmp_path), recursive=True)) == 4


def test_json_stream(tmp_path) -> None:
    docs = [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": n}} for n in ("a", "b")]
    path = write(tmp_path, "ns.json", "\n".join(json.dumps(d, indent=2) for d in docs))
    assert load_manifests(path) == docs


def test_stdin() -> None:
    objects = load_manifests("-", stdin=io.StringIO(POD + "---\n" + CONFIGMAP))
    assert [o["kind"] for o in objects] == ["Pod", "ConfigMap"]


# --------------------------------------------------------------------------- errors


def error_for(path: str, **kwargs) -> str:
    with pytest.raises(ManifestError) as info:
        load_manifests(path, **kwargs)
    assert isinstance(info.value, ValueError)
    return str(info.value)


def test_yaml_syntax_error_names_file_line_and_column(in_tmp) -> None:
    write(
        in_tmp,
        "pod.yaml",
        """\
    apiVersion: v1
    kind: Pod
    metadata:
      name: nginx
    spec:
      containers:
      - name: nginx
        image: nginx: latest
    """,
    )
    assert (
        error_for("pod.yaml")
        == "error parsing pod.yaml: line 8, column 17: mapping values are not allowed here"
    )


def test_bad_indentation_error(in_tmp) -> None:
    write(in_tmp, "bad.yaml", "apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\n   labels: {}\n")
    message = error_for("bad.yaml")
    assert message.startswith("error parsing bad.yaml: line 5, column ")


def test_missing_kind_names_document(in_tmp) -> None:
    write(in_tmp, "pod.yaml", POD + "---\napiVersion: v1\nmetadata:\n  name: x\n")
    assert error_for("pod.yaml") == 'pod.yaml: document 2: missing "kind"'


def test_missing_api_version(in_tmp) -> None:
    write(in_tmp, "cm.yaml", "kind: ConfigMap\nmetadata:\n  name: x\n")
    assert error_for("cm.yaml") == 'cm.yaml: document 1: missing "apiVersion"'


def test_name_must_be_a_string(in_tmp) -> None:
    write(in_tmp, "cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: 42\n")
    assert error_for("cm.yaml") == 'cm.yaml: document 1: "metadata.name" must be a string'


def test_document_must_be_a_mapping(in_tmp) -> None:
    write(in_tmp, "list.yaml", "- a\n- b\n")
    assert error_for("list.yaml") == "list.yaml: document 1: a document must be a mapping, got a list"
    write(in_tmp, "scalar.yaml", POD + "---\njust text\n")
    assert error_for("scalar.yaml") == "scalar.yaml: document 2: a document must be a mapping, got a string"


def test_bad_item_in_list(in_tmp) -> None:
    write(
        in_tmp, "list.yaml", "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  metadata: {name: a}\n"
    )
    assert error_for("list.yaml") == 'list.yaml: document 1: items[0]: missing "kind"'


def test_duplicate_key_is_an_error(in_tmp) -> None:
    write(in_tmp, "dup.yaml", "apiVersion: v1\nkind: Pod\nkind: Service\n")
    assert error_for("dup.yaml") == 'error parsing dup.yaml: line 3, column 1: found duplicate key "kind"'


def test_json_syntax_error(in_tmp) -> None:
    write(in_tmp, "ns.json", '{\n  "apiVersion": "v1",\n  "kind": "Namespace"\n  "metadata": {}\n}\n')
    assert error_for("ns.json") == "error parsing ns.json: line 4, column 3: Expecting ',' delimiter"


def test_error_in_directory_names_the_file(tmp_path) -> None:
    write(tmp_path, "a.yaml", POD)
    write(tmp_path, "b.yaml", "kind: Pod\n")
    assert (
        error_for(str(tmp_path))
        == f'{os.path.join(str(tmp_path), "b.yaml")}: document 1: missing "apiVersion"'
    )


def test_missing_path_and_stdin_errors() -> None:
    assert error_for("/nonexistent/pod.yaml") == 'the path "/nonexistent/pod.yaml" does not exist'
    assert error_for("-", stdin=io.StringIO("kind: Pod\n")) == 'STDIN: document 1: missing "apiVersion"'
    assert error_for("-", stdin=io.StringIO("a: [\n")).startswith("error parsing STDIN: line 2, column 1: ")


def test_yaml_booleans_are_kubectls_including_y_and_n():
    """kubectl reads YAML 1.1 booleans, y/Y/n/N among them: the same file means the same object."""
    from kubemu.manifests import _yaml_documents

    doc = _yaml_documents("f.yaml", "a: Y\nb: n\nc: yes\nd: Off\ne: 'Y'\nf: yy\n")[0]
    assert doc == {"a": True, "b": False, "c": True, "d": False, "e": "Y", "f": "yy"}
