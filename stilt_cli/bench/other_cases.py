"""Cases 3-6: embedding extraction, the tokenized cache, margin mining, and DDP scaling."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from stilt_cli.bench.common import interleaved
from stilt_cli.bench.workload import xnli_pairs


def _small_checkpoint(work: Path) -> Path:
    from stilt_cli.core.encoders.pretrain import PretrainConfig, run

    out = work / "tiny-xlmr"
    run(PretrainConfig(source="tiny:xlmr", output=out, if_exists="skip"))
    return out


def extraction(model_kind: str, n: int = 2000, repeats: int = 3) -> dict[str, Any]:
    """Length-sorted dynamic batching (stilt) vs naive batches padded to 128 in file order."""
    import torch

    from stilt_cli.core.retrieval import embed_cache, encoder, extract

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        from stilt_cli.bench.workload import bench_model, config_sizes
        from stilt_cli.core.encoders.load import Encoder

        model, tokenizer, described = bench_model(model_kind, work)
        model.eval()
        hidden, layers, _ = config_sizes(model)
        facts = {"num_layers": layers, "hidden_size": hidden, "retrieval_layer": layers, "family": "xlmr"}
        embedder = encoder.Embedder(Encoder(model=model, tokenizer=tokenizer, facts=facts, name=model_kind))
        pairs, origin = xnli_pairs(n)
        texts = [p["text_a"] for p in pairs]
        layer = embedder.default_layer
        spec = extract.EmbedSpec(layers=(layer,), max_length=128, batch_tokens=32 * 128)
        encoder, tokenizer = embedder.encoder.model, embedder.encoder.tokenizer

        def stilt() -> None:
            embed_cache.embed(embedder, texts, spec, cache=False)

        def naive() -> None:
            with torch.inference_mode():
                for start in range(0, len(texts), 32):
                    batch = tokenizer(texts[start:start + 32], padding="max_length", truncation=True, max_length=128,
                                      return_tensors="pt")
                    out = encoder(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"],
                                  output_hidden_states=True)
                    hidden = out.hidden_states[layer]
                    mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                    _ = (hidden * mask).sum(1) / mask.sum(1)

        timings = interleaved({"stilt": stilt, "naive": naive}, repeats=repeats)
    return {"model": described, "sentences": n, "data": origin, "layer": layer,
            "stilt_sentences_per_s": n / timings["stilt"].median, "naive_sentences_per_s": n / timings["naive"].median,
            "speedup": timings["naive"].median / timings["stilt"].median}


def tokenized_cache(n: int = 4000) -> dict[str, Any]:
    """First vs second featurization of the same split (tokenize + store, then a cache hit)."""
    from stilt_cli.core.data import cache, features
    from stilt_cli.core.encoders.load import tokenizer_from_dir

    with tempfile.TemporaryDirectory() as tmp:
        os.environ["STILT_CACHE"] = str(Path(tmp) / "cache")
        tokenizer = tokenizer_from_dir(_small_checkpoint(Path(tmp)) / "encoder")
        examples, origin = xnli_pairs(n)

        def once() -> float:
            start = time.perf_counter()
            features.featurize(examples, tokenizer, task="xnli", head_type="classification", split="bench",
                               max_length=128, labels=("entailment", "neutral", "contradiction"))
            return time.perf_counter() - start

        first = once()
        second = [once() for _ in range(5)]
        hits = cache.STATS.get("hits") if isinstance(cache.STATS, dict) else getattr(cache.STATS, "hits", None)
    os.environ.pop("STILT_CACHE", None)
    return {"examples": n, "data": origin, "first_s": first, "second_s": float(np.median(second)),
            "speedup": first / float(np.median(second)), "cache_hits": hits}


def _mining_child(n: int, dim: int, mode: str) -> None:
    """Runs in a fresh process, so its peak RSS is its own; prints seconds and peak MiB."""
    import torch

    from stilt_cli.core.retrieval import mining

    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, dim), dtype=np.float32).astype(np.float16)
    y = rng.standard_normal((n, dim), dtype=np.float32).astype(np.float16)
    _reset_peak_rss()  # so the peak below is this operation's, not the set-up's
    start = time.perf_counter()
    if mode == "stilt":
        mining.knn_both(x, y, device="cpu")
    elif mode == "faiss":
        mining.knn_faiss(x, y)
    else:  # one dense GEMM of the same shape, float32: the limit
        a, b = torch.from_numpy(x.astype(np.float32)), torch.from_numpy(y.astype(np.float32))
        for s in range(0, n, 4096):
            a[s:s + 4096] @ b.T
    seconds = time.perf_counter() - start
    print(f"{seconds} {_peak_rss_mib()}")


def _reset_peak_rss() -> None:
    """Linux: writing 5 to clear_refs resets the process's peak resident set size (VmHWM)."""
    try:
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")
    except OSError:
        pass


def _peak_rss_mib() -> float:
    try:
        for line in open("/proc/self/status", encoding="ascii"):
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def margin_mining(n: int = 20000, dim: int = 768, repeats: int = 3) -> dict[str, Any]:
    def child(mode: str) -> tuple[float, float]:
        code = f"from stilt_cli.bench.other_cases import _mining_child; _mining_child({n}, {dim}, '{mode}')"
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
        seconds, peak = out.split()[-2:]
        return float(seconds), float(peak)

    results: dict[str, list[tuple[float, float]]] = {"gemm": [], "stilt": [], "faiss": []}
    for _ in range(repeats):
        for mode in results:
            results[mode].append(child(mode))
    med = {m: float(np.median([s for s, _ in v])) for m, v in results.items()}
    peak = {m: float(max(p for _, p in v)) for m, v in results.items()}
    return {"n": n, "dim": dim, "storage": "float16", "gemm_s": med["gemm"], "stilt_s": med["stilt"],
            "faiss_two_searches_s": med["faiss"], "stilt_over_gemm": med["stilt"] / med["gemm"],
            "faiss_over_gemm": med["faiss"] / med["gemm"], "peak_mib": {m: round(v) for m, v in peak.items()},
            "peak_note": "peak resident memory of the operation alone (VmHWM reset before it); inputs are two "
                         f"{n} x {dim} float16 arrays ({2 * n * dim * 2 / 2**20:.0f} MiB)"}


def _ddp_child(steps: int, batch: int) -> None:
    """One process of the DDP case (torchrun sets RANK/WORLD_SIZE); rank 0 prints samples/s."""
    import torch

    torch.set_num_threads(1)
    from stilt_cli.bench.train_bench import LABELS, _fresh_model, recorded_features
    from stilt_cli.core.device import choose
    from stilt_cli.core.encoders import tiny
    from stilt_cli.core.model import heads
    from stilt_cli.core.tasks import get
    from stilt_cli.core.training import config, loop
    from stilt_cli.core.training.distributed import from_env, shutdown

    dist = from_env()
    sizes = {"hidden": 256, "layers": 4, "heads": 4, "ffn": 1024, "vocab_size": 4000}
    encoder, tokenizer, _f, _m = tiny.build("xlmr", seed=0, sizes=sizes)
    features, _ = recorded_features(2000, encoder.config.vocab_size)
    spec = heads.HeadSpec(name="xnli", type="classification", task="xnli", labels=list(LABELS), hidden_size=256,
                          pooling="cls", dropout=0.1)
    model = _fresh_model(encoder, spec)
    cfg = config.resolve({"max_steps": steps, "batch_size": batch, "eval_every": 0, "lr": 2e-5}, [get("xnli")])
    task = loop.TrainTask(name="xnli", task="xnli", head_type="classification", features=features, batch_size=batch,
                           epochs=1)
    with tempfile.TemporaryDirectory() as tmp:
        runtime = loop.Runtime(device=choose("cpu"), dist=dist, state_dir=Path(tmp), config_key="bench",
                                pad_id=tokenizer.pad_token_id, resumable=False)
        dist.barrier()
        start = time.perf_counter()
        loop.train(model, [task], cfg, runtime)
        dist.barrier()
        seconds = time.perf_counter() - start
    if dist.is_main:
        print(f"RESULT {steps * batch / seconds}")
    shutdown(dist)


def ddp_scaling(steps: int = 20, batch: int = 32, repeats: int = 2) -> dict[str, Any]:
    env = dict(os.environ, OMP_NUM_THREADS="1", STILT_QUIET="1", STILT_DEVICE="cpu")
    code = f"from stilt_cli.bench.other_cases import _ddp_child; _ddp_child({steps}, {batch})"

    def launch(procs: int) -> float:
        with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as script:
            script.write(code + "\n")
        cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={procs}", script.name]
        out = subprocess.run(cmd, capture_output=True, text=True, env=env, check=True).stdout
        os.unlink(script.name)
        return _result(out)

    def independent() -> float:
        """The machine's own ceiling: two single-process runs side by side, no communication at all."""
        children = [subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, env=env)
                    for _ in range(2)]
        return sum(_result(child.communicate()[0]) for child in children)

    one, two, apart = [], [], []
    for _ in range(repeats):
        one.append(launch(1))
        two.append(launch(2))
        apart.append(independent())
    ceiling = float(np.median(apart) / np.median(one))
    return {"steps": steps, "global_batch": batch, "one_process_samples_per_s": float(np.median(one)),
            "two_processes_samples_per_s": float(np.median(two)), "speedup": float(np.median(two) / np.median(one)),
            "two_independent_processes_samples_per_s": float(np.median(apart)), "machine_ceiling": ceiling,
            "model": "XLM-R-shaped, 4 layers, hidden 256, vocab 4k (no giant embedding matrix)",
            "note": "machine_ceiling: two unconnected 1-thread training runs side by side vs one alone, the "
                    "most any 2-process scheme can reach here"}


def _result(stdout: str) -> float:
    return float(next(line.split()[1] for line in stdout.splitlines() if line.startswith("RESULT")))
