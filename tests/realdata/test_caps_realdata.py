"""The character caps (core/data/caps.py) change no real example: on every XTREME and intermediate-task
slice in ../shared/data (skipped when absent), no field reaches its cap at the XTREME lengths, and where
a much shorter --max-length makes the caps cut real texts, the features are those of the uncut texts."""

from __future__ import annotations

import pytest

from stilt_cli.core import tasks
from stilt_cli.core.data import caps, features
from stilt_cli.core.data.readers import read_file
from stilt_cli.core.encoders.load import tokenizer_from_dir
from tests.realdata.test_readers_realdata import FILES

pytestmark = pytest.mark.realdata
XTREME_LENGTH = {"qa": 384}  # 128 elsewhere


@pytest.fixture(scope="module")
def real(shared_data) -> list:
    """(file, spec, examples) of every slice in this copy of shared/data, read once."""
    out = []
    for rel, fmt, task, split, lang, *_ in FILES:
        if (shared_data / rel).exists():
            spec = tasks.get(task)
            out.append((rel, spec, read_file(fmt, shared_data / rel, spec, split, lang)))
    return out


def _cut(example: dict, head_type: str, max_length: int) -> bool:
    """Whether any field of `example` is longer than its cap at `max_length`."""
    for name, value in example.items():
        if name == "tokens":
            if caps.words(value, max_length) != list(value):
                return True
        elif name == "context" and head_type == "qa":
            if caps.context(value, max_length) != value:
                return True
        elif name in ("choices",):
            if any(caps.text(c, max_length) != c for c in value):
                return True
        elif name in ("text_a", "text_b", "text", "question", "context") and isinstance(value, str):
            if caps.text(value, max_length) != value:
                return True
    return False


def test_no_real_field_reaches_its_cap_at_the_xtreme_lengths(real):
    seen = 0
    for rel, spec, rows in real:
        length = XTREME_LENGTH.get(spec.head_type, 128)
        cut = [r.get("id") for r in rows if _cut(r, spec.head_type, length)]
        assert not cut, (rel, cut[:5])
        seen += len(rows)
    assert seen > 50_000


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["xlmr", "mbert"])
def test_real_texts_cut_at_a_short_max_length_keep_their_features(real, tiny_ckpts, kind, monkeypatch):
    """--max-length 16 makes the text cap 512 characters and the word cap 64 words: the longest real
    sentences, contexts and tagged sentences are cut (up to 40 per file, the longest first)."""
    monkeypatch.setenv("STILT_NO_CACHE", "1")
    tokenizer = tokenizer_from_dir(tiny_ckpts[kind] / "encoder")
    checked = 0
    by_task: dict[str, tuple] = {}  # one featurization per task (each costs a tokenizer fingerprint)
    for _, spec, rows in real:
        if spec.head_type in ("classification", "multiple-choice", "tagging"):
            long_rows = sorted((r for r in rows if _cut(r, spec.head_type, 16)), key=lambda r: -len(str(r)))[:40]
            by_task.setdefault(spec.name, (spec, []))[1].extend(long_rows)
    for spec, long_rows in by_task.values():
        if not long_rows:
            continue
        labels = sorted({str(r["label"]) for r in long_rows if r.get("label") is not None}) or ["x"]
        if spec.head_type == "tagging":
            labels = sorted({t for r in long_rows for t in r.get("tags") or []}) or ["O"]

        def columns(rows=long_rows, spec=spec, labels=labels):
            feats = features.featurize(rows, tokenizer, task=spec.name, head_type=spec.head_type, split="test",
                                       max_length=16, labels=labels if spec.head_type != "multiple-choice" else ())
            return {k: (v.tolist() if hasattr(v, "tolist") else list(v)) for k, v in feats.columns.items()}

        capped = columns()
        with monkeypatch.context() as uncapped:
            uncapped.setattr(caps, "text", lambda value, max_length: value)
            uncapped.setattr(caps, "words", lambda values, max_length: list(values))
            assert columns() == capped, spec.name
        checked += len(long_rows)
    assert checked > 0
