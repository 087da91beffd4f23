"""URIEL+'s script and morphology distances in core/analysis/typology.py, checked against urielplus itself.

`script` runs on the database urielplus ships (quick). `morphology` needs URIEL+'s database integration
(Grambank's M_ features exist only after it, and it takes about a minute), so every test but one uses a
recorded fixture of its output; the one slow test runs the real integration and checks the fixture,
and stilt's values, against distances computed straight from the integrated arrays.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pytest

from stilt_cli.core import records
from stilt_cli.core.analysis import typology

FIXTURE = Path(__file__).parent / "fixtures" / "urielplus_integrated_morphology.json"


pytestmark = pytest.mark.usefixtures("typology_cache")


def _values(items):
    return {(d.feature, d.lang): d for d in items}


def test_script_distance_matches_urielplus_on_the_shipped_data():
    from urielplus import urielplus

    logging.disable(logging.INFO)
    try:
        direct = urielplus.URIELPlus()
        expected = {lang: float(direct.new_distance("script", "eng", code))
                    for lang, code in (("de", "deu"), ("ja", "jpn"), ("ar", "arb"), ("hi", "hin"))}
    finally:
        logging.disable(logging.NOTSET)
    found = _values(typology.distances(["de", "ja", "ar", "hi", "zh"], ["script"]))
    assert {lang: found[("script", lang)].value for lang in expected} == expected
    assert found[("script", "de")].value == 0.1864 and found[("script", "ja")].value == 0.3881
    assert found[("script", "zh")].value is None  # URIEL+ has no script features for cmn
    assert found[("script", "zh")].missing_reason.startswith("URIEL+: No shared script features between eng and cmn")
    assert "released data, script distance" in found[("script", "de")].source


class RecordedIntegration:
    """The integrated URIEL+ as far as the fixture recorded it (Glottocodes, morphological only)."""

    def __init__(self):
        body = json.loads(FIXTURE.read_text(encoding="utf-8"))
        self.ref, self.pairs = body["ref"], body["pairs"]
        self.langs = [np.array([self.ref, *self.pairs])]

    def new_distance(self, category, ref, code):
        assert (category, ref) == ("morphological", self.ref)
        entry = self.pairs[code]
        if "error" in entry:
            raise ValueError(entry["error"])
        return np.float64(entry["distance"])


def test_morphology_uses_the_integrated_data_whatever_urielplus_data_says(monkeypatch):
    fake = RecordedIntegration()
    asked = []
    monkeypatch.setattr(typology, "_urielplus_instance", lambda mode: asked.append(mode) or fake)
    monkeypatch.setenv("STILT_NO_CACHE", "1")
    langs = [entry["lang"] for entry in fake.pairs.values()]
    found = _values(typology.distances(langs, ["morphology"], urielplus_data="released"))
    assert set(asked) == {"integrated"}
    for code, entry in fake.pairs.items():
        item = found[("morphology", entry["lang"])]
        assert item.code == code and item.ref_code == "stan1293"
        if "error" in entry:
            assert item.value is None
            assert item.missing_reason == "URIEL+: " + entry["error"].splitlines()[0]
        else:
            assert item.value == entry["distance"] and item.missing_reason is None
    assert found[("morphology", "ja")].value == 0.7003 and found[("morphology", "de")].value is None
    record = records.validate(found[("morphology", "fr")].record(), "test")
    assert "integrated data, morphological distance" in record["params"]["source"]
    assert "integrated data" in record["params"]["definition"] and "Grambank" in record["params"]["definition"]


def test_parse_features_default_and_all():
    assert typology.parse_features(None) == list(typology.DEFAULT_FEATURES)
    assert "morphology" not in typology.DEFAULT_FEATURES  # a minute of integration only when asked for
    assert typology.parse_features("all") == list(typology.FEATURES)
    assert typology.parse_features("morphology, script") == ["morphology", "script"]


def test_cli_distances_script_and_help(cli):
    result = cli("distances", "--langs", "de,ja", "--features", "script")
    assert result.exit_code == 0, result.stderr
    assert [json.loads(line)["value"] for line in result.stdout.splitlines()] == [0.1864, 0.3881]
    help_text = cli("distances", "--help").stdout
    for name in ("morphology", "script", "ud-feats-per-word", "ud-forms-per-lemma", "ud-mattr", "integrated"):
        assert name in help_text


def _direct_morphological(instance, ref: str, code: str) -> float | None:
    """Angular distance over the M_ features both languages have a known value for (union over
    sources = the largest known value), straight from URIEL+'s integrated arrays."""
    columns = [j for j, name in enumerate(instance.feats[1]) if str(name).startswith("M_")]
    names = list(map(str, instance.langs[1]))

    def vector(glottocode):
        values = np.asarray(instance.data[1][names.index(glottocode)][columns], float)
        known = (values != -1.0) & np.isfinite(values)
        return np.max(np.where(known, values, -np.inf), axis=1), known.any(axis=1)

    (u, known_u), (v, known_v) = vector(ref), vector(code)
    shared = known_u & known_v
    if not shared.any():
        return None
    cos = float(u[shared] @ v[shared] / (np.linalg.norm(u[shared]) * np.linalg.norm(v[shared])))
    return round(2 * float(np.arccos(np.clip(cos, -1.0, 1.0))) / np.pi, 4)


@pytest.mark.slow
def test_real_integration_matches_the_fixture():
    """The one test that runs URIEL+'s integration (about a minute of CPU, ~4 GB while it lasts)."""
    body = json.loads(FIXTURE.read_text(encoding="utf-8"))
    try:
        instance = typology._urielplus_instance("integrated")
        found = typology._urielplus("morphological", "eng", [typology.langs.get(e["lang"]).iso3
                                                              for e in body["pairs"].values()], "integrated")
        for code, entry in body["pairs"].items():
            item = found[typology.langs.get(entry["lang"]).iso3]
            assert item["code"] == code
            direct = _direct_morphological(instance, body["ref"], code)
            if "error" in entry:
                assert item["value"] is None and direct is None
                assert item["missing_reason"] == "URIEL+: " + entry["error"].splitlines()[0]
            else:
                assert item["value"] == entry["distance"] == direct
    finally:
        typology._urielplus_instance.cache_clear()  # the integrated arrays take gigabytes
