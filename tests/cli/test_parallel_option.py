"""`--parallel`: an unknown strategy is a usage error before anything loads; fsdp with one process (no
torchrun) is a plain run, said in one line and recorded as such."""

from __future__ import annotations

import json

from tests import train_data as td
from tests.helpers import write_jsonl


def test_unknown_strategy_exits_2_before_the_model_loads(cli, tmp_path, monkeypatch):
    monkeypatch.setattr("stilt_cli.core.training.stages.run", lambda *a: (_ for _ in ()).throw(AssertionError))
    result = cli("target", tmp_path / "no-such-checkpoint", "--task", "xnli", "--parallel", "zero3",
                 "-o", tmp_path / "o")
    assert result.exit_code == 2
    assert "--parallel" in result.stderr and "ddp, fsdp" in result.stderr


def test_fsdp_alone_is_a_plain_run(cli, tiny_xlmr, tmp_path):
    train = write_jsonl(tmp_path / "train.jsonl", td.nli(8))
    result = cli("target", tiny_xlmr, "--task", "xnli", "--data", train, "--max-steps", "2", "--batch-size", "4",
                 "--eval-every", "0", "--parallel", "fsdp", "-o", tmp_path / "out")
    assert result.exit_code == 0, result.stderr
    assert result.stderr.count("--parallel fsdp: one process") == 1
    runtime = json.loads((tmp_path / "out" / "stilt.json").read_text())["lineage"][-1]["runtime"]
    assert runtime["parallel"] == "none" and runtime["world_size"] == 1
