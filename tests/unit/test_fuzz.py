"""Property-based tests: whatever bytes a file holds, every reader either reads it or stops with a
`DataError` (exit 1, one line, naming the file) — never another exception, never a traceback.

Covered: every original-format reader in `core/data/readers/` (through `readers.read_file`, the entry
each format is read by), the Tatoeba and BUCC folder readers, the JSON Lines reader, the result-record
parser (`records.read`), the canonical-example reader (`examples.read`) for every task type, and a
checkpoint manifest. Inputs are raw bytes, text built from each format's own vocabulary (tabs, field
names, labels, CoNLL-U and SQuAD fragments), and JSON documents whose values have arbitrary types.
Derandomized with a modest example budget, so CI is reproducible and quick.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stilt_cli.core import checkpoint, records, tasks, textio
from stilt_cli.core.data import examples
from stilt_cli.core.data.readers import FORMATS, bucc, read_file, tatoeba
from stilt_cli.core.data.readers.layout import candidates
from stilt_cli.core.errors import DataError, StiltError

# STILT_FUZZ_EXAMPLES=5000 for a deeper, randomized search (then failures are saved and replayed)
DEEP = int(os.environ.get("STILT_FUZZ_EXAMPLES", "0"))
FUZZ = settings(max_examples=DEEP or 40, deadline=None, derandomize=not DEEP, database=None if not DEEP else
                settings.default.database, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

# ---- inputs ------------------------------------------------------------------------------------
VOCAB = [
    "\t", "\n", "\r\n", "\n\n", " ", ",", '"', "{", "}", "[", "]", ":", "-", "_", "#", "=", "\ufeff", "é", "中",
    "\x00", "0", "1", "2", "-1", "3.5", "null", "true", "entailment", "neutral", "contradiction", "contradictory",
    "O", "B-LOC", "I-PER", "NOUN", "_", "de", "en", "en:", "de:", "sentence1", "sentence2", "gold_label", "label",
    "premise", "hypothesis", "index", "id", "text", "# text = a b", "# sent_id = 1",
    "1\ta\ta\tNOUN\t_\t_\t0\troot\t_\t_",
    "1-2\tab\t_\t_\t_\t_\t_\t_\t_\t_", '"data"', '"paragraphs"', '"qas"', '"answers"', '"answer_start"',
    '"context"', '"question"', '"id"', '"title"', '"is_impossible"', '"label"', '"text"', '"premise"',
    '"hypothesis"', '"ctx"', '"endings"', '"choice1"', '"choice2"', '"answerKey"', '"stem"', '"choices"',
    '"answerA"', '"gold_label"', '"sentence1"', '"sentence2"', '"language"', "context", "question", "answer0",
    "de-000001", "en-000001", "xnli", "answer", "A", "B",
]
text_files = st.lists(st.sampled_from(VOCAB), max_size=60).map("".join).map(lambda t: t.encode("utf-8"))
KEYS = ["id", "lang", "text", "text_a", "text_b", "label", "tokens", "tags", "context", "question", "answers",
        "choices", "side", "link", "kind", "task", "metric", "value", "split", "n", "params", "schema", "data",
        "paragraphs", "qas", "answer_start", "premise", "hypothesis", "gold_label", "sentence1", "sentence2",
        "ctx", "endings", "title", "start", "seed", "checkpoint", "details", "protocol"]
scalars = st.one_of(st.none(), st.booleans(), st.integers(-3, 5), st.floats(allow_nan=True),
                    st.sampled_from(["", "en", "de", "xx", "../x", "entailment", "0", "B-LOC", "src", "tgt",
                                     "eval", "accuracy", "stilt.record/1", "stilt.record/9", "a b"]))
json_values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.sampled_from(KEYS), inner, max_size=6)), max_leaves=20)
json_objects = st.dictionaries(st.sampled_from(KEYS), json_values, max_size=8)
jsonl_files = st.lists(st.one_of(json_objects, json_values), max_size=5).map(
    lambda rows: "".join(json.dumps(r) + "\n" for r in rows).encode())
json_files = json_values.map(lambda v: json.dumps(v).encode())
any_file = st.one_of(st.binary(max_size=400), text_files, jsonl_files, json_files)


@pytest.fixture(scope="module")
def scratch():
    with tempfile.TemporaryDirectory() as folder:
        yield Path(folder)


def _clean_failure(exc: BaseException, path: Path | None = None) -> None:
    """A failure must be a DataError on one line; when the reader got a file path, it names the file."""
    assert isinstance(exc, DataError), f"{type(exc).__name__} instead of DataError: {exc}"
    line = exc.one_line()
    assert "\n" not in line and line
    if path is not None:
        assert path.name in line, line


def _format_targets() -> list[tuple[str, str, str, str]]:
    """(format, task, split, language) for every format some task spec reads."""
    out = {}
    for spec in tasks.registry().values():
        for split in spec.splits:
            for candidate in candidates(spec, split):
                if candidate.format in FORMATS and candidate.format not in out:
                    langs = list(spec.all_languages("xtreme-r")) or ["en"]
                    out[candidate.format] = (candidate.format, spec.name, split, "en" if "en" in langs else langs[0])
    return [out[f] for f in FORMATS if f in out]


def test_every_format_has_a_fuzz_target():
    assert {t[0] for t in _format_targets()} == set(FORMATS)


@pytest.mark.parametrize("fmt, task, split, lang", _format_targets(), ids=lambda v: str(v))
def test_original_format_readers(scratch, fmt, task, split, lang):
    spec = tasks.get(task)
    path = scratch / f"{fmt}.input"

    @FUZZ
    @given(data=any_file)
    def check(data: bytes) -> None:
        path.write_bytes(data)
        try:
            rows = read_file(fmt, path, spec, split, lang)
        except StiltError as exc:
            _clean_failure(exc, path)
        except Exception as exc:  # noqa: BLE001 - the property under test
            pytest.fail(f"{fmt}: {type(exc).__name__}: {exc} on {data[:120]!r}")
        else:
            for row in rows:
                examples.validate(dict(row), spec, "fuzz")  # what a reader returns is a valid example

    check()


def test_tatoeba_folder_reader(scratch):
    folder = scratch / "tatoeba"
    folder.mkdir(exist_ok=True)

    @FUZZ
    @given(src=any_file, tgt=any_file, labels=st.one_of(st.none(), any_file))
    def check(src: bytes, tgt: bytes, labels: bytes | None) -> None:
        for old in folder.iterdir():
            old.unlink()
        if labels is None:  # LASER's originals: the gold is the line alignment
            (folder / "tatoeba.deu-eng.deu").write_bytes(src)
            (folder / "tatoeba.deu-eng.eng").write_bytes(tgt)
        else:  # XTREME's sorted copy with its labels file
            (folder / "de-en.de").write_bytes(src)
            (folder / "de-en.en").write_bytes(tgt)
            (folder / "test-de.tsv").write_bytes(labels)
        try:
            tatoeba.read(folder, ["de"], "test")
        except StiltError as exc:
            _clean_failure(exc)
        except Exception as exc:  # noqa: BLE001
            pytest.fail(f"tatoeba: {type(exc).__name__}: {exc}")

    check()


def test_bucc_folder_reader(scratch):
    folder = scratch / "bucc"
    folder.mkdir(exist_ok=True)
    names = bucc.expected_files("de", "dev")

    @FUZZ
    @given(files=st.tuples(any_file, any_file, any_file))
    def check(files: tuple[bytes, bytes, bytes]) -> None:
        for name, data in zip(names, files):
            (folder / Path(name).name).write_bytes(data)
        try:
            bucc.read(folder, ["de"], "dev")
        except StiltError as exc:
            _clean_failure(exc)
        except Exception as exc:  # noqa: BLE001
            pytest.fail(f"bucc: {type(exc).__name__}: {exc}")

    check()


def test_jsonl_and_record_parser(scratch):
    path = scratch / "records.jsonl"

    @FUZZ
    @given(data=st.one_of(any_file, jsonl_files))
    def check(data: bytes) -> None:
        path.write_bytes(data)
        for read in (lambda: list(textio.read_jsonl(path)), lambda: list(records.read(path)),
                     lambda: records.read_many([path])):
            try:
                rows = read()
            except StiltError as exc:
                _clean_failure(exc, path)
            except Exception as exc:  # noqa: BLE001
                pytest.fail(f"{type(exc).__name__}: {exc} on {data[:120]!r}")
            else:
                for row in rows:
                    row = row[1] if isinstance(row, tuple) else row
                    assert isinstance(row, dict)

    check()


@pytest.mark.parametrize("task", ["xnli", "sst2", "udpos", "xquad", "xcopa", "tatoeba", "mlm"])
def test_canonical_example_reader(scratch, task):
    spec = tasks.get(task)
    path = scratch / f"{task}.jsonl"

    @FUZZ
    @given(data=st.one_of(any_file, jsonl_files))
    def check(data: bytes) -> None:
        path.write_bytes(data)
        try:
            rows = list(examples.read(path, spec))
        except StiltError as exc:
            _clean_failure(exc, path)
        except Exception as exc:  # noqa: BLE001
            pytest.fail(f"{type(exc).__name__}: {exc} on {data[:120]!r}")
        else:
            for row in rows:  # a language that passed names files later: never a path
                assert "/" not in row["lang"] and ".." not in row["lang"]

    check()


def test_checkpoint_manifest(scratch):
    folder = scratch / "ckpt"
    (folder / "encoder").mkdir(parents=True, exist_ok=True)

    @FUZZ
    @given(data=st.one_of(any_file, json_objects.map(lambda o: json.dumps(
        {"schema": "stilt.checkpoint/1", **o}).encode())))
    def check(data: bytes) -> None:
        (folder / "stilt.json").write_bytes(data)
        try:
            ckpt = checkpoint.load(folder)
            ckpt.encoder_dir, ckpt.heads, ckpt.lineage()  # noqa: B018 - what every stage touches first
        except StiltError as exc:
            _clean_failure(exc)
        except Exception as exc:  # noqa: BLE001
            pytest.fail(f"{type(exc).__name__}: {exc} on {data[:120]!r}")

    check()
