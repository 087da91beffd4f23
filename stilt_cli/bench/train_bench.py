"""Cases 1 and 2: training throughput of stilt's loop vs the pad-to-128 loop of the XTREME scripts and vs
transformers' `Trainer` (dynamic padding, length-grouped sampling: `trainer_baseline.py`), and useful-token
utilisation (transformer FLOPs on non-padding tokens per second ÷ measured GEMM FLOP/s). The loops take a
device choice, so `make gpu-check` runs the same three on CUDA in bf16."""

from __future__ import annotations

import copy
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from stilt_cli.bench.common import gemm_flops, transformer_train_flops
from stilt_cli.bench.workload import bench_model, config_sizes, xnli_pairs

LABELS = ("entailment", "neutral", "contradiction")


def _setup(model_kind: str, n: int, work: Path):
    from stilt_cli.core.data import features as feats
    from stilt_cli.core.model import heads

    encoder, tokenizer, described = bench_model(model_kind, work)
    if model_kind == "e5":
        examples, source = xnli_pairs(n)
        features = feats.featurize(examples, tokenizer, task="xnli", head_type="classification", split="bench",
                                   max_length=128, labels=LABELS)
    else:  # the small model's own tokenizer is not XLM-R's: use XLM-R's token counts, random token ids
        features, source = recorded_features(n, encoder.config.vocab_size)
    spec = heads.HeadSpec(name="xnli", type="classification", task="xnli", labels=list(LABELS),
                          hidden_size=config_sizes(encoder)[0], pooling=heads.pooling_for("xlmr"), dropout=0.1)
    return encoder, tokenizer, features, spec, described, source


def recorded_features(n: int, vocab: int, seed: int = 0):
    """Pair features with the token counts of real English XNLI pairs (e5/XLM-R tokenizer), random ids."""
    import json

    from stilt_cli.bench.workload import LENGTHS_FILE
    from stilt_cli.core.data.features import Features

    rng = np.random.default_rng(seed)
    lengths = np.asarray(json.loads(LENGTHS_FILE.read_text())["lengths"])
    drawn = lengths[rng.integers(len(lengths), size=n)]
    ids = [[0, *rng.integers(5, vocab, size=int(k) - 2).tolist(), 2] for k in drawn]
    columns = {"input_ids": ids, "label": rng.integers(0, len(LABELS), size=n).tolist()}
    return (Features(task="xnli", head_type="classification", columns=columns, rows=n, cached=False),
            f"token counts of the English XNLI dev pairs ({LENGTHS_FILE.name}), random token ids")


def _fresh_model(encoder: Any, spec: Any, seed: int = 0, freeze_embeddings: bool = False):
    import torch

    from stilt_cli.core.model import heads

    torch.manual_seed(seed)
    model = heads.Model(copy.deepcopy(encoder), {spec.name: spec}, {spec.name: heads.build_head(spec)})
    if freeze_embeddings:  # as `--freeze-embeddings` does, in both loops
        model.encoder.get_input_embeddings().weight.requires_grad_(False)
    return model


def _stilt_loop(model: Any, features: Any, steps: int, batch: int, tokenizer: Any,
                work: Path, choice: Any = None) -> float:
    """The real `core/train.train`: length-grouped batches, dynamic padding, fused AdamW."""
    from stilt_cli.core.device import choose
    from stilt_cli.core.tasks import get
    from stilt_cli.core.training import config, loop
    from stilt_cli.core.training.distributed import Dist

    cfg = config.resolve({"max_steps": steps, "batch_size": batch, "eval_every": 0, "max_length": 128, "lr": 2e-5},
                         [get("xnli")])
    task = loop.TrainTask(name="xnli", task="xnli", head_type="classification", features=features, batch_size=batch,
                           epochs=1)
    runtime = loop.Runtime(device=choice or choose("cpu"), dist=Dist(), state_dir=work / "state", config_key="bench",
                            pad_id=0 if tokenizer is None else tokenizer.pad_token_id, resumable=False)
    start = time.perf_counter()
    loop.train(model, [task], cfg, runtime)
    _sync(runtime.device.device)
    return time.perf_counter() - start


def _sync(where: str) -> None:
    if where.startswith("cuda"):
        import torch

        torch.cuda.synchronize()


def _padded_loop(model: Any, features: Any, steps: int, batch: int, pad_id: int, width: int = 128,
                 choice: Any = None) -> float:
    """The baseline: random batches, every example padded to `width` tokens, the same AdamW settings."""
    import torch

    from stilt_cli.core.device import choose
    from stilt_cli.core.model import heads

    choice = choice or choose("cpu")
    model.to(choice.torch_device())
    rng = np.random.default_rng(0)
    ids = features.columns["input_ids"]
    labels = np.asarray(features.columns["label"])
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=2e-5,
                                  eps=1e-8, weight_decay=0.01)
    model.train()
    start = time.perf_counter()
    for _ in range(steps):
        rows = rng.choice(features.rows, size=batch, replace=False)
        input_ids = torch.full((batch, width), pad_id, dtype=torch.long)
        mask = torch.zeros((batch, width), dtype=torch.long)
        for i, r in enumerate(rows):
            row = list(ids[r])[:width]
            input_ids[i, : len(row)] = torch.tensor(row)
            mask[i, : len(row)] = 1
        data = {"input_ids": input_ids, "attention_mask": mask, "labels": torch.tensor(labels[rows], dtype=torch.long)}
        data = {k: v.to(choice.torch_device()) for k, v in data.items()}
        with choice.autocast():
            loss = heads.loss_sum("classification", model("xnli", data), data) / batch
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
    _sync(choice.device)
    return time.perf_counter() - start


def _held_out_loss(model: Any, features: Any, pad_id: int, rows: np.ndarray) -> float:
    import torch

    from stilt_cli.core.model import heads
    from stilt_cli.core.training import batching

    model.eval()
    with torch.inference_mode():
        batch = batching.collate(features, rows, pad_id)
        value = float(heads.loss_sum("classification", model("xnli", batch), batch)) / len(rows)
    model.train()
    return value


def run(model_kind: str = "small", steps: int = 30, batch: int = 32, repeats: int = 3,
        freeze_embeddings: bool = False, trainer: bool = False) -> dict[str, Any]:
    import torch

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        encoder, tokenizer, features, spec, described, source = _setup(model_kind, 4000, work)
        pad_id = tokenizer.pad_token_id
        held = np.arange(features.rows - 256, features.rows)
        from stilt_cli.bench import trainer_baseline

        stilt_s, padded_s, trainer_s, losses = [], [], [], {}
        for rep in range(repeats):  # alternate the two, so machine noise hits both alike
            model = _fresh_model(encoder, spec, freeze_embeddings=freeze_embeddings)
            stilt_s.append(_stilt_loop(model, features, steps, batch, tokenizer, work / f"s{rep}"))
            losses.setdefault("stilt", _held_out_loss(model, features, pad_id, held))
            model = _fresh_model(encoder, spec, freeze_embeddings=freeze_embeddings)
            padded_s.append(_padded_loop(model, features, steps, batch, pad_id))
            losses.setdefault("pad128", _held_out_loss(model, features, pad_id, held))
            if trainer:
                peer = trainer_baseline.classifier_from(encoder.config, len(LABELS))
                trainer_s.append(trainer_baseline.train_seconds(peer, features, steps, batch, pad_id))
        # useful-token utilisation of stilt's loop: FLOPs on the tokens it actually trained on
        lengths = features.lengths()
        from stilt_cli.core.training.batching import length_grouped_batches

        padded = float(np.mean([lengths[b].max() for b in length_grouped_batches(lengths, batch, 0)]))
        hidden, layers, ffn = config_sizes(encoder)
        mean_len = float(lengths.mean())
        flops_per_sample = transformer_train_flops([int(round(mean_len))], hidden, layers, ffn)
        samples = steps * batch
        stilt_med, padded_med = float(np.median(stilt_s)), float(np.median(padded_s))
        gemm = gemm_flops(batch * int(round(mean_len)), ffn, hidden, repeats=9)
        achieved = flops_per_sample * samples / stilt_med
    return {
        "model": described + (", word embeddings frozen" if freeze_embeddings else ""), "data": source, "steps": steps,
        "batch_size": batch, "repeats": repeats,
        "mean_tokens": round(mean_len, 1), "mean_padded_tokens_stilt": round(padded, 1),
        # the speed-up the linear layers allow at best: padded tokens of the baseline / of stilt's batches
        "token_ratio_bound": round(128 / padded, 2), "threads": torch.get_num_threads(),
        "stilt_samples_per_s": samples / stilt_med, "pad128_samples_per_s": samples / padded_med,
        "speedup": padded_med / stilt_med,
        **({"trainer_samples_per_s": samples / float(np.median(trainer_s)),
            "speedup_vs_trainer": float(np.median(trainer_s)) / stilt_med} if trainer_s else {}),
        "held_out_loss_after_steps": {k: round(v, 4) for k, v in losses.items()},
        "useful_tflops": achieved / 1e12, "gemm_tflops": gemm / 1e12, "utilisation": achieved / gemm,
        "note": "stilt's time includes its progress lines and fused AdamW over all parameters; the GEMM is "
                "(batch*mean_len) x hidden x ffn in float32 at the same thread count",
    }
