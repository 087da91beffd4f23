"""LAReQA's training pairs from a real SQuAD v1.1 file (XQuAD's English file is a verbatim SQuAD v1.1 dev
subset, SOURCES.md §2): the `squad-rank` reader with inferred sentence breaks keeps every question and puts
its answer inside its gold sentence. (Mewsli-X and XQuAD-R are not in ../shared/data.)"""

from __future__ import annotations

import pytest

from stilt_cli.core.data.readers import read_file

pytestmark = pytest.mark.realdata


def test_squad_questions_find_the_sentence_that_holds_their_answer(shared_data):
    path = shared_data / "xquad" / "xquad.en.json"
    if not path.is_file():
        pytest.skip(f"{path} is absent")
    qa = {e["id"]: e for e in read_file("squad-json", path, _spec("xquad"), "test", "en")}
    rows = read_file("squad-rank", path, _spec("lareqa"), "train", "en")
    candidates = {r["id"]: r for r in rows if r["side"] == "candidate"}
    queries = {r["id"]: r for r in rows if r["side"] == "query"}
    assert len(queries) == len(qa) == 1190
    assert len(candidates) > 4 * 240  # 240 paragraphs, several sentences each
    inside = sum(qa[qid]["answers"][0]["text"] in candidates[queries[f"{qid}_en"]["gold"][0]]["text"] for qid in qa)
    assert inside / len(qa) >= 0.99  # the breaker splits inside an answer for at most 1 %


def _spec(name):
    from stilt_cli.core import tasks

    return tasks.get(name)
