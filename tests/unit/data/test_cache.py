"""The tokenized cache: hit on reuse, a new entry for any changed key part, stdin never cached,
damaged entries rebuilt, memory-mapped columns equal to what was built."""

from __future__ import annotations

import numpy as np
import pytest

from stilt_cli.core.data import cache


def _key(**changes):
    base = dict(task="xnli", split="train", langs=["en"], data="d" * 64, tokenizer="t" * 64, max_length=128,
                stride=None, spec_version=1, featurizer_version=1)
    base.update(changes)
    return cache.make_key(**base)


def _columns():
    return {
        "input_ids": [[0, 5, 6, 2], [0, 7, 2], [0, 2]],
        "label": [1, 0, 2],
        "weight": [0.5, 1.0, 1.5],
        "offsets": [[[0, 0], [0, 3], [4, 6], [0, 0]], [[0, 0], [0, 2], [0, 0]], [[0, 0], [0, 0]]],
        "example_id": ["a", "b", "c"],
        "tags": [None, [1, 2, 3], [4]],  # unlabelled row mixed in: kept as objects
    }


class Builder:
    def __init__(self, columns=None):
        self.calls = 0
        self.columns = columns or _columns()

    def __call__(self):
        self.calls += 1
        return self.columns


@pytest.fixture(autouse=True)
def _fresh_stats():
    cache.STATS.reset()


def test_second_call_hits_and_returns_the_same_columns(tmp_path, capsys):
    build = Builder()
    first = cache.features(_key(), build, cache_dir=tmp_path)
    second = cache.features(_key(), build, cache_dir=tmp_path)
    assert build.calls == 1
    assert (first.hit, second.hit) == (False, True)
    assert (cache.STATS.misses, cache.STATS.hits) == (1, 1)
    err = capsys.readouterr().err
    assert "tokenized cache miss: xnli train en" in err and "tokenized cache hit: xnli train en (3 rows" in err
    for result in (first, second):
        cols = result.columns
        assert len(result) == 3
        assert cols["input_ids"].tolist() == _columns()["input_ids"]
        assert cols["input_ids"].lengths.tolist() == [4, 3, 2]
        assert cols["input_ids"][1].dtype == np.int32
        assert cols["label"].tolist() == [1, 0, 2] and cols["weight"].dtype == np.float64
        assert cols["offsets"][0].tolist() == [[0, 0], [0, 3], [4, 6], [0, 0]]
        assert cols["example_id"] == ["a", "b", "c"]
        assert cols["tags"] == [None, [1, 2, 3], [4]]
    # hits are memory-mapped, not read into RAM
    assert isinstance(second.columns["input_ids"].values, np.memmap)


@pytest.mark.parametrize("change", [
    {"task": "pawsx"}, {"split": "dev"}, {"langs": ["en", "de"]}, {"data": "e" * 64}, {"tokenizer": "u" * 64},
    {"max_length": 256}, {"stride": 128}, {"spec_version": 2}, {"featurizer_version": 2},
    {"first_subtoken_only": False},
])
def test_any_changed_key_part_is_a_new_entry(tmp_path, change):
    build = Builder()
    cache.features(_key(), build, cache_dir=tmp_path)
    result = cache.features(_key(**change), build, cache_dir=tmp_path)
    assert not result.hit and build.calls == 2
    assert len([p for p in tmp_path.iterdir() if p.is_dir()]) == 2


def test_language_order_does_not_matter(tmp_path):
    build = Builder()
    cache.features(_key(langs=["de", "en"]), build, cache_dir=tmp_path)
    assert cache.features(_key(langs=["en", "de"]), build, cache_dir=tmp_path).hit


def test_stdin_is_never_cached(tmp_path, capsys):
    build = Builder()
    for _ in range(2):
        result = cache.features(_key(data=cache.STDIN), build, cache_dir=tmp_path)
        assert not result.hit and result.path is None
        assert result.columns["input_ids"][0].tolist() == [0, 5, 6, 2]
    assert build.calls == 2 and cache.STATS.uncached == 2
    assert not tmp_path.exists() or list(tmp_path.iterdir()) == []
    assert "stdin input is never cached" in capsys.readouterr().err
    # a file fingerprint of stdin (hashing.data_fingerprint('-')) is recognised too
    assert not cache.cacheable(_key(data={"path": "-", "sha256": None}))


def test_no_cache_switch(tmp_path, monkeypatch):
    monkeypatch.setenv("STILT_NO_CACHE", "1")
    build = Builder()
    cache.features(_key(), build, cache_dir=tmp_path)
    cache.features(_key(), build, cache_dir=tmp_path)
    assert build.calls == 2 and cache.STATS.hits == 0


@pytest.mark.parametrize("damage", ["truncate_values", "drop_meta", "garbage_meta", "other_key", "drop_objects",
                                    "token_in_range", "token_out_of_range", "label_in_range", "objects_same_size"])
def test_damaged_entry_is_rebuilt_not_read(tmp_path, damage, capsys):
    build = Builder()
    entry = cache.features(_key(), build, cache_dir=tmp_path).path
    if damage in ("token_in_range", "token_out_of_range", "label_in_range"):
        # same size, header intact: only the content check can tell (a shared disk flipped some bytes)
        meta = __import__("orjson").loads((entry / "meta.json").read_bytes())
        column = "label" if damage == "label_in_range" else "input_ids"
        array = np.load(entry / meta["columns"][column]["files"]["values"]["file"], mmap_mode="r+")
        array[1] = {"token_in_range": 6, "token_out_of_range": 2**30, "label_in_range": 2}[damage]
        array.flush()
        del array
    elif damage == "objects_same_size":
        blob = (entry / "objects.json").read_bytes()
        (entry / "objects.json").write_bytes(blob.replace(b'"a"', b'"z"'))
    elif damage == "truncate_values":
        target = next(entry.glob("*.values.npy"))
        target.write_bytes(target.read_bytes()[:-4])
    elif damage == "drop_meta":
        (entry / "meta.json").unlink()
    elif damage == "garbage_meta":
        (entry / "meta.json").write_text("{not json")
    elif damage == "other_key":
        import orjson

        meta = orjson.loads((entry / "meta.json").read_bytes())
        meta["key"]["max_length"] = 999
        (entry / "meta.json").write_bytes(orjson.dumps(meta))
    elif damage == "drop_objects":
        (entry / "objects.json").unlink()
    result = cache.features(_key(), build, cache_dir=tmp_path)
    assert not result.hit and build.calls == 2 and cache.STATS.rebuilt == 1
    assert result.columns["input_ids"].tolist() == _columns()["input_ids"]
    assert "damaged" in capsys.readouterr().err
    assert cache.features(_key(), build, cache_dir=tmp_path).hit  # the rebuilt entry is good


def test_a_killed_build_leaves_no_entry(tmp_path):
    def dying():
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        cache.features(_key(), dying, cache_dir=tmp_path)
    assert [p for p in tmp_path.iterdir() if p.is_dir()] == []
    # a leftover partial folder of a dead run is never read as an entry
    from stilt_cli.core.hashing import json_sha256

    (tmp_path / f"{json_sha256(_key())}.partial-1").mkdir()
    build = Builder()
    assert not cache.features(_key(), build, cache_dir=tmp_path).hit and build.calls == 1


def test_unwritable_cache_falls_back_to_memory(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    result = cache.features(_key(), Builder(), cache_dir=blocker / "sub")
    assert not result.hit and result.path is None and result.columns["label"].tolist() == [1, 0, 2]
    assert "continuing without it" in capsys.readouterr().err


def test_default_location_follows_stilt_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("STILT_CACHE", str(tmp_path))
    result = cache.features(_key(), Builder())
    assert result.path.parent == tmp_path / "tokenized"


def test_misaligned_columns_are_a_bug_not_data(tmp_path):
    with pytest.raises(ValueError, match="row-aligned"):
        cache.features(_key(), Builder({"a": [1, 2], "b": [1]}), cache_dir=tmp_path)


def test_empty_split_roundtrips(tmp_path):
    build = Builder({"input_ids": [], "label": []})
    cache.features(_key(), build, cache_dir=tmp_path)
    result = cache.features(_key(), build, cache_dir=tmp_path)
    assert result.hit and len(result) == 0 and len(result.columns["label"]) == 0


def test_large_ids_widen_to_int64(tmp_path):
    result = cache.features(_key(), Builder({"ids": [[2**40, 1]]}), cache_dir=tmp_path)
    assert result.columns["ids"][0].dtype == np.int64 and int(result.columns["ids"][0][0]) == 2**40


def _tokenizer(words, lowercase=False):
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers

    from stilt_cli.core.libs import transformers

    vocab = {w: i for i, w in enumerate(["[UNK]", "[PAD]", *words])}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    if lowercase:
        tok.normalizer = normalizers.Lowercase()
    return transformers().PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]")


def test_tokenizer_fingerprint_follows_the_tokenizer_not_its_path(tmp_path):
    tok = _tokenizer(["a", "b"])
    tok.save_pretrained(tmp_path / "one")
    tok.save_pretrained(tmp_path / "two")
    from stilt_cli.core.libs import transformers

    auto = transformers().AutoTokenizer
    one = cache.tokenizer_fingerprint(auto.from_pretrained(tmp_path / "one"))
    two = cache.tokenizer_fingerprint(auto.from_pretrained(tmp_path / "two"))
    assert one == two == cache.tokenizer_fingerprint(tok)
    assert cache.tokenizer_fingerprint(_tokenizer(["a", "c"])) != one  # other vocabulary
    assert cache.tokenizer_fingerprint(_tokenizer(["a", "b"], lowercase=True)) != one  # other normaliser
    tok.padding_side = "left"
    assert cache.tokenizer_fingerprint(tok) != one


def test_examples_fingerprint_changes_with_any_field():
    rows = [{"id": "1", "lang": "en", "text_a": "x", "label": "0"}]
    same = [{"label": "0", "text_a": "x", "lang": "en", "id": "1"}]
    other = [{"id": "1", "lang": "en", "text_a": "x", "label": "1"}]
    assert cache.examples_fingerprint(rows) == cache.examples_fingerprint(same)
    assert cache.examples_fingerprint(rows) != cache.examples_fingerprint(other)



def test_tokenizer_fingerprint_ignores_call_state(tiny_xlmr):
    """The backend JSON carries the truncation/padding of the last call; the fingerprint must not."""
    from stilt_cli.core.data import cache
    from stilt_cli.core.encoders.load import tokenizer_from_dir

    tokenizer = tokenizer_from_dir(tiny_xlmr / "encoder")
    before = cache.tokenizer_fingerprint(tokenizer)
    tokenizer(["a b c", "d"], truncation=True, max_length=4, padding="max_length")
    assert cache.tokenizer_fingerprint(tokenizer) == before
