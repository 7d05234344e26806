"""Types of the workload groups: ``apps/v1`` (deployments, replica sets, stateful sets, daemon sets,
controller revisions) and ``batch/v1`` (jobs).

The format is described in :mod:`apiserver.rest.apitypes`.
"""

SCHEMA = """
@ io.k8s.api.apps.v1
ReplicaSet
|
  apiVersion  string            -
  kind        string            -
  metadata    ObjectMeta        #1
  spec        ReplicaSetSpec    #2
  status      ReplicaSetStatus  #3

ReplicaSetSpec
|
  replicas         *int32           #1
  minReadySeconds  int32            #4
  selector         *LabelSelector!  #2
  template         PodTemplateSpec  #3

ReplicaSetStatus
|
  replicas              int32!                 #1
  fullyLabeledReplicas  int32                  #2
  readyReplicas         int32                  #4
  availableReplicas     int32                  #5
  observedGeneration    int64                  #3
  conditions            []ReplicaSetCondition  #6

ReplicaSetCondition
|
  type                string!  #1
  status              string!  #2
  lastTransitionTime  Time     #3
  reason              string   #4
  message             string   #5

Deployment
|
  apiVersion  string            -
  kind        string            -
  metadata    ObjectMeta        #1
  spec        DeploymentSpec    #2
  status      DeploymentStatus  #3

DeploymentSpec
|
  replicas                 *int32              #1
  selector                 *LabelSelector!     #2
  template                 PodTemplateSpec!    #3
  strategy                 DeploymentStrategy  #4
  minReadySeconds          int32               #5
  revisionHistoryLimit     *int32              #6
  paused                   bool                #7
  progressDeadlineSeconds  *int32              #9

DeploymentStrategy
|
  type           string                    #1
  rollingUpdate  *RollingUpdateDeployment  #2

RollingUpdateDeployment
|
  maxUnavailable  *IntOrString  #1
  maxSurge        *IntOrString  #2

DeploymentStatus
|
  observedGeneration   int64                  #1
  replicas             int32                  #2
  updatedReplicas      int32                  #3
  readyReplicas        int32                  #7
  availableReplicas    int32                  #4
  unavailableReplicas  int32                  #5
  conditions           []DeploymentCondition  #6
  collisionCount       *int32                 #8

DeploymentCondition
|
  type                string!  #1
  status              string!  #2
  lastUpdateTime      Time     #6
  lastTransitionTime  Time     #7
  reason              string   #4
  message             string   #5

StatefulSet
|
  apiVersion  string             -
  kind        string             -
  metadata    ObjectMeta         #1
  spec        StatefulSetSpec    #2
  status      StatefulSetStatus  #3

StatefulSetSpec
|
  replicas                              *int32                                            #1
  selector                              *LabelSelector!                                   #2
  template                              PodTemplateSpec!                                  #3
  volumeClaimTemplates                  []PersistentVolumeClaim                           #4
  serviceName                           string!                                           #5
  podManagementPolicy                   string                                            #6
  updateStrategy                        StatefulSetUpdateStrategy                         #7
  revisionHistoryLimit                  *int32                                            #8
  minReadySeconds                       int32                                             #9
  persistentVolumeClaimRetentionPolicy  *StatefulSetPersistentVolumeClaimRetentionPolicy  #10
  ordinals                              *StatefulSetOrdinals                              #11

StatefulSetUpdateStrategy
|
  type           string                             #1
  rollingUpdate  *RollingUpdateStatefulSetStrategy  #2

RollingUpdateStatefulSetStrategy
|
  partition       *int32        #1
  maxUnavailable  *IntOrString  #2

StatefulSetPersistentVolumeClaimRetentionPolicy
|
  whenDeleted  string  #1
  whenScaled   string  #2

StatefulSetOrdinals
|
  start  int32  #1

StatefulSetStatus
|
  observedGeneration  int64                   #1
  replicas            int32!                  #2
  readyReplicas       int32                   #3
  currentReplicas     int32                   #4
  updatedReplicas     int32                   #5
  currentRevision     string                  #6
  updateRevision      string                  #7
  collisionCount      *int32                  #9
  conditions          []StatefulSetCondition  #10
  availableReplicas   int32                   #11

StatefulSetCondition
|
  type                string!  #1
  status              string!  #2
  lastTransitionTime  Time     #3
  reason              string   #4
  message             string   #5

DaemonSet
|
  apiVersion  string           -
  kind        string           -
  metadata    ObjectMeta       #1
  spec        DaemonSetSpec    #2
  status      DaemonSetStatus  #3

DaemonSetSpec
|
  selector              *LabelSelector!          #1
  template              PodTemplateSpec!         #2
  updateStrategy        DaemonSetUpdateStrategy  #3
  minReadySeconds       int32                    #4
  revisionHistoryLimit  *int32                   #6

DaemonSetUpdateStrategy
|
  type           string                   #1
  rollingUpdate  *RollingUpdateDaemonSet  #2

RollingUpdateDaemonSet
|
  maxUnavailable  *IntOrString  #1
  maxSurge        *IntOrString  #2

DaemonSetStatus
|
  currentNumberScheduled  int32!                #1
  numberMisscheduled      int32!                #2
  desiredNumberScheduled  int32!                #3
  numberReady             int32!                #4
  observedGeneration      int64                 #5
  updatedNumberScheduled  int32                 #6
  numberAvailable         int32                 #7
  numberUnavailable       int32                 #8
  collisionCount          *int32                #9
  conditions              []DaemonSetCondition  #10

DaemonSetCondition
|
  type                string!  #1
  status              string!  #2
  lastTransitionTime  Time     #3
  reason              string   #4
  message             string   #5

ControllerRevision
|
  apiVersion  string        -
  kind        string        -
  metadata    ObjectMeta    #1
  data        RawExtension  #2
  revision    int64!        #3

@ io.k8s.api.batch.v1
Job
|
  apiVersion  string      -
  kind        string      -
  metadata    ObjectMeta  #1
  spec        JobSpec     #2
  status      JobStatus   #3

JobSpec
|
  parallelism              *int32             #1
  completions              *int32             #2
  activeDeadlineSeconds    *int64             #3
  podFailurePolicy         *PodFailurePolicy  #11
  successPolicy            *SuccessPolicy     #16
  backoffLimit             *int32             #7
  backoffLimitPerIndex     *int32             #12
  maxFailedIndexes         *int32             #13
  selector                 *LabelSelector     #4
  manualSelector           *bool              #5
  template                 PodTemplateSpec!   #6
  ttlSecondsAfterFinished  *int32             #8
  completionMode           *string            #9
  suspend                  *bool              #10
  podReplacementPolicy     *string            #14
  managedBy                *string            #15

PodFailurePolicy
|
  rules  []PodFailurePolicyRule!  #1

PodFailurePolicyRule
|
  action           string!                                   #1
  onExitCodes      *PodFailurePolicyOnExitCodesRequirement   #2
  onPodConditions  []PodFailurePolicyOnPodConditionsPattern  #3

PodFailurePolicyOnExitCodesRequirement
|
  containerName  *string   #1
  operator       string!   #2
  values         []int32!  #3

PodFailurePolicyOnPodConditionsPattern
|
  type    string!  #1
  status  string!  #2

SuccessPolicy
|
  rules  []SuccessPolicyRule!  #1

SuccessPolicyRule
|
  succeededIndexes  *string  #1
  succeededCount    *int32   #2

JobStatus
|
  conditions               []JobCondition            #1
  startTime                *Time                     #2
  completionTime           *Time                     #3
  active                   int32                     #4
  succeeded                int32                     #5
  failed                   int32                     #6
  terminating              *int32                    #11
  completedIndexes         string                    #7
  failedIndexes            *string                   #10
  uncountedTerminatedPods  *UncountedTerminatedPods  #8
  ready                    *int32                    #9

JobCondition
|
  type                string!  #1
  status              string!  #2
  lastProbeTime       Time     #3
  lastTransitionTime  Time     #4
  reason              string   #5
  message             string   #6

UncountedTerminatedPods
|
  succeeded  []string  #1
  failed     []string  #2
"""
