# One image with every kubemu component: kubemu-apiserver, kubemu-scheduler,
# kubemu-controller-manager, kubemu-kubelet, kubemu-proxy and the kubemu CLI. See docs/deploy.md.
#
#   docker build -t kubemu .
#   docker build --build-arg BASE_IMAGE=<any Debian-like image with python3 >= 3.11 and venv> -t kubemu .
#
# The base must provide `python3` with the venv module and apt-get (iproute2 is installed for the
# kubelet's routed pod network); kubemu needs no compiler (every dependency ships wheels).
# Components run as the unprivileged user 10001; the compose `init` service runs as root, to hand
# the credentials it writes to that user, and so do the compose kubelets, which configure their
# node's routes (with cap_add NET_ADMIN), as Kubernetes' kubelet and flannel run as root.
ARG BASE_IMAGE=python:3.11-slim-bookworm

FROM ${BASE_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONDONTWRITEBYTECODE=1
RUN python3 -m venv /opt/kubemu
# Dependencies first (from pyproject.toml alone), so editing the source reuses this layer.
COPY pyproject.toml /src/pyproject.toml
RUN python3 -c "import tomllib; print('\n'.join(tomllib.load(open('/src/pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /src/requirements.txt \
    && /opt/kubemu/bin/pip install --quiet -r /src/requirements.txt
COPY README.md /src/README.md
COPY machinery /src/machinery
COPY apiserver /src/apiserver
COPY scheduler /src/scheduler
COPY controller_manager /src/controller_manager
COPY kubelet /src/kubelet
COPY kube_proxy /src/kube_proxy
COPY kubemu /src/kubemu
RUN /opt/kubemu/bin/pip install --quiet --no-deps /src \
    && /opt/kubemu/bin/pip uninstall --quiet --yes pip setuptools

FROM ${BASE_IMAGE}
RUN apt-get update -qq \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends iproute2 >/dev/null \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /opt/kubemu /opt/kubemu
COPY deploy/ /opt/kubemu/deploy/
RUN chmod 0755 /opt/kubemu/deploy/*.sh \
    && echo 'kubemu:x:10001:10001:kubemu:/home/kubemu:/bin/sh' >> /etc/passwd \
    && echo 'kubemu:x:10001:' >> /etc/group \
    && mkdir -p /home/kubemu /var/lib/kubemu \
    && chown 10001:10001 /home/kubemu /var/lib/kubemu
ENV PATH=/opt/kubemu/bin:$PATH PYTHONUNBUFFERED=1 HOME=/home/kubemu
USER 10001:10001
WORKDIR /home/kubemu
# apiserver, kubelet, controller manager, scheduler
EXPOSE 6443 6444 10250 10257 10259
# gRPC health of whichever component is PID 1 (compose files give each service its own test).
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 CMD ["python", "-m", "kubemu.healthcheck"]
CMD ["kubemu", "--help"]
