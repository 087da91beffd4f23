"""`stilt data export | check | fetch | demo` through the real CLI: stdout is data, stderr one line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers import jsonl, write


@pytest.fixture
def xnli_dir(tmp_path):
    write(tmp_path / "xnli/dev-de.tsv", "a .\tb .\tneutral\nc\td\tentailment\n")
    write(tmp_path / "xnli/dev-en.tsv", "e\tf\tcontradiction\n")
    write(tmp_path / "xnli/test-en.tsv", "g\th\n")
    return tmp_path


def test_export_writes_canonical_jsonl_with_languages(cli, xnli_dir):
    result = cli("data", "export", "xnli", "--split", "dev", "--langs", "de,en", "--data-dir", xnli_dir)
    assert result.exit_code == 0, result.stderr
    rows = jsonl(result.stdout)
    assert [(r["lang"], r["text_a"], r["label"]) for r in rows] == [("de", "a .", "neutral"), ("de", "c", "entailment"),
                                                                    ("en", "e", "contradiction")]
    assert "3 examples (de 2, en 1)" in result.stderr


def test_export_to_file_reads_back_as_data(cli, xnli_dir, tmp_path):
    out = tmp_path / "out" / "xnli-dev.jsonl"
    result = cli("data", "export", "xnli", "--split", "dev", "--langs", "de", "--data-dir", xnli_dir, "-o", out,
                 "--limit", "2")
    assert result.exit_code == 0 and result.stdout == "" and f"-> {out}" in result.stderr
    from stilt_cli.core.data.sources import load_examples

    back = load_examples("xnli", "dev", ["de"], data_file=out)
    assert [r["text_a"] for r in back] == ["a .", "c"]


def test_export_unlabelled_test_split_says_so(cli, xnli_dir):
    result = cli("data", "export", "xnli", "--split", "test", "--langs", "en", "--data-dir", xnli_dir)
    assert result.exit_code == 0 and jsonl(result.stdout)[0]["unlabelled"] is True
    assert "1 without gold labels" in result.stderr


@pytest.mark.parametrize("args,code,message", [
    (["--langs", "ja"], 1, "language 'ja' is not a language of task xnli"),
    (["--langs", "qq"], 2, "--langs: unknown language 'qq'"),  # a usage error, found while options are parsed
    (["--langs", "fr"], 1, "no xnli dev file for 'fr' under .* looked for dev-fr.tsv, XNLI-1.0/xnli.dev.tsv"),
    (["--split", "tst"], 2, "unknown split of xnli 'tst' \\(did you mean 'test'"),
])
def test_export_bad_input_is_one_line(cli, xnli_dir, args, code, message):
    import re

    base = ["data", "export", "xnli", "--data-dir", str(xnli_dir)]
    if "--split" not in args:
        base += ["--split", "dev"]
    result = cli(*base, *args)
    assert result.exit_code == code and result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and re.search(message, lines[0]), lines


def test_export_unknown_task_and_bad_label(cli, tmp_path):
    result = cli("data", "export", "pawx", "--split", "dev")
    assert result.exit_code == 2 and "did you mean 'pawsx'" in result.stderr
    write(tmp_path / "dev-de.tsv", "a\tb\t2\n")
    result = cli("data", "export", "pawsx", "--split", "dev", "--langs", "de", "--data-dir", tmp_path)
    assert result.exit_code == 1 and "dev-de.tsv:1: label '2' is not in the label set of pawsx" in result.stderr


def test_export_without_data_dir_uses_the_hub_and_fails_offline_without_a_connection_attempt(cli, no_network):
    result = cli("data", "export", "xnli", "--split", "dev", "--langs", "de")
    assert result.exit_code == 1 and no_network == []
    assert "google/xtreme (XNLI)" in result.stderr and "--data-dir" in result.stderr


def test_check_lists_present_and_missing_with_names(cli, xnli_dir):
    result = cli("data", "check", "xnli", "--split", "dev", "--langs", "de,fr", "--data-dir", xnli_dir)
    assert result.exit_code == 1
    rows = {r["lang"]: r for r in jsonl(result.stdout)}
    assert rows["de"]["status"] == "present" and rows["de"]["files"] == [str(xnli_dir / "xnli/dev-de.tsv")]
    assert rows["de"]["format"] == "pair-tsv"
    assert rows["fr"]["status"] == "missing"
    assert rows["fr"]["looked_for"] == ["dev-fr.tsv", "XNLI-1.0/xnli.dev.tsv", "XNLI-1.0/xnli.dev.jsonl"]
    assert "1 of 2 task/split/language files missing" in result.stderr
    ok = cli("data", "check", "xnli", "--split", "dev", "--langs", "de,en", "--data-dir", xnli_dir, "--format", "table")
    assert ok.exit_code == 0 and "present" in ok.stdout and ok.stderr == ""


def test_check_several_tasks_and_the_hub_cache(cli, xnli_dir):
    result = cli("data", "check", "xnli", "mlqa", "--split", "dev", "--data-dir", xnli_dir)
    tasks = {r["task"] for r in jsonl(result.stdout)}
    assert tasks == {"xnli", "mlqa"}
    hub = cli("data", "check", "panx", "--split", "test", "--langs", "de")
    row = jsonl(hub.stdout)[0]
    assert hub.exit_code == 1 and row["source"] == "hub-cache" and row["status"] == "missing"
    assert row["looked_for"][0].startswith("google/xtreme@") and row["looked_for"][0].endswith("PAN-X.de")


def test_check_retrieval_tasks_use_their_own_readers(cli, tmp_path):
    result = cli("data", "check", "tatoeba", "--langs", "de", "--data-dir", tmp_path)
    row = jsonl(result.stdout)[0]
    assert result.exit_code == 1 and row["status"] == "missing" and any("deu" in n for n in row["looked_for"])


def test_fetch_offline_refuses_without_a_connection_attempt(cli, tmp_path, no_network):
    result = cli("data", "fetch", "xnli", "udpos", "--models", "xlm-roberta-base", "--to", tmp_path / "cache")
    assert result.exit_code == 1 and no_network == []
    assert "needs network" in result.stderr and result.stdout == ""


def test_data_help_lists_all_verbs_including_demo(cli):
    result = cli("data", "--help")
    assert result.exit_code == 0
    for verb in ("export", "check", "fetch", "demo"):
        assert verb in result.stdout


def test_check_opens_combined_files_and_reports_ambiguity(cli, tmp_path):
    header = "language\tgold_label\tsentence1\tsentence2\tpairID\n"
    write(tmp_path / "XNLI-1.0/xnli.dev.tsv", header + "ar\tneutral\ta\tb\t1\n")
    write(tmp_path / "a/dev-de.tsv", "a\tb\t1\n")
    write(tmp_path / "b/dev-de.tsv", "a\tb\t1\n")
    result = cli("data", "check", "xnli", "pawsx", "--split", "dev", "--langs", "ar,de,fr", "--data-dir", tmp_path)
    rows = {(r["task"], r["lang"]): r for r in jsonl(result.stdout)}
    assert rows[("xnli", "ar")]["status"] == "present" and rows[("xnli", "ar")]["format"] == "xnli-tsv"
    assert rows[("xnli", "fr")]["status"] == "missing"
    assert rows[("xnli", "fr")]["looked_for"][-1] == "xnli.dev.tsv holds only ar"
    for task in ("xnli", "pawsx"):  # dev-de.tsv in two unrelated folders: refused, not guessed
        assert rows[(task, "de")]["status"] == "ambiguous" and "several folders" in rows[(task, "de")]["looked_for"][0]
    with pytest.raises(KeyError):
        rows[("pawsx", "ar")]  # not a PAWS-X language: the check is per task


def test_demo_parallel_reads_through_data_dir(cli, tmp_path):
    """Gold link records carry no id: reading them through --data-dir must not trip the id de-duplication."""
    import orjson

    assert cli("data", "demo", "-o", tmp_path / "demo", "--langs", "de,fr", "--quiet").exit_code == 0
    result = cli("data", "export", "demo-parallel", "--split", "test", "--langs", "de", "--data-dir", tmp_path / "demo")
    assert result.exit_code == 0, result.stderr
    rows = [orjson.loads(line) for line in result.stdout.splitlines()]
    links = [r for r in rows if "link" in r]
    sentences = {r["id"] for r in rows if "id" in r}
    assert links and all(src in sentences and tgt in sentences for src, tgt in (r["link"] for r in links))


def _demo_cli(cli):
    return lambda *args: cli("data", "demo", *args)


def test_cli_writes_files_and_prints_one_row_per_split(cli, tmp_path):
    run = _demo_cli(cli)
    out = tmp_path / "d"
    result = run("-o", out, "--langs", "de,ja,sw", "--per-lang", "25")
    assert result.exit_code == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(r["task"], r["split"]) for r in rows] == [
        ("demo-names", "train"), ("demo-names", "dev"), ("demo-names", "test"),
        ("demo-name-tags", "train"), ("demo-name-tags", "dev"), ("demo-name-tags", "test"),
        ("demo-territory-pairs", "train"), ("demo-territory-pairs", "dev"), ("demo-parallel", "test")]
    assert rows[2]["languages"] == 4 and rows[8]["examples"] == 3 * 25 * 3  # src + tgt + link per pair
    assert all(Path(r["file"]).is_file() for r in rows)
    assert "wrote" in result.stderr and "{" not in result.stderr
    again = run("-o", out, "--langs", "de,ja,sw", "--per-lang", "25")
    assert again.exit_code == 0 and "up to date" in again.stderr and again.stdout == result.stdout


def test_cli_errors_are_one_line(cli, tmp_path):
    run = _demo_cli(cli)
    bad = run("-o", tmp_path / "x", "--langs", "de,xx")
    assert bad.exit_code == 2 and bad.stdout == ""
    assert bad.stderr.startswith("error: --langs: unknown language 'xx'") and bad.stderr.count("\n") == 1
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "a.txt").write_text("x")
    taken = run("-o", tmp_path / "taken", "--langs", "de")
    assert taken.exit_code == 2 and "not a stilt demo folder" in taken.stderr and taken.stderr.count("\n") == 1
