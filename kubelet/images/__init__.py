"""The image catalog: what a container of a given image does, kept as data in ``catalog.yaml``.

kubemu never downloads images. An image reference is reduced to its repository name (registry,
``library/``, tag and digest dropped: ``docker.io/library/nginx:1.25`` → ``nginx``) and looked up in
the catalog, whose entry says which *kind* of process the container runs (``http-server``, ``shell``,
``idle`` or ``fail-pull``), how long a simulated pull takes and how large the image claims to be.
Keeping behaviour as data lets a user add images (``load_catalog(extra_path)``, same YAML shape,
merged field by field over the shipped file) without touching code. Any image the catalog does not
know behaves like ``pause``: an idle process, pulled after the default delay.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field, replace
from typing import Any

import yaml

KINDS = ("http-server", "shell", "idle", "fail-pull")
CATALOG_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "catalog.yaml")
DEFAULT_PULL_DELAY_S = 0.5
DEFAULT_SIZE_BYTES = 10_000_000
DEFAULT_HTTP_PORT = 80
DEFAULT_FALLBACK_PORT = 8080
MAX_PULL_DELAY_S = 300.0
MAX_CATALOG_BYTES = 1_000_000
DEFAULT_REGISTRY = "docker.io"

_FIELDS = {"kind", "pullDelaySeconds", "sizeBytes", "port", "fallbackPort", "defaultCommand", "docRoot"}


class CatalogError(ValueError):
    """The catalog file is malformed; the message names the file and the entry."""


@dataclass(frozen=True)
class ImageRef:
    """A parsed image reference: ``registry/repository[:tag][@digest]``."""

    registry: str
    repository: str
    tag: str
    digest: str = ""

    @property
    def name(self) -> str:
        """The catalog key: the repository without ``library/`` (``library/nginx`` → ``nginx``)."""
        return self.repository.removeprefix("library/")

    @property
    def canonical(self) -> str:
        """The fully qualified reference, e.g. ``docker.io/library/nginx:latest``."""
        ref = f"{self.registry}/{self.repository}"
        if self.tag:
            ref += f":{self.tag}"
        if self.digest:
            ref += f"@{self.digest}"
        return ref


def parse_image(image: str) -> ImageRef:
    """Split an image reference the way container runtimes do (docker.io, library/ and latest defaults)."""
    ref = image.strip().lower()
    if not ref:
        raise ValueError("empty image reference")
    ref, _, digest = ref.partition("@")
    first, sep, rest = ref.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost"):
        registry, path = first, rest
    else:
        registry, path = DEFAULT_REGISTRY, ref
    path, _, tag = path.partition(":")
    if registry == DEFAULT_REGISTRY and "/" not in path:
        path = f"library/{path}"
    if not tag and not digest:
        tag = "latest"
    return ImageRef(registry=registry, repository=path, tag=tag, digest=digest)


@dataclass(frozen=True)
class ImageEntry:
    """How a container of one image behaves (see the module docstring and catalog.yaml)."""

    name: str
    kind: str = "idle"
    pull_delay_seconds: float = DEFAULT_PULL_DELAY_S
    size_bytes: int = DEFAULT_SIZE_BYTES
    port: int | None = None
    fallback_port: int | None = None
    default_command: list[str] | None = field(default=None, hash=False)
    # doc_root: where the image keeps the files it serves (/usr/share/nginx/html); a volume mounted
    # there (or above) is served instead of the built-in welcome page.
    doc_root: str | None = None


@dataclass
class ImageCatalog:
    """Image entries by name, plus the defaults an unknown image gets."""

    entries: dict[str, ImageEntry]
    default_pull_delay_seconds: float = DEFAULT_PULL_DELAY_S
    default_size_bytes: int = DEFAULT_SIZE_BYTES

    def lookup(self, image: str) -> ImageEntry:
        """The entry for ``image``: by repository name, then by its last path part; else idle."""
        ref = parse_image(image)
        for key in (ref.name, ref.name.rsplit("/", 1)[-1]):
            if key in self.entries:
                return self.entries[key]
        return ImageEntry(name=ref.name, kind="idle", pull_delay_seconds=self.default_pull_delay_seconds,
                          size_bytes=self.default_size_bytes)

    def names(self) -> list[str]:
        return sorted(self.entries)


def load_catalog(extra_path: str | None = None) -> ImageCatalog:
    """The shipped catalog, with the user catalog at ``extra_path`` (if given) merged over it."""
    raw = _read_yaml(CATALOG_PATH)
    if extra_path:
        raw = _merge(raw, _read_yaml(extra_path))
    return _build(raw, extra_path or CATALOG_PATH)


def _read_yaml(path: str) -> dict[str, Any]:
    if os.path.getsize(path) > MAX_CATALOG_BYTES:
        raise CatalogError(f"{path}: catalog larger than {MAX_CATALOG_BYTES} bytes")
    with open(path, encoding="utf-8") as f:
        data = yaml.safe_load(f) or {}
    if not isinstance(data, dict):
        raise CatalogError(f"{path}: expected a mapping with 'defaults' and 'images'")
    for section in ("defaults", "images"):
        if not isinstance(data.get(section) or {}, dict):
            raise CatalogError(f"{path}: '{section}' must be a mapping")
    return data


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """Merge ``extra`` over ``base``: defaults field by field, images entry by entry, field by field."""
    defaults = {**(base.get("defaults") or {}), **(extra.get("defaults") or {})}
    images = {str(k).lower(): dict(v or {}) for k, v in (base.get("images") or {}).items()}
    for name, entry in (extra.get("images") or {}).items():
        key = str(name).lower()
        images[key] = {**images.get(key, {}), **(entry or {})}
    return {"defaults": defaults, "images": images}


def _build(raw: dict[str, Any], source: str) -> ImageCatalog:
    defaults = raw.get("defaults") or {}
    delay = _delay(defaults.get("pullDelaySeconds", DEFAULT_PULL_DELAY_S), source, "defaults")
    size = _size(defaults.get("sizeBytes", DEFAULT_SIZE_BYTES), source, "defaults")
    entries = {}
    for name, spec in (raw.get("images") or {}).items():
        key = str(name).lower()
        entries[key] = _entry(key, spec or {}, delay, size, source)
    return ImageCatalog(entries=entries, default_pull_delay_seconds=delay, default_size_bytes=size)


def _entry(name: str, spec: Any, delay: float, size: int, source: str) -> ImageEntry:
    where = f"images.{name}"
    if not isinstance(spec, dict):
        raise CatalogError(f"{source}: {where} must be a mapping")
    unknown = set(spec) - _FIELDS
    if unknown:
        raise CatalogError(f"{source}: {where} has unknown fields {sorted(unknown)}")
    kind = spec.get("kind", "idle")
    if kind not in KINDS:
        raise CatalogError(f"{source}: {where}.kind {kind!r} is not one of {', '.join(KINDS)}")
    entry = ImageEntry(name=name, kind=kind,
                       pull_delay_seconds=_delay(spec.get("pullDelaySeconds", delay), source, where),
                       size_bytes=_size(spec.get("sizeBytes", size), source, where),
                       default_command=_command(spec.get("defaultCommand"), source, where))
    if kind == "http-server":
        entry = replace(entry, port=_port(spec.get("port", DEFAULT_HTTP_PORT), source, where),
                        fallback_port=_port(spec.get("fallbackPort", DEFAULT_FALLBACK_PORT), source, where),
                        doc_root=_doc_root(spec.get("docRoot"), source, where))
    return entry


def _delay(value: Any, source: str, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= MAX_PULL_DELAY_S:
        raise CatalogError(f"{source}: {where}.pullDelaySeconds must be a number in [0, {MAX_PULL_DELAY_S}]")
    return float(value)


def _size(value: Any, source: str, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise CatalogError(f"{source}: {where}.sizeBytes must be a non-negative integer")
    return value


def _port(value: Any, source: str, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 65535:
        raise CatalogError(f"{source}: {where} port {value!r} must be an integer in [1, 65535]")
    return value


def _doc_root(value: Any, source: str, where: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.startswith("/"):
        raise CatalogError(f"{source}: {where}.docRoot must be an absolute path")
    return value


def _command(value: Any, source: str, where: str) -> list[str] | None:
    if value is None:
        return None
    if not isinstance(value, list) or not value or not all(isinstance(a, str) for a in value):
        raise CatalogError(f"{source}: {where}.defaultCommand must be a non-empty list of strings")
    return list(value)


_SHELL_FORM = re.compile(r"[\s;&|<>$`*?()]")


def is_shell_form(argv: list[str]) -> bool:
    """True for a single-string command with spaces or shell syntax (``["echo hi && sleep 5"]``)."""
    return len(argv) == 1 and bool(_SHELL_FORM.search(argv[0]))
