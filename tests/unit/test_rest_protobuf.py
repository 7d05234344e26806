"""Kubernetes protobuf request bodies (apiserver/rest/protobuf.py) against hand-built bytes.

The bytes are written here field by field with the numbers of Kubernetes' generated.proto files
(not with kubemu's table), so a wrong number in apiserver/apitypes shows up as a wrong
object."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from apiserver.rest import protobuf

VARINT, LEN = 0, 2


def varint(value: int) -> bytes:
    value &= (1 << 64) - 1
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def num(number: int, value: int) -> bytes:
    return varint(number << 3 | VARINT) + varint(value)


def msg(number: int, *parts: bytes | str) -> bytes:
    payload = b"".join(p.encode() if isinstance(p, str) else p for p in parts)
    return varint(number << 3 | LEN) + varint(len(payload)) + payload


def entry(number: int, key: str, value: bytes | str) -> bytes:
    return msg(number, msg(1, key), value if isinstance(value, bytes) else msg(2, value))


def body(api_version: str, kind: str, raw: bytes) -> bytes:
    return b"k8s\x00" + msg(1, msg(1, api_version), msg(2, kind)) + msg(2, raw) + msg(3, "") + msg(4, "")


def test_a_deployment_of_kubectl_create_deployment():
    metadata = msg(1, msg(1, "web"), msg(2, ""), msg(3, "ns"), num(7, 0), entry(11, "app", "web"), msg(8))
    container = msg(2, msg(1, "nginx"), msg(2, "nginx"), msg(6, msg(1, ""), num(2, 0), num(3, 80), msg(4, "TCP")),
                    msg(8, entry(1, "cpu", msg(2, msg(1, "500m")))), msg(5, ""))
    template = msg(3, msg(1, entry(11, "app", "web"), msg(8)), msg(2, container, num(4, 30), msg(3, "")))
    strategy = msg(4, msg(1, "RollingUpdate"),
                   msg(2, msg(1, num(1, 1), num(2, 0), msg(3, "25%")), msg(2, num(1, 0), num(2, 1))))
    spec = msg(2, num(1, 0), msg(2, entry(1, "app", "web")), template, strategy, num(5, 0))
    obj = protobuf.decode(body("apps/v1", "Deployment", metadata + spec + msg(3)))
    assert obj == {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "ns", "labels": {"app": "web"}},
        "spec": {
            "replicas": 0,  # a pointer: set to zero is not absent
            "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}},
                         "spec": {"containers": [{"name": "nginx", "image": "nginx",
                                                  "ports": [{"containerPort": 80, "protocol": "TCP"}],
                                                  "resources": {"limits": {"cpu": "500m"}}}],
                                  "terminationGracePeriodSeconds": 30}},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": 1}},
        },
    }


def test_times_bytes_negative_numbers_and_inline_structs():
    created = msg(8, num(1, 1_700_000_000), num(2, 0))
    secret = msg(1, msg(1, "s"), created) + entry(2, "key", msg(2, b"\x00\xffhi")) + msg(3, "Opaque") + num(5, 0)
    assert protobuf.decode(body("v1", "Secret", secret)) == {
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "s", "creationTimestamp": "2023-11-14T22:13:20Z"},
        "data": {"key": "AP9oaQ=="}, "type": "Opaque", "immutable": False}
    pod_spec = msg(2, msg(1, msg(1, "cache"), msg(2, msg(2, msg(1, "Memory")))),  # volumes[0]: inline emptyDir
                   msg(2, msg(1, "c")), num(25, -5))
    pod = protobuf.decode(body("v1", "Pod", pod_spec))
    assert pod["spec"] == {"volumes": [{"name": "cache", "emptyDir": {"medium": "Memory"}}],
                           "containers": [{"name": "c"}], "priority": -5}


def test_access_reviews_and_packed_repeated_numbers():
    review = msg(2, msg(1, msg(1, "ns"), msg(2, "create"), msg(3, "apps"), msg(5, "deployments")))
    assert protobuf.decode(body("authorization.k8s.io/v1", "SelfSubjectAccessReview", review)) == {
        "apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
        "spec": {"resourceAttributes": {"namespace": "ns", "verb": "create", "group": "apps",
                                        "resource": "deployments"}}}
    assert protobuf.decode(body("authentication.k8s.io/v1", "SelfSubjectReview", msg(1))) == {
        "apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"}
    # PodSecurityContext.supplementalGroups (#4), packed and unpacked
    packed = msg(2, msg(14, msg(4, varint(1) + varint(2))), msg(2, msg(1, "c")))
    unpacked = msg(2, msg(14, num(4, 1), num(4, 2)), msg(2, msg(1, "c")))
    for raw in (packed, unpacked):
        assert protobuf.decode(body("v1", "Pod", raw))["spec"]["securityContext"] == {"supplementalGroups": [1, 2]}


def test_unknown_field_numbers_are_skipped_like_kubernetes_does():
    obj = protobuf.decode(body("v1", "ConfigMap", msg(1, msg(1, "c"), msg(999, "from a newer client"))
                               + entry(2, "a", "b")))
    assert obj == {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"a": "b"}}


def test_durations_print_like_go():
    assert [protobuf.go_duration(n) for n in (0, 1_500_000_000, 90 * 10**9, 3_723 * 10**9, 150 * 10**6, -10**9)] == \
        ["0s", "1.5s", "1m30s", "1h2m3s", "150ms", "-1s"]


@pytest.mark.parametrize(("raw", "message"), [
    (b'{"kind": "Namespace"}', "does not start with the Kubernetes protobuf prefix"),
    (b"k8s\x00" + b"\x0a", "runs past the end"),
    (b"k8s\x00" + b"\x0a\x05ab", "past the end of the message"),
    (b"k8s\x00" + b"\x0b", "wire type 3"),
    (b"k8s\x00" + b"\x08" + b"\xff" * 11, "longer than 10 bytes"),
    (body("v1", "Frobnicator", b""), 'no kind "Frobnicator" is served in version "v1"'),
    (b"k8s\x00" + msg(2, b""), "does not say its apiVersion and kind"),
    (body("v1", "Namespace", msg(1, num(1, 5))), "metadata.name: a string must be length-delimited"),
    (body("v1", "ConfigMap", msg(1, msg(1, b"\xff\xfe"))), "not valid UTF-8"),
    (b"k8s\x00" + msg(1, msg(1, "v1"), msg(2, "Namespace")) + msg(3, "gzip"), 'content encoding "gzip"'),
])
def test_bad_bodies_are_value_errors_naming_the_problem(raw, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        protobuf.decode(raw)



@settings(max_examples=300, deadline=None)
@given(st.sampled_from([("v1", "Pod"), ("apps/v1", "Deployment"), ("v1", "Secret"), ("batch/v1", "Job"),
                        ("authorization.k8s.io/v1", "SelfSubjectAccessReview")]), st.binary(max_size=300))
def test_any_bytes_decode_or_raise_value_error(kind, raw):
    try:
        obj = protobuf.decode(body(*kind, raw))
    except ValueError:
        return
    assert (obj["apiVersion"], obj["kind"]) == kind
