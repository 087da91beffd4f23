"""`stilt distances`: each language's typological distance to English (or --ref) per feature."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from stilt_cli.commands._common import Format, Output, Quiet, checked_by, guard, known_langs, one_of, setup


def _features(value: str) -> None:
    from stilt_cli.core.analysis import typology

    typology.parse_features(value)


Features = Annotated[str | None, typer.Option(
    "--features", callback=checked_by(_features), help="Comma list of syntax, phonology, inventory (URIEL via "
    "lang2vec); genetic, geographic, featural, script (URIEL+), morphology (URIEL+'s Grambank features: always on "
    "the integrated data, about a minute once, then cached); ud-feats-per-word, ud-forms-per-lemma, ud-mattr "
    "(|difference| of corpus measures from UD CoNLL-U treebanks under --data-dir). Default: the first six; 'all': "
    "every one.")]
Ref = Annotated[str, typer.Option("--ref", callback=known_langs("--ref"), help="Reference language the distances are "
                                                                               "measured from.")]
UrielPlusData = Annotated[str, typer.Option(
    "--urielplus-data", callback=one_of("stilt_cli.core.analysis.typology:URIELPLUS_DATA"), help="URIEL+ database "
    "for genetic/geographic/featural/script: 'released' (as shipped) or 'integrated' (adds Grambank, APICS, eWAVE, "
    "BDPROTO, SAPHON, Glottolog; about a minute once, then cached). morphology always uses 'integrated'.")]
TreebankDir = Annotated[Path | None, typer.Option(
    "--data-dir", help="Folder with UD CoNLL-U treebanks for the ud-* features, found as udpos finds them "
    "({lang}_*-ud-{train,dev,test}.conllu at any depth; all treebanks of a language together).")]


def command(
    langs: Annotated[str, typer.Option("--langs", callback=known_langs(), help="Comma list of languages (ISO 639-1, or "
                                                                               "639-3), or 'all' "
                                                       "for every language stilt knows.")],
    features: Features = None,
    ref: Ref = "en",
    urielplus_data: UrielPlusData = "released",
    data_dir: TreebankDir = None,
    fmt: Format = "jsonl",
    output: Output = None,
    quiet: Quiet = False,
) -> None:
    """Distances to English from URIEL (lang2vec), URIEL+ and UD treebanks: one 'distance' record per language
    and feature; gaps are records with value null and a missing_reason. The ud-* records also carry both
    languages' values (details.lang_value, details.ref_value)."""
    setup(quiet)
    with guard(output):
        from stilt_cli.core.analysis import typology
        from stilt_cli.core.console import emit
        from stilt_cli.core.tasks import langs as language_table

        codes = language_table.parse_list(langs, list(language_table.table()))
        names = typology.parse_features(features)
        mode = typology.check_mode(urielplus_data)
        folder = None if data_dir is None else str(data_dir)
        typology.check_inputs(names, folder)
        found = typology.distances(codes, names, ref, mode, folder)
        typology.report_missing(found)
        rows = typology.records_for(found)
        if fmt == "table":
            rows = [{"lang": r["lang"], "feature": r["metric"], "distance": r["value"], "code": r["params"]["code"],
                     "value": (r.get("details") or {}).get("lang_value"), "missing_reason": r["missing_reason"]}
                    for r in rows]
        emit(rows, fmt, output)
