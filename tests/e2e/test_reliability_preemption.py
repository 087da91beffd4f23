"""Pre-emption beyond the training loop's own kill/resume matrix (tests/e2e/test_resume.py): a state save
cut short at any point leaves the previous complete state; a second signal keeps it (exit 75); a
signal outside training (SIGTERM, Ctrl-C) unwinds with one line and exit 130, removing what it was
writing; SIGKILL mid-write leaves only a hidden temporary that no reader takes for output."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import orjson
import pytest
import torch

from stilt_cli.core import records
from stilt_cli.core.errors import Interrupted
from stilt_cli.core.training import trainstate
from stilt_cli.core.training.distributed import Dist

RECORD = {"kind": "eval", "task": "xnli", "lang": "de", "split": "test", "metric": "accuracy", "value": 0.5}


def _training_objects(seed: int):
    torch.manual_seed(seed)
    model = torch.nn.Linear(4, 2)
    optimizer = torch.optim.AdamW(model.parameters(), lr=0.1)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0)
    model(torch.ones(1, 4)).sum().backward()
    optimizer.step()
    return model, optimizer, scheduler, torch.amp.GradScaler("cpu", enabled=False)


def _save(directory: Path, step: int) -> None:
    model, optimizer, scheduler, scaler = _training_objects(step)
    trainstate.save(directory, model=model, optimizer=optimizer, scheduler=scheduler, scaler=scaler,
                    info_json={"config_key": "k", "progress": {"step": step}}, best=None, dist=Dist())


def _load(directory: Path) -> int:
    model, optimizer, scheduler, scaler = _training_objects(0)
    meta, _ = trainstate.load(directory, model=model, optimizer=optimizer, scheduler=scheduler, scaler=scaler,
                              config_key="k", dist=Dist())
    return meta["progress"]["step"]


@pytest.mark.parametrize("cut", ["writing-the-new-state", "moving-the-old-state-aside", "moving-the-new-one-in"])
def test_a_state_save_cut_short_leaves_a_complete_state(tmp_path, monkeypatch, cut):
    state = tmp_path / "OUT.partial" / "state"
    _save(state, 10)
    real_rename, real_save = Path.rename, torch.save
    renames = {"n": 0}

    def rename(self, target):
        renames["n"] += 1
        if (cut == "moving-the-old-state-aside" and renames["n"] == 1) or (
                cut == "moving-the-new-one-in" and renames["n"] == 2):
            raise KeyboardInterrupt  # a second signal, or SIGKILL, at exactly this moment
        return real_rename(self, target)

    def save(obj, path, *args, **kwargs):
        if cut == "writing-the-new-state" and str(path).endswith("optimizer.pt"):
            raise KeyboardInterrupt
        return real_save(obj, path, *args, **kwargs)

    monkeypatch.setattr(Path, "rename", rename)
    monkeypatch.setattr(torch, "save", save)
    with pytest.raises(KeyboardInterrupt):
        _save(state, 15)
    monkeypatch.undo()
    assert trainstate.exists(state)  # finishes the swap the interruption cut short
    assert _load(state) == 10  # the previous state, whole; the new one never half-read
    assert sorted(p.name for p in state.parent.iterdir()) == ["state"]


def test_a_second_signal_keeps_the_last_saved_state_and_means_resumable(tmp_path):
    state = tmp_path / "state"
    _save(state, 4)
    with pytest.raises(Interrupted, match="second signal.*last saved resumable state") as caught:
        with trainstate.Signals(state) as signals:
            os.kill(os.getpid(), signal.SIGUSR1)
            assert signals.received == "SIGUSR1"
            os.kill(os.getpid(), signal.SIGTERM)  # raises KeyboardInterrupt at once
    assert caught.value.exit_code == 75 and "--resume" in caught.value.one_line()
    with pytest.raises(KeyboardInterrupt):  # nothing saved yet: not resumable, the plain interrupt goes on
        with trainstate.Signals(tmp_path / "none"):
            os.kill(os.getpid(), signal.SIGINT)
            os.kill(os.getpid(), signal.SIGINT)


def test_ctrl_c_outside_training_is_one_line_and_exit_130(cli, tmp_path, monkeypatch):
    from stilt_cli.core.evaluation import summary

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(summary, "build", interrupted)
    results = tmp_path / "r.jsonl"
    results.write_bytes(orjson.dumps(RECORD) + b"\n")
    out = tmp_path / "out.txt"
    out.write_text("earlier\n")
    result = cli("summary", results, "-o", out)
    assert result.exit_code == 130
    assert result.stderr == "error: interrupted before completion; unfinished outputs were discarded\n"
    assert out.read_text() == "earlier\n"


# ---- real signals in the middle of a write ---------------------------------------------------------
PAUSED = textwrap.dedent("""
    import os, sys, time
    real = os.fsync
    def paused(fd):  # the content is in the temporary file; the rename has not happened
        sys.stderr.write("PAUSED\\n"); sys.stderr.flush(); time.sleep(60); real(fd)
    os.fsync = paused
    sys.argv = ["stilt"] + sys.argv[1:]
    from stilt_cli.cli import main
    main()
""")


def _paused_write(tmp_path: Path, sig: signal.Signals) -> tuple[int, str, Path]:
    """`stilt summary -o OUT` over an earlier OUT, stopped by `sig` while its new OUT is a temporary."""
    results = tmp_path / "results"
    results.mkdir()
    (results / "r.jsonl").write_bytes(orjson.dumps(RECORD) + b"\n")
    out = results / "summary.jsonl"
    out.write_bytes(orjson.dumps(dict(RECORD, lang="fr")) + b"\n")
    proc = subprocess.Popen([sys.executable, "-c", PAUSED, "summary", str(results / "r.jsonl"), "--format", "jsonl",
                             "--resamples", "200", "-o", str(out)], env=dict(os.environ, OMP_NUM_THREADS="1"),
                            stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    seen = []
    for line in proc.stderr:
        seen.append(line)
        if line.startswith("PAUSED"):
            assert [p for p in results.iterdir() if p.name.startswith(".summary.jsonl.") and ".tmp" in p.name]
            proc.send_signal(sig)
            break
    seen.append(proc.stderr.read())
    return proc.wait(timeout=120), "".join(seen), out


def test_sigterm_mid_write_removes_the_temporary_and_keeps_the_old_output(tmp_path):
    code, stderr, out = _paused_write(tmp_path, signal.SIGTERM)
    assert code == 130, stderr
    assert stderr.strip().splitlines()[-1] == "error: interrupted before completion; unfinished outputs were discarded"
    assert "Traceback" not in stderr
    assert [r["lang"] for r in records.read(out)] == ["fr"]  # the earlier output, untouched
    assert sorted(p.name for p in out.parent.iterdir() if not p.name.endswith(".lock")) == ["r.jsonl",
                                                                                          "summary.jsonl"]


def test_sigkill_mid_write_leaves_only_a_hidden_temporary_that_no_reader_takes(tmp_path):
    code, _, out = _paused_write(tmp_path, signal.SIGKILL)
    assert code == -signal.SIGKILL
    assert [r["lang"] for r in records.read(out)] == ["fr"]
    leftovers = [p.name for p in out.parent.iterdir() if p.name.startswith(".summary.jsonl.")]
    assert leftovers and all(".tmp" in name for name in leftovers if not name.endswith(".lock"))
    # reading the whole results folder (what summary and correlate do) sees finished files only
    assert sorted(p.name for p in records.expand_paths([out.parent])) == ["r.jsonl", "summary.jsonl"]
