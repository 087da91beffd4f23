"""The Hugging Face Hub as every part of stilt sees it: whether it is offline, and whether it answers.

One reader of `HF_HUB_OFFLINE` and `HF_DATASETS_OFFLINE`, with the spellings huggingface_hub and datasets
accept (1, true, yes, on; any case), so that `stilt env` reports what the loaders do: models
(`core/encoders/hub.py`) are offline under HF_HUB_OFFLINE, datasets (`core/data/hubdata.py`) under either.
"""

from __future__ import annotations

import os
import socket
import threading
from urllib.parse import urlparse

PROBE_TIMEOUT_S = 3.0
TRUE = ("1", "true", "yes", "on")


def flag(name: str) -> bool:
    """An environment flag as huggingface_hub reads it."""
    return os.environ.get(name, "0").strip().lower() in TRUE


def hub_offline() -> bool:
    """Models and Hub files come from the local cache only (HF_HUB_OFFLINE)."""
    return flag("HF_HUB_OFFLINE")


def datasets_offline() -> bool:
    """Datasets come from the local cache only (HF_DATASETS_OFFLINE, or the whole Hub offline)."""
    return flag("HF_DATASETS_OFFLINE") or hub_offline()


def endpoint() -> str:
    return os.environ.get("HF_ENDPOINT", "https://huggingface.co")


def hub_reachable(timeout: float = PROBE_TIMEOUT_S) -> bool:
    """Can we open a TCP connection to the Hub endpoint within `timeout` (DNS included)?"""
    parsed = urlparse(endpoint())
    host, port = parsed.hostname or "huggingface.co", parsed.port or (443 if parsed.scheme == "https" else 80)
    result = {"ok": False}

    def probe() -> None:
        try:
            with socket.create_connection((host, port), timeout=timeout):
                result["ok"] = True
        except OSError:
            pass

    thread = threading.Thread(target=probe, daemon=True)
    thread.start()
    thread.join(timeout + 0.5)  # getaddrinfo ignores socket timeouts; bound it from outside
    return result["ok"]
