"""Paper-ready tables: `summary --format latex|html` and `correlate --format latex` against golden files,
and a structural check of the LaTeX (balanced environments, booktabs rules, one cell per column in
every row, escaped special characters in run, task and language names).

The golden files are in tests/golden/; after an intended change of the output, regenerate them with
`STILT_UPDATE_GOLDEN=1 pytest tests/unit/evaluation/test_paper_tables.py` and review the diff."""

from __future__ import annotations

import os
import re
from pathlib import Path

import orjson
import pytest

from stilt_cli.core import latex, records
from stilt_cli.core.analysis.correlate_render import as_latex as correlate_latex
from stilt_cli.core.evaluation.summary import SummaryConfig, build
from stilt_cli.core.evaluation.summary_render import as_html, as_latex

GOLDEN = Path(__file__).resolve().parents[2] / "golden"
RUNS = ("base", "mnli_v2 & co #1")  # a run name full of LaTeX's special characters
# (run, seed) -> lang -> XNLI accuracy; "x_y%" is a language code of a user's own records
XNLI = {("base", 1): {"de": 0.70, "fr": 0.72, "x_y%": 0.50}, ("base", 2): {"de": 0.69, "fr": 0.74, "x_y%": 0.52},
        (RUNS[1], 1): {"de": 0.75, "fr": 0.73, "x_y%": 0.55}, (RUNS[1], 2): {"de": 0.74, "fr": 0.70, "x_y%": 0.57}}
TATOEBA = {"base": {"de": 0.50, "fr": 0.40}, RUNS[1]: {"de": 0.70, "fr": 0.38}}


def _summary(tmp_path: Path):
    files = []
    for (run, seed), scores in XNLI.items():
        ckpt = {"path": f"runs/s{seed}", "name": f"s{seed}", "manifest_sha256": "x"}
        rows = [records.make("eval", "xnli", lang, "accuracy", v, split="test", seed=seed, checkpoint=ckpt,
                             params={"head": "xnli"}) for lang, v in scores.items()]
        if seed == 1:  # one seed of retrieval: no sd
            rows += [records.make("retrieval", "tatoeba", lang, "accuracy", v, split="test", seed=seed,
                                  checkpoint=ckpt, params={"layer": 8}) for lang, v in TATOEBA[run].items()]
        path = tmp_path / f"{len(files)}.jsonl"
        path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in rows))
        files.append(f"{run}={path}")
    return build(SummaryConfig(results=files, resamples=200, seed=0, partial=True))  # partial: an average


def _correlation_rows() -> list[dict]:
    rows = []
    for task, metric, value, low, high, p, adjusted in (
            ("xnli", "pearson", -0.49, -0.69, -0.18, 0.017, 0.034),
            ("xnli", "spearman", 0.02, -0.45, 0.5, 0.923, 0.923),
            ("my_task", "spearman", 0.61, 0.1, 0.9, 0.0004, 0.0008), ("pooled", "slope", -1.5, -2.25, -0.5, 0.01, 0.02),
            ("xnli", "mean_diff", None, None, None, None, None)):
        rows.append(records.make("correlation", task, "all", metric, value, params={"feature": "syntax", "ref": "en"},
                                 ci_low=low, ci_high=high, p_value=p, p_adjusted=adjusted, n_langs=23,
                                 correction="holm over 4 spearman tests (features x tasks, pooled included)"))
    return rows


def _golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("STILT_UPDATE_GOLDEN") == "1":
        path.parent.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8"), f"{name} differs from its golden file"


def check_latex(text: str) -> None:
    """Structure every stilt LaTeX table must have."""
    stack, rules, width = [], [], None
    for number, line in enumerate(text.splitlines(), 1):
        if line.startswith("%"):
            continue
        for kind, env in re.findall(r"\\(begin|end)\{(\w+)\}", line):
            if kind == "begin":
                stack.append(env)
            else:
                assert stack and stack.pop() == env, f"line {number}: \\end{{{env}}} closes nothing open"
        spec = re.match(r"\\begin\{tabular\}\{([a-z]+)\}", line)
        if spec:
            width, rules = len(spec.group(1)), []
        if line in (r"\toprule", r"\midrule", r"\bottomrule"):
            rules.append(line)
        if line == r"\end{tabular}":
            assert rules[0] == r"\toprule" and rules[-1] == r"\bottomrule" and set(rules[1:-1]) <= {r"\midrule"}
        assert r"\hline" not in line and "|" not in line, f"line {number}: booktabs tables have no \\hline or |"
        if line.endswith(r"\\"):
            assert len(re.findall(r"(?<!\\)&", line)) == width - 1, f"line {number}: not {width} cells: {line}"
        # outside math, no special character may stand unescaped (cell separators aside)
        bare = re.sub(r"\$[^$]*\$", "", line.replace(r"\$", "").replace(r"\\", ""))
        assert not re.findall(r"(?<!\\)[%#_~^]", bare), f"line {number}: unescaped special character: {line}"
        assert not re.findall(r"(?<!\\)&", bare) or line.endswith(r"\\"), f"line {number}: stray &: {line}"
    assert not stack, f"unclosed environments: {stack}"


def test_summary_latex_matches_its_golden_file_and_is_well_formed(tmp_path):
    text = as_latex(_summary(tmp_path))
    check_latex(text)
    assert r"mnli\_v2 \& co \#1" in text and r"x\_y\%" in text  # run and language names escaped
    assert r"\textbf{73.0}\,{\scriptsize$\pm$1.4}" in text  # the better run in bold, sd over its two seeds
    assert "$-$" in text and "+20.0" in text  # signed deltas, a typeset minus
    _golden("summary.tex", text)


def test_summary_html_is_one_self_contained_page(tmp_path):
    text = as_html(_summary(tmp_path))
    assert text.startswith("<!DOCTYPE html>") and text.rstrip().endswith("</html>")
    assert "<link" not in text and "<script" not in text and "src=" not in text  # nothing fetched
    assert "mnli_v2 &amp; co #1" in text and text.count("<table>") == 2
    _golden("summary.html", text)


def test_correlate_latex_matches_its_golden_file_and_is_well_formed():
    text = correlate_latex(_correlation_rows())
    check_latex(text)
    assert r"my\_task" in text and r"\textbf{$-$0.49}" in text and "$<$0.001" in text
    assert text.index("my") < text.index("pooled")  # the pooled analysis comes last
    _golden("correlate.tex", text)


def test_the_structural_check_catches_what_it_is_for():
    good = latex.render(latex.Table("lr", [["a", "b"]], [[["x", "1"]]]))
    check_latex(good)
    for broken in (good.replace(r"\end{table}", ""), good.replace(r"\bottomrule", r"\hline"),
                   good.replace("x & 1", "x_1 & 1"), good.replace("x & 1", "x & 1 & 2")):
        with pytest.raises(AssertionError):
            check_latex(broken)
    assert latex.escape("a_b&c%d$e#f{g}h~i^j\\k") == \
        r"a\_b\&c\%d\$e\#f\{g\}h\textasciitilde{}i\textasciicircum{}j\textbackslash{}k"
