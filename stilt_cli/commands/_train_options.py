"""The options of `stilt intermediate` and `stilt target`, declared once, and the glue to a stage.

`TrainingOptions` holds every setting the resolved config knows, derived from its table
(`core/training/config.py: SETTINGS`: default, range, choices and help, declared once); a setting
left off the command line is None here and UNSET below, so the `--config` file, the `--preset` and the
task's defaults can fill it. `StageInputs` holds what is not a setting (data, resume, output policy).
Both commands take them as groups (`@with_groups`), so an option added here reaches both stages, and
a test checks that every declared option arrives in the stage's options.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer

from stilt_cli.commands._common import DataDir, DataFiles, Device, IfExists, checked_by, known_langs, one_of


def _report_to(values: list[str]) -> None:
    from stilt_cli.core.training import tracking

    tracking.parse(values)


Checkpoint = Annotated[Path, typer.Argument(help="Parent stilt checkpoint (from pretrain-load, or an "
                                                 "intermediate stage).")]


def _option(setting: Any) -> tuple[str, Any, Any]:
    """A dataclass field holding one setting's typer option, derived from its row of the settings table."""
    if setting.name == "device":
        annotation = Device
    else:
        callbacks = {"train_langs": known_langs("--train-langs")}
        callback = callbacks.get(setting.name) or (one_of(setting.choices) if setting.choices else None)
        option = typer.Option(setting.flag or "--" + setting.name.replace("_", "-"), help=setting.help,
                              **({"callback": callback} if callback else {}))
        annotation = Annotated[setting.type | None, option]
    return setting.name, annotation, dataclasses.field(default=None)


def _group(name: str, group: str, doc: str) -> type:
    from stilt_cli.core.training.config import SETTINGS

    fields = [_option(s) for s in SETTINGS if s.help is not None and s.group == group]
    return dataclasses.make_dataclass(name, fields, namespace={"__doc__": doc, "__module__": __name__})


# the settings of the resolved config (`core/training/config.py: SETTINGS`): command line > --config > --preset >
# task-type defaults; MultitaskOptions are the settings only a multi-task (intermediate) stage has
TrainingOptions = _group("TrainingOptions", "training", "The settings of the resolved config, as options.")
MultitaskOptions = _group("MultitaskOptions", "multitask", "Settings only a multi-task (intermediate) stage has.")


@dataclass
class StageInputs:
    """What a stage reads and how it treats its output: not settings of the resolved config."""

    preset: Annotated[str | None, typer.Option("--preset", callback=one_of("stilt_cli.core.training.config:PRESETS"),
                                               help="Named hyperparameters: xstilts (Phang et al. 2020) or xtreme "
                                                    "(XTREME baselines); recorded in the manifest.")] = None
    config_file: Annotated[Path | None, typer.Option("--config", help="JSON or TOML file of settings (below the "
                                                                      "command line, above the preset).")] = None
    data: DataFiles = None
    eval_data: Annotated[list[str] | None, typer.Option("--eval-data", help="English dev examples JSONL for model "
                                                                            "selection (FILE or TASK=FILE; "
                                                                            "repeatable).")] = None
    data_dir: DataDir = None
    save_every: Annotated[int | None, typer.Option("--save-every", help="Save a resumable state every N steps (signals "
                                                                        "always save one).")] = None
    resume: Annotated[bool, typer.Option("--resume", help="Continue from the resumable state in OUT.partial/ (starts "
                                                          "fresh when there is none).")] = False
    if_exists: IfExists = "error"
    report_to: Annotated[list[str] | None, typer.Option("--report-to", callback=checked_by(_report_to),
                                                        help="Also report each step to none (default), tensorboard, "
                                                             "wandb or mlflow (repeatable or comma-separated; rank 0 "
                                                             "only). Every checkpoint keeps its "
                                                             "train_log.jsonl either way.")] = None
    parallel: Annotated[str, typer.Option(
        "--parallel", callback=one_of("stilt_cli.core.training.parallel:STRATEGIES"),
        help="Under torchrun: ddp (default; every process holds the whole model and optimizer state) or fsdp "
             "(torch's FSDP2: parameters, gradients and AdamW state sharded over the processes; for models whose "
             "training does not fit one GPU). One process: a plain run either way.")] = "ddp"
    tracking_dir: Annotated[Path | None, typer.Option("--tracking-dir", help="Where --report-to trackers write "
                                                                             "(TensorBoard events, the wandb offline "
                                                                             "run, a local MLflow store); default: "
                                                                             "tracking/ beside the output.")] = None


def settings_of(*groups: Any) -> dict[str, Any]:
    """The command-line layer of the resolved config: each setting's value, or UNSET where not given."""
    from stilt_cli.core.training.config import UNSET

    return {name: UNSET if value is None else value
            for group in groups for name, value in dataclasses.asdict(group).items()}


def run_stage(stage: str, checkpoint: Path, tasks: str, output: Path, training: TrainingOptions,
              inputs: StageInputs, multitask: MultitaskOptions | None = None, mlm_data: Path | None = None) -> None:
    """Build the stage options from the command's groups and run the stage."""
    from stilt_cli.core.training.config import UNSET
    from stilt_cli.core.training.stages import StageOptions, run

    settings = settings_of(training, *([multitask] if multitask is not None else []))
    run(StageOptions(
        stage=stage, checkpoint=checkpoint, tasks=tasks, output=output, settings=settings,
        preset=UNSET if inputs.preset is None else inputs.preset, config_file=inputs.config_file,
        data=inputs.data, eval_data=inputs.eval_data, data_dir=inputs.data_dir, mlm_data=mlm_data,
        resume=inputs.resume, save_every=inputs.save_every, if_exists=inputs.if_exists,
        report_to=list(inputs.report_to or []), tracking_dir=inputs.tracking_dir, parallel=inputs.parallel,
    ))
