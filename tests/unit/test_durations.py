import pytest

from machinery.durations import parse_seconds


@pytest.mark.parametrize(("text", "seconds"), [("30", 30.0), (" 1.5 ", 1.5), ("30s", 30.0), ("1m30s", 90.0),
                                               ("500ms", 0.5), ("2h", 7200.0), ("1h1m1s", 3661.0)])
def test_go_durations_and_plain_seconds(text, seconds):
    assert parse_seconds(text) == seconds


@pytest.mark.parametrize("text", ["", "s", "10x", "1m 30s", "-5s", "5s10", "ms"])
def test_anything_else_is_refused(text):
    with pytest.raises(ValueError, match="invalid duration"):
        parse_seconds(text)
