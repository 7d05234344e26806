"""Name, label and quantity rules answer Kubernetes' errors, every problem at once."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from machinery import errors, validation
from machinery.validation import (
    Cause,
    annotations,
    dns1123_label,
    dns1123_subdomain,
    duplicate,
    forbidden,
    invalid,
    is_dns1123_label,
    is_dns1123_subdomain,
    is_qualified_name,
    is_valid_label_value,
    label_key,
    label_value,
    labels,
    not_supported,
    quantity,
    render_value,
    required,
    too_long,
    type_invalid,
)

SUBDOMAIN_MESSAGE = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must "
    "start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is "
    r"'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
)
LABEL_MESSAGE = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start "
    "and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is "
    "'[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
)
NAME_PART_MESSAGE = (
    "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
    "alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is "
    "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
)
LABEL_VALUE_MESSAGE = (
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must "
    "start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used "
    "for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
)


# --- causes -----------------------------------------------------------------------------------

def test_cause_is_the_api_error_cause():
    assert Cause is errors.Cause
    cause = invalid("metadata.name", "x", "bad")
    error = errors.Invalid('Pod "x" is invalid', causes=[cause])
    assert error.to_status()["details"]["causes"] == [
        {"reason": "FieldValueInvalid", "message": 'Invalid value: "x": bad', "field": "metadata.name"}]
    assert errors.from_status(error.to_status()).causes == (cause,)


@pytest.mark.parametrize(("cause", "text", "reason"), [
    (required("spec.containers"), "spec.containers: Required value", "FieldValueRequired"),
    (required("metadata.name", "name or generateName is required"),
     "metadata.name: Required value: name or generateName is required", "FieldValueRequired"),
    (invalid("spec.replicas", -1, "must be greater than or equal to 0"),
     "spec.replicas: Invalid value: -1: must be greater than or equal to 0", "FieldValueInvalid"),
    (invalid("f", "x", ""), 'f: Invalid value: "x"', "FieldValueInvalid"),
    (type_invalid("f", 5, "must be a string"), "f: Invalid value: 5: must be a string",
     "FieldValueTypeInvalid"),
    (too_long("metadata.name", 253), "metadata.name: Too long: must have at most 253 bytes",
     "FieldValueTooLong"),
    (too_long("f", 1), "f: Too long: must have at most 1 byte", "FieldValueTooLong"),
    (duplicate("spec.containers[1].name", "app"), 'spec.containers[1].name: Duplicate value: "app"',
     "FieldValueDuplicate"),
    (not_supported("spec.restartPolicy", "Sometimes", ["Always", "OnFailure", "Never"]),
     'spec.restartPolicy: Unsupported value: "Sometimes": supported values: "Always", "OnFailure", "Never"',
     "FieldValueNotSupported"),
    (not_supported("f", "x", []), 'f: Unsupported value: "x"', "FieldValueNotSupported"),
    (forbidden("spec", "pod updates may not change fields other than `spec.containers[*].image`"),
     "spec: Forbidden: pod updates may not change fields other than `spec.containers[*].image`",
     "FieldValueForbidden"),
])
def test_cause_rendering(cause, text, reason):
    assert str(cause) == text
    assert cause.reason == reason
    assert cause.message == text.split(": ", 1)[1]


@pytest.mark.parametrize(("value", "rendered"), [
    ("x", '"x"'),
    ('a"b', '"a\\"b"'),
    ("a\\b", '"a\\\\b"'),
    ("line\nbreak\ttab", '"line\\nbreak\\ttab"'),
    ("\x00\x7f", '"\\x00\\x7f"'),
    ("héllo ☃", '"héllo ☃"'),
    ("\u200b", '"\\u200b"'),
    (None, "null"),
    (True, "true"),
    (False, "false"),
    (3, "3"),
    (0.5, "0.5"),
    (["a", "b"], '["a","b"]'),
    ({"b": 1, "a": 2}, '{"a":2,"b":1}'),
])
def test_values_render_as_kubernetes_prints_them(value, rendered):
    assert render_value(value) == rendered


# --- DNS names --------------------------------------------------------------------------------

def test_uppercase_name_is_rejected_with_the_kubernetes_message():
    causes = dns1123_subdomain("Foo_bar", "metadata.name")
    assert [str(c) for c in causes] == [f'metadata.name: Invalid value: "Foo_bar": {SUBDOMAIN_MESSAGE}']
    assert causes[0].reason == "FieldValueInvalid"


@pytest.mark.parametrize("name", ["a", "web", "web-1", "0", "123-abc", "example.com", "a.b-c.d", "x" * 253,
                                  ".".join(["a" * 63] * 3) + ".b" * 30])
def test_valid_subdomains(name):
    assert len(name) <= 253
    assert dns1123_subdomain(name, "metadata.name") == []


@pytest.mark.parametrize("name", ["Web", "web_1", "-web", "web-", ".web", "web.", "a..b", "a b", "wéb",
                                  "web\n", "a/b", "*"])
def test_invalid_subdomains(name):
    assert [c.message for c in dns1123_subdomain(name, "f")] == [f"Invalid value: {render_value(name)}: "
                                                                 f"{SUBDOMAIN_MESSAGE}"]


def test_subdomain_length_limit_is_253():
    assert dns1123_subdomain("a" * 253, "f") == []
    assert [str(c) for c in dns1123_subdomain("a" * 254, "f")] == [
        f'f: Invalid value: "{"a" * 254}": must be no more than 253 characters']
    assert len(dns1123_subdomain("A" * 254, "f")) == 2


@pytest.mark.parametrize("name", ["a", "web-1", "123-abc", "x" * 63])
def test_valid_labels(name):
    assert dns1123_label(name, "metadata.name") == []


@pytest.mark.parametrize("name", ["Web", "web_1", "-web", "web-", "a b"])
def test_invalid_labels(name):
    messages = [c.message for c in dns1123_label(name, "f")]
    assert messages == [f"Invalid value: {render_value(name)}: {LABEL_MESSAGE}"]


def test_label_with_dots_is_told_so():
    assert [str(c) for c in dns1123_label("kube.system", "metadata.name")] == [
        'metadata.name: Invalid value: "kube.system": must not contain dots']


def test_label_length_limit_is_63():
    assert dns1123_label("a" * 63, "f") == []
    assert [c.message for c in dns1123_label("a" * 64, "f")] == [
        f'Invalid value: "{"a" * 64}": must be no more than 63 characters']


@pytest.mark.parametrize("rule", [dns1123_label, dns1123_subdomain])
@pytest.mark.parametrize("value", ["", None])
def test_missing_name_is_required(rule, value):
    assert [(str(c), c.reason) for c in rule(value, "metadata.name")] == [
        ("metadata.name: Required value", "FieldValueRequired")]


@pytest.mark.parametrize("rule", [dns1123_label, dns1123_subdomain])
def test_non_string_name_is_a_type_error(rule):
    assert [(str(c), c.reason) for c in rule(42, "metadata.name")] == [
        ("metadata.name: Invalid value: 42: must be a string", "FieldValueTypeInvalid")]


# --- label keys and values --------------------------------------------------------------------

@pytest.mark.parametrize("key", ["app", "App", "app.kubernetes.io/name", "example.com/My_Key-1", "a",
                                 "x" * 63, "a" * 253 + "/" + "b" * 63, "k8s.io/a.b"])
def test_valid_label_keys(key):
    assert label_key(key, "metadata.labels") == []
    assert is_qualified_name(key) == []


@pytest.mark.parametrize(("key", "messages"), [
    ("-app", [NAME_PART_MESSAGE]),
    ("app_", [NAME_PART_MESSAGE]),
    ("my app", [NAME_PART_MESSAGE]),
    ("", ["name part must be non-empty", NAME_PART_MESSAGE]),
    ("x" * 64, ["name part must be no more than 63 characters"]),
    ("/app", ["prefix part must be non-empty"]),
    ("example.com/", ["name part must be non-empty", NAME_PART_MESSAGE]),
    ("Example.com/app", ["prefix part " + SUBDOMAIN_MESSAGE]),
    ("a" * 254 + "/b", ["prefix part must be no more than 253 characters"]),
    ("a/b/c", ["a qualified name " + NAME_PART_MESSAGE.removeprefix("name part ")
               + " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"]),
])
def test_invalid_label_keys(key, messages):
    assert is_qualified_name(key) == messages
    assert [str(c) for c in label_key(key, "metadata.labels")] == [
        f"metadata.labels: Invalid value: {render_value(key)}: {m}" for m in messages]


@pytest.mark.parametrize("value", ["", "web", "Web_1.x-y", "1", "x" * 63])
def test_valid_label_values(value):
    assert label_value(value, "metadata.labels") == []
    assert is_valid_label_value(value) == []


@pytest.mark.parametrize(("value", "messages"), [
    ("-web", [LABEL_VALUE_MESSAGE]),
    ("web ", [LABEL_VALUE_MESSAGE]),
    ("a/b", [LABEL_VALUE_MESSAGE]),
    ("x" * 64, ["must be no more than 63 characters"]),
    ("-" * 64, ["must be no more than 63 characters", LABEL_VALUE_MESSAGE]),
])
def test_invalid_label_values(value, messages):
    assert is_valid_label_value(value) == messages
    assert [c.message for c in label_value(value, "f")] == [f"Invalid value: {render_value(value)}: {m}"
                                                            for m in messages]


def test_labels_reports_every_bad_key_and_value_on_the_map_path():
    causes = labels({"invalid label": "spaces are not allowed", "app": "web", "ok": ""}, "metadata.labels")
    assert [str(c) for c in causes] == [
        f'metadata.labels: Invalid value: "invalid label": {NAME_PART_MESSAGE}',
        f'metadata.labels: Invalid value: "spaces are not allowed": {LABEL_VALUE_MESSAGE}',
    ]


def test_labels_must_be_a_map_of_strings():
    assert labels(None, "metadata.labels") == []
    assert labels({}, "metadata.labels") == []
    assert [str(c) for c in labels(["app"], "metadata.labels")] == [
        'metadata.labels: Invalid value: ["app"]: must be a map of string keys to string values']
    assert [str(c) for c in labels({"version": 1}, "metadata.labels")] == [
        "metadata.labels[version]: Invalid value: 1: must be a string"]
    assert [str(c) for c in labels({1: "a"}, "metadata.labels")] == [
        "metadata.labels: Invalid value: 1: keys must be strings"]
    assert all(c.reason == "FieldValueTypeInvalid" for c in labels({"a": None, 2: "b"}, "f"))


def test_label_key_and_value_type_checks():
    assert [c.reason for c in label_key(3, "f")] == ["FieldValueTypeInvalid"]
    assert [c.reason for c in label_value(None, "f")] == ["FieldValueTypeInvalid"]


# --- annotations ------------------------------------------------------------------------------

def test_annotation_keys_are_qualified_names_in_any_case():
    assert annotations({"Example.COM/Some-Key": "anything, even spaces\n"}, "metadata.annotations") == []
    assert [str(c) for c in annotations({"bad key": "v"}, "metadata.annotations")] == [
        f'metadata.annotations: Invalid value: "bad key": {NAME_PART_MESSAGE}']


def test_annotations_total_size_limit_is_256_kib():
    limit = 256 * 1024
    assert annotations({"k": "v" * (limit - 1)}, "metadata.annotations") == []
    causes = annotations({"k": "v" * limit}, "metadata.annotations")
    assert [(str(c), c.reason) for c in causes] == [
        ("metadata.annotations: Too long: must have at most 262144 bytes", "FieldValueTooLong")]
    # the size is counted in bytes, keys included
    assert annotations({"a": "é" * (limit // 2)}, "f") != []
    assert annotations({"a": "x" * (limit // 2), "b": "x" * (limit // 2)}, "f") != []


def test_annotations_must_be_a_map_of_strings():
    assert annotations(None, "f") == []
    assert [c.reason for c in annotations("a=b", "f")] == ["FieldValueTypeInvalid"]
    assert [str(c) for c in annotations({"a": 1}, "f")] == ["f[a]: Invalid value: 1: must be a string"]


# --- quantities -------------------------------------------------------------------------------

@pytest.mark.parametrize("value", ["100m", "1Gi", "0", "1e3", 2, 0.5, "0.5"])
def test_valid_quantities(value):
    assert quantity(value, "spec.containers[0].resources.limits.cpu") == []


def test_garbage_quantity_is_invalid_with_the_regex_message():
    assert [str(c) for c in quantity("lots", "spec.containers[0].resources.limits.memory")] == [
        'spec.containers[0].resources.limits.memory: Invalid value: "lots": quantities must match the '
        "regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"]
    assert [c.message for c in quantity("1K", "f")] == [
        'Invalid value: "1K": unable to parse quantity\'s suffix']
    assert [c.message for c in quantity("", "f")][0].startswith('Invalid value: "": quantities must match')


def test_negative_quantity_is_refused_unless_allowed():
    assert [str(c) for c in quantity("-1", "spec.cpu")] == [
        'spec.cpu: Invalid value: "-1": must be greater than or equal to 0']
    assert [str(c) for c in quantity(-2, "spec.cpu")] == [
        "spec.cpu: Invalid value: -2: must be greater than or equal to 0"]
    assert quantity("-1", "spec.cpu", non_negative=False) == []


def test_missing_quantity_is_required():
    assert [(str(c), c.reason) for c in quantity(None, "spec.cpu")] == [("spec.cpu: Required value",
                                                                          "FieldValueRequired")]


def test_wrong_type_quantity_is_invalid():
    assert [c.reason for c in quantity(["1"], "f")] == ["FieldValueInvalid"]
    assert [c.reason for c in quantity(True, "f")] == ["FieldValueInvalid"]


# --- properties -------------------------------------------------------------------------------

_LOWER = "abcdefghijklmnopqrstuvwxyz0123456789"
_dns_labels = st.sampled_from(list(_LOWER)) | st.builds(
    lambda first, middle, last: first + middle + last,
    st.sampled_from(_LOWER), st.text(alphabet=_LOWER + "-", max_size=61), st.sampled_from(_LOWER))


@given(_dns_labels)
def test_generated_dns_labels_are_valid_labels_and_subdomains(name):
    assert is_dns1123_label(name) == []
    assert is_dns1123_subdomain(name) == []


@given(st.lists(_dns_labels, min_size=1, max_size=4).map(".".join))
def test_dotted_labels_are_subdomains(name):
    assert is_dns1123_subdomain(name) == ([] if len(name) <= 253 else ["must be no more than 253 characters"])


@given(st.text())
def test_rules_never_raise_on_arbitrary_text(text):
    for rule in (dns1123_label, dns1123_subdomain, label_key, label_value, quantity):
        causes = rule(text, "f")
        assert all(isinstance(c, Cause) and c.field.startswith("f") for c in causes)
    assert isinstance(labels({text: text}, "f"), list)
    assert isinstance(annotations({text: text}, "f"), list)


@given(st.text(min_size=1))
def test_anything_uppercase_is_never_a_valid_name(text):
    if any(ch.isupper() for ch in text):
        assert dns1123_subdomain(text, "f") != []
        assert dns1123_label(text, "f") != []


def test_module_exports():
    for name in validation.__all__:
        assert hasattr(validation, name)
