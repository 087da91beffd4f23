"""Importing the heavy libraries, quietly: their logs and progress bars would pollute stderr.

stilt prints its own progress; transformers' per-load reports and tqdm bars are switched off here
(set `STILT_LIB_LOGS=1` to see them when debugging).
"""

from __future__ import annotations

import os
from functools import lru_cache


def version(package: str) -> str | None:
    """The installed version of a distribution (`pip` name), None when it is not installed: the one lookup."""
    import importlib.metadata

    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def quiet_env() -> None:
    """Environment defaults that must be set before transformers / huggingface_hub are imported."""
    if os.environ.get("STILT_LIB_LOGS") == "1":
        return
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("HF_DATASETS_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")
    # the Hub must never turn a missing model into a long retry loop
    os.environ.setdefault("HF_HUB_ETAG_TIMEOUT", "5")
    os.environ.setdefault("HF_HUB_DOWNLOAD_TIMEOUT", "30")


@lru_cache(maxsize=1)
def transformers():
    quiet_env()
    import transformers as module

    if os.environ.get("STILT_LIB_LOGS") != "1":
        module.utils.logging.set_verbosity_error()
        module.utils.logging.disable_progress_bar()
    return module


@lru_cache(maxsize=1)
def datasets():
    quiet_env()
    import datasets as module

    if os.environ.get("STILT_LIB_LOGS") != "1":
        module.utils.logging.set_verbosity_error()
        module.disable_progress_bars()
    return module


@lru_cache(maxsize=1)
def peft():
    """The `peft` library (LoRA), imported after transformers has been quietened."""
    transformers()
    try:
        import peft as module
    except ModuleNotFoundError:
        from stilt_cli.core.errors import UsageError

        raise UsageError("--peft lora needs the peft package", "pip install 'peft>=0.14'") from None
    return module
