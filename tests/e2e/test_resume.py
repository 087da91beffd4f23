"""Pre-emption on real subprocesses (no mocks): SIGTERM, SIGINT (twice, too) and SIGUSR1 save a
resumable state and exit 75; SIGKILL early, mid-interval and right after a save loses at most the
steps since the last saved state; and `--resume`, again and again, ends with weights bit-identical
to an uninterrupted run (CPU, one thread).

One chain of interruptions on a multi-task `intermediate` run (two heads + continued MLM: sampler
position, masking RNG and keep-best weights must all survive); a SIGKILL and a SIGTERM on `target`, with full
fine-tuning and with LoRA. Only the runs
that receive a signal are subprocesses (each costs seconds of imports); the reference runs, the
refusals and the final resumes run the same CLI in-process."""

from __future__ import annotations

import hashlib
import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests import train_data as td
from tests.helpers import invoke, write_jsonl

pytestmark = pytest.mark.slow
STEPS = 120  # info lines every 12 steps; saves every 5: steps 12, 24, 72, ... fall between two saves
SAVE_EVERY = 5


@pytest.fixture(scope="module")
def env():
    return dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", STILT_QUIET="0", PYTHONUNBUFFERED="1")


@pytest.fixture(scope="module")
def job(tiny_xlmr, tmp_path_factory, env):
    root = tmp_path_factory.mktemp("resume")
    nli = write_jsonl(root / "nli.jsonl", td.nli(64))
    sst = write_jsonl(root / "sst.jsonl", td.sentiment(48))
    dev = write_jsonl(root / "dev.jsonl", td.nli(16, seed=4))
    text = root / "text.txt"
    text.write_text("\n".join(td.text_lines(40)) + "\n", encoding="utf-8")

    def command(out: Path, *extra: str) -> list[str]:
        # eval every 20 steps: the keep-best weights must survive the interruptions too
        return [sys.executable, "-m", "stilt_cli", "intermediate", str(tiny_xlmr), "--task", "mnli,sst2",
                "--data", f"mnli={nli}", "--data", f"sst2={sst}", "--eval-data", f"mnli={dev}", "--mlm-data",
                str(text), "--sampling", "uniform", "--eval-every", "20", "--max-steps", str(STEPS),
                "--batch-size", "8", "--lr", "1e-3", "--save-every", str(SAVE_EVERY), "-o", str(out), *extra]

    reference = root / "reference"
    in_process(command(reference), 0)
    return {"root": root, "command": command, "env": env, "reference": digest(reference), "nli": nli, "dev": dev,
            "reference_dir": reference}


def in_process(command: list[str], code: int):
    """The same command line through the real app in this process (no import cost)."""
    assert command[:3] == [sys.executable, "-m", "stilt_cli"]
    result = invoke(*command[3:])
    assert result.exit_code == code, result.stderr
    return result


def digest(checkpoint: Path) -> str:
    h = hashlib.sha256()
    for path in sorted(checkpoint.rglob("*.safetensors")):
        h.update(str(path.relative_to(checkpoint)).encode())
        h.update(path.read_bytes())
    return h.hexdigest()


def interrupt(command: list[str], env: dict, trigger: Callable[[str], bool], *signals: signal.Signals
              ) -> tuple[int, str]:
    """Run `command`; at the first stderr line where `trigger` holds, send the first of `signals`, and
    each further one once the process has said it handled the one before ("SIGINT received: ...");
    return (exit code, all of stderr)."""
    proc = subprocess.Popen(command, env=env, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    seen = []

    def read_until(condition: Callable[[str], bool]) -> None:
        for line in proc.stderr:
            seen.append(line)
            if condition(line):
                return

    read_until(trigger)
    for i, sig in enumerate(signals):
        if i:
            read_until(lambda line, previous=signals[i - 1]: line.startswith(f"{previous.name} received"))
        proc.send_signal(sig)
    seen.append(proc.stderr.read())
    code = proc.wait(timeout=600)
    stderr = "".join(seen)
    assert "wrote checkpoint" not in stderr, "the run finished before it could be interrupted"
    return code, stderr


def saved_step(out: Path) -> int | None:
    state = out.with_name(out.name + ".partial") / "state" / "state.json"
    return json.loads(state.read_text())["progress"]["step"] if state.is_file() else None


def info_step(line: str) -> int | None:
    match = re.match(r"step (\d+)/\d+ loss", line)
    return int(match.group(1)) if match else None


def resumed_from(stderr: str) -> int:
    match = re.search(r"resumed from step (\d+)", stderr)
    assert match, stderr
    return int(match.group(1))


def saved_at(line: str) -> int | None:
    match = re.search(r"saved resumable state at step (\d+)", line)
    return int(match.group(1)) if match else None


def assert_interrupted(code: int, stderr: str, name: str) -> None:
    assert code == 75, stderr
    errors = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "--resume" in errors[0] and "Traceback" not in stderr, stderr
    assert f"interrupted ({name})" in errors[0] or "second signal" in errors[0], errors


def test_interrupted_again_and_again_then_resumed_is_bit_identical(job):
    out, env, command = job["root"] / "chain", job["env"], job["command"]
    resume = command(out, "--resume")
    partial = out.with_name("chain.partial")

    # SIGKILL early: right as training starts, before the first save (or just after it)
    code, _ = interrupt(command(out), env, lambda line: line.startswith("training "), signal.SIGKILL)
    assert code == -signal.SIGKILL and not out.exists() and partial.is_dir()
    before = saved_step(out)
    assert before is None or before % SAVE_EVERY == 0

    # SIGTERM (what schedulers send): state saved at the next step boundary, exit 75
    code, stderr = interrupt(resume, env, lambda line: saved_at(line) is not None, signal.SIGTERM)
    assert_interrupted(code, stderr, "SIGTERM")
    if before is None:
        assert "no resumable state" in stderr
    else:
        assert resumed_from(stderr) == before
    first_save = int(re.search(r"saved resumable state at step (\d+)", stderr).group(1))
    assert saved_step(out) >= first_save

    # SIGKILL between two saves: at most the steps since the last save are lost
    reached: list[int] = []

    def mid_interval(line: str) -> bool:
        step = info_step(line)
        if step is not None and step % SAVE_EVERY:
            reached.append(step)
            return True
        return False

    last = saved_step(out)
    code, stderr = interrupt(resume, env, mid_interval, signal.SIGKILL)
    assert code == -signal.SIGKILL and resumed_from(stderr) == last
    kept = saved_step(out)
    assert kept % SAVE_EVERY == 0 and kept >= reached[0] - reached[0] % SAVE_EVERY

    # an impatient Ctrl-C, twice: the second one stops at once; the last complete state is kept. The
    # loop holds still right after its next save (STILT_PAUSE_AT_STEP, see core/training/trainstate.py),
    # so both signals arrive while it is inside training, whatever the machine's speed
    last = kept
    pause = last + SAVE_EVERY
    code, stderr = interrupt(resume, dict(env, STILT_PAUSE_AT_STEP=str(pause)),
                             lambda line: line.startswith(f"paused at step {pause}"), signal.SIGINT, signal.SIGINT)
    assert_interrupted(code, stderr, "SIGINT")
    assert "then a second signal: stopped at once" in stderr
    assert resumed_from(stderr) == last and saved_step(out) >= last
    assert saved_step(out) == pause  # the state saved just before the pause, not one cut short

    # SIGKILL right after a save: nothing is lost
    at: list[int] = []

    def after_save(line: str) -> bool:
        step = saved_at(line)
        if step is not None:
            at.append(step)
        return step is not None

    last = saved_step(out)
    code, stderr = interrupt(resume, env, after_save, signal.SIGKILL)
    assert code == -signal.SIGKILL and resumed_from(stderr) == last
    assert saved_step(out) >= at[-1]

    # SIGUSR1: Slurm's pre-emption warning
    last = saved_step(out)
    code, stderr = interrupt(resume, env, lambda line: saved_at(line) is not None, signal.SIGUSR1)
    assert_interrupted(code, stderr, "SIGUSR1")
    assert resumed_from(stderr) == last

    # the state belongs to its config: another --lr is refused, and so is a fresh start over it
    changed = list(resume)
    changed[changed.index("--lr") + 1] = "2e-3"
    assert "different config" in in_process(changed, 2).stderr
    assert "add --resume to continue it" in in_process(command(out), 2).stderr
    assert saved_step(out) is not None  # neither refusal touched the state

    done = in_process(resume, 0)
    assert resumed_from(done.stderr) > 0
    assert digest(out) == job["reference"]
    assert not partial.exists()  # the resumable state is removed once the stage completes
    # the train log, written by seven processes in turn, holds each step once, as the uninterrupted run's does
    from stilt_cli.core.training import trainlog

    log, reference = trainlog.read(out), trainlog.read(job["reference_dir"])
    assert [r["step"] for r in log] == list(range(1, STEPS + 1))
    same = ("step", "task", "loss", "lr", "grad_norm", "examples", "dev", "dev_mean")  # all but the timings
    assert [{k: r.get(k) for k in same} for r in log] == [{k: r.get(k) for k in same} for r in reference]


@pytest.mark.parametrize("peft", [(), ("--peft", "lora", "--lora-dropout", "0.1")], ids=["full", "lora"])
def test_target_sigkill_and_sigterm_then_resume_is_bit_identical(tiny_xlmr, job, peft):
    """Full fine-tuning and LoRA alike (the adapters' weights, optimizer state and LoRA dropout RNG included):
    the resumed run's checkpoint, adapter files too, is the uninterrupted run's to the bit."""
    env, root = job["env"], job["root"]
    name = "lora" if peft else "full"

    def command(out: Path, *extra: str) -> list[str]:
        return [sys.executable, "-m", "stilt_cli", "target", str(tiny_xlmr), "--task", "xnli", "--data",
                str(job["nli"]), "--eval-data", str(job["dev"]), "--eval-every", "10", "--max-steps", "60",
                "--batch-size", "8", "--lr", "1e-3", "--save-every", "5", *peft, "-o", str(out), *extra]

    reference = root / f"target-ref-{name}"
    in_process(command(reference), 0)
    out = root / f"target-{name}"
    code, _ = interrupt(command(out), env, lambda line: saved_at(line) == 5, signal.SIGKILL)
    assert code == -signal.SIGKILL
    kept = saved_step(out)
    assert kept is not None and kept >= 5 and kept % 5 == 0
    code, stderr = interrupt(command(out, "--resume"), env, lambda line: saved_at(line) is not None, signal.SIGTERM)
    assert_interrupted(code, stderr, "SIGTERM")
    assert resumed_from(stderr) == kept
    state = json.loads((out.with_name(out.name + ".partial") / "state" / "state.json").read_text())
    assert state["progress"]["step"] >= 10 and state["progress"]["best"] is not None  # an eval happened at 10
    in_process(command(out, "--resume"), 0)
    assert digest(out) == digest(reference)
    assert bool(list(out.glob("adapters/target/*.safetensors"))) == bool(peft)


def test_signals_are_caught_in_process():
    from stilt_cli.core.training.trainstate import Signals

    before = {name: signal.getsignal(getattr(signal, name)) for name in ("SIGUSR1", "SIGINT", "SIGTERM")}
    for name in before:
        with Signals() as signals:
            os.kill(os.getpid(), getattr(signal, name))
            assert signals.received == name
    assert {name: signal.getsignal(getattr(signal, name)) for name in before} == before  # handlers restored
