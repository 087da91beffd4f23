"""Alignment measures: CKA identities and invariances, cosine gap and retrieval by hand, `stilt align`."""

from __future__ import annotations

import numpy as np
import orjson
import pytest

from stilt_cli.core.retrieval import alignment


def _random(n=50, d=8, seed=0):
    return np.random.default_rng(seed).standard_normal((n, d))


def test_cka_of_identical_inputs_is_one():
    x = _random()
    assert alignment.linear_cka(x, x) == pytest.approx(1.0, abs=1e-12)


def test_cka_invariances():
    x = _random()
    rotation, _ = np.linalg.qr(np.random.default_rng(1).standard_normal((8, 8)))
    assert alignment.linear_cka(x, 3.5 * x @ rotation) == pytest.approx(1.0, abs=1e-10)  # orthogonal + isotropic
    assert alignment.linear_cka(x, x + 7.0) == pytest.approx(1.0, abs=1e-10)  # translation (centred)
    y = _random(seed=2)
    assert alignment.linear_cka(x, y) == pytest.approx(alignment.linear_cka(y, x))  # symmetric
    assert alignment.linear_cka(x, y) < 0.5  # independent noise
    stretch = np.diag([10.0] + [1.0] * 7)
    assert alignment.linear_cka(x, x @ stretch) < 0.999  # not invariant to anisotropic scaling


def test_measures_by_hand():
    # three pairs in 2-D: cos(pairs) = 1, 1, .83; the expected values are recomputed from the cosine matrix
    src = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    tgt = np.array([[2.0, 0.0], [0.0, 3.0], [1.0, 0.2]])
    found = alignment.measures(src, tgt)
    a = src / np.linalg.norm(src, axis=1, keepdims=True)
    b = tgt / np.linalg.norm(tgt, axis=1, keepdims=True)
    cos = a @ b.T
    pairs = np.diag(cos).mean()
    random = (cos.sum() - np.trace(cos)) / 6
    assert found["cosine_pairs"] == pytest.approx(pairs)
    assert found["cosine_random"] == pytest.approx(random)
    assert found["cosine_gap"] == pytest.approx(pairs - random)
    # xx -> en: src2 = (1,1) is closest to tgt2 = (1,.2) (cos .83 vs .71 for tgt0 and tgt1): all three hit
    assert found["retrieval_accuracy"]["xx2en"] == 1.0
    # en -> xx: tgt2 (1,.2) is closer to src0 (cos .98) than to src2 (.83): a miss
    assert found["retrieval_accuracy"]["en2xx"] == pytest.approx(2 / 3)


def test_align_cli_pairs_tsv_and_task_data(cli, tiny_xlmr, tmp_path):
    pairs = tmp_path / "pairs.tsv"
    pairs.write_text("Der Hund schläft.\tThe dog sleeps.\nIch trinke Kaffee.\tI drink coffee.\n"
                     "Das Wetter ist schön.\tThe weather is nice.\n")
    result = cli("align", tiny_xlmr, "--pairs", pairs, "--langs", "de", "--layer", "all", "--plot", tmp_path)
    assert result.exit_code == 0, result.stderr
    rows = [orjson.loads(line) for line in result.stdout.splitlines()]
    assert {r["kind"] for r in rows} == {"alignment"} and {r["lang"] for r in rows} == {"de"}
    per_layer = {}
    for row in rows:
        per_layer.setdefault(row["params"]["layer"], []).append((row["metric"], row["params"].get("direction")))
    assert sorted(per_layer) == [0, 1, 2]
    assert sorted(per_layer[1]) == sorted([("retrieval_accuracy", "en2xx"), ("retrieval_accuracy", "xx2en"),
                                           ("cosine_pairs", None), ("cosine_random", None), ("cosine_gap", None),
                                           ("cka", None)])
    assert all(r["n"] == 3 for r in rows)
    assert (tmp_path / "align-pairs.png").read_bytes()[:4] == b"\x89PNG"

    # identical "translations": the cosine of pairs is 1 and CKA is 1 at every layer
    data = tmp_path / "copies.jsonl"
    texts = ["eins zwei drei", "vier fünf", "sechs sieben acht neun"]
    rows = [{"id": f"s{i}", "lang": "fr", "side": "src", "text": t} for i, t in enumerate(texts)]
    rows += [{"id": f"t{i}", "lang": "fr", "side": "tgt", "text": t} for i, t in enumerate(texts)]
    rows += [{"lang": "fr", "link": [f"s{i}", f"t{i}"]} for i in range(3)]
    data.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in rows))
    result = cli("align", tiny_xlmr, "--task", "tatoeba", "--data", data)
    assert result.exit_code == 0, result.stderr
    found = {r["metric"]: r["value"] for r in map(orjson.loads, result.stdout.splitlines())}
    assert found["cosine_pairs"] == pytest.approx(1.0, abs=2e-3) and found["cka"] == pytest.approx(1.0, abs=2e-3)


def test_align_cli_usage_errors(cli, tiny_xlmr, tmp_path):
    pairs = tmp_path / "pairs.tsv"
    pairs.write_text("a\tb\nc\td\n")
    result = cli("align", tiny_xlmr, "--pairs", pairs)
    assert result.exit_code == 2 and "needs --langs" in result.stderr
    result = cli("align", tiny_xlmr)
    assert result.exit_code == 2 and "either --pairs FILE or --task TASK" in result.stderr
    pairs.write_text("only one column\n")
    result = cli("align", tiny_xlmr, "--pairs", pairs, "--langs", "de")
    assert result.exit_code == 1 and f"{pairs}:1: expected 'sentence<TAB>English translation'" in result.stderr
