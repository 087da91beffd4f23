"""Sentence embeddings: pooling, layers, order, early stop, cache, and `stilt embed` end to end."""

from __future__ import annotations

import numpy as np
import orjson
import pytest

from stilt_cli.core.errors import DataError
from stilt_cli.core.retrieval import embed_cache, encoder, extract

TEXTS = ["A short one.", "Die Katze sitzt auf der Matte und schläft den ganzen Nachmittag.", "x",
         "猫在垫子上睡觉。", "Une phrase de longueur moyenne, avec une virgule."]


def _all_layers(embedder, texts, pooling="mean"):
    total = embedder.num_layers
    out = np.empty((total + 1, len(texts), embedder.encoder.hidden_size), dtype=np.float32)
    embedder.compute(texts, extract.EmbedSpec(tuple(range(total + 1)), pooling), out)
    return out


@pytest.mark.parametrize("kind", ["xlmr", "mbert", "mt5"])
def test_early_stop_single_layer_equals_full_pass(tiny_ckpts, kind):
    embedder = encoder.load(str(tiny_ckpts[kind]))
    full = _all_layers(embedder, TEXTS)
    one = np.empty((1, len(TEXTS), full.shape[2]), dtype=np.float32)
    embedder.compute(TEXTS, extract.EmbedSpec((1,)), one)  # stops after block 1 of 2
    np.testing.assert_allclose(one[0], full[1], atol=1e-6)


def test_mean_pooling_includes_special_tokens_and_keeps_input_order(tiny_xlmr):
    import torch

    embedder = encoder.load(str(tiny_xlmr))
    full = _all_layers(embedder, TEXTS)  # batched, length-sorted, padded
    model, tokenizer = embedder.encoder.model, embedder.encoder.tokenizer
    for row, text in enumerate(TEXTS):
        encoded = tokenizer(text, return_tensors="pt")
        assert encoded["input_ids"][0, 0] == tokenizer.cls_token_id  # <s> ... </s> are part of the mean
        with torch.no_grad():
            hidden = model(input_ids=encoded["input_ids"], output_hidden_states=True).hidden_states
        for layer in range(len(hidden)):
            np.testing.assert_allclose(full[layer, row], hidden[layer][0].mean(0).numpy(), atol=1e-5)
    cls = _all_layers(embedder, TEXTS, pooling="cls")
    with torch.no_grad():
        first = model(**{k: v for k, v in tokenizer(TEXTS[1], return_tensors="pt").items()
                         if k == "input_ids"}).last_hidden_state[0, 0]
    np.testing.assert_allclose(cls[-1, 1], first.numpy(), atol=1e-5)


def test_layer_sweep_shape_and_range(tiny_xlmr):
    embedder = encoder.load(str(tiny_xlmr))
    assert encoder.resolve_layers(embedder, "all") == (0, 1, 2)
    assert encoder.resolve_layers(embedder, None) == (2,)  # the manifest's retrieval_layer
    assert encoder.resolve_layers(embedder, None, default=1) == (1,)
    with pytest.raises(DataError) as info:
        encoder.resolve_layers(embedder, 3)
    assert "valid layers are 0..2" in str(info.value)
    vectors = embed_cache.embed(embedder, TEXTS, extract.EmbedSpec((0, 1, 2)), cache=False)
    assert vectors.shape == (3, len(TEXTS), embedder.encoder.hidden_size)


def test_length_batches_respect_the_token_budget():
    lengths = np.array([5, 50, 7, 50, 3, 20])
    batches = extract.length_batches(lengths, batch_tokens=100, max_batch=3)
    assert sorted(np.concatenate(batches).tolist()) == list(range(6))
    assert all(len(b) * lengths[b].max() <= 100 for b in batches)
    assert [lengths[b].max() for b in batches] == sorted((lengths[b].max() for b in batches), reverse=True)


def test_cache_hit_and_sweep_reuse(tiny_xlmr, capsys):
    embedder = encoder.load(str(tiny_xlmr))
    texts = [f"cache probe sentence number {i}" for i in range(6)]
    sweep = embed_cache.embed(embedder, texts, extract.EmbedSpec((0, 1, 2)))
    assert "embedding cache miss" in capsys.readouterr().err
    again = embed_cache.embed(embedder, texts, extract.EmbedSpec((0, 1, 2)))
    assert "embedding cache hit" in capsys.readouterr().err
    assert again.dtype == np.float16 and np.array_equal(np.asarray(again), np.asarray(sweep))
    single = embed_cache.embed(embedder, texts, extract.EmbedSpec((1,)))  # served from the sweep entry
    assert "embedding cache hit" in capsys.readouterr().err
    np.testing.assert_array_equal(np.asarray(single[0]), np.asarray(sweep[1]))
    embed_cache.embed(embedder, texts, extract.EmbedSpec((1,), max_length=4))  # another key
    assert "embedding cache miss" in capsys.readouterr().err


def test_embed_cli_jsonl_and_text_inputs(cli, tiny_xlmr, tmp_path):
    source = tmp_path / "in.jsonl"
    source.write_bytes(b"".join(orjson.dumps({"id": f"s{i}", "text": t}) + b"\n" for i, t in enumerate(TEXTS)))
    result = cli("embed", tiny_xlmr, "--input", source, "-o", tmp_path / "out")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    vectors = np.load(tmp_path / "out.npy")
    assert vectors.shape == (len(TEXTS), 64) and vectors.dtype == np.float16
    assert (tmp_path / "out.ids").read_text().split("\n")[:-1] == [f"s{i}" for i in range(len(TEXTS))]
    meta = orjson.loads((tmp_path / "out.json").read_bytes())
    assert meta["layers"] == [2] and meta["pooling"] == "mean" and meta["rows"] == len(TEXTS)
    reference = _all_layers(encoder.load(str(tiny_xlmr)), TEXTS)[2]
    np.testing.assert_allclose(vectors.astype(np.float32), reference, atol=2e-3)

    text = tmp_path / "in.txt"
    text.write_text("first line\n\nthird line\n")
    result = cli("embed", tiny_xlmr, "--input", text, "-o", tmp_path / "plain.npy", "--dtype", "float32",
                 "--layer", "all")
    assert result.exit_code == 0, result.stderr
    vectors = np.load(tmp_path / "plain.npy")
    assert vectors.shape == (3, 2, 64) and vectors.dtype == np.float32
    assert (tmp_path / "plain.ids").read_text() == "1\n3\n"  # line numbers; the blank line is skipped

    result = cli("embed", tiny_xlmr, "--input", "-", "-o", tmp_path / "stdin", input="hello\nworld\n")
    assert result.exit_code == 0, result.stderr
    assert np.load(tmp_path / "stdin.npy").shape == (2, 64)


def test_embed_cli_if_exists_and_bad_input(cli, tiny_xlmr, tmp_path):
    text = tmp_path / "in.txt"
    text.write_text("one\ntwo\n")
    out = tmp_path / "vec"
    assert cli("embed", tiny_xlmr, "-i", text, "-o", out).exit_code == 0
    result = cli("embed", tiny_xlmr, "-i", text, "-o", out)
    assert result.exit_code == 2 and "already exists" in result.stderr
    result = cli("embed", tiny_xlmr, "-i", text, "-o", out, "--if-exists", "skip")
    assert result.exit_code == 0 and "up to date" in result.stderr
    text.write_text("one\nthree\n")
    result = cli("embed", tiny_xlmr, "-i", text, "-o", out, "--if-exists", "skip")
    assert result.exit_code == 2 and "other inputs" in result.stderr
    assert cli("embed", tiny_xlmr, "-i", text, "-o", out, "--if-exists", "overwrite").exit_code == 0

    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": 1, "text": "ok"}\n{"id": 2, "sentence": "no text field"}\n')
    result = cli("embed", tiny_xlmr, "-i", bad, "-o", tmp_path / "bad")
    assert result.exit_code == 1
    assert result.stderr.strip() == (f"error: {bad}:2: missing field 'text' "
                                     "(hint: each line must be one JSON object with 'text')")
    assert not (tmp_path / "bad.npy").exists()
    empty = tmp_path / "empty.txt"
    empty.write_text("\n\n")
    result = cli("embed", tiny_xlmr, "-i", empty, "-o", tmp_path / "e")
    assert result.exit_code == 1 and "no sentences" in result.stderr
    result = cli("embed", tiny_xlmr, "-i", text, "-o", tmp_path / "l", "--layer", "9")
    assert result.exit_code == 1 and "valid layers are 0..2" in result.stderr


def test_sentence_transformers_model_pooling(cli, tiny_xlmr, tmp_path):
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Normalize, Pooling, Transformer

    encoder = Transformer(str(tiny_xlmr / "encoder"))
    model = SentenceTransformer(modules=[encoder, Pooling(64, "cls"), Normalize()], device="cpu")
    model.save(str(tmp_path / "st-model"))
    text = tmp_path / "in.txt"
    text.write_text("one sentence\nanother sentence here\n")
    result = cli("embed", tmp_path / "st-model", "-i", text, "-o", tmp_path / "st", "--pooling", "model")
    assert result.exit_code == 0, result.stderr
    vectors = np.load(tmp_path / "st.npy").astype(np.float32)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=2e-3)  # the model's Normalize module
    meta = orjson.loads((tmp_path / "st.json").read_bytes())
    assert meta["layers"] is None and meta["model"]["name"] == "st-model"
    pairs = tmp_path / "pairs.jsonl"
    pairs.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in (
        {"id": "a", "lang": "de", "side": "src", "text": "eins zwei"}, {"id": "b", "lang": "de", "side": "src", "text": "drei"},
        {"id": "x", "lang": "de", "side": "tgt", "text": "drei"}, {"id": "y", "lang": "de", "side": "tgt", "text": "eins zwei"},
        {"lang": "de", "link": ["a", "y"]}, {"lang": "de", "link": ["b", "x"]})))
    result = cli("retrieve", tmp_path / "st-model", "--task", "tatoeba", "--data", pairs, "--pooling", "model")
    assert result.exit_code == 0, result.stderr
    record = orjson.loads(result.stdout)
    assert record["value"] == 1.0 and record["params"]["pooling"] == "model" and record["params"]["layer"] is None
    result = cli("embed", tmp_path / "st-model", "-i", text, "-o", tmp_path / "st2", "--pooling", "model", "--layer", "1")
    assert result.exit_code == 2 and "--layer does not apply" in result.stderr
    result = cli("embed", tiny_xlmr / "encoder", "-i", text, "-o", tmp_path / "st3", "--pooling", "model")
    assert result.exit_code == 2 and "not a sentence-transformers model" in result.stderr
