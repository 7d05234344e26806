"""Types of the core API group (``v1``): pods and everything a pod spec holds, nodes, namespaces, events,
service accounts, config maps, secrets, limit ranges and resource quotas.

The format is described in :mod:`apiserver.rest.apitypes`.
"""

SCHEMA = """
@ io.k8s.api.core.v1
Pod
|
  apiVersion  string      - The versioned schema of this object, such as v1 or apps/v1. Servers convert recognized
    | schemas to the latest internal value.
  kind        string      - The REST resource type this object represents, in CamelCase, such as Pod. Clients may
    | send it; servers set it.
  metadata    ObjectMeta  #1 Standard object metadata: name, namespace, labels, annotations and the fields the
    | server maintains.
  spec        PodSpec     #2
  status      PodStatus   #3

PodSpec
|
  volumes                        []Volume                            #1
  initContainers                 []Container                         #20
  containers                     []Container!                        #2
  ephemeralContainers            []EphemeralContainer                #34
  restartPolicy                  string=Always|Never|OnFailure       #3
  terminationGracePeriodSeconds  *int64                              #4
  activeDeadlineSeconds          *int64                              #5
  dnsPolicy                      string                              #6
    = ClusterFirst|ClusterFirstWithHostNet|Default|None
  nodeSelector                   {}string                            #7
  serviceAccountName             string                              #8
  serviceAccount                 string                              #9
  automountServiceAccountToken   *bool                               #21
  nodeName                       string                              #10
  hostNetwork                    bool                                #11
  hostPID                        bool                                #12
  hostIPC                        bool                                #13
  shareProcessNamespace          *bool                               #27
  securityContext                *PodSecurityContext                 #14
  imagePullSecrets               []LocalObjectReference              #15
  hostname                       string                              #16
  subdomain                      string                              #17
  affinity                       *Affinity                           #18
  schedulerName                  string                              #19
  tolerations                    []Toleration                        #22
  hostAliases                    []HostAlias                         #23
  priorityClassName              string                              #24
  priority                       *int32                              #25
  dnsConfig                      *PodDNSConfig                       #26
  readinessGates                 []PodReadinessGate                  #28
  runtimeClassName               *string                             #29
  enableServiceLinks             *bool                               #30
  preemptionPolicy               *string=Never|PreemptLowerPriority  #31
  overhead                       {}Quantity                          #32
  topologySpreadConstraints      []TopologySpreadConstraint          #33
  setHostnameAsFQDN              *bool                               #35
  os                             *PodOS                              #36
  hostUsers                      *bool                               #37
  schedulingGates                []PodSchedulingGate                 #38
  resourceClaims                 []PodResourceClaim                  #39
  resources                      *ResourceRequirements               #40

Volume
|
  name  string!       #1
  ...   VolumeSource  #2

VolumeSource
|
  hostPath               *HostPathVolumeSource               #1
  emptyDir               *EmptyDirVolumeSource               #2
  gcePersistentDisk      *GCEPersistentDiskVolumeSource      #3
  awsElasticBlockStore   *AWSElasticBlockStoreVolumeSource   #4
  gitRepo                *GitRepoVolumeSource                #5
  secret                 *SecretVolumeSource                 #6
  nfs                    *NFSVolumeSource                    #7
  iscsi                  *ISCSIVolumeSource                  #8
  glusterfs              *GlusterfsVolumeSource              #9
  persistentVolumeClaim  *PersistentVolumeClaimVolumeSource  #10
  rbd                    *RBDVolumeSource                    #11
  flexVolume             *FlexVolumeSource                   #12
  cinder                 *CinderVolumeSource                 #13
  cephfs                 *CephFSVolumeSource                 #14
  flocker                *FlockerVolumeSource                #15
  downwardAPI            *DownwardAPIVolumeSource            #16
  fc                     *FCVolumeSource                     #17
  azureFile              *AzureFileVolumeSource              #18
  configMap              *ConfigMapVolumeSource              #19
  vsphereVolume          *VsphereVirtualDiskVolumeSource     #20
  quobyte                *QuobyteVolumeSource                #21
  azureDisk              *AzureDiskVolumeSource              #22
  photonPersistentDisk   *PhotonPersistentDiskVolumeSource   #23
  projected              *ProjectedVolumeSource              #26
  portworxVolume         *PortworxVolumeSource               #24
  scaleIO                *ScaleIOVolumeSource                #25
  storageos              *StorageOSVolumeSource              #27
  csi                    *CSIVolumeSource                    #28
  ephemeral              *EphemeralVolumeSource              #29
  image                  *ImageVolumeSource                  #30

HostPathVolumeSource
|
  path  string!  #1
  type  *string  #2

EmptyDirVolumeSource
|
  medium     string     #1
  sizeLimit  *Quantity  #2

GCEPersistentDiskVolumeSource
|
  pdName     string!  #1
  fsType     string   #2
  partition  int32    #3
  readOnly   bool     #4

AWSElasticBlockStoreVolumeSource
|
  volumeID   string!  #1
  fsType     string   #2
  partition  int32    #3
  readOnly   bool     #4

GitRepoVolumeSource
|
  repository  string!  #1
  revision    string   #2
  directory   string   #3

SecretVolumeSource
|
  secretName   string       #1
  items        []KeyToPath  #2
  defaultMode  *int32       #3
  optional     *bool        #4

KeyToPath
|
  key   string!  #1
  path  string!  #2
  mode  *int32   #3

NFSVolumeSource
|
  server    string!  #1
  path      string!  #2
  readOnly  bool     #3

ISCSIVolumeSource
|
  targetPortal       string!                #1
  iqn                string!                #2
  lun                int32!                 #3
  iscsiInterface     string                 #4
  fsType             string                 #5
  readOnly           bool                   #6
  portals            []string               #7
  chapAuthDiscovery  bool                   #8
  chapAuthSession    bool                   #11
  secretRef          *LocalObjectReference  #10
  initiatorName      *string                #12

LocalObjectReference
|
  name  string  #1

GlusterfsVolumeSource
|
  endpoints  string!  #1
  path       string!  #2
  readOnly   bool     #3

PersistentVolumeClaimVolumeSource
|
  claimName  string!  #1
  readOnly   bool     #2

RBDVolumeSource
|
  monitors   []string!              #1
  image      string!                #2
  fsType     string                 #3
  pool       string                 #4
  user       string                 #5
  keyring    string                 #6
  secretRef  *LocalObjectReference  #7
  readOnly   bool                   #8

FlexVolumeSource
|
  driver     string!                #1
  fsType     string                 #2
  secretRef  *LocalObjectReference  #3
  readOnly   bool                   #4
  options    {}string               #5

CinderVolumeSource
|
  volumeID   string!                #1
  fsType     string                 #2
  readOnly   bool                   #3
  secretRef  *LocalObjectReference  #4

CephFSVolumeSource
|
  monitors    []string!              #1
  path        string                 #2
  user        string                 #3
  secretFile  string                 #4
  secretRef   *LocalObjectReference  #5
  readOnly    bool                   #6

FlockerVolumeSource
|
  datasetName  string  #1
  datasetUUID  string  #2

DownwardAPIVolumeSource
|
  items        []DownwardAPIVolumeFile  #1
  defaultMode  *int32                   #2

DownwardAPIVolumeFile
|
  path              string!                 #1
  fieldRef          *ObjectFieldSelector    #2
  resourceFieldRef  *ResourceFieldSelector  #3
  mode              *int32                  #4

ObjectFieldSelector
|
  apiVersion  string   #1 The versioned schema of this object, such as v1 or apps/v1. Servers convert recognized
    | schemas to the latest internal value.
  fieldPath   string!  #2

ResourceFieldSelector
|
  containerName  string    #1
  resource       string!   #2
  divisor        Quantity  #3

FCVolumeSource
|
  targetWWNs  []string  #1
  lun         *int32    #2
  fsType      string    #3
  readOnly    bool      #4
  wwids       []string  #5

AzureFileVolumeSource
|
  secretName  string!  #1
  shareName   string!  #2
  readOnly    bool     #3

ConfigMapVolumeSource
|
  ...          LocalObjectReference  #1
  items        []KeyToPath           #2
  defaultMode  *int32                #3
  optional     *bool                 #4

VsphereVirtualDiskVolumeSource
|
  volumePath         string!  #1
  fsType             string   #2
  storagePolicyName  string   #3
  storagePolicyID    string   #4

QuobyteVolumeSource
|
  registry  string!  #1
  volume    string!  #2
  readOnly  bool     #3
  user      string   #4
  group     string   #5
  tenant    string   #6

AzureDiskVolumeSource
|
  diskName     string!                           #1
  diskURI      string!                           #2
  cachingMode  *string=None|ReadOnly|ReadWrite   #3
  fsType       *string                           #4
  readOnly     *bool                             #5
  kind         *string=Dedicated|Managed|Shared  #6 The REST resource type this object represents, in CamelCase,
    | such as Pod. Clients may send it; servers set it.

PhotonPersistentDiskVolumeSource
|
  pdID    string!  #1
  fsType  string   #2

ProjectedVolumeSource
|
  sources      []VolumeProjection  #1
  defaultMode  *int32              #2

VolumeProjection
|
  secret               *SecretProjection               #1
  downwardAPI          *DownwardAPIProjection          #2
  configMap            *ConfigMapProjection            #3
  serviceAccountToken  *ServiceAccountTokenProjection  #4
  clusterTrustBundle   *ClusterTrustBundleProjection   #5

SecretProjection
|
  ...       LocalObjectReference  #1
  items     []KeyToPath           #2
  optional  *bool                 #4

DownwardAPIProjection
|
  items  []DownwardAPIVolumeFile  #1

ConfigMapProjection
|
  ...       LocalObjectReference  #1
  items     []KeyToPath           #2
  optional  *bool                 #4

ServiceAccountTokenProjection
|
  audience           string   #1
  expirationSeconds  *int64   #2
  path               string!  #3

ClusterTrustBundleProjection
|
  name           *string         #1
  signerName     *string         #2
  labelSelector  *LabelSelector  #3
  optional       *bool           #5
  path           string!         #4

PortworxVolumeSource
|
  volumeID  string!  #1
  fsType    string   #2
  readOnly  bool     #3

ScaleIOVolumeSource
|
  gateway           string!                 #1
  system            string!                 #2
  secretRef         *LocalObjectReference!  #3
  sslEnabled        bool                    #4
  protectionDomain  string                  #5
  storagePool       string                  #6
  storageMode       string                  #7
  volumeName        string                  #8
  fsType            string                  #9
  readOnly          bool                    #10

StorageOSVolumeSource
|
  volumeName       string                 #1
  volumeNamespace  string                 #2
  fsType           string                 #3
  readOnly         bool                   #4
  secretRef        *LocalObjectReference  #5

CSIVolumeSource
|
  driver                string!                #1
  readOnly              *bool                  #2
  fsType                *string                #3
  volumeAttributes      {}string               #4
  nodePublishSecretRef  *LocalObjectReference  #5

EphemeralVolumeSource
|
  volumeClaimTemplate  *PersistentVolumeClaimTemplate  #1

PersistentVolumeClaimTemplate
|
  metadata  ObjectMeta                  #1 Standard object metadata: name, namespace, labels, annotations and the
    | fields the server maintains.
  spec      PersistentVolumeClaimSpec!  #2

PersistentVolumeClaimSpec
|
  accessModes                []string                    #1
    = ReadOnlyMany|ReadWriteMany|ReadWriteOnce|ReadWriteOncePod
  selector                   *LabelSelector              #4
  resources                  VolumeResourceRequirements  #2
  volumeName                 string                      #3
  storageClassName           *string                     #5
  volumeMode                 *string=Block|Filesystem    #6
  dataSource                 *TypedLocalObjectReference  #7
  dataSourceRef              *TypedObjectReference       #8
  volumeAttributesClassName  *string                     #9

VolumeResourceRequirements
|
  limits    {}Quantity  #1
  requests  {}Quantity  #2

TypedLocalObjectReference
|
  apiGroup  *string  #1
  kind      string!  #2 The REST resource type this object represents, in CamelCase, such as Pod. Clients may send
    | it; servers set it.
  name      string!  #3

TypedObjectReference
|
  apiGroup   *string  #1
  kind       string!  #2 The REST resource type this object represents, in CamelCase, such as Pod. Clients may send
    | it; servers set it.
  name       string!  #3
  namespace  *string  #4

ImageVolumeSource
|
  reference   string                            #1
  pullPolicy  string=Always|IfNotPresent|Never  #2

Container
|
  name                      string!                            #1
  image                     string                             #2
  command                   []string                           #3
  args                      []string                           #4
  workingDir                string                             #5
  ports                     []ContainerPort                    #6
  envFrom                   []EnvFromSource                    #19
  env                       []EnvVar                           #7
  resources                 ResourceRequirements               #8
  resizePolicy              []ContainerResizePolicy            #23
  restartPolicy             *string                            #24
  volumeMounts              []VolumeMount                      #9
  volumeDevices             []VolumeDevice                     #21
  livenessProbe             *Probe                             #10
  readinessProbe            *Probe                             #11
  startupProbe              *Probe                             #22
  lifecycle                 *Lifecycle                         #12
  terminationMessagePath    string                             #13
  terminationMessagePolicy  string=FallbackToLogsOnError|File  #20
  imagePullPolicy           string=Always|IfNotPresent|Never   #14
  securityContext           *SecurityContext                   #15
  stdin                     bool                               #16
  stdinOnce                 bool                               #17
  tty                       bool                               #18

ContainerPort
|
  name           string               #1
  hostPort       int32                #2
  containerPort  int32!               #3
  protocol       string=SCTP|TCP|UDP  #4
  hostIP         string               #5

EnvFromSource
|
  prefix        string               #1
  configMapRef  *ConfigMapEnvSource  #2
  secretRef     *SecretEnvSource     #3

ConfigMapEnvSource
|
  ...       LocalObjectReference  #1
  optional  *bool                 #2

SecretEnvSource
|
  ...       LocalObjectReference  #1
  optional  *bool                 #2

EnvVar
|
  name       string!        #1
  value      string         #2
  valueFrom  *EnvVarSource  #3

EnvVarSource
|
  fieldRef          *ObjectFieldSelector    #1
  resourceFieldRef  *ResourceFieldSelector  #2
  configMapKeyRef   *ConfigMapKeySelector   #3
  secretKeyRef      *SecretKeySelector      #4

ConfigMapKeySelector
|
  ...       LocalObjectReference  #1
  key       string!               #2
  optional  *bool                 #3

SecretKeySelector
|
  ...       LocalObjectReference  #1
  key       string!               #2
  optional  *bool                 #3

ResourceRequirements
|
  limits    {}Quantity       #1
  requests  {}Quantity       #2
  claims    []ResourceClaim  #3

ResourceClaim
|
  name     string!  #1
  request  string   #2

ContainerResizePolicy
|
  resourceName   string!  #1
  restartPolicy  string!  #2

VolumeMount
|
  name               string!                                     #1
  readOnly           bool                                        #2
  recursiveReadOnly  *string                                     #7
  mountPath          string!                                     #3
  subPath            string                                      #4
  mountPropagation   *string=Bidirectional|HostToContainer|None  #5
  subPathExpr        string                                      #6

VolumeDevice
|
  name        string!  #1
  devicePath  string!  #2

Probe
|
  ...                            ProbeHandler  #1
  initialDelaySeconds            int32         #2
  timeoutSeconds                 int32         #3
  periodSeconds                  int32         #4
  successThreshold               int32         #5
  failureThreshold               int32         #6
  terminationGracePeriodSeconds  *int64        #7

ProbeHandler
|
  exec       *ExecAction       #1
  httpGet    *HTTPGetAction    #2
  tcpSocket  *TCPSocketAction  #3
  grpc       *GRPCAction       #4

ExecAction
|
  command  []string  #1

HTTPGetAction
|
  path         string             #1
  port         IntOrString!       #2
  host         string             #3
  scheme       string=HTTP|HTTPS  #4
  httpHeaders  []HTTPHeader       #5

HTTPHeader
|
  name   string!  #1
  value  string!  #2

TCPSocketAction
|
  port  IntOrString!  #1
  host  string        #2

GRPCAction
|
  port     int32!   #1
  service  *string  #2

Lifecycle
|
  postStart  *LifecycleHandler  #1
  preStop    *LifecycleHandler  #2

LifecycleHandler
|
  exec       *ExecAction       #1
  httpGet    *HTTPGetAction    #2
  tcpSocket  *TCPSocketAction  #3
  sleep      *SleepAction      #4

SleepAction
|
  seconds  int64!  #1

SecurityContext
|
  capabilities              *Capabilities                   #1
  privileged                *bool                           #2
  seLinuxOptions            *SELinuxOptions                 #3
  windowsOptions            *WindowsSecurityContextOptions  #10
  runAsUser                 *int64                          #4
  runAsGroup                *int64                          #8
  runAsNonRoot              *bool                           #5
  readOnlyRootFilesystem    *bool                           #6
  allowPrivilegeEscalation  *bool                           #7
  procMount                 *string=Default|Unmasked        #9
  seccompProfile            *SeccompProfile                 #11
  appArmorProfile           *AppArmorProfile                #12

Capabilities
|
  add   []string  #1
  drop  []string  #2

SELinuxOptions
|
  user   string  #1
  role   string  #2
  type   string  #3
  level  string  #4

WindowsSecurityContextOptions
|
  gmsaCredentialSpecName  *string  #1
  gmsaCredentialSpec      *string  #2
  runAsUserName           *string  #3
  hostProcess             *bool    #4

SeccompProfile
|
  type              string=Localhost|RuntimeDefault|Unconfined!  #1
  localhostProfile  *string                                      #2

AppArmorProfile
|
  type              string=Localhost|RuntimeDefault|Unconfined!  #1
  localhostProfile  *string                                      #2

EphemeralContainer
|
  ...                  EphemeralContainerCommon  #1
  targetContainerName  string                    #2

EphemeralContainerCommon
|
  name                      string!                            #1
  image                     string                             #2
  command                   []string                           #3
  args                      []string                           #4
  workingDir                string                             #5
  ports                     []ContainerPort                    #6
  envFrom                   []EnvFromSource                    #19
  env                       []EnvVar                           #7
  resources                 ResourceRequirements               #8
  resizePolicy              []ContainerResizePolicy            #23
  restartPolicy             *string                            #24
  volumeMounts              []VolumeMount                      #9
  volumeDevices             []VolumeDevice                     #21
  livenessProbe             *Probe                             #10
  readinessProbe            *Probe                             #11
  startupProbe              *Probe                             #22
  lifecycle                 *Lifecycle                         #12
  terminationMessagePath    string                             #13
  terminationMessagePolicy  string=FallbackToLogsOnError|File  #20
  imagePullPolicy           string=Always|IfNotPresent|Never   #14
  securityContext           *SecurityContext                   #15
  stdin                     bool                               #16
  stdinOnce                 bool                               #17
  tty                       bool                               #18

PodSecurityContext
|
  seLinuxOptions            *SELinuxOptions                 #1
  windowsOptions            *WindowsSecurityContextOptions  #8
  runAsUser                 *int64                          #2
  runAsGroup                *int64                          #6
  runAsNonRoot              *bool                           #3
  supplementalGroups        []int64                         #4
  supplementalGroupsPolicy  *string=Merge|Strict            #12
  fsGroup                   *int64                          #5
  sysctls                   []Sysctl                        #7
  fsGroupChangePolicy       *string=Always|OnRootMismatch   #9
  seccompProfile            *SeccompProfile                 #10
  appArmorProfile           *AppArmorProfile                #11
  seLinuxChangePolicy       *string                         #13

Sysctl
|
  name   string!  #1
  value  string!  #2

Affinity
|
  nodeAffinity     *NodeAffinity     #1
  podAffinity      *PodAffinity      #2
  podAntiAffinity  *PodAntiAffinity  #3

NodeAffinity
|
  requiredDuringSchedulingIgnoredDuringExecution   *NodeSelector              #1
  preferredDuringSchedulingIgnoredDuringExecution  []PreferredSchedulingTerm  #2

NodeSelector
|
  nodeSelectorTerms  []NodeSelectorTerm!  #1

NodeSelectorTerm
|
  matchExpressions  []NodeSelectorRequirement  #1
  matchFields       []NodeSelectorRequirement  #2

NodeSelectorRequirement
|
  key       string!                                     #1
  operator  string=DoesNotExist|Exists|Gt|In|Lt|NotIn!  #2
  values    []string                                    #3

PreferredSchedulingTerm
|
  weight      int32!             #1
  preference  NodeSelectorTerm!  #2

PodAffinity
|
  requiredDuringSchedulingIgnoredDuringExecution   []PodAffinityTerm          #1
  preferredDuringSchedulingIgnoredDuringExecution  []WeightedPodAffinityTerm  #2

PodAffinityTerm
|
  labelSelector      *LabelSelector  #1
  namespaces         []string        #2
  topologyKey        string!         #3
  namespaceSelector  *LabelSelector  #4
  matchLabelKeys     []string        #5
  mismatchLabelKeys  []string        #6

WeightedPodAffinityTerm
|
  weight           int32!            #1
  podAffinityTerm  PodAffinityTerm!  #2

PodAntiAffinity
|
  requiredDuringSchedulingIgnoredDuringExecution   []PodAffinityTerm          #1
  preferredDuringSchedulingIgnoredDuringExecution  []WeightedPodAffinityTerm  #2

Toleration
|
  key                string                                        #1
  operator           string=Equal|Exists                           #2
  value              string                                        #3
  effect             string=NoExecute|NoSchedule|PreferNoSchedule  #4
  tolerationSeconds  *int64                                        #5

HostAlias
|
  ip         string!   #1
  hostnames  []string  #2

PodDNSConfig
|
  nameservers  []string              #1
  searches     []string              #2
  options      []PodDNSConfigOption  #3

PodDNSConfigOption
|
  name   string   #1
  value  *string  #2

PodReadinessGate
|
  conditionType  string!  #1

TopologySpreadConstraint
|
  maxSkew             int32!                                #1
  topologyKey         string!                               #2
  whenUnsatisfiable   string=DoNotSchedule|ScheduleAnyway!  #3
  labelSelector       *LabelSelector                        #4
  minDomains          *int32                                #5
  nodeAffinityPolicy  *string=Honor|Ignore                  #6
  nodeTaintsPolicy    *string=Honor|Ignore                  #7
  matchLabelKeys      []string                              #8

PodOS
|
  name  string!  #1

PodSchedulingGate
|
  name  string!  #1

PodResourceClaim
|
  name                       string!  #1
  resourceClaimName          *string  #3
  resourceClaimTemplateName  *string  #4

PodStatus
|
  phase                       string=Failed|Pending|Running|Succeeded|Unknown  #1
  conditions                  []PodCondition                                   #2
  message                     string                                           #3
  reason                      string                                           #4
  nominatedNodeName           string                                           #11
  hostIP                      string                                           #5
  hostIPs                     []HostIP                                         #16
  podIP                       string                                           #6
  podIPs                      []PodIP                                          #12
  startTime                   *Time                                            #7
  initContainerStatuses       []ContainerStatus                                #10
  containerStatuses           []ContainerStatus                                #8
  qosClass                    string=BestEffort|Burstable|Guaranteed           #9
  ephemeralContainerStatuses  []ContainerStatus                                #13
  resize                      string                                           #14
  resourceClaimStatuses       []PodResourceClaimStatus                         #15

PodCondition
|
  type                string!  #1 The kind of condition.
  status              string!  #2 Whether the condition holds: True, False or Unknown.
  lastProbeTime       Time     #3 When the condition was last checked.
  lastTransitionTime  Time     #4 When the status last changed.
  reason              string   #5 A one-word CamelCase reason for the last transition.
  message             string   #6 A human-readable account of the last transition.

HostIP
|
  ip  string!  #1

PodIP
|
  ip  string!  #1

ContainerStatus
|
  name                      string!                #1
  state                     ContainerState         #2
  lastState                 ContainerState         #3
  ready                     bool!                  #4
  restartCount              int32!                 #5
  image                     string!                #6
  imageID                   string!                #7
  containerID               string                 #8
  started                   *bool                  #9
  allocatedResources        {}Quantity             #10
  resources                 *ResourceRequirements  #11
  volumeMounts              []VolumeMountStatus    #12
  user                      *ContainerUser         #13
  allocatedResourcesStatus  []ResourceStatus       #14

ContainerState
|
  waiting     *ContainerStateWaiting     #1
  running     *ContainerStateRunning     #2
  terminated  *ContainerStateTerminated  #3

ContainerStateWaiting
|
  reason   string  #1
  message  string  #2

ContainerStateRunning
|
  startedAt  Time  #1

ContainerStateTerminated
|
  exitCode     int32!  #1
  signal       int32   #2
  reason       string  #3
  message      string  #4
  startedAt    Time    #5
  finishedAt   Time    #6
  containerID  string  #7

VolumeMountStatus
|
  name               string!  #1
  mountPath          string!  #2
  readOnly           bool     #3
  recursiveReadOnly  *string  #4

ContainerUser
|
  linux  *LinuxContainerUser  #1

LinuxContainerUser
|
  uid                 int64!   #1
  gid                 int64!   #2
  supplementalGroups  []int64  #3

ResourceStatus
|
  name       string!           #1
  resources  []ResourceHealth  #2

ResourceHealth
|
  resourceID  string!  #1
  health      string   #2

PodResourceClaimStatus
|
  name               string!  #1
  resourceClaimName  *string  #2

Node
|
  apiVersion  string      - The versioned schema of this object, such as v1 or apps/v1. Servers convert recognized
    | schemas to the latest internal value.
  kind        string      - The REST resource type this object represents, in CamelCase, such as Pod. Clients may
    | send it; servers set it.
  metadata    ObjectMeta  #1 Standard object metadata: name, namespace, labels, annotations and the fields the
    | server maintains.
  spec        NodeSpec    #2
  status      NodeStatus  #3

NodeSpec
|
  podCIDR        string             #1
  podCIDRs       []string           #7
  providerID     string             #3
  unschedulable  bool               #4
  taints         []Taint            #5
  configSource   *NodeConfigSource  #6
  externalID     string             #2

Taint
|
  key        string!                                        #1
  value      string                                         #2
  effect     string=NoExecute|NoSchedule|PreferNoSchedule!  #3
  timeAdded  *Time                                          #4

NodeConfigSource
|
  configMap  *ConfigMapNodeConfigSource  #2

ConfigMapNodeConfigSource
|
  namespace         string!  #1
  name              string!  #2
  uid               string   #3
  resourceVersion   string   #4
  kubeletConfigKey  string!  #5

NodeStatus
|
  capacity         {}Quantity                         #1
  allocatable      {}Quantity                         #2
  phase            string=Pending|Running|Terminated  #3
  conditions       []NodeCondition                    #4
  addresses        []NodeAddress                      #5
  daemonEndpoints  NodeDaemonEndpoints                #6
  nodeInfo         NodeSystemInfo                     #7
  images           []ContainerImage                   #8
  volumesInUse     []string                           #9
  volumesAttached  []AttachedVolume                   #10
  config           *NodeConfigStatus                  #11
  runtimeHandlers  []NodeRuntimeHandler               #12
  features         *NodeFeatures                      #13

NodeCondition
|
  type                string!  #1 The kind of condition.
  status              string!  #2 Whether the condition holds: True, False or Unknown.
  lastHeartbeatTime   Time     #3 When the condition was last reported.
  lastTransitionTime  Time     #4 When the status last changed.
  reason              string   #5 A one-word CamelCase reason for the last transition.
  message             string   #6 A human-readable account of the last transition.

NodeAddress
|
  type     string!  #1
  address  string!  #2

NodeDaemonEndpoints
|
  kubeletEndpoint  DaemonEndpoint  #1

DaemonEndpoint
|
  Port  int32!  #1

NodeSystemInfo
|
  machineID                string!  #1
  systemUUID               string!  #2
  bootID                   string!  #3
  kernelVersion            string!  #4
  osImage                  string!  #5
  containerRuntimeVersion  string!  #6
  kubeletVersion           string!  #7
  kubeProxyVersion         string!  #8
  operatingSystem          string!  #9
  architecture             string!  #10

ContainerImage
|
  names      []string  #1
  sizeBytes  int64     #2

AttachedVolume
|
  name        string!  #1
  devicePath  string!  #2

NodeConfigStatus
|
  assigned       *NodeConfigSource  #1
  active         *NodeConfigSource  #2
  lastKnownGood  *NodeConfigSource  #3
  error          string             #4

NodeRuntimeHandler
|
  name      string                       #1
  features  *NodeRuntimeHandlerFeatures  #2

NodeRuntimeHandlerFeatures
|
  recursiveReadOnlyMounts  *bool  #1
  userNamespaces           *bool  #2

NodeFeatures
|
  supplementalGroupsPolicy  *bool  #1

Namespace
|
  apiVersion  string           - The versioned schema of this object, such as v1 or apps/v1. Servers convert
    | recognized schemas to the latest internal value.
  kind        string           - The REST resource type this object represents, in CamelCase, such as Pod. Clients
    | may send it; servers set it.
  metadata    ObjectMeta       #1 Standard object metadata: name, namespace, labels, annotations and the fields the
    | server maintains.
  spec        NamespaceSpec    #2
  status      NamespaceStatus  #3

NamespaceSpec
|
  finalizers  []string  #1

NamespaceStatus
|
  phase       string=Active|Terminating  #1
  conditions  []NamespaceCondition       #2

NamespaceCondition
|
  type                string!  #1 The kind of condition.
  status              string!  #2 Whether the condition holds: True, False or Unknown.
  lastTransitionTime  Time     #4 When the status last changed.
  reason              string   #5 A one-word CamelCase reason for the last transition.
  message             string   #6 A human-readable account of the last transition.

Event
|
  apiVersion          string            - The versioned schema of this object, such as v1 or apps/v1. Servers
    | convert recognized schemas to the latest internal value.
  kind                string            - The REST resource type this object represents, in CamelCase, such as Pod.
    | Clients may send it; servers set it.
  metadata            ObjectMeta        #1 Standard object metadata: name, namespace, labels, annotations and the
    | fields the server maintains.
  involvedObject      ObjectReference!  #2
  reason              string            #3
  message             string            #4
  source              EventSource       #5
  firstTimestamp      Time              #6
  lastTimestamp       Time              #7
  count               int32             #8
  type                string            #9
  eventTime           MicroTime         #10
  series              *EventSeries      #11
  action              string            #12
  related             *ObjectReference  #13
  reportingComponent  string            #14
  reportingInstance   string            #15

ObjectReference
|
  kind             string  #1 The REST resource type this object represents, in CamelCase, such as Pod. Clients may
    | send it; servers set it.
  namespace        string  #2
  name             string  #3
  uid              string  #4
  apiVersion       string  #5 The versioned schema of this object, such as v1 or apps/v1. Servers convert recognized
    | schemas to the latest internal value.
  resourceVersion  string  #6
  fieldPath        string  #7

EventSource
|
  component  string  #1
  host       string  #2

EventSeries
|
  count             int32      #1
  lastObservedTime  MicroTime  #2

ServiceAccount
|
  apiVersion                    string                  - The versioned schema of this object, such as v1 or
    | apps/v1. Servers convert recognized schemas to the latest internal value.
  kind                          string                  - The REST resource type this object represents, in
    | CamelCase, such as Pod. Clients may send it; servers set it.
  metadata                      ObjectMeta              #1 Standard object metadata: name, namespace, labels,
    | annotations and the fields the server maintains.
  secrets                       []ObjectReference       #2
  imagePullSecrets              []LocalObjectReference  #3
  automountServiceAccountToken  *bool                   #4

ConfigMap
|
  apiVersion  string      - The versioned schema of this object, such as v1 or apps/v1. Servers convert recognized
    | schemas to the latest internal value.
  kind        string      - The REST resource type this object represents, in CamelCase, such as Pod. Clients may
    | send it; servers set it.
  metadata    ObjectMeta  #1 Standard object metadata: name, namespace, labels, annotations and the fields the
    | server maintains.
  immutable   *bool       #4
  data        {}string    #2
  binaryData  {}bytes     #3

Secret
|
  apiVersion  string      - The versioned schema of this object, such as v1 or apps/v1. Servers convert recognized
    | schemas to the latest internal value.
  kind        string      - The REST resource type this object represents, in CamelCase, such as Pod. Clients may
    | send it; servers set it.
  metadata    ObjectMeta  #1 Standard object metadata: name, namespace, labels, annotations and the fields the
    | server maintains.
  immutable   *bool       #5
  data        {}bytes     #2
  stringData  {}string    #4
  type        string      #3

LimitRange
|
  apiVersion  string          - The versioned schema of this object, such as v1 or apps/v1. Servers convert
    | recognized schemas to the latest internal value.
  kind        string          - The REST resource type this object represents, in CamelCase, such as Pod. Clients
    | may send it; servers set it.
  metadata    ObjectMeta      #1 Standard object metadata: name, namespace, labels, annotations and the fields the
    | server maintains.
  spec        LimitRangeSpec  #2

LimitRangeSpec
|
  limits  []LimitRangeItem!  #1

LimitRangeItem
|
  type                  string!     #1
  max                   {}Quantity  #2
  min                   {}Quantity  #3
  default               {}Quantity  #4
  defaultRequest        {}Quantity  #5
  maxLimitRequestRatio  {}Quantity  #6

ResourceQuota
|
  apiVersion  string               - The versioned schema of this object, such as v1 or apps/v1. Servers convert
    | recognized schemas to the latest internal value.
  kind        string               - The REST resource type this object represents, in CamelCase, such as Pod.
    | Clients may send it; servers set it.
  metadata    ObjectMeta           #1 Standard object metadata: name, namespace, labels, annotations and the fields
    | the server maintains.
  spec        ResourceQuotaSpec    #2
  status      ResourceQuotaStatus  #3

ResourceQuotaSpec
|
  hard           {}Quantity      #1
  scopes         []string        #2
    = BestEffort|CrossNamespacePodAffinity|NotBestEffort|NotTerminating|PriorityClass|Terminating
  scopeSelector  *ScopeSelector  #3

ScopeSelector
|
  matchExpressions  []ScopedResourceSelectorRequirement  #1

ScopedResourceSelectorRequirement
|
  scopeName  string!                               #1
    = BestEffort|CrossNamespacePodAffinity|NotBestEffort|NotTerminating|PriorityClass|Terminating
  operator   string=DoesNotExist|Exists|In|NotIn!  #2
  values     []string                              #3

ResourceQuotaStatus
|
  hard  {}Quantity  #1
  used  {}Quantity  #2

PodTemplateSpec
|
  metadata  ObjectMeta  #1 Standard object metadata: name, namespace, labels, annotations and the fields the server
    | maintains.
  spec      PodSpec     #2

PersistentVolumeClaim
|
  apiVersion  string                       - The versioned schema of this object, such as v1 or apps/v1. Servers
    | convert recognized schemas to the latest internal value.
  kind        string                       - The REST resource type this object represents, in CamelCase, such as
    | Pod. Clients may send it; servers set it.
  metadata    ObjectMeta                   #1 Standard object metadata: name, namespace, labels, annotations and the
    | fields the server maintains.
  spec        PersistentVolumeClaimSpec    #2
  status      PersistentVolumeClaimStatus  #3

PersistentVolumeClaimStatus
|
  phase                             string=Bound|Lost|Pending         #1
  accessModes                       []string                          #2
    = ReadOnlyMany|ReadWriteMany|ReadWriteOnce|ReadWriteOncePod
  capacity                          {}Quantity                        #3
  conditions                        []PersistentVolumeClaimCondition  #4
  allocatedResources                {}Quantity                        #5
  allocatedResourceStatuses         {}string                          #7
    = ControllerResizeInProgress|ControllerResizeInfeasible|NodeResizeInProgress|NodeResizeInfeasible|NodeResizePending
  currentVolumeAttributesClassName  *string                           #8
  modifyVolumeStatus                *ModifyVolumeStatus               #9

PersistentVolumeClaimCondition
|
  type                string!  #1 The kind of condition.
  status              string!  #2 Whether the condition holds: True, False or Unknown.
  lastProbeTime       Time     #3 When the condition was last checked.
  lastTransitionTime  Time     #4 When the status last changed.
  reason              string   #5 A one-word CamelCase reason for the last transition.
  message             string   #6 A human-readable account of the last transition.

ModifyVolumeStatus
|
  targetVolumeAttributesClassName  string                                 #1
  status                           string=InProgress|Infeasible|Pending!  #2
"""
