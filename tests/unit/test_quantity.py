"""Resource quantities parse, convert and print the way Kubernetes does."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from machinery.quantity import (
    FORMAT_ERROR,
    SUFFIX_ERROR,
    QuantityError,
    bytes_value,
    cpu_millis,
    format_bytes,
    format_cpu_millis,
    parse_quantity,
)

INT64_MAX = 2**63 - 1


@pytest.mark.parametrize(("text", "expected"), [
    ("100m", Decimal("0.1")),
    ("0.5", Decimal("0.5")),
    ("1", Decimal(1)),
    ("0", Decimal(0)),
    ("128Mi", Decimal(128 * 2**20)),
    ("1Ki", Decimal(1024)),
    ("1Gi", Decimal(1073741824)),
    ("1Ti", Decimal(2**40)),
    ("1Pi", Decimal(2**50)),
    ("1Ei", Decimal(2**60)),
    ("1.5Gi", Decimal(1610612736)),
    ("1G", Decimal(10**9)),
    ("1k", Decimal(1000)),
    ("1M", Decimal(10**6)),
    ("1T", Decimal(10**12)),
    ("1P", Decimal(10**15)),
    ("1E", Decimal(10**18)),
    ("1n", Decimal("1e-9")),
    ("1u", Decimal("1e-6")),
    ("250m", Decimal("0.25")),
    ("1e3", Decimal(1000)),
    ("1E3", Decimal(1000)),
    ("1e+3", Decimal(1000)),
    ("5e-1", Decimal("0.5")),
    ("12E-3", Decimal("0.012")),
    ("+1", Decimal(1)),
    ("-1", Decimal(-1)),
    ("-100m", Decimal("-0.1")),
    (".5", Decimal("0.5")),
    ("1.", Decimal(1)),
    ("1.G", Decimal(10**9)),
    ("007", Decimal(7)),
    ("18446744073709551616", Decimal(2**64)),
])
def test_parse_valid_strings(text, expected):
    assert parse_quantity(text) == expected


@pytest.mark.parametrize(("value", "expected"), [
    (1, Decimal(1)),
    (0, Decimal(0)),
    (-3, Decimal(-3)),
    (0.5, Decimal("0.5")),
    (0.1, Decimal("0.1")),
    (2.0, Decimal(2)),
    (1e-05, Decimal("0.00001")),
])
def test_parse_numbers_as_json_would_carry_them(value, expected):
    assert parse_quantity(value) == expected


def test_100m_is_a_tenth_of_a_core():
    assert parse_quantity("100m") == parse_quantity("0.1") == Decimal(1) / 10


def test_binary_and_decimal_suffixes_differ():
    assert parse_quantity("1Ki") == 1024
    assert parse_quantity("1k") == 1000
    assert parse_quantity("1Mi") > parse_quantity("1M")


@pytest.mark.parametrize("text", [
    "abc", "1.2.3", "10 Mi", "", "1MB", "-", "+", "Mi", "1Kb", " 1", "1 ", "1,5", "0x10",
    ".", "e3", "1e3i", "--1", "+-1", "1/2", "inf", "nan", "1_000", "١",
])
def test_garbage_is_rejected_with_the_kubernetes_regex_message(text):
    with pytest.raises(QuantityError) as err:
        parse_quantity(text)
    assert str(err.value) == FORMAT_ERROR
    assert "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'" in str(err.value)


def test_format_error_reads_like_kubernetes():
    assert FORMAT_ERROR == ("quantities must match the regular expression "
                            "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'")


@pytest.mark.parametrize("text", ["1K", "0.1mi", "1e", "1E+", "1ee3", "1Mi3", "1mM", "1Kii", "3i"])
def test_well_shaped_text_with_unknown_suffix_is_a_suffix_error(text):
    with pytest.raises(QuantityError, match="unable to parse quantity's suffix"):
        parse_quantity(text)


def test_suffix_error_message():
    assert SUFFIX_ERROR == "unable to parse quantity's suffix"


@pytest.mark.parametrize("value", [None, True, False, [], {}, b"1", object(), float("inf"), float("nan")])
def test_non_quantity_values_raise_quantity_error(value):
    with pytest.raises(QuantityError):
        parse_quantity(value)


def test_quantity_error_is_a_value_error():
    assert issubclass(QuantityError, ValueError)


def test_negative_quantities_parse():
    assert parse_quantity("-1Gi") == -(2**30)
    assert parse_quantity("-0.5") == Decimal("-0.5")


def test_precision_is_kept_to_nano_and_rounded_up_beyond():
    assert parse_quantity("1.5n") == Decimal("2e-9")
    assert parse_quantity("0.1n") == Decimal("1e-9")
    assert parse_quantity("-0.1n") == Decimal("-1e-9")
    assert parse_quantity("1e-30") == Decimal("1e-9")
    assert parse_quantity("0.000000001") == Decimal("1e-9")
    assert parse_quantity("0.0000000000") == 0


def test_binary_quantities_are_capped_at_int64_max():
    assert parse_quantity("8Ei") == INT64_MAX
    assert parse_quantity("-8Ei") == -INT64_MAX
    assert parse_quantity("7Ei") == 7 * 2**60


def test_decimal_quantities_are_not_capped():
    assert parse_quantity("100E") == Decimal(10**20)


def test_exponent_outside_int32_is_rejected():
    assert parse_quantity("1e2147483647") == Decimal("1e2147483647")
    with pytest.raises(QuantityError, match="suffix"):
        parse_quantity("1e2147483648")


def test_huge_integer_input_raises_quantity_error_not_a_crash():
    with pytest.raises(QuantityError):
        parse_quantity(10**10000)
    assert parse_quantity("1" * 10000) == Decimal("1" * 10000)


@pytest.mark.parametrize(("value", "millis"), [
    ("100m", 100), ("0.1", 100), ("1", 1000), ("2", 2000), ("1.5", 1500), ("250m", 250),
    ("0.0001", 1), ("1n", 1), ("1001u", 2), ("0", 0), (1, 1000), (0.5, 500), ("1k", 10**6),
    ("-100m", -100), ("-0.0001", -1), (Decimal("0.25"), 250),
])
def test_cpu_millis_rounds_up_to_whole_millicores(value, millis):
    assert cpu_millis(value) == millis


@pytest.mark.parametrize(("value", "count"), [
    ("1Gi", 2**30), ("128Mi", 128 * 2**20), ("1G", 10**9), ("129e6", 129_000_000), ("1.5", 2),
    ("100m", 1), ("0", 0), (512, 512), ("1Ki", 1024), ("-1.5", -2), ("0.5Ki", 512),
])
def test_bytes_value_rounds_up_to_whole_bytes(value, count):
    assert bytes_value(value) == count


def test_conversions_saturate_instead_of_overflowing():
    assert cpu_millis("1e100") == INT64_MAX
    assert bytes_value("1e2147483647") == INT64_MAX
    assert bytes_value("-1e30") == -(2**63)
    assert cpu_millis("9223372036854775807") == INT64_MAX


def test_conversions_reject_garbage():
    with pytest.raises(QuantityError):
        cpu_millis("one core")
    with pytest.raises(QuantityError):
        bytes_value("1 GB")


@pytest.mark.parametrize(("millis", "text"), [
    (100, "100m"), (2000, "2"), (1000, "1"), (1500, "1500m"), (0, "0"), (1, "1m"), (-250, "-250m"),
    (-3000, "-3"),
])
def test_format_cpu_millis(millis, text):
    assert format_cpu_millis(millis) == text


@pytest.mark.parametrize(("count", "text"), [
    (128 * 2**20, "128Mi"), (2**30, "1Gi"), (3 * 2**30, "3Gi"), (1536 * 2**20, "1536Mi"), (1024, "1Ki"),
    (1000, "1000"), (1536, "1536"), (0, "0"), (1, "1"), (2**60, "1Ei"), (2**70, "1024Ei"), (-(2**30), "-1Gi"),
    (10**9, "1000000000"),
])
def test_format_bytes_uses_the_largest_exact_binary_suffix(count, text):
    assert format_bytes(count) == text


# --- properties -------------------------------------------------------------------------------

@given(st.integers(min_value=-(2**62), max_value=2**62))
def test_format_bytes_round_trips(count):
    text = format_bytes(count)
    assert bytes_value(text) == count
    assert parse_quantity(text) == count


@given(st.integers(min_value=-(2**50), max_value=2**50))
def test_format_cpu_millis_round_trips(millis):
    text = format_cpu_millis(millis)
    assert cpu_millis(text) == millis
    assert parse_quantity(text) * 1000 == millis


@given(st.text())
def test_parse_raises_nothing_but_quantity_error_on_arbitrary_text(text):
    try:
        parse_quantity(text)
    except QuantityError:
        pass


@given(st.text(alphabet="0123456789.+-eEinumkKMGTP ", max_size=12))
def test_parse_raises_nothing_but_quantity_error_on_quantity_like_text(text):
    try:
        value = parse_quantity(text)
    except QuantityError:
        return
    assert value.is_finite()


_SUFFIX_VALUES = {
    "": Fraction(1), "n": Fraction(1, 10**9), "u": Fraction(1, 10**6), "m": Fraction(1, 1000),
    "k": Fraction(10**3), "M": Fraction(10**6), "G": Fraction(10**9), "T": Fraction(10**12),
    "Ki": Fraction(2**10), "Mi": Fraction(2**20), "Gi": Fraction(2**30), "Ti": Fraction(2**40),
}


@given(sign=st.sampled_from(["", "+", "-"]),
       whole=st.integers(min_value=0, max_value=10**6),
       fraction=st.text(alphabet="0123456789", max_size=3),
       suffix=st.sampled_from(sorted(_SUFFIX_VALUES)))
def test_well_formed_quantities_have_their_exact_value(sign, whole, fraction, suffix):
    text = f"{sign}{whole}" + (f".{fraction}" if fraction else "") + suffix
    number = Fraction(int(f"{whole}{fraction}"), 10 ** len(fraction)) * _SUFFIX_VALUES[suffix]
    if sign == "-":
        number = -number
    parsed = Fraction(parse_quantity(text))
    nano = Fraction(1, 10**9)
    # Kubernetes keeps nano precision, rounding anything finer away from zero.
    assert abs(parsed - number) < nano
    assert abs(parsed) >= abs(number)
    assert (parsed / nano).denominator == 1 or parsed == number


@given(st.integers(min_value=-(10**12), max_value=10**12), st.integers(min_value=-6, max_value=6))
def test_exponent_form_equals_scaled_number(mantissa, exponent):
    assert parse_quantity(f"{mantissa}e{exponent}") == Decimal(mantissa).scaleb(exponent)
