"""`stilt status RUN_DIR...`: complete / resumable at step k of n / failed (error line, exit code) / running,
with the result files of each checkpoint; and the failure record a failing stage leaves (core/failures.py)."""

from __future__ import annotations

import json
from pathlib import Path

import orjson
import pytest

from stilt_cli.core import atomic, failures, records
from tests import train_data as td
from tests.helpers import held_by_another_run, poison_loss, write_jsonl


def _complete(out: Path, stage: str = "target") -> None:
    (out / "encoder").mkdir(parents=True)
    (out / "stilt.json").write_text(json.dumps({"schema": "stilt.checkpoint/1", "encoder": {"dir": "encoder"},
                                                "lineage": [{"stage": stage}]}))


def _resumable(out: Path, step: int, total: int) -> None:
    state = atomic.partial_dir(out) / "state"
    state.mkdir(parents=True)
    (state / "state.json").write_text(json.dumps({"schema": "stilt.trainstate/1", "total_steps": total,
                                                  "progress": {"step": step}}))


def _status(cli, *folders) -> dict[str, dict]:
    result = cli("status", *folders, "--format", "jsonl")
    assert result.exit_code == 0, result.stderr
    return {Path(r["path"]).name: r for r in map(json.loads, result.stdout.splitlines())}


def test_states_and_result_files(cli, tmp_path):
    runs = tmp_path / "runs"
    _complete(runs / "s1" / "mnli", "intermediate")
    _complete(runs / "s1" / "xnli")
    _resumable(runs / "s2" / "xnli", 4, 10)
    (atomic.partial_dir(runs / "s3" / "xnli") / "heads").mkdir(parents=True)  # killed before its first save
    result_file = runs / "results" / "s1-xnli.jsonl"
    result_file.parent.mkdir(parents=True)
    record = records.make("eval", "xnli", "de", "accuracy", 0.7, checkpoint={"path": str(runs / "s1" / "xnli")})
    result_file.write_bytes(orjson.dumps(record) + b"\n")
    relative = runs / "results" / "s1-mnli.jsonl"  # written by `evaluate runs/s1/mnli` run from tmp_path
    relative.write_bytes(orjson.dumps({**record, "checkpoint": {"path": "runs/s1/mnli"}}) + b"\n")
    by_path = {r["path"]: r for r in map(json.loads, cli("status", runs, "--format", "jsonl").stdout.splitlines())}
    assert by_path[str(runs / "s1" / "mnli")]["state"] == "complete"
    assert by_path[str(runs / "s1" / "mnli")]["stage"] == "intermediate"
    assert by_path[str(runs / "s1" / "mnli")]["results"] == [str(relative)]
    done = by_path[str(runs / "s1" / "xnli")]
    assert done["state"] == "complete" and done["results"] == [str(result_file)]
    paused = by_path[str(runs / "s2" / "xnli")]
    assert (paused["state"], paused["step"], paused["total_steps"]) == ("resumable", 4, 10)
    assert by_path[str(runs / "s3" / "xnli")]["state"] == "incomplete"
    assert len(by_path) == 4  # the checkpoints' inner folders (encoder/, state/) are not checkpoints
    table = cli("status", runs)
    assert table.exit_code == 0 and "resumable at step 4 of 10" in table.stdout


def test_running_while_another_run_holds_the_lock(cli, tmp_path):
    out = tmp_path / "runs" / "xnli"
    _resumable(out, 2, 8)
    with held_by_another_run(out):
        assert _status(cli, tmp_path / "runs")["xnli"]["state"] == "running"
    assert _status(cli, tmp_path / "runs")["xnli"]["state"] == "resumable"


def test_a_failing_stage_is_recorded_and_the_resumed_run_clears_it(cli, tiny_xlmr, tmp_path, monkeypatch):
    """A NaN loss at step 1 through the real `target`: exit 1, the state of step 0 kept, the failure recorded in
    OUT.partial/failed.json; `status` says failed; the --resume run completes and carries no record."""
    data = write_jsonl(tmp_path / "nli.jsonl", td.nli(8))
    out = tmp_path / "runs" / "xnli"
    argv = ("target", tiny_xlmr, "--task", "xnli", "--data", data, "-o", out, "--max-steps", "2", "--batch-size", "4")
    poison_loss(monkeypatch, at_call=1)
    result = cli(*argv)
    monkeypatch.undo()
    assert result.exit_code == 1 and "loss became nan" in result.stderr
    row = _status(cli, tmp_path / "runs")["xnli"]
    assert (row["state"], row["exit_code"], row["stage"], row["step"]) == ("failed", 1, "target", 0)
    assert row["error"] == result.stderr.strip().splitlines()[-1]
    assert (atomic.partial_dir(out) / "failed.json").is_file()
    again = cli(*argv, "--resume")
    assert again.exit_code == 0, again.stderr
    row = _status(cli, tmp_path / "runs")["xnli"]
    assert row["state"] == "complete" and row["error"] is None
    assert not (out / "failed.json").exists() and failures.read(out) is None


def test_a_failure_before_any_state_is_kept_beside_the_output(cli, tmp_path):
    out = tmp_path / "runs" / "xnli"
    failures.started(out)
    try:
        raise RuntimeError("simulated crash\nsecond line")
    except RuntimeError:
        where = failures.record(out, "error: RuntimeError: simulated crash", 1, "target")
    assert where == failures.beside(out) and not atomic.partial_dir(out).exists()
    row = _status(cli, tmp_path / "runs")["xnli"]
    assert (row["state"], row["stage"], row["step"]) == ("failed", "target", None)


def test_a_failure_after_a_saved_state_is_kept_in_partial(tmp_path):
    out = tmp_path / "xnli"
    failures.started(out)
    _resumable(out, 6, 20)
    where = failures.record(out, "error: loss became nan at step 7", 1)
    assert where == atomic.partial_dir(out) / "failed.json"
    kept = json.loads(where.read_text())
    assert (kept["schema"], kept["exit_code"], kept["step"], kept["total_steps"]) == ("stilt.failure/1", 1, 6, 20)
    failures.started(out)  # the --resume run starts: the record is superseded
    assert failures.read(out) is None
    assert failures.record(tmp_path / "never-started", "error: x", 1) is None  # only stages that began writing


def test_missing_folder_is_one_line(cli, tmp_path):
    result = cli("status", tmp_path / "nowhere")
    assert result.exit_code == 1 and "no such folder" in result.stderr


@pytest.mark.parametrize("fmt", ["table", "jsonl"])
def test_empty_folder_lists_nothing(cli, tmp_path, fmt):
    assert cli("status", tmp_path, "--format", fmt).exit_code == 0


def test_an_unexpected_crash_is_recorded_with_the_output(cli, tiny_xlmr, tmp_path, monkeypatch):
    """An unexpected exception keeps its traceback and leaves a record. A crash in the final rename, after the
    manifest, keeps OUT.partial/ (a complete checkpoint that --resume finishes): the record goes in it; a crash
    before anything worth keeping leaves no OUT.partial/ and the record goes beside OUT."""
    def crash(*args, **kwargs):
        raise RuntimeError("simulated crash")

    data = write_jsonl(tmp_path / "nli.jsonl", td.nli(8))
    args = ["--task", "xnli", "--data", data, "--max-steps", "1", "--batch-size", "4"]
    out = tmp_path / "runs" / "xnli"
    monkeypatch.setattr(atomic, "commit_dir", crash)
    with pytest.raises(RuntimeError):
        cli("target", tiny_xlmr, *args, "-o", out)
    monkeypatch.undo()
    assert not out.exists() and (atomic.partial_dir(out) / failures.NAME).is_file()
    row = _status(cli, tmp_path / "runs")["xnli"]
    assert (row["state"], row["error"], row["exit_code"]) == ("failed", "error: RuntimeError: simulated crash", 1)
    assert cli("target", tiny_xlmr, *args, "-o", out, "--resume").exit_code == 0 and (out / "stilt.json").is_file()
    assert failures.read(out) is None  # the next run removed the record

    early = tmp_path / "runs" / "early"
    from stilt_cli.core.training import loop

    monkeypatch.setattr(loop, "train", crash)
    with pytest.raises(RuntimeError):
        cli("target", tiny_xlmr, *args, "-o", early)
    monkeypatch.undo()
    assert not early.exists() and not atomic.partial_dir(early).exists() and failures.beside(early).is_file()
    assert _status(cli, tmp_path / "runs")["early"]["state"] == "failed"


@pytest.mark.parametrize("exc", ["interrupted", "usage"])
def test_interruptions_and_usage_refusals_leave_no_record(tmp_path, exc):
    import typer

    from stilt_cli.commands._common import guard
    from stilt_cli.core.errors import Interrupted, UsageError

    out = tmp_path / "xnli"
    failures.started(out)  # even after the stage began writing: exit 75 and exit 2 are not failures of a run
    with pytest.raises(typer.Exit):
        with guard(out):
            raise Interrupted("stopped by SIGUSR1") if exc == "interrupted" else UsageError("bad option")
    assert failures.read(out) is None and not failures.beside(out).exists()
