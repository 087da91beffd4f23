"""What `stilt evaluate` evaluates, checked before any model loads: the task and its head in the checkpoint,
the split, the source of the examples (`--data`, `--data-dir`, the Hub), the languages, and the settings the
head was trained with. Shared by the evaluation driver (`evaluate.py`) and the ranking runner (`ranking.py`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stilt_cli.core import checkpoint, tasks
from stilt_cli.core.console import info
from stilt_cli.core.data import sources
from stilt_cli.core.errors import DataError, UsageError, comma_list, did_you_mean
from stilt_cli.core.tasks import langs
from stilt_cli.core.tasks.spec import TaskSpec

EVALUABLE = ("classification", "tagging", "qa", "multiple-choice", "dual-encoder")


@dataclass
class EvaluateConfig:
    checkpoint: Path
    task: str
    langs: str | None = None  # comma list, 'all' or None
    split: str | None = None  # default: test where the task has one, else dev
    data: list[str] | None = None  # --data FILE / TASK=FILE
    data_dir: Path | None = None
    save_predictions: Path | None = None
    export_xtreme: Path | None = None
    batch_size: int = 64
    max_length: int | None = None  # default: the length the head was trained with
    doc_stride: int | None = None
    query_length: int | None = None  # dual encoders: query tokens (default: as trained)
    max_answer_length: int = 30
    max_examples: int | None = None  # per language, the first N (quick runs)
    device: str | None = None
    precision: str = "auto"


# ---- what to evaluate -------------------------------------------------------------------------
def resolve_task(name: str) -> TaskSpec:
    spec = tasks.get(name)
    if not spec.supported:
        raise UsageError(f"task {spec.name} is not supported yet", spec.notes or None)
    if spec.head_type is None:
        raise UsageError(f"{spec.name} is a retrieval task: it has no head to evaluate",
                         f"use `stilt retrieve CKPT --task {spec.name}`")
    if spec.head_type not in EVALUABLE:
        raise UsageError(f"task {spec.name} ({spec.type}) is not evaluated by `stilt evaluate`")
    return spec


def resolve_split(spec: TaskSpec, split: str | None, from_file: bool) -> str:
    if split is None:
        chosen = spec.default_split
        if chosen != "test":
            info(f"{spec.name} has no test split: evaluating {chosen}")
        return chosen
    if split not in spec.splits and not from_file:  # a user's own file may name any split
        raise UsageError(did_you_mean(split, spec.splits, f"split of {spec.name}"), f"splits: {', '.join(spec.splits)}")
    return split


def stage_hint(ckpt: checkpoint.Checkpoint, spec: TaskSpec) -> str:
    stage = "intermediate" if spec.role == "intermediate" else "target"
    return f"run `stilt {stage} {ckpt.path} --task {spec.name} -o OUT` (trains the {spec.head_name} head)"


def require_head(ckpt: checkpoint.Checkpoint, spec: TaskSpec) -> str:
    head = spec.head_name
    if head not in ckpt.heads:
        has = ", ".join(sorted(ckpt.heads)) or "no task heads"
        raise DataError(f"checkpoint {ckpt.path} has no '{head}' head, which answers {spec.name} (it has: {has})",
                        stage_hint(ckpt, spec))
    return head


def training_stage(ckpt: checkpoint.Checkpoint, head: str) -> dict[str, Any] | None:
    """The lineage entry of the stage that trained `head` (the last one that lists it)."""
    for entry in reversed(ckpt.lineage()):
        if head in (entry.get("heads") or {}):
            return entry
    return None


def head_settings(stage: dict[str, Any] | None, head: str, spec: TaskSpec) -> dict[str, Any]:
    """max_length / doc_stride the head was trained with, else the task type's defaults."""
    from stilt_cli.core.training.config import DEFAULTS, TYPE_DEFAULTS

    found: dict[str, Any] = {}
    if stage is not None:
        trained_tasks = stage["heads"][head] or []
        per_task = (stage.get("config") or {}).get("tasks") or {}
        found = dict(per_task.get(trained_tasks[0], {})) if trained_tasks else {}
    defaults = {**DEFAULTS, **TYPE_DEFAULTS.get(spec.head_type or "", {})}
    return {key: found.get(key) or defaults[key] for key in ("max_length", "doc_stride", "query_length")}


# ---- examples, language by language ------------------------------------------------------------
def codes(value: str | None) -> list[str] | None:
    return comma_list(value, "--langs", example="de,fr")


@dataclass
class Source:
    data_file: str | None
    data_dir: Path | None

    def describe(self, spec: TaskSpec) -> dict[str, Any]:
        from stilt_cli.core.hashing import data_fingerprint

        if self.data_file is not None:
            return {"data": data_fingerprint(self.data_file)}
        if self.data_dir is not None:
            return {"data_dir": str(self.data_dir)}
        hub = spec.hub or {}
        return {"hub": hub.get("repo"), "config": hub.get("config"), "revision": hub.get("revision")}

    def name(self) -> str:
        return self.data_file or (str(self.data_dir) if self.data_dir else "the Hub copy")


def source_of(spec: TaskSpec, config: EvaluateConfig) -> Source:
    mapping = sources.parse_data_option(config.data, spec.name)
    for name in mapping:
        if name != spec.name:
            raise UsageError(f"--data {name}=…: {name} is not the task evaluated ({spec.name})")
    if mapping and config.data_dir is not None:
        raise UsageError("give --data or --data-dir, not both")
    return Source(mapping.get(spec.name), config.data_dir)


def load_by_language(spec: TaskSpec, split: str, codes: list[str] | None, source: Source, limit: int | None,
                     given: str | None = None) -> tuple[str, dict[str, list[dict[str, Any]]]]:
    """The split and {language: examples in source order}; every language asked for must be there.
    A file's examples decide the split when --split is not `given` (`sources.split_of_file`)."""
    if codes is not None and source.data_file is None:
        from stilt_cli.core.data.readers import languages_for

        codes = languages_for(spec, codes)[0]  # unknown languages of the task: one line, exit 1
    elif codes is not None:
        codes = [langs.checked(code, "--langs") for code in codes]
    rows = sources.load_examples(spec, split, codes, data_file=source.data_file, data_dir=source.data_dir)
    if source.data_file is not None:
        split, rows = sources.split_of_file(rows, given, split)
    groups: dict[str, list[dict[str, Any]]] = {}
    checked: dict[str, str] = {}
    for row in rows:
        raw = row["lang"]
        if raw not in checked:  # the code becomes part of a file name: only table codes pass
            checked[raw] = langs.checked(raw, f"{source.name()}: example {row.get('id')}")
        groups.setdefault(checked[raw], []).append(row)
    if codes is not None:
        missing = [code for code in codes if code not in groups]
        if missing:
            raise DataError(f"no {spec.name} {split} examples for {', '.join(missing)} in {source.name()}",
                            f"languages there: {', '.join(groups) or 'none'}")
        groups = {code: groups[code] for code in codes}
    if limit is not None:
        groups = {lang: rows[:limit] for lang, rows in groups.items()}
    return split, groups


def gold_status(spec: TaskSpec, split: str, lang: str, examples: list[dict[str, Any]]) -> bool:
    """True when every example has gold, False when none has; a mix is refused."""
    labelled = sum(1 for e in examples if sources.has_gold(e, spec))
    if 0 < labelled < len(examples):
        raise DataError(f"{spec.name} {split} {lang}: {len(examples) - labelled} of {len(examples)} examples have no "
                        "gold labels", "a language is scored only when all its examples have gold; split the file")
    return labelled == len(examples)


def model_revision(ckpt: checkpoint.Checkpoint) -> str | None:
    lineage = ckpt.lineage()
    return (lineage[0].get("config") or {}).get("revision") if lineage else None


@dataclass
class LangResult:
    """What a runner predicted for one language, and how (timings, device, search backend)."""

    predictions: list[Any]
    details: dict[str, Any]
