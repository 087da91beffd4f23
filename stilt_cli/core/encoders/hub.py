"""Loading transformers models from a local folder or the Hugging Face Hub — offline-first.

A hub id already in the local cache loads with no network. One that is not fails within seconds
with one line naming the id and the fix; we never let transformers enter its retry loop. The
decision is made here: `HF_HUB_OFFLINE` is honoured (read by `core/hub.py`, as every reader of the flags does),
and otherwise the Hub endpoint is probed with a short timeout before any download is attempted.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from stilt_cli.core.errors import DataError, UsageError
from stilt_cli.core.hub import hub_offline, hub_reachable


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
            raise DataError(f"{source} is not a model directory (no config.json)",
                            "point at a transformers model folder")
        return str(path), {"kind": "dir", "id": str(path.resolve()), "revision": None}, True
    if source.startswith((".", "/", "~")) or source.count("/") > 1:
        raise DataError(f"{source}: no such directory", "check the path")
    facts = {"kind": "hub", "id": source, "revision": revision}
    if in_cache(source, revision):
        return source, facts, True
    if hub_offline() or not hub_reachable():
        raise not_available(source)
    return source, facts, False


def load_pretrained(source: str, revision: str | None = None, trust_remote_code: bool = False):
    """-> (encoder model, tokenizer, source facts, mlm head state dict or None)."""
    from stilt_cli.core.libs import transformers

    AutoConfig, AutoTokenizer = transformers().AutoConfig, transformers().AutoTokenizer
    from stilt_cli.core.encoders import families

    target, facts, local_only = resolve(source, revision)
    raw_config = _config_json(target, revision)
    if not (trust_remote_code and raw_config.get("auto_map")):  # else the repository's own code is asked for
        refuse_missing_family_class(source, raw_config.get("model_type"))
    if not trust_remote_code:
        refuse_remote_code(source, raw_config)
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
    family = families.of_config(config)
    if not family.verified:
        from stilt_cli.core.console import warn

        warn(unverified_line(family.name))
    if trust_remote_code:
        facts = dict(facts, remote_code=True)
    model, mlm_state = _load_model(target, config, family, common, source)
    return model, tokenizer, facts, mlm_state


def unverified_line(model_type: str) -> str:
    from stilt_cli.core.encoders.families import FAMILIES

    known = ", ".join(sorted({t for f in FAMILIES for t in f.model_types}))
    return (f"model_type '{model_type}' is not a family stilt has verified ({known}): loading it through AutoModel; "
            "its MLM head, token types, CLS token and retrieval layer are unverified")


def _config_json(target: str, revision: str | None) -> dict[str, Any]:
    """The folder's (or cached hub model's) config.json as a dict; {} where it cannot be read (transformers
    answers an unreadable config.json itself)."""
    import json

    path = Path(target) / "config.json"
    if not path.is_file():
        from huggingface_hub import try_to_load_from_cache

        try:
            hit = try_to_load_from_cache(target, "config.json", revision=revision)
        except Exception:
            hit = None
        path = Path(hit) if isinstance(hit, str) else path
    try:
        config = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    except (OSError, ValueError):
        return {}
    return config if isinstance(config, dict) else {}


def refuse_missing_family_class(source: str, model_type: Any) -> None:
    """A family stilt has verified whose model_type the installed transformers does not ship (EuroBERT
    before transformers added it): one line naming the class and the installed version, not transformers'
    "does not recognize this architecture" or a request for remote code."""
    from stilt_cli.core.encoders.families import by_model_type

    family = by_model_type(model_type) if isinstance(model_type, str) else None
    if family is None or _built_in(model_type):
        return
    from stilt_cli.core.libs import transformers

    needed = family.mlm_class or family.encoder_class
    raise DataError(f"'{source}' is a {family.name} model, which needs transformers.{needed}; transformers "
                    f"{transformers().__version__} lacks it", f"upgrade transformers; stilt verified {family.name} "
                    f"with {', '.join(family.verified_with)}")


def refuse_remote_code(source: str, config: dict[str, Any]) -> None:
    """A model whose config.json maps its classes to the repository's own code (auto_map) and whose
    model_type transformers does not ship needs that code: refused unless --trust-remote-code says so.
    A built-in model_type loads with transformers' own classes, auto_map ignored."""
    if config.get("auto_map") and not _built_in(config.get("model_type")):
        raise UsageError(f"'{source}' needs its own modelling code (config.json has auto_map), which stilt "
                         "runs only when told to", "pass --trust-remote-code to `stilt pretrain-load` if you trust "
                         "that code, then use the checkpoint it writes")


def _built_in(model_type: Any) -> bool:
    """A model_type transformers ships classes for: loaded with those, the folder's own code never runs."""
    from transformers.models.auto.configuration_auto import CONFIG_MAPPING_NAMES

    return isinstance(model_type, str) and model_type in CONFIG_MAPPING_NAMES


def _load_model(target: str, config: Any, family: Any, common: dict[str, Any], source: str):
    """The encoder with the family's class (+ its pretrained MLM head where one exists), refusing a load
    that would leave encoder weights random or drop some of the source's."""
    from stilt_cli.core.libs import transformers as _transformers

    transformers = _transformers()
    try:
        if family.mlm_class is not None:
            loaded = _masked_lm(transformers, target, config, family, common)
            if loaded is not None:
                return loaded
        cls = (transformers.AutoModel if family.encoder_class == "AutoModel"
               else getattr(transformers, family.encoder_class, None))
        if cls is None:
            raise DataError(f"'{source}' is a {family.name} model, which needs transformers.{family.encoder_class}; "
                            f"transformers {transformers.__version__} lacks it", "upgrade transformers")
        extra = {"add_pooling_layer": False} if family.encoder_class == "AutoModel" else {}
        try:
            model, report = cls.from_pretrained(target, output_loading_info=True, **extra, **common)
        except TypeError:
            model, report = cls.from_pretrained(target, output_loading_info=True, **common)
    except OSError as exc:
        raise DataError(f"cannot load weights of '{source}': {str(exc).splitlines()[0]}") from None
    prefix = "encoder." if family.encoder_class != "AutoModel" else ""
    _check_complete(source, type(model).__name__, _relevant(report["missing_keys"]),
                    [k for k in _relevant(report["unexpected_keys"]) if prefix and k.startswith(prefix)])
    return model, None


def _masked_lm(transformers: Any, target: str, config: Any, family: Any, common: dict[str, Any]):
    """(encoder, MLM head state or None) from the *ForMaskedLM class; None if the architecture has none."""
    from stilt_cli.core.console import info

    for overrides in [{}] + ([dict(family.mlm_retry)] if family.mlm_retry else []):
        try:
            mlm, report = transformers.AutoModelForMaskedLM.from_pretrained(target, output_loading_info=True,
                                                                            **overrides, **common)
        except (ValueError, KeyError):
            return None
        base = mlm.base_model_prefix + "."
        missing = _relevant(report["missing_keys"])
        _check_complete(target, type(mlm).__name__, [k for k in missing if k.startswith(base)],
                        [k for k in _relevant(report["unexpected_keys"]) if k.startswith(base)])
        head_missing = [k for k in missing if not k.startswith(base)]
        if not head_missing:
            encoder, state = split_mlm(mlm, family, overrides)
            if state is None:
                info(f"the MLM head of {type(mlm).__name__} is not one module stilt can tell apart: the checkpoint "
                     "keeps none, so continued MLM is unavailable on it")
            return encoder, state
    info(f"{target} holds no trained MLM head for {type(mlm).__name__} (missing {', '.join(head_missing[:3])}, …): "
         "the checkpoint keeps none, so continued MLM is unavailable on it")
    return getattr(mlm, mlm.base_model_prefix), None


def _relevant(keys: Any) -> list[str]:
    """Weight names that matter to the encoder: not the pooler (stilt loads encoders without one) or
    position-id buffers (older checkpoints save them)."""
    return sorted(k for k in keys if "pooler." not in k and not k.endswith("position_ids"))


def _check_complete(source: str, cls: str, missing: list[str], dropped: list[str]) -> None:
    if missing:
        raise DataError(f"loading '{source}' as {cls} would leave {len(missing)} encoder weights random "
                        f"({', '.join(missing[:3])}, …)", "the folder does not hold this architecture's "
                        "weights, or the class is wrong for its model_type")
    if dropped:
        raise DataError(f"loading '{source}' as {cls} would drop {len(dropped)} of its encoder weights "
                        f"({', '.join(dropped[:3])}, …)", "the class is wrong for its model_type")


def split_mlm(mlm_model: Any, family: Any, overrides: dict[str, Any] | None = None):
    """Split an *ForMaskedLM model into (bare encoder, MLM-head state dict with its own prefixes, or None
    where the family's head modules are not there: an unverified layout keeps no head)."""
    base_prefix = mlm_model.base_model_prefix
    encoder = getattr(mlm_model, base_prefix)
    children = [name for name, _ in mlm_model.named_children() if name != base_prefix]
    if family.mlm_modules:
        modules = [name for name in family.mlm_modules if name in children]
    else:  # unverified: one child module is the head, or we cannot tell
        modules = children if len(children) == 1 else []
    if not modules:
        return encoder, None
    head_state = {k: v for k, v in mlm_model.state_dict().items() if k.split(".", 1)[0] in modules}
    return encoder, {"state": head_state, "model_class": type(mlm_model).__name__, "base_prefix": base_prefix,
                     "modules": modules, "takes_embeddings": [m for m in modules if m in family.mlm_takes_embeddings],
                     "config_overrides": dict(overrides or {})}
