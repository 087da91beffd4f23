"""The embedding cache: sentence vectors computed once per model, layers, pooling, length and texts.

Storage: float16 `.npy` files, memory-mapped, keyed by the model (checkpoint manifest hash or weights
fingerprint), layers, pooling, max length, the autocast dtype and a fingerprint of the texts;
`STILT_NO_CACHE=1` or `cache=False` switches it off. `embed()` is what every retrieval, alignment and
`stilt embed` call goes through.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from stilt_cli.core import console
from stilt_cli.core.errors import DataError
from stilt_cli.core.hashing import json_sha256
from stilt_cli.core.retrieval.encoder import Embedder, SentenceModel, dim_of
from stilt_cli.core.retrieval.extract import EmbedSpec

VERSION = 1  # bump when what is stored for a key changes


def texts_fingerprint(texts: Sequence[str]) -> str:
    digest = hashlib.sha256()
    for text in texts:
        digest.update(text.encode("utf-8", "surrogatepass"))
        digest.update(b"\x00")
    return f"{len(texts)}:{digest.hexdigest()}"


def cache_root() -> Path:
    from stilt_cli.core.data import cache

    return cache.root().parent / "embeddings"


def cache_enabled() -> bool:
    from stilt_cli.core.data import cache

    return cache.enabled()


def _entry(embedder: Any, texts_fp: str, spec: EmbedSpec) -> Path:
    from stilt_cli.core import device

    # bf16 autocast on CUDA gives other numbers than fp32 on CPU: a different entry
    key = {"v": VERSION, "model": embedder.fingerprint(), "texts": texts_fp, "amp": device.choose().amp_dtype,
           **spec.key()}
    return cache_root() / f"{json_sha256(key)}.npy"


def _open_cached(path: Path, shape: tuple[int, ...]) -> np.ndarray | None:
    if not path.is_file():
        return None
    try:
        array = np.load(path, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError):
        return None
    return array if array.shape == shape else None


def embed(embedder: Embedder | SentenceModel, texts: Sequence[str], spec: EmbedSpec, *, cache: bool = True,
          label: str = "") -> np.ndarray:
    """Embeddings of `texts`, shape (len(spec.layers) or 1, n, dim), in input order.

    Cached entries are float16 and memory-mapped; with the cache off the array is float32 in memory."""
    texts = list(texts)
    if not texts:
        raise DataError(f"nothing to embed{' for ' + label if label else ''}: no sentences")
    dim = dim_of(embedder)
    n_layers = max(1, len(spec.layers))
    shape = (n_layers, len(texts), dim)
    what = f"{len(texts)} sentences" + (f" ({label})" if label else "")
    if not (cache and cache_enabled()):
        out = np.empty(shape, dtype=np.float32)
        console.info(f"embedding {what}")
        embedder.compute(texts, spec, out)
        return out
    texts_fp = texts_fingerprint(texts)
    path = _entry(embedder, texts_fp, spec)
    hit = _open_cached(path, shape)
    if hit is None and len(spec.layers) == 1 and embedder.num_layers is not None:
        # a sweep over all layers already holds this one
        sweep = EmbedSpec(tuple(range(embedder.num_layers + 1)), spec.pooling, spec.max_length)
        full = _open_cached(_entry(embedder, texts_fp, sweep), (embedder.num_layers + 1, len(texts), dim))
        hit = None if full is None else full[spec.layers[0]: spec.layers[0] + 1]
    if hit is not None:
        console.info(f"embedding cache hit: {what}")
        return hit
    console.info(f"embedding cache miss: {what}; embedding")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        console.warn(f"cannot create the embedding cache at {path.parent} ({exc.strerror}); continuing without it")
        out = np.empty(shape, dtype=np.float32)
        embedder.compute(texts, spec, out)
        return out
    write_npy(path, shape, np.float16, lambda out: embedder.compute(texts, spec, out))
    meta = {"v": VERSION, "model": embedder.fingerprint(), "ref": embedder.ref(), "texts": texts_fp,
            "shape": list(shape), **spec.key()}
    from stilt_cli.core import atomic

    atomic.write_bytes(path.with_suffix(".json"), orjson.dumps(meta, option=orjson.OPT_INDENT_2, default=str))
    return np.load(path, mmap_mode="r", allow_pickle=False)


def write_npy(path: str | os.PathLike, shape: tuple[int, ...], dtype: Any, fill) -> None:
    """Create an .npy of `shape` atomically: `fill(memmap)` writes it in place, then it is renamed over `path`."""
    from stilt_cli.core import atomic

    with atomic.atomic_path(path, suffix=".npy") as tmp:
        fill_npy(tmp, shape, dtype, fill)


def fill_npy(path: str | os.PathLike, shape: tuple[int, ...], dtype: Any, fill) -> None:
    """Create an .npy of `shape` at `path` (not atomically: give it a temporary path) and `fill` it in place."""
    array = np.lib.format.open_memmap(path, mode="w+", dtype=dtype, shape=shape)
    fill(array)
    array.flush()
    del array
