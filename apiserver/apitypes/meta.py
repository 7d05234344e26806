"""Types of apimachinery's meta/v1 that every object shares: object and list metadata, label selectors,
owner references, managed fields, delete options.

The format is described in :mod:`apiserver.apitypes`.
"""

SCHEMA = """
@ io.k8s.apimachinery.pkg.apis.meta.v1
ObjectMeta
| Metadata every persisted object has: its name and namespace, labels and annotations, and the fields the server
| maintains (uid, resourceVersion, timestamps, owners, finalizers, managed fields).
  name                        string                #1 The object's name, unique among objects of its kind in its
    | namespace. Required on create unless generateName is set; cannot be changed afterwards.
  generateName                string                #2 A prefix from which the server generates a unique name when
    | name is empty: a random suffix is appended.
  namespace                   string                #3 The namespace the object lives in; empty for cluster-scoped
    | kinds. Defaults to the namespace of the request.
  selfLink                    string                #4 Deprecated and never set.
  uid                         string                #5 A unique id the server assigns on creation; it never changes
    | and is never reused. Read-only.
  resourceVersion             string                #6 An opaque version the server changes on every write. Send it
    | back to make an update conditional (optimistic concurrency) or to watch from that point. Read-only.
  generation                  int64                 #7 A number the server increments whenever the desired state
    | (spec) changes. Read-only.
  creationTimestamp           Time                  #8 When the server created the object (RFC 3339, UTC).
    | Read-only.
  deletionTimestamp           *Time                 #9 When a deletion was requested and the object will go once its
    | finalizers are done and its grace period has passed. Set by the server; read-only.
  deletionGracePeriodSeconds  *int64                #10 Seconds the object was given to terminate gracefully when
    | deletion was requested. Read-only.
  labels                      {}string              #11 Key/value pairs used to organize and select objects
    | (selectors of services, replica sets and the like).
  annotations                 {}string              #12 Key/value pairs for tools and people; not used for
    | selection. At most 256 KiB in all.
  ownerReferences             []OwnerReference      #13 The objects this one depends on. When every owner is gone,
    | the garbage collector deletes it; at most one owner is the managing controller.
  finalizers                  []string              #14 Names of the things that must happen before the object may
    | be removed. A deleted object stays, with a deletionTimestamp, until this list is empty.
  managedFields               []ManagedFieldsEntry  #17 Which manager (kubectl, a controller) set which fields, and
    | through which operation; maintained by the server for server-side apply.

OwnerReference
| Names an owner of an object: the owner must be in the same namespace, or cluster-scoped.
  apiVersion          string!  #5 The API version of the owner.
  kind                string!  #1 The kind of the owner.
  name                string!  #3 The name of the owner.
  uid                 string!  #4 The uid of the owner; a new object with the same name is not the owner.
  controller          *bool    #6 True when the owner is the managing controller of this object.
  blockOwnerDeletion  *bool    #7 When true and the owner is deleted with foreground propagation, the owner is kept
    | until this object is gone.

ManagedFieldsEntry
| The fields one manager owns, from one kind of operation, at one API version.
  manager      string     #1 Who manages the fields: the field manager of the requests (kubectl,
    | kubectl-client-side-apply, a controller's name).
  operation    string     #2 How the fields were set: Apply (server-side apply) or Update (create, update, patch).
  apiVersion   string     #3 The API version the fields are described in.
  time         *Time      #4 When the entry last changed.
  fieldsType   string     #6 The format of fieldsV1; always FieldsV1.
  fieldsV1     *FieldsV1  #7 The owned fields as a set.
  subresource  string     #8 The subresource the fields were written through (status, scale), or empty for the
    | object itself.

LabelSelector
| A query over labels: every matchLabels pair and every matchExpressions requirement must hold (AND). An empty
| selector matches everything; a null one matches nothing.
  matchLabels       {}string                    #1 Labels that must be present with exactly these values.
  matchExpressions  []LabelSelectorRequirement  #2 Requirements on labels, all of which must hold.

LabelSelectorRequirement
| One requirement of a label selector: a key, an operator and values.
  key       string!   #1 The label key the requirement is about.
  operator  string!   #2 How the label relates to the values: In, NotIn, Exists or DoesNotExist.
  values    []string  #3 The values for In and NotIn (non-empty); empty for Exists and DoesNotExist.

ListMeta
| Metadata of a list: its resource version and the token for the next page.
  selfLink            string  #1 Deprecated and never set.
  resourceVersion     string  #2 The version of the store the list was read at; watch from it to get every later
    | change.
  continue            string  #3 Set when the list was cut short by limit: send it back as continue to get the next
    | page. It expires when the store compacts that version.
  remainingItemCount  *int64  #4 How many items are left after this page, when the server knows.

FieldSelectorRequirement
| One requirement of a field selector: a field, an operator and values.
  key       string!   #1 The field path the requirement is about.
  operator  string!   #2 How the field relates to the values: In, NotIn, Exists or DoesNotExist.
  values    []string  #3 The values for In and NotIn.

DeleteOptions
| How an object should be deleted: a grace period, preconditions and what happens to its dependents.
  apiVersion                                        string          - The versioned schema of this object, such as
    | v1 or apps/v1. Servers convert recognized schemas to the latest internal value.
  kind                                              string          - The REST resource type this object represents,
    | in CamelCase, such as Pod. Clients may send it; servers set it.
  gracePeriodSeconds                                *int64          #1 Seconds the object gets to terminate before
    | it is removed; 0 removes it at once. Defaults to the kind's own grace period.
  preconditions                                     *Preconditions  #2 Conditions the object must meet to be deleted
    | (its uid or resource version).
  orphanDependents                                  *bool           #3 Deprecated: use propagationPolicy. When true,
    | dependents are orphaned.
  propagationPolicy                                 *string         #4 What happens to dependents: Orphan (left
    | alone), Background (deleted after the owner) or Foreground (deleted before the owner goes).
  dryRun                                            []string        #5 When it contains All, every check runs and
    | nothing is deleted.
  ignoreStoreReadErrorWithClusterBreakingPotential  *bool           #6 Delete an object that cannot be read from
    | storage. Dangerous; not supported by kubemu.

Preconditions
| What must be true of an object for an operation on it to go ahead.
  uid              *string  #1 The object's uid must be this.
  resourceVersion  *string  #2 The object's resource version must be this.

Condition
| One aspect of an object's state, in the shape every newer API uses: a type, a status and why.
  type                string!  #1 What the condition is about, in CamelCase (Ready, Available).
  status              string!  #2 True, False or Unknown.
    = False|True|Unknown
  observedGeneration  int64    #3 The metadata.generation the condition was set for.
  lastTransitionTime  Time!    #4 When the status last changed.
  reason              string!  #5 Why, in one CamelCase word for programs.
  message             string!  #6 Why, in words for people. May be empty.
"""
