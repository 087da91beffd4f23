"""Original release formats -> canonical examples (`core/data/examples.py`), one module per format family.

`read_split(spec, split, langs, data_dir)` finds the task's files under `--data-dir` (`layout.py`),
reads each with the reader its spec names (`FORMATS`), checks every example against the task (label
set, fields) and returns them. Tatoeba and BUCC have their own readers (`tatoeba.py`, `bucc.py`).
Examples from files without gold (XTREME's label-stripped test sets) carry `"unlabelled": true`
with label/tags None or answers []; `sources.require_labels` stops a stage that needs gold.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stilt_cli.core import console
from stilt_cli.core.data import examples as canonical
from stilt_cli.core.data.readers import (
    bucc,
    choice,
    conllu,
    glue,
    mewsli,
    nli,
    pairs,
    squad,
    tagging,
    tatoeba,
    text,
    xnli,
    xquadr,
)
from stilt_cli.core.data.readers._io import Context, Located
from stilt_cli.core.data.readers.layout import Candidate, Tree, candidates, fill, find, split_pair
from stilt_cli.core.errors import DataError, UsageError, did_you_mean
from stilt_cli.core.tasks import langs as langmod
from stilt_cli.core.tasks.spec import TaskSpec

Reader = Callable[[Path, Context], Iterator[Located]]

FORMATS: dict[str, tuple[Reader, str]] = {
    "pair-tsv": (pairs.read, "sentence-pair TSV: XTREME's XNLI/PAWS-X files, PAWS-X originals (header with id)"),
    "xnli-tsv": (xnli.read_tsv, "XNLI-1.0 release TSV (all languages, header row)"),
    "xnli-jsonl": (xnli.read_jsonl, "XNLI-1.0 release JSONL"),
    "glue-tsv": (glue.read, "GLUE TSV with header (MNLI, QQP, SST-2)"),
    "nli-jsonl": (nli.read_jsonl, "SNLI/MNLI/ANLI/jiant NLI JSONL"),
    "cls-jsonl": (nli.read_cls_jsonl, "single-sentence JSONL {text, label} (jiant)"),
    "anli-csv": (nli.read_anli_csv, "ANLI-analysis CSV"),
    "token-tsv": (tagging.read, "token<TAB>tag lines, blank line between sentences (XTREME UD-POS/PAN-X, CCG)"),
    "panx-raw": (tagging.read_panx_raw, "PAN-X raw lang:token<TAB>tag (Rahimi splits)"),
    "conllu": (conllu.read, "CoNLL-U (Universal Dependencies), XTREME's multiword-token handling"),
    "squad-json": (squad.read, "SQuAD-format JSON (SQuAD, XQuAD, MLQA, TyDiQA-GoldP per language)"),
    "tydiqa-json": (squad.read_tydiqa, "TyDiQA-GoldP release JSON (all languages, language in the id)"),
    "squad-rank": (xquadr.read_squad, "SQuAD-format JSON as ranking pairs: question -> its answer sentence (LAReQA)"),
    "hellaswag-jsonl": (choice.read_hellaswag, "HellaSwag JSONL"),
    "csqa-jsonl": (choice.read_csqa, "CommonsenseQA JSONL (original or Hugging Face export)"),
    "cosmos-csv": (choice.read_cosmos_csv, "Cosmos QA CSV"),
    "cosmos-jsonl": (choice.read_cosmos_jsonl, "Cosmos QA JSONL (test)"),
    "copa-jsonl": (choice.read_copa, "COPA / XCOPA JSONL"),
    "siqa-jsonl": (choice.read_siqa, "Social IQa JSONL + <split>-labels.lst"),
    "text": (text.read_text, "raw text, one sentence or document per line"),
    "jsonl": (text.read_canonical, "stilt's canonical example JSONL"),
}
# formats read a whole folder at a time (a retrieval set's files belong together: Tatoeba's two sides, BUCC's
# corpora and gold, the candidate pools of XQuAD-R and Mewsli-X); each module has read(data_dir, langs, split),
# expected_files(lang, split), available(data_dir, split)
FOLDER_FORMATS = {"tatoeba": tatoeba, "bucc": bucc, "xquadr": xquadr, "mewsli": mewsli}
# formats whose files name each example's language; any other file found by a pattern without a
# language placeholder is English (MNLI standing in for XNLI's training set)
COMBINED = ("xnli-tsv", "xnli-jsonl", "tydiqa-json", "jsonl")
LANG_FIELDS = ("{lang}", "{qlang}", "{laser}", "{name}", "{langname}", "{iso3}")


def task_folders(spec: TaskSpec) -> tuple[str, ...]:
    """Folder names a task's files usually sit in (`download/xnli/`, `bucc2018/`, `english/mnli/`),
    its training task's included (XNLI reads MNLI's files)."""
    from stilt_cli.core.tasks import ALIASES

    names = [spec.name] + ([spec.train_task] if spec.train_task else [])
    return tuple(dict.fromkeys(n for name in names
                               for n in (name, *sorted(a for a, t in ALIASES.items() if t == name))))


def foreign_folders(spec: TaskSpec) -> frozenset[str]:
    """Folders named after other tasks: a file found only there belongs to them (udpos never reads
    `xnli/dev-de.tsv` when `--data-dir` holds several tasks)."""
    from stilt_cli.core import tasks

    every = {n for other in tasks.registry().values() for n in task_folders(other)}
    return frozenset(every - set(task_folders(spec)))


@dataclass
class Found:
    """Where one (task, split, language) was found, or every file name that was looked for."""

    lang: str | None
    candidate: Candidate | None = None
    paths: list[Path] = field(default_factory=list)
    looked_for: list[str] = field(default_factory=list)


def locate(spec: TaskSpec, split: str, lang: str | None, data_dir: Path, tree: Tree | None = None) -> Found:
    tree = tree or Tree(data_dir)
    found = Found(lang)
    for candidate in candidates(spec, split):
        if candidate.format == "components":
            continue
        english_only = candidate.format not in COMBINED and not any(f in candidate.pattern for f in LANG_FIELDS)
        if english_only and lang not in (None, "en"):
            continue
        relpattern = fill(candidate.pattern, lang, split)
        found.looked_for.append(relpattern)
        paths = find(tree, relpattern, task_folders(spec), foreign_folders(spec))
        if paths:
            found.candidate, found.paths = candidate, paths
            return found
    return found


def read_file(fmt: str, path: str | os.PathLike, spec: TaskSpec, split: str, lang: str | None) -> list[dict[str, Any]]:
    """One file in a named format, checked against the task: for files outside the usual layouts."""
    if fmt not in FORMATS:
        raise UsageError(did_you_mean(fmt, FORMATS, "format"), f"formats: {', '.join(FORMATS)}")
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    ctx = Context(spec, split, lang)
    rows = [_checked(where, example, spec, split) for where, example in FORMATS[fmt][0](path, ctx)]
    return unique_ids(rows, f"{spec.name} {split}")


def _checked(where: str, example: dict[str, Any], spec: TaskSpec, split: str) -> dict[str, Any]:
    if not example.get("lang"):
        raise DataError(f"{where}: no language for this example", "give --langs")
    example = canonical.validate(example, spec, where)
    return {"task": spec.name, "split": split, **example}


def unique_ids(rows: list[dict[str, Any]], what: str) -> list[dict[str, Any]]:
    """Some releases repeat ids (XTREME's TyDiQA train keeps only the last part of each id): make them
    unique per language by suffixing '#2', '#3', … to repeats, and say so."""
    seen: dict[tuple[str, str], int] = {}
    repeated = 0
    for row in rows:
        if "id" not in row:  # gold links of retrieval tasks carry no id of their own
            continue
        key = (row["lang"], row["id"])
        if key in seen:
            seen[key] += 1
            row["id"] = f"{row['id']}#{seen[key]}"
            repeated += 1
        else:
            seen[key] = 1
    if repeated:
        console.info(f"{what}: {repeated} repeated example ids made unique with a '#n' suffix")
    return rows


def languages_for(spec: TaskSpec, langs: list[str] | None) -> tuple[list[str], bool]:
    """-> (languages to read, explicit?). Unknown languages of a task are a data error (exit 1)."""
    known = list(spec.all_languages("xtreme-r"))
    if langs is None:
        if not known:
            raise UsageError(f"task {spec.name} reads any language: say which with --langs")
        return known, False
    out = []
    for code in langs:
        parts = split_pair(code) if "-" in code else (code,)
        try:
            normal = "-".join(langmod.normalise(p) for p in parts)
        except Exception:
            bad = next(p for p in parts if not _known_code(p))
            raise DataError(did_you_mean(bad, known or langmod.table(), "language code")
                            + (f" in '{code}'" if bad != code else ""), "use ISO 639-1 codes such as de, zh") from None
        if known and not all(p in known for p in split_pair(normal)):
            raise DataError(f"language '{code}' is not a language of task {spec.name}",
                            f"{spec.name} languages: {','.join(known)}")
        if "-" in normal and not any("{qlang}" in c.pattern
                                     for c in candidates(spec, "dev") + candidates(spec, "test")):
            raise DataError(f"'{code}': task {spec.name} has no cross-language pairs", "give single language codes")
        out.append(normal)
    return out, True


def _known_code(code: str) -> bool:
    try:
        langmod.normalise(code)
    except Exception:
        return False
    return True


def read_split(spec: TaskSpec, split: str, langs: list[str] | None,
               data_dir: str | os.PathLike) -> list[dict[str, Any]]:
    """Canonical examples of one split of a task, for `langs` (None = every language found), from
    original-format files under `data_dir`."""
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise DataError(f"--data-dir {data_dir}: no such folder")
    if split not in spec.splits:
        raise UsageError(did_you_mean(split, spec.splits, f"split of {spec.name}"), f"splits: {', '.join(spec.splits)}")
    whole_folder = folder_format(spec, split)
    if whole_folder is not None:
        if langs is not None:
            languages_for(spec, langs)
        return FOLDER_FORMATS[whole_folder].read(data_dir, langs, split)
    components = [c for c in candidates(spec, split) if c.format == "components"]
    if components:
        return _components(spec, split, components[0].pattern.split(","), data_dir)
    wanted, explicit = languages_for(spec, langs)
    tree = Tree(data_dir)
    parsed: dict[tuple[str, tuple[Path, ...]], list[tuple[str, dict]]] = {}  # a combined file is read once
    rows: list[dict[str, Any]] = []
    missing: list[Found] = []
    for lang in wanted:
        found = locate(spec, split, lang, data_dir, tree)
        if found.candidate is None:
            missing.append(found)
            continue
        key = (found.candidate.format, tuple(found.paths))
        if key not in parsed:
            reader = FORMATS[found.candidate.format][0]
            ctx = Context(spec, split, lang)
            parsed[key] = [located for path in found.paths for located in reader(path, ctx)]
        mine = [(where, dict(example)) for where, example in parsed[key] if example.get("lang") in (lang, None)]
        if not mine and explicit:
            raise DataError(f"{spec.name} {split}: no {lang} examples in {', '.join(map(str, found.paths))}",
                            f"check the file, or the language code (read as {found.candidate.format})")
        for where, example in mine:
            example["lang"] = example.get("lang") or lang
            rows.append(_checked(where, example, spec, split))
    if explicit and missing:
        gap = missing[0]
        raise DataError(f"no {spec.name} {split} file for '{gap.lang}' under {data_dir}: looked for "
                        + ", ".join(gap.looked_for), f"`stilt data check {spec.name} --data-dir {data_dir}` lists "
                        "what is there; or use the Hub (no --data-dir) or --data FILE")
    if not rows:
        looked = sorted({name for gap in missing for name in gap.looked_for})
        raise DataError(f"no {spec.name} {split} examples under {data_dir}",
                        "looked for " + ", ".join(looked[:8]) + (" …" if len(looked) > 8 else ""))
    if missing and not explicit:
        console.info(f"{spec.name} {split}: read {len(wanted) - len(missing)} of {len(wanted)} languages "
                     f"({', '.join(g.lang for g in missing if g.lang)[:200]} not under {data_dir})")
    return unique_ids(rows, f"{spec.name} {split}")


def _components(spec: TaskSpec, split: str, names: list[str], data_dir: Path) -> list[dict[str, Any]]:
    """ANLI+ and the like: the union of other tasks' splits, relabelled as this task."""
    from stilt_cli.core import tasks

    rows = []
    for name in names:
        part = tasks.get(name.strip())
        for example in read_split(part, split, ["en"], data_dir):
            example = dict(example, task=spec.name, id=f"{part.name}-{example['id']}")
            rows.append(canonical.validate(example, spec, f"{part.name} {split} {example['id']}"))
    return rows


def convert(rows: list[dict[str, Any]], source: TaskSpec, target: TaskSpec) -> list[dict[str, Any]]:
    """Examples of the task whose data trains `target` (its `train_task`), in `target`'s shape where the
    types differ: QA examples become ranking pairs (LAReQA trains on SQuAD v1.1, `xquadr.from_qa`)."""
    if source.type == target.type:
        return rows
    if source.type == "qa" and target.type == "retrieval" and target.retrieval == "rank":
        return [dict(row, task=target.name) for row in xquadr.from_qa(rows)]
    raise UsageError(f"task {target.name} ({target.type}) cannot be trained on {source.name} ({source.type}) examples")


def folder_format(spec: TaskSpec, split: str) -> str | None:
    """The folder format a task's split is read with (its files name one of FOLDER_FORMATS), or None."""
    return next((c.format for c in candidates(spec, split) if c.format in FOLDER_FORMATS), None)
