"""kubemu-proxy: kube-proxy for kubemu, one per node: a userspace proxy for every Service port.

See :mod:`kube_proxy.proxier` for how it works and docs/services.md for what is emulated.
"""
