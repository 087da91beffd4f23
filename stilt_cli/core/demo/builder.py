"""`stilt data demo`: small real multilingual tasks built offline from text that installed packages ship.

```
OUT/
  README.json                    what each task is, sources, package versions, counts per language
  demo-names/{train,dev,test}.jsonl           target: CLDR name -> language/territory/currency/script
  demo-name-tags/{train,dev,test}.jsonl       target: the same names, each word BIO-tagged with that type
  demo-territory-pairs/{train,dev}.jsonl      English intermediate: territory + currency/language related?
  demo-parallel/test.jsonl                    Tatoeba-style retrieval of Django UI strings
```

Every file is canonical example JSONL (`core/data/examples.py`), so stages read it with
`--data demo-names=OUT/demo-names/train.jsonl`. The same inputs (languages, seed, sizes, package
versions) give the same bytes; a rerun finds README.json's key unchanged and the files intact and does
nothing. The folder is built as `OUT.partial/` and renamed, so it appears whole or not at all.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from stilt_cli.core import atomic
from stilt_cli.core.console import info
from stilt_cli.core.data import offline_text
from stilt_cli.core.errors import OutputExistsError, UsageError
from stilt_cli.core.hashing import file_sha256, json_sha256
from stilt_cli.core.tasks import demo as demo_tasks
from stilt_cli.core.tasks.demo import DEMO_LANGS

SCHEMA = "stilt.demo/1"
BUILDER_VERSION = 2  # bump when a change to the builders changes the output
README = "README.json"
DEFAULT_PER_LANG = 200
DEFAULT_NAMES_PER_CLASS = 50


def available_languages() -> list[str]:
    """Languages both packages cover (Django catalog + CLDR locale) that stilt's language table knows."""
    from stilt_cli.core.tasks import langs as langmod

    known = langmod.table()
    cldr = offline_text.cldr_locales()
    return [lang for lang in offline_text.django_languages() if lang in known and lang in cldr and lang != "en"]


def parse_langs(value: str | None) -> list[str] | None:
    """`--langs`: None = the default demo set, 'all' = every available language; English is always built."""
    from stilt_cli.core.tasks import langs as langmod

    if value is None or not value.strip():
        return None
    available = available_languages()
    chosen = [lang for lang in langmod.parse_list(value, available + ["en"], "demo data") or [] if lang != "en"]
    if not chosen:
        raise UsageError("--langs names no language besides English", "the test sets need at least one other language")
    return chosen


def _inputs(langs: list[str], seed: int, per_lang: int, names_per_class: int) -> dict[str, Any]:
    return {"schema": SCHEMA, "builder": BUILDER_VERSION, "langs": langs, "seed": seed, "per_lang": per_lang,
            "names_per_class": names_per_class, "packages": offline_text.package_versions()}


def _up_to_date(out: Path, key: str) -> dict[str, Any] | None:
    """The existing README if OUT was built from the same inputs and its files are intact, else None."""
    try:
        readme = json.loads((out / README).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(readme, dict) or readme.get("key") != key:
        return None
    for task in readme.get("tasks", {}).values():
        for split in task.get("splits", {}).values():
            path = out / split["file"]
            if not path.is_file() or file_sha256(path) != split["sha256"]:
                return None
    return readme


def _is_demo_folder(out: Path) -> bool:
    try:
        return str(json.loads((out / README).read_text(encoding="utf-8")).get("schema", "")).startswith("stilt.demo/")
    except (OSError, ValueError, AttributeError):
        return False


def _check_existing(out: Path, if_exists: str, key: str) -> dict[str, Any] | None:
    """Apply --if-exists: the README to return when nothing needs doing, None to build."""
    atomic.check_if_exists(if_exists)
    if not out.exists():
        return None
    if out.is_dir() and not any(out.iterdir()):
        return None
    if not _is_demo_folder(out):
        raise OutputExistsError(f"output {out} exists and is not a stilt demo folder", "choose another -o")
    if atomic.decide(out, if_exists) == "write":
        return None
    readme = _up_to_date(out, key)
    if readme is None:
        raise OutputExistsError(f"output {out} was built from other inputs (languages, seed, sizes or package "
                                "versions), or its files changed", "use --if-exists overwrite to rebuild it")
    info(f"{out} is up to date (same inputs); skipping")
    return readme


def _counts(rows: list[dict[str, Any]], field: str | None = None) -> dict[str, Any]:
    per_lang: dict[str, Any] = {}
    for row in rows:
        if field is None:
            per_lang[row["lang"]] = per_lang.get(row["lang"], 0) + 1
        else:
            per_lang.setdefault(row["lang"], {}).setdefault(row[field], 0)
            per_lang[row["lang"]][row[field]] += 1
    return per_lang


def _split_entry(file: str, rows: list[dict[str, Any]], labels: tuple[str, ...]) -> dict[str, Any]:
    """Counts per language and, per language, per label (in the task's label order: the class balance)."""
    if rows and "label" not in rows[0]:  # tagging: count the type of each name (its first tag)
        rows = [{"lang": r["lang"], "label": r["tags"][0][2:]} for r in rows]
        labels = tuple(dict.fromkeys(label[2:] for label in labels))
    per_label = _counts(rows, "label")
    return {"file": file, "examples": len(rows), "per_lang": _counts(rows),
            "labels": {lang: {label: counts.get(label, 0) for label in labels} for lang, counts in per_label.items()}}


def _retrieval_entry(file: str, rows: list[dict[str, Any]]) -> dict[str, Any]:
    links = [r for r in rows if "link" in r]
    sentences = [r for r in rows if "link" not in r]
    return {"file": file, "examples": len(rows), "per_lang": _counts(links),
            "sentences": {side: len([r for r in sentences if r["side"] == side]) for side in ("src", "tgt")}}


def _make(langs: list[str], seed: int, per_lang: int, names_per_class: int,
          ) -> dict[str, dict[str, list[dict[str, Any]]]]:
    from stilt_cli.core.demo import names as name_task
    from stilt_cli.core.demo import pairs as pair_task
    from stilt_cli.core.demo import parallel as parallel_task
    from stilt_cli.core.demo import tags as tag_task

    names = name_task.build(langs, seed, test_per_class=names_per_class, dev_per_class=max(1, names_per_class * 2 // 5))
    english_test = {name_task.fold(r["text_a"]) for r in names["test"] if r["lang"] == "en"}
    pairs = pair_task.build(name_task.english_keys(), english_test, seed)
    parallel = parallel_task.build(langs, seed, per_lang)
    return {demo_tasks.NAMES: names, demo_tasks.NAME_TAGS: tag_task.build(names), demo_tasks.TERRITORY_PAIRS: pairs,
            demo_tasks.PARALLEL: {"test": parallel}}


def _validate(task: str, split: str, rows: list[dict[str, Any]]) -> None:
    from stilt_cli.core import tasks
    from stilt_cli.core.data import examples

    spec = tasks.get(task)
    for number, row in enumerate(rows, start=1):
        examples.validate(dict(row), spec, f"{task}/{split}.jsonl:{number} (built)")


def build(out_dir: str | Path, langs: list[str] | None = None, seed: int = 0, per_lang: int = DEFAULT_PER_LANG,
          names_per_class: int = DEFAULT_NAMES_PER_CLASS, if_exists: str = "skip") -> dict[str, Any]:
    """Build (or find up to date) the demo tasks in `out_dir`; returns the README.json content."""
    if per_lang < 1 or names_per_class < 5:
        raise UsageError("--per-lang must be >= 1 (and names per class >= 5)")
    langs = list(langs) if langs is not None else list(DEMO_LANGS)
    out = Path(out_dir)
    inputs = _inputs(langs, seed, per_lang, names_per_class)
    key = json_sha256(inputs)
    with atomic.output_lock(out):
        readme = _check_existing(out, if_exists, key)
        if readme is not None:
            return readme
        data = _make(langs, seed, per_lang, names_per_class)
        partial = atomic.partial_dir(out)
        shutil.rmtree(partial, ignore_errors=True)  # a crashed earlier build of ours
        partial.mkdir(parents=True)
        try:
            readme = _write(partial, data, key, inputs)
            atomic.commit_dir(partial, out, overwrite=True)
        except BaseException as exc:
            shutil.rmtree(partial, ignore_errors=True)  # a failed build leaves nothing half-written behind
            if isinstance(exc, OSError):
                raise atomic.disk_error(partial, exc) from None
            raise
    n_test = len(readme["tasks"][demo_tasks.NAMES]["splits"]["test"]["per_lang"])
    info(f"wrote {out}: {len(readme['tasks'])} demo tasks, {n_test} test languages for {demo_tasks.NAMES} "
         f"(see {out / README})")
    return readme


def _write(partial: Path, data: dict[str, dict[str, list[dict[str, Any]]]], key: str, inputs: dict[str, Any]
           ) -> dict[str, Any]:
    """Every task's split files and README.json into `partial`; -> the README content."""
    from stilt_cli.core import tasks
    from stilt_cli.core.textio import write_jsonl

    readme = {"schema": SCHEMA, "key": key, "inputs": inputs, "tasks": {}}
    for task, splits in data.items():
        spec = tasks.get(task)
        entry: dict[str, Any] = {"title": spec.title, "type": spec.type, "role": demo_tasks.ROLES[task],
                                 "labels": list(spec.labels or ()), "sources": list(spec.sources),
                                 "notes": spec.notes, "splits": {}}
        for split, rows in splits.items():
            _validate(task, split, rows)
            file = f"{task}/{split}.jsonl"
            write_jsonl(partial / file, rows)
            done = (_retrieval_entry(file, rows) if spec.type == "retrieval"
                    else _split_entry(file, rows, spec.labels or ()))
            done["sha256"] = file_sha256(partial / file)
            entry["splits"][split] = done
        readme["tasks"][task] = entry
    atomic.write_text(partial / README, json.dumps(readme, ensure_ascii=False, indent=1) + "\n")
    return readme


def summary_rows(readme: dict[str, Any], out_dir: str | Path) -> list[dict[str, Any]]:
    """One row per task and split, for stdout: where the file is, how many examples, how many languages."""
    rows = []
    for task, entry in readme["tasks"].items():
        for split, done in entry["splits"].items():
            rows.append({"task": task, "role": entry["role"], "split": split, "file": str(Path(out_dir) / done["file"]),
                         "examples": done["examples"], "languages": len(done["per_lang"])})
    return rows
