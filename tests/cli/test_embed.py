"""`stilt embed` end to end: JSONL, text and stdin inputs, --if-exists, bad input, sentence-transformers pooling."""

from __future__ import annotations

import numpy as np
import orjson

from stilt_cli.core.retrieval import encoder
from tests.helpers import EMBED_TEXTS, all_layers


def test_embed_cli_jsonl_and_text_inputs(cli, tiny_xlmr, tmp_path):
    source = tmp_path / "in.jsonl"
    source.write_bytes(b"".join(orjson.dumps({"id": f"s{i}", "text": t}) + b"\n" for i, t in enumerate(EMBED_TEXTS)))
    result = cli("embed", tiny_xlmr, "--input", source, "-o", tmp_path / "out")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    vectors = np.load(tmp_path / "out.npy")
    assert vectors.shape == (len(EMBED_TEXTS), 64) and vectors.dtype == np.float16
    assert (tmp_path / "out.ids").read_text().split("\n")[:-1] == [f"s{i}" for i in range(len(EMBED_TEXTS))]
    meta = orjson.loads((tmp_path / "out.json").read_bytes())
    assert meta["layers"] == [2] and meta["pooling"] == "mean" and meta["rows"] == len(EMBED_TEXTS)
    reference = all_layers(encoder.load(str(tiny_xlmr)), EMBED_TEXTS)[2]
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
        {"id": "a", "lang": "de", "side": "src", "text": "eins zwei"},
        {"id": "b", "lang": "de", "side": "src", "text": "drei"},
        {"id": "x", "lang": "de", "side": "tgt", "text": "drei"},
        {"id": "y", "lang": "de", "side": "tgt", "text": "eins zwei"},
        {"lang": "de", "link": ["a", "y"]}, {"lang": "de", "link": ["b", "x"]})))
    result = cli("retrieve", tmp_path / "st-model", "--task", "tatoeba", "--data", pairs, "--pooling", "model")
    assert result.exit_code == 0, result.stderr
    record = orjson.loads(result.stdout)
    assert record["value"] == 1.0 and record["params"]["pooling"] == "model" and record["params"]["layer"] is None
    result = cli("embed", tmp_path / "st-model", "-i", text, "-o", tmp_path / "st2",
                 "--pooling", "model", "--layer", "1")
    assert result.exit_code == 2 and "--layer does not apply" in result.stderr
    result = cli("embed", tiny_xlmr / "encoder", "-i", text, "-o", tmp_path / "st3", "--pooling", "model")
    assert result.exit_code == 2 and "not a sentence-transformers model" in result.stderr
