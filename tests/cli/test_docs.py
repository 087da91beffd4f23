"""The CLI reference is generated from --help and must not drift; the README names what CI runs."""

from __future__ import annotations

from tests.helpers import ROOT


def test_cli_reference_is_current():
    from stilt_cli.docgen import render

    assert (ROOT / "docs" / "CLI.md").read_text(encoding="utf-8") == render(), (
        "docs/CLI.md is stale: run `python -m stilt_cli.docgen > docs/CLI.md`")


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "$ make test" in readme and "\nmake test\n" in ci
    assert "\nmake demo-check\n" in ci and "`make demo-check`" in readme  # the demo's numbers, cold
    assert "## Failure behaviour and exit codes" in readme and "| 75 |" in readme


def test_readme_model_table_is_generated_from_the_family_entries():
    from stilt_cli.core.encoders.families import FAMILIES, VERIFIED_WITH
    from stilt_cli.docgen import readme_with_models

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert readme_with_models(readme) == readme, \
        "README's model table is stale: run `python -m stilt_cli.docgen --readme`"
    assert all(f"| `{family.name}` (" in readme for family in FAMILIES)
    assert f"Verified with transformers {', '.join(VERIFIED_WITH)}" in readme
