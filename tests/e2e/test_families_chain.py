"""Every verified encoder family through the whole chain, from a local folder in Hugging Face layout:
pretrain-load -> intermediate (QA, tagging, multiple choice, + continued MLM where the family has an MLM
head) -> target -> evaluate -> retrieve -> align -> embed; and the saved encoder reproduces the source
model run with its own transformers class (max abs difference <= 1e-5), which catches an encoder saved
under the wrong class (umT5 as mT5 drops its per-layer attention biases)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests import family_models as fm
from tests import train_data as td
from tests.helpers import ok_rows, write_jsonl

pytestmark = pytest.mark.slow  # `make test-fast` leaves it out; `make test` runs it

GERMAN = ["Der Hund schläft im Garten.", "Ich trinke gern Kaffee.", "Das Wetter ist heute schön.",
          "Wir fahren morgen nach Berlin.", "Sie liest ein Buch."]
ENGLISH = ["The dog sleeps in the garden.", "I like coffee.", "The weather is nice today.",
           "We are driving to Berlin tomorrow.", "She is reading a book."]
FAMILY = {"xlmr": "xlmr", "xlmv-250k": "xlmr", "mbert": "mbert", "labse": "labse", "mdeberta": "deberta-v2",
          "rembert": "rembert", "modernbert": "modernbert", "mt5": "mt5", "umt5": "umt5", "t5": "t5",
          "xlmr-xl": "xlm-roberta-xl", "eurobert": "eurobert"}
SLOW = ("xlmr-xl", "eurobert")
MODEL_CLASS = {"mt5": "MT5EncoderModel", "umt5": "UMT5EncoderModel", "t5": "T5EncoderModel"}
QUICK = ("--max-steps", "3", "--batch-size", "4", "--max-length", "48", "--doc-stride", "16", "--eval-every", "0")


def _class_available(case: str) -> str | None:
    import transformers

    kind = fm.SOURCES[case][0]
    needed = {"mdeberta": "DebertaV2ForMaskedLM", "rembert": "RemBertForMaskedLM",
              "modernbert": "ModernBertForMaskedLM",
              "umt5": "UMT5EncoderModel", "xlmr-xl": "XLMRobertaXLForMaskedLM", "eurobert": "EuroBertForMaskedLM",
              **fm.SEQ2SEQ}.get(kind)
    if needed and not hasattr(transformers, needed):
        return f"transformers {transformers.__version__} has no {needed}"
    return None


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("family-data")
    text = root / "text.txt"
    text.write_text("\n".join(td.text_lines(24)) + "\n", encoding="utf-8")
    evaluation = [dict(r, lang=lang, id=f"{lang}-{r['id']}") for lang, seed in (("en", 1), ("de", 2))
                  for r in td.nli(6, seed=seed)]
    return {
        "qa": write_jsonl(root / "qa.jsonl", td.questions(12)),
        "tags": write_jsonl(root / "tags.jsonl", td.entities(12)),
        "mc": write_jsonl(root / "mc.jsonl", td.choices(12)),
        "nli": write_jsonl(root / "nli.jsonl", td.nli(12)),
        "nli_eval": write_jsonl(root / "nli-eval.jsonl", evaluation),
        "pairs": write_jsonl(root / "pairs.jsonl", td.parallel("de", GERMAN, ENGLISH, [(i, i) for i in range(5)])),
        "text": text,
    }


@pytest.fixture(scope="module")
def sources(tmp_path_factory):
    root = tmp_path_factory.mktemp("family-sources")
    return lambda case: (fm.save_source(case, root) if not (root / fm.SOURCES[case][1]).is_dir()
                         else root / fm.SOURCES[case][1])


def _manifest(path):
    return json.loads((path / "stilt.json").read_text())


@pytest.mark.parametrize("case", [pytest.param(c, marks=pytest.mark.slow) if c in SLOW else c for c in fm.SOURCES])
def test_family_chain(case, cli, data, sources, tmp_path):
    reason = _class_available(case)
    if reason:
        pytest.skip(reason)
    src = sources(case)
    base, inter, target = tmp_path / "base", tmp_path / "inter", tmp_path / "target"

    result = cli("pretrain-load", src, "-o", base)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "" and "warning" not in result.stderr
    encoder = _manifest(base)["encoder"]
    assert encoder["family"] == FAMILY[case] and encoder["family_verified"] is True
    assert encoder["model_class"] == MODEL_CLASS.get(case, "AutoModel")
    assert encoder["retrieval_layer_source"]
    _assert_faithful(case, src, base, encoder["model_class"])

    has_mlm = fm.SOURCES[case][3] == "mlm"
    assert (_manifest(base)["mlm_head"] is not None) == has_mlm
    tasks = "squad_v1,ccg,hellaswag"
    files = ("--data", f"squad_v1={data['qa']}", "--data", f"ccg={data['tags']}", "--data", f"hellaswag={data['mc']}")
    if not has_mlm:  # refused in one line, then the chain goes on without it
        refused = cli("intermediate", base, "--task", tasks, *files, "--mlm-data", data["text"], "-o", inter, *QUICK)
        assert refused.exit_code == 1 and "has no pretrained MLM head" in refused.stderr
        assert "Traceback" not in refused.stderr and len(refused.stderr.strip().splitlines()) <= 2
    mlm = ("--mlm-data", data["text"], "--sampling", "uniform") if has_mlm else ()
    result = cli("intermediate", base, "--task", tasks, *files, *mlm, "-o", inter, *QUICK)
    assert result.exit_code == 0, result.stderr
    manifest = _manifest(inter)
    assert {h["type"] for h in manifest["heads"].values()} == {"qa", "tagging", "multiple-choice"}
    if has_mlm:
        from safetensors.torch import load_file

        before = load_file(str(base / "mlm_head" / "head.safetensors"))
        after = load_file(str(inter / "mlm_head" / "head.safetensors"))
        assert set(before) == set(after) and any(not (before[k] == after[k]).all() for k in before)

    result = cli("target", inter, "--task", "xnli", "--data", data["nli"], "-o", target, *QUICK)
    assert result.exit_code == 0, result.stderr
    records = ok_rows(cli("evaluate", target, "--task", "xnli", "--data", data["nli_eval"], "--split", "dev"))
    assert sorted(r["lang"] for r in records) == ["de", "en"] and all(r["n"] == 6 for r in records)

    rows = ok_rows(cli("retrieve", target, "--task", "tatoeba", "--data", data["pairs"]))
    assert rows[0]["params"]["layer"] == encoder["retrieval_layer"] and rows[0]["n"] == 5
    aligned = ok_rows(cli("align", target, "--pairs", data["pairs"], "--langs", "de"))
    assert aligned and all(r["lang"] == "de" for r in aligned)
    result = cli("embed", target, "--input", data["text"], "-o", tmp_path / "vectors", "--dtype", "float32")
    assert result.exit_code == 0, result.stderr
    vectors = np.load(tmp_path / "vectors.npy")
    assert vectors.shape == (24, encoder["hidden_size"]) and np.isfinite(vectors).all()


def _assert_faithful(case, src, base, model_class):
    """The saved encoder, loaded with the class the manifest names, vs the source with its own class."""
    import torch
    import transformers

    from stilt_cli.core.encoders.families import encoder_inputs

    tokenizer = transformers.AutoTokenizer.from_pretrained(base / "encoder")
    cls = transformers.AutoModel if model_class == "AutoModel" else getattr(transformers, model_class)
    saved = cls.from_pretrained(base / "encoder")
    saved.eval()
    source_config = transformers.AutoConfig.from_pretrained(src)
    assert saved.config.model_type == source_config.model_type
    texts = [GERMAN[0] + " " + ENGLISH[0] * 3, "kurz"]  # > 16 tokens: ModernBERT's local window is in play
    batch = encoder_inputs(saved.config, tokenizer(texts, padding=True, return_tensors="pt"))
    with torch.inference_mode():
        ours = saved(**batch).last_hidden_state
    theirs = fm.source_hidden(case, src, batch)
    mask = batch["attention_mask"].bool()
    assert float((ours - theirs)[mask].abs().max()) <= 1e-5


def test_cls_pooling_is_refused_on_a_family_without_cls(cli, data, sources, tmp_path):
    if _class_available("umt5"):
        pytest.skip(_class_available("umt5"))
    base = tmp_path / "umt5"
    assert cli("pretrain-load", sources("umt5"), "-o", base).exit_code == 0
    result = cli("retrieve", base, "--task", "tatoeba", "--data", data["pairs"], "--pooling", "cls")
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.strip().splitlines() == [
        "error: --pooling cls needs an encoder with a CLS token; umt5 (umt5) has none: its first vector is the "
        "first word's (hint: use --pooling mean)"]
    embedded = cli("embed", base, "--input", data["text"], "-o", tmp_path / "v", "--pooling", "cls")
    assert embedded.exit_code == 2 and embedded.stderr == result.stderr and not (tmp_path / "v.npy").exists()
