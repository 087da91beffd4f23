"""Loading an encoder for any stage: from a stilt checkpoint, or (for one-off evaluations) straight
from a transformers directory or hub id without a `pretrain-load` step."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stilt_cli.core import checkpoint as ckpt
from stilt_cli.core.errors import DataError
from stilt_cli.core.hashing import file_sha256


@dataclass
class Encoder:
    model: Any
    tokenizer: Any
    facts: dict[str, Any]
    name: str
    checkpoint: ckpt.Checkpoint | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def ref(self) -> dict[str, Any]:
        """How result records name what was evaluated."""
        if self.checkpoint is not None:
            return self.checkpoint.ref()
        return {"path": None, "name": self.name, "source": self.facts.get("source"), "manifest_sha256": None}

    @property
    def num_layers(self) -> int:
        return int(self.facts["num_layers"])

    @property
    def hidden_size(self) -> int:
        return int(self.facts["hidden_size"])


def model_from_dir(directory: Path, model_class: str, remote_code: bool = False) -> Any:
    """Instantiate the encoder saved in `directory` with transformers' own class (no pooler). `remote_code`:
    the checkpoint was made with --trust-remote-code, so its saved modelling code runs again."""
    from stilt_cli.core.libs import transformers

    tf = transformers()
    cls = getattr(tf, model_class, None) if model_class != "AutoModel" else tf.AutoModel
    if cls is None:
        raise DataError(f"the encoder in {directory} needs transformers.{model_class}, which transformers "
                        f"{tf.__version__} lacks", "install the transformers version the checkpoint was made with")
    common = {"local_files_only": True, "trust_remote_code": remote_code}
    try:
        try:
            return cls.from_pretrained(str(directory), add_pooling_layer=False, **common)
        except TypeError:
            return cls.from_pretrained(str(directory), **common)
    except (OSError, ValueError, RuntimeError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(f"cannot load the encoder in {directory}: {first}",
                        "the weights may be truncated or corrupt; re-create the checkpoint") from None
    except Exception as exc:  # safetensors raises its own error type on truncated files
        if "safetensor" in type(exc).__module__.lower() or "header" in str(exc).lower():
            raise DataError(f"cannot load the encoder in {directory}: {exc}",
                            "the weights file is truncated or corrupt; re-create the checkpoint") from None
        raise


def tokenizer_from_dir(directory: Path) -> Any:
    from stilt_cli.core.libs import transformers

    try:
        tokenizer = transformers().AutoTokenizer.from_pretrained(str(directory), local_files_only=True)
    except (OSError, ValueError) as exc:
        raise DataError(f"cannot load the tokenizer in {directory}: {str(exc).splitlines()[0]}") from None
    if not getattr(tokenizer, "is_fast", False):
        raise DataError(f"the tokenizer in {directory} is not a fast tokenizer")
    return tokenizer


def from_checkpoint(checkpoint: ckpt.Checkpoint) -> Encoder:
    facts = checkpoint.encoder
    directory = checkpoint.encoder_dir
    expected = facts.get("tokenizer_sha256")
    tok_file = directory / "tokenizer.json"
    if expected and tok_file.is_file() and file_sha256(tok_file) != expected:
        raise DataError(f"the tokenizer in {directory} is not the one this checkpoint was made with",
                        "tokenizer and model come from different checkpoints; restore the original tokenizer files")
    tokenizer = tokenizer_from_dir(directory)
    remote_code = bool((facts.get("source") or {}).get("remote_code"))
    model = model_from_dir(directory, facts.get("model_class", "AutoModel"), remote_code)
    rows = model.get_input_embeddings().weight.shape[0]
    if len(tokenizer) > rows:
        raise DataError(f"tokenizer in {directory} has {len(tokenizer)} tokens but the model only {rows} embeddings",
                        "tokenizer and model come from different checkpoints")
    model.eval()
    return Encoder(model=model, tokenizer=tokenizer, facts=dict(facts),
                   name=checkpoint.path.name, checkpoint=checkpoint)


def load(source: str | Path, revision: str | None = None, trust_remote_code: bool = False) -> Encoder:
    """A stilt checkpoint, or any transformers directory / hub id (then no stilt manifest exists)."""
    path = Path(source)
    if ckpt.is_checkpoint(path):
        return from_checkpoint(ckpt.load(path))
    if path.is_dir() and not (path / "config.json").exists():
        ckpt.load(path)  # not a model folder either: raises the checkpoint error with its hint
    from stilt_cli.core.encoders import hub
    from stilt_cli.core.encoders.families import encoder_facts, family_of

    model, tokenizer, facts, _mlm = hub.load_pretrained(str(source), revision, trust_remote_code)
    family = family_of(model.config, str(source))
    model.eval()
    return Encoder(model=model, tokenizer=tokenizer, facts=encoder_facts(model, family, facts),
                   name=path.name or str(source))


def manifest_summary(path: Path) -> dict[str, Any]:
    return json.loads((path / ckpt.MANIFEST).read_text(encoding="utf-8"))
