"""`make plan` of every study and of the paper grid in their full mode (the real tasks and encoders, not TINY):
the planner knows the training size of every task they train on, so each prints its runs and a total before a GPU
is touched. Only planning runs (no data, no model): seconds each."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys

import pytest

from tests.helpers import ROOT

STILT = f"{shlex.quote(sys.executable)} -m stilt_cli"
GRIDS = ["examples/paper", *(f"examples/questions/{name}" for name in
                             ("typology", "alignment", "similarity", "mt5-xtreme-r", "multilingual-intermediate"))]


@pytest.mark.parametrize("grid", GRIDS)
def test_full_grid_plan_names_every_run(grid, tmp_path):
    env = dict(os.environ, HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1")
    result = subprocess.run(["make", "-s", "--no-print-directory", "-C", str(ROOT / grid), f"STILT={STILT}",
                             f"PY={sys.executable}", f"OUT={tmp_path}", "plan"],
                            capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    total = [line for line in result.stdout.splitlines() if "TOTAL (" in line]
    assert total and "/s3/" in result.stdout, result.stdout[-2000:]  # three seeds by default
    assert not list(tmp_path.iterdir())  # planning wrote nothing
