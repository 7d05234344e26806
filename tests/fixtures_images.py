"""Local base images for the Docker tests, built without any image registry.

No image registry is reachable in CI, so the compose test cannot pull ``python:*-slim`` or
etcd's official image. Instead it builds stand-ins from the Debian package mirror this machine
already uses (read from its apt sources, never written down here):

- ``kubemu-test-base``: ``debootstrap --variant=minbase`` of the host's Debian release with
  python3 and python3-venv, plus this machine's CA bundle and its pip settings (index URLs,
  certificate) so ``pip install`` inside a ``docker build`` works the way it does on the host;
- ``kubemu-test-etcd``: that base plus the host's ``etcd`` and ``etcdctl`` binaries on PATH, so
  it runs the compose file's etcd command line unchanged.

Both are cached: an image that ``docker image inspect`` finds is reused, so only the first run
pays for debootstrap (a few minutes). Bump ``RECIPE`` when the recipe changes. A file lock keeps
concurrent test runs from building the same image twice.
"""

from __future__ import annotations

import contextlib
import fcntl
import glob
import os
import re
import shutil
import subprocess
import tempfile

RECIPE = "1"
BASE_IMAGE = f"kubemu-test-base:r{RECIPE}"
ETCD_IMAGE = f"kubemu-test-etcd:r{RECIPE}"
LOCK_PATH = os.path.join(tempfile.gettempdir(), "kubemu-test-images.lock")
DEBOOTSTRAP_TIMEOUT_S = 900
DOCKER_TIMEOUT_S = 300
BASE_PACKAGES = ("python3", "python3-venv", "ca-certificates")
PATH_ENV = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


class ImageBuildError(RuntimeError):
    pass


def _run(args: list[str], *, timeout_s: float, input_bytes: bytes | None = None, **kw) -> str:
    try:
        done = subprocess.run(args, input=input_bytes, capture_output=True, timeout=timeout_s, **kw)
    except subprocess.TimeoutExpired as e:
        raise ImageBuildError(f"{' '.join(args[:3])} … timed out after {timeout_s}s") from e
    if done.returncode != 0:
        out = (done.stdout or b"")[-2000:].decode(errors="replace")
        err = (done.stderr or b"")[-4000:].decode(errors="replace")
        raise ImageBuildError(f"{' '.join(args)} failed with exit code {done.returncode}:\n{out}\n{err}")
    return (done.stdout or b"").decode(errors="replace")


def image_exists(tag: str) -> bool:
    try:
        return subprocess.run(["docker", "image", "inspect", tag], capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def docker_env() -> dict[str, str]:
    """The environment for docker commands: the classic builder unless buildx is installed."""
    env = dict(os.environ)
    if "DOCKER_BUILDKIT" not in env:
        try:
            has_buildx = subprocess.run(["docker", "buildx", "version"], capture_output=True,
                                        timeout=30).returncode == 0
        except (OSError, subprocess.TimeoutExpired):
            has_buildx = False
        if not has_buildx:
            env["DOCKER_BUILDKIT"] = "0"
    return env


@contextlib.contextmanager
def _build_lock():
    with open(LOCK_PATH, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


# --------------------------------------------------------------------------- the host's apt and pip settings


def host_codename() -> str:
    with open("/etc/os-release") as f:
        for line in f:
            if line.startswith("VERSION_CODENAME="):
                return line.split("=", 1)[1].strip().strip('"')
    raise ImageBuildError("cannot tell this machine's Debian release (no VERSION_CODENAME in /etc/os-release)")


def _apt_entries() -> list[tuple[str, list[str]]]:
    """``(uri, suites)`` of every enabled ``deb`` source, one-line and deb822 formats."""
    entries: list[tuple[str, list[str]]] = []
    for path in ["/etc/apt/sources.list", *sorted(glob.glob("/etc/apt/sources.list.d/*.list"))]:
        try:
            with open(path) as f:
                lines = f.read().splitlines()
        except OSError:
            continue
        for line in lines:
            line = re.sub(r"\[[^\]]*\]", " ", line.split("#", 1)[0]).split()
            if len(line) >= 3 and line[0] == "deb":
                entries.append((line[1], [line[2]]))
    for path in sorted(glob.glob("/etc/apt/sources.list.d/*.sources")):
        try:
            with open(path) as f:
                text = f.read()
        except OSError:
            continue
        for stanza in re.split(r"\n\s*\n", text):
            fields: dict[str, str] = {}
            for line in stanza.splitlines():
                if line.startswith("#") or ":" not in line or line[:1].isspace():
                    continue
                key, value = line.split(":", 1)
                fields[key.strip().lower()] = value.strip()
            if fields.get("enabled", "yes").lower() == "no" or "deb" not in fields.get("types", "").split():
                continue
            for uri in fields.get("uris", "").split():
                entries.append((uri, fields.get("suites", "").split()))
    return entries


def apt_mirror(codename: str | None = None) -> str:
    """The Debian mirror this machine installs ``codename`` packages from."""
    codename = codename or host_codename()
    for uri, suites in _apt_entries():
        if codename in suites and uri.startswith(("http://", "https://", "file:/")):
            return uri
    raise ImageBuildError(f"no apt source for {codename} in /etc/apt/sources.list(.d)")


def pip_settings() -> tuple[str, str]:
    """``(pip.conf text, CA bundle path or '')`` carrying the host's network-facing pip settings.

    Index URLs, trusted hosts, timeouts and the certificate bundle are kept; local paths
    (``file://`` indexes, find-links directories, constraint files) do not exist in a build.
    """
    try:
        out = _run(["python3", "-m", "pip", "config", "list"], timeout_s=60)
    except (ImageBuildError, OSError):
        out = ""
    values: dict[str, str] = {}
    for line in out.splitlines():
        m = re.match(r"^(?:global|install|:env:)\.([\w-]+)='(.*)'$", line.strip())
        if m:
            values[m.group(1).replace("_", "-")] = m.group(2)
    keep: dict[str, str] = {}
    for key in ("index-url", "extra-index-url"):
        urls = [u for u in values.get(key, "").split() if u.startswith(("http://", "https://"))]
        if urls:
            keep[key] = " ".join(urls)
    for key in ("trusted-host", "timeout", "default-timeout", "retries"):
        if values.get(key):
            keep["timeout" if key == "default-timeout" else key] = values[key]
    cert = values.get("cert", "")
    if cert and os.path.isfile(cert):
        keep["cert"] = cert
    else:
        cert = ""
    lines = ["[global]"] + [f"{k} = {v}" for k, v in keep.items()]
    return "\n".join(lines) + "\n", cert


# --------------------------------------------------------------------------- images


def build_base_image(tag: str = BASE_IMAGE) -> str:
    """debootstrap a minimal Debian with python3 and docker-import it (cached by tag)."""
    if image_exists(tag):
        return tag
    with _build_lock():
        if image_exists(tag):
            return tag
        if not shutil.which("debootstrap"):
            raise ImageBuildError("debootstrap is not installed (apt-get install debootstrap; .ci/run does)")
        codename, mirror = host_codename(), apt_mirror()
        root = tempfile.mkdtemp(prefix="kubemu-rootfs-")
        try:
            _run(["debootstrap", "--variant=minbase", f"--include={','.join(BASE_PACKAGES)}", codename, root,
                  mirror], timeout_s=DEBOOTSTRAP_TIMEOUT_S)
            for junk in glob.glob(os.path.join(root, "var/cache/apt/archives/*.deb")) + \
                    glob.glob(os.path.join(root, "var/lib/apt/lists/*_Packages")):
                os.unlink(junk)
            pip_conf, cert = pip_settings()
            if cert:
                dest = os.path.join(root, cert.lstrip("/"))
                os.makedirs(os.path.dirname(dest), exist_ok=True)
                shutil.copyfile(cert, dest)
            with open(os.path.join(root, "etc/pip.conf"), "w") as f:
                f.write(pip_conf)
            tar = subprocess.Popen(["tar", "-C", root, "--numeric-owner", "-c", "."], stdout=subprocess.PIPE)
            try:
                _run(["docker", "import", "--change", f"ENV PATH={PATH_ENV}", "--change", 'CMD ["/bin/bash"]', "-",
                      tag], timeout_s=DOCKER_TIMEOUT_S, stdin=tar.stdout)
            finally:
                tar.stdout.close()
                tar.wait(timeout=60)
        finally:
            shutil.rmtree(root, ignore_errors=True)
    return tag


def _etcd_binaries() -> tuple[str, str]:
    from kubemu.etcd_server import find_etcd_binary

    etcd = find_etcd_binary()
    etcdctl = os.path.join(os.path.dirname(etcd), "etcdctl")
    if not os.path.exists(etcdctl):
        etcdctl = shutil.which("etcdctl") or ""
    if not etcdctl:
        raise ImageBuildError("no etcdctl next to etcd or on PATH (apt-get install etcd-client; .ci/run does)")
    return etcd, etcdctl


def build_etcd_image(tag: str = ETCD_IMAGE, base: str = BASE_IMAGE) -> str:
    """The base image plus this machine's etcd and etcdctl in /usr/local/bin (cached by tag)."""
    if image_exists(tag):
        return tag
    build_base_image(base)
    with _build_lock():
        if image_exists(tag):
            return tag
        etcd, etcdctl = _etcd_binaries()
        ctx = tempfile.mkdtemp(prefix="kubemu-etcd-image-")
        try:
            shutil.copy2(etcd, os.path.join(ctx, "etcd"))
            shutil.copy2(etcdctl, os.path.join(ctx, "etcdctl"))
            with open(os.path.join(ctx, "Dockerfile"), "w") as f:
                f.write(f"FROM {base}\nCOPY etcd etcdctl /usr/local/bin/\nRUN etcd --version\n"
                        "EXPOSE 2379 2380\nCMD [\"etcd\"]\n")
            _run(["docker", "build", "-q", "-t", tag, ctx], timeout_s=DOCKER_TIMEOUT_S, env=docker_env())
        finally:
            shutil.rmtree(ctx, ignore_errors=True)
    return tag


def build_kubemu_image(tag: str, context: str, base: str = BASE_IMAGE, timeout_s: float = 600) -> str:
    """``docker build --build-arg BASE_IMAGE=<base>`` of the repository's Dockerfile (layer cache reused)."""
    build_base_image(base)
    _run(["docker", "build", "-q", "--build-arg", f"BASE_IMAGE={base}", "-t", tag, context], timeout_s=timeout_s,
         env=docker_env())
    return tag


def image_size(tag: str) -> int:
    out = _run(["docker", "image", "inspect", "--format", "{{.Size}}", tag], timeout_s=30)
    return int(out.strip() or 0)
