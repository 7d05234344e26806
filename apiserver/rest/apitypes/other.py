"""Types of the smaller groups: ``coordination.k8s.io/v1`` (leases), ``scheduling.k8s.io/v1``
(priority classes), ``policy/v1`` (evictions) and ``autoscaling/v1`` (the scale subresource).

The format is described in :mod:`apiserver.rest.apitypes`.
"""

SCHEMA = """
@ io.k8s.api.coordination.v1
Lease
|
  apiVersion  string      -
  kind        string      -
  metadata    ObjectMeta  #1
  spec        LeaseSpec   #2

LeaseSpec
|
  holderIdentity        *string     #1
  leaseDurationSeconds  *int32      #2
  acquireTime           *MicroTime  #3
  renewTime             *MicroTime  #4
  leaseTransitions      *int32      #5
  strategy              *string     #6
  preferredHolder       *string     #7

@ io.k8s.api.scheduling.v1
PriorityClass
|
  apiVersion        string      -
  kind              string      -
  metadata          ObjectMeta  #1
  value             int32!      #2
  globalDefault     bool        #3
  description       string      #4
  preemptionPolicy  *string     #5

@ io.k8s.api.policy.v1
Eviction
|
  apiVersion     string          -
  kind           string          -
  metadata       ObjectMeta      #1
  deleteOptions  *DeleteOptions  #2

@ io.k8s.api.autoscaling.v1
Scale
|
  apiVersion  string       -
  kind        string       -
  metadata    ObjectMeta   #1
  spec        ScaleSpec    #2
  status      ScaleStatus  #3

ScaleSpec
|
  replicas  int32  #1

ScaleStatus
|
  replicas  int32!  #1
  selector  string  #2
"""
