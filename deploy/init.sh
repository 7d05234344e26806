#!/bin/sh
# The docker compose stack's one-shot `init` service (runs as root, then exits 0).
#
# 1. Creates, or completes, the cluster's credentials and component config files in the shared
#    volume ($KUBEMU_CLUSTER_DIR, /var/lib/kubemu) with `kubemu certs` (python -m kubemu.join):
#    the CA, the apiserver's serving certificate (valid for `apiserver`, localhost, 127.0.0.1
#    and every name in $KUBEMU_API_SANS), client certificates and tokens for the admin, the
#    scheduler and the controller manager, and config/<component>.yaml for each of them.
#    An existing CA is kept, so `docker compose up` after `stop` finds the same cluster.
# 2. Writes what the host needs into the bind-mounted /host directory (.kubemu/compose):
#    kubeconfig.yaml (server https://127.0.0.1:$KUBEMU_REST_PORT for the real kubectl, the gRPC
#    address 127.0.0.1:$KUBEMU_API_PORT in its kubemu.io/grpc extension for kubemu kubectl) with
#    ca.crt, admin.crt, admin.key and token beside it, owned by whoever owns that directory.
# 3. Hands the cluster files to the unprivileged user (10001) the other services run as.
set -eu
dir=${KUBEMU_CLUSTER_DIR:-/var/lib/kubemu}
host=${KUBEMU_HOST_DIR:-/host}
port=${KUBEMU_API_PORT:-6443}

set --
for san in $(echo "${KUBEMU_API_SANS:-}" | tr ',' ' '); do
  set -- "$@" --san "$san"
done
if [ -d "$host" ]; then
  set -- "$@" --kubeconfig-out "$host/kubeconfig.yaml"
fi
python -m kubemu.join --cluster-dir "$dir" --apiserver apiserver:6443 \
  --etcd-servers "${KUBEMU_ETCD_SERVERS:-http://etcd:2379}" --san apiserver --san localhost --san 127.0.0.1 \
  --kubeconfig-server "127.0.0.1:$port" --quiet "$@"
chown -R 10001:10001 "$dir"
if [ -d "$host" ]; then
  chown "$(stat -c %u:%g "$host")" "$host/kubeconfig.yaml" "$host/ca.crt" "$host/admin.crt" "$host/admin.key" \
    "$host/token"
  echo "init: the host's kubeconfig.yaml, ca.crt, admin.crt, admin.key and token are in $host"
fi
echo "init: cluster credentials and component configs are in $dir"
