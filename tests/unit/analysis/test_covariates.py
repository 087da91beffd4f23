"""core/analysis/covariates.py: fertility and pretraining size
(`correlate --covariates`: tests/cli/test_correlate.py)."""

from __future__ import annotations

import math

import pytest

from stilt_cli.core.analysis import covariates
from stilt_cli.core.errors import DataError

pytestmark = pytest.mark.usefixtures("typology_cache")


class CharTokenizer:
    """Every character of a word is one token: fertility = mean word length."""

    def __call__(self, batch, is_split_into_words=False, add_special_tokens=True):
        assert add_special_tokens is False
        if is_split_into_words:
            return {"input_ids": [[0] * sum(len(w) for w in words) for words in batch]}
        return {"input_ids": [[0] * sum(len(w) for w in text.split()) for text in batch]}


def test_cc100_table_is_shipped_with_its_source_and_read_correctly():
    text = covariates.DEFAULT_SIZES.read_text(encoding="utf-8")
    assert "Conneau et al. (2020)" in text and "Table 6" in text and "7397902d" in text
    sizes = covariates.read_size_table()
    assert sizes["en"]["size_gib"] == pytest.approx(300.8)
    assert sizes["zh"]["size_gib"] == pytest.approx(46.9 + 16.6)  # Simplified + Traditional rows
    assert sizes["my"]["size_gib"] == pytest.approx(1.6 + 0.4)
    assert sizes["nb"]["size_gib"] == pytest.approx(49.0)  # the table's 'no'
    assert "-" not in sizes and "no" not in sizes
    assert len(sizes) == 93  # 100 rows, less 5 romanized variants, less the second zh and my rows


def test_pretrain_size_is_log10_gib_and_missing_languages_say_why():
    size = covariates.pretrain_size(["de", "qu", "wo"])
    assert size.values["de"] == pytest.approx(math.log10(66.6))
    assert size.values["qu"] is None and "no pretraining size for 'qu'" in size.missing["qu"]
    assert set(size.missing) == {"qu", "wo"}


def test_custom_size_table_and_its_errors(tmp_path):
    table = tmp_path / "wiki.tsv"
    table.write_text("# my sizes\ncode\tname\ttokens_millions\tsize_gib\tnote\n"
                     "de\tGerman\t10\t2.5\t\nzho\tChinese\t\t1.0\t\n")
    sizes = covariates.read_size_table(table)
    assert sizes["de"]["size_gib"] == 2.5 and sizes["zh"]["size_gib"] == 1.0  # 639-3 codes are normalised
    bad = tmp_path / "bad.tsv"
    bad.write_text("code\tname\ttokens_millions\tsize_gib\nde\tGerman\t10\tbig\n")
    with pytest.raises(DataError, match=r"bad.tsv:2: size_gib / tokens_millions must be numbers"):
        covariates.read_size_table(bad)
    headless = tmp_path / "headless.tsv"
    headless.write_text("de\t2.5\n")
    with pytest.raises(DataError, match="header must name"):
        covariates.read_size_table(headless)


def test_fertility_counts_tokens_per_word():
    texts = {"de": ["ab abcd", ["abc", "a"]], "ja": ["猫が座った"], "zh": [["猫", "坐", "在"]]}
    result = covariates.fertility(CharTokenizer(), texts)
    assert result.values["de"] == pytest.approx((2 + 4 + 3 + 1) / 4)
    assert result.values["ja"] is None and "no spaces between words" in result.missing["ja"]
    assert result.values["zh"] == pytest.approx(1.0)  # pre-tokenized Chinese is fine


def test_texts_by_lang_caps_the_sample_and_skips_the_english_side():
    examples = [{"id": str(i), "lang": "de", "text_a": "a b", "text_b": "c"} for i in range(5)]
    examples += [{"id": "s", "lang": "fr", "side": "src", "text": "le chat"},
                 {"id": "t", "lang": "fr", "side": "tgt", "text": "the cat"},
                 {"lang": "fr", "link": ["s", "t"]},
                 {"id": "u", "lang": "hi", "tokens": ["x", "y"], "tags": ["O", "O"]}]
    texts = covariates.texts_by_lang(examples, sample=2)
    assert texts == {"de": ["a b", "c", "a b", "c"], "fr": ["le chat"], "hi": [["x", "y"]]}


def test_parse_covariates():
    assert covariates.parse("pretrain_size, fertility") == ["pretrain-size", "fertility"]
    assert covariates.parse(None) == []
