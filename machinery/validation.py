"""Name, label and quantity rules, reporting every problem instead of raising on the first.

Each rule returns a list of :class:`Cause` (empty when the value is fine), so a validator can
check a whole object and answer one Invalid error naming every offending field, as the
Kubernetes apiserver does. A Cause's ``message`` is what Kubernetes puts in a StatusCause (the
error body without the field), and ``str(cause)`` is the familiar one-line form::

    metadata.name: Invalid value: "Foo_bar": a lowercase RFC 1123 subdomain must consist of ...
    metadata.labels: Invalid value: "-x": name part must consist of alphanumeric characters, ...
    metadata.annotations: Too long: must have at most 262144 bytes

The wording, limits and regular expressions are those of Kubernetes' apimachinery (util/validation
and its field errors): RFC 1123 labels are at most 63 characters, subdomains and label-key
prefixes at most 253, label names and values at most 63, annotations at most 256 KiB in all.
As in Kubernetes, labels and annotations report their problems on the map's own path
(``metadata.labels``), naming the bad key or value in the message. The ``is_*`` functions give
the bare messages for callers (such as the label-selector parser) that compose their own errors.

:class:`Cause` is the one defined in :mod:`machinery.errors`, so the causes found here go
straight into an ``Invalid`` error and across the wire unchanged.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping

from machinery.errors import Cause
from machinery.quantity import QuantityError, parse_quantity

__all__ = [
    "Cause",
    "annotations",
    "dns1035_label",
    "dns1123_label",
    "dns1123_subdomain",
    "duplicate",
    "forbidden",
    "invalid",
    "is_dns1035_label",
    "is_dns1123_label",
    "is_dns1123_subdomain",
    "is_qualified_name",
    "is_valid_label_value",
    "is_valid_port_name",
    "label_key",
    "label_value",
    "labels",
    "not_supported",
    "quantity",
    "render_value",
    "required",
    "too_long",
    "too_many",
    "type_invalid",
]

# Cause reasons, as Kubernetes' field.ErrorType / metav1.CauseType.
REQUIRED = "FieldValueRequired"
INVALID = "FieldValueInvalid"
TYPE_INVALID = "FieldValueTypeInvalid"
DUPLICATE = "FieldValueDuplicate"
NOT_SUPPORTED = "FieldValueNotSupported"
FORBIDDEN = "FieldValueForbidden"
TOO_LONG = "FieldValueTooLong"
TOO_MANY = "FieldValueTooMany"

DNS1123_LABEL_MAX_LENGTH = 63
DNS1123_SUBDOMAIN_MAX_LENGTH = 253
QUALIFIED_NAME_MAX_LENGTH = 63
LABEL_VALUE_MAX_LENGTH = 63
TOTAL_ANNOTATION_SIZE_LIMIT = 256 * 1024

_DNS1123_LABEL_FMT = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_DNS1123_LABEL_MSG = ("a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', "
                      "and must start and end with an alphanumeric character")
_DNS1123_SUBDOMAIN_FMT = _DNS1123_LABEL_FMT + r"(\." + _DNS1123_LABEL_FMT + ")*"
_DNS1123_SUBDOMAIN_MSG = ("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric "
                          "characters, '-' or '.', and must start and end with an alphanumeric character")
_QUALIFIED_NAME_FMT = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
_QUALIFIED_NAME_MSG = ("must consist of alphanumeric characters, '-', '_' or '.', "
                       "and must start and end with an alphanumeric character")
_LABEL_VALUE_FMT = "(" + _QUALIFIED_NAME_FMT + ")?"
_LABEL_VALUE_MSG = ("a valid label must be an empty string or consist of alphanumeric characters, '-', '_' "
                    "or '.', and must start and end with an alphanumeric character")
_NON_NEGATIVE_MSG = "must be greater than or equal to 0"

# The Go regexps are ASCII-only; Python's must be told not to let \d or case folding stray.
_DNS1123_LABEL_RE = re.compile(_DNS1123_LABEL_FMT, re.ASCII)
_DNS1123_SUBDOMAIN_RE = re.compile(_DNS1123_SUBDOMAIN_FMT, re.ASCII)
_QUALIFIED_NAME_RE = re.compile(_QUALIFIED_NAME_FMT, re.ASCII)
_LABEL_VALUE_RE = re.compile(_LABEL_VALUE_FMT, re.ASCII)


# --- rendering values and building causes -------------------------------------------------------

def _go_quote(text: str) -> str:
    """A string quoted the way Go's %q does it (printable Unicode kept, the rest escaped)."""
    escapes = {'"': '\\"', "\\": "\\\\", "\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n",
               "\r": "\\r", "\t": "\\t", "\v": "\\v"}
    out = []
    for char in text:
        if char in escapes:
            out.append(escapes[char])
        elif char.isprintable():
            out.append(char)
        elif ord(char) < 0x80:
            out.append(f"\\x{ord(char):02x}")
        elif ord(char) <= 0xFFFF:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(f"\\U{ord(char):08x}")
    return '"' + "".join(out) + '"'


def render_value(value: object) -> str:
    """A bad value as Kubernetes prints it in an error: strings quoted, numbers and booleans bare."""
    if value is None:
        return "null"
    if isinstance(value, str):
        return _go_quote(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    try:
        return json.dumps(value, separators=(",", ":"), sort_keys=True, default=str)
    except (TypeError, ValueError):
        return repr(value)


def _body(kind: str, value: object | None = None, detail: str = "", *, show_value: bool = True) -> str:
    body = f"{kind}: {render_value(value)}" if show_value else kind
    return f"{body}: {detail}" if detail else body


def required(field: str, detail: str = "") -> Cause:
    """``field: Required value`` — the value is missing or empty."""
    return Cause(field, _body("Required value", detail=detail, show_value=False), REQUIRED)


def invalid(field: str, value: object, message: str) -> Cause:
    """``field: Invalid value: "x": message`` — the value is malformed."""
    return Cause(field, _body("Invalid value", value, message), INVALID)


def type_invalid(field: str, value: object, message: str) -> Cause:
    """Like :func:`invalid` (same rendering), for a value of the wrong type."""
    return Cause(field, _body("Invalid value", value, message), TYPE_INVALID)


def too_long(field: str, limit: int) -> Cause:
    """``field: Too long: must have at most 253 bytes`` — the value itself is not repeated."""
    unit = "byte" if limit == 1 else "bytes"
    return Cause(field, _body("Too long", detail=f"must have at most {limit} {unit}", show_value=False),
                 TOO_LONG)


def too_many(field: str, actual: int, limit: int) -> Cause:
    """``field: Too many: 1001: must have at most 1000 items``."""
    return Cause(field, _body("Too many", actual, f"must have at most {limit} items"), TOO_MANY)


def duplicate(field: str, value: object) -> Cause:
    """``field: Duplicate value: "x"`` — a value that must be unique is repeated."""
    return Cause(field, _body("Duplicate value", value), DUPLICATE)


def not_supported(field: str, value: object, supported: Iterable[str]) -> Cause:
    """``field: Unsupported value: "x": supported values: "a", "b"``."""
    choices = ", ".join(_go_quote(str(choice)) for choice in supported)
    return Cause(field, _body("Unsupported value", value, f"supported values: {choices}" if choices else ""),
                 NOT_SUPPORTED)


def forbidden(field: str, message: str) -> Cause:
    """``field: Forbidden: message`` — well-formed, but not allowed here."""
    return Cause(field, _body("Forbidden", detail=message, show_value=False), FORBIDDEN)


# --- the bare rules, as apimachinery's util/validation ------------------------------------------

def _max_len_error(length: int) -> str:
    return f"must be no more than {length} characters"


def _regex_error(message: str, fmt: str, *examples: str) -> str:
    """Kubernetes' RegexError text, double space before "or" included."""
    shown = "".join(("" if i == 0 else " or ") + f"'{example}', " for i, example in enumerate(examples))
    return f"{message} (e.g. {shown}regex used for validation is '{fmt}')"


def _byte_length(value: str) -> int:
    return len(value.encode("utf-8", "surrogatepass"))


def is_dns1123_label(value: str) -> list[str]:
    """Problems with an RFC 1123 label (a namespace or node-pool name): ``[]`` when it is fine."""
    errors = []
    if _byte_length(value) > DNS1123_LABEL_MAX_LENGTH:
        errors.append(_max_len_error(DNS1123_LABEL_MAX_LENGTH))
    if not _DNS1123_LABEL_RE.fullmatch(value):
        if _DNS1123_SUBDOMAIN_RE.fullmatch(value):
            errors.append("must not contain dots")
        else:
            errors.append(_regex_error(_DNS1123_LABEL_MSG, _DNS1123_LABEL_FMT, "my-name", "123-abc"))
    return errors


_DNS1035_LABEL_FMT = "[a-z]([-a-z0-9]*[a-z0-9])?"
_DNS1035_LABEL_RE = re.compile(_DNS1035_LABEL_FMT, re.ASCII)
_DNS1035_LABEL_MSG = ("a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an "
                      "alphabetic character, and end with an alphanumeric character")
PORT_NAME_MAX_LENGTH = 15


def is_dns1035_label(value: str) -> list[str]:
    """Problems with an RFC 1035 label (a Service name: it must start with a letter)."""
    errors = []
    if _byte_length(value) > DNS1123_LABEL_MAX_LENGTH:
        errors.append(_max_len_error(DNS1123_LABEL_MAX_LENGTH))
    if not _DNS1035_LABEL_RE.fullmatch(value):
        errors.append(_regex_error(_DNS1035_LABEL_MSG, _DNS1035_LABEL_FMT, "my-name", "abc-123"))
    return errors


def is_valid_port_name(value: str) -> list[str]:
    """Problems with an IANA service name used as a port name (``http``, ``metrics``): at most 15
    lower-case letters, digits and single inner hyphens, with at least one letter."""
    errors = []
    if len(value) > PORT_NAME_MAX_LENGTH:
        errors.append(_max_len_error(PORT_NAME_MAX_LENGTH))
    if not re.fullmatch(r"[-a-z0-9]+", value, re.ASCII):
        errors.append("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)")
    if not re.search(r"[a-z]", value, re.ASCII):
        errors.append("must contain at least one letter (a-z)")
    if "--" in value:
        errors.append("must not contain consecutive hyphens")
    if value.startswith("-") or value.endswith("-"):
        errors.append("must not begin or end with a hyphen")
    return errors


def is_dns1123_subdomain(value: str) -> list[str]:
    """Problems with an RFC 1123 subdomain (most object names): ``[]`` when it is fine."""
    errors = []
    if _byte_length(value) > DNS1123_SUBDOMAIN_MAX_LENGTH:
        errors.append(_max_len_error(DNS1123_SUBDOMAIN_MAX_LENGTH))
    if not _DNS1123_SUBDOMAIN_RE.fullmatch(value):
        errors.append(_regex_error(_DNS1123_SUBDOMAIN_MSG, _DNS1123_SUBDOMAIN_FMT, "example.com"))
    return errors


def _qualified_name_regex_error() -> str:
    return _regex_error(_QUALIFIED_NAME_MSG, _QUALIFIED_NAME_FMT, "MyName", "my.name", "123-abc")


def is_qualified_name(value: str) -> list[str]:
    """Problems with a qualified name (a label or annotation key): ``[prefix/]name``."""
    parts = value.split("/")
    if len(parts) > 2:
        return ["a qualified name " + _qualified_name_regex_error()
                + " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"]
    errors = []
    name = parts[-1]
    if len(parts) == 2:
        prefix = parts[0]
        if not prefix:
            errors.append("prefix part must be non-empty")
        else:
            errors.extend("prefix part " + message for message in is_dns1123_subdomain(prefix))
    if not name:
        errors.append("name part must be non-empty")
    elif _byte_length(name) > QUALIFIED_NAME_MAX_LENGTH:
        errors.append("name part " + _max_len_error(QUALIFIED_NAME_MAX_LENGTH))
    if not _QUALIFIED_NAME_RE.fullmatch(name):
        errors.append("name part " + _qualified_name_regex_error())
    return errors


def is_valid_label_value(value: str) -> list[str]:
    """Problems with a label value (which may be empty): ``[]`` when it is fine."""
    errors = []
    if _byte_length(value) > LABEL_VALUE_MAX_LENGTH:
        errors.append(_max_len_error(LABEL_VALUE_MAX_LENGTH))
    if not _LABEL_VALUE_RE.fullmatch(value):
        errors.append(_regex_error(_LABEL_VALUE_MSG, _LABEL_VALUE_FMT, "MyValue", "my_value", "12345"))
    return errors


# --- field validators returning causes ----------------------------------------------------------

def _name(value: object, field: str, rule: Callable[[str], list[str]]) -> list[Cause]:
    if value is None or value == "":
        return [required(field)]
    if not isinstance(value, str):
        return [type_invalid(field, value, "must be a string")]
    return [invalid(field, value, message) for message in rule(value)]


def dns1123_label(value: object, field: str) -> list[Cause]:
    """Causes for a name that must be an RFC 1123 label; an empty or missing name is Required."""
    return _name(value, field, is_dns1123_label)


def dns1035_label(value: object, field: str) -> list[Cause]:
    """Causes for a name that must be an RFC 1035 label; an empty or missing name is Required."""
    return _name(value, field, is_dns1035_label)


def dns1123_subdomain(value: object, field: str) -> list[Cause]:
    """Causes for a name that must be an RFC 1123 subdomain; an empty or missing name is Required."""
    return _name(value, field, is_dns1123_subdomain)


def label_key(key: object, field: str) -> list[Cause]:
    """Causes for a label key (a qualified name); reported on ``field``, as Kubernetes does."""
    if not isinstance(key, str):
        return [type_invalid(field, key, "label keys must be strings")]
    return [invalid(field, key, message) for message in is_qualified_name(key)]


def label_value(value: object, field: str) -> list[Cause]:
    """Causes for a label value; the empty string is a valid value."""
    if not isinstance(value, str):
        return [type_invalid(field, value, "must be a string")]
    return [invalid(field, value, message) for message in is_valid_label_value(value)]


def _string_map(mapping: object, field: str) -> tuple[dict[str, str], list[Cause]]:
    """The string entries of ``mapping``, and causes for anything that is not a string."""
    if not isinstance(mapping, Mapping):
        return {}, [type_invalid(field, mapping, "must be a map of string keys to string values")]
    entries: dict[str, str] = {}
    causes: list[Cause] = []
    for key, value in mapping.items():
        if not isinstance(key, str):
            causes.append(type_invalid(field, key, "keys must be strings"))
        elif not isinstance(value, str):
            causes.append(type_invalid(f"{field}[{key}]", value, "must be a string"))
        else:
            entries[key] = value
    return entries, causes


def labels(mapping: object, field: str) -> list[Cause]:
    """Causes for a labels map: every key a qualified name, every value a label value."""
    if mapping is None:
        return []
    entries, causes = _string_map(mapping, field)
    for key, value in entries.items():
        causes.extend(label_key(key, field))
        causes.extend(label_value(value, field))
    return causes


def annotations(mapping: object, field: str) -> list[Cause]:
    """Causes for an annotations map: keys are qualified names in any case, 256 KiB in total."""
    if mapping is None:
        return []
    entries, causes = _string_map(mapping, field)
    for key in entries:
        causes.extend(invalid(field, key, message) for message in is_qualified_name(key.lower()))
    size = sum(_byte_length(key) + _byte_length(value) for key, value in entries.items())
    if size > TOTAL_ANNOTATION_SIZE_LIMIT:
        causes.append(too_long(field, TOTAL_ANNOTATION_SIZE_LIMIT))
    return causes


def quantity(value: object, field: str, non_negative: bool = True) -> list[Cause]:
    """Causes for a resource quantity (``"500m"``, ``"1Gi"``, ``2``); negatives refused by default.

    A missing value is Required; an empty string is Invalid, as Kubernetes cannot decode it.
    """
    if value is None:
        return [required(field)]
    try:
        amount = parse_quantity(value)  # type: ignore[arg-type]
    except QuantityError as err:
        return [invalid(field, value, str(err))]
    if non_negative and amount < 0:
        return [invalid(field, value, _NON_NEGATIVE_MSG)]
    return []
