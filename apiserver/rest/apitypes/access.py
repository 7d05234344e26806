"""Types of the access groups: ``rbac.authorization.k8s.io/v1`` (roles and bindings),
``authorization.k8s.io/v1`` (access reviews) and ``authentication.k8s.io/v1`` (self subject reviews).

The format is described in :mod:`apiserver.rest.apitypes`.
"""

SCHEMA = """
@ io.k8s.api.rbac.v1
Role
|
  apiVersion  string        -
  kind        string        -
  metadata    ObjectMeta    #1
  rules       []PolicyRule  #2

PolicyRule
|
  verbs            []string!  #1
  apiGroups        []string   #2
  resources        []string   #3
  resourceNames    []string   #4
  nonResourceURLs  []string   #5

RoleBinding
|
  apiVersion  string      -
  kind        string      -
  metadata    ObjectMeta  #1
  subjects    []Subject   #2
  roleRef     RoleRef!    #3

Subject
|
  kind       string!  #1
  apiGroup   string   #2
  name       string!  #3
  namespace  string   #4

RoleRef
|
  apiGroup  string!  #1
  kind      string!  #2
  name      string!  #3

ClusterRole
|
  apiVersion       string            -
  kind             string            -
  metadata         ObjectMeta        #1
  rules            []PolicyRule      #2
  aggregationRule  *AggregationRule  #3

AggregationRule
|
  clusterRoleSelectors  []LabelSelector  #1

ClusterRoleBinding
|
  apiVersion  string      -
  kind        string      -
  metadata    ObjectMeta  #1
  subjects    []Subject   #2
  roleRef     RoleRef!    #3

@ io.k8s.api.authorization.v1
SelfSubjectAccessReview
|
  apiVersion  string                        -
  kind        string                        -
  metadata    ObjectMeta                    #1
  spec        SelfSubjectAccessReviewSpec!  #2
  status      SubjectAccessReviewStatus     #3

SelfSubjectAccessReviewSpec
|
  resourceAttributes     *ResourceAttributes     #1
  nonResourceAttributes  *NonResourceAttributes  #2

ResourceAttributes
|
  namespace      string                    #1
  verb           string                    #2
  group          string                    #3
  version        string                    #4
  resource       string                    #5
  subresource    string                    #6
  name           string                    #7
  fieldSelector  *FieldSelectorAttributes  #8
  labelSelector  *LabelSelectorAttributes  #9

FieldSelectorAttributes
|
  rawSelector   string                      #1
  requirements  []FieldSelectorRequirement  #2

LabelSelectorAttributes
|
  rawSelector   string                      #1
  requirements  []LabelSelectorRequirement  #2

NonResourceAttributes
|
  path  string  #1
  verb  string  #2

SubjectAccessReviewStatus
|
  allowed          bool!   #1
  denied           bool    #4
  reason           string  #2
  evaluationError  string  #3

SubjectAccessReview
|
  apiVersion  string                     -
  kind        string                     -
  metadata    ObjectMeta                 #1
  spec        SubjectAccessReviewSpec!   #2
  status      SubjectAccessReviewStatus  #3

SubjectAccessReviewSpec
|
  resourceAttributes     *ResourceAttributes     #1
  nonResourceAttributes  *NonResourceAttributes  #2
  user                   string                  #3
  groups                 []string                #4
  extra                  {}StringList            #5
  uid                    string                  #6

@ io.k8s.api.authentication.v1
SelfSubjectReview
|
  apiVersion  string                   -
  kind        string                   -
  metadata    ObjectMeta               #1
  status      SelfSubjectReviewStatus  #2

SelfSubjectReviewStatus
|
  userInfo  UserInfo  #1

UserInfo
|
  username  string        #1
  uid       string        #2
  groups    []string      #3
  extra     {}StringList  #4
"""
