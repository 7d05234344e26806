"""The committed generated code in machinery/pb matches proto/ (run `make protos` to fix)."""

import subprocess
import sys

from tests.conftest import ROOT


def test_generated_protobuf_code_is_fresh():
    result = subprocess.run([sys.executable, "scripts/gen_protos.py", "--check"], cwd=ROOT, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
