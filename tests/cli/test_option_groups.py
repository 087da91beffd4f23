"""Options declared once reach every command that shares them: training options reach the stage,
embedding options reach retrieve, align and embed; nothing is dropped on the way."""

from __future__ import annotations

import dataclasses
import typing
from pathlib import Path

import pytest
import typer.main

from stilt_cli.cli import app
from stilt_cli.commands import _train_options as opt
from stilt_cli.commands._embedding import EmbeddingOptions
from stilt_cli.core.training import config
from stilt_cli.core.training.config import UNSET

# a value for each declared option that differs from its default (types from the declaration)
GIVEN = {"lr": "0.0003", "epochs": "2", "max_steps": "7", "batch_size": "12", "grad_accum": "3", "max_length": "40",
         "doc_stride": "9", "query_length": "24", "warmup_ratio": "0.2", "warmup_steps": "5",
         "weight_decay": "0.5", "adam_eps": "1e-07",
         "max_grad_norm": "2.5", "seed": "11", "train_langs": "de,fr", "max_examples": "30", "eval_every": "4",
         "eval_examples": "20", "patience": "2", "device": "cpu", "precision": "fp32", "dropout": "0.3",
         "peft": "lora", "lora_r": "4", "lora_alpha": "8.0", "lora_dropout": "0.05", "lora_targets": "query,value",
         "sampling": "uniform", "temperature": "3.0", "preset": "xstilts", "save_every": "5",
         "report_to": "tensorboard", "tracking_dir": "runs/tracking", "parallel": "fsdp"}
FLAGS = {"gradient_checkpointing": "--gradient-checkpointing", "freeze_embeddings": "--freeze-embeddings",
         "resume": "--resume"}


def _option(group: type, field: str) -> str:
    hints = typing.get_type_hints(group, include_extras=True)
    info = hints[field].__metadata__[0]
    return info.default if isinstance(info.default, str) else info.param_decls[0]


def _args(group: type, field: str) -> tuple[str, ...]:
    if field in FLAGS:
        return (FLAGS[field],)
    return (_option(group, field), GIVEN[field])


def _expected(field: str):
    hints = typing.get_type_hints(opt.TrainingOptions) | typing.get_type_hints(opt.MultitaskOptions) \
        | typing.get_type_hints(opt.StageInputs)
    base = typing.get_args(hints[field])[0] if typing.get_args(hints[field]) else hints[field]
    if field in FLAGS:
        return True
    if typing.get_origin(base) is list:  # a repeatable option given once
        return [GIVEN[field]]
    return base(GIVEN[field]) if base in (int, float, Path) else GIVEN[field]


@pytest.fixture
def captured(monkeypatch):
    seen = []
    monkeypatch.setattr("stilt_cli.core.training.stages.run", seen.append)
    return seen


@pytest.mark.parametrize("stage, group, field", [
    (stage, group, f.name) for stage, groups in (("intermediate", (opt.TrainingOptions, opt.MultitaskOptions)),
                                                  ("target", (opt.TrainingOptions,)))
    for group in groups for f in dataclasses.fields(group)])
def test_every_training_option_reaches_the_stage(cli, captured, tmp_path, stage, group, field):
    result = cli(stage, tmp_path / "parent", "--task", "xnli" if stage == "target" else "mnli", "-o", tmp_path / "o",
                 *_args(group, field))
    assert result.exit_code == 0, result.stderr
    settings = captured[-1].settings
    assert settings[field] == _expected(field)
    assert all(v is UNSET for k, v in settings.items() if k != field)  # nothing else was given
    assert set(settings) <= set(config.DEFAULTS)  # every declared option is a setting the config resolves


@pytest.mark.parametrize("field", [f.name for f in dataclasses.fields(opt.StageInputs)
                                   if f.name not in ("data", "eval_data", "data_dir", "config_file", "if_exists")])
def test_every_stage_input_reaches_the_stage(cli, captured, tmp_path, field):
    result = cli("target", tmp_path / "parent", "--task", "xnli", "-o", tmp_path / "o", *_args(opt.StageInputs, field))
    assert result.exit_code == 0, result.stderr
    assert getattr(captured[-1], field) == _expected(field)


def test_paths_and_policies_reach_the_stage(cli, captured, tmp_path):
    result = cli("intermediate", tmp_path / "parent", "--task", "mnli", "-o", tmp_path / "o", "--data", "a.jsonl",
                 "--eval-data", "b.jsonl", "--data-dir", tmp_path, "--config", tmp_path / "c.toml",
                 "--if-exists", "skip", "--mlm-data", tmp_path / "t.txt")
    assert result.exit_code == 0, result.stderr
    got = captured[-1]
    assert (got.data, got.eval_data, got.data_dir, got.config_file, got.if_exists, got.mlm_data) == \
        (["a.jsonl"], ["b.jsonl"], tmp_path, tmp_path / "c.toml", "skip", tmp_path / "t.txt")
    assert (got.stage, got.tasks, got.output) == ("intermediate", "mnli", tmp_path / "o")


def test_the_command_line_layer_refuses_a_setting_it_does_not_know():
    with pytest.raises(Exception, match="the command line: unknown setting 'learning_rate'"):
        config.resolve({"learning_rate": 1.0}, [])


def _params(command: str) -> dict[str, object]:
    click_command = typer.main.get_command(app).commands[command]
    return {p.name: p for p in click_command.params}


@pytest.mark.parametrize("command", ["retrieve", "align", "embed"])
def test_the_embedding_options_are_one_definition(command):
    params = _params(command)
    for field in dataclasses.fields(EmbeddingOptions):
        assert field.name in params, f"{command} lacks --{field.name}"
    shared = {f.name: (params[f.name].opts, params[f.name].default, params[f.name].help)
              for f in dataclasses.fields(EmbeddingOptions)}
    assert shared == {f.name: (_params("retrieve")[f.name].opts, _params("retrieve")[f.name].default,
                               _params("retrieve")[f.name].help) for f in dataclasses.fields(EmbeddingOptions)}


def test_intermediate_and_target_share_every_training_option():
    inter, target = _params("intermediate"), _params("target")
    for group in (opt.TrainingOptions, opt.StageInputs):
        for field in dataclasses.fields(group):
            assert inter[field.name].opts == target[field.name].opts
            assert inter[field.name].help == target[field.name].help
    assert "sampling" in inter and "sampling" not in target
