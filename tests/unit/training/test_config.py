"""Config resolution: command line > --config file > preset (task spec) > task-type defaults > built-ins."""

from __future__ import annotations

import json
import sys

import pytest

from stilt_cli.core import tasks
from stilt_cli.core.errors import UsageError
from stilt_cli.core.training import config
from stilt_cli.core.training.config import UNSET


def test_unset_is_not_a_boolean():
    with pytest.raises(TypeError):
        bool(UNSET)
    assert config.UNSET is type(UNSET)()  # a singleton


def test_layers_in_order_of_precedence(tmp_path):
    file = tmp_path / "run.json"
    file.write_text(json.dumps({"lr": 7e-5, "weight-decay": 0.05, "epochs": 4}))
    resolved = config.resolve({"lr": 3e-5, "seed": UNSET}, [tasks.get("xnli")], preset="xstilts", file=file)
    assert resolved["lr"] == 3e-5 and resolved.sources["lr"] == "cli"
    assert resolved["weight_decay"] == 0.05 and resolved.sources["weight_decay"] == "file"
    assert resolved.task("xnli", "epochs") == 4 and resolved.sources["xnli.epochs"] == "file"
    # from the task spec's xstilts preset (Phang et al. 2020): length 256, eps 1e-8, 10 % warmup
    assert resolved.task("xnli", "max_length") == 256 and resolved.sources["xnli.max_length"] == "preset:xstilts"
    assert resolved["warmup_ratio"] == 0.1 and resolved["adam_eps"] == 1e-8
    assert resolved["seed"] == 0 and resolved.sources["seed"] == "default"
    assert resolved.to_json()["preset"] == "xstilts"


def test_presets_come_from_the_task_specs():
    xtreme_qa = config.resolve({}, [tasks.get("xquad")], preset="xtreme")
    spec_values = tasks.get("xquad").hparams["xtreme"]
    assert xtreme_qa["lr"] == spec_values["lr"]
    assert xtreme_qa.task("xquad", "doc_stride") == spec_values["doc_stride"]
    assert xtreme_qa["warmup_steps"] == spec_values.get("warmup_steps")
    # no preset: the task-type defaults (QA: 384 tokens, stride 128)
    plain = config.resolve({}, [tasks.get("xquad")])
    assert plain.task("xquad", "max_length") == 384 and plain.sources["xquad.max_length"] == "task-type"


def test_large_encoders_take_the_presets_large_values():
    # scripts/train_mewslix.sh: mBERT lr 2e-5, batch 64 x 4; XLM-R Large lr 1e-5, batch 8 x 4; length 64
    base = config.resolve({}, [tasks.get("mewsli-x")], preset="xtreme")
    large = config.resolve({}, [tasks.get("mewsli-x")], preset="xtreme", large=True)
    assert (base["lr"], base.task("mewsli-x", "batch_size"), base["grad_accum"]) == (2e-5, 256, 4)
    assert (large["lr"], large.task("mewsli-x", "batch_size"), large["grad_accum"]) == (1e-5, 32, 4)
    assert large.sources["lr"] == "preset:xtreme-large" and large.task("mewsli-x", "query_length") == 64
    assert config.resolve({}, [tasks.get("xnli")], preset="xtreme", large=True)["lr"] == 3e-5  # train_xnli.sh
    assert config.resolve({"lr": 5e-5}, [tasks.get("mewsli-x")], preset="xtreme", large=True)["lr"] == 5e-5
    lareqa = config.resolve({}, [tasks.get("lareqa")], preset="xtreme")  # scripts/train_lareqa.sh
    assert (lareqa["lr"], lareqa.task("lareqa", "batch_size"), lareqa["grad_accum"], lareqa.task("lareqa", "epochs")) \
        == (2e-5, 16, 4, 3)
    assert (lareqa.task("lareqa", "query_length"), lareqa.task("lareqa", "max_length")) == (96, 256)


def test_per_task_values_in_a_multitask_run(tmp_path):
    file = tmp_path / "multi.toml"
    file.write_text('lr = 2e-5\n[tasks.squad_v1]\nbatch_size = 8\n')
    resolved = config.resolve({}, [tasks.get("mnli"), tasks.get("squad_v1")], preset="xstilts", file=file)
    assert resolved.task("mnli", "batch_size") == 32
    assert resolved.task("squad_v1", "batch_size") == 8
    assert resolved.task("squad_v1", "max_length") == 384 and resolved.task("mnli", "max_length") == 256
    over = config.resolve({"max_length": 64}, [tasks.get("mnli"), tasks.get("squad_v1")], preset="xstilts", file=file)
    assert over.task("squad_v1", "max_length") == 64 and over.task("mnli", "max_length") == 64


def test_warmup_given_higher_up_wins():
    # the xtreme preset of XNLI sets warmup_steps; a command-line ratio must still win over it
    resolved = config.resolve({"warmup_ratio": 0.2}, [tasks.get("xnli")], preset="xtreme")
    assert resolved["warmup_steps"] is None and resolved["warmup_ratio"] == 0.2
    steps = config.resolve({"warmup_steps": 10}, [tasks.get("xnli")], preset="xstilts")
    assert steps["warmup_steps"] == 10


@pytest.mark.parametrize("cli, message", [
    ({"batch_size": 10, "grad_accum": 4}, "not divisible by --grad-accum"),
    ({"lr": -1.0}, "--lr must be"),
    ({"epochs": 0}, "--epochs must be an integer >= 1"),
    ({"sampling": "random"}, "--sampling must be one of"),
])
def test_bad_values_name_the_option(cli, message):
    with pytest.raises(UsageError, match=message):
        config.resolve(cli, [tasks.get("xnli")])


def test_config_file_errors_are_usage_errors(tmp_path):
    typo = tmp_path / "typo.json"
    typo.write_text(json.dumps({"learning_rate": 1e-5}))
    with pytest.raises(UsageError, match="unknown setting 'learning_rate'"):
        config.resolve({}, [tasks.get("xnli")], file=typo)
    broken = tmp_path / "broken.toml"
    broken.write_text("lr = = 1")
    with pytest.raises(UsageError, match="not valid TOML"):
        config.resolve({}, [tasks.get("xnli")], file=broken)
    with pytest.raises(UsageError, match="did you mean 'xtreme'"):
        config.resolve({}, [tasks.get("xnli")], preset="xtrem")


def test_toml_config_without_tomllib_uses_tomli(tmp_path, monkeypatch):
    """Python 3.10 has no tomllib: the same file parses through tomli, errors included."""
    pytest.importorskip("tomli")
    file = tmp_path / "multi.toml"
    file.write_text('lr = 2e-5\n[tasks.squad_v1]\nbatch_size = 8\n')
    with_stdlib = config.resolve({}, [tasks.get("squad_v1")], preset="xstilts", file=file)
    monkeypatch.setitem(sys.modules, "tomllib", None)  # `import tomllib` now fails as on Python 3.10
    with_tomli = config.resolve({}, [tasks.get("squad_v1")], preset="xstilts", file=file)
    assert with_tomli.values == with_stdlib.values and with_tomli.tasks == with_stdlib.tasks
    assert with_tomli["lr"] == 2e-5 and with_tomli.task("squad_v1", "batch_size") == 8
    broken = tmp_path / "broken.toml"
    broken.write_text("lr = = 1")
    with pytest.raises(UsageError, match="not valid TOML"):
        config.resolve({}, [tasks.get("xnli")], file=broken)
    monkeypatch.setitem(sys.modules, "tomli", None)
    with pytest.raises(UsageError, match="needs the tomli package on Python < 3.11"):
        config.resolve({}, [tasks.get("xnli")], file=file)


def test_the_settings_table_is_the_one_declaration():
    """Defaults, ranges, choices and the options' help all come from config.SETTINGS."""
    import dataclasses
    import typing

    from stilt_cli.commands import _train_options as opt

    names = [s.name for s in config.SETTINGS]
    assert len(names) == len(set(names)) and list(config.DEFAULTS) == names
    assert set(config.CHOICES) == {s.name for s in config.SETTINGS if s.choices}
    with_option = {s.name: s for s in config.SETTINGS if s.help is not None}
    fields = [f for group in (opt.TrainingOptions, opt.MultitaskOptions) for f in dataclasses.fields(group)]
    assert {f.name for f in fields} == set(with_option)
    for group in (opt.TrainingOptions, opt.MultitaskOptions):
        for name, hint in typing.get_type_hints(group, include_extras=True).items():
            option = hint.__metadata__[0]
            assert option.help == with_option[name].help, name
