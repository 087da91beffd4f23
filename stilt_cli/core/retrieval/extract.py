"""Layer extraction: hidden states of any encoder, pooled into sentence vectors, one layer or every
layer in one forward pass.

Layers use Hugging Face `hidden_states` indexing: 0 = the embedding output, L = the last layer.
Pooling:
- `mean`: the average over every non-padding token, special tokens included — the protocol of
  X-STILTs (jiant) and of XTREME's retrieval scripts (`pool_skip_special_token` is off there);
- `cls`: the first token's vector (no meaning for mT5, which has no [CLS]);
- `model`: a sentence-transformers model's own pooling and normalisation (through the
  sentence-transformers package, `retrieval/encoder.py`), for one-off evaluations of such models; no layer choice.

Speed: the texts are tokenized once, sorted by length and cut into batches by a padded-token budget
(dynamic padding), run under `torch.inference_mode()` with bf16 autocast on CUDA (`device.choose()`);
when every requested layer is below the last one, the forward pass stops after the highest of them.
Results come back in the input order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from stilt_cli.core import console
from stilt_cli.core.errors import DataError, UsageError

POOLINGS = ("mean", "cls", "model")  # the heads' vocabulary (encoders/families.py: POOLING), and the model's own


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


def compute_hidden(encoder: Any, texts: Sequence[str], spec: EmbedSpec, out: np.ndarray) -> None:
    import torch

    from stilt_cli.core import device
    from stilt_cli.core.data import caps

    choice = device.choose()
    model = encoder.model.to(choice.torch_device())
    model.eval()
    tokenizer = encoder.tokenizer
    encoded = tokenizer(caps.texts(texts, spec.max_length), add_special_tokens=True, truncation=True,
                        max_length=spec.max_length, return_attention_mask=False,
                        return_token_type_ids=False)["input_ids"]
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
    current = (0, 0)  # rows x tokens of the batch being embedded, for an out-of-memory message
    try:
        with console.progress("embedding", total=len(batches), unit="batch") as advance, torch.inference_mode(), \
                choice.autocast():
            for batch in batches:
                width = int(lengths[batch[0]])
                current = (len(batch), width)
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
    except torch.OutOfMemoryError:
        current = (-current[0], current[1])  # reported below, once the failed batch's tensors are freed
    finally:
        for handle in handles:
            handle.remove()
    if current[0] < 0:
        choice.free_cached_memory()
        raise DataError(f"out of {'GPU' if choice.is_cuda else 'device'} memory embedding a batch of {-current[0]} "
                        f"texts x {current[1]} tokens (--batch-tokens {spec.batch_tokens}, --max-length "
                        f"{spec.max_length})", f"lower --batch-tokens (e.g. {max(1, spec.batch_tokens // 2)}) or "
                        "--max-length")


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
