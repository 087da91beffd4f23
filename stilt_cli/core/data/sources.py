"""Where examples come from: a canonical JSONL (`--data`), original-format files (`--data-dir`), or the
Hugging Face Hub (pinned parquet conversions). Every path yields the same canonical examples
(see `core/data/examples.py`)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from stilt_cli.core import tasks
from stilt_cli.core.data import examples as canonical
from stilt_cli.core.errors import DataError, UsageError
from stilt_cli.core.tasks.spec import TaskSpec


def parse_data_option(values: list[str] | None, default_task: str | None = None) -> dict[str, str]:
    """`--data FILE` / `--data TASK=FILE` (repeatable) -> {task: path}. A bare FILE belongs to `default_task`."""
    mapping: dict[str, str] = {}
    for value in values or []:
        task, sep, path = value.partition("=")
        if sep and not Path(value).exists():
            name = tasks.get(task).name
        else:
            if default_task is None:
                raise UsageError(f"--data {value}: say which task it is for", "use --data TASK=FILE")
            name, path = default_task, value
        if name in mapping:
            raise UsageError(f"--data given twice for task {name}")
        mapping[name] = path
    return mapping


def load_examples(
    task: str | TaskSpec,
    split: str,
    langs: list[str] | None = None,
    *,
    data_file: str | os.PathLike | None = None,
    data_dir: str | os.PathLike | None = None,
    limit: int | None = None,
    labels: set[str] | None = None,
) -> list[dict[str, Any]]:
    """Canonical examples of one task split, for the given languages (None = all the source has).

    Sources, first given wins: `data_file` (canonical JSONL, '-' = stdin), `data_dir` (original release
    files, `core/readers`), else the task's pinned Hub parquet files (`core/hubdata`). Examples without
    gold carry `unlabelled: true`; stages that need labels call `require_labels`."""
    spec = task if isinstance(task, TaskSpec) else tasks.get(task)
    if not spec.supported:
        raise UsageError(f"task {spec.name} is not supported yet", spec.notes)
    if data_file is not None:
        rows = list(canonical.read(data_file, spec, langs, labels))
        if not rows:
            where = "stdin" if str(data_file) == "-" else str(data_file)
            raise DataError(f"{where}: no {spec.name} examples" + (f" for {','.join(langs)}" if langs else ""))
    elif data_dir is not None:
        from stilt_cli.core.data.readers import read_split  # original release formats

        rows = read_split(spec, split, langs, Path(data_dir))
    else:
        from stilt_cli.core.data.hubdata import read_split as hub_split  # pinned Hub parquet

        rows = hub_split(spec, split, langs)
    return rows[:limit] if limit is not None else rows


def split_of_file(rows: list[dict[str, Any]], given: str | None, default: str) -> tuple[str, list[dict[str, Any]]]:
    """The split of a canonical file's examples (their `split` field; untagged ones belong to any split).

    With --split (`given`), that split's examples are kept; without, the one split the file names, or
    `default` where it names none or several."""
    split = given
    if split is None:
        named = {str(row["split"]) for row in rows if row.get("split")}
        split = named.pop() if len(named) == 1 else default
    return split, [row for row in rows if row.get("split") in (None, split)]


GOLD_FIELD = {"pair-classification": "label", "classification": "label", "tagging": "tags",
              "multiple-choice": "label", "qa": "answers"}


def has_gold(example: dict[str, Any], spec: TaskSpec) -> bool:
    """False for examples read from a release without gold (XTREME's label-stripped test sets)."""
    if example.get("unlabelled"):
        return False
    name = GOLD_FIELD.get(spec.type)
    return name is None or name == "answers" or example.get(name) is not None


def require_labels(examples: list[dict[str, Any]], spec: TaskSpec, split: str, purpose: str = "training") -> None:
    """Stop a stage that needs gold labels when the examples have none, saying where to get them."""
    missing = [e for e in examples if not has_gold(e, spec)]
    if not missing:
        return
    langs = sorted({e.get("lang", "?") for e in missing})
    raise DataError(
        f"{spec.name} {split} ({','.join(langs)}): {len(missing)} of {len(examples)} examples have no gold labels, "
        f"which {purpose} needs",
        "XTREME's download strips test labels; use the original release (e.g. XNLI-1.0, deepmind/xquad) with "
        "--data-dir, the Hub, or --data FILE with labels",
    )


def check(specs: list[TaskSpec], data_dir: str | os.PathLike | None, langs: list[str] | None = None,
          splits: list[str] | None = None) -> list[dict[str, Any]]:
    """One row per (task, split, language): present or missing, the files used or every name looked for.
    With `data_dir` the original-format files are checked; without, the local Hub cache."""
    rows: list[dict[str, Any]] = []
    for spec in specs:
        if not spec.supported:
            rows.append({"task": spec.name, "split": None, "lang": None, "status": "unsupported", "files": [],
                         "looked_for": []})
            continue
        for split in (splits or list(spec.splits)):
            if split not in spec.splits:
                continue
            if not spec.all_languages("xtreme-r") and langs is None:  # raw-text MLM: any language
                rows.append({"task": spec.name, "split": split, "lang": None, "status": "needs --langs", "files": [],
                             "looked_for": [c for c in spec.files.get(split, ())]})
                continue
            # a target task trains on English (the zero-shot setting): its train split is checked for en
            wanted = ["en"] if split == "train" and langs is None and spec.role == "target" else langs
            if data_dir is not None:
                rows += _check_dir(spec, split, wanted, Path(data_dir))
            else:
                rows += _check_hub(spec, split, wanted)
    return rows


def _check_langs(spec: TaskSpec, langs: list[str] | None) -> list[str]:
    """The task's languages among `langs` (several tasks may be checked with one --langs list)."""
    from stilt_cli.core.data.readers import languages_for

    if langs is None:
        return languages_for(spec, None)[0]
    kept = []
    for code in langs:
        try:
            kept += languages_for(spec, [code])[0]
        except DataError:
            if len(langs) == 1 or all(code not in spec.all_languages("xtreme-r") for code in langs):
                raise
    return kept


def _check_dir(spec: TaskSpec, split: str, langs: list[str] | None, data_dir: Path) -> list[dict[str, Any]]:
    from stilt_cli.core.data.readers import COMBINED, FOLDER_FORMATS, Tree, candidates, folder_format, locate

    if not data_dir.is_dir():
        raise DataError(f"--data-dir {data_dir}: no such folder")
    components = [c for c in candidates(spec, split) if c.format == "components"]
    if components:
        return [dict(row, task=f"{spec.name}/{row['task']}") for name in components[0].pattern.split(",")
                for row in _check_dir(tasks.get(name), split, ["en"], data_dir)]
    tree = Tree(data_dir)
    rows = []
    combined: dict[tuple, set[str] | str] = {}
    for lang in _check_langs(spec, langs):
        base = {"task": spec.name, "split": split, "lang": lang, "source": "data-dir"}
        whole_folder = folder_format(spec, split)
        if whole_folder is not None:
            reader = FOLDER_FORMATS[whole_folder]
            rows.append(dict(base, status="present" if lang in reader.available(data_dir, split) else "missing",
                             format=whole_folder, files=[], looked_for=reader.expected_files(lang, split)))
            continue
        try:
            found = locate(spec, split, lang, data_dir, tree)
        except DataError as exc:  # e.g. the same file name in several folders: say so, check the rest
            rows.append(dict(base, status="ambiguous", format=None, files=[], looked_for=[exc.one_line()]))
            continue
        status = "present" if found.candidate else "missing"
        if found.candidate and found.candidate.format in COMBINED:  # one file, many languages: is this one in it?
            key = (found.candidate.format, tuple(found.paths))
            if key not in combined:
                combined[key] = _languages_in(spec, split, found)
            held = combined[key]
            if isinstance(held, str):
                status, found.looked_for = "unreadable", found.looked_for + [held]
            elif lang not in held:
                status = "missing"
                found.looked_for = found.looked_for + [f"{found.paths[0].name} holds only {','.join(sorted(held))}"]
        rows.append(dict(base, status=status, format=found.candidate.format if found.candidate else None,
                         files=[str(p) for p in found.paths] if status == "present" else [],
                         looked_for=found.looked_for))
    return rows


def _languages_in(spec: TaskSpec, split: str, found: Any) -> set[str] | str:
    """The languages a combined-language file holds (or the one-line reason it cannot be read)."""
    from stilt_cli.core.data.readers import FORMATS, Context

    reader = FORMATS[found.candidate.format][0]
    try:
        return {example.get("lang") for path in found.paths for _, example in reader(path, Context(spec, split, None))}
    except DataError as exc:
        return exc.one_line()


def _check_hub(spec: TaskSpec, split: str, langs: list[str] | None) -> list[dict[str, Any]]:
    from stilt_cli.core.data import hubdata

    hub = spec.hub or {}
    if "components" in hub:
        return [dict(row, task=f"{spec.name}/{row['task']}") for name in hub["components"]
                for row in _check_hub(tasks.get(name), split, ["en"])]
    base = {"task": spec.name, "split": split, "source": "hub-cache"}
    if not hub.get("repo") or split not in hub.get("splits", {}):
        return [dict(base, lang=None, status="no-hub-source", files=[], looked_for=[])]
    per_language = "{" in (hub.get("config") or "")
    rows = []
    wanted = _check_langs(spec, langs) if per_language and langs is not None else langs if per_language else ["en"]
    for lang, config, hub_split in hubdata.wanted_configs(spec, split, wanted):
        patterns = hubdata.parquet_patterns(config, hub_split)
        try:
            folder = hubdata.download(spec, hub["repo"], hub.get("revision"), config, patterns, local_only=True)
            files = sorted(str(p) for pattern in patterns for p in folder.glob(pattern))
        except DataError:
            files = []
        name = f"{hub['repo']}@{hub.get('revision') or 'main'}" + (f" {config}" if config else "")
        rows.append(dict(base, lang=lang if per_language else None, status="present" if files else "missing",
                         files=files, looked_for=[name]))
    return rows
