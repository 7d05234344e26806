"""Types of apimachinery's meta/v1 that every object shares: object and list metadata, label selectors,
owner references, managed fields, delete options.

The format is described in :mod:`apiserver.rest.apitypes`.
"""

SCHEMA = """
@ io.k8s.apimachinery.pkg.apis.meta.v1
ObjectMeta
|
  name                        string                #1
  generateName                string                #2
  namespace                   string                #3
  selfLink                    string                #4
  uid                         string                #5
  resourceVersion             string                #6
  generation                  int64                 #7
  creationTimestamp           Time                  #8
  deletionTimestamp           *Time                 #9
  deletionGracePeriodSeconds  *int64                #10
  labels                      {}string              #11
  annotations                 {}string              #12
  ownerReferences             []OwnerReference      #13
  finalizers                  []string              #14
  managedFields               []ManagedFieldsEntry  #17

OwnerReference
|
  apiVersion          string!  #5
  kind                string!  #1
  name                string!  #3
  uid                 string!  #4
  controller          *bool    #6
  blockOwnerDeletion  *bool    #7

ManagedFieldsEntry
|
  manager      string     #1
  operation    string     #2
  apiVersion   string     #3
  time         *Time      #4
  fieldsType   string     #6
  fieldsV1     *FieldsV1  #7
  subresource  string     #8

LabelSelector
|
  matchLabels       {}string                    #1
  matchExpressions  []LabelSelectorRequirement  #2

LabelSelectorRequirement
|
  key       string!   #1
  operator  string!   #2
  values    []string  #3

ListMeta
|
  selfLink            string  #1
  resourceVersion     string  #2
  continue            string  #3
  remainingItemCount  *int64  #4

FieldSelectorRequirement
|
  key       string!   #1
  operator  string!   #2
  values    []string  #3

DeleteOptions
|
  apiVersion                                        string          -
  kind                                              string          -
  gracePeriodSeconds                                *int64          #1
  preconditions                                     *Preconditions  #2
  orphanDependents                                  *bool           #3
  propagationPolicy                                 *string         #4
  dryRun                                            []string        #5
  ignoreStoreReadErrorWithClusterBreakingPotential  *bool           #6

Preconditions
|
  uid              *string  #1
  resourceVersion  *string  #2
"""
