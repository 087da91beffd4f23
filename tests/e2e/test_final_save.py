"""The final save loses nothing: a signal at any phase of it ends with exit 0 and OUT complete (or 75 with
OUT.partial/ resumable), and what a SIGKILL at that phase leaves on disk is OUT complete or a resumable
OUT.partial/ from which `--resume` finishes to the same bytes as an uninterrupted run.

One training run (in-process, no --save-every: the final state is the only one) gives the reference
checkpoint and, through the test hook at the first phase, a copy of OUT.partial/ holding the final state;
every other case resumes a copy of that and only saves. The SIGKILL cases copy the disk at the pause
point, which is exactly what a kill there leaves; two real subprocesses check the same through `cli.main`
(the signal handlers, the exit handlers)."""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from stilt_cli.core.training import finalsave
from tests import train_data as td
from tests.helpers import invoke, write_jsonl


def digest(checkpoint: Path) -> str:
    h = hashlib.sha256()
    for path in sorted(checkpoint.rglob("*.safetensors")):
        h.update(str(path.relative_to(checkpoint)).encode())
        h.update(path.read_bytes())
    return h.hexdigest()


def partial(out: Path) -> Path:
    return out.with_name(out.name + ".partial")


def snapshot(out: Path, into: Path) -> None:
    """OUT and OUT.partial/ as they are now: what a SIGKILL at this instant would leave."""
    into.mkdir(parents=True)
    for path in (out, partial(out)):
        if path.exists():
            shutil.copytree(path, into / path.name)


@pytest.fixture(scope="module")
def job(tiny_xlmr, tmp_path_factory):
    root = tmp_path_factory.mktemp("final-save")
    nli = write_jsonl(root / "nli.jsonl", td.nli(32))
    dev = write_jsonl(root / "dev.jsonl", td.nli(12, seed=4))

    def args(out: Path, *extra: str) -> list[str]:
        return ["target", str(tiny_xlmr), "--task", "xnli", "--data", str(nli), "--eval-data", str(dev),
                "--eval-every", "4", "--max-steps", "8", "--batch-size", "8", "--lr", "1e-3", "-o", str(out), *extra]

    reference = root / "reference"
    template = root / "template"
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(finalsave, "pause", lambda phase: snapshot(reference, template) if phase == "state" else None)
        result = invoke(*args(reference))
    assert result.exit_code == 0, result.stderr
    assert (template / "reference.partial" / "state" / "state.json").is_file()
    return {"root": root, "args": args, "reference": digest(reference), "template": template / "reference.partial"}


def fresh(job, name: str) -> Path:
    """A new OUT whose OUT.partial/ holds the final state (the run was killed once training had ended)."""
    out = job["root"] / name
    shutil.copytree(job["template"], partial(out))
    return out


def assert_rule(out: Path) -> None:
    """OUT complete, or OUT.partial/ with a state or a complete checkpoint in it."""
    if (out / "stilt.json").is_file():
        return
    assert (partial(out) / "state" / "state.json").is_file() or (partial(out) / "stilt.json").is_file(), \
        sorted(str(p) for p in partial(out).rglob("*"))


@pytest.mark.parametrize("phase", finalsave.PHASES)
def test_sigterm_then_sigkill_at_each_phase_of_the_final_save(job, phase, monkeypatch):
    out = fresh(job, f"term-{phase}")
    killed = job["root"] / f"killed-{phase}"

    def signalled(reached: str) -> None:
        if reached == phase:
            snapshot(out, killed)
            os.kill(os.getpid(), signal.SIGTERM)

    monkeypatch.setattr(finalsave, "pause", signalled)
    result = invoke(*job["args"](out, "--resume"))
    assert result.exit_code == 0, result.stderr
    assert "SIGTERM received during the final save" in result.stderr
    assert digest(out) == job["reference"] and not partial(out).exists()

    monkeypatch.setattr(finalsave, "pause", lambda reached: None)
    out = killed / out.name
    assert_rule(out)
    if not out.exists():
        result = invoke(*job["args"](out, "--resume"))
        assert result.exit_code == 0, result.stderr
    assert digest(out) == job["reference"] and not partial(out).exists()


@pytest.mark.parametrize("phase", ["weights", "cleared"])
def test_a_second_signal_stops_at_once_and_resume_finishes(job, phase, monkeypatch):
    out = fresh(job, f"twice-{phase}")

    def twice(reached: str) -> None:
        if reached == phase:
            os.kill(os.getpid(), signal.SIGINT)
            os.kill(os.getpid(), signal.SIGTERM)

    monkeypatch.setattr(finalsave, "pause", twice)
    result = invoke(*job["args"](out, "--resume"))
    assert result.exit_code == 75, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "during the final save" in errors[0] and "--resume" in errors[0], result.stderr
    assert not out.exists()
    assert_rule(out)
    assert "add --resume" in invoke(*job["args"](out)).stderr  # a fresh start is refused, as for any state
    monkeypatch.setattr(finalsave, "pause", lambda reached: None)
    result = invoke(*job["args"](out, "--resume"))
    assert result.exit_code == 0, result.stderr
    assert digest(out) == job["reference"] and not partial(out).exists()


def _run_until(command: list[str], env: dict, phase: str, *steps: tuple[str, signal.Signals]) -> tuple[int, str]:
    """Run `command` paused at `phase`; at the first stderr line starting with each step's text, its signal."""
    proc = subprocess.Popen(command, env=dict(env, **{finalsave.PAUSE_ENV: phase}), stderr=subprocess.PIPE,
                            stdout=subprocess.DEVNULL, text=True)
    seen = []
    for start, sig in steps:
        for line in proc.stderr:
            seen.append(line)
            if line.startswith(start):
                break
        proc.send_signal(sig)
    seen.append(proc.stderr.read())
    return proc.wait(timeout=300), "".join(seen)


@pytest.mark.slow
def test_real_signals_through_the_command(job):
    """SIGKILL in the middle of the save; then SIGTERM during the resumed save, and again as it exits
    (where the exit handlers run: no traceback, no death by the signal)."""
    env = dict(os.environ, OMP_NUM_THREADS="1", STILT_QUIET="0", PYTHONUNBUFFERED="1")
    out = fresh(job, "real")
    command = [sys.executable, "-m", "stilt_cli", *job["args"](out, "--resume")]
    paused = "paused in the final save at"
    code, _ = _run_until(command, env, "manifest", (paused, signal.SIGKILL))
    assert code == -signal.SIGKILL and not out.exists()
    assert_rule(out)
    code, stderr = _run_until(command, env, "committed", (paused, signal.SIGTERM),
                              ("finished the save", signal.SIGTERM))
    assert code == 0 and "Traceback" not in stderr and "error:" not in stderr, stderr
    assert "finished the save an interruption had cut short" in stderr
    assert digest(out) == job["reference"] and not partial(out).exists()
