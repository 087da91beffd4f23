"""FSDP2 (`--parallel fsdp`) under torchrun with 2 CPU processes (gloo, one thread each): the consolidated
checkpoint equals a single process's run, full and LoRA (the latter with gradient checkpointing); each rank
holds about half of the parameters and optimizer state (read off the shards each rank wrote); SIGKILL then
--resume is bit-identical (another world size is refused, exit 2); the checkpoint loads with AutoModel and
serves evaluate and retrieve."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from safetensors.torch import load_file

from tests import train_data as td
from tests.helpers import jsonl, ok_rows, write_jsonl

pytestmark = pytest.mark.slow

ENV = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
ENV.pop("WORLD_SIZE", None)
TORCHRUN = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2"]


def _args(base: Path, data: dict[str, Path], *extra: str) -> list[str]:
    # no dropout: its random masks differ between one and two processes by design
    return ["target", str(base), "--task", "xnli", "--data", str(data["train"]), "--eval-data", str(data["dev"]),
            "--eval-every", "4", "--max-steps", "8", "--batch-size", "8", "--grad-accum", "2", "--lr", "1e-3",
            "--dropout", "0", *extra]


def _run(command: list[str], **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(command, env={**ENV, **kwargs.pop("env", {})}, capture_output=True, text=True,
                          timeout=600, **kwargs)


def _weights(folder: Path, peft: bool = False) -> dict[str, dict]:
    parts = ["encoder/model.safetensors", "heads/xnli/head.safetensors"]
    parts += ["adapters/target/adapter_model.safetensors"] if peft else []
    return {part: load_file(str(folder / part)) for part in parts}


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("fsdp-data")
    return {"train": write_jsonl(root / "train.jsonl", td.nli(64)),
            "dev": write_jsonl(root / "dev.jsonl", td.nli(15, seed=2))}


@pytest.fixture(scope="module")
def fsdp_run(tiny_ckpts, data, tmp_path_factory):
    """The uninterrupted 2-process FSDP run of the full model."""
    out = tmp_path_factory.mktemp("fsdp") / "two"
    args = _args(tiny_ckpts["xlmr"], data, "--parallel", "fsdp")
    result = _run([*TORCHRUN, "-m", "stilt_cli", *args, "-o", str(out)])
    assert result.returncode == 0, result.stderr
    assert result.stderr.count("wrote checkpoint") == 1  # rank 0 alone writes and speaks
    return out


@pytest.mark.parametrize("peft", [False, True], ids=["full", "lora"])
def test_fsdp_matches_one_process(tiny_ckpts, data, fsdp_run, tmp_path, peft):
    extra = ("--peft", "lora", "--lora-dropout", "0") if peft else ()
    single = _run([sys.executable, "-m", "stilt_cli", *_args(tiny_ckpts["xlmr"], data, *extra),
                   "-o", str(tmp_path / "one")])
    assert single.returncode == 0, single.stderr
    two = fsdp_run
    if peft:
        two = tmp_path / "two"
        # with gradient checkpointing too: recomputed activations inside each sharded unit, same weights
        sharded = _run([*TORCHRUN, "-m", "stilt_cli", *_args(tiny_ckpts["xlmr"], data, *extra, "--parallel", "fsdp",
                                                             "--gradient-checkpointing"), "-o", str(two)])
        assert sharded.returncode == 0, sharded.stderr
    one_weights, two_weights = _weights(tmp_path / "one", peft), _weights(two, peft)
    for part, tensors in one_weights.items():
        assert tensors.keys() == two_weights[part].keys()
        for key, value in tensors.items():
            assert (value - two_weights[part][key]).abs().max() <= 1e-5, (part, key)
    lineage = json.loads((two / "stilt.json").read_text())["lineage"][-1]
    assert lineage["runtime"]["parallel"] == "fsdp" and lineage["runtime"]["world_size"] == 2
    assert [h["step"] for h in lineage["metrics"]["dev_history"]] == [4, 8]  # model selection ran, sharded
    assert len((two / "train_log.jsonl").read_text().splitlines()) == 8  # one line per step, from rank 0


@pytest.mark.parametrize("kind", ["eurobert", "xlmr-xl"])
def test_the_newer_families_shard_too(tiny_ckpts, data, tmp_path, kind):
    """EuroBERT (Llama-style layers) and XLM-R XL (pre-layer-norm) through --parallel fsdp: the same
    consolidated weights as one process."""
    args = _args(tiny_ckpts[kind], data)
    single = _run([sys.executable, "-m", "stilt_cli", *args, "-o", str(tmp_path / "one")])
    sharded = _run([*TORCHRUN, "-m", "stilt_cli", *args, "--parallel", "fsdp", "-o", str(tmp_path / "two")])
    assert single.returncode == 0 and sharded.returncode == 0, single.stderr + sharded.stderr
    one_weights, two_weights = _weights(tmp_path / "one"), _weights(tmp_path / "two")
    for part, tensors in one_weights.items():
        assert tensors.keys() == two_weights[part].keys()
        worst = max((value - two_weights[part][key]).abs().max().item() for key, value in tensors.items())
        assert worst <= 1e-5, (part, worst)


def _values_per_rank(folder: Path) -> dict[tuple[str, int], int]:
    """(model | optimizer | best, rank) -> how many values that rank wrote: its local shard, from the
    checkpoint's own metadata (each tensor chunk and the file of the rank that wrote it)."""
    from stilt_cli.core.training import sharded_state

    metadata = sharded_state.read_metadata(folder)
    counts: dict[tuple[str, int], int] = {}
    for index, stored in metadata.storage_data.items():
        chunks = getattr(metadata.state_dict_metadata[index.fqn], "chunks", None)
        if not chunks:
            continue  # not a tensor (learning rates, betas, ...)
        chunk = next(c for c in chunks if tuple(c.offsets) == tuple(index.offset))
        key = (index.fqn.split(".")[0], int(stored.relative_path.split("_")[2]))  # "__<rank>_0.distcp"
        counts[key] = counts.get(key, 0) + math.prod(chunk.sizes)
    return counts


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def test_sigkill_then_resume_is_bit_identical(tiny_ckpts, data, fsdp_run, tmp_path):
    out = tmp_path / "killed"
    args = _args(tiny_ckpts["xlmr"], data, "--parallel", "fsdp", "--save-every", "5")
    command = [*TORCHRUN, "-m", "stilt_cli", *args, "-o", str(out)]
    log = tmp_path / "killed.log"
    with log.open("w") as sink:
        launcher = subprocess.Popen(command, env={**ENV, "STILT_PAUSE_AT_STEP": "5"}, stdout=sink, stderr=sink)
        deadline = time.monotonic() + 300
        while "paused at step 5" not in log.read_text() and time.monotonic() < deadline:
            assert launcher.poll() is None, log.read_text()
            time.sleep(0.2)
        workers = _children(launcher.pid)  # torchrun starts each worker in a session of its own
        for pid in [launcher.pid, *workers]:
            os.kill(pid, signal.SIGKILL)
        launcher.wait()
    state = Path(str(out) + ".partial") / "state"
    assert sorted(p.name for p in (state / "sharded").glob("*.distcp")) == ["__0_0.distcp", "__1_0.distcp"]
    # each rank holds (and wrote) about half of the parameters, and AdamW's two moments of that half
    values = _values_per_rank(state / "sharded")
    total = values[("model", 0)] + values[("model", 1)]
    for rank in (0, 1):
        assert 0.45 * total <= values[("model", rank)] <= 0.55 * total
        assert values[("optimizer", rank)] == pytest.approx(2 * values[("model", rank)], rel=0.01)
        assert values.get(("best", rank), 0) <= values[("model", rank)]  # the keep-best copy: sharded too
    for pid in workers:  # the lock of the killed run is released once its processes are gone
        while Path(f"/proc/{pid}").exists() and Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z":
            time.sleep(0.1)
    # another world size cannot continue the same run: refused before anything is read, the state kept
    resume = [*_args(tiny_ckpts["xlmr"], data, "--parallel", "fsdp", "--save-every", "5"), "-o", str(out), "--resume"]
    alone = _run([sys.executable, "-m", "stilt_cli", *resume])
    assert alone.returncode == 2, alone.stderr
    assert "written by 2 processes, this run has 1" in alone.stderr
    assert (state / "state.json").is_file()
    resumed = _run([*TORCHRUN, "-m", "stilt_cli", *resume])
    assert resumed.returncode == 0, resumed.stderr
    assert "resumed from step 5 of 8" in resumed.stderr
    uninterrupted, again = _weights(fsdp_run), _weights(out)
    for part, tensors in uninterrupted.items():
        for key, value in tensors.items():
            assert value.equal(again[part][key]), (part, key)


def _kill_when(command: list[str], log: Path, marker: str, env: dict[str, str]) -> None:
    """Start the torchrun group, wait for `marker` on its stderr, SIGKILL the launcher and every worker."""
    with log.open("w") as sink:
        launcher = subprocess.Popen(command, env={**ENV, **env}, stdout=sink, stderr=sink)
        deadline = time.monotonic() + 300
        while marker not in log.read_text() and time.monotonic() < deadline:
            assert launcher.poll() is None, log.read_text()
            time.sleep(0.2)
        workers = _children(launcher.pid)
        for pid in [launcher.pid, *workers]:
            os.kill(pid, signal.SIGKILL)
        launcher.wait()
    for pid in workers:
        while Path(f"/proc/{pid}").exists() and Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z":
            time.sleep(0.1)


@pytest.mark.parametrize("phase", ["state", "manifest"])
def test_sigkill_in_the_final_save_then_resume(tiny_ckpts, data, fsdp_run, tmp_path, phase):
    """Killed after the consolidated weights became the final state (rank 0 wrote it whole), or after the
    manifest: OUT.partial/ is resumable, and --resume under the same torchrun only saves (or only renames),
    ending with the uninterrupted run's weights."""
    out = tmp_path / "killed"
    args = [*_args(tiny_ckpts["xlmr"], data, "--parallel", "fsdp"), "-o", str(out)]
    _kill_when([*TORCHRUN, "-m", "stilt_cli", *args], tmp_path / "killed.log", f"paused in the final save at {phase}",
               {"STILT_PAUSE_IN_SAVE": phase})
    assert not out.exists() and Path(str(out) + ".partial").is_dir()
    resumed = _run([*TORCHRUN, "-m", "stilt_cli", *args, "--resume"])
    assert resumed.returncode == 0, resumed.stderr
    said = "resumed after training (step 8)" if phase == "state" else "finished the save an interruption had cut short"
    assert said in resumed.stderr, resumed.stderr
    uninterrupted, again = _weights(fsdp_run), _weights(out)
    for part, tensors in uninterrupted.items():
        for key, value in tensors.items():
            assert value.equal(again[part][key]), (part, key)


def test_consolidated_checkpoint_loads_and_serves(fsdp_run, data, tmp_path, cli):
    import torch
    from transformers import AutoModel

    encoder = AutoModel.from_pretrained(str(fsdp_run / "encoder"))  # a standard Hugging Face folder
    with torch.no_grad():
        assert encoder(input_ids=torch.tensor([[0, 5, 6, 2]])).last_hidden_state.shape[-1] == encoder.config.hidden_size
    records = ok_rows(cli("evaluate", fsdp_run, "--task", "xnli", "--data", data["dev"], "--split", "dev"))
    assert records and all(r["metric"] == "accuracy" for r in records)
    pairs = write_jsonl(tmp_path / "pairs.jsonl", td.parallel(
        "de", ["ein Hund", "eine Katze", "ein Haus"], ["a dog", "a cat", "a house"], [(i, i) for i in range(3)]))
    rows = ok_rows(cli("retrieve", fsdp_run, "--task", "tatoeba", "--data", pairs))
    assert rows and rows[0]["task"] == "tatoeba"
    assert jsonl(fsdp_run / "train_log.jsonl")[-1]["step"] == 8
