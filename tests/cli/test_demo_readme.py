"""The README's demo block: parsing a transcript, diffing headline numbers, the generated sentences, and
README.md's own block being consistent with its transcript. No demo is run here (that is `make demo-check`)."""

from __future__ import annotations

import importlib.util
import sys

import pytest

from tests.helpers import ROOT

_spec = importlib.util.spec_from_file_location("demo_transcript", ROOT / "examples/demo/transcript.py")
transcript = sys.modules[_spec.name] = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(transcript)

TRANSCRIPT = """\
                     stilt demo: title
┏━━━━━━┳━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━┳━━━━━━━┳━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━┳━━━━━━━━┳━━━━━━━━━━━━━━━━━┓
┃ lang ┃ zero-shot baseline ┃ zero-shot X-STILTs ┃ gain  ┃ retrieval before ┃ retrieval after ┃ change ┃ syntax distance ┃
┡━━━━━━╇━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━╇━━━━━━━╇━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━╇━━━━━━━━╇━━━━━━━━━━━━━━━━━┩
│ en   │ 70.5               │ 68.5               │ -2.0  │ –                │ –               │ –      │ –               │
│ de   │ 59.3               │ 59.3               │ +0.0  │ 84.5             │ 64.5            │ -20.0  │ 0.097           │
│ sw   │ 56.4               │ 30.0               │ -26.4 │ 67.5             │ 38.5            │ -29.0  │ 0.526           │
└──────┴────────────────────┴────────────────────┴───────┴──────────────────┴─────────────────┴────────┴─────────────────┘
mean zero-shot accuracy over 2 languages (English excluded): baseline 57.9, with intermediate task 44.6 (chance about 25); English test: 70.5 -> 68.5
mean retrieval accuracy over 2 languages: before 76.0, after 51.5 (chance 0.5)
zero-shot gain vs syntax distance: Spearman rho +0.28 (95% CI -0.17..+0.63, permutation p = 0.190, 2 languages)
retrieval gain vs syntax distance: Spearman rho -0.49 (95% CI -0.69..-0.18, permutation p = 0.017, 2 languages)
plots: demo-out/plots/retrieval/gain-vs-syntax.png
"""


def test_headline_reads_every_table_cell_and_the_summary_lines():
    head = transcript.headline(TRANSCRIPT)
    assert len(head.table) == 3 * 7
    assert head.table[("sw", "zero-shot X-STILTs")] == "30.0" and head.table[("en", "retrieval before")] == "–"
    assert set(head.summary) == {"mean zero-shot accuracy over 2 languages (English excluded)",
                                 "mean retrieval accuracy over 2 languages",
                                 "zero-shot gain vs syntax distance", "retrieval gain vs syntax distance"}


def test_differences_name_the_number_and_both_values():
    changed = TRANSCRIPT.replace("│ 84.5             │", "│ 85.0             │").replace("rho -0.49", "rho -0.51")
    assert transcript.differences(transcript.headline(TRANSCRIPT), transcript.headline(TRANSCRIPT)) == []
    diffs = transcript.differences(transcript.headline(TRANSCRIPT), transcript.headline(changed))
    assert diffs[0] == "de · retrieval before: README 84.5, this run 85.0"
    assert len(diffs) == 2 and diffs[1].startswith("retrieval gain vs syntax distance: README Spearman rho -0.49")
    # a language the run lost is reported, not skipped
    fewer = "\n".join(line for line in TRANSCRIPT.splitlines() if not line.startswith("│ sw"))
    assert "sw · gain: README -26.4, this run (absent)" in transcript.differences(
        transcript.headline(TRANSCRIPT), transcript.headline(fewer))


def test_prose_follows_the_numbers():
    text = transcript.prose(transcript.headline(TRANSCRIPT))
    # sw's 30.0 is not "well above" chance 25, so the sentence does not claim every language
    assert "well above chance in 1 of 2 languages (the lowest, sw, at 30.0 %; chance about 25 %)" in text
    assert "lowers it by 13.3 points on average (57.9 → 44.6; lower in 1 of 2 languages)" in text
    assert "no clear relation to syntax distance (ρ = +0.28, p = 0.190)" in text
    assert "lowers sentence retrieval by 24.5 points (76.0 → 51.5), more for languages further" in text
    good = transcript.prose(transcript.headline(TRANSCRIPT.replace("│ 30.0 ", "│ 50.0 ")))
    assert "works in every language, all 2 well above chance" in good


def test_block_round_trip_and_missing_markers():
    readme = f"# x\n\n{transcript.BEGIN}\nold\n{transcript.END}\n\nafter\n"
    updated = transcript.splice(readme, transcript.render(TRANSCRIPT, "provenance line"))
    assert updated.startswith("# x\n\n") and updated.endswith("\n\nafter\n")
    assert transcript.transcript_of(updated) == TRANSCRIPT
    with pytest.raises(transcript.BlockError):
        transcript.block("# no markers\n")


def test_readme_sentences_match_its_transcript():
    """README.md's generated sentences are what its own transcript's numbers give (regenerate: make readme-demo)."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    head = transcript.headline(transcript.transcript_of(readme))
    assert len(head.table) >= 7 * 24 and len(head.summary) == 4
    assert transcript.paragraph(head) in transcript.block(readme)
