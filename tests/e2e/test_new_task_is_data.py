"""A new task is data: two specs registered in this test alone — an XStoryCloze-shaped multiple-choice
task (`tasks.register`) and an XNLI-format task with a new language set (a STILT_TASKS file) — go
through `data export` → `target` → `evaluate` → `summary` with no other code change."""

from __future__ import annotations

import json
import random

import orjson
import pytest

from stilt_cli.core import tasks
from stilt_cli.core.tasks.spec import TaskSpec
from tests import train_data as td
from tests.helpers import write_jsonl

QUICK = ("--max-steps", "6", "--batch-size", "8", "--max-length", "48", "--eval-every", "0")
STORY_LANGS = ("en", "ru", "sw")
NLI_LANGS = ("en", "yo", "wo")
NLI_SPEC = """
[[task]]
name = "xnli-more"
title = "XNLI-format pairs in languages XNLI lacks"
type = "pair-classification"
role = "target"
languages = ["en", "yo", "wo"]
metrics = ["accuracy"]
labels = ["entailment", "neutral", "contradiction"]
[task.splits]
train = "labelled"
test = "labelled"
[task.files]
train = ["pair-tsv:more-nli/train-{lang}.tsv"]
test = ["pair-tsv:more-nli/test-{lang}.tsv"]
"""


def _stories(n: int, lang: str, seed: int) -> list[dict]:
    """Four context sentences and two endings; the right ending names the story's city."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        city = rng.choice(td.CITIES)
        story = [f"we went to {city}", *(" ".join(rng.choice(td.WORDS) for _ in range(4)) for _ in range(3))]
        right, wrong = f"{city} was lovely", f"{rng.choice(td.WORDS)} was lovely"
        label = i % 2
        rows.append({"id": f"{lang}-{seed}-{i}", "lang": lang, "context": ". ".join(story), "question": None,
                     "choices": [wrong, right] if label else [right, wrong], "label": label})
    return rows


@pytest.fixture
def new_tasks(tmp_path, monkeypatch):
    data = tmp_path / "data"
    (data / "storycloze").mkdir(parents=True)
    for split, n in (("train", 48), ("test", 12)):
        for lang in STORY_LANGS if split == "test" else ("en",):
            write_jsonl(data / "storycloze" / f"{split}-{lang}.jsonl", _stories(n, lang, seed=len(split)))
        for lang in NLI_LANGS if split == "test" else ("en",):
            rows = td.nli(n, seed=len(split), lang=lang)
            path = data / "more-nli" / f"{split}-{lang}.tsv"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("".join(f"{r['text_a']}\t{r['text_b']}\t{r['label']}\n" for r in rows))
    spec_file = tmp_path / "my-tasks.toml"
    spec_file.write_text(NLI_SPEC)
    monkeypatch.setenv("STILT_TASKS", str(spec_file))
    monkeypatch.setattr(tasks, "_registered", {})
    tasks.registry.cache_clear()
    tasks.register(TaskSpec(
        name="storycloze-x", title="XStoryCloze-shaped: the right ending of a four-sentence story",
        type="multiple-choice", role="target", languages=STORY_LANGS, metrics=("accuracy",),
        splits={"train": "labelled", "test": "labelled"},
        files={split: (f"jsonl:storycloze/{split}-{{lang}}.jsonl",) for split in ("train", "test")}))
    yield data
    monkeypatch.delenv("STILT_TASKS")
    tasks.registry.cache_clear()


@pytest.mark.parametrize("task, langs", [("storycloze-x", STORY_LANGS), ("xnli-more", NLI_LANGS)])
def test_export_target_evaluate_summary_on_a_spec_of_the_test(cli, tiny_xlmr, new_tasks, tmp_path, task, langs):
    train = tmp_path / f"{task}-train.jsonl"
    exported = cli("data", "export", task, "--split", "train", "--data-dir", new_tasks, "-o", train)
    assert exported.exit_code == 0, exported.stderr
    assert {orjson.loads(line)["lang"] for line in train.read_text().splitlines()} == {"en"}

    ckpt = tmp_path / f"{task}-ckpt"
    trained = cli("target", tiny_xlmr, "--task", task, "--data", f"{task}={train}", "-o", ckpt, *QUICK)
    assert trained.exit_code == 0, trained.stderr
    manifest = json.loads((ckpt / "stilt.json").read_text())
    assert manifest["lineage"][-1]["tasks"] == [task]

    results = tmp_path / f"{task}-results.jsonl"
    evaluated = cli("evaluate", ckpt, "--task", task, "--data-dir", new_tasks, "--langs", "all", "-o", results)
    assert evaluated.exit_code == 0, evaluated.stderr
    records = [orjson.loads(line) for line in results.read_text().splitlines()]
    assert sorted(r["lang"] for r in records if r["metric"] == "accuracy") == sorted(langs)
    assert all(r["task"] == task and r["split"] == "test" and 0 <= r["value"] <= 1 for r in records)

    summary = cli("summary", f"run={results}", "--format", "jsonl")
    assert summary.exit_code == 0, summary.stderr
    rows = [orjson.loads(line) for line in summary.stdout.splitlines()]
    assert any(r["task"] == task and r["lang"] == "all" for r in rows), rows
