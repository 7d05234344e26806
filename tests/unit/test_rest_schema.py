"""The type description of kubemu's kinds (apiserver/apitypes) and the unknown fields that
``fieldValidation`` reports from it (apiserver/rest/schema.py)."""

from __future__ import annotations

import pytest

from apiserver import apitypes
from apiserver.rest import content
from apiserver.rest.schema import unknown_fields
from machinery import errors
from machinery.resources import RESOURCES


def test_every_served_kind_has_a_type_and_every_reference_resolves():
    for info in RESOURCES.values():
        struct = apitypes.for_kind(info.api_version, info.kind)
        assert struct is not None, info.kind
        assert {"apiVersion", "kind"} <= set(struct.properties), info.kind
    for struct in apitypes.structs().values():
        numbers = [f.number for f in struct.fields if f.number is not None]
        assert len(numbers) == len(set(numbers)), f"{struct.name} repeats a protobuf number"
        for f in struct.fields:
            if f.type.is_struct:
                assert f.type.element in apitypes.structs()


def test_the_format_reports_its_mistakes():
    with pytest.raises(apitypes.SchemaError, match="a type before any @ section"):
        apitypes.parse("Pod\n  name string #1\n")
    with pytest.raises(apitypes.SchemaError, match="cannot read"):
        apitypes.parse("@ io.x\nPod\n  name\n")
    parsed = apitypes.parse("@ io.x\nThing\n| A thing.\n  size  *int32!  #3  How big\n    | it is.\n"
                            "  tags  {}string  -\n")
    size, tags = parsed["io.x.Thing"].fields
    assert (size.name, size.type, size.number, size.required, size.description) == \
        ("size", apitypes.FieldType("", "int32", True), 3, True, "How big it is.")
    assert (tags.type.container, tags.number, parsed["io.x.Thing"].description) == ("map", None, "A thing.")


POD = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "labels": {"any-key": "x"}},
       "spec": {"containers": [{"name": "c", "image": "nginx", "ports": [{"containerPort": 80}],
                                "resources": {"limits": {"cpu": "1"}}}],
                "volumes": [{"name": "v", "emptyDir": {}}, {"name": "w", "configMap": {"name": "cm"}}]}}


def test_a_valid_pod_has_no_unknown_fields():
    assert unknown_fields("v1", "Pod", POD) == []


def test_unknown_fields_are_named_by_their_path_like_kubernetes():
    pod = {**POD, "spec": {**POD["spec"],
                           "containers": [{"name": "c", "imagePullPolice": "x"}],
                           "volumes": [{"name": "v", "emptyDri": {}}]}, "extra": 1}
    assert unknown_fields("v1", "Pod", pod) == ["spec.containers[0].imagePullPolice", "spec.volumes[0].emptyDri",
                                                "extra"]
    deployment = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
                  "spec": {"replicas": 1, "strategy": {"type": "Recreate", "rollingUpdat": {}},
                           "template": {"metadata": {"labelz": {}}, "spec": {"containers": [{"name": "c"}]}}}}
    assert unknown_fields("apps/v1", "Deployment", deployment) == ["spec.strategy.rollingUpdat",
                                                                   "spec.template.metadata.labelz"]
    assert unknown_fields("v1", "ConfigMap", {"metadata": {"name": "c"}, "dta": {}}) == ["dta"]


def test_values_of_the_wrong_json_type_are_not_unknown_fields():
    assert unknown_fields("v1", "Pod", {"spec": "not an object", "metadata": {"labels": ["x"]}}) == []


def test_strict_and_warn_decoding_speak_kubernetes():
    pod = {**POD, "spec": {"containers": [{"name": "c", "imagePullPolice": "x"}]}}
    with pytest.raises(errors.BadRequest) as failure:
        content.strict_decoding("v1", "Pod", pod, "Strict")
    assert failure.value.message == (
        'Pod in version "v1" cannot be handled as a Pod: strict decoding error: '
        'unknown field "spec.containers[0].imagePullPolice"')
    assert content.strict_decoding("v1", "Pod", pod, "Warn") == ['unknown field "spec.containers[0].imagePullPolice"']
    assert content.strict_decoding("v1", "Pod", pod, "Ignore") == []


def test_every_type_and_field_is_described_for_kubectl_explain():
    undescribed = [s.short_name for s in apitypes.structs().values() if not s.description]
    undescribed += [f"{s.short_name}.{f.name}" for s in apitypes.structs().values() for f in s.fields
                    if f.name != apitypes.INLINE and not f.description]
    assert undescribed == []
