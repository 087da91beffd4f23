"""Training configuration: one resolved dict, built from four layers with an explicit UNSET sentinel.

Precedence, highest first:
  1. the command line (an option counts as given only when it is not UNSET — never by truthiness);
  2. `--config FILE` (JSON or TOML; flat keys, plus an optional `tasks` table of per-task values);
  3. the preset named by `--preset` (`spec.hparams[preset]` of each task: `xstilts` = the jiant
     recipe of Phang et al. 2020, `xtreme` = the XTREME baseline scripts), or without a preset the
     task-type defaults below (QA: length 384, stride 128, batch 16, lr 3e-5; ...);
  4. built-in defaults.

Per-task keys (batch size, max length, doc stride, epochs) resolve for every task of a multi-task
run; all other keys are shared (their preset/type values come from the first task). The resolved
config, with the layer each value came from, goes into the checkpoint manifest; no preset value
ever appears in the training loop.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stilt_cli.core.errors import UsageError, did_you_mean
from stilt_cli.core.tasks.spec import TaskSpec
from stilt_cli.core.textio import read_settings


class _Unset:
    """'Not given'. Deliberately not usable as a boolean: `if value:` on it is a bug."""

    _instance = None

    def __new__(cls):
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNSET"

    def __bool__(self) -> bool:
        raise TypeError("UNSET has no truth value; compare with `is UNSET`")


UNSET: Any = _Unset()
PRESETS = ("xstilts", "xtreme", "demo")  # demo: the CPU-sized settings of the offline demo tasks
PER_TASK = ("batch_size", "max_length", "doc_stride", "epochs", "query_length")


@dataclass(frozen=True)
class Setting:
    """One setting of the resolved config, declared once: its default, the values it takes, and the help of its
    command-line option (the options of `stilt intermediate` / `target` are derived from this table)."""

    name: str
    default: Any
    type: type  # of the option's value (train_langs: the comma list as given)
    help: str | None  # None: no option of its own (--config file and presets only)
    minimum: int | None = None  # integers: the least value allowed
    span: tuple[float, float] | None = None  # numbers: the closed range allowed
    choices: tuple[str, ...] = ()
    group: str = "training"  # the option group: training (both stages) | multitask (intermediate only)
    flag: str | None = None  # the option's spelling where it is not --name (switches: --x/--no-x)


SETTINGS: tuple[Setting, ...] = (
    Setting("lr", 2e-5, float, "Peak learning rate (AdamW).", span=(0.0, 1.0)),
    Setting("epochs", 3, int, "Passes over each task's training data.", minimum=1),
    Setting("max_steps", None, int, "Total optimizer steps (overrides --epochs).", minimum=1),
    Setting("batch_size", 32, int, "Effective batch per optimizer step, across --grad-accum and processes.", minimum=1),
    Setting("grad_accum", 1, int, "Split each batch into N micro-batches (same update, less memory).", minimum=1),
    Setting("max_length", 128, int, "Maximum tokens per input (QA: per stride window).", minimum=8),
    Setting("doc_stride", 128, int, "QA: tokens of overlap between context windows.", minimum=1),
    Setting("query_length", None, int, "Dual encoders (lareqa, mewsli-x): maximum tokens per query; --max-length "
            "bounds the candidates.", minimum=8),  # None: --max-length
    Setting("warmup_ratio", 0.1, float, "Linear warmup as a share of all steps.", span=(0.0, 1.0)),
    Setting("warmup_steps", None, int, "Linear warmup in steps (instead of --warmup-ratio).", minimum=0),
    Setting("weight_decay", 0.01, float, "AdamW weight decay (not on biases and norms).", span=(0.0, 10.0)),
    Setting("adam_eps", 1e-8, float, "AdamW epsilon.", span=(0.0, 1.0)),
    Setting("max_grad_norm", 1.0, float, "Gradient clipping norm.", span=(0.0, 1e9)),
    Setting("seed", 0, int, "Random seed (initialisation, data order, dropout).", minimum=0),
    Setting("train_langs", ["en"], str, "Training languages (default en), e.g. de,fr for translated or multilingual "
            "data, or all."),
    Setting("max_examples", None, int, "Use a seeded random subset of N training examples per task (quick runs).",
            minimum=1),
    Setting("eval_every", None, int, "Evaluate on the English dev set every N steps (default: each epoch; 0: never, "
            "keep the last weights).", minimum=0),
    Setting("eval_examples", 2000, int, "Seeded random subset of the English dev set used for model selection.",
            minimum=1),
    Setting("patience", None, int, "Stop after N evaluations without dev improvement.", minimum=1),
    Setting("device", None, str, "cpu, cuda, cuda:N or mps (default: the best available)."),
    Setting("precision", "auto", str, "auto: bf16 autocast on CUDA (fp16 + gradient scaler on GPUs without bf16), "
            "fp32 on CPU and MPS. fp32, bf16 or fp16 force one; on CPU, bf16 runs torch's CPU autocast and fp16 CPU "
            "autocast + gradient scaler (the CUDA code path, with float32 master weights; rarely faster than fp32 on "
            "CPU).", choices=("auto", "fp32", "bf16", "fp16")),
    Setting("gradient_checkpointing", False, bool, "Recompute activations in the backward pass (long inputs, small "
            "GPUs).", flag="--gradient-checkpointing/--no-gradient-checkpointing"),
    Setting("freeze_embeddings", False, bool, "Keep the word-embedding matrix fixed (no AdamW update of a 250k-token "
            "vocabulary: ~20 % faster steps for e5-small on CPU; often kinder to zero-shot transfer). Recorded in the "
            "manifest.", flag="--freeze-embeddings/--no-freeze-embeddings"),
    Setting("dropout", None, float, "Override the encoder's and heads' dropout probability.", span=(0.0, 1.0)),
    # parameter-efficient training (core/training/lora.py): off unless --peft lora
    Setting("peft", "none", str, "Parameter-efficient training: none (default, full fine-tuning) or lora (peft's LoRA "
            "on the encoder; heads train fully, word embeddings stay frozen; saves the merged encoder and the adapter "
            "under adapters/STAGE/).", choices=("none", "lora")),
    Setting("lora_r", 8, int, "LoRA rank (default 8).", minimum=1),
    Setting("lora_alpha", 16.0, float, "LoRA scaling alpha; the update is scaled by alpha/r (default 16).",
            span=(0.0, 1e6)),
    Setting("lora_dropout", 0.0, float, "Dropout on the LoRA branch's input (default 0: the encoder keeps its own "
            "dropout; 0.1 costs a saved copy of every adapted input, measured in make bench).", span=(0.0, 1.0)),
    Setting("lora_targets", None, str, "Modules that get LoRA: module-name suffixes (e.g. query,value) and/or "
            "attention, feed_forward (the family's projections). Default: attention,feed_forward of a known family; "
            "recorded in the manifest."),
    Setting("sampling", "proportional", str, "Multi-task sampling: proportional, temperature or uniform.",
            choices=("proportional", "temperature", "uniform"), group="multitask"),
    Setting("temperature", 2.0, float, "Temperature T for --sampling temperature (p ~ size^(1/T)).", span=(0.0, 1e9),
            group="multitask"),
    Setting("schedule", "linear", str, None, choices=("linear",)),
    Setting("mlm_probability", 0.15, float, None, span=(0.0, 1.0)),
    Setting("max_answer_length", 30, int, None, minimum=1),
    Setting("eval_batch_size", 64, int, None, minimum=1),
)
DEFAULTS: dict[str, Any] = {s.name: s.default for s in SETTINGS}
TYPE_DEFAULTS: dict[str, dict[str, Any]] = {
    "qa": {"lr": 3e-5, "batch_size": 16, "max_length": 384, "doc_stride": 128},
    "multiple-choice": {"batch_size": 16, "max_length": 256},
    "dual-encoder": {"batch_size": 32, "max_length": 128},
}
LAYERS = ("default", "task-type", "preset", "file", "cli")
_INT_MIN = {s.name: s.minimum for s in SETTINGS if s.minimum is not None}
_FLOAT_RANGE = {s.name: s.span for s in SETTINGS if s.span is not None}
CHOICES = {s.name: s.choices for s in SETTINGS if s.choices}
SAMPLING, PRECISIONS, PEFT = CHOICES["sampling"], CHOICES["precision"], CHOICES["peft"]  # parse-time checks
# the settings of --peft lora: absent from a full fine-tuning's resolved config, whose manifest (and so
# its config key, which `--if-exists skip` compares) stays what it was before LoRA existed
PEFT_KEYS = ("peft", "lora_r", "lora_alpha", "lora_dropout", "lora_targets")


@dataclass
class Resolved:
    values: dict[str, Any]  # shared keys
    tasks: dict[str, dict[str, Any]]  # task -> per-task keys
    sources: dict[str, str] = field(default_factory=dict)  # key (or task.key) -> layer it came from

    def __getitem__(self, key: str) -> Any:
        return self.values[key]

    def task(self, name: str, key: str) -> Any:
        return self.tasks[name][key]

    def to_json(self) -> dict[str, Any]:
        hidden = PEFT_KEYS if self.values.get("peft", "none") == "none" else ()
        return {**{k: v for k, v in self.values.items() if k not in hidden}, "tasks": self.tasks,
                "sources": {k: v for k, v in self.sources.items() if k not in hidden}}


def option_name(key: str) -> str:
    return "--" + key.replace("_", "-")


def _check_keys(values: dict[str, Any], where: str, allowed: tuple[str, ...] | list[str]) -> None:
    for key in values:
        if key not in allowed:
            raise UsageError(f"{where}: {did_you_mean(key, allowed, 'setting')}",
                             f"settings: {', '.join(sorted(allowed))}")


def _preset_values(spec: TaskSpec, preset: str, large: bool = False) -> dict[str, Any]:
    """A task's preset; for a large (24-layer) encoder its `*_large` values replace the plain ones, as
    XTREME's scripts set other learning rates and batch sizes for XLM-R Large."""
    if preset not in spec.hparams:
        raise UsageError(f"task {spec.name} has no '{preset}' preset",
                         f"presets of {spec.name}: {', '.join(spec.hparams) or 'none'}; drop --preset")
    values = spec.hparams[preset]
    chosen = {k: v for k, v in values.items() if k in DEFAULTS}
    if large:
        chosen.update({k[:-len("_large")]: v for k, v in values.items()
                       if k.endswith("_large") and k[:-len("_large")] in DEFAULTS})
    return chosen


def resolve(cli: dict[str, Any], specs: list[TaskSpec], preset: Any = UNSET, file: Path | None = None,
            large: bool = False) -> Resolved:
    """Merge the layers; `cli` maps setting names to values or UNSET. `large`: the encoder has 24 layers
    or more (the presets' `*_large` values apply)."""
    file_values: dict[str, Any] = read_settings(file) if file is not None else {}
    file_tasks = file_values.pop("tasks", {}) or {}
    if "preset" in file_values and preset is UNSET:
        preset = file_values["preset"]
    file_values.pop("preset", None)
    _check_keys(file_values, f"--config {file}", list(DEFAULTS))
    _check_keys(cli, "the command line", list(DEFAULTS))  # an option that names no setting is a bug, never dropped
    if not isinstance(file_tasks, dict):
        raise UsageError(f"--config {file}: 'tasks' must be a table of task -> settings")
    if preset is not UNSET and preset is not None and preset not in PRESETS:
        raise UsageError(did_you_mean(str(preset), PRESETS, "preset"), f"presets: {', '.join(PRESETS)}")
    names = [s.name for s in specs]
    for task, values in file_tasks.items():
        if task not in names:
            raise UsageError(f"--config {file}: tasks.{task} is not a task of this run ({', '.join(names)})")
        _check_keys(values, f"--config {file}: tasks.{task}", PER_TASK)

    def layers_for(spec: TaskSpec) -> list[tuple[str, dict[str, Any]]]:
        type_defaults = TYPE_DEFAULTS.get(spec.head_type or "", {})
        chosen = _preset_values(spec, preset, large) if preset not in (UNSET, None) else type_defaults
        name = "task-type" if preset in (UNSET, None) else f"preset:{preset}" + ("-large" if large else "")
        return [("default", DEFAULTS), (name, chosen),
                ("file", file_values), ("cli", {k: v for k, v in cli.items() if v is not UNSET})]

    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    first = layers_for(specs[0])
    for layer, source in first:
        for key, value in source.items():
            if key in DEFAULTS and key not in PER_TASK:
                values[key], sources[key] = value, layer
    _warmup_rule(values, sources)
    tasks: dict[str, dict[str, Any]] = {}
    for spec in specs:
        layers = layers_for(spec)
        layers.insert(3, ("file", file_tasks.get(spec.name, {})))  # the file's per-task table, below the CLI
        per: dict[str, Any] = {}
        for layer, source in layers:
            for key in PER_TASK:
                if key in source:
                    per[key], sources[f"{spec.name}.{key}"] = source[key], layer
        tasks[spec.name] = per
    values["preset"] = None if preset is UNSET else preset
    resolved = Resolved(values=values, tasks=tasks, sources=sources)
    validate(resolved)
    _peft_rule(values, sources)
    return resolved


def _peft_rule(values: dict[str, Any], sources: dict[str, str]) -> None:
    """--peft lora implies frozen word embeddings (LoRA trains only its adapters and the heads); a LoRA
    option given without --peft lora, or --no-freeze-embeddings with it, contradicts the run."""
    given = {k for k, layer in sources.items() if layer in ("cli", "file")}
    if values["peft"] == "none":
        stray = [k for k in PEFT_KEYS[1:] if sources.get(k) == "cli"]
        if stray:
            raise UsageError(f"{option_name(stray[0])} has no effect without --peft lora",
                             "add --peft lora, or drop it")
        return
    if "freeze_embeddings" in given and values["freeze_embeddings"] is False:
        raise UsageError(f"--peft lora keeps the word embeddings frozen; setting 'freeze_embeddings' = false "
                         f"({sources['freeze_embeddings']}) contradicts it", "drop --no-freeze-embeddings")
    if values["freeze_embeddings"] is not True:
        values["freeze_embeddings"], sources["freeze_embeddings"] = True, "peft:lora"
    targets = values["lora_targets"]
    if isinstance(targets, str):
        targets = targets.split(",")
    if targets is not None:
        if not isinstance(targets, (list, tuple)) or not all(isinstance(t, str) for t in targets):
            raise UsageError(f"setting 'lora_targets' ({sources.get('lora_targets')}) must be a comma list of "
                             f"module-name suffixes, not {values['lora_targets']!r}")
        targets = [t.strip() for t in targets if t.strip()]
        if not targets:
            raise UsageError("--lora-targets is empty", "give module-name suffixes (e.g. query,value) or "
                                                        "attention,feed_forward")
    values["lora_targets"] = targets


def _warmup_rule(values: dict[str, Any], sources: dict[str, str]) -> None:
    """warmup_steps and warmup_ratio: the one given at the higher layer wins (steps on a tie)."""
    if values.get("warmup_steps") is None:
        return
    rank = {name: i for i, name in enumerate(LAYERS)}
    level = lambda key: rank.get(sources.get(key, "default").split(":")[0], 2)  # noqa: E731
    if level("warmup_ratio") > level("warmup_steps"):
        values["warmup_steps"] = None


def validate(resolved: Resolved) -> None:
    def check(key: str, value: Any, where: str) -> None:
        if value is None:
            return
        if key in _INT_MIN:
            if not isinstance(value, int) or isinstance(value, bool) or value < _INT_MIN[key]:
                raise UsageError(f"{where} must be an integer >= {_INT_MIN[key]}, not {value!r}")
        elif key in _FLOAT_RANGE:
            low, high = _FLOAT_RANGE[key]
            if not isinstance(value, (int, float)) or isinstance(value, bool) or not low <= value <= high:
                raise UsageError(f"{where} must be a number in [{low}, {high}], not {value!r}")
        elif key in CHOICES and value not in CHOICES[key]:
            raise UsageError(f"{where} must be one of {', '.join(CHOICES[key])}, not {value!r}")

    for key, value in resolved.values.items():
        given = resolved.sources.get(key)
        check(key, value, option_name(key) if given == "cli" else f"setting '{key}' ({given})")
    if resolved.values["lr"] == 0:
        raise UsageError("--lr must be positive")
    for task, per in resolved.tasks.items():
        for key, value in per.items():
            given = resolved.sources.get(f"{task}.{key}")
            check(key, value, option_name(key) if given == "cli" else f"setting '{key}' of task {task} ({given})")
        if per["batch_size"] % resolved.values["grad_accum"]:
            raise UsageError(f"--batch-size {per['batch_size']} (task {task}) is not divisible by --grad-accum "
                             f"{resolved.values['grad_accum']}",
                             "the batch size is the effective batch per optimizer step; accumulation splits it")
