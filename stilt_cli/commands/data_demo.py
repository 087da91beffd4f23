"""`stilt data demo`: build the offline demo tasks from text that installed packages ship."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from stilt_cli.commands._common import Langs, Quiet, Seed, guard, one_of, setup


def command(
    output: Annotated[Path, typer.Option("-o", "--output", help="Folder to write the demo tasks into "
                                         "(one sub-folder per task, one JSONL per split, plus README.json).")],
    langs: Langs = None,
    seed: Seed = 0,
    per_lang: Annotated[int, typer.Option("--per-lang", help="demo-parallel: UI strings per language (fewer where "
                                          "a catalog has fewer usable ones).")] = 200,
    if_exists: Annotated[str, typer.Option("--if-exists", callback=one_of("stilt_cli.core.atomic:IF_EXISTS"),
                                           help="When the folder exists: error, skip (same inputs "
                                           "only: a rerun does nothing) or overwrite.")] = "skip",
    quiet: Quiet = False,
) -> None:
    """Build three small real multilingual tasks offline, from Babel's CLDR data and Django's catalogs.

    demo-names (target: is a CLDR display name a language, territory, currency or script? train on English,
    test zero-shot in every language), demo-territory-pairs (English intermediate task: does this currency
    or language belong to this territory?) and demo-parallel (Tatoeba-style retrieval of Django UI strings,
    aligned by msgid). No network. Prints one JSON line per task and split (file, counts) on stdout.
    """
    setup(quiet)
    with guard(output):
        from stilt_cli.core.console import emit
        from stilt_cli.core.demo import builder

        readme = builder.build(output, langs=builder.parse_langs(langs), seed=seed,
                               per_lang=per_lang, if_exists=if_exists)
        emit(builder.summary_rows(readme, output), "jsonl", None)
