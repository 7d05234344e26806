"""Types of the smaller groups: ``coordination.k8s.io/v1`` (leases), ``scheduling.k8s.io/v1``
(priority classes), ``policy/v1`` (evictions) and ``autoscaling/v1`` (the scale subresource).

The format is described in :mod:`apiserver.apitypes`.
"""

SCHEMA = """
@ io.k8s.api.coordination.v1
Lease
| A lease: who holds it and until when. Components use leases for leader election and kubelets for their heartbeats.
  apiVersion  string      - The versioned schema of this object, such as v1 or apps/v1. Servers convert recognized
    | schemas to the latest internal value.
  kind        string      - The REST resource type this object represents, in CamelCase, such as Pod. Clients may
    | send it; servers set it.
  metadata    ObjectMeta  #1 Standard object metadata: name, namespace, labels, annotations and the fields the
    | server maintains.
  spec        LeaseSpec   #2 Who holds the lease and for how long.

LeaseSpec
| The state of a lease.
  holderIdentity        *string     #1 The identity of the current holder.
  leaseDurationSeconds  *int32      #2 How long candidates must wait after the last renewal before they may take the
    | lease.
  acquireTime           *MicroTime  #3 When the current holder acquired the lease.
  renewTime             *MicroTime  #4 When the holder last renewed the lease.
  leaseTransitions      *int32      #5 How many times the lease changed holders.
  strategy              *string     #6 The strategy used to pick the next holder (coordinated leader election).
  preferredHolder       *string     #7 The holder that should take the lease next (coordinated leader election).

@ io.k8s.api.scheduling.v1
PriorityClass
| Maps a priority class name to a priority value. Pods name a class in priorityClassName; the scheduler places and
| preempts by the value.
  apiVersion        string                              - The versioned schema of this object, such as v1 or
    | apps/v1. Servers convert recognized schemas to the latest internal value.
  kind              string                              - The REST resource type this object represents, in
    | CamelCase, such as Pod. Clients may send it; servers set it.
  metadata          ObjectMeta                          #1 Standard object metadata: name, namespace, labels,
    | annotations and the fields the server maintains.
  value             int32!                              #2 The priority of pods of this class: higher runs first and
    | may preempt lower.
  globalDefault     bool                                #3 When true, pods that name no class get this one. At most
    | one class may be the default.
  description       string                              #4 What the class is for.
  preemptionPolicy  *string=Never|PreemptLowerPriority  #5 Whether pods of this class may preempt lower-priority
    | pods: PreemptLowerPriority (the default) or Never.

@ io.k8s.api.policy.v1
Eviction
| A request to evict a pod: a delete that respects disruption budgets. Posted to the pod's eviction subresource.
  apiVersion     string          - The versioned schema of this object, such as v1 or apps/v1. Servers convert
    | recognized schemas to the latest internal value.
  kind           string          - The REST resource type this object represents, in CamelCase, such as Pod. Clients
    | may send it; servers set it.
  metadata       ObjectMeta      #1 The name and namespace of the pod to evict.
  deleteOptions  *DeleteOptions  #2 How the pod is deleted.

@ io.k8s.api.autoscaling.v1
Scale
| The scale subresource of a workload: the replicas wanted and seen.
  apiVersion  string       - The versioned schema of this object, such as v1 or apps/v1. Servers convert recognized
    | schemas to the latest internal value.
  kind        string       - The REST resource type this object represents, in CamelCase, such as Pod. Clients may
    | send it; servers set it.
  metadata    ObjectMeta   #1 Standard object metadata: name, namespace, labels, annotations and the fields the
    | server maintains.
  spec        ScaleSpec    #2 The number of replicas wanted.
  status      ScaleStatus  #3 The number of replicas seen and the selector that finds them.

ScaleSpec
| The desired scale.
  replicas  int32  #1 The desired number of replicas.

ScaleStatus
| The observed scale.
  replicas  int32!  #1 The number of replicas seen.
  selector  string  #2 The label selector of the pods, in its string form (app=web).
"""
