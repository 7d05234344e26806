"""Types of the access groups: ``rbac.authorization.k8s.io/v1`` (roles and bindings),
``authorization.k8s.io/v1`` (access reviews) and ``authentication.k8s.io/v1`` (self subject reviews).

The format is described in :mod:`apiserver.apitypes`.
"""

SCHEMA = """
@ io.k8s.api.rbac.v1
Role
| A namespaced set of permissions (rules), granted to subjects by role bindings.
  apiVersion  string        - The versioned schema of this object, such as v1 or apps/v1. Servers convert recognized
    | schemas to the latest internal value.
  kind        string        - The REST resource type this object represents, in CamelCase, such as Pod. Clients may
    | send it; servers set it.
  metadata    ObjectMeta    #1 Standard object metadata: name, namespace, labels, annotations and the fields the
    | server maintains.
  rules       []PolicyRule  #2 The permissions of the role.

PolicyRule
| One permission: verbs on resources of API groups (or on non-resource URLs).
  verbs            []string!  #1 The verbs allowed (get, list, watch, create, update, patch, delete,
    | deletecollection), or * for all.
  apiGroups        []string   #2 The API groups of the resources; "" is the core group, * any group.
  resources        []string   #3 The resources the rule applies to (pods, deployments/scale), or * for all.
  resourceNames    []string   #4 When set, only objects with these names.
  nonResourceURLs  []string   #5 URL paths (/healthz, /api/*) the rule allows; only in cluster roles.

RoleBinding
| Grants the permissions of a role or cluster role to subjects, within the binding's namespace.
  apiVersion  string      - The versioned schema of this object, such as v1 or apps/v1. Servers convert recognized
    | schemas to the latest internal value.
  kind        string      - The REST resource type this object represents, in CamelCase, such as Pod. Clients may
    | send it; servers set it.
  metadata    ObjectMeta  #1 Standard object metadata: name, namespace, labels, annotations and the fields the
    | server maintains.
  subjects    []Subject   #2 Who gets the permissions: users, groups or service accounts.
  roleRef     RoleRef!    #3 The Role (in this namespace) or ClusterRole granted. Cannot be changed.

Subject
| A user, group or service account that a binding grants permissions to.
  kind       string!  #1 User, Group or ServiceAccount.
  apiGroup   string   #2 rbac.authorization.k8s.io for users and groups, "" for service accounts.
  name       string!  #3 The name of the user, group or service account.
  namespace  string   #4 The namespace of a service account; empty for users and groups.

RoleRef
| The role a binding grants.
  apiGroup  string!  #1 The group of the role: rbac.authorization.k8s.io.
  kind      string!  #2 Role or ClusterRole.
  name      string!  #3 The name of the role.

ClusterRole
| A cluster-wide set of permissions, granted by cluster role bindings everywhere or by role bindings in one
| namespace.
  apiVersion       string            - The versioned schema of this object, such as v1 or apps/v1. Servers convert
    | recognized schemas to the latest internal value.
  kind             string            - The REST resource type this object represents, in CamelCase, such as Pod.
    | Clients may send it; servers set it.
  metadata         ObjectMeta        #1 Standard object metadata: name, namespace, labels, annotations and the
    | fields the server maintains.
  rules            []PolicyRule      #2 The permissions of the role.
  aggregationRule  *AggregationRule  #3 When set, the rules are the union of the rules of the cluster roles the
    | selectors match, kept up to date by the controller manager.

AggregationRule
| Which cluster roles an aggregated cluster role combines.
  clusterRoleSelectors  []LabelSelector  #1 Label selectors of the cluster roles whose rules are combined.

ClusterRoleBinding
| Grants the permissions of a cluster role to subjects in every namespace.
  apiVersion  string      - The versioned schema of this object, such as v1 or apps/v1. Servers convert recognized
    | schemas to the latest internal value.
  kind        string      - The REST resource type this object represents, in CamelCase, such as Pod. Clients may
    | send it; servers set it.
  metadata    ObjectMeta  #1 Standard object metadata: name, namespace, labels, annotations and the fields the
    | server maintains.
  subjects    []Subject   #2 Who gets the permissions: users, groups or service accounts.
  roleRef     RoleRef!    #3 The ClusterRole granted. Cannot be changed.

@ io.k8s.api.authorization.v1
SelfSubjectAccessReview
| Asks whether the caller may do something (kubectl auth can-i). The answer is in status; nothing is stored.
  apiVersion  string                        - The versioned schema of this object, such as v1 or apps/v1. Servers
    | convert recognized schemas to the latest internal value.
  kind        string                        - The REST resource type this object represents, in CamelCase, such as
    | Pod. Clients may send it; servers set it.
  metadata    ObjectMeta                    #1 Standard object metadata: name, namespace, labels, annotations and
    | the fields the server maintains.
  spec        SelfSubjectAccessReviewSpec!  #2 The action asked about.
  status      SubjectAccessReviewStatus     #3 The answer: allowed or not, and why.

SelfSubjectAccessReviewSpec
| The action a self subject access review asks about: a resource or a non-resource URL (exactly one).
  resourceAttributes     *ResourceAttributes     #1 An action on a resource.
  nonResourceAttributes  *NonResourceAttributes  #2 An action on a non-resource URL.

ResourceAttributes
| An action on a resource, as the authorizer sees it.
  namespace      string                    #1 The namespace of the action; empty for cluster-scoped resources or for
    | all namespaces.
  verb           string                    #2 The verb: get, list, watch, create, update, patch, delete,
    | deletecollection, or a special one such as impersonate; * for all.
  group          string                    #3 The API group of the resource; "" for core, * for all.
  version        string                    #4 The API version of the resource; * for all.
  resource       string                    #5 The resource (pods); * for all.
  subresource    string                    #6 The subresource (log, status), or empty.
  name           string                    #7 The name of the object, or empty for all.
  fieldSelector  *FieldSelectorAttributes  #8 A field selector that limits the action (list and watch).
  labelSelector  *LabelSelectorAttributes  #9 A label selector that limits the action (list and watch).

FieldSelectorAttributes
| A field selector of an access review, as text or as requirements.
  rawSelector   string                      #1 The selector as text (spec.nodeName=node-1).
  requirements  []FieldSelectorRequirement  #2 The selector as parsed requirements.

LabelSelectorAttributes
| A label selector of an access review, as text or as requirements.
  rawSelector   string                      #1 The selector as text (app=web).
  requirements  []LabelSelectorRequirement  #2 The selector as parsed requirements.

NonResourceAttributes
| An action on a URL path that is not a resource.
  path  string  #1 The URL path (/healthz).
  verb  string  #2 The HTTP verb in lower case (get).

SubjectAccessReviewStatus
| The answer to an access review.
  allowed          bool!   #1 Whether the action is allowed.
  denied           bool    #4 Whether the action was explicitly denied; false when no authorizer had an opinion.
  reason           string  #2 Why the action is allowed or denied.
  evaluationError  string  #3 An error met while deciding; the answer may still be right.

SubjectAccessReview
| Asks whether a given user or group may do something. The answer is in status; nothing is stored.
  apiVersion  string                     - The versioned schema of this object, such as v1 or apps/v1. Servers
    | convert recognized schemas to the latest internal value.
  kind        string                     - The REST resource type this object represents, in CamelCase, such as Pod.
    | Clients may send it; servers set it.
  metadata    ObjectMeta                 #1 Standard object metadata: name, namespace, labels, annotations and the
    | fields the server maintains.
  spec        SubjectAccessReviewSpec!   #2 The action asked about and who would do it.
  status      SubjectAccessReviewStatus  #3 The answer: allowed or not, and why.

SubjectAccessReviewSpec
| An action and the user it is asked for: a resource or a non-resource URL (exactly one), and a user or groups.
  resourceAttributes     *ResourceAttributes     #1 An action on a resource.
  nonResourceAttributes  *NonResourceAttributes  #2 An action on a non-resource URL.
  user                   string                  #3 The user asked about.
  groups                 []string                #4 The groups asked about.
  extra                  {}StringList            #5 Extra attributes of the user, as an authenticator would give
    | them.
  uid                    string                  #6 The uid of the user.

@ io.k8s.api.authentication.v1
SelfSubjectReview
| Asks who the caller is (kubectl auth whoami). The answer is in status; nothing is stored.
  apiVersion  string                   - The versioned schema of this object, such as v1 or apps/v1. Servers convert
    | recognized schemas to the latest internal value.
  kind        string                   - The REST resource type this object represents, in CamelCase, such as Pod.
    | Clients may send it; servers set it.
  metadata    ObjectMeta               #1 Standard object metadata: name, namespace, labels, annotations and the
    | fields the server maintains.
  status      SelfSubjectReviewStatus  #2 The caller as the server authenticated it.

SelfSubjectReviewStatus
| Who the caller is.
  userInfo  UserInfo  #1 The caller's user name, uid, groups and extra attributes.

UserInfo
| A user as an authenticator describes it.
  username  string        #1 The name of the user.
  uid       string        #2 A unique id of the user, stable across name changes.
  groups    []string      #3 The groups the user belongs to.
  extra     {}StringList  #4 Further attributes the authenticator gives.
"""
