"""`correlate --report` (core/analysis/report.py): the one-page markdown answer, checked by content; and
the check the typology example's TINY run must pass (called from tests/e2e/test_studies.py)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from stilt_cli.core.analysis import typology
from tests.cli.test_correlate import LANGS, runs

MANY = LANGS + ["es", "ru", "tr", "ar", "fi", "vi"]


pytestmark = pytest.mark.usefixtures("typology_cache")


def _table(text: str, header_start: str) -> list[list[str]]:
    """The body rows of the markdown table whose header begins with `header_start`."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(header_start))
    body = []
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        body.append([cell.strip() for cell in line.strip("|").split("|")])
    return body


def check_report(text: str, report_dir: Path, features: list[str], terms: list[str]) -> None:
    """What a report must say: an answer, a row per feature with r, CI and p, the regression table with
    every term, links to PNGs that exist, and every feature's definition and source."""
    assert text.startswith("# Does the gain depend on distance from English?")
    answer = text.split("## Answer", 1)[1].split("##", 1)[0].strip()
    assert answer.startswith("- ") or answer.startswith("No correlation or coefficient is significant")
    rows = {row[0]: row for row in _table(text, "| feature | task | Pearson r")}
    assert set(features) <= set(rows)
    for feature in features:
        assert re.fullmatch(r"[+-]\d\.\d\d \[[+-]\d\.\d\d, [+-]\d\.\d\d\]", rows[feature][2]), rows[feature]
        assert re.fullmatch(r"[\d.e-]+ / [\d.e-]+", rows[feature][3]), rows[feature]
    assert f"## Regression: gain ~ {' + '.join(terms)}" in text
    coefficients = {row[0]: row for row in _table(text, "| term | coefficient")}
    assert list(coefficients) == terms
    for row in coefficients.values():
        assert re.fullmatch(r"[+-]\d\.\d\d \[[+-]\d\.\d\d, [+-]\d\.\d\d\]", row[1]) and float(row[3]) >= 1.0
    assert re.search(r"R² \(within tasks\) [\d.]+, adjusted [-\d.]+, \d+ languages", text)
    links = re.findall(r"!\[[^\]]*\]\(([^)]+\.png)\)", text)
    assert "plots/coefficients.png" in links and all((report_dir / link).is_file() for link in links)
    definitions = text.split("## Definitions and sources", 1)[1]
    for name in [*features, *terms]:
        assert f"- **{name}**: " in definitions and "Source: " in definitions


def check_typology_example(results: Path) -> None:
    """The typology example's TINY run: correlate's own page, correlate.md, which the study's report.md
    includes (called by tests/e2e/test_studies.py)."""
    text = (results / "correlate.md").read_text(encoding="utf-8")
    check_report(text, results, ["syntax", "genetic", "geographic", "script"], ["syntax", "script", "subword-overlap"])
    rows = [json.loads(line) for line in (results / "correlate.jsonl").read_text().splitlines()]
    assert {r["kind"] for r in rows} == {"correlation", "regression"}
    assert "partial r" in text and "- **pretrain-size**: " in text


def test_report_content_on_planted_gains(cli, tmp_path):
    syntax = typology.table(MANY, ["syntax"])["syntax"]
    baseline, run = runs(tmp_path, {lang: -5.0 * syntax[lang] + 0.01 * i for i, lang in enumerate(MANY)})
    report = tmp_path / "out" / "report.md"
    result = cli("correlate", baseline, run, "--features", "syntax,genetic", "--covariates", "pretrain-size",
                 "--model", "syntax+genetic", "--bootstrap", "300", "--permutations", "500",
                 "--plot", tmp_path / "out" / "plots", "--report", report)
    assert result.exit_code == 0, result.stderr
    text = report.read_text(encoding="utf-8")
    check_report(text, report.parent, ["syntax", "genetic"], ["syntax", "genetic"])
    # the planted effect is the answer, with the numbers of the records
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    pearson = next(r for r in rows if r["metric"] == "pearson" and r["params"]["feature"] == "syntax")
    assert f"the gain shrinks with syntax distance (pearson {pearson['value']:+.2f}" in text
    assert "- **pretrain-size**: log10(pretraining corpus size in GiB). Source: CC-100" in text
    assert "| script | xnli |" in text.split("## Categorical factors", 1)[1]  # the factor table


def test_report_without_plots_or_model(cli, tmp_path):
    baseline, run = runs(tmp_path, {lang: float(i) for i, lang in enumerate(MANY)})
    report = tmp_path / "report.md"
    result = cli("correlate", baseline, run, "--features", "syntax", "--bootstrap", "200", "--permutations", "200",
                 "--report", report)
    assert result.exit_code == 0, result.stderr
    text = report.read_text(encoding="utf-8")
    assert "## Correlations" in text and "## Regression" not in text and "## Plots" not in text
