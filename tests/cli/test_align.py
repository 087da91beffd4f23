"""`stilt align`: pairs as TSV and as task data, per layer, with a plot; its usage and data errors."""

from __future__ import annotations

import orjson
import pytest


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
