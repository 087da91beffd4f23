"""`stilt plan hours`: tokens from a grid, throughput from the table, GPU-hours; the table's estimates
equal the FLOP formula; unknown names are one line with did-you-mean, exit 2."""

from __future__ import annotations

import json

import orjson
import pytest

from stilt_cli.core.planning import hours, models


def _grid(tmp_path, *runs) -> str:
    path = tmp_path / "grid.jsonl"
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in runs))
    return str(path)


def test_hours_of_a_grid_from_the_formula(cli, tmp_path):
    data = tmp_path / "train.jsonl"
    data.write_text('{"id": 1}\n{"id": 2}\n\n{"id": 3}\n')
    grid = _grid(tmp_path,
                 {"run": "base/s1", "model": "xlm-roberta-large", "examples": 392702, "epochs": 2, "arm": "base"},
                 {"run": "lora/s1", "model": "FacebookAI/xlm-roberta-large", "peft": "lora", "data": str(data),
                  "epochs": 3, "max_length": 256, "gpu": "a100-80gb"},
                 {"run": "mt5/s1", "model": "google/mt5-xl", "steps": 100, "batch_size": 16})
    result = cli("plan", "hours", grid, "--format", "jsonl")
    assert result.exit_code == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    base, lora, mt5, total = rows
    shape = models.resolve("xlm-roberta-large")
    assert shape.layers == 24 and 5.5e8 < shape.params < 5.7e8  # XLM-R Large: 560 M parameters
    assert base["tokens"] == 392702 * 2 * 128 and base["arm"] == "base"  # other fields pass through
    peak = 0.35 * 989.4e12  # the table's utilisation of H100 bf16
    assert base["tokens_per_s"] == pytest.approx(peak / hours.flops_per_token(shape, 128), rel=1e-5)
    assert base["gpu_hours"] == pytest.approx(base["tokens"] / base["tokens_per_s"] / 3600)
    assert base["throughput_source"] == "estimate" and "table row" in base["throughput_basis"]
    assert lora["examples"] == 3 and lora["tokens"] == 3 * 3 * 256 and lora["gpu"] == "a100-80gb"
    assert lora["tokens_per_s"] == pytest.approx(0.35 * 312e12 / hours.flops_per_token(shape, 256, "lora"), rel=1e-4)
    assert mt5["tokens"] == 100 * 16 * 128 and mt5["epochs"] is None
    assert total["run"] == "TOTAL" and total["runs"] == 3 and total["estimate"] is True
    assert total["gpu_hours"] == pytest.approx(sum(r["gpu_hours"] for r in rows[:3]))
    table = cli("plan", "hours", grid)
    assert table.exit_code == 0 and "TOTAL (3 runs)" in table.stdout and "3 of 3 runs use estimates" in table.stdout


def test_measured_row_wins_and_utilisation_changes_estimates(cli, tmp_path):
    grid = _grid(tmp_path, {"run": "e5", "model": "intfloat/multilingual-e5-small", "examples": 2060,
                            "gpu": "cpu-2core", "precision": "fp32"},
                 {"run": "tiny", "model": "tiny:xlmr", "examples": 10})
    e5, tiny, _ = [json.loads(line) for line in cli("plan", "hours", grid, "--format", "jsonl").stdout.splitlines()]
    assert e5["throughput_source"] == "measured" and "2026-11-22" in e5["throughput_basis"]
    assert e5["gpu_hours"] == pytest.approx(2060 / 20.6 / 3600, rel=1e-3)  # the README's 20.6 samples/s
    half = [json.loads(line) for line in
            cli("plan", "hours", grid, "--format", "jsonl", "--utilisation", "0.7").stdout.splitlines()]
    assert half[0]["throughput_source"] == "measured" and half[1]["gpu_hours"] == pytest.approx(tiny["gpu_hours"] / 2)


def test_the_table_estimates_are_the_formula():
    stored = [r for r in models.table()["throughput"] if r["status"] == "estimate"]
    assert stored == hours.estimate_rows()
    measured = [r for r in models.table()["throughput"] if r["status"] == "measured"]
    assert all(r.get("measured_on") for r in measured)
    assert not [r for r in measured if r["gpu"] != "cpu-2core"]  # no GPU run has happened in this project yet


@pytest.mark.parametrize("line, option, message, code", [
    ({"run": "x", "model": "xlm-roberta-lrge", "examples": 3}, (), "did you mean 'xlm-roberta-large'", 2),
    ({"run": "x", "model": "xlmr-large", "examples": 3, "gpu": "h10"}, (), "unknown GPU 'h10' (did you mean 'h100'", 2),
    ({"run": "x", "model": "xlmr-large", "examples": 3}, ("--gpu", "a1000"), "did you mean", 2),
    ({"run": "x", "model": "xlmr-large", "examples": 3, "precision": "fp8"}, (), "unknown precision 'fp8'", 2),
    ({"run": "x", "model": "xlmr-large", "examples": 3, "precision": "bf16", "gpu": "v100"}, (), "no bf16 peak", 2),
    ({"run": "x", "model": "xlmr-large"}, (), "grid.jsonl:1: run 'x' gives neither examples", 1),
    ({"run": "x", "model": "xlmr-large", "examples": -3}, (), "'examples' must be a positive integer", 1),
    ({"model": "xlmr-large", "examples": 3}, (), "needs 'run'", 1),
])
def test_bad_grid_lines_are_one_line(cli, tmp_path, line, option, message, code):
    result = cli("plan", "hours", _grid(tmp_path, line), *option)
    assert result.exit_code == code, result.stderr
    assert message in result.stderr and result.stderr.count("\n") == 1 and result.stdout == ""


def test_grid_from_stdin_and_local_folder(cli, tmp_path):
    """A local transformers folder or stilt checkpoint (encoder/config.json) is read from its config."""
    (tmp_path / "ckpt" / "encoder").mkdir(parents=True)
    config = {"model_type": "xlm-roberta", "hidden_size": 64, "num_hidden_layers": 2, "intermediate_size": 128,
              "vocab_size": 4000}
    (tmp_path / "ckpt" / "encoder" / "config.json").write_text(json.dumps(config))
    line = orjson.dumps({"run": "local", "model": str(tmp_path / "ckpt"), "examples": 100}).decode() + "\n"
    result = cli("plan", "hours", "-", "--format", "jsonl", input=line)
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout.splitlines()[0])["params"] == 2 * (4 * 64 ** 2 + 2 * 64 * 128) + 4000 * 64


def test_task_and_preset_fill_in_examples_epochs_and_lengths(cli, tmp_path):
    """A study's full-mode line names only task and preset: examples from the table (a target task counts its
    train_task), epochs / batch / length from the preset (the *_large values for a 24-layer encoder)."""
    from stilt_cli.core import tasks

    grid = _grid(tmp_path, {"run": "xnli", "model": "xlmr-large", "task": "xnli", "preset": "xstilts"},
                 {"run": "own", "model": "xlmr-base", "task": "xnli", "preset": "xstilts", "epochs": 1,
                  "examples": 10})
    xnli, own, _ = [json.loads(line) for line in cli("plan", "hours", grid, "--format", "jsonl").stdout.splitlines()]
    preset = tasks.get("xnli").hparams["xstilts"]
    assert xnli["examples"] == 392702 and xnli["examples_from"].startswith("mnli")
    assert xnli["epochs"] == preset["epochs"] and xnli["max_length"] == preset.get("max_length_large",
                                                                                   preset["max_length"])
    assert (own["examples"], own["epochs"]) == (10, 1)  # the line's own values win
    bad = cli("plan", "hours", _grid(tmp_path, {"run": "x", "model": "xlmr-large", "task": "xnli", "preset": "nope"}))
    assert bad.exit_code == 2 and "has no 'nope' preset" in bad.stderr


def test_multi_task_translate_train_and_mlm_lines(cli, tmp_path):
    """A comma list of tasks trains each task's epochs over its examples (at its own length); train_langs
    multiplies the examples; continued MLM needs its text file."""
    from stilt_cli.core import tasks

    text = tmp_path / "mlm.txt"
    text.write_text("one line\nanother\n")
    grid = _grid(tmp_path, {"run": "multi", "model": "xlmr-large", "task": "mnli,squad_v1", "preset": "xstilts"},
                 {"run": "tt", "model": "xlmr-large", "task": "xnli", "preset": "xstilts", "train_langs": "all"},
                 {"run": "mlm", "model": "xlmr-large", "task": "mlm", "preset": "xstilts", "data": str(text)})
    multi, tt, mlm, _ = [json.loads(line)
                         for line in cli("plan", "hours", grid, "--format", "jsonl").stdout.splitlines()]
    shape = models.resolve("xlmr-large")
    mnli, squad = ({**tasks.get(t).hparams["xstilts"]} for t in ("mnli", "squad_v1"))
    length = {t: p.get("max_length_large", p["max_length"]) for t, p in (("mnli", mnli), ("squad_v1", squad))}
    assert [p["tokens"] for p in multi["parts"]] == [392702 * mnli["epochs"] * length["mnli"],
                                                     87599 * squad["epochs"] * length["squad_v1"]]
    rates = [hours.throughput(shape, "h100", "bf16", length[t], None, None)[0] for t in ("mnli", "squad_v1")]
    assert multi["gpu_hours"] == pytest.approx(sum(p["tokens"] / r / 3600 for p, r in zip(multi["parts"], rates)))
    assert tt["examples"] == 392702 * len(tasks.get("xnli").languages) and tt["languages"] > 1
    assert mlm["examples"] == 2
    bad = cli("plan", "hours", _grid(tmp_path, {"run": "m", "model": "xlmr-large", "task": "mlm"}))
    assert bad.exit_code == 1 and "(mlm)" in bad.stderr and "--mlm-data" in bad.stderr
