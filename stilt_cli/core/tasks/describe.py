"""What `stilt tasks` prints: one summary row per task, or one full spec with each language's codes
(ISO 639-1 / 639-3, LASER, Hub config) taken from `core/tasks/langs.py`."""

from __future__ import annotations

from typing import Any

from stilt_cli.core.tasks import langs as langmod
from stilt_cli.core.tasks.spec import TaskSpec


def summary(spec: TaskSpec) -> dict[str, Any]:
    return {"name": spec.name, "title": spec.title, "type": spec.type, "role": spec.role,
            "languages": list(spec.languages), "languages_r": list(spec.languages_r),
            "n_languages": len(spec.all_languages("xtreme-r")), "main_metric": spec.main_metric,
            "metrics": list(spec.metrics), "benchmarks": list(spec.benchmarks), "category": spec.category,
            "splits": list(spec.splits), "protocol": spec.protocol, "supported": spec.supported,
            "version": spec.version}


def language_codes(spec: TaskSpec) -> list[dict[str, Any]]:
    """Each language of the task with the code every resource uses (hub config filled in)."""
    hub_config = (spec.hub or {}).get("config")
    rows = []
    for code in spec.all_languages("xtreme-r"):
        lang = langmod.get(code)
        row = {"code": code, "iso3": lang.iso3, "laser": lang.laser, "name": lang.name, "script": lang.script,
               "family": lang.family, "xtreme_r_only": code in spec.languages_r and code not in spec.languages}
        if hub_config and "{" in hub_config:
            row["hub_config"] = hub_config.format(lang=code, qlang=code, name=lang.name, laser=lang.laser or lang.iso3,
                                                  iso3=lang.iso3, langname=lang.name.lower(), split="")
        elif hub_config:
            row["hub_config"] = hub_config
        rows.append(row)
    return rows


def full(spec: TaskSpec) -> dict[str, Any]:
    data = spec.to_json()
    data["files"] = {split: list(patterns) if not isinstance(patterns, str) else [patterns]
                     for split, patterns in spec.files.items()}
    data["language_codes"] = language_codes(spec)
    return data
