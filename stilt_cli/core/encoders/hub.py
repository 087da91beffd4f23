"""Loading transformers models from a local folder or the Hugging Face Hub — offline-first.

A hub id already in the local cache loads with no network. One that is not fails within seconds
with one line naming the id and the fix; we never let transformers enter its retry loop. The
decision is made here: `HF_HUB_OFFLINE=1` is honoured, and otherwise the Hub endpoint is probed with
a short timeout before any download is attempted.
"""

from __future__ import annotations

import os
import socket
import threading
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from stilt_cli.core.errors import DataError

PROBE_TIMEOUT_S = 3.0


def offline_mode() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "0").lower() in ("1", "true", "yes", "on")


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


def in_cache(repo_id: str, revision: str | None = None, repo_type: str = "model") -> bool:
    from huggingface_hub import try_to_load_from_cache

    probe_file = "config.json" if repo_type == "model" else "README.md"
    try:
        hit = try_to_load_from_cache(repo_id, probe_file, revision=revision, repo_type=repo_type)
    except Exception:
        return False
    return isinstance(hit, str)


def not_available(repo_id: str, what: str = "model") -> DataError:
    return DataError(
        f"{what} '{repo_id}' is not in the local Hugging Face cache and the Hub is not reachable",
        f"pass a local directory, run `stilt data fetch --models {repo_id} --to DIR` on a machine with network "
        "and point HF_HOME at it, or make the Hub reachable",
    )


def resolve(source: str, revision: str | None = None) -> tuple[str, dict[str, Any], bool]:
    """-> (path or id to pass to from_pretrained, source facts, local_files_only)."""
    path = Path(source).expanduser()
    if path.exists():
        if not path.is_dir():
            raise DataError(f"{source} is a file; expected a model directory or a hub id")
        if not os.access(path, os.R_OK | os.X_OK):
            raise DataError(f"cannot read directory {source}", "check its permissions")
        if not (path / "config.json").is_file():
            raise DataError(f"{source} is not a model directory (no config.json)", "point at a transformers model folder")
        return str(path), {"kind": "dir", "id": str(path.resolve()), "revision": None}, True
    if source.startswith((".", "/", "~")) or source.count("/") > 1:
        raise DataError(f"{source}: no such directory", "check the path")
    facts = {"kind": "hub", "id": source, "revision": revision}
    if in_cache(source, revision):
        return source, facts, True
    if offline_mode() or not hub_reachable():
        raise not_available(source)
    return source, facts, False


def load_pretrained(source: str, revision: str | None = None, trust_remote_code: bool = False):
    """-> (encoder model, tokenizer, source facts, mlm head state dict or None)."""
    from stilt_cli.core.libs import transformers

    AutoConfig, AutoTokenizer = transformers().AutoConfig, transformers().AutoTokenizer
    from stilt_cli.core.encoders.families import model_class_of

    target, facts, local_only = resolve(source, revision)
    common = {"revision": revision, "local_files_only": local_only, "trust_remote_code": trust_remote_code}
    if facts["kind"] == "dir":
        common.pop("revision")
    try:
        config = AutoConfig.from_pretrained(target, **common)
        tokenizer = AutoTokenizer.from_pretrained(target, **common)
    except OSError as exc:
        raise DataError(f"cannot load '{source}': {str(exc).splitlines()[0]}", "is it a transformers model?") from None
    except ValueError as exc:
        raise DataError(f"cannot load '{source}': {str(exc).splitlines()[0]}") from None
    if not getattr(tokenizer, "is_fast", False):
        raise DataError(f"'{source}' has no fast tokenizer", "stilt needs a tokenizers-backed (fast) tokenizer")
    model, mlm_state = _load_model(target, config, model_class_of(config), common, source)
    return model, tokenizer, facts, mlm_state


def _load_model(target: str, config: Any, model_class: str, common: dict[str, Any], source: str):
    from stilt_cli.core.libs import transformers as _transformers

    transformers = _transformers()
    mlm_state = None
    try:
        if model_class == "AutoModel":
            try:
                mlm = transformers.AutoModelForMaskedLM.from_pretrained(target, **common)
            except (ValueError, KeyError):
                mlm = None
            if mlm is not None:
                model, mlm_state = split_mlm(mlm)
            else:
                model = transformers.AutoModel.from_pretrained(target, add_pooling_layer=False, **common)
        else:
            model = getattr(transformers, model_class).from_pretrained(target, **common)
    except OSError as exc:
        raise DataError(f"cannot load weights of '{source}': {str(exc).splitlines()[0]}") from None
    return model, mlm_state


def split_mlm(mlm_model: Any):
    """Split an *ForMaskedLM model into (bare encoder, MLM-head state dict with its own prefixes)."""
    base_prefix = mlm_model.base_model_prefix
    encoder = getattr(mlm_model, base_prefix)
    head_state = {k: v for k, v in mlm_model.state_dict().items() if not k.startswith(base_prefix + ".")}
    return encoder, {"state": head_state, "model_class": type(mlm_model).__name__, "base_prefix": base_prefix}
