"""Label selectors parse, match and print the way Kubernetes' do."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from machinery.labels import (
    DOES_NOT_EXIST,
    DOUBLE_EQUALS,
    EQUALS,
    EXISTS,
    GREATER_THAN,
    IN,
    LESS_THAN,
    NOT_EQUALS,
    NOT_IN,
    Requirement,
    Selector,
    SelectorError,
    make_requirement,
    parse_selector,
    selector_from_label_selector,
    selector_from_set,
)

WEB = {"app": "web", "tier": "frontend", "env": "prod"}
DB = {"app": "db", "tier": "backend"}
NONE: dict[str, str] = {}


# --- parsing ----------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "requirements"), [
    ("a=b", [("a", EQUALS, ("b",))]),
    ("a==b", [("a", DOUBLE_EQUALS, ("b",))]),
    ("a!=b", [("a", NOT_EQUALS, ("b",))]),
    ("a in (x,y)", [("a", IN, ("x", "y"))]),
    ("a in (y,x,y)", [("a", IN, ("x", "y"))]),
    ("a notin (x)", [("a", NOT_IN, ("x",))]),
    ("a", [("a", EXISTS, ())]),
    ("!a", [("a", DOES_NOT_EXIST, ())]),
    ("a>5", [("a", GREATER_THAN, ("5",))]),
    ("a<10", [("a", LESS_THAN, ("10",))]),
    ("a=", [("a", EQUALS, ("",))]),
    ("a in ()", [("a", IN, ("",))]),
    ("a in (,x)", [("a", IN, ("", "x"))]),
    ("x in (foo,,baz)", [("x", IN, ("", "baz", "foo"))]),
    ("example.com/app=web", [("example.com/app", EQUALS, ("web",))]),
    ("in in (in)", [("in", IN, ("in",))]),
    ("notin notin (notin)", [("notin", NOT_IN, ("notin",))]),
])
def test_parse_single_requirement(text, requirements):
    assert [(r.key, r.operator, r.values) for r in parse_selector(text).requirements] == requirements


def test_requirements_are_comma_joined_and_sorted_by_key():
    selector = parse_selector("tier!=db,app=web,env in (prod,staging),!legacy,gpu")
    assert [r.key for r in selector.requirements] == ["app", "env", "gpu", "legacy", "tier"]


@pytest.mark.parametrize("text", [
    "app=web,tier in (fe,be)",
    " app = web , tier in ( fe , be ) ",
    "app=web,\ttier\nin\r(fe,be)",
    "app  =  web,tier in(fe,be)",
])
def test_whitespace_between_tokens_is_ignored(text):
    assert parse_selector(text) == parse_selector("app=web,tier in (be,fe)")


@pytest.mark.parametrize("text", ["", "   ", "\t\n"])
def test_empty_string_selects_everything(text):
    selector = parse_selector(text)
    assert selector.empty
    assert selector == Selector.everything()
    assert selector.matches(WEB) and selector.matches(NONE) and selector.matches(None)


@pytest.mark.parametrize(("text", "message"), [
    ("a=b=c", "found '=', expected: ',' or 'end of string'"),
    ("!a=b", "found '=', expected: ',' or 'end of string'"),
    ("a b", "unable to parse requirement: found 'b', expected: in, notin, =, ==, !=, gt, lt"),
    ("a!", "unable to parse requirement: found '!', expected: in, notin, =, ==, !=, gt, lt"),
    (",", "found ',', expected: !, identifier, or 'end of string'"),
    ("=", "found '=', expected: !, identifier, or 'end of string'"),
    ("a,", "found '', expected: identifier after ','"),
    ("a,,b", "found ',', expected: identifier after ','"),
    ("a in x", "unable to parse requirement: found 'x' expected: '('"),
    ("a in (x", "unable to parse requirement: found '', expected: ',' or ')'"),
    ("a in (x y)", "unable to parse requirement: found 'y', expected: ',' or ')'"),
    ("a in (=)", "unable to parse requirement: found '=', expected: ',', ')' or identifier"),
    ("a in (x))", "found ')', expected: ',' or 'end of string'"),
    ("a=(", "unable to parse requirement: found '(', expected: identifier"),
    ("a=b c", "found 'c', expected: ',' or 'end of string'"),
    ("!", "unable to parse requirement: found '', expected: identifier"),
])
def test_bad_syntax_names_the_offending_token(text, message):
    with pytest.raises(SelectorError) as err:
        parse_selector(text)
    assert str(err.value) == message


@pytest.mark.parametrize(("text", "fragment"), [
    ("Foo Bar=x", "found 'Bar'"),
    ("-app=web", 'key: Invalid value: "-app": name part must consist of alphanumeric characters'),
    ("a/b/c", 'key: Invalid value: "a/b/c": a qualified name must consist of'),
    ("Example.com/app=x", 'key: Invalid value: "Example.com/app": prefix part a lowercase RFC 1123'),
    ("app=-web", 'values[0][app]: Invalid value: "-web": a valid label must be an empty string or'),
    ("app in (ok,no_)", 'values[0][app]: Invalid value: "no_"'),
    ("a>b", "values[0]: Invalid value: \"b\": for 'Gt', 'Lt' operators, the value must be an integer"),
    ("a<-1", 'values[0][a]: Invalid value: "-1": a valid label'),
    ("a=" + "x" * 64, "must be no more than 63 characters"),
    ("k" * 64, "name part must be no more than 63 characters"),
])
def test_invalid_keys_and_values_are_reported(text, fragment):
    with pytest.raises(SelectorError) as err:
        parse_selector(text)
    assert fragment in str(err.value)


def test_selector_error_is_a_value_error():
    assert issubclass(SelectorError, ValueError)


@pytest.mark.parametrize("value", [None, 5, b"a=b", ["a=b"]])
def test_non_string_selector_is_a_selector_error(value):
    with pytest.raises(SelectorError):
        parse_selector(value)


# --- matching ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "labels", "expected"), [
    ("app=web", WEB, True),
    ("app=web", DB, False),
    ("app=web", NONE, False),
    ("app==web", WEB, True),
    ("app!=web", WEB, False),
    ("app!=web", DB, True),
    ("app!=web", NONE, True),  # a missing label is "not equal"
    ("app in (web,db)", WEB, True),
    ("app in (web,db)", DB, True),
    ("app in (web,db)", NONE, False),
    ("app notin (web)", WEB, False),
    ("app notin (web)", DB, True),
    ("app notin (web)", NONE, True),  # ... and "not in"
    ("env", WEB, True),
    ("env", DB, False),
    ("!env", WEB, False),
    ("!env", DB, True),
    ("env=", {"env": ""}, True),
    ("env=", NONE, False),
    ("env in ()", {"env": ""}, True),
    ("env", {"env": ""}, True),
    ("app=web,tier=frontend", WEB, True),
    ("app=web,tier=backend", WEB, False),
    ("app=web,!legacy", WEB, True),
    ("app=web,!legacy", {**WEB, "legacy": "true"}, False),
])
def test_matches(text, labels, expected):
    assert parse_selector(text).matches(labels) is expected


@pytest.mark.parametrize(("text", "labels", "expected"), [
    ("gen>3", {"gen": "4"}, True),
    ("gen>3", {"gen": "3"}, False),
    ("gen>3", {"gen": "-10"}, False),
    ("gen>3", {"gen": "+4"}, True),
    ("gen>3", {"gen": "four"}, False),
    ("gen>3", {"gen": "4.5"}, False),
    ("gen>3", {"gen": " 4"}, False),
    ("gen>3", {"gen": "1_000"}, False),
    ("gen>3", {"gen": str(2**63)}, False),  # not an int64
    ("gen>3", NONE, False),
    ("gen<3", {"gen": "2"}, True),
    ("gen<3", {"gen": "3"}, False),
    ("gen<3", NONE, False),
])
def test_numeric_comparisons(text, labels, expected):
    assert parse_selector(text).matches(labels) is expected


def test_matches_none_labels_as_empty():
    assert parse_selector("!app").matches(None)
    assert not parse_selector("app").matches(None)


def test_requires_exact_match():
    selector = parse_selector("app=web,tier in (fe),env in (a,b),!x,gen!=2")
    assert selector.requires_exact_match("app") == "web"
    assert selector.requires_exact_match("tier") == "fe"
    assert selector.requires_exact_match("env") is None
    assert selector.requires_exact_match("x") is None
    assert selector.requires_exact_match("gen") is None
    assert selector.requires_exact_match("missing") is None


# --- printing ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "canonical"), [
    ("app=web", "app=web"),
    ("app==web", "app==web"),
    ("app!=web", "app!=web"),
    (" tier in ( fe , be , fe ) ", "tier in (be,fe)"),
    ("tier notin (x)", "tier notin (x)"),
    ("gpu", "gpu"),
    ("! legacy", "!legacy"),
    ("gen>3,gen<9", "gen<9,gen>3"),
    ("b=1,a=2", "a=2,b=1"),
    ("a in (,x)", "a in (,x)"),
    ("a in ()", "a in ()"),
    ("a=", "a="),
    ("", ""),
])
def test_str_is_canonical_and_parses_back(text, canonical):
    selector = parse_selector(text)
    assert str(selector) == canonical
    assert parse_selector(str(selector)) == selector


def test_order_of_requirements_does_not_matter_for_equality():
    assert parse_selector("a=1,a!=2,b") == parse_selector("b,a!=2,a=1")


# --- everything and nothing -------------------------------------------------------------------

def test_everything_and_nothing():
    everything, nothing = Selector.everything(), Selector.nothing()
    assert everything.empty and everything.matches(WEB) and everything.matches(None)
    assert not nothing.empty
    assert not nothing.matches(WEB) and not nothing.matches(NONE) and not nothing.matches(None)
    assert str(nothing) == "" and nothing != everything


# --- the structured form ----------------------------------------------------------------------

def test_label_selector_none_selects_nothing_and_empty_selects_everything():
    assert selector_from_label_selector(None) == Selector.nothing()
    assert not selector_from_label_selector(None).matches(WEB)
    empties = ({}, {"matchLabels": {}}, {"matchExpressions": []},
               {"matchLabels": None, "matchExpressions": None})
    for empty in empties:
        selector = selector_from_label_selector(empty)
        assert selector.empty and selector.matches(WEB) and selector.matches(NONE)


def test_label_selector_match_labels_and_expressions():
    selector = selector_from_label_selector({
        "matchLabels": {"app": "web"},
        "matchExpressions": [
            {"key": "tier", "operator": "In", "values": ["frontend", "edge"]},
            {"key": "env", "operator": "NotIn", "values": ["dev"]},
            {"key": "env", "operator": "Exists"},
            {"key": "legacy", "operator": "DoesNotExist", "values": []},
        ],
    })
    assert selector.matches(WEB)
    assert not selector.matches({**WEB, "legacy": "1"})
    assert not selector.matches({**WEB, "env": "dev"})
    assert not selector.matches({"app": "web", "tier": "frontend"})
    assert str(selector) == "app=web,env,env notin (dev),!legacy,tier in (edge,frontend)"
    assert parse_selector(str(selector)) == selector


def test_label_selector_equals_its_string_form():
    structured = selector_from_label_selector({"matchLabels": {"b": "2", "a": "1"}})
    assert structured == parse_selector("a=1,b=2")


@pytest.mark.parametrize(("obj", "fragment"), [
    ({"matchExpressions": [{"key": "t", "operator": "In"}]},
     "for 'in', 'notin' operators, values set can't be empty"),
    ({"matchExpressions": [{"key": "t", "operator": "NotIn", "values": []}]}, "values set can't be empty"),
    ({"matchExpressions": [{"key": "t", "operator": "Exists", "values": ["a"]}]},
     "values set must be empty for exists and does not exist"),
    ({"matchExpressions": [{"key": "t", "operator": "in", "values": ["a"]}]},
     '"in" is not a valid label selector operator'),
    ({"matchExpressions": [{"key": "t", "operator": "Gt", "values": ["1"]}]},
     '"Gt" is not a valid label selector operator'),
    ({"matchExpressions": [{"key": "t"}]}, '"" is not a valid label selector operator'),
    ({"matchExpressions": [{"key": "Bad Key", "operator": "Exists"}]}, 'key: Invalid value: "Bad Key"'),
    ({"matchExpressions": [{"key": "t", "operator": "In", "values": [1]}]}, "must be a list of strings"),
    ({"matchExpressions": ["t=1"]}, "matchExpressions[0]"),
    ({"matchExpressions": {"key": "t"}}, "matchExpressions: must be a list"),
    ({"matchLabels": {"app": "web server"}}, 'values[0][app]: Invalid value: "web server"'),
    ({"matchLabels": {"app": 1}}, "matchLabels[app]"),
    ({"matchLabels": ["app"]}, "matchLabels: must be a map"),
    ("app=web", "must be an object"),
])
def test_bad_label_selectors_are_rejected(obj, fragment):
    with pytest.raises(SelectorError) as err:
        selector_from_label_selector(obj)
    assert fragment in str(err.value)


def test_several_problems_are_reported_together():
    with pytest.raises(SelectorError) as err:
        selector_from_label_selector({"matchLabels": {"bad key": "bad value"}})
    message = str(err.value)
    assert message.startswith("[key: Invalid value: \"bad key\"")
    assert 'values[0][bad key]: Invalid value: "bad value"' in message


def test_selector_from_set():
    selector = selector_from_set({"app": "web", "tier": "frontend"})
    assert selector == parse_selector("app=web,tier=frontend")
    assert selector.matches(WEB) and not selector.matches(DB)
    assert selector_from_set({}).empty and selector_from_set(None).empty


def test_make_requirement_validates_and_canonicalises():
    assert make_requirement("a", IN, ["y", "x", "y"]) == Requirement("a", IN, ("x", "y"))
    with pytest.raises(SelectorError, match="exact-match compatibility requires one single value"):
        make_requirement("a", EQUALS, ["x", "y"])
    with pytest.raises(SelectorError, match="for 'Gt', 'Lt' operators, exactly one value is required"):
        make_requirement("a", GREATER_THAN, [])
    with pytest.raises(SelectorError, match='operator: Unsupported value: "like"'):
        make_requirement("a", "like", ["x"])


# --- properties -------------------------------------------------------------------------------

_ALNUM = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
_names = st.builds(lambda first, middle, last: first + middle + last,
                   st.sampled_from(_ALNUM), st.text(alphabet=_ALNUM + "-_.", max_size=8),
                   st.sampled_from(_ALNUM)) | st.sampled_from(list(_ALNUM) + ["in", "notin"])
_prefixes = st.sampled_from(["", "example.com/", "k8s.io/", "a-b.c/"])
_keys = st.builds(lambda prefix, name: prefix + name, _prefixes, _names)
_values = _names | st.just("")
_integers = st.integers(min_value=0, max_value=10**6).map(str)


@st.composite
def _requirements(draw):
    key = draw(_keys)
    operator = draw(st.sampled_from([IN, NOT_IN, EQUALS, DOUBLE_EQUALS, NOT_EQUALS, EXISTS, DOES_NOT_EXIST,
                                     GREATER_THAN, LESS_THAN]))
    if operator in (IN, NOT_IN):
        values = draw(st.lists(_values, min_size=1, max_size=4))
    elif operator in (EXISTS, DOES_NOT_EXIST):
        values = []
    elif operator in (GREATER_THAN, LESS_THAN):
        values = [draw(_integers)]
    else:
        values = [draw(_values)]
    return make_requirement(key, operator, values)


_selectors = st.lists(_requirements(), max_size=5).map(lambda requirements: Selector(tuple(requirements)))
_label_sets = st.dictionaries(_keys, _values | _integers, max_size=6)


@given(_selectors)
def test_str_round_trips(selector):
    assert parse_selector(str(selector)) == selector


@given(_selectors, _label_sets)
def test_reparsed_selector_matches_the_same_labels(selector, labels):
    assert parse_selector(str(selector)).matches(labels) == selector.matches(labels)


@given(_selectors, _label_sets)
def test_a_selector_is_the_conjunction_of_its_requirements(selector, labels):
    assert selector.matches(labels) == all(Selector((r,)).matches(labels) for r in selector.requirements)


@given(st.dictionaries(_keys, _values, max_size=6))
def test_a_set_selector_matches_its_own_labels(labels):
    assert selector_from_set(labels).matches(labels)
    assert parse_selector(str(selector_from_set(labels))).matches(labels)


@given(st.text())
def test_parse_raises_nothing_but_selector_error_on_arbitrary_text(text):
    try:
        parse_selector(text)
    except SelectorError:
        pass


@given(st.text(alphabet="ab=!(),<> \tinotx1-./", max_size=20))
def test_parse_raises_nothing_but_selector_error_on_selector_like_text(text):
    try:
        selector = parse_selector(text)
    except SelectorError:
        return
    assert parse_selector(str(selector)) == selector
