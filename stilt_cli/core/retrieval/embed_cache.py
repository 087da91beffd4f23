"""The embedding cache: sentence vectors computed once per model, layers, pooling, length and texts.

Storage: float16 `.npy` files, memory-mapped, keyed by the model (checkpoint manifest hash or weights
fingerprint), layers, pooling, max length, the autocast dtype and a fingerprint of the texts. Beside each
`.npy` its `.json` (renamed into place last: it marks the entry complete) holds the shape and a content digest
of the `.npy` (`hashing.content_digest`), checked before every use: a changed entry, same-size damage
included, is recomputed with one warning. `STILT_NO_CACHE=1` or `cache=False` switches the cache off. `embed()` is what
every retrieval, alignment and `stilt embed` call goes through.
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
from stilt_cli.core.hashing import content_digest, digest_matches, json_sha256
from stilt_cli.core.retrieval.encoder import Embedder, SentenceModel, dim_of
from stilt_cli.core.retrieval.extract import EmbedSpec

VERSION = 2  # bump when what is stored for a key changes (2: a content digest in the .json)


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
    """The entry, memory-mapped, once its digest matches; None when absent or still being written (no
    `.json` yet), and None with one warning (the entry removed) when it has changed since it was written."""
    described = path.with_suffix(".json")
    if not (path.is_file() and described.is_file()):
        return None
    try:
        meta = orjson.loads(described.read_bytes())
        if meta.get("shape") != list(shape):
            raise ValueError(f"its description says shape {meta.get('shape')}, expected {list(shape)}")
        if not digest_matches(path, meta.get("digest")):
            raise ValueError("its vectors have changed since they were written")
        array = np.load(path, mmap_mode="r", allow_pickle=False)
        if array.shape != shape:
            raise ValueError(f"it holds shape {array.shape}, expected {shape}")
    except (OSError, ValueError, orjson.JSONDecodeError) as exc:
        console.warn(f"embedding cache entry {path.stem[:12]} is damaged ({exc}); recomputing it")
        for stale in (described, path):
            stale.unlink(missing_ok=True)
        return None
    return array


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
    from stilt_cli.core import atomic

    # the vectors and their description go in together, the description last (it marks the entry complete)
    with atomic.atomic_group([path, path.with_suffix(".json")], [".npy", ""]) as (vectors, described):
        fill_npy(vectors, shape, np.float16, lambda out: embedder.compute(texts, spec, out))
        meta = {"v": VERSION, "model": embedder.fingerprint(), "ref": embedder.ref(), "texts": texts_fp,
                "shape": list(shape), "digest": content_digest(vectors), **spec.key()}
        described.write_bytes(orjson.dumps(meta, option=orjson.OPT_INDENT_2, default=str))
    return np.load(path, mmap_mode="r", allow_pickle=False)


def fill_npy(path: str | os.PathLike, shape: tuple[int, ...], dtype: Any, fill) -> None:
    """Create an .npy of `shape` at `path` (not atomically: give it a temporary path) and `fill` it in place."""
    array = np.lib.format.open_memmap(path, mode="w+", dtype=dtype, shape=shape)
    fill(array)
    array.flush()
    del array
