"""Label selectors: which objects a ``-l``, a ReplicaSet or a Service picks by their labels.

Two spellings, one :class:`Selector`, with Kubernetes' semantics (apimachinery ``pkg/labels``
and ``metav1.LabelSelectorAsSelector``):

* the string form of list/watch requests, :func:`parse_selector`::

      app=web, tier!=db, env in (prod,staging), release notin (canary), gpu, !legacy

  Requirements are joined by commas and all must hold. ``=`` and ``==`` test equality, ``!=``
  inequality (a missing label counts as different), ``in``/``notin`` membership of a value set,
  a bare key that the label exists, ``!key`` that it does not, and ``key>N``/``key<N`` compare a
  label holding an integer. Whitespace between tokens is ignored; ``in``/``notin`` are words
  only where an operator is expected, so ``in in (in)`` is a valid selector. A value may be
  empty (``a=``, ``a in (,x)``, and ``a in ()`` meaning the set holding only ``""``). Keys and
  values must be valid label keys and values. The empty string selects everything.

* the structured form of API objects, :func:`selector_from_label_selector`:
  ``{"matchLabels": {...}, "matchExpressions": [{"key", "operator", "values"}]}`` with the
  operators In, NotIn, Exists, DoesNotExist. As in Kubernetes, an empty selector ``{}`` selects
  everything while a missing one (``None``) selects nothing — so a workload whose selector is
  absent adopts no pods, but one with ``selector: {}`` would adopt every pod in its namespace.

A Selector keeps its requirements sorted by key and each value set sorted and de-duplicated,
so equal selectors compare equal and ``str(selector)`` is canonical: parsing it back gives an
equal selector. (The one exception is :meth:`Selector.nothing`, whose string is ``""`` as in
Kubernetes, and which therefore parses back as everything.) Bad selectors raise
:class:`SelectorError` with Kubernetes' messages, naming the offending token or field.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from machinery import validation

__all__ = [
    "DOES_NOT_EXIST",
    "DOUBLE_EQUALS",
    "EQUALS",
    "EXISTS",
    "GREATER_THAN",
    "IN",
    "LESS_THAN",
    "NOT_EQUALS",
    "NOT_IN",
    "Requirement",
    "Selector",
    "SelectorError",
    "make_requirement",
    "parse_selector",
    "selector_from_label_selector",
    "selector_from_set",
]

# Operators, spelled as Kubernetes' selection.Operator.
IN = "in"
NOT_IN = "notin"
EQUALS = "="
DOUBLE_EQUALS = "=="
NOT_EQUALS = "!="
EXISTS = "exists"
DOES_NOT_EXIST = "!"
GREATER_THAN = "gt"
LESS_THAN = "lt"

_BINARY_OPERATORS = (IN, NOT_IN, EQUALS, DOUBLE_EQUALS, NOT_EQUALS, GREATER_THAN, LESS_THAN)
_ALL_OPERATORS = (*_BINARY_OPERATORS, EXISTS, DOES_NOT_EXIST)
_SET_OPERATORS = (IN, NOT_IN)
_EXACT_OPERATORS = (EQUALS, DOUBLE_EQUALS, NOT_EQUALS)
_NUMERIC_OPERATORS = (GREATER_THAN, LESS_THAN)
_STRUCTURED_OPERATORS = {"In": IN, "NotIn": NOT_IN, "Exists": EXISTS, "DoesNotExist": DOES_NOT_EXIST}

_GO_INT = re.compile(r"[+-]?[0-9]+")
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


class SelectorError(ValueError):
    """A label or field selector that cannot be parsed or is not valid."""


def _go_int(text: str) -> int | None:
    """``text`` as Go's strconv.ParseInt(text, 10, 64) reads it, or None."""
    if not _GO_INT.fullmatch(text):
        return None
    number = int(text)
    return number if _INT64_MIN <= number <= _INT64_MAX else None


@dataclass(frozen=True)
class Requirement:
    """One condition on one label: ``key``, an operator (``IN``, ``EQUALS``, ...) and values.

    Build it with :func:`make_requirement`, which validates it and puts the values in canonical
    (sorted, de-duplicated) order; a Requirement built directly is taken as it is.
    """

    key: str
    operator: str
    values: tuple[str, ...] = ()

    def matches(self, labels: Mapping[str, str] | None) -> bool:
        labels = labels or {}
        present = self.key in labels
        if self.operator in (IN, EQUALS, DOUBLE_EQUALS):
            return present and labels[self.key] in self.values
        if self.operator in (NOT_IN, NOT_EQUALS):
            return not present or labels[self.key] not in self.values
        if self.operator == EXISTS:
            return present
        if self.operator == DOES_NOT_EXIST:
            return not present
        if self.operator in _NUMERIC_OPERATORS:
            return present and self._compare(labels[self.key])
        return False

    def _compare(self, label: str) -> bool:
        actual = _go_int(label)
        wanted = _go_int(self.values[0]) if len(self.values) == 1 else None
        if actual is None or wanted is None:
            return False
        return actual > wanted if self.operator == GREATER_THAN else actual < wanted

    def __str__(self) -> str:
        if self.operator == EXISTS:
            return self.key
        if self.operator == DOES_NOT_EXIST:
            return "!" + self.key
        values = ",".join(sorted(self.values))
        if self.operator in _SET_OPERATORS:
            return f"{self.key} {self.operator} ({values})"
        symbol = {GREATER_THAN: ">", LESS_THAN: "<"}.get(self.operator, self.operator)
        return f"{self.key}{symbol}{values}"


def _aggregate(messages: list[str]) -> str:
    """Several errors in one message, the way Kubernetes' aggregate error prints them."""
    return messages[0] if len(messages) == 1 else "[" + ", ".join(messages) + "]"


def _key_error(key: str, field: str = "key") -> str | None:
    problems = validation.is_qualified_name(key)
    return str(validation.invalid(field, key, "; ".join(problems))) if problems else None


def _requirement_errors(key: str, operator: str, values: tuple[str, ...]) -> list[str]:
    """Everything wrong with a requirement, as Kubernetes' NewRequirement reports it."""
    errors = [error] if (error := _key_error(key)) else []
    shown = list(values)
    if operator in _SET_OPERATORS and not values:
        errors.append(str(validation.invalid("values", shown,
                                             "for 'in', 'notin' operators, values set can't be empty")))
    elif operator in _EXACT_OPERATORS and len(values) != 1:
        errors.append(str(validation.invalid("values", shown,
                                             "exact-match compatibility requires one single value")))
    elif operator in (EXISTS, DOES_NOT_EXIST) and values:
        errors.append(str(validation.invalid("values", shown,
                                             "values set must be empty for exists and does not exist")))
    elif operator in _NUMERIC_OPERATORS:
        if len(values) != 1:
            errors.append(str(validation.invalid("values", shown,
                                                 "for 'Gt', 'Lt' operators, exactly one value is required")))
        errors.extend(str(validation.invalid(f"values[{i}]", value,
                                             "for 'Gt', 'Lt' operators, the value must be an integer"))
                      for i, value in enumerate(values) if _go_int(value) is None)
    elif operator not in _ALL_OPERATORS:
        errors.append(str(validation.not_supported("operator", operator, _ALL_OPERATORS)))
    for i, value in enumerate(values):
        if problems := validation.is_valid_label_value(value):
            errors.append(str(validation.invalid(f"values[{i}][{key}]", value, "; ".join(problems))))
    return errors


def make_requirement(key: str, operator: str, values: Iterable[str] = ()) -> Requirement:
    """A validated Requirement with canonical values; raises :class:`SelectorError` if invalid."""
    canonical = tuple(sorted(set(values)))
    errors = _requirement_errors(key, operator, canonical)
    if errors:
        raise SelectorError(_aggregate(errors))
    return Requirement(key, operator, canonical)


@dataclass(frozen=True)
class Selector:
    """A conjunction of requirements; also the two special selectors everything and nothing."""

    requirements: tuple[Requirement, ...] = ()
    selects_nothing: bool = False

    def __post_init__(self) -> None:
        ordered = tuple(sorted(self.requirements, key=lambda req: (req.key, str(req))))
        object.__setattr__(self, "requirements", ordered)

    @classmethod
    def everything(cls) -> Selector:
        return cls()

    @classmethod
    def nothing(cls) -> Selector:
        return cls(selects_nothing=True)

    @property
    def empty(self) -> bool:
        """True when the selector does not restrict anything (nothing() is not empty)."""
        return not self.selects_nothing and not self.requirements

    def matches(self, labels: Mapping[str, str] | None) -> bool:
        if self.selects_nothing:
            return False
        return all(requirement.matches(labels) for requirement in self.requirements)

    def requires_exact_match(self, key: str) -> str | None:
        """The one value ``key`` must have (from ``=``, ``==`` or a one-value ``in``), if any."""
        for requirement in self.requirements:
            if requirement.key != key:
                continue
            if requirement.operator in (EQUALS, DOUBLE_EQUALS, IN) and len(requirement.values) == 1:
                return requirement.values[0]
            return None
        return None

    def __str__(self) -> str:
        return ",".join(str(requirement) for requirement in self.requirements)


def selector_from_set(labels: Mapping[str, str] | None) -> Selector:
    """The selector matching exactly these labels (``key=value`` each); empty or None is everything.

    Like Kubernetes' SelectorFromSet it does not validate: the labels are taken to be valid already.
    """
    return Selector(tuple(Requirement(key, EQUALS, (value,)) for key, value in (labels or {}).items()))


# --- the string syntax -------------------------------------------------------------------------

_END, _IDENT, _OPEN, _CLOSE, _COMMA, _NOT = "end", "identifier", "(", ")", ",", "!"
_EQ, _DEQ, _NEQ, _GT, _LT, _IN, _NOTIN = "=", "==", "!=", ">", "<", "in", "notin"
_SPECIAL = frozenset("=!(),><")
_WHITESPACE = frozenset(" \t\r\n")
_KEYWORDS = {"in": _IN, "notin": _NOTIN}
_OPERATOR_BY_TOKEN = {_IN: IN, _NOTIN: NOT_IN, _EQ: EQUALS, _DEQ: DOUBLE_EQUALS, _NEQ: NOT_EQUALS,
                      _GT: GREATER_THAN, _LT: LESS_THAN}


def _tokens(text: str) -> list[tuple[str, str]]:
    """(kind, literal) pairs; identifiers run up to whitespace or one of ``=!(),><``."""
    tokens = []
    pos = 0
    while True:
        while pos < len(text) and text[pos] in _WHITESPACE:
            pos += 1
        if pos >= len(text):
            tokens.append((_END, ""))
            return tokens
        if text[pos] in _SPECIAL:
            symbol = text[pos:pos + 2] if text[pos:pos + 2] in ("==", "!=") else text[pos]
            tokens.append((symbol, symbol))
            pos += len(symbol)
            continue
        start = pos
        while pos < len(text) and text[pos] not in _SPECIAL and text[pos] not in _WHITESPACE:
            pos += 1
        word = text[start:pos]
        tokens.append((_KEYWORDS.get(word, _IDENT), word))


class _Parser:
    """Recursive descent over the tokens, mirroring Kubernetes' parser and its messages."""

    def __init__(self, text: str):
        self.tokens = _tokens(text)
        self.position = 0

    def peek(self, values: bool = True) -> tuple[str, str]:
        """The next token; where values are expected, ``in``/``notin`` are plain identifiers."""
        kind, literal = self.tokens[self.position]
        return (_IDENT if values and kind in (_IN, _NOTIN) else kind), literal

    def take(self, values: bool = True) -> tuple[str, str]:
        token = self.peek(values)
        self.position += 1
        return token

    def parse(self) -> list[Requirement]:
        requirements: list[Requirement] = []
        while True:
            kind, literal = self.peek()
            if kind == _END:
                return requirements
            if kind not in (_IDENT, _NOT):
                raise SelectorError(f"found '{literal}', expected: !, identifier, or 'end of string'")
            try:
                requirements.append(self.requirement())
            except SelectorError as err:
                raise SelectorError(f"unable to parse requirement: {err}") from None
            kind, literal = self.take()
            if kind == _END:
                return requirements
            if kind != _COMMA:
                raise SelectorError(f"found '{literal}', expected: ',' or 'end of string'")
            kind, literal = self.peek()
            if kind not in (_IDENT, _NOT):
                raise SelectorError(f"found '{literal}', expected: identifier after ','")

    def requirement(self) -> Requirement:
        negated = self.peek()[0] == _NOT
        if negated:
            self.take()
        kind, key = self.take()
        if kind != _IDENT:
            raise SelectorError(f"found '{key}', expected: identifier")
        if error := _key_error(key):
            raise SelectorError(error)
        if negated:  # "!key" takes no operator; whatever follows is the caller's to judge
            return make_requirement(key, DOES_NOT_EXIST)
        if self.peek()[0] in (_END, _COMMA):
            return make_requirement(key, EXISTS)
        kind, literal = self.take(values=False)
        if kind not in _OPERATOR_BY_TOKEN:
            raise SelectorError(f"found '{literal}', expected: {', '.join(_BINARY_OPERATORS)}")
        operator = _OPERATOR_BY_TOKEN[kind]
        values = self.value_set() if operator in _SET_OPERATORS else self.exact_value()
        return make_requirement(key, operator, values)

    def value_set(self) -> set[str]:
        kind, literal = self.take()
        if kind != _OPEN:
            raise SelectorError(f"found '{literal}' expected: '('")
        kind, literal = self.peek()
        if kind == _CLOSE:
            self.take()
            return {""}
        if kind not in (_IDENT, _COMMA):
            raise SelectorError(f"found '{literal}', expected: ',', ')' or identifier")
        values = self.identifiers()
        if self.take()[0] != _CLOSE:
            raise SelectorError(f"found '{literal}', expected: ')'")
        return values

    def identifiers(self) -> set[str]:
        """A comma-separated list in which empty items are the empty value: ``(,a,,b,)``."""
        values: set[str] = set()
        while True:
            kind, literal = self.take()
            if kind == _IDENT:
                values.add(literal)
                following, text = self.peek()
                if following == _CLOSE:
                    return values
                if following != _COMMA:
                    raise SelectorError(f"found '{text}', expected: ',' or ')'")
            elif kind == _COMMA:
                if not values:
                    values.add("")
                following = self.peek()[0]
                if following == _CLOSE:
                    values.add("")
                    return values
                if following == _COMMA:
                    self.take()
                    values.add("")
            else:
                raise SelectorError(f"found '{literal}', expected: ',', or identifier")

    def exact_value(self) -> set[str]:
        kind = self.peek()[0]
        if kind in (_END, _COMMA):
            return {""}
        kind, literal = self.take()
        if kind != _IDENT:
            raise SelectorError(f"found '{literal}', expected: identifier")
        return {literal}


def parse_selector(text: str) -> Selector:
    """Parse the string form (``"app=web,tier in (fe,be)"``); ``""`` selects everything."""
    if not isinstance(text, str):
        raise SelectorError(f"a label selector must be a string, not {type(text).__name__}")
    return Selector(tuple(_Parser(text).parse()))


# --- the structured form -----------------------------------------------------------------------

def _structured_values(expression: Mapping, index: int) -> list[str]:
    values = expression.get("values") or []
    if not isinstance(values, list | tuple) or not all(isinstance(value, str) for value in values):
        raise SelectorError(f"matchExpressions[{index}].values: must be a list of strings")
    return list(values)


def _from_expression(expression: object, index: int) -> Requirement:
    if not isinstance(expression, Mapping):
        raise SelectorError(f"matchExpressions[{index}]: must be an object with key, operator and values")
    key, operator = expression.get("key", ""), expression.get("operator", "")
    if not isinstance(key, str):
        raise SelectorError(f"matchExpressions[{index}].key: must be a string")
    if operator not in _STRUCTURED_OPERATORS:
        raise SelectorError(f"{validation.render_value(operator)} is not a valid label selector operator")
    return make_requirement(key, _STRUCTURED_OPERATORS[operator], _structured_values(expression, index))


def selector_from_label_selector(obj: Mapping | None) -> Selector:
    """The Selector for a metav1.LabelSelector dict: None selects nothing, ``{}`` everything."""
    if obj is None:
        return Selector.nothing()
    if not isinstance(obj, Mapping):
        raise SelectorError("a label selector must be an object with matchLabels and/or matchExpressions")
    match_labels = obj.get("matchLabels") or {}
    expressions = obj.get("matchExpressions") or []
    if not isinstance(match_labels, Mapping):
        raise SelectorError("matchLabels: must be a map of string keys to string values")
    if not isinstance(expressions, list | tuple):
        raise SelectorError("matchExpressions: must be a list")
    requirements = []
    for key, value in match_labels.items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise SelectorError(f"matchLabels[{key}]: keys and values must be strings")
        requirements.append(make_requirement(key, EQUALS, [value]))
    requirements.extend(_from_expression(expression, i) for i, expression in enumerate(expressions))
    return Selector(tuple(requirements))
