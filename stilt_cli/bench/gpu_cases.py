"""The cases of `make gpu-check` (see `gpu_check.py`): each takes the run's context and returns table rows.
Sizes are the real ones on CUDA and toy ones in CPU mode (`ctx.toy`); the code path is the same."""

from __future__ import annotations

import json
import math
import os
import random
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from stilt_cli.bench.gpu_common import Context, free, large_config, peak_memory, row

# tiny model, 40 + 40 steps on a task it learns (fp32 reaches 0.67: entailment and contradiction are
# visible, neutral is not): bf16/fp16 training and evaluation may flip a few near-tied predictions against
# fp32 (bf16 keeps 8 significant bits), i.e. a few of the 60 test examples per language; 0.1 still catches a
# broken path (a model that learnt nothing sits at 1/3, and the reference must reach LEARNT)
ACCURACY_TOLERANCE = 0.10
LEARNT = 0.5
WORDS = "cat dog house tree river sun moon car book water light green small big old new red blue bird fish".split()


# ---- chain ----------------------------------------------------------------------------------------

def _pairs(n: int, seed: int, lang: str) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        premise = " ".join(rng.choice(WORDS) for _ in range(rng.randint(2, 4)))
        label = ("entailment", "neutral", "contradiction")[i % 3]
        other = " ".join(rng.choice(WORDS) for _ in range(rng.randint(2, 4)))
        hypothesis = {"entailment": premise, "contradiction": "not " + premise}.get(label, other)
        rows.append({"id": f"{lang}-{seed}-{i}", "lang": lang, "text_a": premise, "text_b": hypothesis, "label": label})
    return rows


def _write(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def _chain_data(work: Path) -> dict[str, Path]:
    rng = random.Random(7)
    sentences = [" ".join(rng.choice(WORDS) for _ in range(rng.randint(4, 8))) for _ in range(40)]
    parallel = [{"id": f"de:{i}", "lang": "de", "side": "src", "text": t} for i, t in enumerate(sentences)]
    parallel += [{"id": f"en:{i}", "lang": "de", "side": "tgt", "text": t} for i, t in enumerate(sentences)]
    parallel += [{"lang": "de", "link": [f"de:{i}", f"en:{i}"]} for i in range(len(sentences))]
    return {"train": _write(work / "train.jsonl", _pairs(96, 0, "en")),
            "test": _write(work / "test.jsonl", _pairs(60, 1, "en") + _pairs(60, 2, "de")),
            "parallel": _write(work / "parallel.jsonl", parallel)}


@contextmanager
def _stilt_device(where: str):
    before = os.environ.get("STILT_DEVICE")
    os.environ["STILT_DEVICE"] = where
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("STILT_DEVICE", None)
        else:
            os.environ["STILT_DEVICE"] = before


def _cli(*args: Any) -> tuple[int, str, str]:
    from typer.testing import CliRunner

    from stilt_cli.cli import app

    result = CliRunner().invoke(app, [str(a) for a in args])
    return result.exit_code, result.stdout, result.stderr


def _records(stdout: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stdout.splitlines() if line.strip()]


def _chain_run(work: Path, base: Path, data: dict[str, Path], where: str, precision: str) -> dict[str, Any]:
    from safetensors import safe_open

    train = ("--max-steps", "40", "--batch-size", "16", "--max-length", "32", "--lr", "2e-3", "--eval-every", "0",
             "--device", where, "--precision", precision, "--quiet")
    inter, target = work / "inter", work / "target"
    out: dict[str, Any] = {"exit": {}}
    with _stilt_device(where):
        out["exit"]["intermediate"] = _cli("intermediate", base, "--task", "mnli", "--data", f"mnli={data['train']}",
                                           *train, "-o", inter)
        out["exit"]["target"] = _cli("target", inter, "--task", "xnli", "--data", data["train"], *train, "-o", target)
        out["exit"]["evaluate"] = _cli("evaluate", target, "--task", "xnli", "--data", data["test"], "--device", where,
                                       "--precision", precision, "--quiet")
        out["exit"]["retrieve"] = _cli("retrieve", target, "--task", "tatoeba", "--data", data["parallel"], "--quiet")
    failed = {k: v[2].strip().splitlines()[-1:] for k, v in out["exit"].items() if v[0] != 0}
    out["failed"] = failed
    if failed:
        return out
    out["accuracy"] = {r["lang"]: r["value"] for r in _records(out["exit"]["evaluate"][1]) if r["metric"] == "accuracy"}
    out["retrieval"] = [r["value"] for r in _records(out["exit"]["retrieve"][1])]
    losses = [json.loads(line).get("loss") for ckpt in (inter, target)
              for line in (ckpt / "train_log.jsonl").read_text().splitlines() if line.strip()]
    out["finite_losses"] = bool(losses) and all(isinstance(v, float) and math.isfinite(v) for v in losses)
    out["amp"] = json.loads((target / "stilt.json").read_text())["lineage"][-1]["runtime"]["amp"]
    with safe_open(str(target / "encoder" / "model.safetensors"), "pt") as handle:
        out["dtypes"] = sorted({str(handle.get_slice(k).get_dtype()) for k in handle.keys()})
    return out


def chain(ctx: Context) -> list[dict[str, Any]]:
    data = _chain_data(ctx.work)
    base = ctx.work / "base"
    code, _, err = _cli("pretrain-load", "tiny:xlmr", "-o", base, "--quiet")
    if code != 0:
        return [row("chain", "pretrain-load tiny:xlmr", code, False, err.strip()[-200:])]
    runs = {"fp32 on CPU (reference)": ("cpu", "fp32"), f"bf16 on {ctx.device}": (ctx.device, "bf16"),
            f"fp16 on {ctx.device}": (ctx.device, "fp16")}
    done = {name: _chain_run(ctx.work / precision, base, data, where, precision)
            for name, (where, precision) in runs.items()}
    reference = done["fp32 on CPU (reference)"]
    rows = []
    for name, result in done.items():
        if result["failed"]:
            rows.append(row("chain", name, "failed", False, json.dumps(result["failed"])[:300]))
            continue
        accuracy = result["accuracy"]
        gap = max(abs(accuracy[lang] - reference.get("accuracy", {}).get(lang, math.nan)) for lang in accuracy)
        expected = {"fp32": None, "bf16": "bfloat16", "fp16": "float16"}[name.split()[0]]
        ok = result["amp"] == expected and result["finite_losses"] and result["dtypes"] == ["F32"] \
            and gap <= ACCURACY_TOLERANCE and min(accuracy.values()) >= LEARNT
        rows.append(row("chain", f"{name}: XNLI accuracy en/de",
                        "/".join(f"{accuracy[k]:.3f}" for k in sorted(accuracy)),
                        ok, f"trained with amp {result['amp']}; |Δ| vs fp32 CPU {gap:.3f} (tolerance "
                            f"{ACCURACY_TOLERANCE}); losses finite "
                            f"{result['finite_losses']}; checkpoint {','.join(result['dtypes'])}; "
                            f"tatoeba accuracy {'/'.join(f'{v:.2f}' for v in result['retrieval'])}"))
    return rows


# ---- large encoder --------------------------------------------------------------------------------

def large_encoder(ctx: Context) -> list[dict[str, Any]]:
    import torch
    from transformers import AutoModel

    from stilt_cli.bench import train_bench, trainer_baseline
    from stilt_cli.bench.common import gemm_flops, transformer_train_flops
    from stilt_cli.core.device import choose
    from stilt_cli.core.model import heads

    config = large_config(ctx.toy)
    steps, batch = (6, 8) if ctx.toy else (30, 32)
    choice = choose(ctx.device, "bf16")
    features, source = train_bench.recorded_features(2000 if ctx.toy else 8000, config.vocab_size)
    spec = heads.HeadSpec(name="xnli", type="classification", task="xnli", labels=list(train_bench.LABELS),
                          hidden_size=config.hidden_size, pooling="cls", dropout=0.1)

    def fresh():
        torch.manual_seed(0)
        return heads.Model(AutoModel.from_config(config, add_pooling_layer=False), {"xnli": spec},
                           {"xnli": heads.build_head(spec)}).to(choice.torch_device())

    seconds = {}
    model = fresh()
    train_bench._stilt_loop(model, features, 2, batch, None, ctx.work / "warm", choice)  # kernels, allocator
    seconds["stilt"] = train_bench._stilt_loop(model, features, steps, batch, None, ctx.work / "s", choice)
    del model
    model = fresh()
    train_bench._padded_loop(model, features, 2, batch, 1, choice=choice)
    seconds["pad128"] = train_bench._padded_loop(model, features, steps, batch, 1, choice=choice)
    del model
    peer = trainer_baseline.classifier_from(config, len(train_bench.LABELS)).to(choice.torch_device())
    seconds["trainer"] = trainer_baseline.train_seconds(peer, features, steps, batch, 1, device=ctx.device,
                                                        bf16=choice.amp_dtype == "bfloat16")
    del peer
    free(ctx)
    lengths = features.lengths()
    useful = transformer_train_flops([int(round(lengths.mean()))], config.hidden_size, config.num_hidden_layers,
                                     config.intermediate_size) * steps * batch
    m = batch * int(round(lengths.mean()))
    gemm = gemm_flops(m, config.intermediate_size, config.hidden_size,
                      dtype="bfloat16" if ctx.device == "cuda" else "float32", device=ctx.device)
    shape = f"{config.num_hidden_layers} x {config.hidden_size}, vocab {config.vocab_size}"
    rows = [row("large", f"{name}: samples/s", round(steps * batch / s, 1), math.isfinite(s),
                f"utilisation {useful / s / gemm:.2f} of {gemm / 1e12:.1f} TFLOP/s GEMM; {shape}; {source}")
            for name, s in seconds.items()]
    rows.append(row("large", "stilt vs pad-to-128 / vs Trainer", f"{seconds['pad128'] / seconds['stilt']:.2f}x / "
                    f"{seconds['trainer'] / seconds['stilt']:.2f}x", True, "ratios of seconds for the same steps"))
    rows.append(peak_memory(ctx, fresh, choice, batch, 256 if not ctx.toy else 64))
    return rows


# ---- retrieval ------------------------------------------------------------------------------------

def retrieval(ctx: Context) -> list[dict[str, Any]]:
    import torch

    from stilt_cli.bench.common import measure
    from stilt_cli.core import device
    from stilt_cli.core.retrieval import mining, search

    n, dim = (2000, 64) if ctx.toy else (200_000, 768)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, dim), dtype=np.float32).astype(np.float16)
    y = (x.astype(np.float32) + 0.5 * rng.standard_normal((n, dim), dtype=np.float32)).astype(np.float16)
    probe = slice(0, 256)
    on_cpu = search.search(x[probe], y, k=1, backend="torch")  # with STILT_DEVICE=cpu below
    rows = []
    with _stilt_device(ctx.device):
        choice = device.choose()
        a, b = (torch.from_numpy(x.astype(np.float32)).to(choice.torch_device()),
                torch.from_numpy(y.astype(np.float32)).to(choice.torch_device()))

        def gemm() -> None:
            for s in range(0, n, 16384):
                a[s:s + 16384] @ b.T
            if choice.is_cuda:
                torch.cuda.synchronize()

        gemm_s = measure(gemm, repeats=3).median
        a = b = None  # free the device memory for the searches
        backends = ["torch"] + (["faiss-gpu" if ctx.device == "cuda" else "faiss-cpu"]
                                if device.faiss_flavour() in ("gpu", "cpu")
                                and (ctx.device == "cpu" or device.faiss_flavour() == "gpu") else [])
        for backend in backends:
            start = time.perf_counter()
            scores, top, used = search.search(x, y, k=1, backend=backend)
            seconds = time.perf_counter() - start
            same = float(np.mean(top[probe, 0] == on_cpu[1][:, 0]))
            rows.append(row("retrieval", f"exact search {n}x{n}x{dim} [{used}] / one GEMM", round(seconds / gemm_s, 2),
                            same == 1.0, f"{seconds:.2f} s vs GEMM {gemm_s:.2f} s; top-1 equal to CPU on "
                                          f"{same:.1%} of {probe.stop} probed queries"))
        start = time.perf_counter()
        knn = mining.knn_both(x, y, device=choice.device)
        seconds = time.perf_counter() - start
        cpu_knn = mining.knn_both(x[probe], y, device="cpu")
        same = float(np.mean(knn.x2y_ind[probe] == cpu_knn.x2y_ind))
        rows.append(row("retrieval", f"margin mining k-NN both ways {n}x{n}x{dim} / one GEMM",
                        round(seconds / gemm_s, 2), same >= 0.999,
                        f"{seconds:.2f} s vs GEMM {gemm_s:.2f} s; x→y neighbours equal to CPU: {same:.2%}"))
    return rows


# ---- DDP ------------------------------------------------------------------------------------------

def ddp(ctx: Context) -> list[dict[str, Any]]:
    import socket

    import torch.distributed as dist

    from stilt_cli.bench import train_bench
    from stilt_cli.core.device import choose
    from stilt_cli.core.encoders import tiny
    from stilt_cli.core.model import heads
    from stilt_cli.core.tasks import get
    from stilt_cli.core.training import config, loop
    from stilt_cli.core.training.distributed import Dist

    choice = choose(ctx.device)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    start = time.perf_counter()
    dist.init_process_group(choice.ddp_backend, init_method=f"tcp://127.0.0.1:{port}", rank=0, world_size=1)
    init_s = time.perf_counter() - start
    try:
        encoder, tokenizer, _f, _m = tiny.build("xlmr", seed=0)
        spec = heads.HeadSpec(name="xnli", type="classification", task="xnli", labels=list(train_bench.LABELS),
                              hidden_size=encoder.config.hidden_size, pooling="cls", dropout=0.0)
        model = heads.Model(encoder, {"xnli": spec}, {"xnli": heads.build_head(spec)})
        features, _ = train_bench.recorded_features(64, encoder.config.vocab_size)
        cfg = config.resolve({"max_steps": 1, "batch_size": 8, "eval_every": 0}, [get("xnli")])
        task = loop.TrainTask(name="xnli", task="xnli", head_type="classification", features=features, batch_size=8,
                              epochs=1)
        log: list[dict[str, Any]] = []
        tracker = type("Log", (), {"start": lambda self, step: None, "log": lambda self, r: log.append(r)})()
        runtime = loop.Runtime(device=choice, dist=Dist(rank=0, world=1, active=True), state_dir=ctx.work / "state",
                               config_key="gpu-check", pad_id=tokenizer.pad_token_id, resumable=False, tracker=tracker)
        loop.train(model, [task], cfg, runtime)
        backend = dist.get_backend()
    finally:
        dist.destroy_process_group()
    loss = log[-1]["loss"] if log else math.nan
    return [row("ddp", f"{backend} init + one DDP step (world size 1)", round(loss, 4), math.isfinite(loss),
                f"init {init_s:.2f} s; loss of the step; {choice.describe()}")]
