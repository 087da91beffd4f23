"""The README's demo block: parsing a transcript, diffing headline numbers, the generated sentences, and
README.md's own block being consistent with its transcript. No demo is run here (that is `make demo-check`)."""

from __future__ import annotations

import importlib.util
import json
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
"""  # noqa: E501 (a rendered table and a summary line, verbatim)


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


# --- the check on a machine whose signature differs from the README's (issue 26) ---

SEEDED = TRANSCRIPT.replace("│ 70.5               │ 68.5               │",
                            "│ 70.5 ± 1.0         │ 68.5 ± 2.5         │").replace(
    "│ 59.3               │ 59.3               │", "│ 59.3 ± 0.4         │ 59.3 ± 3.1         │").replace(
    "│ 56.4               │ 30.0               │", "│ 56.4 ± 0.2         │ 30.0 ± 1.9         │")


def _load_readme_module():
    sys.modules.setdefault("transcript", transcript)
    spec = importlib.util.spec_from_file_location("demo_readme", ROOT / "examples/demo/readme.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_numbers_split_cells_and_summary_lines_and_keep_empty_cells():
    numbers = transcript.numbers(transcript.headline(SEEDED))
    assert numbers["de · zero-shot X-STILTs #0"] == "59.3" and numbers["de · zero-shot X-STILTs #1"] == "3.1"
    assert numbers["en · retrieval before"] == "–"  # no number: compared as text
    rho = {k: v for k, v in numbers.items() if k.startswith("retrieval gain vs syntax distance")}
    assert list(rho.values()) == ["-0.49", "95", "-0.69", "-0.18", "0.017", "2"]
    assert transcript.group("de · zero-shot X-STILTs #1") == transcript.group("sw · zero-shot X-STILTs #1")


def test_tolerances_pool_a_column_and_a_foreign_run_is_judged_by_them():
    reference = transcript.numbers(transcript.headline(SEEDED))
    moved = transcript.numbers(transcript.headline(SEEDED.replace("│ 30.0 ± 1.9 ", "│ 33.5 ± 1.9 ")))
    spreads = transcript.spread([reference, moved])
    assert spreads["sw · zero-shot X-STILTs #0"] == pytest.approx(3.5) and spreads["en · retrieval before"] is None
    tolerance = transcript.tolerances(spreads, factor=1.5)
    assert tolerance["column zero-shot X-STILTs #0"] == pytest.approx(5.25)  # every language's cell gets it
    nearby = transcript.numbers(transcript.headline(SEEDED.replace("│ 59.3 ± 3.1 ", "│ 63.0 ± 3.1 ")))
    assert transcript.outside(reference, nearby, tolerance) == []
    # one step of the printed resolution is always allowed; a count (integer) must be equal
    assert transcript.outside(reference, transcript.numbers(transcript.headline(
        SEEDED.replace("before 76.0", "before 76.1"))), {}) == []
    fewer = transcript.numbers(transcript.headline(SEEDED.replace("p = 0.017, 2 languages", "p = 0.017, 3 languages")))
    assert transcript.outside(reference, fewer, tolerance) == [
        "retrieval gain vs syntax distance #5: README 2, this run 3 (tolerance ±0)"]


def test_a_planted_regression_fails_on_a_foreign_signature():
    """Labels shuffled: the target runs learn nothing, every zero-shot accuracy falls to chance."""
    reference = transcript.numbers(transcript.headline(SEEDED))
    tolerance = {transcript.group(k): 6.0 for k in reference}  # generous: wider than any measured spread
    broken = (SEEDED.replace("│ 70.5 ± 1.0 ", "│ 26.0 ± 1.0 ").replace("│ 59.3 ± 0.4 ", "│ 25.3 ± 0.4 ")
              .replace("baseline 57.9", "baseline 25.9"))
    found = transcript.outside(reference, transcript.numbers(transcript.headline(broken)), tolerance)
    assert any(line.startswith("en · zero-shot baseline #0: README 70.5, this run 26.0") for line in found)
    assert any("baseline: README 57.9, this run 25.9" in line for line in found)


def test_compare_is_exact_on_the_readme_signature_and_tolerant_elsewhere(monkeypatch, tmp_path):
    readme = _load_readme_module()
    sig = {"cpu": "Some CPU", "capability": "AVX2", "threads": "2", "torch": "2.13.0+cpu"}
    text = transcript.render(SEEDED, "provenance", sig)
    assert transcript.signature_of(text) == sig
    nudged = SEEDED.replace("│ 59.3 ± 3.1 ", "│ 59.6 ± 3.1 ")
    tolerances = tmp_path / "tolerances.json"
    tolerances.write_text(json.dumps({"tolerance": {"column zero-shot X-STILTs #0": 1.0}}))
    monkeypatch.setattr(readme, "TOLERANCES", tolerances)
    monkeypatch.setattr(readme, "signature", lambda extra=None: sig)
    diffs, mode = readme.compare(text, nudged)
    assert mode.startswith("exact") and diffs == ["de · zero-shot X-STILTs: README 59.3 ± 3.1, this run 59.6 ± 3.1"]
    monkeypatch.setattr(readme, "signature", lambda extra=None: dict(sig, capability="AVX512"))
    monkeypatch.setattr(readme, "machine", lambda extra=None: "Some CPU, AVX512")
    diffs, mode = readme.compare(text, nudged)
    assert mode.startswith("within the measured tolerances") and diffs == []


def test_readme_block_names_its_signature_and_every_number_has_a_tolerance():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    signature = transcript.signature_of(readme)
    assert signature and set(signature) == {"cpu", "capability", "threads", "torch"}
    data = json.loads((ROOT / "examples/demo/tolerances.json").read_text(encoding="utf-8"))
    assert len(data["variants"]) >= 3 and data["how"]
    numbers = transcript.numbers(transcript.headline(transcript.transcript_of(readme)))
    floats = {transcript.group(k) for k, v in numbers.items() if "." in v}
    assert floats <= set(data["tolerance"]), sorted(floats - set(data["tolerance"]))[:3]


def test_readme_spread_table_is_the_one_tolerances_json_gives():
    """The table of measured spreads in README.md is generated (spread.py derive): it cannot drift."""
    sys.modules.setdefault("transcript", transcript)
    sys.modules.setdefault("readme", _load_readme_module())
    spec = importlib.util.spec_from_file_location("demo_spread", ROOT / "examples/demo/spread.py")
    spread = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(spread)
    data = json.loads((ROOT / "examples/demo/tolerances.json").read_text(encoding="utf-8"))
    table = spread.readme_table(data)
    assert table in (ROOT / "README.md").read_text(encoding="utf-8")
    assert table.count("\n| ") >= 12  # every row found its group in the data
