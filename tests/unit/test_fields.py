"""Field selectors parse, match and print the way Kubernetes' do."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from machinery.fields import (
    FieldSelector,
    SelectorError,
    check_supported,
    escape_value,
    field_value,
    parse_field_selector,
    unescape_value,
)
from machinery.labels import SelectorError as LabelSelectorError

UNBOUND = {"metadata": {"name": "web-1", "namespace": "default"},
           "spec": {"schedulerName": "default-scheduler"}, "status": {"phase": "Pending"}}
BOUND = {"metadata": {"name": "web-2", "namespace": "default"}, "spec": {"nodeName": "node-a"},
         "status": {"phase": "Running"}}
NULL_NODE = {"metadata": {"name": "web-3"}, "spec": {"nodeName": None}}
EVENT = {"metadata": {"name": "e1", "namespace": "default"}, "reason": "Scheduled", "type": "Normal",
         "involvedObject": {"kind": "Pod", "name": "web-1", "namespace": "default"}}


def test_selector_error_is_the_label_one():
    assert SelectorError is LabelSelectorError


@pytest.mark.parametrize(("text", "terms"), [
    ("spec.nodeName=node-a", (("spec.nodeName", "=", "node-a"),)),
    ("spec.nodeName==node-a", (("spec.nodeName", "=", "node-a"),)),
    ("spec.nodeName!=node-a", (("spec.nodeName", "!=", "node-a"),)),
    ("spec.nodeName=", (("spec.nodeName", "=", ""),)),
    ("status.phase=Running,metadata.name=x", (("metadata.name", "=", "x"), ("status.phase", "=", "Running"))),
    ("a=b,,c=d,", (("a", "=", "b"), ("c", "=", "d"))),
    ("reason=a\\,b", (("reason", "=", "a,b"),)),
    ("reason=a\\=b", (("reason", "=", "a=b"),)),
    ("reason=a\\\\b", (("reason", "=", "a\\b"),)),
    ("a!=\\=b", (("a", "!=", "=b"),)),
    ("=x", (("", "=", "x"),)),
    (" spec.nodeName = x", ((" spec.nodeName ", "=", " x"),)),  # nothing is trimmed
])
def test_parse(text, terms):
    assert parse_field_selector(text).terms == terms


def test_empty_selects_everything():
    selector = parse_field_selector("")
    assert selector.empty and selector == FieldSelector.everything()
    assert selector.matches(BOUND) and selector.matches({})
    assert parse_field_selector(",,").empty


@pytest.mark.parametrize(("text", "message"), [
    ("abc", "invalid selector: 'abc'; can't understand 'abc'"),
    ("a=b,nonsense", "invalid selector: 'a=b,nonsense'; can't understand 'nonsense'"),
    ("a=b=c", "invalid field selector: unescaped character in value: ="),
    ("a==b=c", "invalid field selector: unescaped character in value: ="),
    ("a=\\x", "invalid field selector: invalid escape sequence: \\x"),
    ("a=b\\", "invalid field selector: invalid escape sequence: \\"),
])
def test_bad_syntax_is_a_selector_error(text, message):
    with pytest.raises(SelectorError) as err:
        parse_field_selector(text)
    assert str(err.value) == message


@pytest.mark.parametrize("value", [None, 1, ["a=b"]])
def test_non_string_is_a_selector_error(value):
    with pytest.raises(SelectorError):
        parse_field_selector(value)


def test_empty_node_name_selects_unbound_pods():
    selector = parse_field_selector("spec.nodeName=")
    assert selector.matches(UNBOUND)
    assert selector.matches(NULL_NODE)
    assert not selector.matches(BOUND)


def test_not_empty_node_name_selects_bound_pods():
    selector = parse_field_selector("spec.nodeName!=")
    assert selector.matches(BOUND)
    assert not selector.matches(UNBOUND)


@pytest.mark.parametrize(("text", "obj", "expected"), [
    ("spec.nodeName=node-a", BOUND, True),
    ("spec.nodeName=node-a", UNBOUND, False),
    ("spec.nodeName==node-a", BOUND, True),
    ("spec.nodeName!=node-a", BOUND, False),
    ("spec.nodeName!=node-a", UNBOUND, True),
    ("metadata.name=web-1", UNBOUND, True),
    ("metadata.namespace=default", UNBOUND, True),
    ("metadata.namespace=", NULL_NODE, True),
    ("status.phase=Running", BOUND, True),
    ("status.phase!=Running,status.phase!=Succeeded", UNBOUND, True),
    ("status.phase!=Running,status.phase!=Succeeded", BOUND, False),
    ("involvedObject.name=web-1,involvedObject.kind=Pod", EVENT, True),
    ("involvedObject.name=web-2", EVENT, False),
    ("reason=Scheduled,type=Normal", EVENT, True),
    ("spec.nodeName.deeper=", BOUND, True),  # a path through a string reads as missing
    ("spec=", BOUND, True),  # a non-scalar field reads as empty
])
def test_matches(text, obj, expected):
    assert parse_field_selector(text).matches(obj) is expected


@pytest.mark.parametrize(("obj", "path", "value"), [
    ({"spec": {"unschedulable": True}}, "spec.unschedulable", "true"),
    ({"spec": {"unschedulable": False}}, "spec.unschedulable", "false"),
    ({"spec": {"replicas": 3}}, "spec.replicas", "3"),
    ({"spec": {}}, "spec.unschedulable", ""),
    ({}, "spec.unschedulable", ""),
    ({"spec": None}, "spec.unschedulable", ""),
    ({"spec": ["x"]}, "spec", ""),
    ({"metadata": {"name": "n"}}, "metadata.name", "n"),
])
def test_field_value(obj, path, value):
    assert field_value(obj, path) == value


def test_booleans_read_as_kubernetes_prints_them():
    assert parse_field_selector("spec.unschedulable=true").matches({"spec": {"unschedulable": True}})
    assert parse_field_selector("spec.unschedulable=false").matches({"spec": {"unschedulable": False}})


def test_defaults_stand_in_for_missing_fields():
    selector = parse_field_selector("spec.unschedulable=false")
    node = {"metadata": {"name": "n"}, "spec": {}}
    assert not selector.matches(node)
    assert selector.matches(node, defaults={"spec.unschedulable": "false"})
    assert not selector.matches({"spec": {"unschedulable": True}}, defaults={"spec.unschedulable": "false"})


def test_exact_value():
    selector = parse_field_selector("spec.nodeName=node-a,metadata.name!=x,status.phase==Running")
    assert selector.exact_value("spec.nodeName") == "node-a"
    assert selector.exact_value("status.phase") == "Running"
    assert selector.exact_value("metadata.name") is None
    assert selector.exact_value("metadata.namespace") is None
    assert parse_field_selector("spec.nodeName=").exact_value("spec.nodeName") == ""
    assert FieldSelector.everything().exact_value("spec.nodeName") is None


def test_check_supported():
    allowed = {"metadata.name", "metadata.namespace", "spec.nodeName", "status.phase"}
    check_supported(parse_field_selector("spec.nodeName=a,status.phase!=Failed"), allowed)
    check_supported(parse_field_selector(""), allowed)
    with pytest.raises(SelectorError) as err:
        check_supported(parse_field_selector("spec.nodeName=a,spec.hostname=b"), allowed)
    assert str(err.value) == "field label not supported: spec.hostname"


def test_paths():
    assert parse_field_selector("a=1,b!=2,a=3").paths == {"a", "b"}


@pytest.mark.parametrize(("text", "canonical"), [
    ("spec.nodeName==a", "spec.nodeName=a"),
    ("status.phase!=Failed,metadata.name=x", "metadata.name=x,status.phase!=Failed"),
    ("reason=a\\,b\\=c\\\\", "reason=a\\,b\\=c\\\\"),
    ("", ""),
])
def test_str_is_canonical(text, canonical):
    selector = parse_field_selector(text)
    assert str(selector) == canonical
    assert parse_field_selector(str(selector)) == selector


def test_escaping():
    assert escape_value("a,b=c\\d") == "a\\,b\\=c\\\\d"
    assert unescape_value("a\\,b\\=c\\\\d") == "a,b=c\\d"


# --- properties -------------------------------------------------------------------------------

_paths = st.sampled_from(["metadata.name", "metadata.namespace", "spec.nodeName", "status.phase", "reason"])
_terms = st.tuples(_paths, st.sampled_from(["=", "!="]), st.text(max_size=8))
_selectors = st.lists(_terms, max_size=4).map(lambda terms: FieldSelector(tuple(terms)))


@given(st.text())
def test_escape_round_trips(value):
    assert unescape_value(escape_value(value)) == value


@given(_selectors)
def test_str_round_trips(selector):
    assert parse_field_selector(str(selector)) == selector


@given(_selectors, st.fixed_dictionaries({"metadata": st.fixed_dictionaries({"name": st.text(max_size=4)}),
                                          "spec": st.fixed_dictionaries({"nodeName": st.text(max_size=4)})}))
def test_a_selector_is_the_conjunction_of_its_terms(selector, obj):
    assert selector.matches(obj) == all(FieldSelector((term,)).matches(obj) for term in selector.terms)


@given(st.text())
def test_parse_raises_nothing_but_selector_error_on_arbitrary_text(text):
    try:
        parse_field_selector(text)
    except SelectorError:
        pass


@given(st.text(alphabet="ab.=!,\\ ", max_size=16))
def test_parse_raises_nothing_but_selector_error_on_selector_like_text(text):
    try:
        selector = parse_field_selector(text)
    except SelectorError:
        return
    assert parse_field_selector(str(selector)) == selector
