"""The JSON types of written objects (apiserver/typecheck.py): what kube-apiserver's decoder refuses
is refused in its words, with the field named; what it accepts, and what it treats as unset, is
accepted the same way."""

from __future__ import annotations

import copy

import pytest
import yaml

from apiserver import apitypes
from apiserver.typecheck import check_types
from machinery import errors
from machinery.resources import RESOURCES


def pod(container: dict | None = None, **spec) -> dict:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
            "spec": {"containers": [{"name": "c", "image": "nginx", **(container or {})}], **spec}}


def refusal(api_version: str, kind: str, obj: dict) -> errors.BadRequest:
    with pytest.raises(errors.BadRequest) as info:
        check_types(api_version, kind, obj)
    return info.value


def test_a_boolean_env_name_from_yaml_is_refused_in_kubernetes_words():
    manifest = yaml.safe_load("""
apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  containers:
  - name: c
    image: nginx
    env:
    - name: A
      value: "1"
    - name: yes
""")
    e = refusal("v1", "Pod", manifest)
    assert e.message == ('Pod in version "v1" cannot be handled as a Pod: json: cannot unmarshal bool into Go '
                         "struct field EnvVar.spec.containers.env.name of type string")
    assert e.http_code == 400
    assert [(c.field, c.reason) for c in e.causes] == [("spec.containers[0].env[1].name", "FieldValueTypeInvalid")]


@pytest.mark.parametrize("obj, kind, api_version, expected", [
    ({"metadata": {"name": "p"}, "spec": "x"}, "Pod", "v1",
     "cannot unmarshal string into Go struct field Pod.spec of type v1.PodSpec"),
    (pod() | {"spec": {"containers": {"name": "c"}}}, "Pod", "v1",
     "cannot unmarshal object into Go struct field PodSpec.spec.containers of type []v1.Container"),
    (pod() | {"spec": {"containers": ["c"]}}, "Pod", "v1",
     "cannot unmarshal string into Go struct field PodSpec.spec.containers of type v1.Container"),
    (pod({"args": ["a", 1]}), "Pod", "v1",
     "cannot unmarshal number into Go struct field Container.spec.containers.args of type string"),
    (pod({"ports": [{"containerPort": "80"}]}), "Pod", "v1",
     "cannot unmarshal string into Go struct field ContainerPort.spec.containers.ports.containerPort of type int32"),
    (pod({"ports": [{"containerPort": 80.5}]}), "Pod", "v1",
     "cannot unmarshal number 80.5 into Go struct field ContainerPort.spec.containers.ports.containerPort of "
     "type int32"),
    (pod({"ports": [{"containerPort": 2**31}]}), "Pod", "v1",
     "cannot unmarshal number 2147483648 into Go struct field ContainerPort.spec.containers.ports.containerPort "
     "of type int32"),
    (pod(terminationGracePeriodSeconds=True), "Pod", "v1",
     "cannot unmarshal bool into Go struct field PodSpec.spec.terminationGracePeriodSeconds of type int64"),
    (pod(hostNetwork="true"), "Pod", "v1",
     "cannot unmarshal string into Go struct field PodSpec.spec.hostNetwork of type bool"),
    (pod(nodeSelector={"disk": 1}), "Pod", "v1",
     "cannot unmarshal number into Go struct field PodSpec.spec.nodeSelector of type string"),
    (pod(nodeSelector=["disk"]), "Pod", "v1",
     "cannot unmarshal array into Go struct field PodSpec.spec.nodeSelector of type map[string]string"),
    (pod({"resources": {"limits": {"cpu": True}}}), "Pod", "v1",
     "cannot unmarshal bool into Go struct field ResourceRequirements.spec.containers.resources.limits of type "
     "resource.Quantity"),
    (pod({"resources": {"limits": "1"}}), "Pod", "v1",
     "cannot unmarshal string into Go struct field ResourceRequirements.spec.containers.resources.limits of type "
     "v1.ResourceList"),
    (pod({"livenessProbe": {"httpGet": {"port": [80]}}}), "Pod", "v1",
     "cannot unmarshal array into Go struct field HTTPGetAction.spec.containers.livenessProbe.httpGet.port of "
     "type int32"),
    (pod(volumes=[{"name": "v", "emptyDir": []}]), "Pod", "v1",  # an embedded struct's field: Volume's
     "cannot unmarshal array into Go struct field Volume.spec.volumes.emptyDir of type v1.EmptyDirVolumeSource"),
    ({"metadata": {"name": "p", "labels": {"version": 1.0}}}, "Pod", "v1",
     "cannot unmarshal number into Go struct field ObjectMeta.metadata.labels of type string"),
    ({"metadata": {"name": "p", "creationTimestamp": 5}}, "Pod", "v1",
     "cannot unmarshal number into Go struct field ObjectMeta.metadata.creationTimestamp of type string"),
    ({"spec": {"replicas": "3"}}, "Deployment", "apps/v1",
     "cannot unmarshal string into Go struct field DeploymentSpec.spec.replicas of type int32"),
    ({"spec": {"template": {"spec": {"containers": [{"name": "c", "env": [{"name": "A", "value": 8080}]}]}}}},
     "Deployment", "apps/v1",
     "cannot unmarshal number into Go struct field EnvVar.spec.template.spec.containers.env.value of type string"),
    ({"spec": {"leaseDurationSeconds": 15.5}}, "Lease", "coordination.k8s.io/v1",
     "cannot unmarshal number 15.5 into Go struct field LeaseSpec.spec.leaseDurationSeconds of type int32"),
    ({"subjects": [{"kind": "User", "name": 7}]}, "RoleBinding", "rbac.authorization.k8s.io/v1",
     "cannot unmarshal number into Go struct field Subject.subjects.name of type string"),
])
def test_wrong_json_types_are_refused_naming_the_go_field(obj, kind, api_version, expected):
    e = refusal(api_version, kind, obj)
    version = api_version.split("/")[-1]
    assert e.message == f'{kind} in version "{version}" cannot be handled as a {kind}: json: {expected}'


def test_only_the_first_mismatch_in_document_order_is_reported():
    e = refusal("v1", "Pod", pod({"name": 1, "image": 2}, restartPolicy=3))
    assert [c.field for c in e.causes] == ["spec.containers[0].name"]


def test_values_kubernetes_accepts_are_accepted():
    accepted = pod({"resources": {"limits": {"cpu": 1, "memory": "1Gi"}, "requests": {"cpu": 0.5}},
                    "ports": [{"containerPort": 80}],
                    "livenessProbe": {"httpGet": {"port": "http"}, "periodSeconds": 10},
                    "readinessProbe": {"tcpSocket": {"port": 8080}}},
                   activeDeadlineSeconds=2**40)
    accepted["metadata"]["creationTimestamp"] = "2026-11-25T08:40:02.123+01:00"
    before = copy.deepcopy(accepted)
    check_types("v1", "Pod", accepted)
    assert accepted == before


def test_integral_floats_become_integers_as_kubectl_sends_them():
    obj = {"spec": {"replicas": 3.0, "template": {"spec": {"containers": [{"name": "c",
                                                                          "ports": [{"containerPort": 80.0}]}]}}}}
    check_types("apps/v1", "Deployment", obj)
    replicas, port = obj["spec"]["replicas"], obj["spec"]["template"]["spec"]["containers"][0]["ports"][0]
    assert replicas == 3 and type(replicas) is int
    assert type(port["containerPort"]) is int


def test_null_is_unset_fields_go_and_items_become_zero_values():
    obj = pod({"env": [None], "args": [None, "x"], "resources": {"limits": {"cpu": None}}},
              nodeName=None, nodeSelector={"disk": None})
    obj["status"] = None
    obj["metadata"]["creationTimestamp"] = None
    check_types("v1", "Pod", obj)
    assert "status" not in obj and "creationTimestamp" not in obj["metadata"] and "nodeName" not in obj["spec"]
    container = obj["spec"]["containers"][0]
    assert container["env"] == [{}] and container["args"] == ["", "x"]
    assert container["resources"]["limits"] == {"cpu": "0"}
    assert obj["spec"]["nodeSelector"] == {"disk": ""}


def test_unknown_fields_and_free_form_json_are_not_type_checked():
    obj = pod({"imagePullPolice": 5})
    obj["metadata"]["managedFields"] = [{"manager": "m", "fieldsV1": {"f:spec": {"any": [1, True]}}}]
    check_types("v1", "Pod", obj)
    event = {"involvedObject": {"kind": "Pod"}, "count": 2, "eventTime": "2026-11-25T08:40:02.123456Z"}
    check_types("v1", "Event", event)
    check_types("v1", "Widget", {"spec": 1})  # no type description: nothing to say


@pytest.mark.parametrize("timestamp", ["yesterday", "2026-02-30T00:00:00Z", "2026-11-25 08:40:02Z",
                                       "2026-11-25T08:40:02", ""])
def test_times_must_be_rfc3339(timestamp):
    e = refusal("v1", "Pod", {"metadata": {"creationTimestamp": timestamp}})
    assert e.causes[0].field == "metadata.creationTimestamp"
    assert f'parsing time "{timestamp}"' in e.message


def test_secret_data_must_be_base64():
    check_types("v1", "Secret", {"data": {"a": "aGVsbG8=", "b": "aGVs\nbG8="}})
    e = refusal("v1", "Secret", {"data": {"ok": "aGVsbG8=", "bad": "not base64!"}})
    assert e.message.endswith("data[bad]: illegal base64 data at input byte 3")
    e = refusal("v1", "Secret", {"data": {"a": 12}})
    assert e.message.endswith("json: cannot unmarshal number into Go struct field Secret.data of type []uint8")


def test_every_type_of_every_served_kind_is_understood():
    """Each element type of the description is one the checker has a rule for (a new special type
    must be taught to it): a fully populated zero object of every kind passes."""
    for info in RESOURCES.values():
        struct = apitypes.for_kind(info.api_version, info.kind)
        check_types(info.api_version, info.kind, _sample(struct, depth=0))


def _sample(struct: apitypes.Struct, depth: int) -> dict:
    samples = {"string": "s", "int32": 1, "int64": 1, "bool": True, "double": 0.5, "bytes": "aGk=",
               "Quantity": "1", "IntOrString": "1", "Time": "2026-01-01T00:00:00Z",
               "MicroTime": "2026-01-01T00:00:00.000000Z", "Duration": "1s", "FieldsV1": {}, "RawExtension": {},
               "StringList": ["a"]}
    out: dict = {}
    for name, field in struct.properties.items():
        if field.type.is_struct:
            if depth > 6:
                continue
            value = _sample(apitypes.struct(field.type.element), depth + 1)
        else:
            assert field.type.element in samples, f"{struct.name}.{name}: {field.type.element}"
            value = samples[field.type.element]
        out[name] = [value] if field.type.container == "list" else {"k": value} if field.type.container == "map" \
            else value
    return out
