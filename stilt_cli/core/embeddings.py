"""Sentence embeddings from any encoder: one hidden layer, or every layer in one forward pass.

Layers use Hugging Face `hidden_states` indexing: 0 = the embedding output, L = the last layer.
Pooling:
- `mean`: the average over every non-padding token, special tokens included — the protocol of
  X-STILTs (jiant) and of XTREME's retrieval scripts (`pool_skip_special_token` is off there);
- `cls`: the first token's vector (no meaning for mT5, which has no [CLS]);
- `model`: a sentence-transformers model's own pooling and normalisation (through the
  sentence-transformers package), for one-off evaluations of such models; no layer choice.

Speed: the texts are tokenized once, sorted by length and cut into batches by a padded-token budget
(dynamic padding), run under `torch.inference_mode()` with bf16 autocast on CUDA (`device.choose()`);
when every requested layer is below the last one, the forward pass stops after the highest of them.
Results come back in the input order. Storage: float16 `.npy` files, memory-mapped, in an embedding
cache keyed by the model (checkpoint manifest hash or weights fingerprint), layers, pooling, max
length and a fingerprint of the texts; `STILT_NO_CACHE=1` or `cache=False` switches it off.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from stilt_cli.core import console
from stilt_cli.core.errors import DataError, UsageError
from stilt_cli.core.hashing import json_sha256

POOLINGS = ("mean", "cls", "model")
VERSION = 1  # bump when what is stored for a key changes
DEFAULT_MAX_LENGTH = 512  # XTREME's MAXL for Tatoeba and BUCC


@dataclass(frozen=True)
class EmbedSpec:
    layers: tuple[int, ...]  # hidden_states indices; () for pooling "model"
    pooling: str = "mean"
    max_length: int = DEFAULT_MAX_LENGTH
    batch_tokens: int = 16384  # padded tokens per batch
    max_batch: int = 256

    def key(self) -> dict[str, Any]:
        return {"layers": list(self.layers), "pooling": self.pooling, "max_length": self.max_length}


class Embedder:
    """A transformers encoder (stilt checkpoint, model folder or hub id) with hidden-state pooling."""

    def __init__(self, encoder: Any):
        self.encoder = encoder

    @property
    def num_layers(self) -> int | None:
        return self.encoder.num_layers

    @property
    def default_layer(self) -> int | None:
        return int(self.encoder.facts.get("retrieval_layer") or self.encoder.num_layers)

    @property
    def family(self) -> str:
        return str(self.encoder.facts.get("family") or "unknown")

    def ref(self) -> dict[str, Any]:
        return self.encoder.ref()

    def revision(self) -> str | None:
        return (self.encoder.facts.get("source") or {}).get("revision")

    def fingerprint(self) -> str:
        """Identity of the weights: the manifest hash of a checkpoint (it holds the weights' sha256),
        else source, hub commit and the size and mtime of the weight files of a model folder."""
        checkpoint = self.encoder.checkpoint
        if checkpoint is not None:
            return "ckpt:" + checkpoint.manifest_sha256()
        source = dict(self.encoder.facts.get("source") or {})
        parts: dict[str, Any] = {"source": source, "commit": getattr(self.encoder.model.config, "_commit_hash", None)}
        folder = Path(str(source.get("id", "")))
        if source.get("kind") == "dir" and folder.is_dir():
            parts["files"] = [(p.name, p.stat().st_size, p.stat().st_mtime_ns)
                              for p in sorted(folder.glob("*")) if p.suffix in (".safetensors", ".bin", ".json")]
        return "hf:" + json_sha256(parts)

    def compute(self, texts: Sequence[str], spec: EmbedSpec, out: np.ndarray) -> None:
        _compute_hidden(self.encoder, texts, spec, out)


class SentenceModel:
    """A sentence-transformers model, embedding with its own pooling and normalisation."""

    def __init__(self, model: Any, source: str, facts: dict[str, Any]):
        self.model = model
        self.source = source
        self.facts = facts
        self.num_layers = None
        self.default_layer = None
        self.family = "sentence-transformers"

    def ref(self) -> dict[str, Any]:
        return {"path": None, "name": Path(self.source).name or self.source, "source": self.facts, "manifest_sha256": None}

    def revision(self) -> str | None:
        return self.facts.get("revision")

    def fingerprint(self) -> str:
        parts: dict[str, Any] = {"source": self.facts}
        folder = Path(self.source)
        if folder.is_dir():
            parts["files"] = [(str(p.relative_to(folder)), p.stat().st_size, p.stat().st_mtime_ns)
                              for p in sorted(folder.rglob("*")) if p.is_file()]
        return "st:" + json_sha256(parts)

    def compute(self, texts: Sequence[str], spec: EmbedSpec, out: np.ndarray) -> None:
        from stilt_cli.core import device

        choice = device.choose()
        self.model.to(choice.device)
        vectors = self.model.encode(list(texts), batch_size=64, convert_to_numpy=True, show_progress_bar=False)
        out[0] = vectors.astype(out.dtype, copy=False)


def load(source: str, pooling: str = "mean", revision: str | None = None) -> Embedder | SentenceModel:
    """The encoder named by `source`: a stilt checkpoint, a model folder or hub id, or with
    pooling 'model' a sentence-transformers model (a folder with modules.json, or such a hub id)."""
    if pooling not in POOLINGS:
        raise UsageError(f"unknown --pooling '{pooling}'", f"use one of {', '.join(POOLINGS)}")
    if pooling == "model":
        return _load_sentence_model(source, revision)
    from stilt_cli.core.encoders.load import load as load_encoder

    embedder = Embedder(load_encoder(source, revision))
    if pooling == "cls" and (embedder.family == "mt5" or embedder.encoder.tokenizer.cls_token is None):
        raise UsageError(f"--pooling cls needs an encoder with a [CLS] token; {embedder.encoder.name} "
                         f"({embedder.family}) has none", "use --pooling mean")
    return embedder


def _load_sentence_model(source: str, revision: str | None) -> SentenceModel:
    from stilt_cli.core import checkpoint as ckpt
    from stilt_cli.core.encoders import hub

    path = Path(source).expanduser()
    if ckpt.is_checkpoint(path):
        raise UsageError(f"{source} is a stilt checkpoint; --pooling model needs a sentence-transformers model",
                         "use --pooling mean or cls for stilt checkpoints")
    if path.exists():
        if not (path / "modules.json").is_file():
            raise UsageError(f"{source} is not a sentence-transformers model (no modules.json)",
                             "use --pooling mean or cls for a plain transformers model")
        target, facts, local_only = str(path), {"kind": "dir", "id": str(path.resolve()), "revision": None}, True
    else:
        target, facts, local_only = hub.resolve(source, revision)
    from stilt_cli.core.libs import transformers

    transformers()  # quiet transformers' load reports and progress bars before sentence-transformers uses it
    try:
        from sentence_transformers import SentenceTransformer
    except ImportError:
        raise UsageError("--pooling model needs the sentence-transformers package",
                         "pip install sentence-transformers") from None
    try:
        model = SentenceTransformer(target, device="cpu", revision=revision, local_files_only=local_only)
    except (OSError, ValueError) as exc:
        raise DataError(f"cannot load the sentence-transformers model '{source}': {str(exc).splitlines()[0]}") from None
    model.eval()
    return SentenceModel(model, source, facts)


def resolve_layers(embedder: Embedder | SentenceModel, layer: int | str | None, default: int | None = None) -> tuple[int, ...]:
    """--layer N | all | None (the protocol's or checkpoint's default) -> hidden_states indices."""
    if isinstance(embedder, SentenceModel):
        if layer is not None:
            raise UsageError("--layer does not apply to --pooling model (the model pools its own last layer)")
        return ()
    total = int(embedder.num_layers)
    if layer is None:
        layer = embedder.default_layer if default is None else default
    if layer == "all":
        return tuple(range(total + 1))
    index = int(layer)
    if not 0 <= index <= total:
        raise DataError(f"layer {index} is out of range for {embedder.encoder.name}: valid layers are 0..{total} "
                        f"(0 = embeddings, {total} = last) or 'all'")
    return (index,)


# ---- the embedding cache ----------------------------------------------------------------------------

def texts_fingerprint(texts: Sequence[str]) -> str:
    digest = hashlib.sha256()
    for text in texts:
        digest.update(text.encode("utf-8", "surrogatepass"))
        digest.update(b"\x00")
    return f"{len(texts)}:{digest.hexdigest()}"


def cache_root() -> Path:
    from stilt_cli.core import cache

    return cache.root().parent / "embeddings"


def cache_enabled() -> bool:
    from stilt_cli.core import cache

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


def dim_of(embedder: Any) -> int:
    if isinstance(embedder, SentenceModel):
        model = embedder.model
        getter = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        return int(getter())
    return int(embedder.encoder.hidden_size)


# ---- extraction ----------------------------------------------------------------------------------------

def length_batches(lengths: np.ndarray, batch_tokens: int, max_batch: int) -> list[np.ndarray]:
    """Indices sorted by length (longest first) cut into batches whose padded size stays within budget."""
    order = np.argsort(-lengths, kind="stable")
    batches: list[np.ndarray] = []
    start = 0
    while start < len(order):
        longest = int(lengths[order[start]])
        size = max(1, min(max_batch, batch_tokens // max(1, longest)))
        batches.append(order[start:start + size])
        start += size
    return batches


def _layer_modules(model: Any):
    """The transformer blocks in order (BERT/XLM-R `encoder.layer`, T5 `encoder.block`), or None."""
    encoder = getattr(model, "encoder", None)
    for name in ("layer", "block"):
        blocks = getattr(encoder, name, None)
        if blocks is not None and hasattr(blocks, "__len__"):
            return blocks
    return None


class _Stop(Exception):
    pass


def _compute_hidden(encoder: Any, texts: Sequence[str], spec: EmbedSpec, out: np.ndarray) -> None:
    import torch

    from stilt_cli.core import device

    choice = device.choose()
    model = encoder.model.to(choice.torch_device())
    model.eval()
    tokenizer = encoder.tokenizer
    encoded = tokenizer(list(texts), add_special_tokens=True, truncation=True, max_length=spec.max_length,
                        return_attention_mask=False, return_token_type_ids=False)["input_ids"]
    lengths = np.fromiter((len(ids) for ids in encoded), dtype=np.int64, count=len(encoded))
    batches = length_batches(lengths, spec.batch_tokens, spec.max_batch)
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    layers = spec.layers
    blocks = _layer_modules(model)
    # stop after the highest requested block when every requested layer is a block output below the
    # last one (the last hidden state of T5 is layer-normed after its block, so it needs the full pass)
    hook_mode = blocks is not None and min(layers) >= 1 and max(layers) < len(blocks)
    captured: dict[int, Any] = {}
    handles = []
    if hook_mode:
        top = max(layers)

        def make_hook(index: int):
            def hook(_module, _inputs, output):
                captured[index] = output[0] if isinstance(output, (tuple, list)) else output
                if index == top:
                    raise _Stop

            return hook

        handles = [blocks[layer - 1].register_forward_hook(make_hook(layer)) for layer in sorted(set(layers))]
    torch_device = choice.torch_device()
    try:
        with console.progress("embedding", total=len(batches), unit="batch") as advance, torch.inference_mode(), \
                choice.autocast():
            for batch in batches:
                width = int(lengths[batch[0]])
                ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
                mask = torch.zeros((len(batch), width), dtype=torch.long)
                for row, index in enumerate(batch):
                    seq = encoded[index]
                    ids[row, :len(seq)] = torch.as_tensor(seq, dtype=torch.long)
                    mask[row, :len(seq)] = 1
                ids, mask = ids.to(torch_device), mask.to(torch_device)
                captured.clear()
                if hook_mode:
                    try:
                        model(input_ids=ids, attention_mask=mask)
                    except _Stop:
                        pass
                    states = [captured[layer] for layer in layers]
                else:
                    hidden = model(input_ids=ids, attention_mask=mask, output_hidden_states=True).hidden_states
                    states = [hidden[layer] for layer in layers]
                for slot, state in enumerate(states):
                    out[slot, batch] = pool(state, mask, spec.pooling).float().cpu().numpy()
                advance(1)
    finally:
        for handle in handles:
            handle.remove()


def pool(hidden: Any, mask: Any, pooling: str) -> Any:
    """(batch, tokens, dim) -> (batch, dim): mean over non-padding tokens, or the first token."""
    if pooling == "cls":
        return hidden[:, 0]
    weights = mask.to(hidden.dtype).unsqueeze(-1)
    return (hidden.float() * weights.float()).sum(dim=1) / mask.sum(dim=1, keepdim=True).clamp(min=1).float()


def parse_layer(value: str | None) -> int | str | None:
    """The --layer option: a hidden_states index, 'all', or unset (the default layer)."""
    if value is None:
        return None
    text = value.strip().lower()
    if text == "all":
        return "all"
    try:
        return int(text)
    except ValueError:
        raise UsageError(f"--layer must be a layer number or 'all', not '{value}'") from None

