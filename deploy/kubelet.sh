#!/bin/sh
# Entrypoint of the docker compose `kubelet` service: one node per container replica.
#
# The node is named after the container's hostname ($KUBEMU_NODE_NAME to override), its IP is
# the container's address on the compose network ($KUBEMU_NODE_IP).
#
# Pod network ($KUBEMU_POD_NETWORK, default auto):
# - routed (auto picks it when the container runs as root with CAP_NET_ADMIN: compose gives the
#   kubelets `user: "0:0"` and `cap_add: [NET_ADMIN]`): the pod CIDR comes from the controller
#   manager's node IPAM (10.244.N.0/24 out of --cluster-cidr 10.244.0.0/16); the kubelet makes it
#   local in this container (AnyIP) and routes every other node's pod CIDR via that node's
#   container address, watching Nodes (kubelet --pod-network routed, flannel's host-gw): a pod
#   reaches pods in every kubelet container by IP, and so does kube-proxy.
# - loopback (auto's choice without the capability): a loopback pod CIDR derived from the
#   container's address (172.x.A.B -> 127.(244+A%12).B.0/24); pods are reachable inside this
#   container only.
# $KUBEMU_POD_CIDR sets the pod CIDR ('' = wait for the controller manager's node IPAM).
#
# Replicas are created on demand (`--scale kubelet=N`), so each one issues its own client
# certificate (system:node:<name>) and its kubelet serving certificate (valid for <name> and the
# container's address) with the cluster CA from the read-only shared volume; the join flow on
# real machines issues them on the control-plane machine instead (kubemu certs --node). The
# kubelet API then serves mutual TLS and asks the apiserver who may call it (only the apiserver's
# kubelet client and admins may). deploy/kubelet-healthcheck.sh probes it as this node.
# kube-proxy runs beside the kubelet, host-networked on the node as in Kubernetes (as system:kube-proxy,
# config/kube-proxy.yaml from `init`; restarted if it exits): Service cluster IPs (loopback,
# 127.144.0.0/16) work inside this container, node ports on its address; with the routed pod
# network a Service reaches its endpoints in every kubelet container.
# Extra arguments go to kubemu-kubelet.
set -eu
dir=${KUBEMU_CLUSTER_DIR:-/var/lib/kubemu}
name=${KUBEMU_NODE_NAME:-$(hostname)}
ip=${KUBEMU_NODE_IP:-$(python -c 'import socket; print(socket.gethostbyname(socket.gethostname()))')}
network=${KUBEMU_POD_NETWORK:-auto}
if [ "$network" = auto ]; then
  if why=$(python -c 'from kubelet.pod_routes import problem; why = problem(); print(why or ""); raise SystemExit(1 if why else 0)'); then
    network=routed
  else
    network=loopback
    echo "kubelet.sh: loopback pod network, pods reachable in this container only ($why)" >&2
  fi
fi
cidr=${KUBEMU_POD_CIDR-auto}
if [ "$cidr" = auto ] && [ "$network" = routed ]; then
  cidr=''
elif [ "$cidr" = auto ]; then
  cidr=$(python -c 'import sys; a, b = map(int, sys.argv[1].split(".")[2:]); print(f"127.{244 + a % 12}.{b}.0/24")' \
    "$ip")
fi
python -m kubemu.join --cluster-dir "$dir" --node "$name" --node-ip "$ip" --no-token --out "$HOME/node" --quiet
printf '%s\n' "$name" > "$HOME/node/name"
if [ -f "$dir/config/kube-proxy.yaml" ]; then
  ( while :; do
      kubemu-proxy --config "$dir/config/kube-proxy.yaml" --hostname-override "$name" --bind-address "$ip" \
        --healthz-bind-address "$ip:10256" --metrics-bind-address "$ip:10249"
      sleep 1
    done ) &
fi
exec kubemu-kubelet --config "$HOME/node/kubelet.yaml" --node-name "$name" --node-ip "$ip" --pod-cidr "$cidr" \
  --pod-network "$network" --root-dir "$HOME/kubelet" "$@"
