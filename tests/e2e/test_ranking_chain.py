"""The XTREME-R ranking chain on a tiny model: pretrain-load (fixture) -> target lareqa / mewsli-x (a dual
encoder, one tower) -> evaluate (records + predictions in XTREME's layout) -> score the exported files ->
summary --xtreme-version xtreme-r."""

from __future__ import annotations

import json

import orjson
import pytest

from tests import ranking_data as rd
from tests import train_data as td
from tests.helpers import ok_rows, write, write_jsonl


@pytest.fixture(scope="module")
def trained(tiny_xlmr, tmp_path_factory):
    """Both ranking heads, trained a few steps: {task: (checkpoint, data dir)}."""
    from tests.helpers import invoke

    root = tmp_path_factory.mktemp("ranking")
    squad = write_jsonl(root / "squad.jsonl", td.questions(32))  # QA examples: LAReQA trains on SQuAD
    lareqa = invoke("target", tiny_xlmr, "--task", "lareqa", "--data", squad, "--preset", "xtreme",
                    "--max-steps", "4", "-o", root / "lareqa")
    assert lareqa.exit_code == 0, lareqa.stderr
    assert "a dual encoder is not selected on dev data; the last weights are kept" in lareqa.stderr
    data = rd.mewsli_x(rd.xquad_r(root / "data"))
    mewsli = invoke("target", tiny_xlmr, "--task", "mewsli-x", "--data-dir", data, "--max-steps", "3",
                    "--batch-size", "4", "-o", root / "mewsli")
    assert mewsli.exit_code == 0, mewsli.stderr
    return {"lareqa": root / "lareqa", "mewsli-x": root / "mewsli", "data": data, "root": root}


def test_the_dual_encoder_checkpoint(trained):
    from safetensors.torch import load_file
    from transformers import AutoModel

    manifest = json.loads((trained["lareqa"] / "stilt.json").read_text())
    assert manifest["heads"]["lareqa"]["type"] == "dual-encoder"
    stage = manifest["lineage"][-1]
    # scripts/train_lareqa.sh: lr 2e-5, effective batch 16 in micro-batches of 4, lengths 96 / 256
    config = stage["config"]
    assert (config["lr"], config["grad_accum"], config["warmup_steps"], config["weight_decay"]) == (2e-5, 4, 0, 0.0)
    assert config["tasks"]["lareqa"]["batch_size"] == 16 and config["tasks"]["lareqa"]["max_length"] == 256
    assert config["tasks"]["lareqa"]["query_length"] == 96 and config["sources"]["lr"] == "preset:xtreme"
    head = load_file(str(trained["lareqa"] / "heads" / "lareqa" / "head.safetensors"))
    assert set(head) == {"dense.weight", "dense.bias", "logit_scale"} and float(head["logit_scale"]) != 100.0
    assert AutoModel.from_pretrained(trained["lareqa"] / "encoder").config.model_type == "xlm-roberta"


def test_evaluate_ranks_and_exports_what_score_reads_back(cli, trained):
    out = trained["root"] / "out"
    rows = ok_rows(cli("evaluate", trained["lareqa"], "--task", "lareqa", "--data-dir", trained["data"],
                       "--export-xtreme", out / "xtreme", "-o", "-"))
    assert [(r["lang"], r["metric"], r["n"], r["protocol"]) for r in rows] == [
        (lang, "map@20", 3, "xtreme-r") for lang in ("de", "en", "es")]
    assert rows[0]["params"] == {"head": "lareqa", "max_length": 256, "query_length": 96}
    assert rows[0]["details"]["candidates"] == 15
    ranked = json.loads((out / "xtreme" / "lareqa" / "test-de.json").read_text())
    assert sorted(ranked) == ["q1_de", "q2_de", "q3_de"] and all(len(r) == 15 for r in ranked.values())
    # gold in the same layout, from the reader: the exported rankings score what evaluate reported
    from stilt_cli.core.data.readers import xquadr

    for lang in ("de", "en", "es"):
        gold = {r["id"]: r["gold"] for r in xquadr.read(trained["data"], [lang]) if r["side"] == "query"}
        write(out / "gold" / "lareqa" / f"test-{lang}.json", json.dumps(gold))
    scored = ok_rows(cli("score", "--predictions", out / "xtreme", "--labels", out / "gold",
                         "--xtreme-version", "xtreme-r"))
    assert [r["value"] for r in scored] == pytest.approx([r["value"] for r in rows])
    (out / "lareqa.jsonl").write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in rows))


def test_mewsli_x_chain_to_the_summary(cli, trained):
    out = trained["root"] / "mx"
    rows = ok_rows(cli("evaluate", trained["mewsli-x"], "--task", "mewsli-x", "--data-dir", trained["data"],
                       "--save-predictions", out / "jsonl", "-o", "-"))
    assert [(r["lang"], r["n"]) for r in rows] == [("de", 2), ("es", 1)]
    assert rows[0]["params"]["max_length"] == 128  # no preset: the dual encoder's type default
    saved = [json.loads(line) for line in (out / "jsonl" / "mewslix" / "test-de.jsonl").read_text().splitlines()]
    assert [s["id"] for s in saved] == ["m-de-1", "m-de-2"] and sorted(saved[0]["prediction"]) == sorted(rd.ENTITIES)
    results = out / "results.jsonl"
    results.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in rows))
    summary = cli("summary", results, "--xtreme-version", "xtreme-r", "--format", "jsonl", "--resamples", "200")
    assert summary.exit_code == 0, summary.stderr
    table = {(r["params"]["level"], r["task"], r["lang"]): r for r in map(orjson.loads, summary.stdout.splitlines())}
    task = table[("task", "mewsli-x", "all")]
    assert task["value"] == pytest.approx(sum(r["value"] for r in rows) / 2) and task["partial"]
    assert table[("overall", "xtreme-r", "all")]["value"] is None
    assert "mewsli-x: 2 of 11 XTREME-R languages" in summary.stderr
    # the untrained parent, for the before/after question: retrieve on the same set
    before = ok_rows(cli("retrieve", trained["mewsli-x"], "--task", "mewsli-x", "--data-dir", trained["data"]))
    assert [r["lang"] for r in before] == ["de", "es"]
