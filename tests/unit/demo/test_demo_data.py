"""`stilt data demo`: real multilingual demo tasks built offline from Babel's CLDR data and Django's catalogs."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from stilt_cli.core.data import offline_text
from stilt_cli.core.demo import builder
from stilt_cli.core.errors import OutputExistsError, UsageError
from stilt_cli.core.textio import read_jsonl
from tests.helpers import refuse_connections

TASK_FILES = ["demo-names/train.jsonl", "demo-names/dev.jsonl", "demo-names/test.jsonl",
              "demo-territory-pairs/train.jsonl", "demo-territory-pairs/dev.jsonl", "demo-parallel/test.jsonl"]


def _rows(path: Path) -> list[dict]:
    return [row for _, row in read_jsonl(path)]


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    """The default build (~20 languages), made with every socket connection refused: none is tried."""
    out = tmp_path_factory.mktemp("demo") / "data"
    with pytest.MonkeyPatch.context() as patch:
        attempts = refuse_connections(patch)
        builder.build(out)
    assert attempts == [], f"the demo data builder tried to use the network: {attempts}"
    return out


def test_default_build_has_every_file_and_20_plus_languages(built):
    readme = json.loads((built / "README.json").read_text(encoding="utf-8"))
    assert readme["schema"] == "stilt.demo/1"
    assert set(readme["inputs"]["packages"]) == {"babel", "cldr", "django"}
    for file in TASK_FILES:
        assert (built / file).is_file(), file
    names_test = readme["tasks"]["demo-names"]["splits"]["test"]["per_lang"]
    assert len(names_test) >= 21 and "en" in names_test  # English + >= 20 zero-shot languages
    assert min(names_test.values()) >= 150
    parallel = readme["tasks"]["demo-parallel"]["splits"]["test"]["per_lang"]
    assert len(parallel) >= 20 and min(parallel.values()) == builder.DEFAULT_PER_LANG
    assert readme["tasks"]["demo-names"]["splits"]["train"]["examples"] >= 300
    assert readme["tasks"]["demo-territory-pairs"]["splits"]["train"]["examples"] >= 500
    # the README's counts are the files' counts
    test_rows = _rows(built / "demo-names/test.jsonl")
    assert Counter(r["lang"] for r in test_rows) == Counter(names_test)


def test_names_classes_are_balanced(built):
    train = _rows(built / "demo-names/train.jsonl")
    counts = Counter(r["label"] for r in train)
    assert set(counts) == {"language", "territory", "currency", "script"} and len(set(counts.values())) == 1
    by_lang: dict[str, Counter] = {}
    for row in _rows(built / "demo-names/test.jsonl"):
        by_lang.setdefault(row["lang"], Counter())[row["label"]] += 1
    for lang, c in by_lang.items():
        total = sum(c.values())
        assert len(c) == 4, (lang, c)
        assert max(c.values()) / total <= 0.35 and min(c.values()) / total >= 0.05, (lang, c)


def test_names_splits_are_disjoint_and_do_not_leak_english(built):
    train, dev, test = (_rows(built / f"demo-names/{s}.jsonl") for s in ("train", "dev", "test"))
    assert {r["lang"] for r in train + dev} == {"en"}

    def key(row):
        return row["id"].split(":", 1)[1]  # "de:territory:FR" -> "territory:FR"

    assert not {key(r) for r in train} & {key(r) for r in dev}
    assert not {key(r) for r in test} & {key(r) for r in train + dev}
    english_train = {r["text_a"].casefold() for r in train + dev}
    english_of = {key(r): r["text_a"].casefold() for r in test if r["lang"] == "en"}
    seen: dict[tuple[str, str], str] = {}
    for row in test:
        text = row["text_a"].casefold()
        assert not any(ch.isdigit() for ch in text)
        if row["lang"] != "en":
            assert text != english_of.get(key(row)) and text not in english_train, row
        assert seen.setdefault((row["lang"], text), row["label"]) == row["label"], row  # one label per name
    assert len(seen) == len(test)  # and no duplicate names within a language


def test_names_come_from_cldr_and_are_parallel(built):
    from babel import Locale

    test = _rows(built / "demo-names/test.jsonl")
    table = {"language": "languages", "territory": "territories", "currency": "currencies", "script": "scripts"}
    for row in test[::97]:
        lang, kind, key = row["id"].split(":")
        assert kind == row["label"]
        assert " ".join(getattr(Locale.parse(lang), table[kind])[key].split()) == row["text_a"]
    # the same held-out keys in every language: German and Japanese share most of them
    keys = {lang: {r["id"].split(":", 1)[1] for r in test if r["lang"] == lang} for lang in ("en", "de", "ja")}
    assert len(keys["de"] & keys["ja"]) >= 0.9 * min(len(keys["de"]), len(keys["ja"]))
    assert keys["de"] <= keys["en"] and keys["ja"] <= keys["en"]


def test_territory_pairs_are_balanced_true_and_apart_from_the_target_test(built):
    from babel.languages import get_territory_language_info

    train, dev = (_rows(built / f"demo-territory-pairs/{s}.jsonl") for s in ("train", "dev"))
    for rows in (train, dev):
        labels = Counter(r["label"] for r in rows)
        assert labels["related"] == labels["unrelated"] > 0
        assert len({r["id"] for r in rows}) == len(rows)
    assert not {r["text_a"] for r in train} & {r["text_a"] for r in dev}  # dev asks about unseen territories
    names_test = {r["text_a"].casefold() for r in _rows(built / "demo-names/test.jsonl") if r["lang"] == "en"}
    assert not names_test & {r[f].casefold() for r in train + dev for f in ("text_a", "text_b")}
    for row in (train + dev)[::23]:
        _, territory, kind, item = row["id"].split(":")
        if kind == "currency":
            tender = offline_text.territory_currencies(territory, demo_dates()[0], demo_dates()[1])
            assert (item in tender) == (row["label"] == "related"), row
        else:
            spoken = {code.split("_")[0] for code in get_territory_language_info(territory)}
            assert (item in spoken) == (row["label"] == "related"), row


def demo_dates():
    from stilt_cli.core.demo.names import TENDER_FROM, TENDER_TO

    return TENDER_FROM, TENDER_TO


def test_parallel_links_align_by_msgid(built):
    rows = _rows(built / "demo-parallel/test.jsonl")
    text = {r["id"]: r for r in rows if "link" not in r}
    assert len(text) == len([r for r in rows if "link" not in r])  # ids unique
    links = [r for r in rows if "link" in r]
    for lang in ("de", "ja", "sw"):
        catalog = offline_text.django_catalog(lang)
        by_english: dict[str, set[str]] = {}
        for msgid, translation in catalog.items():
            by_english.setdefault(offline_text.strip_placeholders(msgid), set()).add(
                offline_text.strip_placeholders(translation))
        mine = [r["link"] for r in links if r["lang"] == lang]
        assert len(mine) == builder.DEFAULT_PER_LANG
        srcs = [text[s]["text"] for s, _ in mine]
        tgts = [text[t]["text"] for _, t in mine]
        assert len(set(srcs)) == len(srcs) and len(set(tgts)) == len(tgts)  # no duplicates
        for (s, t), src, tgt in zip(mine, srcs, tgts, strict=True):
            assert text[s]["side"] == "src" and text[t]["side"] == "tgt" and text[s]["lang"] == lang
            assert src.casefold() != tgt.casefold()  # untranslated strings are left out
            assert src in by_english[tgt]  # the source is Django's translation of that English msgid
            assert "%(" not in src and "{" not in tgt


def test_parallel_spot_check_known_msgids():
    from stilt_cli.core.demo import parallel

    rows = parallel.build(["de", "fr", "ja"], seed=0, per_lang=10_000)
    text = {r["id"]: r["text"] for r in rows if "link" not in r}
    pairs = {(r["lang"], text[r["link"][1]]): text[r["link"][0]] for r in rows if "link" in r}
    for msgid in ("Save and add another", "This field is required.", "Enter a valid email address.", "Log in again"):
        for lang in ("de", "fr", "ja"):
            assert pairs[(lang, msgid)] == offline_text.django_catalog(lang)[msgid]
    assert pairs[("fr", "Save and add another")] == "Enregistrer et ajouter un nouveau"
    # two msgids with one translation make an ambiguous gold: only one of them is kept
    assert offline_text.django_catalog("de")["Change password"] == offline_text.django_catalog("de")["Password change"]
    assert (("de", "Change password") in pairs) + (("de", "Password change") in pairs) == 1
    # placeholders are stripped on both sides of a pair
    en = {e: s for (lang, e), s in pairs.items() if lang == "de"}
    assert "Ensure this value has at most character (it has )." in en
    # parallel ids: the same msgid has the same index in every language
    ids = {(r["lang"], text[r["link"][1]]): r["link"][0].split(":")[1] for r in rows if "link" in r}
    assert ids[("de", "Log in again")] == ids[("fr", "Log in again")] == ids[("ja", "Log in again")]


def test_same_inputs_same_bytes_and_rerun_skips(built, tmp_path):
    again = tmp_path / "again"
    builder.build(again)
    for file in TASK_FILES + ["README.json"]:
        assert (again / file).read_bytes() == (built / file).read_bytes(), file
    before = {f: (again / f).stat().st_mtime_ns for f in TASK_FILES}
    readme = builder.build(again)  # default --if-exists skip: up to date, nothing rewritten
    assert {f: (again / f).stat().st_mtime_ns for f in TASK_FILES} == before
    assert readme["key"] == json.loads((built / "README.json").read_text())["key"]


def test_other_inputs_need_overwrite_and_changed_files_are_noticed(tmp_path):
    out = tmp_path / "small"
    builder.build(out, langs=["de", "ja"], per_lang=20)
    with pytest.raises(OutputExistsError, match="other inputs"):
        builder.build(out, langs=["de", "ja"], per_lang=20, seed=1)
    with pytest.raises(OutputExistsError, match="already exists"):
        builder.build(out, langs=["de", "ja"], per_lang=20, if_exists="error")
    old = (out / "demo-names/train.jsonl").read_bytes()
    builder.build(out, langs=["de", "ja"], per_lang=20, seed=1, if_exists="overwrite")
    assert (out / "demo-names/train.jsonl").read_bytes() != old  # another seed, another split
    (out / "demo-parallel/test.jsonl").write_text("{}\n")
    with pytest.raises(OutputExistsError, match="files changed"):
        builder.build(out, langs=["de", "ja"], per_lang=20, seed=1)
    assert not (tmp_path / "small.partial").exists()


def test_refuses_to_replace_a_folder_that_is_not_demo_data(tmp_path):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    with pytest.raises(OutputExistsError, match="not a stilt demo folder"):
        builder.build(tmp_path / "mine", langs=["de"], per_lang=5, if_exists="overwrite")
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep me"


def test_stages_read_the_files_through_sources(built):
    from stilt_cli.core.data import sources

    german = sources.load_examples("demo-names", "test", ["de"], data_file=built / "demo-names/test.jsonl")
    assert german and {r["lang"] for r in german} == {"de"} and all(r["label"] for r in german)
    pairs = sources.load_examples("demo-territory-pairs", "train", data_file=built / "demo-territory-pairs/train.jsonl")
    assert {r["label"] for r in pairs} == {"related", "unrelated"}
    japanese = sources.load_examples("demo-parallel", "test", ["ja"], data_file=built / "demo-parallel/test.jsonl")
    assert sum("link" in r for r in japanese) == builder.DEFAULT_PER_LANG
    mapping = sources.parse_data_option([f"demo-names={built / 'demo-names/train.jsonl'}"])
    assert mapping == {"demo-names": str(built / "demo-names/train.jsonl")}


def test_registry_knows_the_demo_tasks():
    from stilt_cli.core import tasks

    names = tasks.get("demo-names")
    assert names.role == "demo" and names.type == "classification" and len(names.languages) >= 21
    assert names.labels == ("language", "territory", "currency", "script") and "demo" in names.hparams
    assert tasks.get("demo-territory-pairs").type == "pair-classification"
    assert tasks.get("demo-parallel").type == "retrieval"
    assert set(tasks.names("demo")) == {"demo-names", "demo-name-tags", "demo-territory-pairs", "demo-parallel"}
    assert tasks.get("demo-name-tags").type == "tagging"


def test_langs_option():
    assert builder.parse_langs(None) is None
    assert builder.parse_langs("de,en,JA") == ["de", "ja"]
    assert len(builder.parse_langs("all")) >= 50
    with pytest.raises(UsageError, match="not available"):
        builder.parse_langs("de,yo")  # a language stilt knows but Django does not translate into
    with pytest.raises(UsageError):
        builder.parse_langs("en")


def test_name_tags_follow_the_names(tmp_path):
    """demo-name-tags: the same examples as demo-names, every word BIO-tagged with the name's type."""
    from stilt_cli.core.demo import builder

    builder.build(tmp_path / "d", langs=["de", "ja"])
    names = {r["id"]: r for r in map(json.loads, (tmp_path / "d/demo-names/test.jsonl").read_text().splitlines())}
    tags = [json.loads(x) for x in (tmp_path / "d/demo-name-tags/test.jsonl").read_text().splitlines()]
    assert len(tags) == len(names)
    for row in tags:
        name = names[row["id"]]
        assert row["tokens"] == name["text_a"].split()
        assert row["tags"] == [f"B-{name['label']}"] + [f"I-{name['label']}"] * (len(row["tokens"]) - 1)
