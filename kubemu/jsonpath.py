"""kubectl's JSONPath templates: ``-o jsonpath=…``, ``-o custom-columns=…`` and ``--sort-by``.

A template is literal text with actions in braces, evaluated against one object (or a ``List``):

    {.metadata.name}                      a field; ``$``/``@`` at the start name the current object
    {.items[*].metadata.name}             every item; ``[0]``, ``[-1]``, ``[1:3]``, ``[0,2]``
    {.metadata.labels.app\\.kubernetes\\.io/name}   ``\\.`` keeps a dot in a key; or ``['a.b/c']``
    {..image}                             ``..`` searches the whole tree; ``*`` is every value of a map
    {.items[?(@.status.phase=="Running")].metadata.name}   filters: == != < > <= >=, or ``[?(@.x)]``
    {range .items[*]}{.metadata.name}{"\\t"}{.status.podIP}{"\\n"}{end}

Each action prints its results separated by spaces: strings as they are, numbers and booleans as
Go prints them, maps and lists as compact JSON. As in kubectl, a missing key prints nothing (the
template runs with "allow missing keys"), while an index out of range is an error.

``custom-columns`` and ``--sort-by`` take kubectl's relaxed form (``.a.b``, ``a.b``, ``{.a.b}``),
see :func:`relaxed`; a custom column prints each value Go's ``%v`` way (``map[k:v]``, ``[a b]``)
joined by commas, or ``<none>``. :func:`sort_key_less` is kubectl's ordering for ``--sort-by``:
numbers numerically, strings as quantities when both parse as one (``250m`` < ``1`` < ``2Ki``),
else as text; objects without the field first.

The grammar follows client-go's ``util/jsonpath``; this is our own implementation.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

__all__ = ["JSONPathError", "Template", "go_value", "relaxed", "sort_key_less"]


class JSONPathError(ValueError):
    """A template that cannot be parsed (``parse``) or run (``execute``)."""


# --------------------------------------------------------------------------- the parse tree


@dataclass
class _Text:
    text: str


@dataclass
class _Step:
    """One step of a path: ``field``, ``wildcard``, ``recursive``, ``index`` (ints / slice),
    ``keys`` (a union of quoted keys) or ``filter``."""

    kind: str
    name: str = ""
    keys: list[str] = field(default_factory=list)
    indices: list[int] = field(default_factory=list)
    slice: tuple[int | None, int | None, int | None] | None = None
    filter: _Filter | None = None


@dataclass
class _Path:
    steps: list[_Step]


@dataclass
class _Literal:
    value: Any


@dataclass
class _Filter:
    left: _Path | _Literal
    op: str = "exists"
    right: _Path | _Literal | None = None


@dataclass
class _Range:
    path: _Path
    body: list[Any]


_FIELD_END = re.compile(r"[.\[\s()=!<>,]")
_NUMBER = re.compile(r"-?\d+(\.\d+)?")


class _Parser:
    """Recursive descent over one template; ``pos`` indexes ``text``."""

    def __init__(self, text: str):
        self.text = text
        self.pos = 0

    def parse(self) -> list[Any]:
        nodes, ended = self._sequence(top=True)
        if ended:
            raise JSONPathError("not in range, nothing to end")
        return nodes

    def _sequence(self, top: bool) -> tuple[list[Any], bool]:
        nodes: list[Any] = []
        while self.pos < len(self.text):
            brace = self.text.find("{", self.pos)
            if brace < 0:
                nodes.append(_Text(self.text[self.pos:]))
                self.pos = len(self.text)
                break
            if brace > self.pos:
                nodes.append(_Text(self.text[self.pos:brace]))
            self.pos = brace + 1
            close = self._action_end()
            action = self.text[self.pos:close].strip()
            self.pos = close + 1
            if action == "end":
                if top:
                    raise JSONPathError("not in range, nothing to end")
                return nodes, True
            if action.startswith("range ") or action.startswith("range\t"):
                path = _PathParser(action[len("range"):].strip()).path()
                body, _ = self._sequence(top=False)  # a range without {end} runs to the end, as in kubectl
                nodes.append(_Range(path, body))
                continue
            nodes.extend(_PathParser(action).action())
        return nodes, False

    def _action_end(self) -> int:
        """Index of the ``}`` closing the action that starts at ``pos`` (quotes may hold braces)."""
        quote = ""
        i = self.pos
        while i < len(self.text):
            ch = self.text[i]
            if quote:
                if ch == "\\":
                    i += 1
                elif ch == quote:
                    quote = ""
            elif ch in "\"'":
                quote = ch
            elif ch == "}":
                return i
            i += 1
        _PathParser(self.text[self.pos:]).action()  # reports an unterminated array or string first
        raise JSONPathError("unclosed action")


class _PathParser:
    """The inside of one action: paths, quoted text, or a filter's operands."""

    def __init__(self, text: str):
        self.text = text
        self.pos = 0

    def _peek(self, n: int = 1) -> str:
        return self.text[self.pos:self.pos + n]

    def _skip_space(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1

    def action(self) -> list[Any]:
        out: list[Any] = []
        while True:
            self._skip_space()
            if self.pos >= len(self.text):
                return out
            ch = self._peek()
            if ch in "\"'":
                out.append(_Text(self._quoted()))
            elif ch in ".$@[":
                out.append(self.path())
            else:
                word = re.match(r"[^\s]+", self.text[self.pos:]).group(0)  # type: ignore[union-attr]
                raise JSONPathError(f"unrecognized identifier {word}")

    def path(self) -> _Path:
        steps: list[_Step] = []
        if self._peek() in ("$", "@"):
            self.pos += 1
        while self.pos < len(self.text):
            ch = self._peek()
            if self._peek(2) == "..":
                self.pos += 1  # the second dot starts the field that follows
                steps.append(_Step("recursive"))
                continue
            if ch == ".":
                self.pos += 1
                if self._peek() == "*":
                    self.pos += 1
                    steps.append(_Step("wildcard"))
                elif self._peek() == "[" or self.pos >= len(self.text) or self._peek().isspace():
                    continue
                else:
                    steps.append(_Step("field", name=self._field_name()))
            elif ch == "[":
                steps.append(self._bracket())
            else:
                break
        return _Path(steps)

    def _field_name(self) -> str:
        name = []
        while self.pos < len(self.text):
            ch = self.text[self.pos]
            if ch == "\\" and self.pos + 1 < len(self.text):
                name.append(self.text[self.pos + 1])
                self.pos += 2
                continue
            if _FIELD_END.match(ch):
                break
            name.append(ch)
            self.pos += 1
        if not name:
            raise JSONPathError(f"invalid field name at {self.text[self.pos:]!r}")
        return "".join(name)

    def _quoted(self) -> str:
        quote = self.text[self.pos]
        end = self.pos + 1
        while end < len(self.text) and self.text[end] != quote:
            end += 2 if self.text[end] == "\\" else 1
        if end >= len(self.text):
            raise JSONPathError("unterminated quoted string")
        raw = self.text[self.pos + 1:end]
        self.pos = end + 1
        return _unescape(raw)

    def _bracket(self) -> _Step:
        depth, quote, end = 0, "", self.pos
        while end < len(self.text):
            ch = self.text[end]
            if quote:
                if ch == "\\":
                    end += 1
                elif ch == quote:
                    quote = ""
            elif ch in "\"'":
                quote = ch
            elif ch in "[(":
                depth += 1
            elif ch in "])":
                depth -= 1
                if depth == 0:
                    break
            end += 1
        if end >= len(self.text):
            raise JSONPathError("unterminated array")
        inner = self.text[self.pos + 1:end].strip()
        self.pos = end + 1
        if inner == "*":
            return _Step("wildcard")
        if inner.startswith("?(") and inner.endswith(")"):
            return _Step("filter", filter=_parse_filter(inner[2:-1]))
        if inner[:1] in "\"'":
            parser = _PathParser(inner)
            keys = []
            while True:
                parser._skip_space()
                keys.append(parser._quoted())
                parser._skip_space()
                if parser.pos >= len(inner):
                    break
                if parser._peek() != ",":
                    raise JSONPathError(f"invalid array index {inner}")
                parser.pos += 1
            return _Step("keys", keys=keys)
        if ":" in inner:
            parts = [p.strip() for p in inner.split(":")]
            if len(parts) > 3 or not all(p == "" or re.fullmatch(r"-?\d+", p) for p in parts):
                raise JSONPathError(f"invalid array index {inner}")
            bounds = [int(p) if p else None for p in parts] + [None] * (3 - len(parts))
            return _Step("index", slice=(bounds[0], bounds[1], bounds[2]))
        items = [p.strip() for p in inner.split(",")]
        if not inner or not all(re.fullmatch(r"-?\d+", p) for p in items):
            raise JSONPathError(f"invalid array index {inner}")
        return _Step("index", indices=[int(p) for p in items])


_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "f": "\f", "b": "\b"}


def _unescape(raw: str) -> str:
    r"""A quoted string's text: ``\n``, ``\t``, ``\uXXXX``… as in Go, any other ``\x`` is ``x``."""
    def one(match: re.Match) -> str:
        escape = match.group(1)
        if escape.startswith("u"):
            return chr(int(escape[1:], 16))
        return _ESCAPES.get(escape, escape)

    return re.sub(r"\\(u[0-9a-fA-F]{4}|.)", one, raw)


def _parse_filter(text: str) -> _Filter:
    match = re.search(r"(==|!=|<=|>=|<|>)", _mask_quotes(text))
    if not match:
        return _Filter(_operand(text.strip()))
    return _Filter(_operand(text[:match.start()].strip()), match.group(1), _operand(text[match.end():].strip()))


def _mask_quotes(text: str) -> str:
    """``text`` with quoted parts blanked, so an operator inside a string literal is not found."""
    return re.sub(r"\"(\\.|[^\"\\])*\"|'(\\.|[^'\\])*'", lambda m: " " * len(m.group(0)), text)


def _operand(text: str) -> _Path | _Literal:
    if not text:
        raise JSONPathError("incomplete filter expression")
    if text[0] in "\"'":
        parser = _PathParser(text)
        value = parser._quoted()
        if parser.pos != len(text):
            raise JSONPathError(f"invalid filter operand {text}")
        return _Literal(value)
    if _NUMBER.fullmatch(text):
        return _Literal(float(text) if "." in text else int(text))
    if text in ("true", "false"):
        return _Literal(text == "true")
    if text[0] in "@$.":
        parser = _PathParser(text)
        path = parser.path()
        if parser.pos != len(text):
            raise JSONPathError(f"invalid filter operand {text}")
        return path
    raise JSONPathError(f"unrecognized identifier {text}")


# --------------------------------------------------------------------------- evaluation


def _walk(values: list[Any], path: _Path) -> list[Any]:
    for step in path.steps:
        values = _apply(values, step)
    return values


def _apply(values: list[Any], step: _Step) -> list[Any]:
    out: list[Any] = []
    for value in values:
        if step.kind == "field":
            if isinstance(value, dict) and step.name in value:
                out.append(value[step.name])
        elif step.kind == "keys":
            if isinstance(value, dict):
                out.extend(value[k] for k in step.keys if k in value)
        elif step.kind == "wildcard":
            if isinstance(value, dict):
                out.extend(value[k] for k in sorted(value))
            elif isinstance(value, list):
                out.extend(value)
        elif step.kind == "recursive":
            out.extend(_descendants(value))
        elif step.kind == "index":
            if isinstance(value, list):
                out.extend(_index(value, step))
        elif step.kind == "filter" and isinstance(value, list):
            assert step.filter is not None
            out.extend(item for item in value if _passes(item, step.filter))
    return out


def _descendants(value: Any) -> list[Any]:
    """``value`` and every map or list below it, depth first (map keys in sorted order)."""
    if isinstance(value, dict):
        children = [value[k] for k in sorted(value)]
    elif isinstance(value, list):
        children = value
    else:
        return []
    if not children:
        return []
    out = [value]
    for child in children:
        out.extend(_descendants(child))
    return out


def _index(items: list[Any], step: _Step) -> list[Any]:
    length = len(items)
    if step.slice is None:
        out = []
        for index in step.indices:
            position = index + length if index < 0 else index
            if not 0 <= position < length:
                raise JSONPathError(f"array index out of bounds: index {index}, length {length}")
            out.append(items[position])
        return out
    start, stop, stride = step.slice
    if stride == 0:
        raise JSONPathError("step cannot be zero")
    return items[slice(start, stop, stride)]


def _operand_values(item: Any, operand: _Path | _Literal) -> list[Any]:
    return [operand.value] if isinstance(operand, _Literal) else _walk([item], operand)


def _passes(item: Any, flt: _Filter) -> bool:
    lefts = _operand_values(item, flt.left)
    if flt.op == "exists":
        return bool(lefts)
    assert flt.right is not None
    rights = _operand_values(item, flt.right)
    if not lefts or not rights:
        return False
    if len(lefts) > 1 or len(rights) > 1:
        raise JSONPathError("can only compare one element at a time")
    left, right = lefts[0], rights[0]
    if flt.op == "==":
        return _comparable(left, right) and left == right
    if flt.op == "!=":
        return not (_comparable(left, right) and left == right)
    if not _comparable(left, right) or isinstance(left, (dict, list, bool)):
        raise JSONPathError(f"incompatible types for comparison: {left!r} {flt.op} {right!r}")
    return {"<": left < right, ">": left > right, "<=": left <= right, ">=": left >= right}[flt.op]


def _comparable(a: Any, b: Any) -> bool:
    numbers = (int, float)
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool)
    if isinstance(a, numbers) and isinstance(b, numbers):
        return True
    return type(a) is type(b)


# --------------------------------------------------------------------------- printing values


def go_json(value: Any) -> str:
    """Go's ``json.Marshal``: compact, map keys sorted, ``<``, ``>`` and ``&`` escaped."""
    text = json.dumps(value, separators=(",", ":"), sort_keys=True, ensure_ascii=False)
    for char, escaped in (("&", "\\u0026"), ("<", "\\u003c"), (">", "\\u003e")):
        text = text.replace(char, escaped)
    return text


def _go_float(value: float) -> str:
    """Go's ``%v`` for a float64 (``%g`` with the shortest digits): exponent form below 1e-4 or from 1e6 up."""
    if value != value or value in (float("inf"), float("-inf")):
        return {"nan": "NaN", "inf": "+Inf", "-inf": "-Inf"}[repr(value)]
    sign, digits, exponent = Decimal(repr(value)).normalize().as_tuple()
    assert isinstance(exponent, int)
    text_digits = "".join(map(str, digits))
    point = len(text_digits) + exponent  # position of the decimal point in the digit string
    exp = point - 1
    prefix = "-" if sign else ""
    if exp < -4 or exp >= 6:
        mantissa = text_digits[0] + ("." + text_digits[1:] if len(text_digits) > 1 else "")
        return f"{prefix}{mantissa}e{'-' if exp < 0 else '+'}{abs(exp):02d}"
    if point <= 0:
        return f"{prefix}0.{'0' * -point}{text_digits}"
    if point >= len(text_digits):
        return prefix + text_digits + "0" * (point - len(text_digits))
    return f"{prefix}{text_digits[:point]}.{text_digits[point:]}"


def _scalar_text(value: Any) -> str:
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return _go_float(value)
    return str(value)


def _result_text(value: Any) -> str:
    """How ``-o jsonpath`` prints one result."""
    if isinstance(value, (dict, list)):
        return go_json(value)
    return _scalar_text(value)


def go_value(value: Any) -> str:
    """Go's ``fmt.Sprintf("%v", v)`` of a decoded JSON value, as custom columns print it."""
    if isinstance(value, dict):
        return "map[" + " ".join(f"{k}:{go_value(value[k])}" for k in sorted(value)) + "]"
    if isinstance(value, list):
        return "[" + " ".join(go_value(v) for v in value) + "]"
    return _scalar_text(value)


# --------------------------------------------------------------------------- the template


class Template:
    """A parsed template; ``execute(obj)`` renders it, ``results(obj)`` gives each action's values."""

    def __init__(self, text: str):
        self.text = text
        self.nodes = _Parser(text).parse()

    def execute(self, obj: Any) -> str:
        out: list[str] = []
        self._render(self.nodes, obj, out)
        return "".join(out)

    def _render(self, nodes: list[Any], current: Any, out: list[str]) -> None:
        for node in nodes:
            if isinstance(node, _Text):
                out.append(node.text)
            elif isinstance(node, _Range):
                for value in _walk([current], node.path):
                    self._render(node.body, value, out)
            else:
                out.append(" ".join(_result_text(v) for v in _walk([current], node)))

    def results(self, obj: Any) -> list[list[Any]]:
        """The values of each path action at the top level (range bodies are not entered)."""
        return [_walk([obj], node) for node in self.nodes if isinstance(node, _Path)]


_RELAXED = re.compile(r"^\{\.?([^{}]+)\}$|^\.?([^{}]+)$")


def relaxed(expression: str) -> str:
    """kubectl's relaxed path (``a.b``, ``.a.b``, ``{a.b}``, ``{.a.b}``) as a template ``{.a.b}``."""
    if not expression:
        return expression
    match = _RELAXED.match(expression)
    if not match:
        raise JSONPathError("unexpected path string, expected a 'name1.name2' or '.name1.name2' or '{name1.name2}' "
                            "or '{.name1.name2}'")
    return "{." + (match.group(1) or match.group(2)) + "}"


# --------------------------------------------------------------------------- sorting


def _quantity(text: str) -> Decimal | None:
    from machinery.quantity import QuantityError, parse_quantity

    try:
        return parse_quantity(text)
    except (QuantityError, ValueError, ArithmeticError):
        return None


def sort_key_less(a: Any, b: Any) -> bool:
    """kubectl's ``--sort-by`` order of two field values (``None``: the object has no such field)."""
    if a is None or b is None:
        return a is None and b is not None
    if isinstance(a, bool) and isinstance(b, bool):
        return not a and b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool) \
            and not isinstance(b, bool):
        return a < b
    if isinstance(a, str) and isinstance(b, str):
        qa, qb = _quantity(a), _quantity(b)
        if qa is not None and qb is not None:
            return qa < qb
        return a < b
    if isinstance(a, list) and isinstance(b, list):
        for x, y in zip(a, b, strict=False):
            if sort_key_less(x, y):
                return True
            if sort_key_less(y, x):
                return False
        return len(a) < len(b)
    return go_value(a) < go_value(b)
