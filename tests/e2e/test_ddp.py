"""DDP: the same command under torchrun with 2 CPU processes (gloo, one thread each) gives the result of
a single process with the same global batch, up to floating-point reduction order."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys

import pytest
from safetensors.torch import load_file

from tests import train_data as td
from tests.helpers import write_jsonl

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("peft", [(), ("--peft", "lora", "--lora-dropout", "0")], ids=["full", "lora"])
def test_two_processes_match_one(tiny_mbert_or_xlmr, tmp_path, peft):
    train = write_jsonl(tmp_path / "train.jsonl", td.nli(64))
    dev = write_jsonl(tmp_path / "dev.jsonl", td.nli(15, seed=2))
    args = ["target", str(tiny_mbert_or_xlmr), "--task", "xnli", "--data", str(train), "--eval-data", str(dev),
            "--eval-every", "4", "--max-steps", "8", "--batch-size", "8", "--grad-accum", "2", "--lr", "1e-3",
            "--dropout", "0", *peft]  # no dropout: its random masks differ between one and two processes by design
    tensorboard = importlib.util.find_spec("tensorboard") is not None
    args += ["--report-to", "tensorboard"] if tensorboard else []  # reported by rank 0 alone
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    env.pop("WORLD_SIZE", None)
    single = subprocess.run([sys.executable, "-m", "stilt_cli", *args, "-o", str(tmp_path / "one")], env=env,
                            capture_output=True, text=True, timeout=600)
    assert single.returncode == 0, single.stderr
    ddp = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
                          "-m", "stilt_cli", *args, "-o", str(tmp_path / "two")], env=env, capture_output=True,
                         text=True, timeout=600)
    assert ddp.returncode == 0, ddp.stderr
    assert "2 process(es)" in ddp.stderr
    assert ddp.stderr.count("wrote checkpoint") == 1  # only rank 0 writes (and speaks)
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.endswith(".jsonl") and not p.name.startswith(".")) \
        == sorted(["one", "two"] + (["tracking"] if tensorboard else []))
    parts = ["encoder/model.safetensors", "heads/xnli/head.safetensors"]
    for part in parts + (["adapters/target/adapter_model.safetensors"] if peft else []):
        a, b = load_file(str(tmp_path / "one" / part)), load_file(str(tmp_path / "two" / part))
        assert a.keys() == b.keys()
        for key in a:
            assert (a[key] - b[key]).abs().max() < 1e-5, (part, key)
    history = [json.loads((tmp_path / name / "stilt.json").read_text())["lineage"][-1] for name in ("one", "two")]
    assert history[1]["runtime"]["world_size"] == 2
    one, two = (h["metrics"]["dev_history"] for h in history)
    assert [h["step"] for h in one] == [h["step"] for h in two] == [4, 8]
    for a, b in zip(one, two):  # dev accuracy over all 15 examples, gathered from both processes
        assert abs(a["dev"]["xnli"] - b["dev"]["xnli"]) <= 1 / 15 + 1e-9
    # the train log (rank 0 only) and the TensorBoard run: each step once, the loss of the whole batch
    from stilt_cli.core.training import trainlog

    logs = [trainlog.read(tmp_path / name) for name in ("one", "two")]
    assert [r["step"] for r in logs[1]] == list(range(1, 9))
    assert [r["loss"] for r in logs[1]] == pytest.approx([r["loss"] for r in logs[0]], abs=1e-4)
    if tensorboard:
        from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

        folder = tmp_path / "tracking" / "tensorboard" / "two"
        assert len(list(folder.iterdir())) == 1  # one event file: the second process wrote none
        events = EventAccumulator(str(folder))
        events.Reload()
        assert [e.step for e in events.Scalars("train/loss")] == list(range(1, 9))
        assert [e.value for e in events.Scalars("train/loss")] == pytest.approx([r["loss"] for r in logs[1]], rel=1e-6)


@pytest.fixture
def tiny_mbert_or_xlmr(tiny_ckpts):
    return tiny_ckpts["mbert"]  # BERT: token type ids travel through the shards too
