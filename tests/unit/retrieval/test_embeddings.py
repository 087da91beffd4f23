"""Sentence embeddings: pooling, layers, order, early stop, cache (`stilt embed` itself: tests/cli/test_embed.py)."""

from __future__ import annotations

import numpy as np
import pytest

from stilt_cli.core.errors import DataError
from stilt_cli.core.retrieval import embed_cache, encoder, extract
from tests.helpers import EMBED_TEXTS, all_layers


# xlmr-xl: pre-layer-norm blocks, only the last hidden state is normed; eurobert: no `encoder.layer`, a full pass
@pytest.mark.parametrize("kind", ["xlmr", "mbert", "mt5", "xlmr-xl", "eurobert"])
def test_early_stop_single_layer_equals_full_pass(tiny_ckpts, kind):
    embedder = encoder.load(str(tiny_ckpts[kind]))
    full = all_layers(embedder, EMBED_TEXTS)
    one = np.empty((1, len(EMBED_TEXTS), full.shape[2]), dtype=np.float32)
    embedder.compute(EMBED_TEXTS, extract.EmbedSpec((1,)), one)  # stops after block 1 of 2
    np.testing.assert_allclose(one[0], full[1], atol=1e-6)


def test_mean_pooling_includes_special_tokens_and_keeps_input_order(tiny_xlmr):
    import torch

    embedder = encoder.load(str(tiny_xlmr))
    full = all_layers(embedder, EMBED_TEXTS)  # batched, length-sorted, padded
    model, tokenizer = embedder.encoder.model, embedder.encoder.tokenizer
    for row, text in enumerate(EMBED_TEXTS):
        encoded = tokenizer(text, return_tensors="pt")
        assert encoded["input_ids"][0, 0] == tokenizer.cls_token_id  # <s> ... </s> are part of the mean
        with torch.no_grad():
            hidden = model(input_ids=encoded["input_ids"], output_hidden_states=True).hidden_states
        for layer in range(len(hidden)):
            np.testing.assert_allclose(full[layer, row], hidden[layer][0].mean(0).numpy(), atol=1e-5)
    cls = all_layers(embedder, EMBED_TEXTS, pooling="cls")
    with torch.no_grad():
        first = model(**{k: v for k, v in tokenizer(EMBED_TEXTS[1], return_tensors="pt").items()
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
    vectors = embed_cache.embed(embedder, EMBED_TEXTS, extract.EmbedSpec((0, 1, 2)), cache=False)
    assert vectors.shape == (3, len(EMBED_TEXTS), embedder.encoder.hidden_size)


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


@pytest.mark.parametrize("value", [0.25, float("inf")], ids=["plausible", "impossible"])
def test_a_changed_embedding_cache_entry_is_recomputed(tiny_xlmr, value, capsys):
    """Same size, header intact: only the content digest tells the entry was damaged."""
    embedder = encoder.load(str(tiny_xlmr))
    texts = [f"damage probe {value} sentence {i}" for i in range(4)]
    spec = extract.EmbedSpec((1,))
    first = np.array(embed_cache.embed(embedder, texts, spec))
    entry = embed_cache._entry(embedder, embed_cache.texts_fingerprint(texts), spec)
    stored = np.load(entry, mmap_mode="r+")
    stored[0, 1, 0] = value
    stored.flush()
    del stored
    capsys.readouterr()
    again = np.array(embed_cache.embed(embedder, texts, spec))
    err = capsys.readouterr().err
    assert err.count("is damaged") == 1 and "embedding cache miss" in err
    assert np.array_equal(first, again)
    embed_cache.embed(embedder, texts, spec)
    assert "embedding cache hit" in capsys.readouterr().err
