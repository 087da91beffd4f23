"""Experiment tracking and what a training run leaves behind: `--report-to tensorboard,wandb,mlflow` read
back offline with each library's own reader, the checkpoint's `train_log.jsonl`, its Hugging Face model
card (with `stilt card`'s model-index), and `stilt plot-training`.

One module-scoped `target` run reports to all three trackers at once (each tracker import costs seconds);
the tests read what it wrote."""

from __future__ import annotations

import json
import struct

import pytest

from stilt_cli.core.training import trainlog
from tests import train_data as td
from tests.helpers import jsonl, png_size, write_jsonl

TRACKERS = ("tensorboard", "wandb", "mlflow")


@pytest.fixture(scope="module")
def run(tiny_xlmr, tmp_path_factory):
    """A 6-step target run with dev evaluations at steps 3 and 6, reporting to every tracker."""
    from tests.helpers import invoke

    for module in TRACKERS:
        pytest.importorskip(module)
    root = tmp_path_factory.mktemp("tracking")
    train = write_jsonl(root / "train.jsonl", td.nli(40))
    dev = write_jsonl(root / "dev.jsonl", td.nli(10, seed=2))
    out = root / "runs" / "xnli-tiny"
    with pytest.MonkeyPatch.context() as patch:
        for name in ("WANDB_MODE", "WANDB_DIR", "MLFLOW_TRACKING_URI", "MLFLOW_EXPERIMENT_NAME"):
            patch.delenv(name, raising=False)
        result = invoke("target", tiny_xlmr, "--task", "xnli", "--data", train, "--eval-data", dev, "--eval-every", "3",
                        "--max-steps", "6", "--batch-size", "8", "--lr", "1e-3", "--report-to", "tensorboard,wandb",
                        "--report-to", "mlflow", "-o", out)
    assert result.exit_code == 0, result.stderr
    return {"out": out, "tracking": root / "runs" / "tracking", "result": result, "dev": dev, "root": root}


@pytest.fixture(scope="module")
def log(run):
    return trainlog.read(run["out"])


def test_stdout_stays_empty_and_the_trackers_write_beside_the_output(run):
    assert run["result"].stdout == ""  # no tracker banner on the data stream
    assert sorted(p.name for p in run["tracking"].iterdir()) == ["mlruns", "tensorboard", "wandb"]


def test_train_log_has_every_step_once_with_dev_scores_where_evaluated(run, log):
    assert [r["step"] for r in log] == [1, 2, 3, 4, 5, 6]
    assert all(r["schema"] == trainlog.SCHEMA and r["task"] == "xnli" for r in log)
    assert all(r["loss"] > 0 and r["lr"] > 0 and r["grad_norm"] > 0 and r["examples_per_s"] > 0 for r in log)
    assert [r["examples"] for r in log] == [8 * s for s in range(1, 7)]
    lrs = [r["lr"] for r in log]
    assert lrs == sorted(lrs, reverse=True) and lrs[0] > lrs[-1]  # linear decay after the warmup of 0 steps
    manifest = json.loads((run["out"] / "stilt.json").read_text())
    history = manifest["lineage"][-1]["metrics"]["dev_history"]
    assert [(r["step"], r["dev"], r["dev_mean"]) for r in log if "dev" in r] == \
        [(h["step"], h["dev"], h["mean"]) for h in history]


def test_tensorboard_events_read_back_with_tensorboards_reader(run, log):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(run["tracking"] / "tensorboard" / "xnli-tiny"), size_guidance={"tensors": 0})
    events.Reload()
    loss = events.Scalars("train/loss")
    assert [e.step for e in loss] == [1, 2, 3, 4, 5, 6]
    assert [e.value for e in loss] == pytest.approx([r["loss"] for r in log], rel=1e-6)
    assert [e.step for e in events.Scalars("dev/xnli")] == [3, 6]
    assert {"train/lr", "train/grad_norm", "train/examples_per_s", "dev/mean"} <= set(events.Tags()["scalars"])
    config = events.Tensors("config/text_summary")[0].tensor_proto.string_val[0].decode()
    assert '"lr": 0.001' in config and '"stilt.stage": "target"' in config


def _wandb_records(path):
    """The protobuf records of a wandb offline run file (LevelDB log framing: 32 KiB blocks, 7-byte headers)."""
    from wandb.proto import wandb_internal_pb2

    data, block, pos, blobs, pending = path.read_bytes(), 32768, 7, [], b""
    assert data[:4] == b":W&B"
    while pos + 7 <= len(data):
        if block - pos % block < 7:  # a block's tail too short for a header is padding
            pos += block - pos % block
            continue
        _, length, kind = struct.unpack("<IHB", data[pos:pos + 7])
        chunk, pos = data[pos + 7:pos + 7 + length], pos + 7 + length
        if kind == 1:
            blobs.append(chunk)
        elif kind in (2, 3):
            pending = (pending if kind == 3 else b"") + chunk
        elif kind == 4:
            blobs.append(pending + chunk)
    records = []
    for blob in blobs:
        record = wandb_internal_pb2.Record()
        record.ParseFromString(blob)
        records.append(record)
    return records


def test_wandb_offline_run_holds_the_steps_and_the_config(run, log):
    runs = list((run["tracking"] / "wandb").glob("offline-run-*"))
    assert len(runs) == 1
    records = _wandb_records(next(runs[0].glob("run-*.wandb")))
    kinds = [r.WhichOneof("record_type") for r in records]
    assert "run" in kinds and "exit" in kinds  # opened and finished
    opened = next(r for r in records if r.WhichOneof("record_type") == "run").run
    assert opened.display_name == "xnli-tiny" and opened.project == "stilt"
    history = [{item.key or "/".join(item.nested_key): json.loads(item.value_json) for item in r.history.item}
               for r in records if r.WhichOneof("record_type") == "history"]
    steps = [h for h in history if "train/loss" in h]
    assert [h["_step"] for h in steps] == [1, 2, 3, 4, 5, 6]
    assert [h["train/loss"] for h in steps] == pytest.approx([r["loss"] for r in log], rel=1e-6)
    assert [h["_step"] for h in history if "dev/xnli" in h] == [3, 6]
    config = {item.key: json.loads(item.value_json) for item in opened.config.update}  # the run's parameters
    assert config["lr"] == 0.001 and config["tasks.xnli.batch_size"] == 8 and config["stilt.stage"] == "target"


def test_mlflow_local_store_holds_metrics_params_and_the_run_name(run, log):
    from mlflow.tracking import MlflowClient

    from stilt_cli.core.training.tracking import mlflow_uri

    client = MlflowClient(tracking_uri=mlflow_uri(run["tracking"]))
    experiment = client.get_experiment_by_name("stilt")
    (found,) = client.search_runs([experiment.experiment_id])
    assert found.info.run_name == "xnli-tiny" and found.info.status == "FINISHED"
    assert found.data.params["lr"] == "0.001" and found.data.params["stilt.stage"] == "target"
    loss = client.get_metric_history(found.info.run_id, "train/loss")
    assert [m.step for m in loss] == [1, 2, 3, 4, 5, 6]
    assert [m.value for m in loss] == pytest.approx([r["loss"] for r in log], rel=1e-6)
    assert [m.step for m in client.get_metric_history(found.info.run_id, "dev/xnli")] == [3, 6]


def test_every_checkpoint_encoder_has_a_valid_model_card_and_still_loads(run, tiny_xlmr):
    from huggingface_hub import ModelCard

    from stilt_cli.core.libs import transformers

    card = ModelCard.load(run["out"] / "encoder" / "README.md")
    assert card.data.library_name == "transformers" and card.data.language[0] == "en"
    assert set(card.data.language) >= {"de", "sw", "zh"}  # XNLI's zero-shot languages
    assert card.data.datasets == ["nyu-mll/glue"]  # MNLI trains XNLI
    assert {"stilt", "stilt-target", "xnli"} <= set(card.data.tags)
    assert "**pretrain-load** `tiny:xlmr`" in card.text and "**target** on `xnli`: 6 steps" in card.text
    assert "`lr`=0.001 (cli)" in card.text and "examples sha256" in card.text
    assert ModelCard.load(tiny_xlmr / "encoder" / "README.md").data.tags == [
        "stilt", "x-stilts", "cross-lingual-transfer"]
    transformers().AutoModel.from_pretrained(str(run["out"] / "encoder"))  # the card does not disturb loading


def test_card_adds_the_results_measured_on_the_checkpoint_as_a_model_index(cli, run, tiny_xlmr):
    from huggingface_hub import ModelCard

    mine = run["root"] / "eval.jsonl"
    assert cli("evaluate", run["out"], "--task", "xnli", "--data", run["dev"], "-q", "-o", mine).exit_code == 0
    other = run["root"] / "other.jsonl"
    rows = jsonl(mine)
    other.write_text(json.dumps({**rows[0], "checkpoint": {"path": "x", "manifest_sha256": "0" * 64}}) + "\n")
    result = cli("card", run["out"], mine, other)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "" and "1 record(s) were not measured on" in result.stderr
    card = ModelCard.load(run["out"] / "encoder" / "README.md")
    (entry,) = card.data.eval_results
    assert (entry.task_type, entry.dataset_type, entry.dataset_config, entry.metric_type) == \
        ("text-classification", "google/xtreme", "en", "accuracy")
    assert entry.metric_value == pytest.approx(round(100 * rows[0]["value"], 2))
    assert "## Results" in card.text and card.data.base_model is None  # tiny:xlmr is no Hub model
    refused = cli("card", tiny_xlmr, mine)
    assert refused.exit_code == 1 and refused.stderr.count("\n") == 1 and "was measured on" in refused.stderr


def test_plot_training_draws_several_runs_and_refuses_a_checkpoint_without_a_log(cli, run, tiny_xlmr, tmp_path):
    png = tmp_path / "curves.png"
    result = cli("plot-training", run["out"], run["out"] / trainlog.FILE, "-o", png, "--smooth", "2")
    assert result.exit_code == 0, result.stderr
    assert png_size(png) == (960, 720) and "2 run(s)" in result.stderr
    missing = cli("plot-training", tiny_xlmr, "-o", tmp_path / "x.png")
    assert missing.exit_code == 1 and "train_log.jsonl does not exist" in missing.stderr
    assert not (tmp_path / "x.png").exists()


def test_a_missing_tracker_is_one_line_before_anything_loads(cli, tmp_path, monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "wandb" else real(name, *a))
    # the checkpoint does not exist: the tracker is refused before it is even looked for
    result = cli("target", tmp_path / "nowhere", "--task", "xnli", "--report-to", "wandb", "-o", tmp_path / "o")
    assert result.exit_code == 1 and result.stderr.count("\n") == 1
    assert "--report-to wandb needs the wandb package" in result.stderr and "stilt[tracking]" in result.stderr


@pytest.mark.parametrize("value, message", [("tensorbord", "unknown --report-to 'tensorbord' (did you mean "
                                             "'tensorboard'"), ("none,wandb", "--report-to none cannot be combined")])
def test_report_to_is_checked_while_parsing(cli, tmp_path, value, message):
    result = cli("intermediate", tmp_path / "nowhere", "--task", "mnli", "--report-to", value, "-o", tmp_path / "o")
    assert result.exit_code == 2 and message in result.stderr


def test_a_resumed_log_keeps_the_steps_up_to_the_saved_state(tmp_path):
    path = tmp_path / trainlog.FILE
    first = trainlog.Writer(path)
    first.start(0)
    for step in range(1, 6):
        first.log({"step": step, "loss": float("nan") if step == 5 else 1.0 / step})
    first.close()
    with path.open("ab") as cut:
        cut.write(b'{"schema": "stilt.tr')  # a kill mid-line
    second = trainlog.Writer(path)
    second.start(3)  # resumed from the state saved at step 3: steps 4 and 5 are done again
    second.log({"step": 4, "loss": 0.2})
    second.close()
    assert [(r["step"], r["loss"]) for r in trainlog.read(path)] == [(1, 1.0), (2, 0.5), (3, 1 / 3), (4, 0.2)]
    unfinished = trainlog.Writer(tmp_path / "b" / trainlog.FILE)
    unfinished.start(0)
    unfinished.log({"step": 1, "grad_norm": float("inf")})  # JSON has no inf: null
    unfinished.close()
    assert trainlog.read(tmp_path / "b")[0]["grad_norm"] is None
