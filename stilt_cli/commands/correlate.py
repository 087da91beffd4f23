"""`stilt correlate`: per-language gains (RUN - BASELINE) against distance from English."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from stilt_cli.commands._common import Output, Plot, Quiet, Seed, checked_by, guard, one_of, setup
from stilt_cli.commands.distances import Features, Ref, UrielPlusData


def _covariates(value: str) -> None:
    from stilt_cli.core.analysis import covariates

    covariates.parse(value)


def _model_terms(value: str) -> None:
    from stilt_cli.core.analysis import model

    model.parse(value)


def command(
    baseline: Annotated[str, typer.Argument(help="Result records (JSONL, or '-') of the baseline, e.g. target-only.")],
    run: Annotated[str, typer.Argument(help="Result records of the run whose gain is measured, e.g. "
                                            "intermediate + target.")],
    task: Annotated[str | None, typer.Option("--task", help="Comma list of tasks to analyse (default: all in both "
                                                            "files).")] = None,
    metric: Annotated[str | None, typer.Option("--metric", help="Comma list of metrics (default: each task's main "
                                                                "metric; every metric of tasks stilt does not "
                                                                "know).")] = None,
    features: Features = None,
    covariates: Annotated[str | None, typer.Option(
        "--covariates", callback=checked_by(_covariates), help="Partial correlations controlling for: fertility "
        "(tokens per word of --checkpoint's tokenizer on the evaluation text), subword-overlap (share of the "
        "evaluation text's distinct subword types that also occur in the English evaluation text of the task) "
        "and/or pretrain-size (log10 GiB of pretraining text).")] = None,
    model: Annotated[str | None, typer.Option(
        "--model", callback=checked_by(_model_terms), help="Several predictors at once, e.g. "
        "'syntax+morphology+fertility' (any --features and --covariates names): OLS of the gain with standardised "
        "coefficients, bootstrap CIs, permutation p, VIF, per task and pooled (task fixed effects). Needs "
        "predictors + 3 languages.")] = None,
    rank: Annotated[str | None, typer.Option(
        "--rank", callback=checked_by(_model_terms), help="Rank measures by the share of the gain's variance each "
        "explains alone (R², within tasks), e.g. 'syntax,phonology,morphology,script,subword-overlap' (any "
        "--features and --covariates names): bootstrap CIs, rank intervals and the chance of ranking first, on the "
        "languages every measure covers.")] = None,
    checkpoint: Annotated[str | None, typer.Option("--checkpoint", help="Checkpoint or model folder whose tokenizer "
                                                                        "fertility and subword-overlap "
                                                                        "measure.")] = None,
    data_dir: Annotated[Path | None, typer.Option(
        "--data-dir", help="The task's files in their original release format (evaluation text for fertility and "
        "subword-overlap), and the UD CoNLL-U treebanks the ud-* features read.")] = None,
    data: Annotated[list[str] | None, typer.Option(
        "--data", help="Evaluation text for fertility / subword-overlap as canonical examples JSONL: TASK=FILE "
        "(repeatable). Without --data/--data-dir the Hub copy is used.")] = None,
    pretrain_sizes: Annotated[Path | None, typer.Option(
        "--pretrain-sizes", help="TSV of pretraining sizes (code, name, tokens_millions, size_gib, note); default: "
        "XLM-R's CC-100 table shipped with stilt.")] = None,
    seed: Seed = 0,
    correction: Annotated[str, typer.Option("--correction",
                                            callback=one_of("stilt_cli.core.analysis.stats:CORRECTIONS"),
                                            help="Multiple-comparison correction: holm or bh "
                                                                 "(Benjamini-Hochberg).")] = "holm",
    bootstrap: Annotated[int, typer.Option("--bootstrap", help="Bootstrap resamples for the 95% CIs.")] = 2000,
    permutations: Annotated[int, typer.Option("--permutations", help="Permutations for p-values (exact "
                                                                     "enumeration when a task has <= 8 "
                                                                     "languages).")] = 10000,
    ref: Ref = "en",
    urielplus_data: UrielPlusData = "released",
    plot: Plot = None,
    report: Annotated[Path | None, typer.Option(
        "--report", help="Also write a one-page markdown report (answer, correlations, regression, plots, "
        "definitions) to this file.")] = None,
    fmt: Annotated[str, typer.Option("--format", callback=one_of("stilt_cli.core.analysis.correlate_render:FORMATS"),
                                     help="jsonl (default), table, or latex (a booktabs table for a "
                                          "paper).")] = "jsonl",
    output: Output = None,
    quiet: Quiet = False,
) -> None:
    """Does the gain grow or shrink with distance from English? Pearson r and Spearman rho per task and pooled
    (task fixed effects), seeded bootstrap CIs, permutation p-values, Holm/BH correction, script and family
    factors, partial correlations; with --model, several predictors in one regression. Fewer than 4 shared
    languages (or, for --model, fewer than predictors + 3): exit 1."""
    setup(quiet)
    with guard(output):
        from stilt_cli.core.analysis import covariates as covariate_names
        from stilt_cli.core.analysis import model as model_terms
        from stilt_cli.core.analysis import typology
        from stilt_cli.core.analysis.correlate import CorrelateConfig, check, table_rows
        from stilt_cli.core.analysis.correlate import run as correlate
        from stilt_cli.core.console import emit
        from stilt_cli.core.data.sources import parse_data_option
        from stilt_cli.core.errors import comma_list

        config = CorrelateConfig(
            baseline=baseline, run=run, tasks=comma_list(task, "--task", empty_ok=True, all_word=None) or None,
            metrics=comma_list(metric, "--metric", empty_ok=True, all_word=None) or None,
            features=typology.parse_features(features), covariates=covariate_names.parse(covariates),
            model=model_terms.parse(model),
            rank=model_terms.parse(rank),
            checkpoint=checkpoint, data_dir=None if data_dir is None else str(data_dir),
            data_files=parse_data_option(data), pretrain_sizes=None if pretrain_sizes is None else str(pretrain_sizes),
            seed=seed, correction=correction, n_boot=bootstrap, n_perm=permutations, ref=ref,
            urielplus_data=typology.check_mode(urielplus_data), plot=None if plot is None else str(plot),
            report=None if report is None else str(report),
        )
        check(config)
        rows = correlate(config)
        if fmt == "latex":
            from stilt_cli.core.analysis.correlate_render import as_latex
            from stilt_cli.core.console import put

            put(as_latex(rows), output)
        else:
            emit(table_rows(rows) if fmt == "table" else rows, fmt, output)
