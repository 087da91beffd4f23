"""examples/slurm/array.sbatch: line N of the commands file runs in array task N under srun; exit 75 (a
resumable state was saved) requeues that array task; other exit codes pass through. srun and scontrol are
stand-ins on PATH (no Slurm here)."""

from __future__ import annotations

import os
import stat
import subprocess

import pytest

from tests.helpers import ROOT

TEMPLATE = ROOT / "examples" / "slurm" / "array.sbatch"


def _tool(folder, name: str, body: str) -> None:
    path = folder / name
    path.write_text("#!/bin/bash\n" + body + "\n")
    path.chmod(path.stat().st_mode | stat.S_IEXEC)


@pytest.mark.parametrize("task, code, requeued", [(1, 0, False), (2, 75, True), (3, 1, False), (4, 0, False)])
def test_array_task_runs_its_line_and_requeues_on_75(tmp_path, task, code, requeued):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    _tool(bin_dir, "srun", 'shift; "$@"')  # srun --kill-on-bad-exit=1 CMD... -> CMD...
    _tool(bin_dir, "scontrol", f'echo "$@" >> {tmp_path}/scontrol.log')
    commands = tmp_path / "commands.txt"
    commands.write_text(f"echo one > {tmp_path}/ran-1\nexit 75\nexit 1\n# a comment\n")
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "SLURM_ARRAY_TASK_ID": str(task),
           "SLURM_ARRAY_JOB_ID": "77"}
    result = subprocess.run(["bash", str(TEMPLATE), str(commands)], env=env, capture_output=True, text=True,
                            timeout=30)
    assert result.returncode == code, result.stderr
    log = tmp_path / "scontrol.log"
    assert (log.read_text().strip() == f"requeue 77_{task}") if requeued else not log.exists()
    assert (tmp_path / "ran-1").exists() == (task == 1)


def test_template_asks_for_the_signal_and_requeue():
    text = TEMPLATE.read_text()
    assert "#SBATCH --signal=USR1@120" in text and "#SBATCH --requeue" in text and "--resume" in text
