"""Benchmarks as data: XTREME and XTREME-R — name, title, protocol, and their categories in order.

Which tasks a benchmark has, and in which category, is each task spec's own data (`benchmarks`,
`category`), so a benchmark's task table is derived from the registry, never written twice. Within a
category, tasks keep the registry's order.
"""

from __future__ import annotations

from dataclasses import dataclass

from stilt_cli.core.errors import unknown


@dataclass(frozen=True)
class Benchmark:
    name: str
    title: str
    protocol: str
    category_titles: dict[str, str]  # category -> title, in the benchmark's order

    @property
    def categories(self) -> dict[str, tuple[str, ...]]:
        """category -> task names (every spec that names this benchmark and the category)."""
        from stilt_cli.core import tasks

        specs = [s for s in tasks.registry().values() if self.name in s.benchmarks]
        return {c: tuple(s.name for s in specs if s.category == c) for c in self.category_titles}

    @property
    def tasks(self) -> tuple[str, ...]:
        return tuple(t for names in self.categories.values() for t in names)

    def category_of(self, task: str) -> str | None:
        return next((c for c, names in self.categories.items() if task in names), None)

    def languages(self, task: str) -> tuple[str, ...]:
        from stilt_cli.core import tasks

        return tasks.get(task).all_languages(self.name)


_CATEGORIES = {"classification": "Classification", "structured": "Structured prediction",
               "qa": "Question answering", "retrieval": "Sentence retrieval"}
BENCHMARKS = {
    "xtreme": Benchmark("xtreme", "XTREME", "xtreme-v1", dict(_CATEGORIES)),
    "xtreme-r": Benchmark("xtreme-r", "XTREME-R", "xtreme-r", dict(_CATEGORIES, retrieval="Retrieval")),
}
VERSIONS = tuple(BENCHMARKS)


def benchmark(name: str) -> Benchmark:
    if name not in BENCHMARKS:
        raise unknown(name, BENCHMARKS, "XTREME version")
    return BENCHMARKS[name]
