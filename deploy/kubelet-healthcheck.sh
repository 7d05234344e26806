#!/bin/sh
# Healthcheck of the compose/swarm `kubelet` service: the kubelet's gRPC health over mutual TLS.
#
# The kubelet API requires a client certificate signed by the cluster CA (health needs no more than
# that; everything else needs the apiserver's say-so), so the probe presents this node's own client
# certificate and expects the serving certificate of this node, both written by kubelet.sh into
# $HOME/node before the kubelet starts.
set -eu
node=$HOME/node
exec python -m kubemu.healthcheck --ca "$node/ca.crt" --cert "$node/node.crt" --key "$node/node.key" \
  --server-name "$(cat "$node/name")" "127.0.0.1:${KUBEMU_PORT:-10250}"
