"""Pre-emption on a real subprocess (no mocks): kill -9 or SIGTERM mid-training, then `--resume`
ends with weights bit-identical to an uninterrupted run (CPU, one thread)."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import train_data as td

pytestmark = pytest.mark.slow
STEPS = "80"


@pytest.fixture(scope="module")
def job(tiny_xlmr, tmp_path_factory):
    root = tmp_path_factory.mktemp("resume")
    train = td.write_jsonl(root / "train.jsonl", td.nli(96))
    dev = td.write_jsonl(root / "dev.jsonl", td.nli(16, seed=4))

    def command(out: Path, *extra: str) -> list[str]:
        # eval every 20 steps: keep-best state must survive the interruption too
        return [sys.executable, "-m", "stilt_cli", "target", str(tiny_xlmr), "--task", "xnli", "--data", str(train),
                "--eval-data", str(dev), "--eval-every", "20", "--max-steps", STEPS, "--batch-size", "8",
                "--lr", "1e-3", "--save-every", "5", "-o", str(out), *extra]

    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", STILT_QUIET="0")
    reference = root / "reference"
    subprocess.run(command(reference), env=env, check=True, capture_output=True, timeout=600)
    return {"root": root, "command": command, "env": env, "reference": digest(reference)}


def digest(checkpoint: Path) -> str:
    h = hashlib.sha256()
    for path in sorted(checkpoint.rglob("*.safetensors")):
        h.update(str(path.relative_to(checkpoint)).encode())
        h.update(path.read_bytes())
    return h.hexdigest()


def interrupt(job, out: Path, at_step: int, sig: signal.Signals) -> tuple[int, str]:
    """Start a run; once it has saved the state of `at_step`, send `sig`; return (exit code, stderr)."""
    proc = subprocess.Popen(job["command"](out), env=job["env"], stderr=subprocess.PIPE, stdout=subprocess.DEVNULL,
                            text=True)
    seen = []
    for line in proc.stderr:
        seen.append(line)
        if f"saved resumable state at step {at_step}" in line:
            proc.send_signal(sig)
            break
    seen.append(proc.stderr.read())
    code = proc.wait(timeout=600)
    assert "wrote checkpoint" not in "".join(seen), "the run finished before it could be interrupted"
    return code, "".join(seen)


def resume(job, out: Path) -> subprocess.CompletedProcess:
    return subprocess.run(job["command"](out, "--resume"), env=job["env"], capture_output=True, text=True, timeout=600)


def test_kill_9_then_resume_is_bit_identical(job):
    out = job["root"] / "killed"
    code, _ = interrupt(job, out, 10, signal.SIGKILL)
    assert code == -signal.SIGKILL
    partial = out.with_name("killed.partial")
    assert not out.exists() and (partial / "state" / "state.json").is_file()
    assert json.loads((partial / "state" / "state.json").read_text())["progress"]["step"] >= 10
    done = resume(job, out)
    assert done.returncode == 0, done.stderr
    assert "resumed from step" in done.stderr
    assert digest(out) == job["reference"]
    assert not partial.exists()  # the resumable state is removed once the stage completes


def test_sigterm_saves_state_exits_75_and_resumes_identically(job):
    out = job["root"] / "terminated"
    code, stderr = interrupt(job, out, 25, signal.SIGTERM)
    assert code == 75, stderr
    assert "interrupted (SIGTERM)" in stderr and "--resume" in stderr and "Traceback" not in stderr
    state = json.loads((out.with_name("terminated.partial") / "state" / "state.json").read_text())
    assert state["progress"]["step"] in (25, 26) and state["progress"]["best"] is not None  # an eval happened at 20
    done = resume(job, out)
    assert done.returncode == 0, done.stderr
    assert digest(out) == job["reference"]


def test_resume_refuses_another_config(job):
    out = job["root"] / "other"
    code, _ = interrupt(job, out, 5, signal.SIGTERM)
    assert code == 75
    changed = job["command"](out, "--resume")
    changed[changed.index("--lr") + 1] = "2e-3"
    result = subprocess.run(changed, env=job["env"], capture_output=True, text=True, timeout=600)
    assert result.returncode == 2 and "different config" in result.stderr
    fresh = subprocess.run(job["command"](out), env=job["env"], capture_output=True, text=True, timeout=600)
    assert fresh.returncode == 2 and "add --resume to continue it" in fresh.stderr


def test_signals_are_caught_in_process():
    from stilt_cli.core.trainstate import Signals

    before = {name: signal.getsignal(getattr(signal, name)) for name in ("SIGUSR1", "SIGINT", "SIGTERM")}
    for name in before:
        with Signals() as signals:
            os.kill(os.getpid(), getattr(signal, name))
            assert signals.received == name
    assert {name: signal.getsignal(getattr(signal, name)) for name in before} == before  # handlers restored
