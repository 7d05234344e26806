"""The layering rule, checked mechanically: the components (apiserver, scheduler, controller manager,
kubelet, kube-proxy) never import each other nor the CLI package, and machinery imports none of
them. Each component must run on its own machine with only ``machinery`` beside it."""

from __future__ import annotations

import ast
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
COMPONENTS = ("apiserver", "scheduler", "controller_manager", "kubelet", "kube_proxy")
PROJECT_PACKAGES = {*COMPONENTS, "machinery", "kubemu"}


def _imported_packages(path: pathlib.Path) -> set[tuple[int, str]]:
    """(line, top-level package) of every absolute import of a project package in ``path``."""
    tree = ast.parse(path.read_text(), str(path))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        for name in names:
            top = name.split(".", 1)[0]
            if top in PROJECT_PACKAGES:
                found.add((node.lineno, top))
    return found


@pytest.mark.parametrize("package", [*COMPONENTS, "machinery"])
def test_package_imports_only_what_it_may(package):
    allowed = {package, "machinery"}
    offences = []
    for path in sorted((ROOT / package).rglob("*.py")):
        if "pb" in path.relative_to(ROOT).parts[:2] and package == "machinery":
            continue  # generated code
        for line, top in _imported_packages(path):
            if top not in allowed:
                offences.append(f"{path.relative_to(ROOT)}:{line} imports {top}")
    assert not offences, f"{package} may import only {sorted(allowed)}:\n" + "\n".join(offences)
