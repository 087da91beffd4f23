"""`stilt distances`: JSONL with missing values and their reasons, a table, an output file, bad input."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.usefixtures("typology_cache")


def test_cli_distances_jsonl_and_missing(cli):
    result = cli("distances", "--langs", "de,lv", "--features", "featural")
    assert result.exit_code == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["lang"] for r in rows] == ["de", "lv"]
    assert rows[0]["value"] == pytest.approx(0.4033, abs=1e-4)
    assert rows[1]["value"] is None and "No shared featural" in rows[1]["missing_reason"]
    assert "featural distance en-lv is missing" in result.stderr
    assert "INFO" not in result.stderr  # urielplus's root-logger chatter stays off


def test_cli_distances_table_and_output_file(cli, tmp_path):
    out = tmp_path / "d.jsonl"
    result = cli("distances", "--langs", "de,fr", "--features", "syntax", "-o", out)
    assert result.exit_code == 0 and result.stdout == ""
    assert len(out.read_text().splitlines()) == 2
    table = cli("distances", "--langs", "de,fr", "--features", "syntax", "--format", "table")
    assert "syntax" in table.stdout and "deu" in table.stdout and "fra" in table.stdout


def test_cli_distances_bad_input(cli):
    unknown_feature = cli("distances", "--langs", "de", "--features", "syntx")
    assert unknown_feature.exit_code == 2
    assert "did you mean 'syntax'" in unknown_feature.stderr and unknown_feature.stdout == ""
    unknown_lang = cli("distances", "--langs", "de,xx")
    assert unknown_lang.exit_code == 2 and "unknown language 'xx'" in unknown_lang.stderr
    bad_mode = cli("distances", "--langs", "de", "--urielplus-data", "imputed")
    assert bad_mode.exit_code == 2 and "--urielplus-data" in bad_mode.stderr
