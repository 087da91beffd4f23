"""The Hugging Face Hub as a data source: pinned parquet files -> the same canonical examples the local
readers give.

Script-based datasets no longer load in `datasets` >= 4, so stilt never runs a loading script: it
downloads the parquet files of one config at the spec's pinned revision (`snapshot_download` with
`allow_patterns`) and reads them with pyarrow; ClassLabel names come from the files' own schema.
Offline (HF_HUB_OFFLINE / HF_DATASETS_OFFLINE, or the Hub unreachable) only the local cache is used:
`stilt data fetch` fills it on a machine with network. A miss fails at once with one line naming
the dataset and the fixes. The rows become canonical examples in `readers/hub_rows.py`, beside the readers of
the original files.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from stilt_cli.core import console
from stilt_cli.core.data.readers import languages_for, unique_ids
from stilt_cli.core.data.readers.hub_rows import to_examples
from stilt_cli.core.data.readers.layout import fill
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


def _table(spec: TaskSpec, repo: str, revision: str | None,
           config: str | None, hub_split: str) -> tuple[list[Row], Any]:
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
