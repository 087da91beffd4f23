"""The word-embedding gradient on CPU without a fresh vocabulary-sized tensor every step.

The dense gradient of a 250k-piece embedding (XLM-R, mBERT, e5: 96–256 M values) is allocated and
zero-filled anew on every backward pass. On CUDA the caching allocator makes that cheap; on CPU each
step pays for the page faults of ~400 MB–1 GB of fresh memory, measured at ~20 % of an e5-small step
(`make bench`). Here the embedding emits a sparse gradient (only the rows of the batch), which is
scattered into one persistent dense buffer before clipping and the optimizer step; only the rows
written by the previous step are zeroed. AdamW, weight decay and clipping still see the full dense
gradient, so the update is the dense one (duplicate rows are summed in another order: float
rounding differs, the maths does not).

Used only where it is safe: CPU, one process (DDP reduces dense buckets), a trainable `nn.Embedding`
whose weight is not tied to another module (an MLM decoder would add a dense gradient to it).
"""

from __future__ import annotations

from typing import Any

import torch

MIN_VALUES = 1 << 22  # below ~4 M values the dense path is cheap


class SparseEmbeddingGrad:
    def __init__(self, model: torch.nn.Module, encoder: Any, choice: Any, distributed: bool) -> None:
        """`choice`: the run's `core.device.DeviceChoice` (its `sparse_embedding_grad` says CPU or not)."""
        self.embedding: torch.nn.Embedding | None = None
        self.buffer: torch.Tensor | None = None
        self.last_rows: torch.Tensor | None = None
        emb = encoder.get_input_embeddings() if hasattr(encoder, "get_input_embeddings") else None
        if not choice.sparse_embedding_grad or distributed or not isinstance(emb, torch.nn.Embedding):
            return
        weight = emb.weight
        if not weight.requires_grad or weight.numel() < MIN_VALUES or emb.sparse or emb.max_norm is not None:
            return
        if any(m is not emb and getattr(m, "weight", None) is weight for m in model.modules()):
            return  # tied (e.g. to an MLM decoder)
        self.embedding = emb

    @property
    def active(self) -> bool:
        return self.embedding is not None

    def __enter__(self) -> SparseEmbeddingGrad:
        if self.embedding is not None:
            self.embedding.sparse = True
        return self

    def __exit__(self, *exc: object) -> None:
        if self.embedding is not None:
            self.embedding.sparse = False
        self.buffer = self.last_rows = None

    def densify(self) -> None:
        """Replace the weight's sparse gradient by the persistent dense buffer holding the same values."""
        if self.embedding is None:
            return
        weight = self.embedding.weight
        grad = weight.grad
        if grad is None or not grad.is_sparse:
            return
        grad = grad.coalesce()
        rows, values = grad.indices()[0], grad.values()
        if self.buffer is None:
            self.buffer = torch.zeros_like(weight)
        elif self.last_rows is not None:
            self.buffer.index_fill_(0, self.last_rows, 0.0)
        self.buffer.index_copy_(0, rows, values.to(self.buffer.dtype))
        self.last_rows = rows
        weight.grad = self.buffer
