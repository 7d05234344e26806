"""Kubernetes resource quantities ("100m", "128Mi", "1e3") as exact decimals.

A quantity is a signed decimal number followed by a suffix, as in Kubernetes'
``resource.Quantity``:

* binary SI: ``Ki Mi Gi Ti Pi Ei`` (powers of 1024);
* decimal SI: ``n u m "" k M G T P E`` (powers of 1000; ``1k`` is 1000, ``1K`` is an error);
* decimal exponent: ``e`` or ``E`` followed by a signed integer (``1e3``, ``5E-2``).

The number may have a sign and a fractional part (``+1``, ``-0.5``, ``.5``, ``1.``). Parsing
never goes through a float: the value is an exact :class:`decimal.Decimal`, because Kubernetes
compares requests and capacities exactly. As in Kubernetes, a parsed value keeps precision
only down to nano units, rounding a finer non-zero value away from zero (``0.1n`` is ``1n``),
and a binary-SI value is silently capped at 2^63-1 (``8Ei``).

Errors carry Kubernetes' own messages: text that does not have the shape of a quantity
(``abc``, ``1.2.3``, ``10 Mi``, ``1MB``, ``""``) fails with the "must match the regular
expression" message; a well-shaped text with an unknown suffix (``1K``, ``0.1mi``) fails with
"unable to parse quantity's suffix". One deliberate difference: Kubernetes' scanner lets a
number with no digit at all through as zero (``-``, ``Mi``, ``.``) although its documented
grammar forbids it; here the grammar wins and such text is rejected. Exponents outside the
int32 range, which Kubernetes silently wraps, are rejected too.

:func:`cpu_millis` and :func:`bytes_value` convert to whole millicores and bytes rounding up
away from zero, like ``MilliValue()`` and ``Value()``; where Kubernetes silently overflows an
int64 they saturate at the int64 bounds instead. :func:`format_cpu_millis` and
:func:`format_bytes` write the short forms people read (``250m``, ``2``, ``128Mi``).
"""

from __future__ import annotations

import decimal
import re
from decimal import Decimal

__all__ = [
    "FORMAT_ERROR",
    "SUFFIX_ERROR",
    "QuantityError",
    "bytes_value",
    "cpu_millis",
    "format_bytes",
    "format_cpu_millis",
    "parse_quantity",
]

QUANTITY_REGEX = r"^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$"
FORMAT_ERROR = f"quantities must match the regular expression '{QUANTITY_REGEX}'"
SUFFIX_ERROR = "unable to parse quantity's suffix"

# sign, integer digits, optional "." and fraction digits, then the suffix run. The language is
# exactly what Kubernetes' scanner accepts (its documented regex above is looser in places).
_SHAPE = re.compile(r"([+-]?)([0-9]*)(?:\.([0-9]*))?([eEinumkKMGTP]*[-+]?[0-9]*)")
_GO_INT = re.compile(r"[+-]?[0-9]+")

_DECIMAL_SUFFIXES = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
_BINARY_SUFFIXES = {"Ki": 10, "Mi": 20, "Gi": 30, "Ti": 40, "Pi": 50, "Ei": 60}
_BINARY_BY_SIZE = sorted(_BINARY_SUFFIXES.items(), key=lambda item: -item[1])

_INT32_MIN, _INT32_MAX = -(2**31), 2**31 - 1
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
_MAX_BINARY = Decimal(INT64_MAX)
_NANO_EXPONENT = -9


class QuantityError(ValueError):
    """A value that is not a Kubernetes quantity."""


def _exact_context(digits: int) -> decimal.Context:
    """A context wide enough that arithmetic on ``digits``-digit operands stays exact."""
    return decimal.Context(prec=max(digits, 1) + 40, rounding=decimal.ROUND_UP,
                           Emax=decimal.MAX_EMAX, Emin=decimal.MIN_EMIN)


def _as_text(value: object) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
        raise QuantityError(f"quantities must be strings or numbers, not {type(value).__name__}")
    if isinstance(value, float):
        return repr(value)
    try:
        return str(value)
    except ValueError as err:  # an int too long to print (sys.get_int_max_str_digits)
        raise QuantityError(FORMAT_ERROR) from err


def _interpret_suffix(suffix: str) -> tuple[int, int]:
    """The (base, exponent) a suffix stands for: ``Mi`` is (2, 20), ``k`` (10, 3), ``e-2`` (10, -2)."""
    if suffix in _DECIMAL_SUFFIXES:
        return 10, _DECIMAL_SUFFIXES[suffix]
    if suffix in _BINARY_SUFFIXES:
        return 2, _BINARY_SUFFIXES[suffix]
    if len(suffix) > 1 and suffix[0] in "eE" and _GO_INT.fullmatch(suffix[1:]):
        exponent = int(suffix[1:])
        if _INT32_MIN <= exponent <= _INT32_MAX:
            return 10, exponent
    raise QuantityError(SUFFIX_ERROR)


def _round_to_nano(amount: Decimal) -> Decimal:
    """Keep precision down to 1n, rounding anything finer away from zero, as Kubernetes does."""
    if amount.is_zero() or amount.as_tuple().exponent >= _NANO_EXPONENT:
        return amount
    context = _exact_context(max(amount.adjusted() - _NANO_EXPONENT, 0) + 1)
    return amount.quantize(Decimal(1).scaleb(_NANO_EXPONENT), context=context)


def parse_quantity(value: str | int | float | Decimal) -> Decimal:
    """The exact value of a quantity: ``"100m"`` is 0.1, ``"1Gi"`` is 1073741824, ``"1e3"`` is 1000.

    Numbers are accepted as Kubernetes accepts them in JSON (``1``, ``0.5``); negative values parse
    (whether they are allowed is for validation to say). Raises :class:`QuantityError`.
    """
    text = _as_text(value)
    shape = _SHAPE.fullmatch(text)
    if shape is None or not (shape[2] or shape[3]):
        raise QuantityError(FORMAT_ERROR)
    sign, whole, fraction, suffix = shape[1], shape[2], shape[3] or "", shape[4]
    base, exponent = _interpret_suffix(suffix)
    digits = (whole + fraction).lstrip("0") or "0"
    if base == 10:
        amount = Decimal(f"{sign}{digits}E{exponent - len(fraction)}")
    else:
        scaled = Decimal(f"{sign}{digits}E{-len(fraction)}")
        amount = _exact_context(len(digits) + 20).multiply(scaled, Decimal(2**exponent))
    amount = _round_to_nano(amount)
    if base == 2 and abs(amount) > _MAX_BINARY:
        amount = _MAX_BINARY.copy_sign(amount)
    return amount


def _as_quantity(value: str | int | float | Decimal) -> Decimal:
    return value if isinstance(value, Decimal) and value.is_finite() else parse_quantity(value)


def _ceil_scaled(amount: Decimal, power_of_ten: int) -> int:
    """``amount * 10**power_of_ten`` rounded up away from zero, saturated to int64."""
    sign, digits, exponent = amount.as_tuple()
    scaled = Decimal((sign, digits, int(exponent) + power_of_ten))
    if scaled > INT64_MAX:
        return INT64_MAX
    if scaled < INT64_MIN:
        return INT64_MIN
    return int(scaled.to_integral_value(rounding=decimal.ROUND_UP))


def cpu_millis(value: str | int | float | Decimal) -> int:
    """Whole millicores, rounded up away from zero like MilliValue(): ``"0.1"`` and ``"100m"`` give 100."""
    return _ceil_scaled(_as_quantity(value), 3)


def bytes_value(value: str | int | float | Decimal) -> int:
    """Whole units (bytes for memory), rounded up away from zero like Value(): ``"1Ki"`` gives 1024."""
    return _ceil_scaled(_as_quantity(value), 0)


def format_cpu_millis(millis: int) -> str:
    """Millicores as Kubernetes writes them: ``"100m"``, or ``"2"`` for whole cores."""
    if millis % 1000 == 0:
        return str(millis // 1000)
    return f"{millis}m"


def format_bytes(count: int) -> str:
    """Bytes with the largest binary suffix that divides them exactly (``"128Mi"``), else plain bytes."""
    if count == 0:
        return "0"
    for suffix, power in _BINARY_BY_SIZE:
        if count % (1 << power) == 0:
            return f"{count >> power}{suffix}"
    return str(count)
