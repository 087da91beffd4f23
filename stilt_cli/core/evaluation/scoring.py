"""XTREME submission layout: read and write `<task>/<split>-<lang>.<ext>` files, and score a folder of
predictions against a folder of gold labels laid out the same way (`stilt score`).

The layout is XTREME's leaderboard submission (see google-research/xtreme `evaluate.py` and
`mock_test_data/`); task folders use XTREME's names (`bucc2018` for BUCC):

| task                    | file            | one prediction is                                          |
|-------------------------|-----------------|------------------------------------------------------------|
| xnli, pawsx, xcopa      | `test-de.tsv`   | a label per line (XCOPA: the chosen index)                 |
| udpos, panx             | `test-de.tsv`   | a tag per line, a blank line between sentences             |
| xquad, mlqa, tydiqa     | `test-de.json`  | `{"question id": "answer text", …}`                        |
| tatoeba                 | `test-de.tsv`   | the index of the English sentence, a line per sentence     |
| bucc2018                | `test-de.tsv`   | `source id<TAB>target id`, a line per mined pair           |
| mewslix, lareqa         | `test-de.json`  | `{"query id": ["candidate id", …], …}`, best first         |

Gold files use the same layout, except QA gold, which is SQuAD-format JSON (`{"data": [...]}`), and
tag files may keep the token (`token<TAB>tag`: the last column is read). Ranking gold lists each query's
correct candidates (`mock_test_data/labels/mewslix`: `{"example id": ["Q46930"]}`); rankings are scored
as mAP@20 (Mewsli-X: one gold each, so MRR@20, as `utils_mewslix.evaluate`), a query without a
prediction scoring 0. XTREME's evaluate.py has no LAReQA scorer; stilt scores LAReQA files the same way. Either side may
instead be `.jsonl`: gold as canonical examples (what `stilt data export` writes), predictions as objects
`{"id": …, "prediction": …}` (`id` is needed for QA; elsewhere lines are matched by position).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from stilt_cli.core import tasks, textio
from stilt_cli.core.errors import DataError, StiltError, unknown
from stilt_cli.core.evaluation.submission import extension, folder_name
from stilt_cli.core.tasks.spec import TaskSpec

EXTENSIONS = (".tsv", ".json", ".jsonl")


# ---- reading ----------------------------------------------------------------------------------


def _tsv_items(path: Path, kind: str, last_column: bool = False) -> list[tuple[int, Any]]:
    """(line, item) for a label / index / pair file; XTREME strips each line. `last_column` reads gold
    labels from XTREME's data files too (`premise<TAB>hypothesis<TAB>label`)."""
    items: list[tuple[int, Any]] = []
    for number, line in textio.lines(path):
        value = line.strip()
        if last_column and kind == "label":
            value = value.split("\t")[-1].strip()
        if kind == "pair":
            if not value:
                continue
            parts = value.split("\t")
            if len(parts) != 2:
                raise DataError(f"{path}:{number}: expected 'source id<TAB>target id', got {len(parts)} field(s)")
            items.append((number, (parts[0].strip(), parts[1].strip())))
        else:
            items.append((number, value))
    while items and kind != "pair" and not items[-1][1]:
        items.pop()  # blank lines at the end of the file are not examples
    for number, value in items:
        if kind != "pair" and not value:
            raise DataError(f"{path}:{number}: empty line", "one label per line, no blank lines between them")
    return items


def _tag_sentences(path: Path) -> list[list[tuple[int, str]]]:
    """Sentences of (line, tag); blank lines separate sentences; with tabs the last column is the tag."""
    sentences: list[list[tuple[int, str]]] = []
    current: list[tuple[int, str]] = []
    for number, line in textio.lines(path):
        value = line.strip()
        if not value:
            if current:
                sentences.append(current)
            current = []
            continue
        current.append((number, value.split("\t")[-1].strip()))
    if current:
        sentences.append(current)
    return sentences


def _squad_gold(path: Path) -> dict[str, list[str]]:
    data = textio.load_json(path, "SQuAD-format")
    articles = data.get("data") if isinstance(data, dict) else data
    gold: dict[str, list[str]] = {}
    try:
        for article in articles:
            for paragraph in article["paragraphs"]:
                for qa in paragraph["qas"]:
                    gold[str(qa["id"])] = [answer["text"] for answer in qa.get("answers", [])]
    except (KeyError, TypeError):
        raise DataError(f"{path}: not SQuAD-format JSON", "expected data -> paragraphs -> qas -> id, answers") from None
    return gold


def _answers(path: Path) -> dict[str, str]:
    data = textio.load_json(path, "QA predictions")
    if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
        raise DataError(f"{path}: QA predictions must be one JSON object {{question id: answer text}}")
    return {str(k): v for k, v in data.items()}


def _rankings(path: Path, what: str) -> dict[str, list[str]]:
    data = textio.load_json(path, what)
    if not isinstance(data, dict) or not all(isinstance(v, list) and all(isinstance(c, str) for c in v)
                                             for v in data.values()):
        raise DataError(f"{path}: {what} must be one JSON object {{query id: [candidate ids]}}")
    return {str(k): list(v) for k, v in data.items()}


def _canonical_gold(path: Path, spec: TaskSpec) -> Any:
    from stilt_cli.core.data import examples as canonical

    rows = list(canonical.read(path, spec))
    if not rows:
        raise DataError(f"{path}: no {spec.name} examples")
    kind = spec.prediction_shape
    if kind == "ranking":
        return {ex["id"]: ex["gold"] for ex in rows if ex.get("side") == "query" and ex.get("gold")}
    if kind == "answer":
        return {ex["id"]: [a["text"] for a in ex["answers"]] for ex in rows}
    if kind == "pair":
        return [(None, tuple(ex["link"])) for ex in rows if "link" in ex]
    if kind == "index":
        targets = [ex["id"] for ex in rows if ex.get("side") == "tgt"]
        position = {tid: str(i) for i, tid in enumerate(targets)}
        link_of = {ex["link"][0]: ex["link"][1] for ex in rows if "link" in ex}
        sources = [ex["id"] for ex in rows if ex.get("side") == "src"]
        unlinked = [s for s in sources if link_of.get(s) not in position]
        if unlinked:
            raise DataError(f"{path}: source sentence {unlinked[0]} has no gold link to a target sentence")
        return [(None, position[link_of[s]]) for s in sources]
    field = "tags" if kind == "tags" else "label"
    if any(ex.get(field) is None for ex in rows):
        raise DataError(f"{path}: some examples have no '{field}'", "gold files need labels")
    if kind == "tags":
        return [[(None, tag) for tag in ex["tags"]] for ex in rows]
    return [(None, str(ex["label"])) for ex in rows]


def _prediction_jsonl(path: Path, spec: TaskSpec) -> Any:


    kind = spec.prediction_shape
    items: list[tuple[int, Any, Any]] = []
    for number, obj in textio.read_jsonl(path, expect="prediction object"):
        if "prediction" not in obj:
            raise DataError(f"{path}:{number}: missing field 'prediction'", 'each line is {"id": …, "prediction": …}')
        items.append((number, obj.get("id"), obj["prediction"]))
    if kind == "answer":
        if any(i is None or not isinstance(p, str) for _, i, p in items):
            raise DataError(f"{path}: QA predictions need an 'id' and a string 'prediction' on every line")
        return {str(i): p for _, i, p in items}
    if kind == "ranking":
        if any(i is None or not isinstance(p, list) for _, i, p in items):
            raise DataError(f"{path}: rankings need an 'id' and a list 'prediction' of candidate ids on every line")
        return {str(i): [str(c) for c in p] for _, i, p in items}
    expected = {"tags": "a list of tags", "pair": "a [source id, target id] pair"}
    for number, _, p in items:
        if (kind == "tags" and not isinstance(p, list)) or (kind == "pair"
                                                            and not (isinstance(p, list) and len(p) == 2)):
            raise DataError(f"{path}:{number}: 'prediction' must be {expected[kind]} for {spec.name}")
    if kind == "tags":
        return [[(n, str(t)) for t in p] for n, _, p in items]
    if kind == "pair":
        return [(n, tuple(map(str, p))) for n, _, p in items]
    return [(n, str(p)) for n, _, p in items]


def read_file(path: Path, spec: TaskSpec, side: str) -> Any:
    """One submission or gold file as labels [(line, str)], tag sentences, {id: answer(s)} or pairs."""
    kind = spec.prediction_shape
    if path.suffix == ".jsonl":
        return _canonical_gold(path, spec) if side == "gold" else _prediction_jsonl(path, spec)
    if kind == "answer":
        if path.suffix != ".json":
            raise DataError(f"{path}: QA files are JSON", f"name it {path.with_suffix('.json').name}")
        return _squad_gold(path) if side == "gold" else _answers(path)
    if kind == "ranking":
        if path.suffix != ".json":
            raise DataError(f"{path}: {spec.name} files are JSON", f"name it {path.with_suffix('.json').name}")
        return _rankings(path, "ranking gold" if side == "gold" else "rankings")
    if path.suffix != ".tsv":
        raise DataError(f"{path}: {spec.name} files are .tsv", f"name it {path.with_suffix('.tsv').name}")
    return _tag_sentences(path) if kind == "tags" else _tsv_items(path, kind, last_column=side == "gold")


def language_files(folder: Path, split: str = "test") -> dict[str, Path]:
    """{lang: file} for the `<split>-<lang>.<ext>` files of one task folder."""
    found: dict[str, Path] = {}
    for path in sorted(folder.iterdir()):
        if not (path.is_file() and path.name.startswith(f"{split}-") and path.suffix in EXTENSIONS):
            continue
        lang = path.stem[len(split) + 1:]
        if lang in found:
            raise DataError(f"{folder}: both {found[lang].name} and {path.name} for language {lang}",
                            "keep one file per language")
        found[lang] = path
    return found


def task_folders(root: Path) -> dict[str, Path]:
    """{stilt task name: folder} for the task folders of a submission; unknown names are errors."""
    from stilt_cli.core.console import warn

    if not root.is_dir():
        raise DataError(f"{root}: no such directory", "give a folder laid out as <task>/test-<lang>.<ext>")
    found: dict[str, Path] = {}
    by_folder = {spec.submission_folder: spec for spec in tasks.registry().values()}
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        try:
            spec = by_folder.get(folder.name) or tasks.get(folder.name)
        except StiltError:
            error = unknown(folder.name, [folder_name(t) for t in tasks.names("target")], "task folder", DataError)
            error.message = f"{folder}: {error.message}"
            raise error from None
        if not spec.supported:
            warn(f"{folder}: {spec.name} is not supported by stilt yet; not scored")
            continue
        found[spec.name] = folder
    return found


def items_of(value: Iterable[tuple[int | None, Any]]) -> list[Any]:
    return [item for _, item in value]


# ---- scoring a submission folder (`stilt score`) ----------------------------------------------
def _check_labels(spec: TaskSpec, pred: list[tuple[int | None, str]], gold: list[tuple[int | None, str]],
                  pred_path: Path, gold_path: Path) -> None:
    from stilt_cli.core.console import warn

    known = set(spec.labels or ())
    gold_labels = {g for _, g in gold}
    if known and gold_labels - known:
        outside = ", ".join(sorted(gold_labels - known)[:5])
        if spec.type != "tagging":  # a gold file without labels (e.g. a stripped test split) cannot be scored
            raise DataError(f"{gold_path}: gold labels outside {spec.name}'s label set: {outside}",
                            f"labels: {', '.join(sorted(known))}; is this an unlabelled split?")
        warn(f"{gold_path}: gold tags outside {spec.name}'s tag set: {outside}")  # e.g. '_' in some UD treebanks
    allowed = known | gold_labels
    for number, label in pred:
        if label not in allowed:
            where = f"{pred_path}:{number}" if number else str(pred_path)
            raise DataError(f"{where}: unknown label '{label}' for {spec.name}",
                            f"labels: {', '.join(sorted(allowed))}")


def _as_indices(items: list[tuple[int | None, str]], path: Path) -> list[int]:
    values = []
    for number, value in items:
        try:
            values.append(int(value))
        except ValueError:
            raise DataError(f"{path}:{number}: '{value}' is not a sentence index", "one integer per line") from None
    return values


def score_file(spec: TaskSpec, pred_path: Path, gold_path: Path, lang: str) -> tuple[dict[str, float], int]:
    """Metrics of one prediction file against its gold file, and the number of examples scored."""
    from stilt_cli.core.console import warn
    from stilt_cli.core.model import metrics

    kind = spec.prediction_shape
    gold = read_file(gold_path, spec, "gold")
    pred = read_file(pred_path, spec, "pred")
    if kind == "answer":
        if not set(pred) & set(gold):
            raise DataError(f"{pred_path}: none of the {len(gold)} question ids of {gold_path} is answered",
                            "predictions are {question id: answer text}")
        result = metrics.qa.score(spec.qa_scorer, pred, gold, lang)
        missing = int(result.pop("missing"))
        if missing:
            warn(f"{pred_path}: no answer for {missing} of {len(gold)} questions; they score 0 (official behaviour)")
        result.pop("n")
        return result, len(gold)
    if kind == "pair":
        return metrics.retrieval.bucc_prf(items_of(pred), items_of(gold)), len(gold)
    if kind == "ranking":
        return _score_rankings(spec, pred, gold, pred_path), len(gold)
    if len(pred) != len(gold):
        unit = "sentences" if kind == "tags" else "lines"
        raise DataError(f"{pred_path}: expected {len(gold)} {unit} (as in {gold_path}), got {len(pred)}")
    if kind == "tags":
        for number, (p, g) in enumerate(zip(pred, gold), start=1):
            if len(p) != len(g):
                line = f":{p[0][0]}" if p and p[0][0] else ""
                raise DataError(f"{pred_path}{line}: sentence {number} has {len(p)} tags, expected {len(g)}")
        _check_labels(spec, [t for s in pred for t in s], [t for s in gold for t in s], pred_path, gold_path)
        pred_tags, gold_tags = [items_of(s) for s in pred], [items_of(s) for s in gold]
        if spec.main_metric == "f1":
            return metrics.tagging.span_prf(pred_tags, gold_tags), len(gold)
        return {"accuracy": metrics.tagging.token_accuracy(pred_tags, gold_tags)}, len(gold)
    if kind == "index":
        return {"accuracy": metrics.classification.accuracy(_as_indices(pred, pred_path),
                                                            _as_indices(gold, gold_path))}, len(gold)
    _check_labels(spec, pred, gold, pred_path, gold_path)
    return {"accuracy": metrics.classification.accuracy(items_of(pred), items_of(gold))}, len(gold)


def _score_rankings(spec: TaskSpec, pred: dict[str, list[str]], gold: dict[str, list[str]], pred_path: Path
                    ) -> dict[str, float]:
    from stilt_cli.core.console import warn
    from stilt_cli.core.model import metrics

    if not gold or any(not g for g in gold.values()):
        raise DataError(f"{pred_path}: every gold query needs at least one gold candidate id")
    missing, unexpected = len(set(gold) - set(pred)), len(set(pred) - set(gold))
    if missing == len(gold):
        raise DataError(f"{pred_path}: none of the {len(gold)} gold query ids is ranked",
                        "rankings are {query id: [candidate ids, best first]}")
    if missing:
        warn(f"{pred_path}: no ranking for {missing} of {len(gold)} queries; they score 0 (official behaviour)")
    if unexpected:
        warn(f"{pred_path}: {unexpected} ranked queries have no gold; not scored")
    return {spec.main_metric: metrics.retrieval.map_at_k(gold, pred, spec.rank_k)}


def _order(names: Iterable[str], version: str) -> list[str]:
    from stilt_cli.core.tasks.benchmarks import benchmark

    first = [t for t in benchmark(version).tasks if t in names]
    return first + sorted(set(names) - set(first))


def score(predictions: Path, labels: Path, version: str = "xtreme", split: str = "test",
          name: str | None = None) -> tuple[list[dict[str, Any]], Any]:
    """Score a submission folder against a gold folder: (result records, XTREME aggregate)."""
    from stilt_cli.core import records
    from stilt_cli.core.console import info, warn
    from stilt_cli.core.evaluation.aggregate import aggregate, language_score
    from stilt_cli.core.tasks.benchmarks import benchmark

    bench = benchmark(version)
    gold_tasks, pred_tasks = task_folders(labels), task_folders(predictions)
    for task in sorted(set(pred_tasks) - set(gold_tasks)):
        warn(f"{pred_tasks[task]}: no gold folder {labels / pred_tasks[task].name}; not scored")
    for task in sorted(set(gold_tasks) - set(pred_tasks)):
        warn(f"{gold_tasks[task]}: no predictions for {task} in {predictions}; not scored")
    common = _order(set(gold_tasks) & set(pred_tasks), version)
    if not common:
        raise DataError(f"{predictions} and {labels} share no task folder", "expected e.g. xnli/test-de.tsv in both")
    checkpoint = {"name": name or predictions.resolve().name, "path": str(predictions)}
    rows: list[dict[str, Any]] = []
    by_task: dict[str, dict[str, float]] = {}
    for task in common:
        spec = tasks.get(task)
        gold_files = language_files(gold_tasks[task], split)
        pred_files = language_files(pred_tasks[task], split)
        if not gold_files:
            raise DataError(f"{gold_tasks[task]}: no {split}-<lang> files", f"expected e.g. {split}-de.tsv")
        missing = [lang for lang in gold_files if lang not in pred_files]
        if missing:
            raise DataError(f"{pred_tasks[task]}: no predictions for {', '.join(missing)}",
                            f"expected {split}-{missing[0]}.{extension(spec.prediction_shape)} "
                            f"for every language of {gold_tasks[task]}")
        for lang in sorted(set(pred_files) - set(gold_files)):
            warn(f"{pred_files[lang]}: no gold file for {lang}; not scored")
        kind = "retrieval" if spec.type == "retrieval" else "eval"
        for lang, gold_path in gold_files.items():
            values, n = score_file(spec, pred_files[lang], gold_path, lang)
            for metric, value in values.items():
                rows.append(records.make(kind, task, lang, metric, value, split=split, n=n, protocol=bench.protocol,
                                         checkpoint=checkpoint))
            by_task.setdefault(task, {})[lang] = language_score(spec, values)
        info(f"scored {task}: {len(gold_files)} language(s)")
    return rows, aggregate(by_task, version)
