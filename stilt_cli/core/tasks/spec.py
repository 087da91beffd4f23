"""Task specs: tasks are data. One `TaskSpec` per task, collected in one registry.

Adding a task or a language is editing the data modules next to this file (`xtreme.py`,
`intermediate.py`, `demo.py`), never writing a class.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

TYPES = ("pair-classification", "classification", "tagging", "qa", "multiple-choice", "retrieval", "mlm")
RETRIEVAL_MODES = ("search", "mine", "rank")
ROLES = ("target", "intermediate", "demo")
QA_SCORERS = ("squad_v1", "squad_v2", "mlqa")
CATEGORIES = ("classification", "structured", "qa", "retrieval")
HEAD_OF_TYPE = {"pair-classification": "classification", "classification": "classification", "tagging": "tagging",
                "qa": "qa", "multiple-choice": "multiple-choice", "mlm": "mlm", "retrieval": None}


@dataclass(frozen=True)
class TaskSpec:
    name: str
    title: str
    type: str  # one of TYPES
    role: str  # "target", "intermediate" or "demo"
    languages: tuple[str, ...]  # ISO 639-1 (639-3 where none); XTREME's set for target tasks
    metrics: tuple[str, ...]  # first = main metric
    splits: dict[str, str]  # split -> "labelled" | "unlabelled" (in the usual public release)
    labels: tuple[str, ...] | None = None  # label set (classification / tagging)
    languages_r: tuple[str, ...] = ()  # languages added by XTREME-R
    benchmarks: tuple[str, ...] = ()  # "xtreme", "xtreme-r"
    category: str | None = None  # XTREME category
    train_task: str | None = None  # where the English training data comes from (xnli -> mnli)
    head: str | None = None  # name of the head that answers this task (xquad -> squad_v1)
    protocol: str = "xtreme-v1"
    hparams: dict[str, dict[str, Any]] = field(default_factory=dict)  # preset -> hyperparameters
    hub: dict[str, Any] = field(default_factory=dict)  # Hugging Face datasets source (pinned)
    # split -> candidate files under --data-dir, each "format:pattern", first present wins (core/readers)
    files: dict[str, tuple[str, ...]] = field(default_factory=dict)
    sources: tuple[str, ...] = ()
    notes: str = ""
    supported: bool = True
    version: int = 1
    # what the pipeline does differently per task, as data (no module outside core/tasks tests a task name)
    retrieval: str | None = None  # retrieval tasks: search (Tatoeba-like), mine (BUCC-like), rank (Mewsli-X, LAReQA)
    null_answers: bool = False  # QA: unanswerable questions belong to the task (SQuAD v2.0)
    qa_scorer: str = "squad_v1"  # QA: the official scorer, squad_v1 | squad_v2 | mlqa (core/model/metrics/qa.py)
    # retrieval: "family/num_layers" -> the hidden_states index XTREME's scripts read where their rule L - 4
    # does not hold
    xtreme_layers: dict[str, int] = field(default_factory=dict)
    folder: str | None = None  # the task's folder in XTREME's submission layout, where it is not `name`

    @property
    def main_metric(self) -> str:
        return self.metrics[0]

    @property
    def default_split(self) -> str:
        """The split a stage scores when none is named: test, else dev, else the first listed."""
        return next((s for s in ("test", "dev") if s in self.splits), next(iter(self.splits)))

    @property
    def head_type(self) -> str | None:
        """The head that answers the task; ranking retrieval (Mewsli-X, LAReQA) trains a dual encoder,
        the other retrieval modes score the encoder itself and have none."""
        if self.type == "retrieval" and self.retrieval == "rank":
            return "dual-encoder"
        return HEAD_OF_TYPE[self.type]

    @property
    def head_name(self) -> str:
        return self.head or self.train_task or self.name

    @property
    def rank_k(self) -> int:
        """Ranking tasks: the cut-off k of the main metric `map@k` (XTREME-R: 20)."""
        metric = self.main_metric
        if not metric.startswith("map@"):
            raise ValueError(f"task {self.name}: main metric {metric} is not map@k")
        return int(metric[4:])

    @property
    def submission_folder(self) -> str:
        return self.folder or self.name

    @property
    def prediction_shape(self) -> str:
        """What one prediction looks like in a submission file: label, tags, answer, index, pair or ranking
        (the ranked candidate ids of a query)."""
        if self.type == "retrieval":
            return {"search": "index", "mine": "pair", "rank": "ranking"}[self.retrieval or "search"]
        return {"tagging": "tags", "qa": "answer"}.get(self.type, "label")

    def all_languages(self, version: str = "xtreme") -> tuple[str, ...]:
        if version == "xtreme-r":
            return tuple(dict.fromkeys(self.languages + self.languages_r))
        return self.languages

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["main_metric"] = self.main_metric
        data["head_type"] = self.head_type
        return data
