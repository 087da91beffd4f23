"""The done-when of the evaluate issue on ../shared/data: tiny heads trained (a few steps, on English
examples taken from the shared slices) for XNLI, PAWS-X, UDPOS, PAN-X and SQuAD v1.1, then
`stilt evaluate` on the original-format files for every language present, then `stilt summary`.
Each language is cut to its first examples (--max-examples) so the whole test stays fast."""

from __future__ import annotations

import json
from pathlib import Path

import orjson
import pytest

from stilt_cli.core.data import sources
from tests.helpers import invoke

PER_LANGUAGE = 12


def _english(task: str, split: str, folder: Path, out: Path, limit: int, langs: list[str] | None = None) -> Path:
    rows = sources.load_examples(task, split, langs or ["en"], data_dir=folder, limit=limit)
    out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return out


def _present(folder: Path, prefix: str) -> set[str]:
    """Languages of the XTREME-format files `<prefix>-<lang>.tsv` in a folder."""
    return {p.stem[len(prefix) + 1:] for p in folder.glob(f"{prefix}-*.tsv")}


# task, head's training task, split evaluated, folder under shared/data, training data (task, split, folder)
CASES = [
    ("xnli", "xnli", "dev", "xnli/xtreme_format", ("xnli", "dev", "xnli/xtreme_format")),
    ("pawsx", "pawsx", "dev", "pawsx/xtreme_format", ("pawsx", "dev", "pawsx/xtreme_format")),
    ("udpos", "udpos", "test", "udpos/xtreme_format", ("udpos", "dev", "udpos/xtreme_format")),
    ("panx", "panx", "test", "panx/xtreme_format", ("panx", "dev", "panx/xtreme_format")),
    ("xquad", "xquad", "test", "xquad", ("mlqa", "dev", "mlqa")),
    ("mlqa", None, "dev", "mlqa", None),  # answered by the squad_v1 head trained for xquad
]


def test_every_language_present_then_summary(shared_data, tiny_xlmr, tmp_path):
    results = tmp_path / "results"
    ckpts: dict[str, Path] = {}
    for task, trains, split, folder, train in CASES:
        if trains is not None:
            data = _english(train[0], train[1], shared_data / train[2], tmp_path / f"{task}-train.jsonl", 32)
            length = ("--max-length", "128", "--doc-stride", "32") if task == "xquad" else ("--max-length", "64")
            ckpts[task] = tmp_path / f"ck-{task}"
            trained = invoke("target", tiny_xlmr, "--task", trains, "--data", data, "-o", ckpts[task],
                              "--max-steps", "3", "--batch-size", "8", "--eval-every", "0", *length)
            assert trained.exit_code == 0, trained.stderr
        ckpt = ckpts["xquad" if task == "mlqa" else task]
        out = results / f"{task}.jsonl"
        result = invoke("evaluate", ckpt, "--task", task, "--split", split, "--data-dir", shared_data / folder,
                         "--max-examples", PER_LANGUAGE, "-o", out)
        assert result.exit_code == 0, result.stderr
        rows = [orjson.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
        langs = {r["lang"] for r in rows}
        if task == "xquad":
            expected = {p.name.split(".")[1] for p in (shared_data / folder).glob("xquad.*.json")}
        elif task == "mlqa":  # same-language pairs by default (dev-context-de-question-de.json, ...)
            names = [p.stem.split("-") for p in (shared_data / folder).rglob("dev-context-*-question-*.json")]
            expected = {n[2] for n in names if n[2] == n[4]}
        else:
            expected = _present(shared_data / folder, split)
        assert langs == expected and len(expected) >= 2, (task, langs, expected)
        assert all(r["n"] == PER_LANGUAGE and 0.0 <= r["value"] <= 1.0 for r in rows)
        metrics = {"xquad": {"f1", "exact_match"}, "mlqa": {"f1", "exact_match"},
                   "udpos": {"f1", "precision", "recall"},
                   "panx": {"f1", "precision", "recall"}}.get(task, {"accuracy"})
        assert {r["metric"] for r in rows} == metrics
        assert all(r["params"]["head"] == ("squad_v1" if task in ("xquad", "mlqa") else task) for r in rows)

    # one target checkpoint per task, as in the paper: NAME=PATH makes them one run in the table
    summary = invoke("summary", f"tiny={results}", "--format", "table")
    assert summary.exit_code == 0, summary.stderr
    lines = summary.stdout.splitlines()
    for task in ("xnli", "pawsx", "udpos", "panx", "xquad", "mlqa"):
        row = next(line for line in lines if line.strip("│ ").startswith(task))
        assert "*" in row  # a score over the languages present (a subset of the benchmark's)
    as_records = invoke("summary", f"tiny={results}", "--format", "jsonl")
    assert as_records.exit_code == 0, as_records.stderr
    scores = {(r["task"], r["lang"]): r for r in map(orjson.loads, as_records.stdout.splitlines())}
    assert {task for task, _ in scores} >= {"xnli", "pawsx", "udpos", "panx", "xquad", "mlqa"}


@pytest.mark.parametrize("folder, split", [("xnli/xtreme_format", "test"), ("pawsx/xtreme_format", "test")])
def test_xtreme_stripped_test_labels_give_predictions_only(shared_data, tiny_xlmr, tmp_path, folder, split):
    """XTREME's current download strips the test labels: evaluate writes a submission, no score."""
    task = folder.split("/")[0]
    data = _english(task, "dev", shared_data / folder, tmp_path / "train.jsonl", 16)
    ckpt = tmp_path / "ck"
    trained = invoke("target", tiny_xlmr, "--task", task, "--data", data, "-o", ckpt, "--max-steps", "2",
                      "--batch-size", "8", "--max-length", "32", "--eval-every", "0")
    assert trained.exit_code == 0, trained.stderr
    result = invoke("evaluate", ckpt, "--task", task, "--split", split, "--data-dir", shared_data / folder,
                     "--max-examples", "5", "--export-xtreme", tmp_path / "xt")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "" and "no score is possible" in result.stderr
    written = (tmp_path / "xt" / task / "test-en.tsv").read_text(encoding="utf-8").splitlines()
    assert len(written) == 5 and all(label in ("entailment", "neutral", "contradiction", "0", "1") for label in written)
