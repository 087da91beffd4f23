"""Golden values on real XTREME files (../shared/data): the expected numbers were produced by the
reference implementations — seqeval 0.0.12 `f1_score/precision_score/recall_score` and the official
`mlqa_evaluation_v1.py` / SQuAD `evaluate-v1.1.py` — on the same deterministic predictions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from stilt_cli.core.model.metrics import qa, tagging
from tests.helpers import shift_every_7th, tag_sentences

pytestmark = pytest.mark.realdata


def _need(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"{path} is absent")
    return path


@pytest.mark.parametrize("relative, expected", [
    ("udpos/xtreme_format/test-en.tsv", (0.7681063838378399, 0.8267968648131783, 0.717195963353483)),
    ("udpos/xtreme_format/test-zh.tsv", (0.7581792725090721, 0.8177055512183096, 0.7067315375463892)),
    ("panx/xtreme_format/test-de.tsv", (0.6757513661202186, 0.6419024137036076, 0.7133689068358812)),
])
def test_span_f1_equals_seqeval_0_0_12_on_real_files(shared_data, relative, expected):
    gold = tag_sentences(_need(shared_data / relative))
    result = tagging.span_prf(shift_every_7th(gold), gold)
    assert (result["f1"], result["precision"], result["recall"]) == pytest.approx(expected, abs=1e-12)
    assert tagging.span_f1(gold, gold) == 1.0


def _squad_file(path: Path) -> tuple[dict[str, str], dict[str, list[str]]]:
    """Predictions: the first gold answer without its first word (one-word answers get a '.')."""
    data = json.loads(path.read_text(encoding="utf-8"))["data"]
    pred, gold = {}, {}
    for article in data:
        for paragraph in article["paragraphs"]:
            for question in paragraph["qas"]:
                answers = [a["text"] for a in question["answers"]]
                words = answers[0].split()
                pred[question["id"]] = " ".join(words[1:]) if len(words) > 1 else answers[0] + "."
                gold[question["id"]] = answers
    return pred, gold


@pytest.mark.parametrize("relative, lang, scorer, expected", [
    ("mlqa/MLQA_V1/dev/dev-context-de-question-de.json", "de", "mlqa", (44.7265625, 86.86424231156002)),
    ("xquad/xquad.zh.json", "zh", "mlqa", (92.26890756302521, 97.78825412598249)),
    ("xquad/xquad.de.json", "de", "squad", (39.91596638655462, 86.61915353790441)),
])
def test_qa_equals_official_scripts_on_real_files(shared_data, relative, lang, scorer, expected):
    pred, gold = _squad_file(_need(shared_data / relative))
    result = qa.mlqa(pred, gold, lang) if scorer == "mlqa" else qa.squad(pred, gold)
    assert (100 * result["exact_match"], 100 * result["f1"]) == pytest.approx(expected, abs=1e-9)
