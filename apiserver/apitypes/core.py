"""Types of the core API group (``v1``): pods and everything a pod spec holds, nodes, namespaces, events,
service accounts, config maps, secrets, limit ranges and resource quotas.

The format is described in :mod:`apiserver.apitypes`.
"""

SCHEMA = """
@ io.k8s.api.core.v1
Pod
| The smallest thing Kubernetes runs: one or more containers scheduled together onto one node, sharing its network
| identity and volumes.
  apiVersion  string      - The versioned schema of this object, such as v1 or apps/v1. Servers convert recognized
    | schemas to the latest internal value.
  kind        string      - The REST resource type this object represents, in CamelCase, such as Pod. Clients may
    | send it; servers set it.
  metadata    ObjectMeta  #1 Standard object metadata: name, namespace, labels, annotations and the fields the
    | server maintains.
  spec        PodSpec     #2 What the pod runs and how: its containers, volumes and scheduling rules.
  status      PodStatus   #3 The pod as its kubelet last reported it: phase, conditions, IPs and each container's
    | state. Read-only.

PodSpec
| The desired state of a pod. Most of it cannot change once the pod exists.
  volumes                        []Volume                            #1 Volumes the pod's containers can mount.
  initContainers                 []Container                         #20 Containers that run one after another, each
    | to completion, before the app containers start. A failure restarts the pod per its restartPolicy. One whose
    | restartPolicy is Always is a sidecar that keeps running.
  containers                     []Container!                        #2 The pod's containers. At least one; cannot
    | be added or removed later.
  ephemeralContainers            []EphemeralContainer                #34 Containers added to a running pod for
    | debugging (kubectl debug); added through the ephemeralcontainers subresource.
  restartPolicy                  string=Always|Never|OnFailure       #3 When the kubelet restarts the pod's
    | containers after they exit: Always, OnFailure or Never. Defaults to Always.
  terminationGracePeriodSeconds  *int64                              #4 Seconds the containers get between the stop
    | signal (SIGTERM) and being killed. Defaults to 30.
  activeDeadlineSeconds          *int64                              #5 Seconds the pod may be active, counted from
    | its start, before it is failed and its containers are stopped.
  dnsPolicy                      string                              #6 How the containers resolve names:
    | ClusterFirst (the default), ClusterFirstWithHostNet, Default (the node's) or None (only dnsConfig).
    = ClusterFirst|ClusterFirstWithHostNet|Default|None
  nodeSelector                   {}string                            #7 Labels a node must have for the pod to be
    | scheduled onto it.
  serviceAccountName             string                              #8 The service account the pod runs as.
    | Defaults to default.
  serviceAccount                 string                              #9 Deprecated alias of serviceAccountName.
  automountServiceAccountToken   *bool                               #21 Whether the service account's token is
    | mounted into the containers.
  nodeName                       string                              #10 The node the pod runs on. Set by the
    | scheduler; a pod created with it set skips scheduling.
  hostNetwork                    bool                                #11 Use the node's network namespace: the pod's
    | IP is the node's.
  hostPID                        bool                                #12 Use the node's process namespace.
  hostIPC                        bool                                #13 Use the node's IPC namespace.
  shareProcessNamespace          *bool                               #27 Let the containers see each other's
    | processes.
  securityContext                *PodSecurityContext                 #14 Security settings for every container of
    | the pod (user, group, file system group, sysctls).
  imagePullSecrets               []LocalObjectReference              #15 Secrets with registry credentials for
    | pulling the images.
  hostname                       string                              #16 The pod's host name. Defaults to the pod's
    | name.
  subdomain                      string                              #17 With hostname, gives the pod the name
    | <hostname>.<subdomain>.<namespace>.svc.
  affinity                       *Affinity                           #18 Rules that attract the pod to nodes, or to
    | or away from other pods.
  schedulerName                  string                              #19 The scheduler that places the pod. Defaults
    | to default-scheduler.
  tolerations                    []Toleration                        #22 Taints of nodes the pod tolerates.
  hostAliases                    []HostAlias                         #23 Entries added to the containers'
    | /etc/hosts.
  priorityClassName              string                              #24 The priority class of the pod; its value
    | becomes priority.
  priority                       *int32                              #25 The pod's priority, set by admission from
    | priorityClassName; higher goes first and may preempt.
  dnsConfig                      *PodDNSConfig                       #26 DNS settings merged with those of
    | dnsPolicy.
  readinessGates                 []PodReadinessGate                  #28 Extra conditions that must be True for the
    | pod to be ready.
  runtimeClassName               *string                             #29 The runtime class that runs the pod.
  enableServiceLinks             *bool                               #30 Whether environment variables describing
    | services are injected. Defaults to true.
  preemptionPolicy               *string=Never|PreemptLowerPriority  #31 Whether the pod may preempt lower-priority
    | pods: PreemptLowerPriority or Never.
  overhead                       {}Quantity                          #32 Resources the pod's runtime uses on top of
    | its containers, set by admission from the runtime class.
  topologySpreadConstraints      []TopologySpreadConstraint          #33 How the pod's replicas spread across zones,
    | nodes or other topology domains.
  setHostnameAsFQDN              *bool                               #35 Set the container's host name to the fully
    | qualified domain name.
  os                             *PodOS                              #36 The operating system the pod needs.
  hostUsers                      *bool                               #37 Whether the pod uses the node's user
    | namespace. Defaults to true.
  schedulingGates                []PodSchedulingGate                 #38 While any gate is present the pod is not
    | scheduled.
  resourceClaims                 []PodResourceClaim                  #39 Dynamically allocated resources the pod
    | uses.
  resources                      *ResourceRequirements               #40 Resources for the pod as a whole, shared by
    | its containers.

Volume
| A named volume that the pod's containers can mount: exactly one source is set.
  name  string!       #1 The volume's name, a DNS label unique in the pod; volume mounts refer to it.
  ...   VolumeSource  #2

VolumeSource
| Where a volume's contents come from; exactly one is set.
  hostPath               *HostPathVolumeSource               #1 A file or directory of the node.
  emptyDir               *EmptyDirVolumeSource               #2 An empty directory created with the pod and removed
    | with it.
  gcePersistentDisk      *GCEPersistentDiskVolumeSource      #3 A Google Compute Engine disk (deprecated).
  awsElasticBlockStore   *AWSElasticBlockStoreVolumeSource   #4 An AWS EBS disk (deprecated).
  gitRepo                *GitRepoVolumeSource                #5 A git repository cloned into the volume
    | (deprecated).
  secret                 *SecretVolumeSource                 #6 The keys of a secret, as files.
  nfs                    *NFSVolumeSource                    #7 An NFS share.
  iscsi                  *ISCSIVolumeSource                  #8 An iSCSI disk.
  glusterfs              *GlusterfsVolumeSource              #9 A GlusterFS volume (removed in Kubernetes 1.26).
  persistentVolumeClaim  *PersistentVolumeClaimVolumeSource  #10 The volume bound to a persistent volume claim.
  rbd                    *RBDVolumeSource                    #11 A Ceph RBD image (deprecated).
  flexVolume             *FlexVolumeSource                   #12 A volume from a FlexVolume driver (deprecated).
  cinder                 *CinderVolumeSource                 #13 An OpenStack Cinder volume (deprecated).
  cephfs                 *CephFSVolumeSource                 #14 A CephFS file system (deprecated).
  flocker                *FlockerVolumeSource                #15 A Flocker dataset (deprecated).
  downwardAPI            *DownwardAPIVolumeSource            #16 Fields of the pod, as files.
  fc                     *FCVolumeSource                     #17 A Fibre Channel disk.
  azureFile              *AzureFileVolumeSource              #18 An Azure File share (deprecated).
  configMap              *ConfigMapVolumeSource              #19 The keys of a config map, as files.
  vsphereVolume          *VsphereVirtualDiskVolumeSource     #20 A vSphere disk (deprecated).
  quobyte                *QuobyteVolumeSource                #21 A Quobyte volume (deprecated).
  azureDisk              *AzureDiskVolumeSource              #22 An Azure data disk (deprecated).
  photonPersistentDisk   *PhotonPersistentDiskVolumeSource   #23 A Photon Controller disk (deprecated).
  projected              *ProjectedVolumeSource              #26 Several sources (secrets, config maps, downward
    | API, tokens) in one directory.
  portworxVolume         *PortworxVolumeSource               #24 A Portworx volume (deprecated).
  scaleIO                *ScaleIOVolumeSource                #25 A ScaleIO volume (deprecated).
  storageos              *StorageOSVolumeSource              #27 A StorageOS volume (deprecated).
  csi                    *CSIVolumeSource                    #28 A volume from a CSI driver, for the pod's lifetime.
  ephemeral              *EphemeralVolumeSource              #29 A volume provisioned for the pod through a claim
    | made from a template, deleted with the pod.
  image                  *ImageVolumeSource                  #30 An OCI image or artifact, mounted read-only.

HostPathVolumeSource
| A path of the node, mounted into the pod.
  path  string!  #1 The path on the node.
  type  *string  #2 What must be at the path: "" (no check), DirectoryOrCreate, Directory, FileOrCreate, File,
    | Socket, CharDevice or BlockDevice.

EmptyDirVolumeSource
| An empty directory that lives as long as the pod.
  medium     string     #1 Where it is stored: "" (the node's disk) or Memory (a tmpfs).
  sizeLimit  *Quantity  #2 The most it may hold; a pod whose volume grows past it is evicted.

GCEPersistentDiskVolumeSource
| A Google Compute Engine persistent disk.
  pdName     string!  #1 The disk's name.
  fsType     string   #2 The file system to mount (ext4).
  partition  int32    #3 The partition to mount.
  readOnly   bool     #4 Mount read-only.

AWSElasticBlockStoreVolumeSource
| An AWS Elastic Block Store disk.
  volumeID   string!  #1 The disk's id.
  fsType     string   #2 The file system to mount (ext4).
  partition  int32    #3 The partition to mount.
  readOnly   bool     #4 Mount read-only.

GitRepoVolumeSource
| A git repository cloned into an empty directory.
  repository  string!  #1 The repository's URL.
  revision    string   #2 The commit to check out.
  directory   string   #3 The directory to clone into.

SecretVolumeSource
| A secret whose keys become files.
  secretName   string       #1 The secret, in the pod's namespace.
  items        []KeyToPath  #2 Which keys become which files; all keys, named by key, when empty.
  defaultMode  *int32       #3 The permission bits of the files. Defaults to 0644.
  optional     *bool        #4 Whether the pod may start when the secret or a key is missing.

KeyToPath
| Maps one key of a config map or secret to a file.
  key   string!  #1 The key.
  path  string!  #2 The file's path, relative to the mount point; no .. elements.
  mode  *int32   #3 The file's permission bits (0644 is 420 in decimal); defaults to the volume's defaultMode.

NFSVolumeSource
| An NFS export.
  server    string!  #1 The NFS server.
  path      string!  #2 The exported path.
  readOnly  bool     #3 Mount read-only.

ISCSIVolumeSource
| An iSCSI disk.
  targetPortal       string!                #1 The target's address (ip:port).
  iqn                string!                #2 The target's qualified name.
  lun                int32!                 #3 The logical unit number.
  iscsiInterface     string                 #4 The iSCSI interface. Defaults to default.
  fsType             string                 #5 The file system to mount.
  readOnly           bool                   #6 Mount read-only.
  portals            []string               #7 Further target portals.
  chapAuthDiscovery  bool                   #8 Use CHAP authentication for discovery.
  chapAuthSession    bool                   #11 Use CHAP authentication for sessions.
  secretRef          *LocalObjectReference  #10 The secret with the CHAP credentials.
  initiatorName      *string                #12 The initiator's name.

LocalObjectReference
| Names an object in the same namespace.
  name  string  #1 The object's name.

GlusterfsVolumeSource
| A GlusterFS volume.
  endpoints  string!  #1 The endpoints of the Gluster cluster.
  path       string!  #2 The Gluster volume.
  readOnly   bool     #3 Mount read-only.

PersistentVolumeClaimVolumeSource
| Mounts the volume bound to a claim in the pod's namespace.
  claimName  string!  #1 The claim.
  readOnly   bool     #2 Mount the volume read-only.

RBDVolumeSource
| A Ceph RBD image.
  monitors   []string!              #1 The Ceph monitors.
  image      string!                #2 The image.
  fsType     string                 #3 The file system to mount.
  pool       string                 #4 The pool. Defaults to rbd.
  user       string                 #5 The user. Defaults to admin.
  keyring    string                 #6 The keyring's path.
  secretRef  *LocalObjectReference  #7 The secret with the user's key.
  readOnly   bool                   #8 Mount read-only.

FlexVolumeSource
| A volume from a FlexVolume driver.
  driver     string!                #1 The driver.
  fsType     string                 #2 The file system to mount.
  secretRef  *LocalObjectReference  #3 The secret given to the driver.
  readOnly   bool                   #4 Mount read-only.
  options    {}string               #5 Options for the driver.

CinderVolumeSource
| An OpenStack Cinder volume.
  volumeID   string!                #1 The volume's id.
  fsType     string                 #2 The file system to mount.
  readOnly   bool                   #3 Mount read-only.
  secretRef  *LocalObjectReference  #4 The secret with OpenStack credentials.

CephFSVolumeSource
| A CephFS file system.
  monitors    []string!              #1 The Ceph monitors.
  path        string                 #2 The path to mount. Defaults to /.
  user        string                 #3 The user. Defaults to admin.
  secretFile  string                 #4 The path of the keyring.
  secretRef   *LocalObjectReference  #5 The secret with the user's key.
  readOnly    bool                   #6 Mount read-only.

FlockerVolumeSource
| A Flocker dataset.
  datasetName  string  #1 The dataset's name.
  datasetUUID  string  #2 The dataset's uuid.

DownwardAPIVolumeSource
| Fields of the pod as files.
  items        []DownwardAPIVolumeFile  #1 The files and the fields they hold.
  defaultMode  *int32                   #2 The permission bits of the files. Defaults to 0644.

DownwardAPIVolumeFile
| One file of a downward API volume.
  path              string!                 #1 The file's path, relative to the mount point.
  fieldRef          *ObjectFieldSelector    #2 A field of the pod (metadata.name, metadata.namespace,
    | metadata.labels, metadata.annotations, metadata.uid).
  resourceFieldRef  *ResourceFieldSelector  #3 A resource limit or request of a container.
  mode              *int32                  #4 The file's permission bits.

ObjectFieldSelector
| Selects a field of the pod.
  apiVersion  string   #1 The version the field path is written in. Defaults to v1.
  fieldPath   string!  #2 The field's path (metadata.name, status.podIP, spec.nodeName).

ResourceFieldSelector
| Selects a resource limit or request of a container (limits.cpu, requests.memory).
  containerName  string    #1 The container; required in volumes.
  resource       string!   #2 The resource (limits.cpu, limits.memory, requests.cpu, requests.memory).
  divisor        Quantity  #3 The unit the value is given in. Defaults to 1.

FCVolumeSource
| A Fibre Channel disk.
  targetWWNs  []string  #1 The target world wide names.
  lun         *int32    #2 The logical unit number.
  fsType      string    #3 The file system to mount.
  readOnly    bool      #4 Mount read-only.
  wwids       []string  #5 The volume's world wide identifiers (instead of targetWWNs and lun).

AzureFileVolumeSource
| An Azure File share.
  secretName  string!  #1 The secret with the storage account's name and key.
  shareName   string!  #2 The share.
  readOnly    bool     #3 Mount read-only.

ConfigMapVolumeSource
| A config map whose keys become files.
  ...          LocalObjectReference  #1
  items        []KeyToPath           #2 Which keys become which files; all keys, named by key, when empty.
  defaultMode  *int32                #3 The permission bits of the files. Defaults to 0644.
  optional     *bool                 #4 Whether the pod may start when the config map or a key is missing.

VsphereVirtualDiskVolumeSource
| A vSphere virtual disk.
  volumePath         string!  #1 The disk's path.
  fsType             string   #2 The file system to mount.
  storagePolicyName  string   #3 The storage policy's name.
  storagePolicyID    string   #4 The storage policy's id.

QuobyteVolumeSource
| A Quobyte volume.
  registry  string!  #1 The Quobyte registries (host:port).
  volume    string!  #2 The volume.
  readOnly  bool     #3 Mount read-only.
  user      string   #4 The user to map access to.
  group     string   #5 The group to map access to.
  tenant    string   #6 The tenant that owns the volume.

AzureDiskVolumeSource
| An Azure data disk.
  diskName     string!                           #1 The disk's name.
  diskURI      string!                           #2 The disk's URI.
  cachingMode  *string=None|ReadOnly|ReadWrite   #3 Host caching: None, ReadOnly or ReadWrite.
  fsType       *string                           #4 The file system to mount.
  readOnly     *bool                             #5 Mount read-only.
  kind         *string=Dedicated|Managed|Shared  #6 Shared, Dedicated or Managed.

PhotonPersistentDiskVolumeSource
| A Photon Controller disk.
  pdID    string!  #1 The disk's id.
  fsType  string   #2 The file system to mount.

ProjectedVolumeSource
| Several sources projected into one directory.
  sources      []VolumeProjection  #1 The sources.
  defaultMode  *int32              #2 The permission bits of the files. Defaults to 0644.

VolumeProjection
| One source of a projected volume; exactly one is set.
  secret               *SecretProjection               #1 The keys of a secret.
  downwardAPI          *DownwardAPIProjection          #2 Fields of the pod.
  configMap            *ConfigMapProjection            #3 The keys of a config map.
  serviceAccountToken  *ServiceAccountTokenProjection  #4 A token of the pod's service account.
  clusterTrustBundle   *ClusterTrustBundleProjection   #5 Certificates of cluster trust bundles.

SecretProjection
| The keys of a secret in a projected volume.
  ...       LocalObjectReference  #1
  items     []KeyToPath           #2 Which keys become which files.
  optional  *bool                 #4 Whether the pod may start when the secret is missing.

DownwardAPIProjection
| Fields of the pod in a projected volume.
  items  []DownwardAPIVolumeFile  #1 The files and the fields they hold.

ConfigMapProjection
| The keys of a config map in a projected volume.
  ...       LocalObjectReference  #1
  items     []KeyToPath           #2 Which keys become which files.
  optional  *bool                 #4 Whether the pod may start when the config map is missing.

ServiceAccountTokenProjection
| A token of the pod's service account, renewed before it expires.
  audience           string   #1 Who the token is meant for. Defaults to the apiserver.
  expirationSeconds  *int64   #2 How long the token is valid. Defaults to one hour.
  path               string!  #3 The file's path.

ClusterTrustBundleProjection
| Certificates of cluster trust bundles as one file.
  name           *string         #1 One bundle, by name.
  signerName     *string         #2 The bundles of this signer.
  labelSelector  *LabelSelector  #3 The bundles of the signer with these labels.
  optional       *bool           #5 Whether the pod may start when no bundle is found.
  path           string!         #4 The file's path.

PortworxVolumeSource
| A Portworx volume.
  volumeID  string!  #1 The volume's id.
  fsType    string   #2 The file system to mount.
  readOnly  bool     #3 Mount read-only.

ScaleIOVolumeSource
| A ScaleIO volume.
  gateway           string!                 #1 The gateway's address.
  system            string!                 #2 The storage system's name.
  secretRef         *LocalObjectReference!  #3 The secret with the user's credentials.
  sslEnabled        bool                    #4 Talk to the gateway over SSL.
  protectionDomain  string                  #5 The protection domain.
  storagePool       string                  #6 The storage pool.
  storageMode       string                  #7 ThickProvisioned or ThinProvisioned.
  volumeName        string                  #8 The volume's name.
  fsType            string                  #9 The file system to mount.
  readOnly          bool                    #10 Mount read-only.

StorageOSVolumeSource
| A StorageOS volume.
  volumeName       string                 #1 The volume's name.
  volumeNamespace  string                 #2 The volume's StorageOS namespace.
  fsType           string                 #3 The file system to mount.
  readOnly         bool                   #4 Mount read-only.
  secretRef        *LocalObjectReference  #5 The secret with the API credentials.

CSIVolumeSource
| A volume a CSI driver provides for the pod's lifetime.
  driver                string!                #1 The driver's name.
  readOnly              *bool                  #2 Mount read-only.
  fsType                *string                #3 The file system to mount.
  volumeAttributes      {}string               #4 Attributes for the driver.
  nodePublishSecretRef  *LocalObjectReference  #5 The secret given to the driver when mounting.

EphemeralVolumeSource
| A volume provisioned for the pod from a claim template.
  volumeClaimTemplate  *PersistentVolumeClaimTemplate  #1 The claim made for the pod, named <pod>-<volume>.

PersistentVolumeClaimTemplate
| A claim to be created for a pod.
  metadata  ObjectMeta                  #1 Labels and annotations of the claim.
  spec      PersistentVolumeClaimSpec!  #2 The claim's spec.

PersistentVolumeClaimSpec
| The storage a claim asks for.
  accessModes                []string                    #1 How the volume may be mounted: ReadWriteOnce,
    | ReadOnlyMany, ReadWriteMany, ReadWriteOncePod.
    = ReadOnlyMany|ReadWriteMany|ReadWriteOnce|ReadWriteOncePod
  selector                   *LabelSelector              #4 Labels of the volumes that may be bound.
  resources                  VolumeResourceRequirements  #2 The size wanted (requests.storage).
  volumeName                 string                      #3 Bind to this volume.
  storageClassName           *string                     #5 The storage class that provisions the volume.
  volumeMode                 *string=Block|Filesystem    #6 Filesystem (the default) or Block.
  dataSource                 *TypedLocalObjectReference  #7 An object to fill the volume from (a snapshot or another
    | claim).
  dataSourceRef              *TypedObjectReference       #8 An object to fill the volume from, possibly in another
    | namespace.
  volumeAttributesClassName  *string                     #9 The volume attributes class of the volume.

VolumeResourceRequirements
| The size of a claimed volume.
  limits    {}Quantity  #1 The most the volume may have.
  requests  {}Quantity  #2 The least the volume must have (storage).

TypedLocalObjectReference
| Names an object of a kind in the same namespace.
  apiGroup  *string  #1 The object's API group; empty for the core group.
  kind      string!  #2 The object's kind.
  name      string!  #3 The object's name.

TypedObjectReference
| Names an object of a kind, possibly in another namespace.
  apiGroup   *string  #1 The object's API group; empty for the core group.
  kind       string!  #2 The object's kind.
  name       string!  #3 The object's name.
  namespace  *string  #4 The object's namespace.

ImageVolumeSource
| An OCI image or artifact mounted read-only.
  reference   string                            #1 The image reference, as in a container's image.
  pullPolicy  string=Always|IfNotPresent|Never  #2 When to pull: Always, Never or IfNotPresent.

Container
| One container of a pod: the image it runs, its command, environment, ports, resources, probes and mounts.
  name                      string!                            #1 The container's name, a DNS label unique in the
    | pod. Cannot be changed.
  image                     string                             #2 The image to run (nginx,
    | registry.example/app:1.2).
  command                   []string                           #3 The program to run, replacing the image's
    | ENTRYPOINT; not run in a shell. $(VAR) refers to an environment variable.
  args                      []string                           #4 Arguments to the program, replacing the image's
    | CMD. $(VAR) refers to an environment variable.
  workingDir                string                             #5 The directory the program starts in. Defaults to
    | the image's.
  ports                     []ContainerPort                    #6 Ports the container listens on. Informational: a
    | port not listed is still reachable.
  envFrom                   []EnvFromSource                    #19 Sources of environment variables: every key of a
    | config map or secret. Explicit env entries win.
  env                       []EnvVar                           #7 Environment variables of the container.
  resources                 ResourceRequirements               #8 The compute resources the container asks for
    | (requests, used for scheduling) and may use at most (limits).
  resizePolicy              []ContainerResizePolicy            #23 How the container is resized in place, per
    | resource.
  restartPolicy             *string                            #24 For init containers only: Always makes it a
    | sidecar that starts before and runs alongside the app containers.
  volumeMounts              []VolumeMount                      #9 The pod's volumes mounted into the container.
  volumeDevices             []VolumeDevice                     #21 Block devices of the pod's volumes exposed to the
    | container.
  livenessProbe             *Probe                             #10 A check that the container is alive; the kubelet
    | restarts it when it fails.
  readinessProbe            *Probe                             #11 A check that the container is ready for traffic;
    | the pod is not ready while it fails.
  startupProbe              *Probe                             #22 A check that the container has started; the other
    | probes wait until it succeeds.
  lifecycle                 *Lifecycle                         #12 Actions run right after the container starts and
    | just before it stops.
  terminationMessagePath    string                             #13 The file whose contents become the termination
    | message. Defaults to /dev/termination-log.
  terminationMessagePolicy  string=FallbackToLogsOnError|File  #20 File (the message comes from the file) or
    | FallbackToLogsOnError (from the end of the log when the file is empty and the container failed). Defaults to
    | File.
  imagePullPolicy           string=Always|IfNotPresent|Never   #14 When to pull the image: Always, Never or
    | IfNotPresent. Defaults to Always for :latest or no tag, else IfNotPresent.
  securityContext           *SecurityContext                   #15 Security settings for this container, overriding
    | the pod's.
  stdin                     bool                               #16 Keep a stdin open for the container (kubectl
    | attach).
  stdinOnce                 bool                               #17 Close stdin after the first attach ends.
  tty                       bool                               #18 Give the container a terminal; needs stdin.

ContainerPort
| A port a container listens on.
  name           string               #1 A name for the port (an IANA service name), unique in the pod; services may
    | refer to it.
  hostPort       int32                #2 A port of the node forwarded to this one.
  containerPort  int32!               #3 The port number, 1-65535.
  protocol       string=SCTP|TCP|UDP  #4 TCP, UDP or SCTP. Defaults to TCP.
  hostIP         string               #5 The node's address the host port binds to.

EnvFromSource
| A config map or secret whose keys all become environment variables.
  prefix        string               #1 A prefix added to every name.
  configMapRef  *ConfigMapEnvSource  #2 The config map.
  secretRef     *SecretEnvSource     #3 The secret.

ConfigMapEnvSource
| A config map whose keys become environment variables.
  ...       LocalObjectReference  #1
  optional  *bool                 #2 Whether the container may start when the config map is missing.

SecretEnvSource
| A secret whose keys become environment variables.
  ...       LocalObjectReference  #1
  optional  *bool                 #2 Whether the container may start when the secret is missing.

EnvVar
| One environment variable: a value, or where it comes from.
  name       string!        #1 The variable's name.
  value      string         #2 The value. $(VAR) refers to variables defined earlier; $$ is a literal $.
  valueFrom  *EnvVarSource  #3 Where the value comes from; only when value is empty.

EnvVarSource
| Where an environment variable's value comes from; exactly one is set.
  fieldRef          *ObjectFieldSelector    #1 A field of the pod (metadata.name, metadata.namespace, spec.nodeName,
    | status.podIP, …).
  resourceFieldRef  *ResourceFieldSelector  #2 A resource limit or request of the container.
  configMapKeyRef   *ConfigMapKeySelector   #3 A key of a config map.
  secretKeyRef      *SecretKeySelector      #4 A key of a secret.

ConfigMapKeySelector
| One key of a config map.
  ...       LocalObjectReference  #1
  key       string!               #2 The key.
  optional  *bool                 #3 Whether the container may start when the config map or key is missing.

SecretKeySelector
| One key of a secret.
  ...       LocalObjectReference  #1
  key       string!               #2 The key.
  optional  *bool                 #3 Whether the container may start when the secret or key is missing.

ResourceRequirements
| Compute resources (cpu, memory, ephemeral-storage): what is requested and the limit.
  limits    {}Quantity       #1 The most the container may use: more memory gets it killed, more cpu throttled.
  requests  {}Quantity       #2 What the container needs; the scheduler places pods by requests. Defaults to the
    | limits.
  claims    []ResourceClaim  #3 Names of the pod's resource claims the container uses.

ResourceClaim
| A resource claim of the pod that a container uses.
  name     string!  #1 The name of an entry of the pod's resourceClaims.
  request  string   #2 One request of the claim; empty for all of it.

ContainerResizePolicy
| How a container is resized for one resource.
  resourceName   string!  #1 The resource (cpu, memory).
  restartPolicy  string!  #2 NotRequired (resize in place) or RestartContainer.

VolumeMount
| A volume of the pod mounted into a container.
  name               string!                                     #1 The volume's name.
  readOnly           bool                                        #2 Mount read-only.
  recursiveReadOnly  *string                                     #7 Make submounts read-only too: Disabled,
    | IfPossible or Enabled.
  mountPath          string!                                     #3 Where in the container the volume appears; no
    | colons.
  subPath            string                                      #4 Mount this path of the volume instead of its
    | root.
  mountPropagation   *string=Bidirectional|HostToContainer|None  #5 How mounts propagate between the node and the
    | container: None, HostToContainer or Bidirectional.
  subPathExpr        string                                      #6 Like subPath, with $(VAR) expanded from the
    | environment.

VolumeDevice
| A block volume exposed as a device.
  name        string!  #1 The volume's name (a persistent volume claim of the pod).
  devicePath  string!  #2 The device's path in the container.

Probe
| A periodic check of a container, by exactly one of exec, httpGet, tcpSocket or grpc.
  ...                            ProbeHandler  #1
  initialDelaySeconds            int32         #2 Seconds after the container starts before the first check.
  timeoutSeconds                 int32         #3 Seconds after which a check fails. Defaults to 1.
  periodSeconds                  int32         #4 Seconds between checks. Defaults to 10.
  successThreshold               int32         #5 Successes in a row, after a failure, for the probe to pass.
    | Defaults to 1; must be 1 for liveness and startup probes.
  failureThreshold               int32         #6 Failures in a row for the probe to fail. Defaults to 3.
  terminationGracePeriodSeconds  *int64        #7 The grace period of a restart after a liveness or startup probe
    | fails, instead of the pod's.

ProbeHandler
| How a probe checks the container; exactly one is set.
  exec       *ExecAction       #1 Run a command in the container; exit code 0 passes.
  httpGet    *HTTPGetAction    #2 GET a URL of the container; a status of 200-399 passes.
  tcpSocket  *TCPSocketAction  #3 Open a TCP connection; a connection passes.
  grpc       *GRPCAction       #4 Call the gRPC health service; SERVING passes.

ExecAction
| A command run in the container.
  command  []string  #1 The command and its arguments; not run in a shell unless you call one.

HTTPGetAction
| An HTTP GET request.
  path         string             #1 The path. Defaults to /.
  port         IntOrString!       #2 The port, by number or by name.
  host         string             #3 The host to connect to. Defaults to the pod's IP.
  scheme       string=HTTP|HTTPS  #4 HTTP or HTTPS. Defaults to HTTP.
  httpHeaders  []HTTPHeader       #5 Headers sent with the request.

HTTPHeader
| An HTTP header.
  name   string!  #1 The header's name.
  value  string!  #2 The header's value.

TCPSocketAction
| A TCP connection attempt.
  port  IntOrString!  #1 The port, by number or by name.
  host  string        #2 The host to connect to. Defaults to the pod's IP.

GRPCAction
| A call of the gRPC health checking service.
  port     int32!   #1 The port.
  service  *string  #2 The service name given to the health check. Defaults to "".

Lifecycle
| Actions the kubelet runs when a container starts and before it stops.
  postStart  *LifecycleHandler  #1 Runs right after the container is created; if it fails, the container is
    | restarted.
  preStop    *LifecycleHandler  #2 Runs before the container is stopped, within the grace period.

LifecycleHandler
| One lifecycle action; exactly one is set.
  exec       *ExecAction       #1 Run a command in the container.
  httpGet    *HTTPGetAction    #2 GET a URL of the container.
  tcpSocket  *TCPSocketAction  #3 Deprecated; not run.
  sleep      *SleepAction      #4 Wait a while.

SleepAction
| A pause.
  seconds  int64!  #1 How many seconds to wait.

SecurityContext
| Security settings of a container; they override the pod's.
  capabilities              *Capabilities                   #1 Linux capabilities to add and drop.
  privileged                *bool                           #2 Run with every capability and access to the node's
    | devices.
  seLinuxOptions            *SELinuxOptions                 #3 The SELinux context.
  windowsOptions            *WindowsSecurityContextOptions  #10 Windows settings.
  runAsUser                 *int64                          #4 The user id the process runs as. Defaults to the
    | image's.
  runAsGroup                *int64                          #8 The group id the process runs as.
  runAsNonRoot              *bool                           #5 Refuse to start the container if it would run as root
    | (uid 0).
  readOnlyRootFilesystem    *bool                           #6 Mount the container's root file system read-only.
  allowPrivilegeEscalation  *bool                           #7 Whether a process can gain more privileges than its
    | parent (no_new_privs).
  procMount                 *string=Default|Unmasked        #9 Default or Unmasked /proc.
  seccompProfile            *SeccompProfile                 #11 The seccomp filter.
  appArmorProfile           *AppArmorProfile                #12 The AppArmor profile.

Capabilities
| Linux capabilities to add to and drop from the runtime's default set.
  add   []string  #1 Capabilities to add (NET_ADMIN).
  drop  []string  #2 Capabilities to drop (ALL).

SELinuxOptions
| An SELinux context.
  user   string  #1 The SELinux user.
  role   string  #2 The SELinux role.
  type   string  #3 The SELinux type.
  level  string  #4 The SELinux level.

WindowsSecurityContextOptions
| Settings of Windows containers.
  gmsaCredentialSpecName  *string  #1 The name of the GMSA credential spec.
  gmsaCredentialSpec      *string  #2 The GMSA credential spec itself.
  runAsUserName           *string  #3 The Windows user name to run as.
  hostProcess             *bool    #4 Run as a host process.

SeccompProfile
| A seccomp profile.
  type              string=Localhost|RuntimeDefault|Unconfined!  #1 RuntimeDefault, Unconfined or Localhost.
  localhostProfile  *string                                      #2 The profile's file on the node, for type
    | Localhost.

AppArmorProfile
| An AppArmor profile.
  type              string=Localhost|RuntimeDefault|Unconfined!  #1 RuntimeDefault, Unconfined or Localhost.
  localhostProfile  *string                                      #2 The profile loaded on the node, for type
    | Localhost.

EphemeralContainer
| A debugging container added to a running pod. It has no ports, probes or resources and is never restarted.
  ...                  EphemeralContainerCommon  #1
  targetContainerName  string                    #2 The container whose process namespace it joins.

EphemeralContainerCommon
| The fields an ephemeral container shares with a container.
  name                      string!                            #1 The container's name, a DNS label unique in the
    | pod. Cannot be changed.
  image                     string                             #2 The image to run (nginx,
    | registry.example/app:1.2).
  command                   []string                           #3 The program to run, replacing the image's
    | ENTRYPOINT; not run in a shell. $(VAR) refers to an environment variable.
  args                      []string                           #4 Arguments to the program, replacing the image's
    | CMD. $(VAR) refers to an environment variable.
  workingDir                string                             #5 The directory the program starts in. Defaults to
    | the image's.
  ports                     []ContainerPort                    #6 Ports the container listens on. Informational: a
    | port not listed is still reachable.
  envFrom                   []EnvFromSource                    #19 Sources of environment variables: every key of a
    | config map or secret. Explicit env entries win.
  env                       []EnvVar                           #7 Environment variables of the container.
  resources                 ResourceRequirements               #8 The compute resources the container asks for
    | (requests, used for scheduling) and may use at most (limits).
  resizePolicy              []ContainerResizePolicy            #23 How the container is resized in place, per
    | resource.
  restartPolicy             *string                            #24 For init containers only: Always makes it a
    | sidecar that starts before and runs alongside the app containers.
  volumeMounts              []VolumeMount                      #9 The pod's volumes mounted into the container.
  volumeDevices             []VolumeDevice                     #21 Block devices of the pod's volumes exposed to the
    | container.
  livenessProbe             *Probe                             #10 A check that the container is alive; the kubelet
    | restarts it when it fails.
  readinessProbe            *Probe                             #11 A check that the container is ready for traffic;
    | the pod is not ready while it fails.
  startupProbe              *Probe                             #22 A check that the container has started; the other
    | probes wait until it succeeds.
  lifecycle                 *Lifecycle                         #12 Actions run right after the container starts and
    | just before it stops.
  terminationMessagePath    string                             #13 The file whose contents become the termination
    | message. Defaults to /dev/termination-log.
  terminationMessagePolicy  string=FallbackToLogsOnError|File  #20 File (the message comes from the file) or
    | FallbackToLogsOnError (from the end of the log when the file is empty and the container failed). Defaults to
    | File.
  imagePullPolicy           string=Always|IfNotPresent|Never   #14 When to pull the image: Always, Never or
    | IfNotPresent. Defaults to Always for :latest or no tag, else IfNotPresent.
  securityContext           *SecurityContext                   #15 Security settings for this container, overriding
    | the pod's.
  stdin                     bool                               #16 Keep a stdin open for the container (kubectl
    | attach).
  stdinOnce                 bool                               #17 Close stdin after the first attach ends.
  tty                       bool                               #18 Give the container a terminal; needs stdin.

PodSecurityContext
| Security settings for all of a pod's containers, and for its volumes.
  seLinuxOptions            *SELinuxOptions                 #1 The SELinux context of every container.
  windowsOptions            *WindowsSecurityContextOptions  #8 Windows settings of every container.
  runAsUser                 *int64                          #2 The user id the containers run as.
  runAsGroup                *int64                          #6 The group id the containers run as.
  runAsNonRoot              *bool                           #3 Refuse to start a container that would run as root.
  supplementalGroups        []int64                         #4 Further group ids of the containers' processes.
  supplementalGroupsPolicy  *string=Merge|Strict            #12 Merge (add the image's groups) or Strict (only
    | these).
  fsGroup                   *int64                          #5 A group that owns the pod's volumes and is added to
    | every process.
  sysctls                   []Sysctl                        #7 Namespaced kernel parameters set for the pod.
  fsGroupChangePolicy       *string=Always|OnRootMismatch   #9 When volume ownership is changed: OnRootMismatch or
    | Always.
  seccompProfile            *SeccompProfile                 #10 The seccomp filter of every container.
  appArmorProfile           *AppArmorProfile                #11 The AppArmor profile of every container.
  seLinuxChangePolicy       *string                         #13 How the SELinux label is applied to volumes:
    | Recursive or MountOption.

Sysctl
| A kernel parameter.
  name   string!  #1 The parameter (net.core.somaxconn).
  value  string!  #2 Its value.

Affinity
| Scheduling rules of a pod.
  nodeAffinity     *NodeAffinity     #1 Which nodes the pod prefers or needs.
  podAffinity      *PodAffinity      #2 Pods this pod should run near (same topology domain).
  podAntiAffinity  *PodAntiAffinity  #3 Pods this pod should run away from.

NodeAffinity
| Rules about the labels of the node a pod runs on.
  requiredDuringSchedulingIgnoredDuringExecution   *NodeSelector              #1 The node must match; checked only
    | when scheduling.
  preferredDuringSchedulingIgnoredDuringExecution  []PreferredSchedulingTerm  #2 Nodes that match are preferred, by
    | weight.

NodeSelector
| Matches nodes: any one of the terms must match (OR).
  nodeSelectorTerms  []NodeSelectorTerm!  #1 The terms.

NodeSelectorTerm
| Requirements on a node's labels and fields, all of which must hold (AND).
  matchExpressions  []NodeSelectorRequirement  #1 Requirements on labels.
  matchFields       []NodeSelectorRequirement  #2 Requirements on fields (metadata.name).

NodeSelectorRequirement
| One requirement on a node label or field.
  key       string!                                     #1 The label key or field.
  operator  string=DoesNotExist|Exists|Gt|In|Lt|NotIn!  #2 In, NotIn, Exists, DoesNotExist, Gt or Lt.
  values    []string                                    #3 The values; one integer for Gt and Lt, none for Exists
    | and DoesNotExist.

PreferredSchedulingTerm
| A node preference with a weight.
  weight      int32!             #1 The weight, 1-100, added to the score of a node that matches.
  preference  NodeSelectorTerm!  #2 The term a node should match.

PodAffinity
| Rules placing a pod in the same topology domain as other pods.
  requiredDuringSchedulingIgnoredDuringExecution   []PodAffinityTerm          #1 Terms that must hold; checked only
    | when scheduling.
  preferredDuringSchedulingIgnoredDuringExecution  []WeightedPodAffinityTerm  #2 Terms that are preferred, by
    | weight.

PodAffinityTerm
| A set of pods and a topology key: the pod is placed in (or kept out of) a domain, the nodes sharing the key's
| value, where such pods run.
  labelSelector      *LabelSelector  #1 The pods.
  namespaces         []string        #2 The namespaces of the pods. Defaults to the pod's own.
  topologyKey        string!         #3 The node label whose values make the domains (kubernetes.io/hostname,
    | topology.kubernetes.io/zone).
  namespaceSelector  *LabelSelector  #4 Namespaces of the pods, by label.
  matchLabelKeys     []string        #5 Label keys whose values, taken from the incoming pod, are added to the
    | selector.
  mismatchLabelKeys  []string        #6 Label keys whose values, taken from the incoming pod, must differ.

WeightedPodAffinityTerm
| A pod affinity term with a weight.
  weight           int32!            #1 The weight, 1-100.
  podAffinityTerm  PodAffinityTerm!  #2 The term.

PodAntiAffinity
| Rules keeping a pod out of the topology domains of other pods.
  requiredDuringSchedulingIgnoredDuringExecution   []PodAffinityTerm          #1 Terms that must hold; checked only
    | when scheduling.
  preferredDuringSchedulingIgnoredDuringExecution  []WeightedPodAffinityTerm  #2 Terms that are preferred, by
    | weight.

Toleration
| Lets a pod be scheduled onto (or stay on) a node with a matching taint.
  key                string                                        #1 The taint key; empty with operator Exists
    | matches every taint.
  operator           string=Equal|Exists                           #2 Equal (the value must match) or Exists.
    | Defaults to Equal.
  value              string                                        #3 The taint value, for Equal.
  effect             string=NoExecute|NoSchedule|PreferNoSchedule  #4 The taint effect matched: NoSchedule,
    | PreferNoSchedule or NoExecute; empty matches all.
  tolerationSeconds  *int64                                        #5 For NoExecute: how long the pod stays after
    | the taint appears; unset is forever.

HostAlias
| An /etc/hosts entry.
  ip         string!   #1 The address.
  hostnames  []string  #2 The names for it.

PodDNSConfig
| DNS settings of a pod.
  nameservers  []string              #1 DNS servers.
  searches     []string              #2 Search domains.
  options      []PodDNSConfigOption  #3 Resolver options.

PodDNSConfigOption
| A resolver option.
  name   string   #1 The option (ndots).
  value  *string  #2 Its value.

PodReadinessGate
| An extra condition for a pod's readiness.
  conditionType  string!  #1 The type of a condition of the pod that must be True.

TopologySpreadConstraint
| How a pod's matching pods spread across topology domains.
  maxSkew             int32!                                #1 The most the number of matching pods may differ
    | between two domains.
  topologyKey         string!                               #2 The node label whose values make the domains.
  whenUnsatisfiable   string=DoNotSchedule|ScheduleAnyway!  #3 DoNotSchedule or ScheduleAnyway (prefer the least
    | skew).
  labelSelector       *LabelSelector                        #4 The pods counted.
  minDomains          *int32                                #5 The least number of domains; fewer count as having
    | zero pods.
  nodeAffinityPolicy  *string=Honor|Ignore                  #6 Honor (count only nodes the pod's node affinity
    | allows) or Ignore.
  nodeTaintsPolicy    *string=Honor|Ignore                  #7 Honor (count only nodes whose taints the pod
    | tolerates) or Ignore.
  matchLabelKeys      []string                              #8 Label keys whose values, taken from the incoming pod,
    | are added to the selector.

PodOS
| The operating system a pod needs.
  name  string!  #1 linux or windows.

PodSchedulingGate
| A gate that holds a pod back from scheduling.
  name  string!  #1 The gate's name.

PodResourceClaim
| A resource claim a pod uses.
  name                       string!  #1 The name containers use for it.
  resourceClaimName          *string  #3 An existing claim.
  resourceClaimTemplateName  *string  #4 A template from which a claim is made for the pod.

PodStatus
| The observed state of a pod.
  phase                       string=Failed|Pending|Running|Succeeded|Unknown  #1 Where the pod is in its life:
    | Pending, Running, Succeeded, Failed or Unknown.
  conditions                  []PodCondition                                   #2 The latest observations:
    | PodScheduled, Initialized, ContainersReady, Ready.
  message                     string                                           #3 Why the pod is in this state.
  reason                      string                                           #4 A short CamelCase reason
    | (Evicted).
  nominatedNodeName           string                                           #11 The node a preempting pod is
    | expected to land on.
  hostIP                      string                                           #5 The address of the pod's node.
  hostIPs                     []HostIP                                         #16 The addresses of the pod's node.
  podIP                       string                                           #6 The pod's address.
  podIPs                      []PodIP                                          #12 The pod's addresses, one per IP
    | family.
  startTime                   *Time                                            #7 When the kubelet accepted the pod.
  initContainerStatuses       []ContainerStatus                                #10 The state of each init container.
  containerStatuses           []ContainerStatus                                #8 The state of each container.
  qosClass                    string=BestEffort|Burstable|Guaranteed           #9 The quality-of-service class from
    | the resources: Guaranteed, Burstable or BestEffort.
  ephemeralContainerStatuses  []ContainerStatus                                #13 The state of each ephemeral
    | container.
  resize                      string                                           #14 The state of an in-place resize.
  resourceClaimStatuses       []PodResourceClaimStatus                         #15 The claims made for the pod.

PodCondition
| One observation of a pod's state.
  type                string!  #1 The kind of condition.
  status              string!  #2 Whether the condition holds: True, False or Unknown.
  lastProbeTime       Time     #3 When the condition was last checked.
  lastTransitionTime  Time     #4 When the status last changed.
  reason              string   #5 A one-word CamelCase reason for the last transition.
  message             string   #6 A human-readable account of the last transition.

HostIP
| An address of a pod's node.
  ip  string!  #1 The address.

PodIP
| An address of a pod.
  ip  string!  #1 The address.

ContainerStatus
| The state of one container of a pod.
  name                      string!                #1 The container's name.
  state                     ContainerState         #2 The container's current state.
  lastState                 ContainerState         #3 The state in which the container last ended.
  ready                     bool!                  #4 Whether the container passes its readiness probe.
  restartCount              int32!                 #5 How many times the container was restarted.
  image                     string!                #6 The image it runs.
  imageID                   string!                #7 The image's id.
  containerID               string                 #8 The container's id, <runtime>://<id>.
  started                   *bool                  #9 Whether the container has passed its startup probe.
  allocatedResources        {}Quantity             #10 The resources the node allocated to the container.
  resources                 *ResourceRequirements  #11 The resources the container runs with.
  volumeMounts              []VolumeMountStatus    #12 The volumes mounted.
  user                      *ContainerUser         #13 The user the process runs as.
  allocatedResourcesStatus  []ResourceStatus       #14 The health of allocated resources.

ContainerState
| The state of a container; exactly one is set.
  waiting     *ContainerStateWaiting     #1 Not running yet (or again).
  running     *ContainerStateRunning     #2 Running.
  terminated  *ContainerStateTerminated  #3 Ended.

ContainerStateWaiting
| A container waiting to run.
  reason   string  #1 Why (ContainerCreating, CrashLoopBackOff, ErrImagePull).
  message  string  #2 More about why.

ContainerStateRunning
| A running container.
  startedAt  Time  #1 When it last started.

ContainerStateTerminated
| A container that ended.
  exitCode     int32!  #1 Its exit code.
  signal       int32   #2 The signal that ended it.
  reason       string  #3 Why it ended (Completed, Error, OOMKilled).
  message      string  #4 More about why.
  startedAt    Time    #5 When it started.
  finishedAt   Time    #6 When it ended.
  containerID  string  #7 The container's id.

VolumeMountStatus
| A volume mounted into a container.
  name               string!  #1 The volume's name.
  mountPath          string!  #2 Where it is mounted.
  readOnly           bool     #3 Whether it is read-only.
  recursiveReadOnly  *string  #4 Whether submounts are read-only.

ContainerUser
| The identity a container's process runs with.
  linux  *LinuxContainerUser  #1 The Linux ids.

LinuxContainerUser
| Linux user and group ids.
  uid                 int64!   #1 The user id.
  gid                 int64!   #2 The group id.
  supplementalGroups  []int64  #3 Further group ids.

ResourceStatus
| The health of the devices of one resource.
  name       string!           #1 The resource.
  resources  []ResourceHealth  #2 The health of each device.

ResourceHealth
| The health of one device.
  resourceID  string!  #1 The device's id.
  health      string   #2 Healthy, Unhealthy or Unknown.

PodResourceClaimStatus
| The claim made for a pod's resource claim.
  name               string!  #1 The name in the pod's resourceClaims.
  resourceClaimName  *string  #2 The claim made.

Node
| A machine (here: an emulated one) that runs pods, registered by its kubelet.
  apiVersion  string      - The versioned schema of this object, such as v1 or apps/v1. Servers convert recognized
    | schemas to the latest internal value.
  kind        string      - The REST resource type this object represents, in CamelCase, such as Pod. Clients may
    | send it; servers set it.
  metadata    ObjectMeta  #1 Standard object metadata: name, namespace, labels, annotations and the fields the
    | server maintains.
  spec        NodeSpec    #2 How the node is configured: its pod address range, taints, and whether pods may be
    | scheduled onto it.
  status      NodeStatus  #3 The node as its kubelet last reported it. Read-only.

NodeSpec
| The configuration of a node.
  podCIDR        string             #1 The address range of the node's pods.
  podCIDRs       []string           #7 The address ranges of the node's pods, one per IP family.
  providerID     string             #3 The node's id at its cloud provider.
  unschedulable  bool               #4 When true, no new pods are scheduled onto the node (kubectl cordon).
  taints         []Taint            #5 Taints that repel pods that do not tolerate them.
  configSource   *NodeConfigSource  #6 Deprecated and ignored.
  externalID     string             #2 Deprecated and ignored.

Taint
| Marks a node so that pods without a matching toleration are kept away.
  key        string!                                        #1 The taint's key.
  value      string                                         #2 The taint's value.
  effect     string=NoExecute|NoSchedule|PreferNoSchedule!  #3 NoSchedule (no new pods), PreferNoSchedule (avoid) or
    | NoExecute (also evict running pods).
  timeAdded  *Time                                          #4 When a NoExecute taint was added.

NodeConfigSource
| Deprecated: the source of a node's configuration.
  configMap  *ConfigMapNodeConfigSource  #2 A config map with the configuration.

ConfigMapNodeConfigSource
| Deprecated: a config map holding a kubelet's configuration.
  namespace         string!  #1 The config map's namespace.
  name              string!  #2 The config map's name.
  uid               string   #3 The config map's uid.
  resourceVersion   string   #4 The config map's resource version.
  kubeletConfigKey  string!  #5 The key holding the configuration.

NodeStatus
| The observed state of a node.
  capacity         {}Quantity                         #1 The node's total resources.
  allocatable      {}Quantity                         #2 The resources left for pods.
  phase            string=Pending|Running|Terminated  #3 Deprecated and not set.
  conditions       []NodeCondition                    #4 The latest observations: Ready, MemoryPressure,
    | DiskPressure, PIDPressure.
  addresses        []NodeAddress                      #5 The node's addresses (InternalIP, Hostname).
  daemonEndpoints  NodeDaemonEndpoints                #6 Where the node's kubelet listens.
  nodeInfo         NodeSystemInfo                     #7 Facts about the node: kernel, OS, runtime and kubelet
    | versions.
  images           []ContainerImage                   #8 Images present on the node.
  volumesInUse     []string                           #9 Volumes in use.
  volumesAttached  []AttachedVolume                   #10 Volumes attached.
  config           *NodeConfigStatus                  #11 Deprecated: the state of dynamic configuration.
  runtimeHandlers  []NodeRuntimeHandler               #12 The runtime handlers available.
  features         *NodeFeatures                      #13 Features the node supports.

NodeCondition
| One observation of a node's state.
  type                string!  #1 The kind of condition.
  status              string!  #2 Whether the condition holds: True, False or Unknown.
  lastHeartbeatTime   Time     #3 When the condition was last reported.
  lastTransitionTime  Time     #4 When the status last changed.
  reason              string   #5 A one-word CamelCase reason for the last transition.
  message             string   #6 A human-readable account of the last transition.

NodeAddress
| An address of a node.
  type     string!  #1 Hostname, InternalIP, ExternalIP, InternalDNS or ExternalDNS.
  address  string!  #2 The address.

NodeDaemonEndpoints
| The ports of a node's daemons.
  kubeletEndpoint  DaemonEndpoint  #1 The kubelet's port.

DaemonEndpoint
| A daemon's port.
  Port  int32!  #1 The port number.

NodeSystemInfo
| Facts about a node.
  machineID                string!  #1 The machine id.
  systemUUID               string!  #2 The system UUID.
  bootID                   string!  #3 The boot id.
  kernelVersion            string!  #4 The kernel version (uname -r).
  osImage                  string!  #5 The operating system (from /etc/os-release).
  containerRuntimeVersion  string!  #6 The container runtime and its version.
  kubeletVersion           string!  #7 The kubelet's version.
  kubeProxyVersion         string!  #8 Deprecated: the kube-proxy's version.
  operatingSystem          string!  #9 linux or windows.
  architecture             string!  #10 The CPU architecture (amd64).

ContainerImage
| An image present on a node.
  names      []string  #1 Its names.
  sizeBytes  int64     #2 Its size.

AttachedVolume
| A volume attached to a node.
  name        string!  #1 The volume's name.
  devicePath  string!  #2 Where the device is.

NodeConfigStatus
| Deprecated: the state of a node's dynamic configuration.
  assigned       *NodeConfigSource  #1 The assigned configuration.
  active         *NodeConfigSource  #2 The active configuration.
  lastKnownGood  *NodeConfigSource  #3 The last configuration that worked.
  error          string             #4 An error.

NodeRuntimeHandler
| A runtime handler of a node.
  name      string                       #1 The handler's name; empty for the default.
  features  *NodeRuntimeHandlerFeatures  #2 What the handler supports.

NodeRuntimeHandlerFeatures
| What a runtime handler supports.
  recursiveReadOnlyMounts  *bool  #1 Recursive read-only mounts.
  userNamespaces           *bool  #2 User namespaces.

NodeFeatures
| Features a node supports.
  supplementalGroupsPolicy  *bool  #1 The supplementalGroupsPolicy of pods.

Namespace
| A scope for names: most objects live in a namespace, and deleting it deletes everything in it.
  apiVersion  string           - The versioned schema of this object, such as v1 or apps/v1. Servers convert
    | recognized schemas to the latest internal value.
  kind        string           - The REST resource type this object represents, in CamelCase, such as Pod. Clients
    | may send it; servers set it.
  metadata    ObjectMeta       #1 Standard object metadata: name, namespace, labels, annotations and the fields the
    | server maintains.
  spec        NamespaceSpec    #2 The namespace's finalizers.
  status      NamespaceStatus  #3 Whether the namespace is active or being deleted. Read-only.

NamespaceSpec
| The configuration of a namespace.
  finalizers  []string  #1 What must happen before the namespace is removed: kubernetes, the deletion of its
    | contents.

NamespaceStatus
| The observed state of a namespace.
  phase       string=Active|Terminating  #1 Active, or Terminating while its contents are deleted.
  conditions  []NamespaceCondition       #2 The latest observations of the namespace.

NamespaceCondition
| One observation of a namespace's state.
  type                string!  #1 The kind of condition.
  status              string!  #2 Whether the condition holds: True, False or Unknown.
  lastTransitionTime  Time     #4 When the status last changed.
  reason              string   #5 A one-word CamelCase reason for the last transition.
  message             string   #6 A human-readable account of the last transition.

Event
| A report of something that happened to an object: scheduled, pulled, started, failed. Events expire after an hour.
  apiVersion          string            - The versioned schema of this object, such as v1 or apps/v1. Servers
    | convert recognized schemas to the latest internal value.
  kind                string            - The REST resource type this object represents, in CamelCase, such as Pod.
    | Clients may send it; servers set it.
  metadata            ObjectMeta        #1 Standard object metadata: name, namespace, labels, annotations and the
    | fields the server maintains.
  involvedObject      ObjectReference!  #2 The object the event is about.
  reason              string            #3 A short CamelCase reason (Scheduled, Pulled, BackOff).
  message             string            #4 What happened, for people.
  source              EventSource       #5 The component that reported it.
  firstTimestamp      Time              #6 When it first happened.
  lastTimestamp       Time              #7 When it last happened.
  count               int32             #8 How many times it happened.
  type                string            #9 Normal or Warning.
  eventTime           MicroTime         #10 When it first happened, to the microsecond.
  series              *EventSeries      #11 The series of events it belongs to.
  action              string            #12 What was done or failed.
  related             *ObjectReference  #13 A second object involved.
  reportingComponent  string            #14 The controller that reported it (kubelet, default-scheduler).
  reportingInstance   string            #15 The instance of that controller (the node's name).

ObjectReference
| Names an object, possibly a field of it.
  kind             string  #1 The object's kind.
  namespace        string  #2 The object's namespace.
  name             string  #3 The object's name.
  uid              string  #4 The object's uid.
  apiVersion       string  #5 The object's API version.
  resourceVersion  string  #6 The object's resource version, when it matters.
  fieldPath        string  #7 A part of the object (spec.containers{web}).

EventSource
| The component that reported an event.
  component  string  #1 The component (kubelet, default-scheduler).
  host       string  #2 The node it runs on.

EventSeries
| A series of like events.
  count             int32      #1 How many events so far.
  lastObservedTime  MicroTime  #2 When the last one happened.

ServiceAccount
| An identity for the processes of pods, with its tokens and image pull secrets.
  apiVersion                    string                  - The versioned schema of this object, such as v1 or
    | apps/v1. Servers convert recognized schemas to the latest internal value.
  kind                          string                  - The REST resource type this object represents, in
    | CamelCase, such as Pod. Clients may send it; servers set it.
  metadata                      ObjectMeta              #1 Standard object metadata: name, namespace, labels,
    | annotations and the fields the server maintains.
  secrets                       []ObjectReference       #2 Secrets the pods of this account may use; deprecated for
    | tokens.
  imagePullSecrets              []LocalObjectReference  #3 Registry credentials added to the pods of this account.
  automountServiceAccountToken  *bool                   #4 Whether pods of this account get its token mounted by
    | default.

ConfigMap
| Configuration data as key/value pairs, for pods to read as environment variables or files.
  apiVersion  string      - The versioned schema of this object, such as v1 or apps/v1. Servers convert recognized
    | schemas to the latest internal value.
  kind        string      - The REST resource type this object represents, in CamelCase, such as Pod. Clients may
    | send it; servers set it.
  metadata    ObjectMeta  #1 Standard object metadata: name, namespace, labels, annotations and the fields the
    | server maintains.
  immutable   *bool       #4 When true, the data cannot change (only deletion is allowed).
  data        {}string    #2 Text values by key. Keys: alphanumerics, -, _ and .
  binaryData  {}bytes     #3 Binary values by key, base64 encoded; keys may not repeat those of data.

Secret
| Sensitive data (passwords, tokens, keys) as key/value pairs, for pods to read as environment variables or files.
  apiVersion  string      - The versioned schema of this object, such as v1 or apps/v1. Servers convert recognized
    | schemas to the latest internal value.
  kind        string      - The REST resource type this object represents, in CamelCase, such as Pod. Clients may
    | send it; servers set it.
  metadata    ObjectMeta  #1 Standard object metadata: name, namespace, labels, annotations and the fields the
    | server maintains.
  immutable   *bool       #5 When true, the data cannot change (only deletion is allowed).
  data        {}bytes     #2 Values by key, base64 encoded.
  stringData  {}string    #4 Values by key as plain text, merged into data on write; write-only.
  type        string      #3 What the secret holds, for checks and tools: Opaque (the default), kubernetes.io/tls,
    | kubernetes.io/dockerconfigjson, kubernetes.io/service-account-token, …

LimitRange
| Defaults and bounds for the resources of each pod or container in a namespace, applied at admission.
  apiVersion  string          - The versioned schema of this object, such as v1 or apps/v1. Servers convert
    | recognized schemas to the latest internal value.
  kind        string          - The REST resource type this object represents, in CamelCase, such as Pod. Clients
    | may send it; servers set it.
  metadata    ObjectMeta      #1 Standard object metadata: name, namespace, labels, annotations and the fields the
    | server maintains.
  spec        LimitRangeSpec  #2 The limits.

LimitRangeSpec
| The limits of a limit range.
  limits  []LimitRangeItem!  #1 The limits, per kind of object.

LimitRangeItem
| Bounds and defaults for one kind of object.
  type                  string!     #1 What the limits apply to: Container, Pod or PersistentVolumeClaim.
  max                   {}Quantity  #2 The most of each resource.
  min                   {}Quantity  #3 The least of each resource.
  default               {}Quantity  #4 The limits given to a container that sets none.
  defaultRequest        {}Quantity  #5 The requests given to a container that sets none.
  maxLimitRequestRatio  {}Quantity  #6 The largest limit-to-request ratio.

ResourceQuota
| Caps the total resources and objects of a namespace; a create that would pass the cap is refused.
  apiVersion  string               - The versioned schema of this object, such as v1 or apps/v1. Servers convert
    | recognized schemas to the latest internal value.
  kind        string               - The REST resource type this object represents, in CamelCase, such as Pod.
    | Clients may send it; servers set it.
  metadata    ObjectMeta           #1 Standard object metadata: name, namespace, labels, annotations and the fields
    | the server maintains.
  spec        ResourceQuotaSpec    #2 The caps.
  status      ResourceQuotaStatus  #3 What is used. Read-only.

ResourceQuotaSpec
| The caps of a quota.
  hard           {}Quantity      #1 The cap per resource (pods, requests.cpu, limits.memory, configmaps,
    | count/deployments.apps).
  scopes         []string        #2 Which objects the quota counts (Terminating, BestEffort, …).
    = BestEffort|CrossNamespacePodAffinity|NotBestEffort|NotTerminating|PriorityClass|Terminating
  scopeSelector  *ScopeSelector  #3 Which objects the quota counts, as expressions.

ScopeSelector
| Selects objects by quota scope.
  matchExpressions  []ScopedResourceSelectorRequirement  #1 The requirements.

ScopedResourceSelectorRequirement
| A requirement on a quota scope.
  scopeName  string!                               #1 The scope.
    = BestEffort|CrossNamespacePodAffinity|NotBestEffort|NotTerminating|PriorityClass|Terminating
  operator   string=DoesNotExist|Exists|In|NotIn!  #2 In, NotIn, Exists or DoesNotExist.
  values     []string                              #3 The values.

ResourceQuotaStatus
| What a quota allows and what is used.
  hard  {}Quantity  #1 The enforced caps.
  used  {}Quantity  #2 The current use.

PodTemplateSpec
| The pod a controller creates: its metadata (labels) and spec.
  metadata  ObjectMeta  #1 Labels and annotations of the pods.
  spec      PodSpec     #2 The pods' spec.

PersistentVolumeClaim
| A request for storage; bound to a persistent volume that satisfies it.
  apiVersion  string                       - The versioned schema of this object, such as v1 or apps/v1. Servers
    | convert recognized schemas to the latest internal value.
  kind        string                       - The REST resource type this object represents, in CamelCase, such as
    | Pod. Clients may send it; servers set it.
  metadata    ObjectMeta                   #1 Standard object metadata: name, namespace, labels, annotations and the
    | fields the server maintains.
  spec        PersistentVolumeClaimSpec    #2 The storage wanted.
  status      PersistentVolumeClaimStatus  #3 The claim's state.

PersistentVolumeClaimStatus
| The observed state of a claim.
  phase                             string=Bound|Lost|Pending         #1 Pending, Bound or Lost.
  accessModes                       []string                          #2 The access modes of the bound volume.
    = ReadOnlyMany|ReadWriteMany|ReadWriteOnce|ReadWriteOncePod
  capacity                          {}Quantity                        #3 The size of the bound volume.
  conditions                        []PersistentVolumeClaimCondition  #4 The latest observations of the claim.
  allocatedResources                {}Quantity                        #5 The resources allocated to the claim.
  allocatedResourceStatuses         {}string                          #7 The state of resizes in progress.
    = ControllerResizeInProgress|ControllerResizeInfeasible|NodeResizeInProgress|NodeResizeInfeasible|NodeResizePending
  currentVolumeAttributesClassName  *string                           #8 The volume attributes class in effect.
  modifyVolumeStatus                *ModifyVolumeStatus               #9 The state of a change of volume attributes
    | class.

PersistentVolumeClaimCondition
| One observation of a claim's state.
  type                string!  #1 The kind of condition.
  status              string!  #2 Whether the condition holds: True, False or Unknown.
  lastProbeTime       Time     #3 When the condition was last checked.
  lastTransitionTime  Time     #4 When the status last changed.
  reason              string   #5 A one-word CamelCase reason for the last transition.
  message             string   #6 A human-readable account of the last transition.

ModifyVolumeStatus
| The state of a change of a volume's attributes class.
  targetVolumeAttributesClassName  string                                 #1 The class being changed to.
  status                           string=InProgress|Infeasible|Pending!  #2 Pending, InProgress or Infeasible.
"""
