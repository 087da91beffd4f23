"""`make gpu-check`: every accelerator path of stilt run once on a GPU, in at most ~8 minutes, offline.

Needs, beyond CUDA torch and transformers: numpy, safetensors, tokenizers, typer, rich, orjson, filelock
(stilt's light dependencies; the commands import them), sentencepiece, babel and django (the tiny model's
tokenizer is trained on their multilingual text), accelerate for the `Trainer` row and peft for LoRA. Nothing else: a
test runs the toy mode with every other installed package hidden.
faiss-gpu is optional (its rows are skipped without it). It does not need `make install` (which installs
CPU torch): run it from the repository root in whatever environment has CUDA torch,
`PYTHONPATH=. python -m stilt_cli.bench.gpu_check` (what `make gpu-check PY=python` does).

Cases (`CASES`, a list of small functions `case(ctx) -> list of rows`; add one to measure more):
- chain: pretrain-load → intermediate → target → evaluate → retrieve on a tiny model, in bf16 and fp16 on
  the device, against the same chain in fp32 on CPU: exit 0, finite losses, float32 checkpoints,
  evaluation within tolerance;
- large: an XLM-R-Large-shaped encoder from its config (random weights, 24 × 1024, 250k vocabulary, no
  download) at XNLI token lengths: samples/s and useful-token utilisation against this GPU's measured bf16
  GEMM rate for stilt's loop, a pad-to-128 loop and transformers' `Trainer`; peak memory at the xstilts
  preset's batch (32) and XNLI max length (256);
- lora: the same XLM-R-Large-shaped encoder with full fine-tuning and with `--peft lora`'s default adapters:
  samples/s and peak memory of each, and their ratios (`gpu_lora.py`);
- retrieval: exact search and margin mining on the GPU (torch, and faiss-gpu when importable): the same
  neighbours as on CPU, time as a ratio of one GEMM of the same shape;
- ddp: NCCL initialisation and one DDP training step with world size 1;
- fsdp: the XLM-R-Large-shaped encoder sharded with `--parallel fsdp` over every visible GPU (torchrun), two
  steps at 32 x 256, and `stilt plan memory`'s per-GPU estimate against the measured CUDA peak (`gpu_fsdp.py`).

GPU_CHECK_DEVICE=cpu runs the same cases at toy sizes on CPU (bf16/fp16 through CPU autocast, gloo) in
under a minute; the test suite runs it that way. Output: a table on stdout, and JSON at GPU_CHECK_OUT
(default bench/results-gpu.json on a GPU, a temporary file in CPU mode). Exit 0 when every row passed.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from stilt_cli.bench.gpu_common import Context, row  # noqa: F401 (the cases' API)

SCHEMA = "stilt.gpu-check/1"
# what the header promises beyond torch and transformers (faiss optional); a test holds the run to it
NEEDS = ("numpy", "safetensors", "tokenizers", "typer", "rich", "orjson", "filelock", "sentencepiece", "babel",
         "django", "accelerate", "peft")


def environment(device: str) -> dict[str, Any]:
    import torch

    from stilt_cli.core.device import machine
    from stilt_cli.core.libs import version

    facts = machine()
    env: dict[str, Any] = {"device": device, "torch": facts["torch"], "cuda": facts["cuda"],
                           "transformers": version("transformers"), "accelerate": version("accelerate"),
                           "faiss": version("faiss-gpu") or version("faiss-cpu"), "python": facts["python"],
                           "cpu": facts["cpu"], "cpu_capability": facts["cpu_capability"],
                           "time": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    if device == "cuda":
        props = torch.cuda.get_device_properties(0)
        env.update(gpu=props.name, gpu_memory_gib=round(props.total_memory / 2**30, 1), driver=_driver(),
                   gpus=torch.cuda.device_count(), bf16=torch.cuda.is_bf16_supported())
    else:
        env.update(gpu=None, driver=None, cpu_count=facts["cpu_count"], torch_threads=facts["torch_threads"])
    return env


def _driver() -> str | None:
    import subprocess

    try:
        out = subprocess.run(["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
                             capture_output=True, text=True, timeout=20)
        return out.stdout.strip().splitlines()[0] if out.returncode == 0 and out.stdout.strip() else None
    except (OSError, subprocess.SubprocessError):
        return None


def cases() -> list[tuple[str, Callable[[Context], list[dict[str, Any]]]]]:
    from stilt_cli.bench import gpu_cases, gpu_fsdp, gpu_lora

    return [("chain", gpu_cases.chain), ("large", gpu_cases.large_encoder), ("lora", gpu_lora.lora),
            ("retrieval", gpu_cases.retrieval), ("ddp", gpu_cases.ddp), ("fsdp", gpu_fsdp.fsdp)]


CASES = cases  # a function, so that importing this module stays light


def main() -> int:
    device = os.environ.get("GPU_CHECK_DEVICE", "cuda")
    if device not in ("cuda", "cpu"):
        print(f"error: GPU_CHECK_DEVICE={device} (hint: cuda, or cpu for the toy mode)", file=sys.stderr)
        return 2
    os.environ.setdefault("STILT_QUIET", "1")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    import torch

    if device == "cuda" and not torch.cuda.is_available():
        print("error: no CUDA device visible to torch "
              f"(torch {torch.__version__}, CUDA build {torch.version.cuda}) (hint: run on a GPU node with CUDA "
              "torch, or GPU_CHECK_DEVICE=cpu for the toy mode)", file=sys.stderr)
        return 2
    default_out = ("bench/results-gpu.json" if device == "cuda"
                   else str(Path(tempfile.gettempdir()) / "stilt-gpu-check-cpu.json"))
    out = Path(os.environ.get("GPU_CHECK_OUT", default_out))
    results: dict[str, Any] = {"schema": SCHEMA, "mode": "gpu" if device == "cuda" else "cpu-toy",
                               "environment": environment(device), "cases": {}, "rows": []}
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="stilt-gpu-check-") as tmp:
        for name, case in CASES():
            print(f"gpu-check: {name} …", file=sys.stderr, flush=True)
            work = Path(tmp) / name
            work.mkdir()
            t0 = time.perf_counter()
            try:
                rows = case(Context(device=device, work=work))
            except Exception as exc:  # one broken case must not hide the others
                rows = [row(name, "ran", None, False, f"{type(exc).__name__}: "
                                                      f"{str(exc).splitlines()[0] if str(exc) else ''}")]
            results["cases"][name] = {"seconds": round(time.perf_counter() - t0, 1)}
            results["rows"].extend(rows)
    results["seconds"] = round(time.perf_counter() - started, 1)
    results["imported"] = sorted({name.split(".")[0] for name in list(sys.modules)})  # for the needs audit
    from stilt_cli.core import atomic
    from stilt_cli.core.console import table

    atomic.write_text(out, json.dumps(results, indent=2, default=str) + "\n")
    shown = [{**r, "ok": {True: "yes", False: "NO", None: ""}[r["ok"]]} for r in results["rows"]]
    env = results["environment"]
    print(table(shown, ["case", "measure", "value", "ok", "detail"],
                title=f"stilt gpu-check ({env.get('gpu') or 'CPU toy mode'}; torch {env['torch']}, "
                      f"{results['seconds']} s)"), end="")
    print(f"wrote {out}", file=sys.stderr)
    return 0 if all(r["ok"] is not False for r in results["rows"]) else 1


if __name__ == "__main__":
    sys.exit(main())
