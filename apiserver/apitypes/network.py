"""Types of Services and their endpoints: core ``v1`` Service and Endpoints, and
``discovery.k8s.io/v1`` EndpointSlice.

Field names, pointers and protobuf numbers are those of Kubernetes 1.32 (``k8s.io/api`` core/v1 and
discovery/v1 ``generated.proto``); the descriptions are kubemu's. Both groups have a type named
``EndpointPort``: a reference resolves inside its own section first (:mod:`apiserver.apitypes`).

The format is described in :mod:`apiserver.apitypes`.
"""

SCHEMA = """
@ io.k8s.api.core.v1
Service
| A stable virtual address for a changing set of pods: a name, a cluster IP and ports, in front of the pods its
| selector matches. kube-proxy forwards connections to the cluster IP to one of those pods.
  apiVersion  string         - The versioned schema of this object, such as v1 or apps/v1. Servers convert
    | recognized schemas to the latest internal value.
  kind        string         - The REST resource type this object represents, in CamelCase, such as Pod. Clients
    | may send it; servers set it.
  metadata    ObjectMeta     #1 Standard object metadata: name, namespace, labels, annotations and the fields the
    | server maintains.
  spec        ServiceSpec    #2 What the service selects and how it is reached: type, ports, cluster IP.
  status      ServiceStatus  #3 What the service's infrastructure reports: its load balancer and conditions.
    | Read-only for users.

ServiceSpec
| The desired state of a service.
  ports                          []ServicePort          #1 The ports the service listens on, each forwarded to a
    | port of the selected pods. Names are required and unique when there are several.
  selector                       {}string               #2 Pods with all these labels receive the service's
    | traffic; their addresses are published as its endpoints. Without a selector, endpoints are managed by hand.
  clusterIP                      string                 #3 The service's virtual IP, allocated from the service
    | range when empty. None makes the service headless (no virtual IP, no proxying). Cannot be changed.
  clusterIPs                     []string               #18 The service's virtual IPs, one per IP family; the first
    | equals clusterIP.
  type                           string                 #4 How the service is exposed: ClusterIP (inside the cluster,
    | the default), NodePort (also on a port of every node), LoadBalancer (also through an external load
    | balancer) or ExternalName (a DNS alias, no proxying).
    = ClusterIP|ExternalName|LoadBalancer|NodePort
  externalIPs                    []string               #5 Further IPs, managed outside the cluster, on which nodes
    | accept the service's traffic.
  sessionAffinity                string=ClientIP|None   #7 ClientIP sends a client's connections to the same pod
    | while it keeps connecting; None (the default) spreads them.
  loadBalancerIP                 string                 #8 The IP asked of the load balancer (deprecated).
  loadBalancerSourceRanges       []string               #9 The client CIDRs the load balancer lets in.
  externalName                   string                 #10 The DNS name an ExternalName service aliases.
  externalTrafficPolicy          string=Cluster|Local   #11 Whether traffic from outside the cluster may go to pods
    | on any node (Cluster) or only to pods on the node that received it (Local).
  healthCheckNodePort            int32                  #12 The node port answering load balancer health checks of
    | a LoadBalancer service with the Local external traffic policy.
  publishNotReadyAddresses       bool                   #13 Publish the addresses of pods that are not ready too (for
    | peers that must find each other before they are ready).
  sessionAffinityConfig          *SessionAffinityConfig #14 Settings of the ClientIP session affinity.
  ipFamilies                     []string=IPv4|IPv6     #19 The IP families of the cluster IPs, in order.
  ipFamilyPolicy                 *string                #17 How many IP families the service gets: SingleStack,
    | PreferDualStack or RequireDualStack.
    = PreferDualStack|RequireDualStack|SingleStack
  allocateLoadBalancerNodePorts  *bool                  #20 Whether a LoadBalancer service gets node ports too.
    | Defaults to true.
  loadBalancerClass              *string                #21 The load balancer implementation that serves the
    | service; unset means the cloud provider's default.
  internalTrafficPolicy          *string=Cluster|Local  #22 Whether traffic from inside the cluster may go to pods
    | on any node (Cluster, the default) or only to pods on the client's node (Local).
  trafficDistribution            *string                #23 A preference for how traffic is spread over the
    | endpoints, such as PreferClose.

ServicePort
| One port of a service and where its traffic goes.
  name         string               #1 The port's name, a DNS label; required and unique when the service has
    | several ports. EndpointSlice ports carry the same name.
  protocol     string=SCTP|TCP|UDP  #2 TCP (the default), UDP or SCTP.
  appProtocol  *string              #6 The application protocol, as a hint to implementations (http, h2c, a
    | prefixed name such as example.com/proto).
  port         int32!               #3 The port the service listens on, 1–65535.
  targetPort   IntOrString          #4 The port of the pods that receives the traffic: a number, or the name of a
    | container port, looked up in each pod. Defaults to port.
  nodePort     int32                #5 The port on every node that forwards to this port, for NodePort and
    | LoadBalancer services; allocated from the node port range when empty.

SessionAffinityConfig
| Settings of session affinity.
  clientIP  *ClientIPConfig  #1 Settings of the ClientIP affinity.

ClientIPConfig
| Settings of the ClientIP session affinity.
  timeoutSeconds  *int32  #1 How long a client stays with its pod after its last connection: 1 to 86400 seconds,
    | 10800 (3 hours) by default.

ServiceStatus
| What is known of a service's infrastructure.
  loadBalancer  LoadBalancerStatus  #1 The load balancer in front of the service, once there is one.
  conditions    []Condition         #2 The service's conditions.

LoadBalancerStatus
| A load balancer's status.
  ingress  []LoadBalancerIngress  #1 Where the load balancer receives traffic.

LoadBalancerIngress
| One place where a load balancer receives traffic.
  ip        string        #1 An IP address.
  hostname  string        #2 A DNS name.
  ipMode    *string=Proxy|VIP  #3 Whether traffic arrives at the nodes with the load balancer's IP as destination
    | (VIP) or is proxied by the load balancer (Proxy).
  ports     []PortStatus  #4 The state of each port.

PortStatus
| The state of one port of a load balancer.
  port      int32!               #1 The port number.
  protocol  string=SCTP|TCP|UDP!  #2 The port's protocol.
  error     *string              #3 Why the port does not work, as a CamelCase reason; empty when it does.

Endpoints
| The addresses of the pods behind a service and their ports, grouped into subsets. Kept by the endpoints
| controller for services with a selector; superseded by EndpointSlices.
  apiVersion  string            - The versioned schema of this object, such as v1 or apps/v1. Servers convert
    | recognized schemas to the latest internal value.
  kind        string            - The REST resource type this object represents, in CamelCase, such as Pod. Clients
    | may send it; servers set it.
  metadata    ObjectMeta        #1 Standard object metadata; the name is the service's.
  subsets     []EndpointSubset  #2 Sets of addresses that share the same ports.

EndpointSubset
| Addresses that all serve the same ports: every address with every port.
  addresses          []EndpointAddress  #1 Addresses ready to receive traffic.
  notReadyAddresses  []EndpointAddress  #2 Addresses of pods that are not ready (yet, or any more).
  ports              []EndpointPort     #3 The ports every address serves.

EndpointAddress
| One address behind a service.
  ip         string!           #1 The IP address, normally a pod's.
  hostname   string            #3 The host name of the address.
  nodeName   *string           #4 The node the address lives on.
  targetRef  *ObjectReference  #2 The object behind the address, normally a pod.

EndpointPort
| One port of the addresses of an Endpoints subset.
  name         string               #1 The name of the service port it serves.
  port         int32!               #2 The port number on the addresses.
  protocol     string=SCTP|TCP|UDP  #3 TCP (the default), UDP or SCTP.
  appProtocol  *string              #4 The application protocol, copied from the service port.

@ io.k8s.api.discovery.v1
EndpointSlice
| A slice of the endpoints of a service: up to 100 addresses of one address type, with their conditions and
| the ports they serve. Kept by the EndpointSlice controller for services with a selector and read by kube-proxy.
  apiVersion   string            - The versioned schema of this object, such as v1 or apps/v1. Servers convert
    | recognized schemas to the latest internal value.
  kind         string            - The REST resource type this object represents, in CamelCase, such as Pod.
    | Clients may send it; servers set it.
  metadata     ObjectMeta        #1 Standard object metadata; the kubernetes.io/service-name label names the
    | service.
  addressType  string!           #4 The kind of every address of the slice: IPv4, IPv6 or FQDN. Cannot be changed.
    = FQDN|IPv4|IPv6
  endpoints    []Endpoint!       #2 The endpoints, at most 1000.
  ports        []EndpointPort    #3 The ports every endpoint serves; an empty list means every port.

Endpoint
| One endpoint of a slice, normally a pod.
  addresses           []string!           #1 Its addresses, of the slice's address type; consumers use the first.
  conditions          EndpointConditions  #2 Whether it is ready, serving or terminating.
  hostname            *string             #3 Its host name.
  targetRef           *ObjectReference    #4 The object behind it, normally a pod.
  deprecatedTopology  {}string            #5 Topology labels (deprecated).
  nodeName            *string             #6 The node it lives on.
  zone                *string             #7 The zone it lives in.
  hints               *EndpointHints      #8 Hints for topology-aware routing.

EndpointConditions
| The state of an endpoint.
  ready        *bool  #1 Ready to receive new traffic: serving and not terminating. Consumers treat unset as true.
  serving      *bool  #2 Passing its readiness checks, whether or not it is terminating.
  terminating  *bool  #3 Being deleted.

EndpointHints
| Where an endpoint should be used.
  forZones  []ForZone  #1 The zones that should use the endpoint.

ForZone
| A zone a hint names.
  name  string!  #1 The zone's name.

EndpointPort
| One port the endpoints of a slice serve.
  name         *string              #1 The name of the service port it serves; empty for a service's only unnamed
    | port.
  protocol     *string=SCTP|TCP|UDP  #2 TCP (the default), UDP or SCTP.
  port         *int32               #3 The port number on the endpoints; unset means every port.
  appProtocol  *string              #4 The application protocol, copied from the service port.
"""
