"""Task heads on top of one shared encoder, and the `Model` that routes a batch to its head.

Any encoder `pretrain-load` produces works: BERT / XLM-R / e5 via `AutoModel`, mT5 via
`MT5EncoderModel`. Heads are small modules of ours:

- `classification` (single sentence or pair) and `multiple-choice` (one score per choice) read one
  vector per sequence: the first token (`[CLS]` / `<s>`) for BERT and XLM-R, as XTREME does; the
  masked mean of all tokens for mT5, whose encoder has no CLS token and was never trained to put a
  summary there, and for multilingual-e5, which was trained to summarise by mean pooling. Then
  dense + tanh + linear, as RoBERTa's classification head (we load encoders without the pooler).
- `tagging`: a linear layer per token; only the first sub-token of each word carries a label.
- `qa`: start/end logits per token; the first position stands for "no answer" (SQuAD 2.0).
- `mlm`: the pretrained MLM head from the checkpoint's `mlm_head/` (`mlm_head.py`), for continued-MLM
  training; it scores the masked positions only, so a 250k-1M vocabulary costs logits for those alone.
- `dual-encoder` (ranking: LAReQA, Mewsli-X): queries and candidates go through the *same* encoder
  tower (XTREME's `BertForRetrieval`), each pooled as above, then dense + tanh (the pooler XTREME reads;
  ours starts fresh, since encoders load without theirs) and L2-normalised. Training scores every query
  against every candidate of its micro-batch, the similarities scaled by a learned factor that starts at
  100 as XTREME's `logit_scale`: cross-entropy with the query's own candidate as the answer (in-batch
  negatives).

Each head saves as safetensors + `head.json` (type, task, labels, sizes, pooling) through
`checkpoint.Writer.save_head`, and loads back through `Checkpoint.load_head_files`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from stilt_cli.core.encoders.families import canonical_pooling
from stilt_cli.core.errors import DataError
from stilt_cli.core.model.mlm_head import MLMHead, build_mlm_head, mlm_state_to_save  # noqa: F401 (the head API)

HEAD_VERSION = 1
IGNORE = -100  # label of positions without a loss (non-first sub-tokens, special tokens, unmasked)
NEG = -1e4  # logit of padded choices: large enough to vanish, small enough for fp16


@dataclass
class HeadSpec:
    """What a head is, as written to head.json."""

    name: str
    type: str  # classification | tagging | qa | multiple-choice | mlm
    task: str
    labels: list[str] = field(default_factory=list)
    hidden_size: int = 0
    pooling: str = "cls"  # cls | mean (encoders/families.py: POOLING)
    dropout: float = 0.1
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "type": self.type, "task": self.task, "labels": list(self.labels),
                "num_labels": len(self.labels), "hidden_size": self.hidden_size, "pooling": self.pooling,
                "dropout": self.dropout, "version": HEAD_VERSION, **self.extra}


def pooling_for(family: str) -> str:
    """How a sequence head reads its input: the first token ("cls"), or the mean where the family has no CLS
    token (the T5 families), was trained to summarise by the mean (multilingual-e5) or whose authors'
    classifier averages over tokens (EuroBERT)."""
    from stilt_cli.core.encoders.families import get

    return get(family).head_pooling


def encoder_dropout(config: Any) -> float:
    for name in ("hidden_dropout_prob", "dropout_rate"):
        value = getattr(config, name, None)
        if isinstance(value, float):
            return value
    return 0.1


def set_encoder_dropout(encoder: nn.Module, p: float) -> None:
    """Override every dropout probability of the encoder (e.g. 0 for exact equivalence tests)."""
    for module in encoder.modules():
        if isinstance(module, nn.Dropout):
            module.p = p
    for name in ("hidden_dropout_prob", "attention_probs_dropout_prob", "dropout_rate"):
        if hasattr(encoder.config, name):
            setattr(encoder.config, name, p)


def pool(hidden: torch.Tensor, mask: torch.Tensor, how: str) -> torch.Tensor:
    if how == "cls":
        return hidden[:, 0]
    weights = mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * weights).sum(1) / weights.sum(1).clamp(min=1.0)


class SequenceHead(nn.Module):
    """One vector per sequence -> `num_outputs` scores (classification; 1 for multiple choice)."""

    def __init__(self, hidden: int, num_outputs: int, dropout: float, pooling: str):
        super().__init__()
        self.pooling = pooling
        self.dropout = nn.Dropout(dropout)
        self.dense = nn.Linear(hidden, hidden)
        self.out = nn.Linear(hidden, num_outputs)

    def forward(self, hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        x = self.dropout(pool(hidden, mask, self.pooling))
        return self.out(self.dropout(torch.tanh(self.dense(x))))


class TokenHead(nn.Module):
    """Per-token scores: tag logits (tagging) or start/end logits (QA, 2 outputs)."""

    def __init__(self, hidden: int, num_outputs: int, dropout: float):
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(hidden, num_outputs)

    def forward(self, hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return self.out(self.dropout(hidden))


class DualEncoderHead(nn.Module):
    """Sequence -> unit vector (queries and candidates alike); `logits` = scaled in-batch similarities."""

    def __init__(self, hidden: int, pooling: str):
        super().__init__()
        self.pooling = pooling
        self.dense = nn.Linear(hidden, hidden)
        self.logit_scale = nn.Parameter(torch.tensor(100.0))

    def forward(self, hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return F.normalize(torch.tanh(self.dense(pool(hidden, mask, self.pooling))).float(), dim=-1)

    def logits(self, queries: torch.Tensor, candidates: torch.Tensor) -> torch.Tensor:
        return self.logit_scale * queries @ candidates.T


def _init(module: nn.Module, std: float = 0.02) -> None:
    for m in module.modules():
        if isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, std=std)
            nn.init.zeros_(m.bias)


def build_head(spec: HeadSpec) -> nn.Module:
    if spec.type == "classification":
        head = SequenceHead(spec.hidden_size, len(spec.labels), spec.dropout, spec.pooling)
    elif spec.type == "multiple-choice":
        head = SequenceHead(spec.hidden_size, 1, spec.dropout, spec.pooling)
    elif spec.type == "tagging":
        head = TokenHead(spec.hidden_size, len(spec.labels), spec.dropout)
    elif spec.type == "qa":
        head = TokenHead(spec.hidden_size, 2, spec.dropout)
    elif spec.type == "dual-encoder":
        head = DualEncoderHead(spec.hidden_size, spec.pooling)
    else:
        raise ValueError(f"no head type {spec.type!r}")
    _init(head)
    return head


class Model(nn.Module):
    """encoder + {name: head}. `forward(name, batch)` returns that head's logits."""

    def __init__(self, encoder: nn.Module, specs: dict[str, HeadSpec], heads: dict[str, nn.Module]):
        super().__init__()
        self.encoder = encoder
        self.specs = dict(specs)
        self.heads = nn.ModuleDict(heads)

    def encode(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        from stilt_cli.core.encoders.families import encoder_inputs

        # T5 and ModernBERT encoders take no token_type_ids; XLM-R's ignores them (one type): pass only where used
        return self.encoder(**encoder_inputs(self.encoder.config, batch)).last_hidden_state

    def embed(self, name: str, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """A dual-encoder head's unit vectors for a batch of single sequences (queries or candidates)."""
        return self.heads[name](self.encode(batch), batch["attention_mask"])

    def forward(self, name: str, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        spec, head = self.specs[name], self.heads[name]
        if spec.type == "dual-encoder":  # one tower for both sides: (B, B) similarities of every pair
            side = {k[len("cand_"):]: v for k, v in batch.items() if k.startswith("cand_")}
            return head.logits(self.embed(name, batch), self.embed(name, side))
        if spec.type == "mlm":  # the masked positions only, in order: (masked tokens, vocabulary)
            hidden = self.encode(batch)[batch["labels"] != IGNORE]
            return head(hidden).float()
        if spec.type == "multiple-choice":  # (B, C, L) -> (B*C, L) -> one score per choice
            b, c, length = batch["input_ids"].shape
            flat = {k: v.reshape(b * c, length) for k, v in batch.items() if v.dim() == 3}
            scores = head(self.encode(flat), flat["attention_mask"]).view(b, c)
            return scores.masked_fill(~batch["choice_mask"], NEG)
        return head(self.encode(batch), batch["attention_mask"]).float()  # losses in fp32 under autocast


def loss_items(head_type: str, batch: dict[str, torch.Tensor]) -> int:
    """How many items a batch's loss averages over (examples, or labelled tokens): known before the
    forward pass, so accumulation and DDP can normalise by the whole effective batch."""
    if head_type in ("tagging", "mlm"):
        return int((batch["labels"] != IGNORE).sum())
    return int(batch["input_ids"].shape[0])


def loss_sum(head_type: str, logits: torch.Tensor, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """Summed (not averaged) loss of a batch; the caller divides by the effective batch's items."""
    if head_type in ("classification", "multiple-choice"):
        return F.cross_entropy(logits, batch["labels"], reduction="sum")
    if head_type == "mlm":  # logits of the masked positions only (Model.forward)
        labels = batch["labels"]
        return F.cross_entropy(logits, labels[labels != IGNORE], reduction="sum")
    if head_type == "tagging":
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), batch["labels"].reshape(-1),
                               ignore_index=IGNORE, reduction="sum")
    if head_type == "dual-encoder":  # row i's own candidate is column i
        return F.cross_entropy(logits, torch.arange(len(logits), device=logits.device), reduction="sum")
    if head_type == "qa":
        start, end = logits.unbind(-1)
        start = start.masked_fill(batch["attention_mask"] == 0, NEG)
        end = end.masked_fill(batch["attention_mask"] == 0, NEG)
        return (F.cross_entropy(start, batch["start_positions"], reduction="sum")
                + F.cross_entropy(end, batch["end_positions"], reduction="sum")) / 2
    raise ValueError(f"no loss for head type {head_type!r}")


def check_compatible(saved: dict[str, Any], spec: HeadSpec, where: str) -> None:
    """A saved head must be of the task's type, sizes and labels (else: head/task mismatch)."""
    if saved.get("type") != spec.type:
        raise DataError(f"{where}: head '{spec.name}' is a {saved.get('type')} head, but task {spec.task} needs "
                        f"a {spec.type} head", "train a head for this task with `stilt target`")
    if saved.get("hidden_size") not in (None, spec.hidden_size):
        raise DataError(f"{where}: head '{spec.name}' was trained on hidden size {saved.get('hidden_size')}, "
                        f"this encoder has {spec.hidden_size}", "head and encoder come from different checkpoints")
    if spec.labels and list(saved.get("labels") or []) != list(spec.labels):
        raise DataError(f"{where}: head '{spec.name}' has labels {saved.get('labels')}, task {spec.task} has "
                        f"{list(spec.labels)}", "train a head for this task with `stilt target`")


def load_model(checkpoint: Any, encoder: nn.Module, name: str, expected: HeadSpec | None = None) -> Model:
    """Encoder + one saved head of a checkpoint, ready for prediction."""
    state, saved = checkpoint.load_head_files(name)
    spec = HeadSpec(name=name, type=saved["type"], task=saved.get("task", name), labels=list(saved.get("labels", [])),
                    hidden_size=int(saved.get("hidden_size", 0)),
                    pooling=canonical_pooling(saved.get("pooling", "cls")),
                    dropout=float(saved.get("dropout", 0.1)))
    if expected is not None:
        check_compatible(saved, expected, str(checkpoint.path))
    head = build_head(spec)
    try:
        head.load_state_dict(state)
    except RuntimeError as exc:
        raise DataError(f"head '{name}' in {checkpoint.path} does not fit: {str(exc).splitlines()[0]}") from None
    return Model(encoder, {name: spec}, {name: head})
