from __future__ import annotations

from typing import Annotated

import typer

from stilt_cli.commands._common import Output, Quiet, Seed, XtremeVersion, guard, one_of, setup


def command(
    results: Annotated[list[str], typer.Argument(help="Result JSONL files or folders (read recursively); "
                                                      "NAME=PATH[,PATH...] names the run (arm) of every record "
                                                      "in those paths (a quoted glob is expanded by stilt).")],
    version: XtremeVersion = "xtreme",
    fmt: Annotated[str, typer.Option("--format", callback=one_of("stilt_cli.core.evaluation.summary_render:FORMATS"),
                                     help="table (default), jsonl (summary records), markdown, csv, latex (booktabs, a "
                                          "column per task) or html (one self-contained page).")] = "table",
    baseline: Annotated[str | None, typer.Option("--baseline", help="Run the deltas are taken against "
                                                                    "(default: the first run).")] = None,
    split: Annotated[str | None, typer.Option("--split", help="Only records of this split (default: test where a "
                                                              "task has several).")] = None,
    param: Annotated[list[str] | None, typer.Option("--param", help="KEY=VALUE: keep records whose params have "
                                                                    "this value (or lack KEY); repeatable.")] = None,
    ignore_param: Annotated[list[str] | None, typer.Option("--ignore-param",
                                                           help="Params key left out when "
                                                                "matching records; repeatable.")] = None,
    allow_partial: Annotated[bool, typer.Option("--allow-partial", help="Give category and overall scores over the "
                                                                        "tasks and languages present "
                                                                        "(marked *).")] = False,
    effect: Annotated[list[str] | None, typer.Option("--effect", help="BASE:ARM (repeatable): print the arms' "
                                                     "scores and the paired effects ARM − BASE per language, task "
                                                     "and overall with two-level bootstrap 95% CIs instead of the "
                                                     "score table.")] = None,
    resamples: Annotated[int, typer.Option("--resamples", help="Bootstrap resamples for the 95% CIs.", min=100)] = 9999,
    seed: Seed = 0,
    output: Output = None,
    quiet: Quiet = False,
) -> None:
    """The XTREME score table of one or more runs: per-task language means, categories, overall, and
    per-task / per-language deltas against a baseline (mean ± sd over seeds, paired bootstrap 95% CI).

    With --effect BASE:ARM: each arm's task and overall scores and the paired effects ARM − BASE (per
    language, task and overall; seeds paired by index), each with a two-level bootstrap 95% CI that
    resamples languages, then seeds within each language."""
    setup(quiet)
    with guard(output):
        from stilt_cli.core.evaluation.summary import SummaryConfig, parse_params

        config = SummaryConfig(results=list(results), version=version, baseline=baseline, split=split,
                               params=parse_params(param), ignore_params=tuple(ignore_param or ()),
                               partial=allow_partial, seed=seed, resamples=resamples)
        if effect:
            from stilt_cli.core.analysis.effects import report as effect_report

            effect_report(config, effect, fmt, output)
        else:
            from stilt_cli.core.evaluation.summary_render import report

            report(config, fmt, output)
