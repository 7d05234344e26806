"""Types of the workload groups: ``apps/v1`` (deployments, replica sets, stateful sets, daemon sets,
controller revisions) and ``batch/v1`` (jobs).

The format is described in :mod:`apiserver.apitypes`.
"""

SCHEMA = """
@ io.k8s.api.apps.v1
ReplicaSet
| Keeps a number of identical pods running: it creates pods from its template until the number that match its
| selector is the number wanted. Usually managed by a deployment.
  apiVersion  string            - The versioned schema of this object, such as v1 or apps/v1. Servers convert
    | recognized schemas to the latest internal value.
  kind        string            - The REST resource type this object represents, in CamelCase, such as Pod. Clients
    | may send it; servers set it.
  metadata    ObjectMeta        #1 Standard object metadata: name, namespace, labels, annotations and the fields the
    | server maintains.
  spec        ReplicaSetSpec    #2 The pods wanted: how many, and their template.
  status      ReplicaSetStatus  #3 The pods seen, as the controller last counted them. Read-only.

ReplicaSetSpec
| The desired state of a replica set.
  replicas         *int32           #1 How many pods are wanted. Defaults to 1.
  minReadySeconds  int32            #4 How long a new pod must be ready, with no container crashing, before it
    | counts as available. Defaults to 0.
  selector         *LabelSelector!  #2 Selects the pods the replica set counts; it must match the template's labels.
  template         PodTemplateSpec  #3 The pod created when there are too few.

ReplicaSetStatus
| The observed state of a replica set.
  replicas              int32!                 #1 How many pods match the selector.
  fullyLabeledReplicas  int32                  #2 How many pods have every label of the template.
  readyReplicas         int32                  #4 How many pods are ready.
  availableReplicas     int32                  #5 How many pods have been ready for at least minReadySeconds.
  observedGeneration    int64                  #3 The generation of the spec the controller last acted on.
  conditions            []ReplicaSetCondition  #6 The latest observations of the replica set's state.

ReplicaSetCondition
| One observation of a replica set's state.
  type                string!  #1 The kind of condition.
  status              string!  #2 Whether the condition holds: True, False or Unknown.
  lastTransitionTime  Time     #3 When the status last changed.
  reason              string   #4 A one-word CamelCase reason for the last transition.
  message             string   #5 A human-readable account of the last transition.

Deployment
| Declares pods and how to roll out changes to them: it manages replica sets, one per version of the pod template,
| scaling the new one up and the old ones down.
  apiVersion  string            - The versioned schema of this object, such as v1 or apps/v1. Servers convert
    | recognized schemas to the latest internal value.
  kind        string            - The REST resource type this object represents, in CamelCase, such as Pod. Clients
    | may send it; servers set it.
  metadata    ObjectMeta        #1 Standard object metadata: name, namespace, labels, annotations and the fields the
    | server maintains.
  spec        DeploymentSpec    #2 The pods wanted and how to replace them.
  status      DeploymentStatus  #3 The rollout as the controller last saw it. Read-only.

DeploymentSpec
| The desired state of a deployment.
  replicas                 *int32              #1 How many pods are wanted. Defaults to 1.
  selector                 *LabelSelector!     #2 Selects the deployment's pods; it must match the template's labels
    | and cannot change (apps/v1).
  template                 PodTemplateSpec!    #3 The pods to run. Changing it starts a rollout.
  strategy                 DeploymentStrategy  #4 How old pods are replaced by new ones.
  minReadySeconds          int32               #5 How long a new pod must be ready, with no container crashing,
    | before it counts as available. Defaults to 0.
  revisionHistoryLimit     *int32              #6 How many old replica sets are kept for rollbacks. Defaults to 10.
  paused                   bool                #7 When true, template changes do not start a rollout.
  progressDeadlineSeconds  *int32              #9 How long a rollout may go without progress before the deployment
    | reports it as failed (condition Progressing, reason ProgressDeadlineExceeded). Defaults to 600.

DeploymentStrategy
| How a deployment replaces old pods with new ones.
  type           string=Recreate|RollingUpdate  #1 Recreate (delete every old pod first) or RollingUpdate (replace
    | them gradually). Defaults to RollingUpdate.
  rollingUpdate  *RollingUpdateDeployment       #2 The pace of a rolling update; only with type RollingUpdate.

RollingUpdateDeployment
| How fast a rolling update goes.
  maxUnavailable  *IntOrString  #1 How many of the wanted pods may be unavailable during the update: a number or a
    | percentage (rounded down). Defaults to 25%. Cannot be 0 when maxSurge is 0.
  maxSurge        *IntOrString  #2 How many pods may be created above the wanted number during the update: a number
    | or a percentage (rounded up). Defaults to 25%.

DeploymentStatus
| The observed state of a deployment.
  observedGeneration   int64                  #1 The generation of the spec the controller last acted on.
  replicas             int32                  #2 How many pods the deployment's replica sets have.
  updatedReplicas      int32                  #3 How many pods have the current template.
  readyReplicas        int32                  #7 How many pods are ready.
  availableReplicas    int32                  #4 How many pods have been ready for at least minReadySeconds.
  unavailableReplicas  int32                  #5 How many wanted pods are not available yet.
  conditions           []DeploymentCondition  #6 The latest observations of the rollout (Available, Progressing).
  collisionCount       *int32                 #8 Counts hash collisions of the template's hash, used to name the
    | next replica set.

DeploymentCondition
| One observation of a deployment's state.
  type                string!  #1 The kind of condition.
  status              string!  #2 Whether the condition holds: True, False or Unknown.
  lastUpdateTime      Time     #6 When the condition was last updated.
  lastTransitionTime  Time     #7 When the status last changed.
  reason              string   #4 A one-word CamelCase reason for the last transition.
  message             string   #5 A human-readable account of the last transition.

StatefulSet
| Runs pods with stable identities: pod-0, pod-1, … each with its own volume claims, created and updated in order.
  apiVersion  string             - The versioned schema of this object, such as v1 or apps/v1. Servers convert
    | recognized schemas to the latest internal value.
  kind        string             - The REST resource type this object represents, in CamelCase, such as Pod. Clients
    | may send it; servers set it.
  metadata    ObjectMeta         #1 Standard object metadata: name, namespace, labels, annotations and the fields
    | the server maintains.
  spec        StatefulSetSpec    #2 The pods wanted, their identity and how they are updated.
  status      StatefulSetStatus  #3 The pods as the controller last saw them. Read-only.

StatefulSetSpec
| The desired state of a stateful set.
  replicas                              *int32                                            #1 How many pods are
    | wanted. Defaults to 1.
  selector                              *LabelSelector!                                   #2 Selects the stateful
    | set's pods; it must match the template's labels.
  template                              PodTemplateSpec!                                  #3 The pods to run; each
    | gets the name <set>-<ordinal>.
  volumeClaimTemplates                  []PersistentVolumeClaim                           #4 Claims each pod gets
    | its own copy of, named <claim>-<pod>.
  serviceName                           string!                                           #5 The headless service
    | that gives the pods their network identity.
  podManagementPolicy                   string=OrderedReady|Parallel                      #6 OrderedReady (create
    | and delete one pod at a time, in order, each ready before the next) or Parallel. Defaults to OrderedReady.
  updateStrategy                        StatefulSetUpdateStrategy                         #7 How pods are replaced
    | when the template changes.
  revisionHistoryLimit                  *int32                                            #8 How many old revisions
    | are kept. Defaults to 10.
  minReadySeconds                       int32                                             #9 How long a new pod must
    | be ready before it counts as available. Defaults to 0.
  persistentVolumeClaimRetentionPolicy  *StatefulSetPersistentVolumeClaimRetentionPolicy  #10 What happens to the
    | pods' volume claims when the set is deleted or scaled down.
  ordinals                              *StatefulSetOrdinals                              #11 Where the pods'
    | ordinals start.

StatefulSetUpdateStrategy
| How a stateful set replaces pods when its template changes.
  type           string=OnDelete|RollingUpdate      #1 RollingUpdate (replace pods one at a time, highest ordinal
    | first) or OnDelete (replace a pod only when it is deleted). Defaults to RollingUpdate.
  rollingUpdate  *RollingUpdateStatefulSetStrategy  #2 The parameters of a rolling update.

RollingUpdateStatefulSetStrategy
| The parameters of a stateful set's rolling update.
  partition       *int32        #1 Only pods with an ordinal at least this are updated (a staged rollout). Defaults
    | to 0.
  maxUnavailable  *IntOrString  #2 How many pods may be unavailable during the update: a number or a percentage.
    | Defaults to 1.

StatefulSetPersistentVolumeClaimRetentionPolicy
| What happens to the claims of a stateful set's pods.
  whenDeleted  string  #1 Retain (the default) or Delete the claims when the set is deleted.
  whenScaled   string  #2 Retain (the default) or Delete the claims of pods removed by scaling down.

StatefulSetOrdinals
| The numbering of a stateful set's pods.
  start  int32  #1 The first ordinal. Defaults to 0.

StatefulSetStatus
| The observed state of a stateful set.
  observedGeneration  int64                   #1 The generation of the spec the controller last acted on.
  replicas            int32!                  #2 How many pods the controller created.
  readyReplicas       int32                   #3 How many pods are ready.
  currentReplicas     int32                   #4 How many pods run the currentRevision.
  updatedReplicas     int32                   #5 How many pods run the updateRevision.
  currentRevision     string                  #6 The revision of the pods before the update in progress.
  updateRevision      string                  #7 The revision the pods are being updated to.
  collisionCount      *int32                  #9 Counts hash collisions of revision names.
  conditions          []StatefulSetCondition  #10 The latest observations of the stateful set's state.
  availableReplicas   int32                   #11 How many pods have been ready for at least minReadySeconds.

StatefulSetCondition
| One observation of a stateful set's state.
  type                string!  #1 The kind of condition.
  status              string!  #2 Whether the condition holds: True, False or Unknown.
  lastTransitionTime  Time     #3 When the status last changed.
  reason              string   #4 A one-word CamelCase reason for the last transition.
  message             string   #5 A human-readable account of the last transition.

DaemonSet
| Runs one copy of a pod on every node (or every node its template's scheduling rules allow).
  apiVersion  string           - The versioned schema of this object, such as v1 or apps/v1. Servers convert
    | recognized schemas to the latest internal value.
  kind        string           - The REST resource type this object represents, in CamelCase, such as Pod. Clients
    | may send it; servers set it.
  metadata    ObjectMeta       #1 Standard object metadata: name, namespace, labels, annotations and the fields the
    | server maintains.
  spec        DaemonSetSpec    #2 The pod to run on each node and how it is updated.
  status      DaemonSetStatus  #3 The pods as the controller last saw them. Read-only.

DaemonSetSpec
| The desired state of a daemon set.
  selector              *LabelSelector!          #1 Selects the daemon set's pods; it must match the template's
    | labels.
  template              PodTemplateSpec!         #2 The pod run on each node.
  updateStrategy        DaemonSetUpdateStrategy  #3 How pods are replaced when the template changes.
  minReadySeconds       int32                    #4 How long a new pod must be ready before it counts as available.
    | Defaults to 0.
  revisionHistoryLimit  *int32                   #6 How many old revisions are kept. Defaults to 10.

DaemonSetUpdateStrategy
| How a daemon set replaces its pods.
  type           string=OnDelete|RollingUpdate  #1 RollingUpdate (replace pods node by node) or OnDelete (replace a
    | pod only when it is deleted). Defaults to RollingUpdate.
  rollingUpdate  *RollingUpdateDaemonSet        #2 The pace of a rolling update.

RollingUpdateDaemonSet
| How fast a daemon set's rolling update goes.
  maxUnavailable  *IntOrString  #1 How many nodes may be without an available pod during the update: a number or a
    | percentage. Defaults to 1.
  maxSurge        *IntOrString  #2 How many nodes may run an old and a new pod at once: a number or a percentage.
    | Defaults to 0.

DaemonSetStatus
| The observed state of a daemon set.
  currentNumberScheduled  int32!                #1 Nodes that run the pod and should.
  numberMisscheduled      int32!                #2 Nodes that run the pod but should not.
  desiredNumberScheduled  int32!                #3 Nodes that should run the pod.
  numberReady             int32!                #4 Nodes whose pod is ready.
  observedGeneration      int64                 #5 The generation of the spec the controller last acted on.
  updatedNumberScheduled  int32                 #6 Nodes that run the current template.
  numberAvailable         int32                 #7 Nodes whose pod has been ready for at least minReadySeconds.
  numberUnavailable       int32                 #8 Nodes that should run an available pod and do not.
  collisionCount          *int32                #9 Counts hash collisions of revision names.
  conditions              []DaemonSetCondition  #10 The latest observations of the daemon set's state.

DaemonSetCondition
| One observation of a daemon set's state.
  type                string!  #1 The kind of condition.
  status              string!  #2 Whether the condition holds: True, False or Unknown.
  lastTransitionTime  Time     #3 When the status last changed.
  reason              string   #4 A one-word CamelCase reason for the last transition.
  message             string   #5 A human-readable account of the last transition.

ControllerRevision
| An immutable snapshot of a stateful set's or daemon set's template, kept for updates and rollbacks.
  apiVersion  string        - The versioned schema of this object, such as v1 or apps/v1. Servers convert recognized
    | schemas to the latest internal value.
  kind        string        - The REST resource type this object represents, in CamelCase, such as Pod. Clients may
    | send it; servers set it.
  metadata    ObjectMeta    #1 Standard object metadata: name, namespace, labels, annotations and the fields the
    | server maintains.
  data        RawExtension  #2 The snapshot.
  revision    int64!        #3 The revision number.

@ io.k8s.api.batch.v1
Job
| Runs pods until a number of them succeed.
  apiVersion  string      - The versioned schema of this object, such as v1 or apps/v1. Servers convert recognized
    | schemas to the latest internal value.
  kind        string      - The REST resource type this object represents, in CamelCase, such as Pod. Clients may
    | send it; servers set it.
  metadata    ObjectMeta  #1 Standard object metadata: name, namespace, labels, annotations and the fields the
    | server maintains.
  spec        JobSpec     #2 The pods to run and when the job is done.
  status      JobStatus   #3 The job's progress. Read-only.

JobSpec
| The desired behaviour of a job.
  parallelism              *int32                              #1 How many pods may run at once. Defaults to 1.
  completions              *int32                              #2 How many pods must succeed. Defaults to 1.
  activeDeadlineSeconds    *int64                              #3 How long the job may run before it is failed and
    | its pods are stopped.
  podFailurePolicy         *PodFailurePolicy                   #11 How failed pods count, by exit code or pod
    | condition.
  successPolicy            *SuccessPolicy                      #16 When an Indexed job counts as succeeded before
    | every index did.
  backoffLimit             *int32                              #7 How many failed pods are tolerated before the job
    | fails. Defaults to 6.
  backoffLimitPerIndex     *int32                              #12 How many failures each index of an Indexed job
    | may have.
  maxFailedIndexes         *int32                              #13 How many failed indexes an Indexed job tolerates.
  selector                 *LabelSelector                      #4 Selects the job's pods. Generated by the server
    | unless manualSelector is true.
  manualSelector           *bool                               #5 When true, the selector is yours to set.
  template                 PodTemplateSpec!                    #6 The pods to run; restartPolicy must be Never or
    | OnFailure.
  ttlSecondsAfterFinished  *int32                              #8 Seconds after the job finishes when it is deleted;
    | unset keeps it.
  completionMode           *string=Indexed|NonIndexed          #9 NonIndexed (any pods may succeed) or Indexed (each
    | pod gets an index 0..completions-1, and every index must succeed). Defaults to NonIndexed.
  suspend                  *bool                               #10 When true, the job's pods are deleted and no new
    | ones are created until it is false again.
  podReplacementPolicy     *string=Failed|TerminatingOrFailed  #14 When a replacement pod is created: once the old
    | one is TerminatingOrFailed, or only once it has Failed.
  managedBy                *string                             #15 The controller that manages the job; empty for
    | the built-in one.

PodFailurePolicy
| Rules that decide what a failed pod means for its job; the first rule that matches wins.
  rules  []PodFailurePolicyRule!  #1 The rules, checked in order.

PodFailurePolicyRule
| What to do when a failed pod matches: by its containers' exit codes or its conditions.
  action           string=Count|FailIndex|FailJob|Ignore!    #1 FailJob, FailIndex, Ignore (the failure does not
    | count) or Count (it counts, as by default).
  onExitCodes      *PodFailurePolicyOnExitCodesRequirement   #2 Matches by the exit codes of the pod's containers.
  onPodConditions  []PodFailurePolicyOnPodConditionsPattern  #3 Matches by the pod's conditions.

PodFailurePolicyOnExitCodesRequirement
| Matches a failed pod by its containers' exit codes.
  containerName  *string           #1 Only this container's exit code counts; empty for any container.
  operator       string=In|NotIn!  #2 In or NotIn the values.
  values         []int32!          #3 The exit codes.

PodFailurePolicyOnPodConditionsPattern
| Matches a failed pod by one of its conditions.
  type    string!  #1 The condition type.
  status  string!  #2 The condition status. Defaults to True.

SuccessPolicy
| Rules that declare an Indexed job succeeded; the first one met wins.
  rules  []SuccessPolicyRule!  #1 The rules.

SuccessPolicyRule
| A set of indexes, or a count of them, whose success is the job's success.
  succeededIndexes  *string  #1 The indexes that must succeed (1,3-5).
  succeededCount    *int32   #2 How many indexes must succeed.

JobStatus
| The observed state of a job.
  conditions               []JobCondition            #1 The latest observations of the job (Complete, Failed,
    | Suspended).
  startTime                *Time                     #2 When the job started.
  completionTime           *Time                     #3 When the job completed.
  active                   int32                     #4 How many pods are pending or running.
  succeeded                int32                     #5 How many pods succeeded.
  failed                   int32                     #6 How many pods failed.
  terminating              *int32                    #11 How many pods are terminating.
  completedIndexes         string                    #7 The indexes that succeeded, as ranges (1,3-5).
  failedIndexes            *string                   #10 The indexes that failed, as ranges.
  uncountedTerminatedPods  *UncountedTerminatedPods  #8 Finished pods the controller has not counted yet.
  ready                    *int32                    #9 How many pods are ready.

JobCondition
| One observation of a job's state.
  type                string!  #1 The kind of condition.
  status              string!  #2 Whether the condition holds: True, False or Unknown.
  lastProbeTime       Time     #3 When the condition was last checked.
  lastTransitionTime  Time     #4 When the status last changed.
  reason              string   #5 A one-word CamelCase reason for the last transition.
  message             string   #6 A human-readable account of the last transition.

UncountedTerminatedPods
| The uids of finished pods not yet counted in the job's status.
  succeeded  []string  #1 Uids of succeeded pods.
  failed     []string  #2 Uids of failed pods.
"""
