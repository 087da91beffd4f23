"""core/analysis/covariates.py (fertility, pretraining size) and `correlate --covariates`."""

from __future__ import annotations

import json
import math

import pytest

from stilt_cli.core.analysis import covariates
from stilt_cli.core.errors import DataError
from tests.cli.test_correlate import LANGS, parse, pick, runs, write


@pytest.fixture(scope="module", autouse=True)
def typology_cache(tmp_path_factory):
    folder = tmp_path_factory.getbasetemp() / "stilt-typology-cache"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("STILT_CACHE", str(folder))
        yield folder


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
    table.write_text("# my sizes\ncode\tname\ttokens_millions\tsize_gib\tnote\nde\tGerman\t10\t2.5\t\nzho\tChinese\t\t1.0\t\n")
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


def test_cli_partial_correlation_with_pretrain_size(cli, tmp_path):
    langs = LANGS + ["es", "ru", "tr", "qu"]
    gains = {lang: float(i) for i, lang in enumerate(langs)}
    baseline, run = runs(tmp_path, gains)
    result = cli("correlate", baseline, run, "--features", "syntax", "--covariates", "pretrain-size",
                 "--bootstrap", "200", "--permutations", "200")
    assert result.exit_code == 0, result.stderr
    assert "pretrain-size of qu is missing" in result.stderr
    assert "partial correlations leave out qu" in result.stderr
    rows = parse(result.stdout)
    partial = pick(rows, "xnli", "syntax", "partial_spearman")
    assert partial["n_langs"] == 9 and "qu" not in {p["lang"] for p in partial["points"]}
    assert "Table 6" in partial["params"]["covariates"]["pretrain-size"]
    assert pick(rows, "xnli", "syntax", "spearman")["n_langs"] == 10  # the plain one keeps qu


def test_cli_fertility_with_a_tiny_checkpoint(cli, tmp_path, tiny_xlmr):
    langs = LANGS + ["es", "ru", "tr"]
    gains = {lang: float(i) for i, lang in enumerate(langs)}
    baseline, run = runs(tmp_path, gains)
    examples = [{"id": f"{lang}{i}", "lang": lang, "text_a": f"word{i} another sentence here",
                 "text_b": "short one", "label": "neutral"} for lang in langs for i in range(3)]
    data = write(tmp_path / "xnli.jsonl", examples)
    result = cli("correlate", baseline, run, "--features", "syntax", "--covariates", "fertility",
                 "--checkpoint", tiny_xlmr, "--data", f"xnli={data}", "--bootstrap", "200", "--permutations", "200")
    assert result.exit_code == 0, result.stderr
    assert "fertility for xnli/ja is missing" in result.stderr  # Japanese text without word segmentation
    partial = pick(parse(result.stdout), "xnli", "syntax", "partial_pearson")
    fertility = {p["lang"]: p["fertility"] for p in partial["points"]}
    assert "ja" not in fertility and len(fertility) == 8
    assert all(value >= 1.0 for value in fertility.values())
    assert json.dumps(partial["params"]["covariates"]).count("tokenizer of") == 1
