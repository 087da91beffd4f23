"""Encoders for embeddings: a stilt checkpoint, a model folder or hub id (hidden-state pooling,
`retrieval/extract.py`), or a sentence-transformers model with its own pooling; which layers a
`--layer` value names.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from stilt_cli.core.errors import DataError, UsageError
from stilt_cli.core.hashing import json_sha256
from stilt_cli.core.retrieval.extract import POOLINGS, EmbedSpec, compute_hidden


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

    @property
    def default_pooling(self) -> str:
        """The family's retrieval pooling (checkpoints record it; mean for all but LaBSE's CLS)."""
        from stilt_cli.core.encoders.families import get

        return str(self.encoder.facts.get("retrieval_pooling") or get(self.family).retrieval_pooling[0])

    def ref(self) -> dict[str, Any]:
        return self.encoder.ref()

    def revision(self) -> str | None:
        return (self.encoder.facts.get("source") or {}).get("revision")

    def seed(self) -> int | None:
        """The seed of the last training stage of a checkpoint (None for an untrained encoder): the seeds of
        one configuration's runs are told apart by it in result records, as evaluate's are."""
        checkpoint = self.encoder.checkpoint
        for entry in reversed(checkpoint.lineage() if checkpoint is not None else []):
            if entry.get("stage") in ("intermediate", "target"):
                return entry.get("seed")
        return None

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
        compute_hidden(self.encoder, texts, spec, out)


class SentenceModel:
    """A sentence-transformers model, embedding with its own pooling and normalisation."""

    def __init__(self, model: Any, source: str, facts: dict[str, Any]):
        self.model = model
        self.source = source
        self.facts = facts
        self.num_layers = None
        self.default_layer = None
        self.default_pooling = "model"
        self.family = "sentence-transformers"

    def ref(self) -> dict[str, Any]:
        return {"path": None, "name": Path(self.source).name or self.source,
                "source": self.facts, "manifest_sha256": None}

    def revision(self) -> str | None:
        return self.facts.get("revision")

    def seed(self) -> int | None:
        return None

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


def load(source: str, pooling: str | None = "mean", revision: str | None = None) -> Embedder | SentenceModel:
    """The encoder named by `source`: a stilt checkpoint, a model folder or hub id, or with
    pooling 'model' a sentence-transformers model (a folder with modules.json, or such a hub id).
    pooling None: the encoder's own default (`resolve_pooling`)."""
    if pooling is not None and pooling not in POOLINGS:
        raise UsageError(f"unknown --pooling '{pooling}'", f"use one of {', '.join(POOLINGS)}")
    if pooling == "model":
        return _load_sentence_model(source, revision)
    from stilt_cli.core.encoders.load import load as load_encoder

    embedder = Embedder(load_encoder(source, revision))
    if pooling == "cls" and not has_cls(embedder):
        raise UsageError(f"--pooling cls needs an encoder with a CLS token; {embedder.encoder.name} "
                         f"({embedder.family}) has none: its first vector is the first word's", "use --pooling mean")
    return embedder


def resolve_pooling(embedder: Embedder | SentenceModel, pooling: str | None,
                    protocol_pooling: str | None = None) -> str:
    """--pooling if given, else the protocol's (xtreme: mean), else the encoder family's default."""
    return pooling or protocol_pooling or embedder.default_pooling


def has_cls(embedder: Embedder) -> bool:
    """Whether the first token is a trained sequence summary: the family's fact (T5 encoders: no), and a
    tokenizer that puts a CLS token there."""
    from stilt_cli.core.encoders.families import get

    facts = embedder.encoder.facts
    known = facts.get("has_cls")
    family_has = bool(known) if known is not None else get(embedder.family, embedder.encoder.model.config).has_cls
    return family_has and embedder.encoder.tokenizer.cls_token is not None


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


def resolve_layers(embedder: Embedder | SentenceModel, layer: int | str | None,
                   default: int | None = None) -> tuple[int, ...]:
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


def dim_of(embedder: Any) -> int:
    if isinstance(embedder, SentenceModel):
        model = embedder.model
        getter = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        return int(getter())
    return int(embedder.encoder.hidden_size)


# ---- extraction ----------------------------------------------------------------------------------------


