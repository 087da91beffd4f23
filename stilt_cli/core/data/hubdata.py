"""The Hugging Face Hub as a data source: pinned parquet files -> the same canonical examples the local
readers give.

Script-based datasets no longer load in `datasets` >= 4, so stilt never runs a loading script: it
downloads the parquet files of one config at the spec's pinned revision (`snapshot_download` with
`allow_patterns`) and reads them with pyarrow; ClassLabel names come from the files' own schema.
Offline (HF_HUB_OFFLINE / HF_DATASETS_OFFLINE, or the Hub unreachable) only the local cache is used:
`stilt data fetch` fills it on a machine with network. A miss fails at once with one line naming
the dataset and the fixes.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from stilt_cli.core import console
from stilt_cli.core.data import examples as canonical
from stilt_cli.core.data.readers import languages_for, unique_ids
from stilt_cli.core.data.readers.layout import fill
from stilt_cli.core.data.readers.nli import nli_label
from stilt_cli.core.data.readers.squad import TYDIQA_LANGS
from stilt_cli.core.errors import DataError, UsageError, did_you_mean
from stilt_cli.core.hub import datasets_offline, hub_reachable
from stilt_cli.core.tasks.spec import TaskSpec

Row = dict[str, Any]


def offline() -> bool:
    return datasets_offline()


def not_available(spec: TaskSpec, repo: str, config: str | None, why: str) -> DataError:
    name = f"{repo}" + (f" ({config})" if config else "")
    return DataError(
        f"{spec.name}: dataset {name} is not in the local Hugging Face cache and {why}",
        f"read local files with --data-dir DIR (`stilt data check {spec.name} --data-dir DIR`), or run "
        f"`stilt data fetch {spec.name} --to DIR` on a machine with network and set HF_HOME=DIR here",
    )


def parquet_patterns(config: str | None, hub_split: str) -> list[str]:
    """Where a split's parquet files sit: `<config>/<split>-*.parquet` (converted datasets), or
    `<config>/<split>/*.parquet` (the refs/convert/parquet branch), or `data/<split>-*` (one config)."""
    prefixes = [config] if config else ["data", "default", "."]
    out = []
    for prefix in prefixes:
        base = "" if prefix == "." else f"{prefix}/"
        out += [f"{base}{hub_split}-*.parquet", f"{base}{hub_split}/*.parquet", f"{base}{hub_split}.parquet"]
    return out


def download(spec: TaskSpec, repo: str, revision: str | None, config: str | None, patterns: list[str],
             cache_dir: str | os.PathLike | None = None, local_only: bool | None = None) -> Path:
    """The snapshot folder holding the files that match `patterns` (downloaded unless offline)."""
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError

    from stilt_cli.core.libs import quiet_env

    quiet_env()
    if local_only is None:
        local_only = offline()
    try:
        folder = snapshot_download(repo, repo_type="dataset", revision=revision, allow_patterns=patterns,
                                   local_files_only=local_only, cache_dir=cache_dir)
    except LocalEntryNotFoundError:
        if local_only:
            raise not_available(spec, repo, config, "stilt is offline (HF_HUB_OFFLINE/HF_DATASETS_OFFLINE)") from None
        raise not_available(spec, repo, config, "the Hub is not reachable") from None
    except (HfHubHTTPError, OSError, ValueError) as exc:
        if not local_only and not hub_reachable():
            raise not_available(spec, repo, config, "the Hub is not reachable") from None
        raise DataError(f"{spec.name}: cannot get {repo}@{revision or 'main'} ({str(exc).splitlines()[0][:160]})",
                        "check the repo id and revision, or use --data-dir") from None
    return Path(folder)


def _table(spec: TaskSpec, repo: str, revision: str | None, config: str | None, hub_split: str) -> tuple[list[Row], Any]:
    import pyarrow.parquet as pq

    from stilt_cli.core.libs import datasets

    if not offline() and not hub_reachable():
        raise not_available(spec, repo, config, "the Hub is not reachable")
    patterns = parquet_patterns(config, hub_split)
    folder = download(spec, repo, revision, config, patterns)
    files = sorted({p for pattern in patterns for p in folder.glob(pattern) if p.is_file()})
    if not files:
        raise DataError(f"{spec.name}: no parquet files for split '{hub_split}' of {repo}"
                        + (f" ({config})" if config else "") + f" at {revision or 'main'}",
                        "use --data-dir with the original files")
    table = pq.read_table([str(f) for f in files]) if len(files) > 1 else pq.read_table(str(files[0]))
    features = datasets().Features.from_arrow_schema(table.schema)
    return table.to_pylist(), features


def _class_names(features: Any, column: str) -> list[str] | None:
    feature = features.get(column) if features is not None else None
    inner = getattr(feature, "feature", feature)  # Sequence(ClassLabel) for tag columns
    if isinstance(inner, list) and inner:
        inner = inner[0]
    return list(getattr(inner, "names", []) or []) or None


# ---- hub rows -> canonical examples: one mapper per row shape (the spec's hub["rows"]) ----------

def _id(row: Row, split: str, lang: str, n: int, *names: str) -> str:
    for name in names:
        if row.get(name) not in (None, ""):
            return str(row[name])
    return f"{split}-{lang}-{n}"


def _pair(text_a: str, text_b: str | None, label: str | None, example_id: str, lang: str) -> Row:
    example = {"id": example_id, "lang": lang, "text_a": text_a.strip()}
    if text_b is not None:
        example["text_b"] = text_b.strip()
    example["label"] = label
    if label is None:
        example["unlabelled"] = True
    return example


def map_xnli(rows, features, spec, split, lang):
    n = 0
    for row in rows:
        if row.get("language") != lang:
            continue
        n += 1
        label = str(row["gold_label"]).strip()
        yield _pair(row["sentence1"], row["sentence2"], "contradiction" if label == "contradictory" else label,
                    f"{split}-{lang}-{n}", lang)


def map_pawsx(rows, features, spec, split, lang):
    names = _class_names(features, "label")
    for n, row in enumerate(rows, 1):
        label = row.get("label")
        label = None if label in (None, -1, "") else names[label] if names and isinstance(label, int) else str(label)
        yield _pair(row["sentence1"], row["sentence2"], label, _id(row, split, lang, n, "id"), lang)


def _tokens(column: str):
    def mapper(rows, features, spec, split, lang):
        names = _class_names(features, column) or list(spec.labels or ())
        for n, row in enumerate(rows, 1):
            tags = row.get(column)
            tags = None if tags is None else [names[t] if isinstance(t, int) else str(t) for t in tags]
            example = {"id": f"{split}-{lang}-{n}", "lang": lang, "tokens": list(row["tokens"]), "tags": tags}
            if tags is None:
                example["unlabelled"] = True
            yield example
    return mapper


def _squad_row(row: Row, lang: str, empty_is_unanswerable: bool = False) -> Row:
    """`answers: {text: [...], answer_start: [...]}` -> `[{text, start}]`. No answers means an
    unanswerable question in SQuAD 2.0 and missing gold elsewhere."""
    raw = row.get("answers") or {}
    answers = [{"text": t, "start": int(s)} for t, s in zip(raw.get("text", []), raw.get("answer_start", []))]
    labelled = any(a["text"] for a in answers) or (not answers and empty_is_unanswerable)
    example = {"id": str(row["id"]), "lang": lang, "context": row["context"], "question": row["question"],
               "answers": answers if labelled else []}
    if row.get("title"):
        example["title"] = row["title"]
    if not labelled:
        example["unlabelled"] = True
    return example


def map_squad(rows, features, spec, split, lang):
    for row in rows:
        yield _squad_row(row, lang, empty_is_unanswerable=spec.null_answers)


def map_tydiqa(rows, features, spec, split, lang):
    for row in rows:
        if TYDIQA_LANGS.get(str(row["id"]).split("-", 1)[0]) == lang:
            yield _squad_row(row, lang)


def map_nli(rows, features, spec, split, lang):
    names = _class_names(features, "label")
    unlabelled_split = spec.splits.get(split) == "unlabelled"
    for n, row in enumerate(rows, 1):
        value = row.get("label")
        label = None if value in (None, -1) else nli_label(names[value] if names and isinstance(value, int) else value,
                                                           f"{spec.name} {split} row {n}")
        if label is None and not unlabelled_split:
            continue  # no gold label (SNLI '-'): skipped, as the local reader does
        yield _pair(row["premise"], row["hypothesis"], label, _id(row, split, lang, n, "uid", "idx"), lang)


def map_glue(rows, features, spec, split, lang):
    pair = spec.type == "pair-classification"
    for n, row in enumerate(rows, 1):
        value = row.get("label")
        label = None if value in (None, -1) else str(value)  # GLUE ClassLabel index == the GLUE TSV label
        text_a = row.get("question1") if pair else row.get("sentence")
        yield _pair(text_a, row.get("question2") if pair else None, label, _id(row, split, lang, n, "idx"), lang)


def _choice(example_id: str, lang: str, context: str, question: str | None, choices: list[str],
            label: int | None) -> Row:
    example = {"id": example_id, "lang": lang, "context": context, "question": question, "choices": choices,
               "label": label}
    if label is None:
        example["unlabelled"] = True
    return example


def _int_label(value: Any, base: int = 0) -> int | None:
    if value in (None, "", -1):
        return None
    return int(value) - base


def map_hellaswag(rows, features, spec, split, lang):
    for n, row in enumerate(rows, 1):
        yield _choice(_id(row, split, lang, n, "ind"), lang, row["ctx_a"], row.get("ctx_b") or None,
                      list(row["endings"]), _int_label(row.get("label")))


def map_csqa(rows, features, spec, split, lang):
    for n, row in enumerate(rows, 1):
        keys, texts = list(row["choices"]["label"]), list(row["choices"]["text"])
        key = row.get("answerKey")
        yield _choice(_id(row, split, lang, n, "id"), lang, "", row["question"], texts,
                      keys.index(key) if key in keys else None)


def map_cosmos(rows, features, spec, split, lang):
    for n, row in enumerate(rows, 1):
        yield _choice(_id(row, split, lang, n, "id"), lang, row["context"], row["question"],
                      [row[f"answer{i}"] for i in range(4)], _int_label(row.get("label")))


def map_siqa(rows, features, spec, split, lang):
    for n, row in enumerate(rows, 1):
        yield _choice(f"{split}-{lang}-{n}", lang, row["context"], row["question"],
                      [row["answerA"], row["answerB"], row["answerC"]], _int_label(row.get("label"), base=1))


def map_copa(rows, features, spec, split, lang):
    for n, row in enumerate(rows, 1):
        yield _choice(_id(row, split, lang, n, "idx"), lang, row["premise"], row["question"],
                      [row["choice1"], row["choice2"]], _int_label(row.get("label")))


def map_gold_only(rows, features, spec, split, lang):
    """A Hub copy that holds only the gold pairs (BUCC), not the corpora to mine them from."""
    raise DataError(f"{spec.name}: the Hub copy holds only the gold pairs, not the corpora to mine",
                    "read the original files with --data-dir")


def map_pairs(rows, features, spec, split, lang):
    """Tatoeba: aligned (xx, English) rows; the gold is the row alignment."""
    for n, row in enumerate(rows):
        src, tgt = f"{lang}-{n}", f"en-{n}"
        yield {"id": src, "lang": lang, "side": "src", "text": row["source_sentence"].strip()}
        yield {"id": tgt, "lang": lang, "side": "tgt", "text": row["target_sentence"].strip()}
        yield {"lang": lang, "link": [src, tgt]}


MAPPERS: dict[str, Callable] = {
    "xnli": map_xnli, "pawsx": map_pawsx, "tokens:pos_tags": _tokens("pos_tags"), "tokens:ner_tags": _tokens("ner_tags"),
    "squad": map_squad, "tydiqa": map_tydiqa, "nli": map_nli, "glue": map_glue, "hellaswag": map_hellaswag,
    "csqa": map_csqa, "cosmos": map_cosmos, "siqa": map_siqa, "copa": map_copa, "pairs": map_pairs,
    "gold-only": map_gold_only,
}


def to_examples(spec: TaskSpec, split: str, lang: str, rows: list[Row], features: Any = None) -> list[Row]:
    """Hub rows of one config/split -> checked canonical examples (what the local readers return)."""
    mapper = MAPPERS[spec.hub["rows"]]
    out = []
    for n, example in enumerate(mapper(rows, features, spec, split, lang), 1):
        where = f"{spec.hub['repo']} {spec.name} {split} row {n}"
        example = canonical.validate(example, spec, where)
        out.append({"task": spec.name, "split": split, **example} if "link" not in example else example)
    return out


def hub_splits(spec: TaskSpec, split: str) -> list[str]:
    name = spec.hub["splits"].get(split)
    if name is None:
        raise DataError(f"{spec.name}: the Hub copy has no '{split}' split",
                        f"Hub splits: {', '.join(spec.hub['splits'])}; or read local files with --data-dir")
    if "*" in name:  # ANLI: train_r1, train_r2, train_r3
        return [name.replace("*", str(r)) for r in (1, 2, 3)]
    return [name]


def wanted_configs(spec: TaskSpec, split: str, langs: list[str] | None) -> list[tuple[str, str | None, str]]:
    """(language, Hub config, Hub split) to read for `langs` (None: every language the Hub has a config
    for, i.e. the task's XTREME languages; XTREME-R's extra languages are not on the Hub)."""
    hub = spec.hub
    per_language = "{" in (hub.get("config") or "")
    wanted = list(spec.languages) if langs is None and per_language else languages_for(spec, langs)[0]
    return [(lang, fill(hub["config"], lang, split) if hub.get("config") else None, hub_split)
            for lang in wanted for hub_split in hub_splits(spec, split)]


def read_split(spec: TaskSpec, split: str, langs: list[str] | None) -> list[Row]:
    """Canonical examples of a task split from its pinned Hub source."""
    if split not in spec.splits:
        raise UsageError(did_you_mean(split, spec.splits, f"split of {spec.name}"), f"splits: {', '.join(spec.splits)}")
    hub = spec.hub or {}
    if "components" in hub:
        from stilt_cli.core import tasks

        rows = []
        for name in hub["components"]:
            part = tasks.get(name)
            rows += [dict(r, task=spec.name, id=f"{part.name}-{r['id']}") for r in read_split(part, split, ["en"])]
        return rows
    if split == "train" and hub.get("train_from"):  # XNLI trains on MNLI
        from stilt_cli.core import tasks

        source = tasks.get(hub["train_from"])
        return [dict(r, task=spec.name) for r in read_split(source, "train", ["en"])]
    if not hub.get("repo") or not hub.get("rows"):
        raise DataError(f"task {spec.name} has no Hub source", "read local files with --data-dir DIR")
    rows: list[Row] = []
    tables: dict[tuple, tuple[list[Row], Any]] = {}  # a config shared by all languages (XNLI) is read once
    wanted = wanted_configs(spec, split, langs)
    for lang, config, hub_split in wanted:
        key = (config, hub_split)
        if key not in tables:
            console.info(f"{spec.name} {split}: reading {hub['repo']}" + (f" {config}" if config else "")
                         + f" [{hub_split}] @ {hub.get('revision') or 'main (unpinned)'}")
            tables[key] = _table(spec, hub["repo"], hub.get("revision"), config, hub_split)
        table_rows, features = tables[key]
        rows += to_examples(spec, split, lang, table_rows, features)
    if not rows:
        raise DataError(f"{spec.name} {split}: the Hub copy has no examples for {','.join(w[0] for w in wanted)}")
    return unique_ids([r for r in rows if "link" not in r], f"{spec.name} {split}") + [r for r in rows if "link" in r]


# ---- fetch: fill a cache folder for later offline use --------------------------------------------

def fetch_plan(spec: TaskSpec) -> list[tuple[str, str | None, list[str]]]:
    """(repo, revision, allow_patterns) covering every config and split of the task's Hub source."""
    hub = spec.hub or {}
    if "components" in hub:
        from stilt_cli.core import tasks

        return [item for name in hub["components"] for item in fetch_plan(tasks.get(name))]
    if not hub.get("repo"):
        return []
    configs = sorted({fill(hub["config"], lang, "train") for lang in spec.languages}) if hub.get("config") and \
        "{" in hub["config"] else [hub.get("config")]
    patterns = []
    for config in configs:
        for split in spec.splits:
            if split in hub.get("splits", {}):
                for hub_split in hub_splits(spec, split):
                    patterns += parquet_patterns(config, hub_split)
    return [(hub["repo"], hub.get("revision"), sorted(set(patterns)))]


def fetch(task_specs: list[TaskSpec], models: list[str], to: str | os.PathLike) -> list[Row]:
    """Download the pinned datasets (and models) into `to` (a Hugging Face cache: HF_HOME=to)."""

    if offline():
        raise DataError("stilt data fetch needs network, but stilt is offline (HF_HUB_OFFLINE/HF_DATASETS_OFFLINE)",
                        "unset them on a machine with network; then copy the folder here and set HF_HOME to it")
    if not hub_reachable():
        raise DataError("stilt data fetch needs network: the Hub is not reachable from this machine",
                        "run it where huggingface.co is reachable, copy the --to folder here, set HF_HOME to it")
    cache_dir = Path(to) / "hub"
    done = []
    for spec in task_specs:
        plan = fetch_plan(spec)
        if not plan:
            console.warn(f"{spec.name} has no Hub source: bring its files with --data-dir")
        for repo, revision, patterns in plan:
            console.info(f"fetching {repo}@{revision or 'main'} for {spec.name}")
            folder = download(spec, repo, revision, None, patterns, cache_dir=cache_dir, local_only=False)
            done.append({"kind": "dataset", "task": spec.name, "repo": repo, "revision": revision, "path": str(folder)})
    for model in models:
        from huggingface_hub import snapshot_download

        console.info(f"fetching model {model}")
        try:
            folder = snapshot_download(model, cache_dir=cache_dir)
        except Exception as exc:  # any Hub failure is reported as one line
            raise DataError(f"cannot fetch model {model}: {str(exc).splitlines()[0][:160]}") from None
        done.append({"kind": "model", "repo": model, "revision": None, "path": str(folder)})
    return done
