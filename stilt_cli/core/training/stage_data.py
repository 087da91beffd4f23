"""What a stage trains on: the tasks it was asked for (`Plan`: whose data trains which head), their
English training and dev examples (seeded subsets, translate-train languages, MLM raw text), and the
provenance of each split (file sha256, --data-dir, or the pinned Hub dataset) for the manifest.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stilt_cli.core import tasks, textio
from stilt_cli.core.console import info
from stilt_cli.core.data import sources
from stilt_cli.core.errors import DataError, UsageError, comma_list
from stilt_cli.core.hashing import data_fingerprint
from stilt_cli.core.tasks import langs
from stilt_cli.core.tasks.spec import TaskSpec
from stilt_cli.core.training import config

TRAINABLE = ("classification", "tagging", "qa", "multiple-choice", "dual-encoder")


@dataclass
class Plan:
    spec: TaskSpec  # what the user named
    train_spec: TaskSpec  # whose data trains it (spec.train_task)
    head: str
    data_file: str | None = None
    eval_file: str | None = None


def resolve_tasks(names: str, stage: str, mlm_data: Path | None = None) -> list[Plan]:
    """The supervised tasks to train. `--task mlm` is accepted with --mlm-data in the intermediate stage:
    continued MLM alone (the baseline of the paper), which comes from --mlm-data, not from a head plan."""
    plans: list[Plan] = []
    mlm_named = False
    for name in comma_list(names, "--task", empty_ok=True, all_word=None) or []:
        spec = tasks.get(name)
        if not spec.supported:
            raise UsageError(f"task {spec.name} is not supported yet", spec.notes or None)
        if spec.type == "mlm":
            if stage != "intermediate" or mlm_data is None:
                raise UsageError("--task mlm needs `stilt intermediate … --mlm-data FILE` (raw text)",
                                 "continued MLM is trained from --mlm-data, alone or mixed with other tasks")
            mlm_named = True
            continue
        if spec.head_type not in TRAINABLE:
            raise UsageError(f"task {spec.name} is a {spec.type} task: there is nothing to train",
                             "evaluate retrieval with `stilt retrieve`")
        if any(p.spec.name == spec.name for p in plans):
            continue
        train_spec = tasks.get(spec.train_task) if spec.train_task else spec
        plans.append(Plan(spec=spec, train_spec=train_spec, head=spec.head_name))
    if not plans and not mlm_named:
        raise UsageError("--task is empty", "name one task (or several, comma-separated, for intermediate)")
    if stage == "target" and len(plans) > 1:
        raise UsageError("`stilt target` trains one task", "train several at once with `stilt intermediate`")
    return plans


def _seeded_subset(rows: list[dict], limit: int | None, seed: int) -> list[dict]:
    if limit is None or len(rows) <= limit:
        return rows
    keep = sorted(random.Random(seed).sample(range(len(rows)), limit))
    return [rows[i] for i in keep]


def _read_text(path: Path) -> list[dict]:
    """--mlm-data: canonical JSONL (`.jsonl`), or plain UTF-8 text with one sentence/document a line."""
    if path.suffix == ".jsonl" or str(path) == "-":
        return sources.load_examples(tasks.MLM, "train", None, data_file=path)
    try:
        numbered = list(textio.lines(path, blank=False))
    except DataError as exc:
        raise DataError(f"--mlm-data {exc.message}", exc.hint) from None
    rows = [{"id": f"line-{n}", "lang": "und", "text": line.strip()} for n, line in numbered]
    if not rows:
        raise DataError(f"--mlm-data {path}: no text", "one sentence or document per line")
    return rows


def _load(plan: Plan, split: str, langs_: list[str] | None, data_file: str | None, data_dir: Path | None) -> list[dict]:
    """A split of the data that trains the plan's task, in that task's shape (LAReQA: SQuAD's questions
    become ranking pairs, `readers.convert`)."""
    from stilt_cli.core.data.readers import convert

    spec = plan.spec if data_file is not None and plan.spec.type == plan.train_spec.type else plan.train_spec
    rows = sources.load_examples(spec, split, langs_, data_file=data_file, data_dir=data_dir)
    if spec is not plan.spec:
        sources.require_labels(rows, spec, split, "training" if split == "train" else "model selection")
    return convert(rows, spec, plan.spec)


def _fingerprint(rows: list[dict], source: str | None, data_dir: Path | None, spec: TaskSpec | None = None
                 ) -> dict[str, Any]:
    """Provenance of a split: the file (with its sha256), the --data-dir, or the pinned Hub dataset."""
    from stilt_cli.core.data.cache import examples_fingerprint

    if source:
        where = data_fingerprint(source)
    elif data_dir:
        where = {"data_dir": str(data_dir)}
    else:
        hub = (spec.hub if spec else {}) or {}
        where = {"hub": hub.get("repo"), "config": hub.get("config"), "revision": hub.get("revision")}
    return {"examples": len(rows), "examples_sha256": examples_fingerprint(rows), "source": where}


def head_labels(plan: Plan, rows: list[dict]) -> list[str]:
    if plan.spec.head_type == "tagging":
        return list(plan.spec.labels) if plan.spec.labels else sorted({t for r in rows for t in (r["tags"] or [])})
    return list(plan.spec.labels or ()) if plan.spec.head_type == "classification" else []


def load_data(options: Any, plans: list[Plan], cfg: config.Resolved, mlm: bool):
    """Training rows per task (+ MLM), English dev rows where there is a dev set, their fingerprints."""
    seed = cfg["seed"]
    train_langs = training_languages(cfg)
    default = plans[0].spec.name if len(plans) == 1 else None
    data_map = sources.parse_data_option(options.data, default)
    eval_map = sources.parse_data_option(options.eval_data, default)
    known = {n for p in plans for n in (p.spec.name, p.train_spec.name)}
    for mapping, option in ((data_map, "--data"), (eval_map, "--eval-data")):
        for name in mapping:
            if name not in known:
                raise UsageError(f"{option} {name}=…: {name} is not a task of this run ({options.tasks})")
    stdin = "-" in data_map.values() or "-" in eval_map.values() or str(options.mlm_data) == "-"
    if stdin and options.resume:
        raise UsageError("a run reading --data - (stdin) cannot be resumed", "save the input to a file and use it")
    train_rows, dev_rows, fingerprints = {}, {}, {}
    for plan in plans:
        plan.data_file = data_map.get(plan.spec.name) or data_map.get(plan.train_spec.name)
        plan.eval_file = eval_map.get(plan.spec.name) or eval_map.get(plan.train_spec.name)
        rows = _load(plan, "train", train_langs, plan.data_file, options.data_dir)
        sources.require_labels(rows, plan.train_spec, "train", "training")
        if plan.spec.head_type == "dual-encoder":
            rows = _training_pairs(rows, cfg["max_examples"], seed)
        else:
            rows = _seeded_subset(rows, cfg["max_examples"], seed)
        train_rows[plan.spec.name] = rows
        fingerprints[plan.spec.name] = {"train": _fingerprint(rows, plan.data_file, options.data_dir, plan.train_spec)}
        dev = None
        if plan.spec.head_type == "dual-encoder":  # as XTREME's retrieval scripts, which rank with the last weights
            info(f"{plan.spec.name}: a dual encoder is not selected on dev data; the last weights are kept")
            continue
        if cfg["eval_every"] != 0:  # model selection on English dev data only, never on target languages
            if plan.eval_file is not None:
                dev = _load(plan, "dev", ["en"], plan.eval_file, None)
            elif plan.data_file is None and "dev" in plan.train_spec.splits:
                dev = _load(plan, "dev", ["en"], None, options.data_dir)
        if dev:
            sources.require_labels(dev, plan.train_spec, "dev", "model selection")
            dev_rows[plan.spec.name] = dev = _seeded_subset(dev, cfg["eval_examples"], seed)
            fingerprints[plan.spec.name]["dev"] = _fingerprint(dev, plan.eval_file, options.data_dir, plan.train_spec)
        else:
            info(f"no English dev set for {plan.spec.name}: no model selection, the last weights are kept")
    if mlm:
        train_rows[tasks.MLM] = _seeded_subset(_read_text(Path(options.mlm_data)), cfg["max_examples"], seed)
        fingerprints[tasks.MLM] = {"train": _fingerprint(train_rows[tasks.MLM], str(options.mlm_data), None)}
    return train_rows, dev_rows, fingerprints, stdin


def _training_pairs(rows: list[dict], limit: int | None, seed: int) -> list[dict]:
    """A ranking set's training rows: the queries (a seeded subset of `limit`) and the candidates their gold
    names; the other candidates never reach a training batch (the in-batch negatives are other positives)."""
    queries = _seeded_subset([r for r in rows if r.get("side") == "query" and r.get("gold")], limit, seed)
    needed = {g for q in queries for g in q["gold"]}
    return [r for r in rows if r.get("side") == "candidate" and r["id"] in needed] + queries


def training_languages(cfg: config.Resolved) -> list[str] | None:
    """--train-langs as codes (a list from a config file, a comma string from the command line; None = all)."""
    value = cfg["train_langs"]
    return langs.parse_list(",".join(value) if isinstance(value, list) else value)
