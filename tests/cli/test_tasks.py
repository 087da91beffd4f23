"""`stilt tasks` and `stilt tasks show`: the registry as data, through the real CLI."""

from __future__ import annotations

import json

import pytest

ISSUE_TASKS = {  # task -> (XTREME languages, XTREME-R additions) as the issue and the papers list them
    "xnli": (15, 0), "pawsx": (7, 0), "udpos": (33, 5), "panx": (40, 8), "xquad": (11, 1), "mlqa": (7, 0),
    "tydiqa": (9, 0), "bucc": (4, 0), "tatoeba": (36, 5), "xcopa": (11, 0),
}
INTERMEDIATE = ("anli_plus", "mnli", "qqp", "squad_v1", "squad_v2", "hellaswag", "ccg", "cosmosqa", "commonsenseqa",
                "sst2", "mlm")


def rows(result):
    return {row["name"]: row for row in map(json.loads, result.stdout.splitlines())}


def test_tasks_lists_every_task_with_languages_and_metric(cli):
    result = cli("tasks")
    assert result.exit_code == 0 and result.stderr == ""
    listed = rows(result)
    for name, (n, extra) in ISSUE_TASKS.items():
        assert len(listed[name]["languages"]) == n and len(listed[name]["languages_r"]) == extra, name
        assert listed[name]["main_metric"] and listed[name]["role"] == "target"
    for name in INTERMEDIATE:
        assert listed[name]["role"] == "intermediate" and listed[name]["main_metric"]
    assert listed["mewsli-x"]["supported"] and listed["lareqa"]["supported"]
    assert listed["mewsli-x"]["main_metric"] == listed["lareqa"]["main_metric"] == "map@20"
    assert listed["xcopa"]["benchmarks"] == ["xtreme-r"] and "xtreme-r" not in listed["pawsx"]["benchmarks"]
    assert listed["udpos"]["main_metric"] == "f1" and listed["tatoeba"]["main_metric"] == "accuracy"


def test_tasks_filters_and_table(cli):
    result = cli("tasks", "--role", "intermediate")
    assert set(rows(result)) >= set(INTERMEDIATE) and "xnli" not in rows(result)
    assert set(rows(cli("tasks", "--benchmark", "xtreme-r"))) >= {"xcopa", "mewsli-x", "udpos"}
    table = cli("tasks", "--format", "table")
    assert table.exit_code == 0 and "main_metric" in table.stdout and "commonsenseqa" in table.stdout
    bad = cli("tasks", "--role", "targte")
    assert bad.exit_code == 2 and "unknown --role 'targte'" in bad.stderr and bad.stdout == ""


def test_show_gives_codes_from_the_language_table(cli):
    result = cli("tasks", "show", "udpos")
    assert result.exit_code == 0
    spec = json.loads(result.stdout)
    codes = {c["code"]: c for c in spec["language_codes"]}
    assert codes["de"]["hub_config"] == "udpos.German" and codes["de"]["iso3"] == "deu"
    assert codes["zh"]["iso3"] == "cmn" and codes["wo"]["xtreme_r_only"] and not codes["de"]["xtreme_r_only"]
    assert spec["files"]["test"] == ["token-tsv:test-{lang}.tsv", "conllu:{lang}_*-ud-test.conllu"]
    tatoeba = {c["code"]: c for c in json.loads(cli("tasks", "show", "tatoeba").stdout)["language_codes"]}
    assert tatoeba["sw"]["hub_config"] == "tatoeba.swh" and tatoeba["fa"]["laser"] == "pes"
    assert tatoeba["ar"]["iso3"] == "arb"  # URIEL's individual code, not the macrolanguage
    panx = {c["code"]: c for c in json.loads(cli("tasks", "show", "wikiann").stdout)["language_codes"]}
    assert panx["de"]["hub_config"] == "PAN-X.de"


@pytest.mark.parametrize("name,preset,expected", [
    ("xnli", "xtreme", {"lr": 2e-5, "epochs": 5, "max_length": 128, "batch_size": 32, "weight_decay": 0.0}),
    ("udpos", "xtreme", {"lr": 2e-5, "epochs": 10, "max_length": 128}),
    ("xquad", "xtreme", {"lr": 3e-5, "epochs": 3, "max_length": 384, "doc_stride": 128, "warmup_steps": 500,
                         "weight_decay": 0.0001}),
    ("squad_v1", "xtreme", {"lr": 3e-5, "epochs": 3, "doc_stride": 128}),
    ("xnli", "xstilts", {"lr": 1e-5, "epochs": 2, "max_length": 256, "warmup_ratio": 0.1, "weight_decay": 0.01}),
    ("pawsx", "xstilts", {"epochs": 5}), ("panx", "xstilts", {"epochs": 10}),
    ("mlqa", "xstilts", {"epochs": 2, "batch_size": 16, "max_length": 384, "doc_stride": 128}),
])
def test_presets_hold_the_published_values(cli, name, preset, expected):
    hparams = json.loads(cli("tasks", "show", name).stdout)["hparams"][preset]
    assert {k: hparams[k] for k in expected} == expected


def test_show_pins_the_hub_source(cli):
    spec = json.loads(cli("tasks", "show", "xnli").stdout)
    assert spec["hub"]["repo"] == "google/xtreme" and len(spec["hub"]["revision"]) == 40
    assert spec["train_task"] == "mnli"


def test_show_table_and_unknown_name(cli):
    table = cli("tasks", "show", "mlqa", "--format", "table")
    assert table.exit_code == 0 and "MLQA.de.de" in table.stdout
    result = cli("tasks", "show", "xnl")
    assert result.exit_code == 2 and result.stdout == ""
    assert "unknown task 'xnl' (did you mean 'xnli'" in result.stderr and len(result.stderr.strip().splitlines()) == 1
