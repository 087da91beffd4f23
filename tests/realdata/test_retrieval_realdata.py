"""Retrieval on the real Tatoeba and BUCC files of ../shared/data (skipped when absent): the readers'
counts, and `stilt retrieve` / `stilt align` on a tiny model."""

from __future__ import annotations

import pytest

from stilt_cli.core.data.readers import bucc, tatoeba
from stilt_cli.core.errors import DataError
from tests.helpers import ok_rows

pytestmark = pytest.mark.realdata


def test_real_tatoeba_counts(shared_data):
    folder = shared_data / "tatoeba"
    assert tatoeba.available(folder) == ["ar", "de", "fr", "hi", "ja", "sw", "th", "zh"]
    rows = tatoeba.read(folder, ["de", "sw", "th"])
    counts = {lang: sum(1 for r in rows if r.get("side") == "src" and r["lang"] == lang) for lang in ("de", "sw", "th")}
    assert counts == {"de": 1000, "sw": 390, "th": 548}  # SOURCES.md
    first = next(r for r in rows if r.get("id") == "de:1")
    assert first["text"] == "Maria sagte, sie wisse nicht, wo Tom sei."
    assert next(r for r in rows if r.get("id") == "en:1" and r["lang"] == "de")["text"] == \
        "Mary said she didn't know where Tom was."


def test_real_bucc_zh_dev(shared_data):
    rows = bucc.read(shared_data / "bucc2018", ["zh"], "dev")
    assert sum(1 for r in rows if r.get("side") == "src") == 8624
    assert sum(1 for r in rows if r.get("side") == "tgt") == 13589
    links = [r["link"] for r in rows if "link" in r]
    assert len(links) == 257 and links[0] == ["zh-000000057", "en-000008530"]
    with pytest.raises(DataError, match="no BUCC dev sentence files for 'de'"):
        bucc.read(shared_data / "bucc2018", ["de"], "dev")  # only its gold file is present


def test_retrieve_and_align_on_the_real_files(cli, tiny_xlmr, shared_data):
    rows = ok_rows(cli("retrieve", tiny_xlmr, "--task", "tatoeba", "--data-dir",
                       shared_data / "tatoeba", "--langs", "sw"))
    assert [(r["lang"], r["n"]) for r in rows] == [("sw", 390)] and 0.0 <= rows[0]["value"] <= 1.0
    # BUCC zh-en sample set: the 257 gold pairs as parallel sentences
    result = cli("align", tiny_xlmr, "--task", "bucc", "--data-dir", shared_data / "bucc2018", "--split", "dev",
                 "--langs", "zh")
    rows = ok_rows(result)
    assert {r["n"] for r in rows} == {257} and {r["task"] for r in rows} == {"bucc"}
