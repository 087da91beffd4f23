"""The task registry: every task stilt knows, by name, resolved lazily; unknown names get did-you-mean."""

from __future__ import annotations

from functools import lru_cache

from stilt_cli.core.errors import unknown
from stilt_cli.core.tasks.spec import TaskSpec

ALIASES = {"xnli-mnli": "xnli", "paws-x": "pawsx", "pan-x": "panx", "wikiann": "panx", "squad": "squad_v1",
           "squad1": "squad_v1", "squad2": "squad_v2", "anli+": "anli_plus", "cosmos_qa": "cosmosqa",
           "csqa": "commonsenseqa", "bucc2018": "bucc", "bucc18": "bucc", "tydiqa-goldp": "tydiqa", "sst": "sst2"}


@lru_cache(maxsize=1)
def registry() -> dict[str, TaskSpec]:
    from stilt_cli.core.tasks import intermediate, xtreme

    specs: dict[str, TaskSpec] = {}
    modules = [xtreme, intermediate]
    try:
        from stilt_cli.core.tasks import demo
    except ImportError:
        pass
    else:
        modules.append(demo)
    for module in modules:
        for spec in module.TASKS:
            if spec.name in specs:
                raise RuntimeError(f"task {spec.name} defined twice")
            specs[spec.name] = spec
    return specs


def get(name: str) -> TaskSpec:
    key = name.strip().lower()
    key = ALIASES.get(key, key)
    specs = registry()
    if key not in specs:
        raise unknown(name, specs, "task")
    return specs[key]


def names(role: str | None = None) -> list[str]:
    return [n for n, s in registry().items() if role is None or s.role == role]
