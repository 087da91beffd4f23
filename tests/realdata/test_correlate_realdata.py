"""`correlate --covariates fertility` on the real Tatoeba files in ../shared/data (skipped when absent)."""

from __future__ import annotations

import json

import pytest

from stilt_cli.core import records

pytestmark = [pytest.mark.realdata, pytest.mark.usefixtures("typology_cache")]


def test_fertility_on_real_tatoeba_text(cli, tmp_path, shared_data, tiny_xlmr):
    langs = {"ar": 5.0, "de": 1.0, "fr": 2.0, "hi": 6.0, "sw": 8.0, "zh": 4.0}
    for name, offset in (("base", 0.0), ("run", 1.0)):
        rows = [records.make("retrieval", "tatoeba", lang, "accuracy", 40.0 + offset * gain, split="test",
                             params={"layer": 8, "pooling": "mean"}) for lang, gain in langs.items()]
        (tmp_path / f"{name}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    result = cli("correlate", tmp_path / "base.jsonl", tmp_path / "run.jsonl", "--features", "syntax",
                 "--covariates", "fertility", "--checkpoint", tiny_xlmr, "--data-dir", shared_data / "tatoeba",
                 "--bootstrap", "200", "--permutations", "200")
    assert result.exit_code == 0, result.stderr
    assert "fertility for tatoeba/zh is missing: Han text has no spaces" in result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    partial = next(r for r in rows if r["metric"] == "partial_spearman")
    fertility = {p["lang"]: p["fertility"] for p in partial["points"]}
    assert sorted(fertility) == ["ar", "de", "fr", "hi", "sw"]
    assert all(1.0 <= value < 20.0 for value in fertility.values())
    assert "tokenizer of" in partial["params"]["covariates"]["fertility"]
