"""`--covariates subword-overlap` (core/analysis/covariates.py): the share of a language's distinct subword
types that also occur in the English evaluation text of the same task."""

from __future__ import annotations

import pytest

from stilt_cli.core.analysis import covariates
from tests.cli.test_correlate import LANGS, pick, runs, write
from tests.helpers import jsonl

pytestmark = pytest.mark.usefixtures("typology_cache")


class CharIds:
    """Each character is one subword, its id the code point."""

    def __call__(self, batch, is_split_into_words=False, add_special_tokens=True):
        assert add_special_tokens is False
        if is_split_into_words:
            return {"input_ids": [[ord(c) for word in words for c in word] for words in batch]}
        return {"input_ids": [[ord(c) for c in text if not c.isspace()] for text in batch]}


def test_overlap_is_the_share_of_types_seen_in_english():
    texts = {"en": ["abc", ["a", "d"]], "de": ["aab xyz"], "ja": [["猫", "a"]], "fr": []}
    overlap = covariates.subword_overlap(CharIds(), texts)
    assert overlap.values["de"] == pytest.approx(2 / 5)  # {a, b, x, y, z}: a and b are English
    assert overlap.values["ja"] == pytest.approx(1 / 2)
    assert overlap.values["fr"] is None and overlap.missing["fr"] == "no evaluation text"
    assert "en" not in overlap.values
    without_english = covariates.subword_overlap(CharIds(), {"de": ["abc"]})
    assert "no en evaluation text" in without_english.missing["de"]


def _direct_overlap(checkpoint, texts):
    """The same share computed with the checkpoint's tokenizer loaded by transformers directly."""
    from transformers import AutoTokenizer

    from stilt_cli.core import checkpoint as ckpt

    tokenizer = AutoTokenizer.from_pretrained(str(ckpt.load(checkpoint).encoder_dir))

    def types(lines):
        return {i for line in lines for i in tokenizer(line, add_special_tokens=False)["input_ids"]}

    english = types(texts["en"])
    return {lang: len(types(lines) & english) / len(types(lines)) for lang, lines in texts.items() if lang != "en"}


def test_cli_subword_overlap_with_a_tiny_checkpoint(cli, tmp_path, tiny_xlmr):
    langs = LANGS + ["es", "ru", "tr"]
    baseline, run = runs(tmp_path, {lang: float(i) for i, lang in enumerate(langs)})
    words = {"en": "the cat sat on the mat", "de": "die Katze sass auf der Matte", "nl": "de kat zat op de mat",
             "fr": "le chat était sur le tapis", "hi": "बिल्ली चटाई पर बैठी", "ja": "猫がマットに座った",
             "sw": "paka alikaa kwenye mkeka", "es": "el gato se sentó en la alfombra", "ru": "кошка сидела на коврике",
             "tr": "kedi paspasın üstüne oturdu"}
    examples = [{"id": f"{lang}{i}", "lang": lang, "text_a": f"{text} {i}", "text_b": text, "label": "neutral"}
                for lang, text in words.items() for i in range(2)]
    data = write(tmp_path / "xnli.jsonl", examples)
    result = cli("correlate", baseline, run, "--features", "syntax", "--covariates", "subword-overlap",
                 "--checkpoint", tiny_xlmr, "--data", f"xnli={data}", "--bootstrap", "200", "--permutations", "200")
    assert result.exit_code == 0, result.stderr
    partial = pick(jsonl(result.stdout), "xnli", "syntax", "partial_pearson")
    overlap = {p["lang"]: p["subword-overlap"] for p in partial["points"]}
    texts = {lang: [e[f] for e in examples if e["lang"] == lang for f in ("text_a", "text_b")] for lang in words}
    assert overlap == pytest.approx(_direct_overlap(tiny_xlmr, texts))
    assert overlap["nl"] > overlap["ru"]  # Latin-script Dutch shares more subwords with English than Cyrillic
    assert "subword-overlap" in partial["params"]["covariates"]


def test_cli_subword_overlap_without_english_text_is_missing_with_reason(cli, tmp_path, tiny_xlmr):
    langs = LANGS + ["es", "ru", "tr"]
    baseline, run = runs(tmp_path, {lang: float(i) for i, lang in enumerate(langs)})
    examples = [{"id": f"{lang}0", "lang": lang, "text_a": "x y", "text_b": "z", "label": "neutral"} for lang in langs]
    data = write(tmp_path / "xnli.jsonl", examples)
    result = cli("correlate", baseline, run, "--features", "syntax", "--covariates", "subword-overlap",
                 "--checkpoint", tiny_xlmr, "--data", f"xnli={data}", "--bootstrap", "200", "--permutations", "200")
    assert result.exit_code == 0, result.stderr
    assert "subword-overlap for xnli/de is missing: no en evaluation text to compare with" in result.stderr
