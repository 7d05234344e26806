"""Field selectors: list and watch filters on an object's own fields (``--field-selector``).

The syntax and meaning are Kubernetes' (apimachinery ``pkg/fields``): terms ``path=value``,
``path==value`` (the same test) and ``path!=value`` joined by commas, all of which must hold.
The path is taken literally up to the first operator, with no whitespace trimming; the value
runs to the end of the term, and a ``,``, ``=`` or ``\\`` inside it is written escaped with a
backslash (``reason=a\\,b``). The empty string selects everything.

A term reads the dotted path from the object dict (``spec.nodeName``, ``metadata.namespace``,
``involvedObject.name``). A field that is missing or null reads as ``""`` — so
``spec.nodeName=`` selects the pods no node has been chosen for, exactly as in Kubernetes —
booleans read as ``true``/``false`` and numbers in decimal. Where a resource's field has a
default that an object may leave out (a Node's ``spec.unschedulable`` is false), pass it in
``defaults`` so the missing field reads as Kubernetes would have it.

Which paths may be selected on is the server's business: :func:`check_supported` refuses the
others with Kubernetes' ``field label not supported: <path>``, and :meth:`FieldSelector.exact_value`
tells the apiserver when a term pins a field to one value so it can narrow what it reads.
Terms are kept in a canonical order (``==`` written as ``=``), so ``str(selector)`` parses
back to an equal selector.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from machinery.labels import SelectorError

__all__ = [
    "FieldSelector",
    "SelectorError",
    "check_supported",
    "escape_value",
    "field_value",
    "parse_field_selector",
    "unescape_value",
]

EQUALS = "="
NOT_EQUALS = "!="
_OPERATORS = ("!=", "==", "=")  # longest first, so "==" is not read as "=" and "=value"
_ESCAPED = {"\\": "\\\\", ",": "\\,", "=": "\\="}

Term = tuple[str, str, str]


def escape_value(value: str) -> str:
    """A literal value written for a selector: ``\\``, ``,`` and ``=`` get a backslash."""
    return "".join(_ESCAPED.get(char, char) for char in value)


def unescape_value(text: str) -> str:
    """The literal value a selector's escaped text stands for; raises :class:`SelectorError`."""
    out = []
    escaping = False
    for char in text:
        if escaping:
            if char not in _ESCAPED:
                raise SelectorError(f"invalid field selector: invalid escape sequence: \\{char}")
            out.append(char)
            escaping = False
        elif char == "\\":
            escaping = True
        elif char in ",=":
            raise SelectorError(f"invalid field selector: unescaped character in value: {char}")
        else:
            out.append(char)
    if escaping:
        raise SelectorError("invalid field selector: invalid escape sequence: \\")
    return "".join(out)


def _split_terms(text: str) -> list[str]:
    """The comma-separated terms, a backslash-escaped comma staying inside its term."""
    terms, start, escaping = [], 0, False
    for index, char in enumerate(text):
        if escaping:
            escaping = False
        elif char == "\\":
            escaping = True
        elif char == ",":
            terms.append(text[start:index])
            start = index + 1
    terms.append(text[start:])
    return terms


def _split_term(term: str) -> tuple[str, str, str] | None:
    """(path, operator, escaped value) split at the first operator, or None if there is none."""
    for index in range(len(term)):
        for operator in _OPERATORS:
            if term.startswith(operator, index):
                return term[:index], operator, term[index + len(operator):]
    return None


def _render(term: Term) -> str:
    path, operator, value = term
    return f"{path}{operator}{escape_value(value)}"


def field_value(obj: Mapping, path: str, defaults: Mapping[str, str] | None = None) -> str:
    """The string a field selector compares for ``path`` (``"spec.nodeName"``) in ``obj``."""
    current: object = obj
    for part in path.split("."):
        if not isinstance(current, Mapping) or current.get(part) is None:
            return (defaults or {}).get(path, "")
        current = current[part]
    if isinstance(current, bool):
        return "true" if current else "false"
    if isinstance(current, str | int | float):
        return str(current)
    return ""


@dataclass(frozen=True)
class FieldSelector:
    """A conjunction of ``(path, operator, value)`` terms, operator ``"="`` or ``"!="``."""

    terms: tuple[Term, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "terms", tuple(sorted(self.terms, key=_render)))

    @classmethod
    def everything(cls) -> FieldSelector:
        return cls()

    @property
    def empty(self) -> bool:
        return not self.terms

    @property
    def paths(self) -> frozenset[str]:
        return frozenset(path for path, _, _ in self.terms)

    def matches(self, obj: Mapping, defaults: Mapping[str, str] | None = None) -> bool:
        """Whether ``obj`` satisfies every term; ``defaults`` stand in for missing fields."""
        for path, operator, value in self.terms:
            if (field_value(obj, path, defaults) == value) != (operator == EQUALS):
                return False
        return True

    def exact_value(self, path: str) -> str | None:
        """The value an ``=`` term pins ``path`` to, or None when no term does."""
        for term_path, operator, value in self.terms:
            if term_path == path and operator == EQUALS:
                return value
        return None

    def __str__(self) -> str:
        return ",".join(_render(term) for term in self.terms)


def parse_field_selector(text: str) -> FieldSelector:
    """Parse ``"spec.nodeName=node-1,status.phase!=Failed"``; ``""`` selects everything."""
    if not isinstance(text, str):
        raise SelectorError(f"a field selector must be a string, not {type(text).__name__}")
    terms = []
    for part in _split_terms(text) if text else []:
        if not part:
            continue
        split = _split_term(part)
        if split is None:
            raise SelectorError(f"invalid selector: '{text}'; can't understand '{part}'")
        path, operator, escaped = split
        terms.append((path, NOT_EQUALS if operator == "!=" else EQUALS, unescape_value(escaped)))
    return FieldSelector(tuple(terms))


def check_supported(selector: FieldSelector, allowed: Iterable[str]) -> None:
    """Refuse a selector naming a path outside ``allowed``, as the apiserver does."""
    allowed = set(allowed)
    for path, _, _ in selector.terms:
        if path not in allowed:
            raise SelectorError(f"field label not supported: {path}")
