"""`stilt embed`: sentences in (JSONL or plain text, a file or stdin), OUT.npy + OUT.ids + OUT.json out.

OUT.npy holds one row per input sentence in input order ((layers, n, dim) for --layer all), float16 or
float32; OUT.ids one id per line (the JSONL `id`, else the 1-based line number); OUT.json what made
them (model, fingerprint, layers, pooling, max length, input fingerprint), which `--if-exists skip`
compares. All three are written atomically, OUT.json last: without it the other two are incomplete.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from stilt_cli.core import console
from stilt_cli.core.errors import DataError, UsageError
from stilt_cli.core.retrieval.embed_cache import cache_enabled, embed, fill_npy, texts_fingerprint
from stilt_cli.core.retrieval.encoder import dim_of, load, resolve_layers, resolve_pooling
from stilt_cli.core.retrieval.extract import DEFAULT_MAX_LENGTH, EmbedSpec

DTYPES = ("float16", "float32")


def read_inputs(source: str | os.PathLike) -> tuple[list[str], list[str]]:
    """(ids, texts) from JSONL (`text`, optional `id`; else the line number) or plain text, one
    sentence per line (ids = line numbers). '-' reads stdin; the format is sniffed from the first line."""
    import io
    import sys

    from stilt_cli.core.textio import lines as text_lines

    name = "<stdin>" if str(source) == "-" else str(source)
    if str(source) == "-":
        stream = io.BytesIO(sys.stdin.buffer.read() if hasattr(sys.stdin, "buffer") else sys.stdin.read().encode())
        lines = list(text_lines(stream, blank=False))
    else:
        path = Path(source)
        if not path.is_file():
            raise DataError(f"{name}: no such file", "give a JSONL file with 'text' fields or a plain-text file")
        lines = list(text_lines(path, blank=False))
    if not lines:
        raise DataError(f"{name}: no sentences")
    suffix = Path(name).suffix.lower()
    as_jsonl = suffix in (".jsonl", ".json") or (suffix not in (".txt", ".text")
                                                 and lines[0][1].lstrip().startswith("{"))
    ids: list[str] = []
    texts: list[str] = []
    for number, line in lines:
        if not as_jsonl:
            ids.append(str(number))
            texts.append(line.strip())
            continue
        try:
            obj = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            raise DataError(f"{name}:{number}: invalid JSON ({exc.msg})",
                            "each line must be one JSON object with 'text'") from None
        if not isinstance(obj, dict):
            raise DataError(f"{name}:{number}: expected a JSON object, got {type(obj).__name__}",
                            "each line must be one JSON object with 'text'")
        if "text" not in obj:
            raise DataError(f"{name}:{number}: missing field 'text'", "each line must be one JSON object with 'text'")
        if not isinstance(obj["text"], str):
            raise DataError(f"{name}:{number}: field 'text' has type {type(obj['text']).__name__}, expected string")
        ident = obj.get("id", number)
        if not isinstance(ident, (str, int)) or isinstance(ident, bool):
            raise DataError(f"{name}:{number}: field 'id' must be a string or an integer")
        ids.append(str(ident))
        texts.append(obj["text"])
    return ids, texts


def output_paths(output: str | os.PathLike) -> tuple[Path, Path, Path]:
    base = Path(output)
    if base.suffix == ".npy":
        base = base.with_suffix("")
    return base.with_name(base.name + ".npy"), base.with_name(base.name + ".ids"), base.with_name(base.name + ".json")


def embed_file(model: str, source: str | os.PathLike, output: str | os.PathLike, *, layer: int | str | None = None,
               pooling: str | None = None, dtype: str = "float16", max_length: int | None = None,
               if_exists: str = "error",
               cache: bool = True, revision: str | None = None, batch_tokens: int = 16384) -> dict[str, Any]:
    """Write OUT.npy ((n, dim), or (layers, n, dim) for --layer all), OUT.ids (one id per row) and
    OUT.json (what made them). Returns the OUT.json content."""
    from stilt_cli.core import atomic
    from stilt_cli.core.errors import OutputExistsError

    if dtype not in DTYPES:
        raise UsageError(f"--dtype must be float16 or float32, not '{dtype}'")
    atomic.check_if_exists(if_exists)  # a bad policy fails before the model loads
    npy, ids_path, meta_path = output_paths(output)
    ids, texts = read_inputs(source)
    embedder = load(model, pooling, revision)
    pooling = resolve_pooling(embedder, pooling)
    layers = resolve_layers(embedder, layer)
    spec = EmbedSpec(layers, pooling, max_length or DEFAULT_MAX_LENGTH, batch_tokens=batch_tokens)
    meta = {"format": "stilt.embeddings/1", "model": embedder.ref(), "model_fingerprint": embedder.fingerprint(),
            "layers": list(layers) or None, "pooling": pooling, "max_length": spec.max_length, "dtype": dtype,
            "texts": texts_fingerprint(texts), "rows": len(texts)}
    if npy.exists():
        if atomic.decide(npy, if_exists) == "compare":
            try:
                old = orjson.loads(meta_path.read_bytes())
            except (OSError, orjson.JSONDecodeError):
                old = None
            if not isinstance(old, dict):
                raise OutputExistsError(f"output {npy} is incomplete or damaged ({meta_path.name} is missing or "
                                        "unreadable)", "use --if-exists overwrite to rebuild it")
            same = {k: v for k, v in old.items() if k != "shape"} == orjson.loads(orjson.dumps(meta))
            if same:
                console.info(f"{npy} is up to date (same model, layers, pooling and input); skipping")
                return old
            raise OutputExistsError(f"output {npy} exists but was made from other inputs or settings",
                                    "use --if-exists overwrite to replace it")
    n_layers = max(1, len(layers))
    dim = dim_of(embedder)
    shape = (n_layers, len(texts), dim) if layer == "all" else (len(texts), dim)
    with atomic.output_lock(npy):
        if dtype == "float16" and cache and cache_enabled():
            vectors = embed(embedder, texts, spec, cache=True, label=str(source))

            def fill(out: np.ndarray) -> None:
                for start in range(0, len(texts), 65536):
                    block = vectors[:, start:start + 65536]
                    out[..., start:start + 65536, :] = block if layer == "all" else block[0]
        else:
            console.info(f"embedding {len(texts)} sentences")

            def fill(out: np.ndarray) -> None:
                embedder.compute(texts, spec, out.reshape((n_layers, len(texts), dim)))

        meta["shape"] = list(shape)
        # three files cannot be renamed in one step: OUT.json (which --if-exists skip trusts) goes last
        with atomic.atomic_group([npy, ids_path, meta_path], [".npy", "", ""]) as (npy_tmp, ids_tmp, meta_tmp):
            fill_npy(npy_tmp, shape, np.dtype(dtype), fill)
            ids_tmp.write_text("".join(" ".join(i.splitlines()) + "\n" for i in ids), encoding="utf-8")
            meta_tmp.write_bytes(orjson.dumps(meta, option=orjson.OPT_INDENT_2, default=str))
    console.info(f"wrote {npy} {tuple(shape)} {dtype}, {ids_path}")
    return meta
