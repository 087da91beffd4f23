"""`--peft lora` on `intermediate` and `target`: which encoder modules get LoRA adapters (through the
`peft` library), and what a LoRA stage writes.

Targets. `--lora-targets` takes module-name suffixes, matched as PEFT's `target_modules` matches them (a
module matches when its dotted name is the suffix or ends with `.<suffix>`), and two group names,
`attention` and `feed_forward`, that a known family resolves (`encoders/families.projection_modules`).
The default is both groups: the attention projections (query, key, value, output) and the feed-forward
projections of every layer. The LoRA paper (Hu et al. 2021) adapted query and value only; QLoRA
(Dettmers et al. 2023) found that LoRA matches full fine-tuning only when every linear layer is
adapted, and full fine-tuning is what a LoRA arm is compared with here (does constraining the update to
a low rank, while it still reaches every layer, keep the encoder's cross-lingual alignment?).
`--lora-targets query,value` is the paper's choice. An unknown family has no default: name the modules.
The targets are checked against the parent encoder's weight names before any data is read.

What trains: the adapters and the task heads (which are ours, outside the wrapped encoder). Everything
else in the encoder is frozen, the word embeddings included (`--freeze-embeddings` is implied, so the
sparse embedding gradient of `embedgrad.py` never engages). What is saved: the encoder with the adapters
merged into its weights (a plain transformers folder: later stages, `retrieve` and `align` load it
unchanged) and the adapter itself in PEFT's format under `adapters/<stage>/`, which
`PeftModel.from_pretrained` loads onto the parent checkpoint's encoder.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from stilt_cli.core.errors import UsageError, did_you_mean
from stilt_cli.core.training.config import Resolved

GROUPS = ("attention", "feed_forward")
DEFAULT_GROUPS = GROUPS


@dataclass
class Plan:
    """The resolved LoRA settings of a stage."""

    r: int
    alpha: float
    dropout: float
    targets: list[str]  # module-name suffixes handed to peft
    requested: list[str]  # what --lora-targets said (or the default groups)
    model_type: str
    exclude: list[str] = field(default_factory=list)  # suffixes of an unrequested group (peft's exclude_modules)

    def to_json(self) -> dict[str, Any]:
        record = {"method": "lora", "r": self.r, "alpha": self.alpha, "dropout": self.dropout,
                  "target_modules": list(self.targets), "requested": list(self.requested),
                  "model_type": self.model_type}
        return {**record, "exclude_modules": list(self.exclude)} if self.exclude else record


def resolve(cfg: Resolved, parent: Any) -> Plan | None:
    """The LoRA plan of a run (None without --peft lora); writes the resolved targets into `cfg`, so the
    manifest and the config key (`--if-exists skip`, resume) carry them."""
    if cfg["peft"] == "none":
        return None
    from stilt_cli.core.encoders.families import projection_modules

    model_type = str(parent.encoder.get("model_type") or "")
    groups = projection_modules(SimpleNamespace(model_type=model_type))
    given = cfg["lora_targets"]
    if given is None and groups is None:
        raise UsageError(f"--peft lora: stilt knows no projection modules of model type '{model_type or 'unknown'}' "
                         "to put LoRA on", "name them with --lora-targets (module-name suffixes, e.g. query,value)")
    requested = list(DEFAULT_GROUPS) if given is None else list(given)
    targets = _check_targets(_expand(requested, groups, model_type), [t for t in requested if t not in GROUPS], parent)
    cfg.values["lora_targets"] = targets
    if given is None:
        cfg.sources["lora_targets"] = f"family:{model_type}"
    return Plan(r=int(cfg["lora_r"]), alpha=float(cfg["lora_alpha"]), dropout=float(cfg["lora_dropout"]),
                targets=targets, requested=requested, model_type=model_type,
                exclude=_exclusions(requested, groups, targets))


def _exclusions(requested: list[str], groups: dict[str, tuple[str, ...]] | None, targets: list[str]) -> list[str]:
    """A group's suffix can also match a module of the other group under peft's suffix rule (BERT's
    feed-forward `output.dense` matches `attention.output.dense`): with one group asked for, the other
    group's more specific suffixes are excluded, so `feed_forward` adapts the feed-forward layers only.
    A suffix named by itself keeps peft's rule."""
    if groups is None:
        return []
    from_groups = [t for item in requested if item in GROUPS for t in groups[item] if t in targets]
    others = [s for item in GROUPS if item not in requested for s in groups[item] if s not in targets]
    return [s for s in others if any(s.endswith("." + t) for t in from_groups)]


def _expand(requested: list[str], groups: dict[str, tuple[str, ...]] | None, model_type: str) -> list[str]:
    """Group names -> the family's module suffixes; suffixes as they are; each once, in order."""
    targets: list[str] = []
    for item in requested:
        if item in GROUPS and groups is None:
            raise UsageError(f"--lora-targets {item}: model type '{model_type or 'unknown'}' has no known "
                             f"{item} modules", "name the modules by their suffixes instead (e.g. query,value)")
        targets += list(groups[item]) if item in GROUPS else [item]
    return list(dict.fromkeys(targets))


def default_plan(model_config: Any, r: int = 8, alpha: float = 16.0, dropout: float = 0.0) -> Plan:
    """The plan `--peft lora` gives a known family by default, from a model config (for the benchmarks)."""
    from stilt_cli.core.encoders.families import projection_modules

    model_type = str(getattr(model_config, "model_type", ""))
    targets = _expand(list(DEFAULT_GROUPS), projection_modules(model_config), model_type)
    return Plan(r=r, alpha=alpha, dropout=dropout, targets=targets,
                requested=list(DEFAULT_GROUPS), model_type=model_type)


def weight_shapes(parent: Any) -> dict[str, tuple[int, ...]]:
    """Module name -> weight shape of each module of the parent's encoder, read from the safetensors
    headers (no weights are loaded)."""
    from safetensors import safe_open

    shapes: dict[str, tuple[int, ...]] = {}
    for path in sorted(parent.encoder_dir.glob("*.safetensors")):
        with safe_open(str(path), framework="pt") as handle:
            for key in handle.keys():
                if key.endswith(".weight"):
                    shapes[key[: -len(".weight")]] = tuple(handle.get_slice(key).get_shape())
    return shapes


def matches(name: str, target: str) -> bool:
    return name == target or name.endswith("." + target)


def _check_targets(targets: list[str], explicit: list[str], parent: Any) -> list[str]:
    """Every suffix the user named matches a module; together they match at least one linear layer;
    none is the word-embedding matrix (LoRA keeps it frozen). -> the targets that match (a group's
    suffix this model lacks, such as mT5's ungated `wi`, is dropped)."""
    shapes = weight_shapes(parent)
    linear = {name: shape for name, shape in shapes.items() if len(shape) == 2}
    vocab = parent.encoder.get("vocab_size")
    for target in targets:
        hit = [name for name in linear if matches(name, target)]
        if target in explicit and not hit:
            suffixes = {".".join(name.split(".")[-k:]) for name in linear for k in (1, 2, 3)}
            raise UsageError(f"--lora-targets: {did_you_mean(target, suffixes, 'module')} in the encoder of "
                             f"{parent.path}", "use module-name suffixes of the encoder (e.g. query,value), or "
                             "attention / feed_forward")
        if any(linear[name][0] == vocab for name in hit):
            raise UsageError(f"--lora-targets {target} names the word embeddings, which --peft lora keeps frozen",
                             "target the attention and feed-forward projections")
    found = [t for t in targets if any(matches(name, t) for name in linear)]
    if not found:
        raise UsageError(f"--peft lora: none of the target modules ({', '.join(targets)}) is in the encoder of "
                         f"{parent.path}", "name them with --lora-targets")
    return found


def apply(encoder: Any, plan: Plan) -> Any:
    """The encoder wrapped by peft (its LoRA matrices initialised from the torch RNG): only the adapters
    require gradients."""
    from stilt_cli.core.libs import peft

    lib = peft()
    config = lib.LoraConfig(r=plan.r, lora_alpha=plan.alpha, lora_dropout=plan.dropout,
                            target_modules=list(plan.targets), bias="none",
                            **({"exclude_modules": list(plan.exclude)} if plan.exclude else {}))
    with warnings.catch_warnings():  # peft reads a property transformers marks deprecated
        warnings.simplefilter("ignore", FutureWarning)
        return lib.get_peft_model(encoder, config)


def parameter_counts(wrapped: Any) -> dict[str, int]:
    trainable = sum(p.numel() for p in wrapped.parameters() if p.requires_grad)
    return {"trainable": int(trainable), "total": int(sum(p.numel() for p in wrapped.parameters()))}


def save(writer: Any, wrapped: Any, stage: str, parent: Any, plan: Plan) -> tuple[Any, dict[str, Any]]:
    """Write the adapter under `adapters/<stage>/` and merge it: -> (plain encoder, lineage record)."""
    from stilt_cli.core.libs import peft

    counts = parameter_counts(wrapped)  # before merging: the adapters still exist
    applies_to = {"path": str(parent.path), "manifest_sha256": parent.manifest_sha256(),
                  "encoder_weights_sha256": parent.encoder.get("weights_sha256")}
    wrapped.peft_config["default"].base_model_name_or_path = str(parent.encoder_dir.resolve())
    directory = writer.save_adapter(stage, wrapped, {"method": "lora", "stage": stage, "applies_to": applies_to})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        merged = wrapped.merge_and_unload()
    record = {**plan.to_json(), "adapter": directory, "applies_to": applies_to, "peft_version": peft().__version__,
              "adapter_parameters": counts["trainable"], "encoder_parameters": counts["total"]}
    return merged, record
