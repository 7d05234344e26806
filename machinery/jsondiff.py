"""The difference between two JSON documents as an RFC 6902 JSON Patch (what a step changed).

``diff({"a": 1}, {"a": 2, "b": [1]})`` → ``[{"op": "replace", "path": "/a", "value": 2},
{"op": "add", "path": "/b", "value": [1]}]``. Objects are compared key by key; a list that grew
at its end gets one ``add`` per new item, any other list change replaces the list (admission
plugins append tolerations and volumes; they rarely reorder). Applying the patch to ``before``
gives ``after``. Keys are escaped as RFC 6901 says (``~`` → ``~0``, ``/`` → ``~1``).
"""

from __future__ import annotations


def escape(key) -> str:
    return str(key).replace("~", "~0").replace("/", "~1")


def diff(before, after, path: str = "") -> list[dict]:
    if before == after:
        return []
    if isinstance(before, dict) and isinstance(after, dict):
        ops: list[dict] = []
        for key in before:
            if key not in after:
                ops.append({"op": "remove", "path": f"{path}/{escape(key)}"})
        for key, value in after.items():
            if key not in before:
                ops.append({"op": "add", "path": f"{path}/{escape(key)}", "value": value})
            else:
                ops.extend(diff(before[key], value, f"{path}/{escape(key)}"))
        return ops
    if isinstance(before, list) and isinstance(after, list):
        if len(after) > len(before) and after[:len(before)] == before:
            return [{"op": "add", "path": f"{path}/{i}", "value": v} for i, v in enumerate(after[len(before):],
                                                                                     start=len(before))]
        if len(after) == len(before):
            ops = []
            for i, (b, a) in enumerate(zip(before, after, strict=True)):
                ops.extend(diff(b, a, f"{path}/{i}"))
            return ops
    return [{"op": "replace", "path": path, "value": after}]
