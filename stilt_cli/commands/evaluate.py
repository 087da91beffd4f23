"""`stilt evaluate`: zero-shot per-language evaluation of a trained head, as result records."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from stilt_cli.commands._common import (
    DataDir,
    DataFiles,
    Device,
    Format,
    Langs,
    Output,
    Quiet,
    guard,
    known_tasks,
    one_of,
    setup,
)

TABLE = ["task", "lang", "split", "metric", "value", "n", "protocol"]  # --format table


def command(
    checkpoint: Annotated[Path, typer.Argument(help="A stilt checkpoint with the task's head (from `stilt target`, "
                                                    "or `stilt intermediate` for intermediate tasks).")],
    task: Annotated[str, typer.Option("--task", "-t", callback=known_tasks, help="Task to evaluate, e.g. xnli, pawsx, "
                                                                                 "udpos, panx, xquad, "
                                                           "mlqa (xquad/mlqa use the squad_v1 head).")],
    langs: Langs = None,
    split: Annotated[str | None, typer.Option("--split", help="Split to evaluate (default: test, or dev where the "
                                                              "task has no test split, e.g. tydiqa; with --data, the "
                                                              "split the file's examples name).")] = None,
    data_dir: DataDir = None,
    data: DataFiles = None,
    output: Output = None,
    save_predictions: Annotated[Path | None, typer.Option(
        "--save-predictions", help="Also write predictions: DIR/<task>/<split>-<lang>.jsonl, one {id, prediction} "
                                   "per example (`stilt score` reads them).")] = None,
    export_xtreme: Annotated[Path | None, typer.Option(
        "--export-xtreme", help="Also write predictions in the XTREME submission layout: "
                                "DIR/<task>/<split>-<lang>.{tsv,json}.")] = None,
    batch_size: Annotated[int, typer.Option("--batch-size", min=1, help="Rows per inference batch "
                                                                         "(length-sorted, padded per batch).")] = 64,
    max_length: Annotated[int | None, typer.Option("--max-length", min=8, help="Maximum tokens per input (QA: per "
                                                   "window); default: the length the head was trained with.")] = None,
    doc_stride: Annotated[int | None, typer.Option("--doc-stride", min=1, help="QA: tokens of overlap between "
                                                   "context windows; default: as trained.")] = None,
    query_length: Annotated[int | None, typer.Option("--query-length", min=8, help="Dual encoders (lareqa, mewsli-x): "
                                                     "maximum tokens per query; default: as trained.")] = None,
    max_answer_length: Annotated[int, typer.Option("--max-answer-length", min=1, help="QA: longest answer span in "
                                                                                      "tokens.")] = 30,
    max_examples: Annotated[int | None, typer.Option("--max-examples", min=1, help="Only the first N examples of "
                                                     "each language (quick runs; recorded in params).")] = None,
    device: Device = None,
    precision: Annotated[str, typer.Option("--precision", callback=one_of("stilt_cli.core.training.config:PRECISIONS"),
                                           help="auto: bf16 autocast on CUDA (fp16 without bf16), fp32 on CPU and MPS; "
                                                "bf16 or fp16 on CPU run torch's CPU autocast.")] = "auto",
    fmt: Format = "jsonl",
    quiet: Quiet = False,
) -> None:
    """Evaluate a checkpoint's task head zero-shot in every language of the task (or --langs) with the
    official XTREME metrics: one result record per task, language and metric (stdout or -o).

    A split without gold labels gets predictions (--save-predictions / --export-xtreme) but no score.
    Ranking tasks (lareqa, mewsli-x) rank every language's queries against one shared candidate pool
    with the dual-encoder head and report map@20.
    MLQA cross-language pairs are asked for as context-question, e.g. --langs en-de."""
    setup(quiet)
    with guard(output):
        from stilt_cli.core.console import emit
        from stilt_cli.core.evaluation.evaluate import EvaluateConfig, run

        config = EvaluateConfig(
            checkpoint=checkpoint, task=task, langs=langs, split=split, data=data, data_dir=data_dir,
            save_predictions=save_predictions, export_xtreme=export_xtreme, batch_size=batch_size,
            max_length=max_length, doc_stride=doc_stride, query_length=query_length,
            max_answer_length=max_answer_length, max_examples=max_examples, device=device, precision=precision)
        emit(run(config), fmt, output, columns=TABLE)
