"""What the workload controllers share: owner references, pod health, listers, expectations,
claiming (adopt/release), slow-start batches and the pod deletion order.

These are the pieces of kube-controller-manager's ``pkg/controller/controller_utils.go`` and
``controller_ref_manager.go`` that every workload controller needs:

- :class:`Lister`: an informer's cache with a namespace index, so a controller reads the pods
  of one namespace without scanning the whole cluster;
- :class:`Expectations`: how many creations and which deletions a controller is still waiting
  to *see* in its cache. While they are pending it does not act on the cache again, so a burst
  of informer lag never makes it create (or delete) twice;
- :func:`claim`: a controller owns the objects whose controller reference names it; it adopts
  matching orphans (after checking, with a fresh read, that it is not itself being deleted) and
  releases the objects whose labels stopped matching;
- :func:`slow_start_batch`: creations in batches of 1, 2, 4, … so a failing template (quota,
  admission) costs one request instead of hundreds;
- :func:`deletion_order`: which pods to remove first when scaling down (unscheduled, pending,
  not ready, colocated, recently ready, restarting, newest).
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from machinery import errors, meta
from machinery.client import APIClient
from machinery.informer import Handlers, Informer
from machinery.labels import Selector, SelectorError, selector_from_label_selector

log = logging.getLogger(__name__)

# Kubernetes' BurstReplicas: at most this many creations or deletions per sync.
BURST_REPLICAS = 500
# Kubernetes' SlowStartInitialBatchSize.
SLOW_START_INITIAL_BATCH = 1
# Expectations older than this are considered met anyway (Kubernetes' ExpectationsTimeout).
EXPECTATIONS_TIMEOUT_S = 300.0
# Concurrent requests in one slow-start batch.
MAX_BATCH_THREADS = 16
TERMINAL_PHASES = ("Succeeded", "Failed")
DELETION_COST = "controller.kubernetes.io/pod-deletion-cost"


# --- owner references -------------------------------------------------------------------------


def owner_ref(owner: dict, *, controller: bool = True) -> dict:
    """The ownerReference a controller puts on what it creates (blockOwnerDeletion like Kubernetes)."""
    ref = {"apiVersion": owner["apiVersion"], "kind": owner["kind"], "name": owner["metadata"]["name"],
           "uid": owner["metadata"]["uid"]}
    if controller:
        ref.update(controller=True, blockOwnerDeletion=True)
    return ref


def controller_ref(obj: dict) -> dict | None:
    """The ownerReference with ``controller: true``, if any."""
    for ref in (obj.get("metadata") or {}).get("ownerReferences") or []:
        if isinstance(ref, dict) and ref.get("controller"):
            return ref
    return None


def controlled_by(obj: dict, owner: dict) -> bool:
    ref = controller_ref(obj)
    return ref is not None and ref.get("uid") == owner["metadata"].get("uid")


def resolve_owner(ref: dict | None, kind: str, lister: Lister, namespace: str) -> dict | None:
    """The cached owner a controller reference points at, when it is of ``kind`` and the uid matches."""
    if not ref or ref.get("kind") != kind:
        return None
    owner = lister.get(f"{namespace}/{ref.get('name')}")
    if owner is None or owner["metadata"].get("uid") != ref.get("uid"):
        return None
    return owner


def labels_of(obj: dict) -> dict:
    return (obj.get("metadata") or {}).get("labels") or {}


def selector_of(obj: dict) -> Selector:
    """``spec.selector`` as a Selector; a missing, empty or broken selector selects nothing here,
    as for Kubernetes controllers (an empty selector must never claim the whole namespace)."""
    raw = (obj.get("spec") or {}).get("selector")
    if not raw:
        return Selector.nothing()
    try:
        selector = selector_from_label_selector(raw)
    except SelectorError:
        return Selector.nothing()
    return Selector.nothing() if selector.empty else selector


def namespace_terminating(error: Exception | None) -> bool:
    """The apiserver refused a create because the namespace is going away: nothing to retry."""
    return isinstance(error, errors.Forbidden) and "being terminated" in str(error)


def being_deleted(obj: dict) -> bool:
    return bool((obj.get("metadata") or {}).get("deletionTimestamp"))


# --- pod health -------------------------------------------------------------------------------


def pod_phase(pod: dict) -> str:
    return (pod.get("status") or {}).get("phase") or "Pending"


def is_pod_active(pod: dict) -> bool:
    """Not finished and not being deleted (Kubernetes' IsPodActive)."""
    return pod_phase(pod) not in TERMINAL_PHASES and not being_deleted(pod)


def is_pod_ready(pod: dict) -> bool:
    cond = meta.condition(pod, "Ready")
    return bool(cond and cond.get("status") == "True")


def ready_since(pod: dict) -> dt.datetime | None:
    cond = meta.condition(pod, "Ready")
    if not cond or cond.get("status") != "True":
        return None
    return meta.parse_time(cond.get("lastTransitionTime"))


def is_pod_available(pod: dict, min_ready_s: int, now: dt.datetime) -> bool:
    """Ready for at least ``min_ready_s`` (Kubernetes' IsPodAvailable)."""
    if not is_pod_ready(pod):
        return False
    if not min_ready_s:
        return True
    since = ready_since(pod)
    return since is not None and since + dt.timedelta(seconds=min_ready_s) <= now


def seconds_until_available(pod: dict, min_ready_s: int, now: dt.datetime) -> float | None:
    """For a ready pod not yet available: how long until it is."""
    since = ready_since(pod)
    if since is None or not min_ready_s:
        return None
    left = (since + dt.timedelta(seconds=min_ready_s) - now).total_seconds()
    return left if left > 0 else None


def restart_count(pod: dict) -> int:
    return max([int(s.get("restartCount") or 0) for s in (pod.get("status") or {}).get("containerStatuses") or []
                if isinstance(s, dict)] or [0])


def _timestamp(value) -> float:
    parsed = meta.parse_time(value)
    return parsed.timestamp() if parsed else 0.0


def deletion_order(pods: list[dict]) -> list[dict]:
    """Pods sorted so the ones to delete first come first (Kubernetes' ActivePodsWithRanks).

    Unscheduled before scheduled; Pending before Unknown before Running; not ready before
    ready; lower ``controller.kubernetes.io/pod-deletion-cost`` first; pods sharing a node
    with more of their siblings first; ready for a shorter time first; more restarts first;
    newest first.
    """
    per_node: dict[str, int] = {}
    for pod in pods:
        node = (pod.get("spec") or {}).get("nodeName") or ""
        if node:
            per_node[node] = per_node.get(node, 0) + 1
    phase_rank = {"Pending": 0, "Unknown": 1, "Running": 2}

    def key(pod: dict) -> tuple:
        node = (pod.get("spec") or {}).get("nodeName") or ""
        try:
            cost = int(((pod.get("metadata") or {}).get("annotations") or {}).get(DELETION_COST, "0"))
        except ValueError:
            cost = 0
        since = ready_since(pod)
        return (1 if node else 0, phase_rank.get(pod_phase(pod), 3), 1 if is_pod_ready(pod) else 0, cost,
                -per_node.get(node, 0) if node else 0, -(since.timestamp() if since else float("inf")),
                -restart_count(pod), -_timestamp((pod.get("metadata") or {}).get("creationTimestamp")))

    return sorted(pods, key=key)


# --- listers ----------------------------------------------------------------------------------


class Lister:
    """An informer's cache plus a namespace → keys index, updated on the informer's thread."""

    def __init__(self, informer: Informer):
        self.informer = informer
        self._by_ns: dict[str, set[str]] = {}
        self._lock = threading.Lock()
        informer.add_handlers(Handlers(self._add, lambda old, new: self._add(new), self._delete))

    def _add(self, obj: dict) -> None:
        with self._lock:
            self._by_ns.setdefault(meta.namespace_of(obj), set()).add(meta.key_of(obj))

    def _delete(self, obj: dict) -> None:
        with self._lock:
            keys = self._by_ns.get(meta.namespace_of(obj))
            if keys is not None:
                keys.discard(meta.key_of(obj))
                if not keys:
                    del self._by_ns[meta.namespace_of(obj)]

    def get(self, key: str) -> dict | None:
        return self.informer.get(key)

    def list(self, namespace: str | None = None) -> list[dict]:
        """Every cached object, or those of one namespace."""
        if namespace is None:
            return self.informer.list()
        with self._lock:
            keys = list(self._by_ns.get(namespace, ()))
        return [obj for obj in (self.informer.get(k) for k in keys) if obj is not None]

    def add_handlers(self, handlers: Handlers) -> None:
        self.informer.add_handlers(handlers)


# --- expectations -----------------------------------------------------------------------------


class Expectations:
    """Creations and deletions a controller waits to observe, per controller key.

    ``expect_creations(key, n)`` before creating n objects; each add the informer reports
    calls ``creation_observed``. ``expect_deletions(key, pod_keys)`` before deleting;
    ``deletion_observed`` is idempotent per pod key (a pod is seen going twice: when it gets
    its deletionTimestamp and when it is removed). ``satisfied`` is True when nothing is
    pending, or when the record is older than ``timeout_s`` (a lost event must not wedge a
    controller forever).
    """

    def __init__(self, *, timeout_s: float = EXPECTATIONS_TIMEOUT_S, clock: Callable[[], float] = time.monotonic):
        self.timeout_s = timeout_s
        self._clock = clock
        self._lock = threading.Lock()
        self._records: dict[str, list] = {}  # key -> [adds, set(pending deletions), set_at]

    def expect(self, key: str, creations: int = 0, deletions: list[str] | tuple = ()) -> None:
        """Replace what ``key`` waits for (called before acting, once the old record was met)."""
        with self._lock:
            self._records[key] = [creations, set(deletions), self._clock()]

    def expect_creations(self, key: str, count: int) -> None:
        self.expect(key, creations=count)

    def expect_deletions(self, key: str, pod_keys: list[str]) -> None:
        self.expect(key, deletions=pod_keys)

    def creation_observed(self, key: str, count: int = 1) -> None:
        with self._lock:
            record = self._records.get(key)
            if record is not None:
                record[0] = max(0, record[0] - count)

    def deletion_observed(self, key: str, pod_key: str) -> None:
        with self._lock:
            record = self._records.get(key)
            if record is not None:
                record[1].discard(pod_key)

    def satisfied(self, key: str) -> bool:
        with self._lock:
            record = self._records.get(key)
            if record is None:
                return True
            if record[0] <= 0 and not record[1]:
                return True
            if self._clock() - record[2] > self.timeout_s:
                log.info("expectations of %s expired (%d creations, %d deletions pending)", key, record[0],
                         len(record[1]))
                return True
            return False

    def pending(self, key: str) -> tuple[int, int]:
        with self._lock:
            record = self._records.get(key)
            return (record[0], len(record[1])) if record else (0, 0)

    def forget(self, key: str) -> None:
        with self._lock:
            self._records.pop(key, None)


# --- claiming ---------------------------------------------------------------------------------


def claim(client: APIClient, resource: str, owner: dict, candidates: list[dict], selector: Selector, *,
          owner_resource: str, kind_check: Callable[[dict], bool] | None = None) -> list[dict]:
    """The candidates ``owner`` controls after adopting matching orphans and releasing
    non-matching children (Kubernetes' ClaimObject). ``candidates`` come from a cache and are
    never changed; adopted objects are returned as stored after the adoption."""
    uid = owner["metadata"]["uid"]
    claimed: list[dict] = []
    can_adopt: list[bool] = []  # memo of one fresh read of the owner

    def adoption_allowed() -> bool:
        if not can_adopt:
            try:
                fresh = client.get(owner_resource, owner["metadata"]["name"], meta.namespace_of(owner))
                can_adopt.append(fresh["metadata"].get("uid") == uid and not being_deleted(fresh))
            except errors.NotFound:
                can_adopt.append(False)
        return can_adopt[0]

    for obj in candidates:
        ref = controller_ref(obj)
        matches = selector.matches(labels_of(obj)) and (kind_check is None or kind_check(obj))
        if ref is not None:
            if ref.get("uid") != uid:
                continue
            if matches:
                claimed.append(obj)
            elif not being_deleted(owner):
                release(client, resource, obj, uid)
            continue
        if not matches or being_deleted(owner) or being_deleted(obj) or not adoption_allowed():
            continue
        adopted = adopt(client, resource, obj, owner)
        if adopted is not None:
            claimed.append(adopted)
    return claimed


def adopt(client: APIClient, resource: str, obj: dict, owner: dict) -> dict | None:
    """Add ``owner`` as controller of ``obj`` unless someone controls it meanwhile."""
    uid = obj["metadata"].get("uid")

    def change(fresh: dict) -> bool:
        if fresh["metadata"].get("uid") != uid or controller_ref(fresh) is not None or being_deleted(fresh):
            return False
        refs = [r for r in fresh["metadata"].get("ownerReferences") or []
                if r.get("uid") != owner["metadata"]["uid"]]
        fresh["metadata"]["ownerReferences"] = refs + [owner_ref(owner)]
        return True

    stored = client.mutate(resource, meta.name_of(obj), meta.namespace_of(obj), change)
    if stored is not None:
        log.info("%s %s adopted by %s %s", resource, meta.key_of(obj), owner["kind"], meta.key_of(owner))
    return stored


def release(client: APIClient, resource: str, obj: dict, owner_uid: str) -> dict | None:
    """Remove the ownerReference to ``owner_uid`` from ``obj``."""
    uid = obj["metadata"].get("uid")

    def change(fresh: dict) -> bool:
        refs = fresh["metadata"].get("ownerReferences") or []
        if fresh["metadata"].get("uid") != uid or not any(r.get("uid") == owner_uid for r in refs):
            return False
        kept = [r for r in refs if r.get("uid") != owner_uid]
        if kept:
            fresh["metadata"]["ownerReferences"] = kept
        else:
            fresh["metadata"].pop("ownerReferences", None)
        return True

    stored = client.mutate(resource, meta.name_of(obj), meta.namespace_of(obj), change)
    if stored is not None:
        log.info("%s %s released (its labels no longer match its owner)", resource, meta.key_of(obj))
    return stored


# --- creating ---------------------------------------------------------------------------------


def slow_start_batch(count: int, fn: Callable[[], None], *, initial: int = SLOW_START_INITIAL_BATCH
                     ) -> tuple[int, Exception | None]:
    """Call ``fn`` ``count`` times in batches of 1, 2, 4, …; stop after a batch with a failure.

    Returns (successes, the first error). Calls in a batch run concurrently.
    """
    remaining, successes, batch = count, 0, min(count, initial)
    while batch > 0:
        failures: list[Exception] = []
        if batch == 1:
            try:
                fn()
            except Exception as e:  # noqa: BLE001 - reported to the caller
                failures.append(e)
        else:
            with ThreadPoolExecutor(max_workers=min(batch, MAX_BATCH_THREADS)) as pool:
                for future in [pool.submit(fn) for _ in range(batch)]:
                    error = future.exception()
                    if error is not None:
                        failures.append(error)
        successes += batch - len(failures)
        if failures:
            return successes, failures[0]
        remaining -= batch
        batch = min(2 * batch, remaining)
    return successes, None


def pod_name_prefix(owner_name: str) -> str:
    """``<owner>-`` for generateName, shortened so the generated name stays within 63 characters."""
    return f"{owner_name[:57]}-"


def pod_from_template(template: dict, owner: dict, *, name: str = "", generate_name: str = "",
                      extra_labels: dict | None = None) -> dict:
    """A Pod object for ``template`` (a PodTemplateSpec), controlled by ``owner``."""
    t = meta.deep_copy(template or {})
    tmeta = t.get("metadata") or {}
    metadata: dict = {"namespace": meta.namespace_of(owner), "ownerReferences": [owner_ref(owner)]}
    labels = {**(tmeta.get("labels") or {}), **(extra_labels or {})}
    if labels:
        metadata["labels"] = labels
    for field in ("annotations", "finalizers"):
        if tmeta.get(field):
            metadata[field] = tmeta[field]
    if name:
        metadata["name"] = name
    else:
        metadata["generateName"] = generate_name or pod_name_prefix(meta.name_of(owner))
    return {"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": t.get("spec") or {}}


# --- numbers ----------------------------------------------------------------------------------


def int_or_percent(value, total: int, *, round_up: bool, default=None) -> int:
    """Kubernetes' GetScaledValueFromIntOrPercent: ``2`` → 2, ``"25%"`` of 10 → 3 (up) or 2 (down)."""
    if value is None:
        value = default
    if value is None:
        return 0
    if isinstance(value, bool):
        raise ValueError(f"invalid value for IntOrString: {value!r}")
    if isinstance(value, int):
        return value
    text = str(value).strip()
    if text.endswith("%"):
        try:
            percent = int(text[:-1])
        except ValueError:
            raise ValueError(f"invalid value for IntOrString: invalid value {text!r}") from None
        scaled = percent * total
        return -(-scaled // 100) if round_up else scaled // 100
    try:
        return int(text)
    except ValueError:
        raise ValueError("invalid value for IntOrString: invalid type: string is not a percentage") from None


def replicas_of(obj: dict, default: int = 1) -> int:
    value = (obj.get("spec") or {}).get("replicas")
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def write_status(client: APIClient, resource: str, obj: dict, status: dict,
                 annotations: dict | None = None) -> dict | None:
    """Store ``status`` (and ``annotations`` changes, which apps status updates may carry) unless
    they are already what ``obj`` has; on a Conflict retry on a fresh copy."""
    current_ann = (obj.get("metadata") or {}).get("annotations") or {}
    wanted_ann = current_ann if annotations is None else annotations
    if obj.get("status") == status and current_ann == wanted_ann:
        return None
    body = meta.deep_copy(obj)
    body["status"] = status
    if annotations is not None:
        body["metadata"]["annotations"] = annotations
    try:
        return client.update_status(resource, body)
    except errors.Conflict:
        def change(fresh: dict) -> bool:
            if fresh["metadata"].get("uid") != obj["metadata"].get("uid"):
                return False
            fresh["status"] = status
            if annotations is not None:
                merged = dict(fresh["metadata"].get("annotations") or {})
                for k in set(current_ann) - set(annotations):
                    merged.pop(k, None)
                merged.update(annotations)
                fresh["metadata"]["annotations"] = merged
            return True

        return client.mutate(resource, meta.name_of(obj), meta.namespace_of(obj), change, status=True)
    except errors.NotFound:
        return None


# --- hashing ----------------------------------------------------------------------------------

_SAFE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"


def fnv32a(data: bytes) -> int:
    h = 0x811C9DC5
    for byte in data:
        h ^= byte
        h = (h * 0x01000193) & 0xFFFFFFFF
    return h


def safe_encode(text: str) -> str:
    """Kubernetes' rand.SafeEncodeString: no vowels, no 0/1/3, so a hash never spells a word."""
    return "".join(_SAFE_ALPHABET[ord(c) % len(_SAFE_ALPHABET)] for c in text)


def object_hash(value, collision_count: int | None = None) -> str:
    """A short, stable, DNS-safe hash of a JSON value, like ``pod-template-hash`` values.

    FNV-32a over canonical JSON (Kubernetes hashes a deep print of the Go struct; the shape
    is the same: ten characters at most from the safe alphabet), with the collision count
    mixed in as little-endian uint32 when set, so a collision picks a new name.
    """
    import json

    data = json.dumps(value, sort_keys=True, separators=(",", ":")).encode()
    if collision_count:
        data += int(collision_count).to_bytes(4, "little")
    return safe_encode(str(fnv32a(data)))
