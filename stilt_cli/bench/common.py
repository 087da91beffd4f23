"""Shared pieces of `make bench`: timing with medians, the machine's GEMM limit, FLOP counting, environment."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Timing:
    """Median (and spread) of repeated wall-clock measurements of one callable."""

    seconds: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    @property
    def spread(self) -> float:
        return (max(self.seconds) - min(self.seconds)) / self.median if self.seconds else 0.0


def measure(fn: Callable[[], Any], repeats: int = 5, warmup: int = 1) -> Timing:
    for _ in range(warmup):
        fn()
    timing = Timing()
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        timing.seconds.append(time.perf_counter() - start)
    return timing


def interleaved(fns: dict[str, Callable[[], Any]], repeats: int = 5, warmup: int = 1) -> dict[str, Timing]:
    """Time several cases round-robin, so that machine noise hits all of them alike."""
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    timings = {name: Timing() for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            timings[name].seconds.append(time.perf_counter() - start)
    return timings


def gemm_flops(m: int, n: int, k: int, dtype: str = "float32", repeats: int = 7, device: str = "cpu") -> float:
    """Measured dense GEMM throughput (FLOP/s) for an (m×k)·(k×n) product — the machine's limit for the
    matrix multiplications a transformer layer is made of."""
    import torch

    a = torch.randn(m, k, dtype=getattr(torch, dtype), device=device)
    b = torch.randn(k, n, dtype=getattr(torch, dtype), device=device)

    def run() -> None:
        torch.mm(a, b)
        if device.startswith("cuda"):
            torch.cuda.synchronize()

    timing = measure(run, repeats=repeats, warmup=2)
    return 2.0 * m * n * k / timing.median


def transformer_train_flops(useful_lengths: list[int], hidden: int, layers: int, ffn: int) -> float:
    """Training FLOPs of the transformer layers on the non-padding tokens of one batch.

    Per token and layer, the forward pass costs 2·(4·h² + 2·h·f) for the Q/K/V/O and FFN matrices,
    plus 4·s·h for attention scores and the weighted sum over a sequence of s useful tokens; the
    backward pass costs twice the forward. Embedding look-ups and the small task head are not counted.
    """
    dense = 2.0 * (4 * hidden * hidden + 2 * hidden * ffn)
    total = 0.0
    for s in useful_lengths:
        total += s * layers * (dense + 4.0 * s * hidden)
    return 3.0 * total


def environment() -> dict[str, Any]:
    from stilt_cli import __version__
    from stilt_cli.core import device
    from stilt_cli.core.libs import version

    choice = device.choose()
    facts = device.machine()
    return {
        "stilt": __version__,
        "device": choice.device,
        "device_name": choice.name,
        **{k: facts[k] for k in ("cpu", "cpu_capability", "cpu_count", "torch_threads", "python", "torch")},
        "transformers": version("transformers"),
        "faiss": device.faiss_flavour(),
        "numpy": version("numpy"),
        "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
