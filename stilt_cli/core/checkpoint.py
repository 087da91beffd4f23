"""The checkpoint directory contract, enforced here and nowhere else.

```
CKPT/
  stilt.json            manifest, written last: schema, stilt version, encoder facts, heads, lineage
  encoder/              transformers folder: config.json, model.safetensors, tokenizer files, and a
                        Hugging Face model card (README.md, `core/modelcard.py`); loads with
                        AutoTokenizer + the class in manifest["encoder"]["model_class"]
  mlm_head/             the pretrained MLM head where the source has one (head.safetensors + head.json)
  heads/<name>/         one task head each: head.safetensors + head.json
  adapters/<stage>/     a LoRA stage's adapter in PEFT's format (adapter_config.json +
                        adapter_model.safetensors), for the parent's encoder; `encoder/` holds it merged
  train_log.jsonl       a training stage's per-step log (`core/training/trainlog.py`)
```

A stage builds everything in `CKPT.partial/` (a training stage also keeps its resumable state in
`CKPT.partial/state/`), writes `stilt.json` last and renames the folder to `CKPT`. A folder without a
valid `stilt.json` is never read as a checkpoint.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stilt_cli import __version__
from stilt_cli.core import atomic, failures
from stilt_cli.core.console import info
from stilt_cli.core.errors import DataError, OutputExistsError, UsageError
from stilt_cli.core.hashing import file_sha256, json_sha256
from stilt_cli.core.records import invocation, now

SCHEMA = "stilt.checkpoint/1"
MANIFEST = "stilt.json"
ENCODER_DIR = "encoder"
MLM_DIR = "mlm_head"
HEADS_DIR = "heads"
ADAPTERS_DIR = "adapters"
STATE_DIR = "state"
MODEL_CLASSES = ("AutoModel", "MT5EncoderModel", "T5EncoderModel")


# ----------------------------------------------------------------------------------------------
# reading


@dataclass
class Checkpoint:
    path: Path
    manifest: dict[str, Any]

    @property
    def encoder_dir(self) -> Path:
        return self.path / self.manifest["encoder"]["dir"]

    @property
    def encoder(self) -> dict[str, Any]:
        return self.manifest["encoder"]

    @property
    def heads(self) -> dict[str, dict[str, Any]]:
        return self.manifest.get("heads", {})

    def manifest_sha256(self) -> str:
        return file_sha256(self.path / MANIFEST)

    def ref(self) -> dict[str, Any]:
        """How a result record names this checkpoint."""
        return {"path": str(self.path), "name": self.path.name, "manifest_sha256": self.manifest_sha256()}

    def head_dir(self, name: str) -> Path:
        if name not in self.heads:
            raise DataError(
                f"checkpoint {self.path} has no head '{name}' (it has: {', '.join(self.heads) or 'none'})",
                self.manifest.get("_head_hint") or "run `stilt target` (or `stilt intermediate`) for that task first",
            )
        return self.path / self.heads[name]["dir"]

    def load_head_files(self, name: str) -> tuple[dict[str, Any], dict[str, Any]]:
        """(state dict, head.json) of one task head, from safetensors: no pickle involved."""
        from safetensors.torch import load_file

        directory = self.head_dir(name)
        try:
            config = json.loads((directory / "head.json").read_text(encoding="utf-8"))
            state = load_file(str(directory / "head.safetensors"))
        except Exception as exc:  # OSError, bad JSON, or safetensors' own error for a truncated file
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise DataError(f"head '{name}' in {self.path} is unreadable: {first}",
                            "the file may be truncated; re-run the stage that made it") from None
        return state, config

    def lineage(self) -> list[dict[str, Any]]:
        return list(self.manifest.get("lineage", []))


def is_checkpoint(path: str | os.PathLike) -> bool:
    return (Path(path) / MANIFEST).is_file()


def load(path: str | os.PathLike) -> Checkpoint:
    path = Path(path)
    if not path.exists():
        raise DataError(f"checkpoint {path} does not exist", "create one with `stilt pretrain-load SOURCE -o DIR`")
    if not path.is_dir():
        raise DataError(f"checkpoint {path} is not a directory")
    partial = atomic.partial_dir(path)
    manifest_path = path / MANIFEST
    if not manifest_path.is_file():
        hint = "it is not a stilt checkpoint; create one with `stilt pretrain-load`"
        if partial.exists():
            hint = f"{partial} holds an unfinished run; resume it with --resume"
        raise DataError(f"{path} has no {MANIFEST} manifest", hint)
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DataError(f"{manifest_path}: unreadable manifest ({exc})") from None
    if not isinstance(manifest, dict) or not str(manifest.get("schema", "")).startswith("stilt.checkpoint/"):
        raise DataError(f"{manifest_path}: not a stilt checkpoint manifest")
    if manifest["schema"].split("/")[1].split(".")[0] != SCHEMA.split("/")[1]:
        raise DataError(f"{manifest_path}: checkpoint schema {manifest['schema']} is not readable by this stilt",
                        "upgrade stilt")
    encoder = manifest.get("encoder")
    if not isinstance(encoder, dict) or not (path / encoder.get("dir", ENCODER_DIR)).is_dir():
        raise DataError(f"checkpoint {path} has no encoder folder", "re-create it with `stilt pretrain-load`")
    return Checkpoint(path, manifest)


# ----------------------------------------------------------------------------------------------
# writing


def should_skip(out: str | os.PathLike, if_exists: str, config_key: str) -> bool:
    """Apply --if-exists to an existing output: True = leave it and do nothing."""
    out = Path(out)
    if atomic.decide(out, if_exists) == "write":
        return False
    # skip: only when the existing output was made by the same resolved config and inputs
    if not is_checkpoint(out):
        raise OutputExistsError(f"output {out} exists but is not a stilt checkpoint", "remove it or choose another -o")
    existing = load(out).manifest.get("config_key")
    if existing != config_key:
        raise OutputExistsError(
            f"output {out} exists but was made with a different config or inputs",
            "use --if-exists overwrite to replace it, or choose another -o",
        )
    info(f"{out} is up to date (same config and inputs); skipping")
    return True


@dataclass
class Writer:
    """Builds a checkpoint in `OUT.partial/`; `finish()` writes the manifest and renames."""

    out: Path
    partial: Path
    overwrite: bool
    manifest: dict[str, Any] = field(default_factory=dict)

    @property
    def encoder_dir(self) -> Path:
        return self.partial / ENCODER_DIR

    @property
    def state_dir(self) -> Path:
        return self.partial / STATE_DIR

    def save_encoder(self, model: Any, tokenizer: Any, encoder_facts: dict[str, Any]) -> None:
        """Save the encoder and tokenizer (safetensors) and record the facts about them."""
        directory = self.encoder_dir
        if directory.exists():
            shutil.rmtree(directory)
        directory.mkdir(parents=True)
        model.save_pretrained(str(directory), safe_serialization=True)
        tokenizer.save_pretrained(str(directory))
        for stray in directory.glob("*.bin"):
            stray.unlink()  # safetensors only
        weights = sorted(directory.glob("*.safetensors"))
        if not weights:
            raise DataError(f"saving the encoder to {directory} produced no safetensors file")
        facts = dict(encoder_facts)
        facts.update({"dir": ENCODER_DIR, "weights_sha256": json_sha256([file_sha256(p) for p in weights])})
        if (directory / "tokenizer.json").is_file():
            facts["tokenizer_sha256"] = file_sha256(directory / "tokenizer.json")
        self.manifest["encoder"] = facts

    def copy_encoder_from(self, parent: Checkpoint) -> None:
        """Carry the parent's encoder over unchanged (e.g. evaluation-only derivations)."""
        shutil.copytree(parent.encoder_dir, self.encoder_dir, dirs_exist_ok=True)
        self.manifest["encoder"] = dict(parent.encoder)

    def save_head(self, name: str, state_dict: dict[str, Any], config: dict[str, Any],
                  subdir: str | None = None) -> None:
        from safetensors.torch import save_file

        relative = subdir or f"{HEADS_DIR}/{name}"
        directory = self.partial / relative
        directory.mkdir(parents=True, exist_ok=True)
        # clone: unties shared storage
        tensors = {k: v.detach().cpu().clone().contiguous() for k, v in state_dict.items()}
        save_file(tensors, str(directory / "head.safetensors"))
        (directory / "head.json").write_text(json.dumps(config, indent=2, sort_keys=True), encoding="utf-8")
        entry = {"dir": relative, **{k: config[k] for k in ("type", "task", "num_labels") if k in config}}
        if subdir == MLM_DIR:
            self.manifest["mlm_head"] = entry
        else:
            self.manifest.setdefault("heads", {})[name] = entry

    def save_adapter(self, name: str, peft_model: Any, entry: dict[str, Any]) -> str:
        """A PEFT adapter in PEFT's own format (`save_pretrained`); -> its folder, relative to the checkpoint."""
        relative = f"{ADAPTERS_DIR}/{name}"
        peft_model.save_pretrained(str(self.partial / relative), safe_serialization=True)
        (self.partial / relative / "README.md").unlink(missing_ok=True)  # peft's blank card template; encoder/ has ours
        self.manifest.setdefault("adapters", {})[name] = {"dir": relative, **entry}
        return relative

    def copy_mlm_head_from(self, parent: Checkpoint) -> None:
        entry = parent.manifest.get("mlm_head")
        if entry and (parent.path / entry["dir"]).is_dir():
            shutil.copytree(parent.path / entry["dir"], self.partial / MLM_DIR, dirs_exist_ok=True)
            self.manifest["mlm_head"] = dict(entry, dir=MLM_DIR)

    def finish(self, stage: dict[str, Any], lineage: list[dict[str, Any]] | None = None,
               reached: Callable[[str], None] | None = None, task_specs: Any = None) -> Path:
        """Write stilt.json last, then remove the resumable state, then rename OUT.partial -> OUT: at every
        moment OUT.partial/ holds the state or a complete checkpoint (`commit_finished` ends the latter).
        `reached(phase)` is told "manifest", then "cleared", then "committed" (the final save's test hook).
        `task_specs` (`tasks.get`) gives the model card the facts of the tasks the checkpoint was trained on."""
        stage = dict(stage)
        stage.setdefault("finished", now())
        manifest = {
            "schema": SCHEMA,
            "stilt_version": __version__,
            "name": self.out.name,
            "heads": {},
            "mlm_head": None,
            **self.manifest,
        }
        manifest["lineage"] = list(lineage or []) + [stage]
        manifest["config_key"] = stage.get("config_key")
        reached = reached or (lambda phase: None)
        if self.encoder_dir.is_dir():
            from stilt_cli.core import modelcard

            modelcard.write(self.encoder_dir, manifest, specs=task_specs)  # replaces a card copied over from the parent
        atomic.write_text(self.partial / MANIFEST, json.dumps(manifest, indent=2, sort_keys=False, default=str) + "\n")
        reached("manifest")
        return self.commit_finished(reached)

    def finished(self) -> dict[str, Any] | None:
        """The manifest of a complete checkpoint in OUT.partial/ whose rename was cut short, else None."""
        try:
            manifest = json.loads((self.partial / MANIFEST).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return manifest if isinstance(manifest, dict) and manifest.get("schema") == SCHEMA else None

    def commit_finished(self, reached: Callable[[str], None] | None = None) -> Path:
        """OUT.partial/ holds a complete checkpoint: drop the resumable state (its marker first) and rename."""
        reached = reached or (lambda phase: None)
        for directory in (self.state_dir, *(self.state_dir.with_name(STATE_DIR + s) for s in (".tmp", ".old"))):
            with contextlib.suppress(FileNotFoundError):
                (directory / "state.json").unlink()  # a half-removed state never looks complete
            shutil.rmtree(directory, ignore_errors=True)
        reached("cleared")
        atomic.commit_dir(self.partial, self.out, self.overwrite)
        reached("committed")
        return self.out


@contextlib.contextmanager
def writer(out: str | os.PathLike, if_exists: str = "error", resume: bool = False) -> Iterator[Writer]:
    """Lock the output, prepare `OUT.partial/`, yield a Writer. On an exception the partial folder
    is kept only when it holds resumable state (so `--resume` can continue); otherwise removed."""
    out = Path(out)
    atomic.decide(out, if_exists)  # refuses an existing output under --if-exists error
    partial = atomic.partial_dir(out)
    with atomic.output_lock(out):
        if partial.exists() and not resume:
            if ((partial / STATE_DIR).exists() or (partial / MANIFEST).exists()) and if_exists != "overwrite":
                raise UsageError(
                    f"{partial} holds the resumable state of an interrupted run",
                    "add --resume to continue it, or --if-exists overwrite to start over",
                )
            shutil.rmtree(partial)
        try:
            partial.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise DataError(f"cannot create {partial}: {exc.strerror}") from None
        failures.started(out)  # a failure from here on is recorded for `stilt status` (by the error boundary)
        w = Writer(out=out, partial=partial, overwrite=(if_exists == "overwrite"))
        try:
            yield w
        except BaseException as exc:
            # kept: a resumable state, or a complete checkpoint whose rename was cut short (--resume ends both)
            resumable = any((partial / (STATE_DIR + s)).exists() for s in ("", ".old")) or w.finished() is not None
            failure = atomic.write_failure(exc, partial) if isinstance(exc, Exception) else None
            if failure is not None:  # disk full while saving weights, state or manifest: one line
                where = failure.filename if isinstance(failure.filename, str) else partial
                hint = "free space or write elsewhere, then run the same command with --resume" if resumable else None
                error = atomic.disk_error(Path(where), failure, hint)
            if partial.exists() and not resumable:
                shutil.rmtree(partial, ignore_errors=True)
            if failure is not None:
                raise error from None
            raise


def stage_record(stage: str, config: dict[str, Any], parent: Checkpoint | None = None, **fields: Any) -> dict[str, Any]:
    """One lineage entry: what ran, with which resolved config, from which parent."""
    entry = {
        "stage": stage,
        "command": invocation(),
        "config": config,
        "parent": None if parent is None else {"path": str(parent.path), "manifest_sha256": parent.manifest_sha256()},
        "started": fields.pop("started", now()),
    }
    entry.update(fields)
    entry["config_key"] = json_sha256({"stage": stage, "config": config, "parent": entry["parent"],
                                       "data": fields.get("data")})
    return entry
