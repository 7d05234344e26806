"""The CNI plugin seam: give pods IPs by running real CNI plugins instead of the built-in IPAM.

With ``--cni-conf-file FILE`` (a ``.conf`` with one plugin, or a ``.conflist`` with ``plugins``)
and ``--cni-bin-dir DIR[:DIR…]``, the kubelet follows the CNI spec's exec protocol: for each
plugin it runs the executable named by its ``type`` from the bin dirs with

    CNI_COMMAND=ADD|DEL  CNI_CONTAINERID=<pod uid>  CNI_NETNS=<netns path>  CNI_IFNAME=eth0
    CNI_PATH=<bin dirs>  CNI_ARGS=K8S_POD_NAMESPACE=…;K8S_POD_NAME=…;K8S_POD_UID=…;K8S_POD_INFRA_CONTAINER_ID=…

and the plugin's network configuration (``cniVersion``, ``name``, ``prevResult`` for chained
plugins) as JSON on stdin. The pod IP is the first address of the final ADD result's ``ips``
(``ip4.ip`` for pre-0.3 results). An error is a non-zero exit with a ``{"code", "msg"}`` JSON
error on stdout. DEL runs the plugins in reverse with the saved result as ``prevResult``.

kubemu has no network namespaces: ``CNI_NETNS`` is the kubelet's own
(``/proc/<kubelet pid>/ns/net``), so only plugins that hand out addresses without moving
interfaces (IPAM plugins such as ``host-local`` or ``static`` used directly, or a plugin of
your own) make sense; a ``bridge`` plugin would configure the host. With ``--pod-network routed``
the node's pod CIDR is made local and routed between nodes by kubelet/pod_routes.py whatever hands
out the addresses, so a plugin's range should be the node's pod CIDR. ADD results are kept in
``state_dir/<pod uid>.json`` so a restarted kubelet knows each pod's IP and DEL gets its
``prevResult``. Plugins run with a deadline and their output is read up to a limit.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import subprocess
import threading
from typing import Any

from kubelet.ipam import IPAMError

PLUGIN_TIMEOUT_S = 30.0
MAX_OUTPUT_BYTES = 1_000_000
IFNAME = "eth0"


class CNIError(IPAMError):
    """A CNI plugin failed; the message carries its error code and text."""


def load_config(path: str) -> tuple[str, str, list[dict[str, Any]]]:
    """``(cniVersion, network name, plugin configs)`` from a .conf or .conflist file."""
    with open(path, encoding="utf-8") as f:
        raw = json.loads(f.read(MAX_OUTPUT_BYTES))
    if not isinstance(raw, dict):
        raise CNIError(f"{path}: not a JSON object")
    version, name = str(raw.get("cniVersion", "1.0.0")), str(raw.get("name", ""))
    plugins = raw.get("plugins") if "plugins" in raw else [raw]
    if not isinstance(plugins, list) or not plugins or not all(isinstance(p, dict) and p.get("type")
                                                               for p in plugins):
        raise CNIError(f"{path}: every plugin needs a 'type'")
    return version, name, plugins


def result_ip(result: dict) -> str:
    """The pod IP in a CNI result: ``ips[0].address`` (0.3.0+) or ``ip4.ip`` (0.1/0.2)."""
    for entry in result.get("ips") or []:
        address = (entry or {}).get("address", "")
        if address:
            return str(ipaddress.ip_interface(address).ip)
    legacy = (result.get("ip4") or {}).get("ip", "")
    if legacy:
        return str(ipaddress.ip_interface(legacy).ip)
    raise CNIError(f"the CNI result has no IP address: {json.dumps(result)[:300]}")


class CNINetwork:
    """Pod IPs from CNI plugins; the same allocate/release/get interface as HostLocalIPAM."""

    def __init__(self, conf_file: str, bin_dirs: list[str], state_dir: str, *, netns: str = "",
                 pod_info=None, timeout_s: float = PLUGIN_TIMEOUT_S):
        self.conf_file = conf_file
        self.version, self.name, self.plugins = load_config(conf_file)
        self.bin_dirs = [d for d in bin_dirs if d]
        self.state_dir = state_dir
        self.netns = netns or f"/proc/{os.getpid()}/ns/net"
        self.pod_info = pod_info or (lambda uid: ("", ""))  # uid -> (namespace, name)
        self.timeout_s = timeout_s
        self._lock = threading.Lock()
        os.makedirs(state_dir, exist_ok=True)

    def _state_path(self, owner: str) -> str:
        if not owner or "/" in owner or owner.startswith("."):
            raise ValueError(f"invalid CNI owner {owner!r}")
        return os.path.join(self.state_dir, f"{owner}.json")

    def get(self, owner: str) -> str | None:
        try:
            with open(self._state_path(owner), encoding="utf-8") as f:
                return result_ip(json.load(f))
        except (OSError, ValueError, CNIError):
            return None

    def allocate(self, owner: str) -> str:
        with self._lock:
            held = self.get(owner)
            if held is not None:
                return held
            prev: dict | None = None
            for plugin in self.plugins:
                prev = self._exec("ADD", plugin, owner, prev)
            if prev is None:
                raise CNIError("no CNI plugin returned a result")
            ip = result_ip(prev)
            tmp = self._state_path(owner) + ".tmp"
            with open(tmp, "w", encoding="utf-8") as f:
                json.dump(prev, f)
            os.replace(tmp, self._state_path(owner))
            return ip

    def release(self, owner: str) -> str | None:
        with self._lock:
            held = self.get(owner)
            prev = None
            with contextlib.suppress(OSError, ValueError):
                with open(self._state_path(owner), encoding="utf-8") as f:
                    prev = json.load(f)
            for plugin in reversed(self.plugins):
                self._exec("DEL", plugin, owner, prev)
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self._state_path(owner))
            return held

    def _exec(self, command: str, plugin: dict, owner: str, prev: dict | None) -> dict | None:
        binary = self._find(str(plugin["type"]))
        config = {**plugin, "cniVersion": self.version, "name": self.name}
        if prev is not None:
            config["prevResult"] = prev
        namespace, name = self.pod_info(owner)
        env = {"CNI_COMMAND": command, "CNI_CONTAINERID": owner, "CNI_NETNS": self.netns, "CNI_IFNAME": IFNAME,
               "CNI_PATH": os.pathsep.join(self.bin_dirs),
               "CNI_ARGS": f"IgnoreUnknown=1;K8S_POD_NAMESPACE={namespace};K8S_POD_NAME={name};"
                           f"K8S_POD_INFRA_CONTAINER_ID={owner};K8S_POD_UID={owner}",
               "PATH": os.environ.get("PATH", "/usr/bin:/bin")}
        try:
            out = subprocess.run([binary], input=json.dumps(config).encode(), capture_output=True, env=env,
                                 timeout=self.timeout_s, check=False)
        except subprocess.TimeoutExpired:
            raise CNIError(f"CNI plugin {plugin['type']} {command} timed out after {self.timeout_s:g}s") from None
        except OSError as e:
            raise CNIError(f"CNI plugin {plugin['type']} could not run: {e}") from None
        stdout = out.stdout[:MAX_OUTPUT_BYTES]
        if out.returncode != 0:
            try:
                err = json.loads(stdout)
                message = f"code {err.get('code')}: {err.get('msg')}" + (f" ({err['details']})"
                                                                         if err.get("details") else "")
            except (ValueError, AttributeError):
                message = (stdout or out.stderr[:2000]).decode("utf-8", "replace").strip() or f"exit {out.returncode}"
            raise CNIError(f"plugin type={plugin['type']!r} name={self.name!r} failed ({command}): {message}")
        if command == "DEL" or not stdout.strip():
            return prev
        try:
            result = json.loads(stdout)
        except ValueError:
            raise CNIError(f"CNI plugin {plugin['type']} {command} printed no JSON result") from None
        return result if isinstance(result, dict) else prev

    def _find(self, plugin_type: str) -> str:
        if "/" in plugin_type:
            raise CNIError(f"invalid CNI plugin type {plugin_type!r}")
        for d in self.bin_dirs:
            path = os.path.join(d, plugin_type)
            if os.path.isfile(path) and os.access(path, os.X_OK):
                return path
        raise CNIError(f'failed to find plugin "{plugin_type}" in path {self.bin_dirs}')
