#!/bin/sh
# Entrypoint of the docker compose `kubelet` service: one node per container replica.
#
# The node is named after the container's hostname ($KUBEMU_NODE_NAME to override), its IP is
# the container's address on the compose network ($KUBEMU_NODE_IP), and its pod CIDR is a
# loopback range derived from that address (172.x.A.B -> 127.(244+A%12).B.0/24) unless
# $KUBEMU_POD_CIDR is set ('' = wait for the controller manager's node IPAM to assign one).
# Pod IPs are loopback addresses inside this container, so pods of different nodes never clash.
#
# Replicas are created on demand (`--scale kubelet=N`), so each one issues its own client
# certificate (system:node:<name>) and its kubelet serving certificate (valid for <name> and the
# container's address) with the cluster CA from the read-only shared volume; the join flow on
# real machines issues them on the control-plane machine instead (kubemu certs --node). The
# kubelet API then serves mutual TLS and asks the apiserver who may call it (only the apiserver's
# kubelet client and admins may). deploy/kubelet-healthcheck.sh probes it as this node.
# kube-proxy runs beside the kubelet, host-networked on the node as in Kubernetes (as system:kube-proxy,
# config/kube-proxy.yaml from `init`; restarted if it exits): Service cluster IPs (loopback,
# 127.144.0.0/16) work inside this container, node ports on its address. Pods of other nodes are
# loopback addresses inside their own containers, so a Service reaches only this node's endpoints.
# Extra arguments go to kubemu-kubelet.
set -eu
dir=${KUBEMU_CLUSTER_DIR:-/var/lib/kubemu}
name=${KUBEMU_NODE_NAME:-$(hostname)}
ip=${KUBEMU_NODE_IP:-$(python -c 'import socket; print(socket.gethostbyname(socket.gethostname()))')}
cidr=${KUBEMU_POD_CIDR-auto}
if [ "$cidr" = auto ]; then
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
  --root-dir "$HOME/kubelet" "$@"
