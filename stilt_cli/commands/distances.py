"""`stilt distances`: each language's typological distance to English (or --ref) per feature."""

from __future__ import annotations

from typing import Annotated

import typer

from stilt_cli.commands._common import Format, Output, Quiet, checked_by, guard, known_langs, one_of, setup


def _features(value: str) -> None:
    from stilt_cli.core.analysis import typology

    typology.parse_features(value)


Features = Annotated[str | None, typer.Option(
    "--features", callback=checked_by(_features), help="Comma list of syntax, phonology, inventory (URIEL via lang2vec), genetic, geographic, "
    "featural (URIEL+); default: all six.")]
Ref = Annotated[str, typer.Option("--ref", callback=known_langs, help="Reference language the distances are measured from.")]
UrielPlusData = Annotated[str, typer.Option(
    "--urielplus-data", callback=one_of("stilt_cli.core.analysis.typology:URIELPLUS_DATA"), help="URIEL+ database for genetic/geographic/featural: 'released' (as shipped) or "
    "'integrated' (adds Grambank, APICS, eWAVE, BDPROTO, SAPHON, Glottolog; about a minute once, then cached).")]


def command(
    langs: Annotated[str, typer.Option("--langs", callback=known_langs, help="Comma list of languages (ISO 639-1, or 639-3), or 'all' "
                                                       "for every language stilt knows.")],
    features: Features = None,
    ref: Ref = "en",
    urielplus_data: UrielPlusData = "released",
    fmt: Format = "jsonl",
    output: Output = None,
    quiet: Quiet = False,
) -> None:
    """Distances to English from URIEL (lang2vec) and URIEL+: one 'distance' record per language and feature;
    gaps are records with value null and a missing_reason."""
    setup(quiet)
    with guard(output):
        from stilt_cli.core.analysis import typology
        from stilt_cli.core.console import emit
        from stilt_cli.core.data import langs as language_table

        codes = language_table.parse_list(langs, list(language_table.table()))
        found = typology.distances(codes, typology.parse_features(features), ref, typology.check_mode(urielplus_data))
        typology.report_missing(found)
        rows = typology.records_for(found)
        if fmt == "table":
            rows = [{"lang": r["lang"], "feature": r["metric"], "distance": r["value"], "code": r["params"]["code"],
                     "missing_reason": r["missing_reason"]} for r in rows]
        emit(rows, fmt, output)
