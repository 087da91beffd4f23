"""The tokenized feature cache: tokenize a task split once, reuse it in every later stage.

`features(key, build)` returns the columns `build()` makes (e.g. input_ids, labels, offsets), from
disk when an entry for exactly this key exists. The key holds everything that changes the output
(`make_key` builds it: task, split, languages, a fingerprint of the examples, the tokenizer's
fingerprint, max length, stride, spec version, featurizer version), hashed into the entry name.

Storage: `$STILT_CACHE/tokenized/<sha256 of key>/`, one `.npy` per numeric column (ragged columns as
flat values + row offsets), loaded memory-mapped, so a large training set costs no RAM until a
batch touches it. Anything else (strings, nulls, nested objects) goes into one JSON file. Entries
are built in a `.partial-*` folder and renamed into place, with `meta.json` written last: a killed
run leaves no entry, and an entry that fails its checks (missing file, wrong size, other key, or a
content digest that no longer matches: same-size damage too, `hashing.content_digest`) is rebuilt with
one warning, never read. Examples read from stdin (`--data -`) are never cached: they have no identity
to come back to. Dynamic padding happens at batch time, not here.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from stilt_cli.core import console
from stilt_cli.core.data import columns as column_store
from stilt_cli.core.hashing import content_digest, digest_matches, json_sha256

FORMAT = "stilt.tokenized/2"  # /2: a content digest per file, checked before use
STALE_PARTIAL_S = 6 * 3600  # a .partial folder this old belongs to a run that died


@dataclass
class Stats:
    """Counters for this process: tests and benchmarks assert on them."""

    hits: int = 0
    misses: int = 0
    uncached: int = 0  # built in memory only (stdin input, or caching switched off)
    rebuilt: int = 0  # entries found damaged and rebuilt (also counted as misses)

    def reset(self) -> None:
        self.hits = self.misses = self.uncached = self.rebuilt = 0

    def __getitem__(self, name: str) -> int:
        return getattr(self, name)


STATS = Stats()


@dataclass
class Cached:
    columns: dict[str, Any]  # name -> numpy array, Ragged or list; rows aligned
    hit: bool
    key: dict[str, Any]
    digest: str
    path: Path | None = None  # None when built in memory only
    rows: int = field(default=0)

    def __len__(self) -> int:
        return self.rows


# ---- keys and fingerprints ---------------------------------------------------------------------

def tokenizer_fingerprint(tokenizer: Any) -> str:
    """sha256 of what decides the token ids: the fast tokenizer's JSON (vocabulary, normaliser,
    pre-tokenizer, post-processor with its special tokens), its class, and its padding/truncation
    sides. Paths are left out on purpose: the same tokenizer copied into a new checkpoint must hit."""
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is None:
        raise TypeError(f"{type(tokenizer).__name__} is not a fast tokenizer; stilt needs a tokenizers-backed one")
    # the JSON also holds the truncation/padding state left by the last call: drop it, or the same
    # tokenizer would fingerprint differently once it has been used
    state = orjson.loads(backend.to_str())
    state.pop("truncation", None)
    state.pop("padding", None)
    facts = {
        "json": state,
        "class": type(tokenizer).__name__,
        "special_tokens": {k: str(v) for k, v in sorted(getattr(tokenizer, "special_tokens_map", {}).items())},
        "padding_side": getattr(tokenizer, "padding_side", None),
        "truncation_side": getattr(tokenizer, "truncation_side", None),
    }
    return json_sha256(facts)


def examples_fingerprint(examples: Iterable[dict[str, Any]]) -> str:
    """sha256 of the canonical examples themselves: honest whatever the source (hub, --data-dir, --data)."""
    import hashlib

    digest = hashlib.sha256()
    for example in examples:
        digest.update(orjson.dumps(example, option=orjson.OPT_SORT_KEYS))
        digest.update(b"\n")
    return digest.hexdigest()


STDIN = "-"


def make_key(
    *,
    task: str,
    split: str,
    langs: Sequence[str] | None,
    data: str,
    tokenizer: str,
    max_length: int,
    spec_version: int,
    featurizer_version: int | str,
    stride: int | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """The honest cache key. `data` = `examples_fingerprint(...)`, or `cache.STDIN` for stdin input
    (never cached); `tokenizer` = `tokenizer_fingerprint(...)`; `extra` = anything else that changes
    the features (e.g. label list, first-sub-token-only, QA question max length)."""
    return {"task": task, "split": split, "langs": sorted(langs) if langs else None, "data": data,
            "tokenizer": tokenizer, "max_length": max_length, "stride": stride, "spec_version": spec_version,
            "featurizer_version": featurizer_version, **extra}


def cacheable(key: dict[str, Any]) -> bool:
    """False for stdin input: a key whose data is '-' or a file fingerprint of '-'."""

    def stdin(value: Any) -> bool:
        if value == STDIN:
            return True
        if isinstance(value, dict):
            return value.get("path") == STDIN or any(stdin(v) for v in value.values())
        return False

    return not stdin(key.get("data")) and not stdin(key.get("data_fingerprint"))


def root(cache_dir: str | os.PathLike | None = None) -> Path:
    if cache_dir is not None:
        return Path(cache_dir)
    base = os.environ.get("STILT_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "stilt")
    return Path(base) / "tokenized"


def enabled() -> bool:
    return os.environ.get("STILT_NO_CACHE", "0").lower() not in ("1", "true", "yes")


# ---- the entry point ---------------------------------------------------------------------------

def features(key: dict[str, Any], build: Callable[[], dict[str, list]], *,
             cache_dir: str | os.PathLike | None = None) -> Cached:
    """Columns for `key`: read from the cache when present and valid, else `build()` them and store them."""
    digest = json_sha256(key)
    label = _label(key)
    if not cacheable(key) or not enabled():
        why = "stdin input is never cached" if not cacheable(key) else "STILT_NO_CACHE is set"
        console.info(f"tokenized cache skipped for {label} ({why})")
        STATS.uncached += 1
        columns = build()
        return Cached(column_store.in_memory(columns), hit=False, key=key, digest=digest, rows=_check_rows(columns))
    entry = root(cache_dir) / digest
    try:
        entry.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        console.warn(f"cannot create the tokenized cache at {entry.parent} ({exc.strerror or exc}); "
                     "continuing without it (set STILT_CACHE to a writable folder)")
        STATS.uncached += 1
        columns = build()
        return Cached(column_store.in_memory(columns), hit=False, key=key, digest=digest, rows=_check_rows(columns))
    # one builder per entry: under DDP the other ranks wait here and then hit
    with _lock(entry):
        loaded = _load(entry, key)
        if loaded is not None:
            STATS.hits += 1
            columns, rows = loaded
            console.info(f"tokenized cache hit: {label} ({rows} rows, {entry})")
            return Cached(columns, hit=True, key=key, digest=digest, path=entry, rows=rows)
        STATS.misses += 1
        console.info(f"tokenized cache miss: {label}; tokenizing")
        columns = build()
        rows = _check_rows(columns)
        loaded = _load(entry, key) if _store(entry, key, columns, rows) else None
    if loaded is None:  # not written, or not readable back: the stage goes on with the memory copy
        return Cached(column_store.in_memory(columns), hit=False, key=key, digest=digest, rows=rows)
    return Cached(loaded[0], hit=False, key=key, digest=digest, path=entry, rows=rows)


def _label(key: dict[str, Any]) -> str:
    parts = [str(key.get(k)) for k in ("task", "split") if key.get(k) is not None]
    if key.get("langs"):
        parts.append(",".join(key["langs"]))
    return " ".join(parts) or "features"


def _check_rows(columns: dict[str, list]) -> int:
    if not isinstance(columns, dict) or not columns:
        raise ValueError("build() must return a non-empty dict of columns")
    lengths = {name: len(values) for name, values in columns.items()}
    if len(set(lengths.values())) != 1:
        raise ValueError(f"columns are not row-aligned: {lengths}")
    return next(iter(lengths.values()))


@contextlib.contextmanager
def _lock(entry: Path) -> Iterator[None]:
    from filelock import FileLock

    lock = FileLock(str(entry.parent / f".{entry.name}.lock"))
    try:
        lock.acquire()
    except OSError:  # read-only cache folder: no lock to take; _store will warn and fall back
        yield
        return
    try:
        yield
    finally:
        lock.release()


# ---- encoding columns --------------------------------------------------------------------------


# ---- disk --------------------------------------------------------------------------------------

def _store(entry: Path, key: dict[str, Any], columns: dict[str, list], rows: int) -> bool:
    """Write the entry atomically; False (with a warning) when the disk refuses."""
    _sweep_partials(entry.parent)
    partial = entry.parent / f"{entry.name}.partial-{os.getpid()}"
    shutil.rmtree(partial, ignore_errors=True)
    try:
        partial.mkdir(parents=True)
        layout: dict[str, Any] = {}
        as_json: dict[str, list] = {}
        for index, (name, values) in enumerate(columns.items()):
            kind, arrays = column_store.encode(values)
            if kind == "json":
                as_json[name] = list(values)
                layout[name] = {"layout": "json"}
                continue
            files = {}
            for part, array in arrays.items():
                filename = f"c{index}.{part}.npy"
                np.save(partial / filename, np.ascontiguousarray(array), allow_pickle=False)
                files[part] = {"file": filename, "bytes": (partial / filename).stat().st_size,
                               "digest": content_digest(partial / filename)}
            layout[name] = {"layout": kind, "files": files}
        if as_json:
            (partial / "objects.json").write_bytes(orjson.dumps(as_json, option=orjson.OPT_SERIALIZE_NUMPY))
        meta = {"format": FORMAT, "key": key, "rows": rows, "columns": layout, "created": time.time(),
                "objects_bytes": (partial / "objects.json").stat().st_size if as_json else None,
                "objects_digest": content_digest(partial / "objects.json") if as_json else None}
        (partial / "meta.json").write_bytes(orjson.dumps(meta, option=orjson.OPT_SORT_KEYS))  # last: marks complete
        if entry.exists():  # damaged entry being replaced (a valid one would have been a hit)
            shutil.rmtree(entry, ignore_errors=True)
        os.replace(partial, entry)
        return True
    except OSError as exc:
        shutil.rmtree(partial, ignore_errors=True)
        # a cache that cannot be written must not stop the stage: warn and carry on in memory
        console.warn(f"cannot write the tokenized cache at {entry.parent} ({exc.strerror or exc}); "
                     "continuing without it (set STILT_CACHE to a writable folder)")
        return False


def _load(entry: Path, key: dict[str, Any]) -> tuple[dict[str, Any], int] | None:
    """The entry's columns (memory-mapped), or None when absent; a damaged entry is removed."""
    meta_path = entry / "meta.json"
    if not entry.is_dir():
        return None
    try:
        meta = orjson.loads(meta_path.read_bytes())
        if meta.get("format") != FORMAT or meta.get("key") != orjson.loads(orjson.dumps(key)):
            raise ValueError("written for another key or format")
        rows = int(meta["rows"])
        columns: dict[str, Any] = {}
        objects = None
        for name, info in meta["columns"].items():
            if info["layout"] == "json":
                if objects is None:
                    blob = (entry / "objects.json").read_bytes()
                    if len(blob) != meta["objects_bytes"]:
                        raise ValueError("objects.json has the wrong size")
                    if not digest_matches(entry / "objects.json", meta["objects_digest"]):
                        raise ValueError("objects.json has changed since it was written")
                    objects = orjson.loads(blob)
                columns[name] = objects[name]
                continue
            arrays = {}
            for part, spec in info["files"].items():
                path = entry / spec["file"]
                if path.stat().st_size != spec["bytes"]:
                    raise ValueError(f"{spec['file']} has the wrong size")
                if not digest_matches(path, spec["digest"]):
                    raise ValueError(f"{spec['file']} has changed since it was written")
                arrays[part] = column_store.load_array(path)
            columns[name] = (arrays["values"] if info["layout"] == "scalar"
                             else column_store.Ragged(arrays["values"], arrays["offsets"]))
        for name, values in columns.items():
            if len(values) != rows:
                raise ValueError(f"column {name} has {len(values)} rows, expected {rows}")
        return columns, rows
    except (OSError, ValueError, KeyError, TypeError, orjson.JSONDecodeError) as exc:
        console.warn(f"tokenized cache entry {entry.name[:12]} is damaged ({exc}); rebuilding it")
        STATS.rebuilt += 1
        shutil.rmtree(entry, ignore_errors=True)
        return None


def _sweep_partials(folder: Path) -> None:
    """Remove `.partial-*` folders left by runs that died long ago (never a live one: too young)."""
    now = time.time()
    for partial in folder.glob("*.partial-*"):
        with contextlib.suppress(OSError):
            if now - partial.stat().st_mtime > STALE_PARTIAL_S:
                shutil.rmtree(partial, ignore_errors=True)
