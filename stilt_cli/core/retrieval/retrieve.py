"""`stilt retrieve`: Tatoeba-style search accuracy, BUCC-style mining F1 and Mewsli-X / LAReQA-style
ranking mAP@20 on any encoder.

A retrieval task's spec names its mode: `search` (tatoeba, demo-parallel) is scored by exact
nearest-neighbour search; `mine` (bucc) by margin-based mining (`core/retrieval/mining.py`); `rank`
(mewsli-x, lareqa) by ranking one shared candidate pool for each query language (`core/retrieval/rank.py`:
mean pooling at the checkpoint's retrieval layer unless told otherwise; queries and candidates cut at
XTREME-R's lengths, LAReQA 96 / 256 and Mewsli-X 64 / 64 tokens, or both at --max-length).

Search (Tatoeba): L2-normalised vectors, exact inner product (FAISS `IndexFlatIP`; the GPU index
sharded over the visible GPUs when faiss-gpu sees one and the device is CUDA; exact torch search
without faiss). Direction `en2xx` — each English sentence queries the xx side, top-1 must be its
translation — is what XTREME (`utils_retrieve.similarity_search(x=xx, y=en)`: the index holds xx, the
queries are English) and jiant (`TatoebaEvaluationScheme`, the same call) score; `xx2en` is the
reverse; `both` reports each.

Protocols (named in every record):
- `xstilts` (Phang et al. 2020, via jiant): mean over non-padding tokens, special tokens included, of
  one hidden layer (default: the checkpoint's `encoder.retrieval_layer`: XLM-R Large 14, 12-layer
  models 8, retrieval-trained encoders the last); BUCC duplicates unified by text and a mined pair
  credited to every id sharing its texts (jiant); the BUCC threshold is tuned on dev and applied
  unchanged to test.
- `xtreme` (google-research/xtreme `run_retrieval.py`, `evaluate_retrieval.py`, `utils_retrieve.py`,
  `scripts/run_{tatoeba,bucc2018}.sh` as published): max length 512; pooling is the mean over every
  non-padding token for both tasks — `run_bucc2018.sh` passes `--pool_type cls`, but the scripts never
  hand `pool_type` to `extract_embeddings`, whose default is 'mean'; layer `hidden_states[-12:][7]`
  (= L - 4: 8 for 12-layer models, 20 for XLM-R Large on BUCC, whose script leaves `--num_layers` at
  12) except Tatoeba with XLM-R Large (`LAYER=13` of 24 -> 14); models under 12 layers have no XTREME
  layer and use the checkpoint default. BUCC: sentences unified by text, candidates mapped back to ids
  only for sentences that occur once (`read_sent2id`); the threshold is re-optimised on the gold of
  the split being scored (`bucc_eval` ignores the threshold it is given whenever a gold file exists),
  so its test F1 uses an oracle threshold — the record says so. Tatoeba: XTREME searches with
  `IndexFlatL2` over L2-normalised vectors, which ranks exactly as the inner product used here.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from stilt_cli.core import console, records, tasks
from stilt_cli.core.errors import DataError, UsageError
from stilt_cli.core.retrieval import mining
from stilt_cli.core.retrieval.search import accuracy
from stilt_cli.core.retrieval.sets import Group, load_groups, require_gold

PROTOCOLS = ("xstilts", "xtreme")
DIRECTIONS = ("en2xx", "xx2en", "both")


@dataclass
class RetrieveConfig:
    model: str
    task: str
    langs: str | None = None
    layer: int | str | None = None
    pooling: str | None = None
    protocol: str = "xstilts"
    split: str | None = None
    direction: str = "en2xx"
    threshold: float | None = None
    data_dir: Path | None = None
    data: list[str] | None = None
    max_length: int | None = None
    batch_tokens: int = 16384
    cache: bool = True
    plot: Path | None = None
    revision: str | None = None


# ---- protocols and layers ----------------------------------------------------------------------------

def xtreme_layer(spec: Any, family: str, num_layers: int) -> int | None:
    """The hidden_states index XTREME's published scripts read (see the module docstring): the task
    spec's own exception for this family and depth (`xtreme_layers`), else L - 4 from 12 layers up."""
    exception = spec.xtreme_layers.get(f"{family}/{num_layers}")
    if exception is not None:
        return exception
    if num_layers >= 12:
        return num_layers - 4
    return None


def protocol_layer(protocol: str, spec: Any, embedder: Any) -> int | None:
    if embedder.num_layers is None:
        return None
    if protocol == "xtreme":
        layer = xtreme_layer(spec, embedder.family, embedder.num_layers)
        if layer is None:
            console.info(f"XTREME's scripts define no layer for a {embedder.num_layers}-layer encoder; "
                         f"using the checkpoint default {embedder.default_layer}")
            return embedder.default_layer
        return layer
    return embedder.default_layer


def check_choice(value: str, allowed: tuple[str, ...], option: str) -> str:
    if value not in allowed:
        raise UsageError(f"unknown {option} '{value}'", f"use one of {', '.join(allowed)}")
    return value


# ---- data ------------------------------------------------------------------------------------------


# ---- exact search -----------------------------------------------------------------------------------


def score_search(groups: dict[str, Group], embedder: Any, spec: Any, directions: tuple[str, ...], *,
                 base: dict[str, Any], params: dict[str, Any], cache: bool) -> list[dict[str, Any]]:
    """Accuracy records per language, layer and direction (one embedding pass per language)."""
    from stilt_cli.core.retrieval import embed_cache

    rows: list[dict[str, Any]] = []
    for lang, group in groups.items():
        require_gold(group, base["task"], base["split"])
        vectors = embed_cache.embed(embedder, group.src_texts + group.tgt_texts, spec, cache=cache,
                                   label=f"{base['task']} {lang}")
        n_src = len(group.src_texts)
        mine = []
        for slot, layer in enumerate(spec.layers or (None,)):
            for way in directions:
                value, n, used = accuracy(vectors[slot, :n_src], vectors[slot, n_src:], group.links, way)
                mine.append(records.make("retrieval", lang=lang, metric="accuracy", value=value, n=n, **base,
                                         params={**params, "layer": layer, "direction": way},
                                         details={"search": used}))
        console.info(f"{base['task']} {lang}: " + ", ".join(
            f"{r['params']['direction']}@{r['params']['layer']}={r['value']:.3f}" for r in mine))
        rows.extend(mine)
    return rows


# ---- margin mining (BUCC): the algorithm is `mining.py` -----------------------------------------------

@dataclass
class Candidates:
    src: np.ndarray
    tgt: np.ndarray
    score: np.ndarray
    correct: np.ndarray
    n_gold: int


def _mine_group(group: Any, embedder: Any, spec: Any, *, rule: str, cache: bool, label: str) -> list[Candidates]:
    """Candidates of one language, one entry per layer of `spec`."""
    from stilt_cli.core.retrieval import embed_cache

    src_u, src_inv, src_first = mining.unify(group.src_texts)
    tgt_u, tgt_inv, tgt_first = mining.unify(group.tgt_texts)
    vectors = embed_cache.embed(embedder, src_u + tgt_u, spec, cache=cache, label=label)
    width = len(group.tgt_texts) + 1
    gold = np.unique(group.links[:, 0] * width + group.links[:, 1])
    found = []
    for slot in range(vectors.shape[0]):
        knn = mining.knn_both(vectors[slot, :len(src_u)], vectors[slot, len(src_u):])
        src, tgt, score = mining.expand(mining.mine(knn), src_inv, tgt_inv, src_first, tgt_first, rule)
        found.append(Candidates(src, tgt, score, np.isin(src * width + tgt, gold), len(gold)))
    return found


def score_mining(groups: dict[str, Any], embedder: Any, spec: Any, *, base: dict[str, Any], params: dict[str, Any],
                 cache: bool, threshold: float | None, load_dev) -> list[dict[str, Any]]:
    """BUCC: F1 / precision / recall per language and layer, with the threshold of the protocol (see
    above): xstilts tunes on dev and applies to test; xtreme re-tunes on the scored
    split's own gold; `threshold` (--threshold) applies a given one; on dev both tune on dev itself."""
    task, split, protocol = base["task"], base["split"], base["protocol"]
    rule = "xtreme" if protocol == "xtreme" else "jiant"
    if threshold is not None:
        source = "option"
    elif split == "dev" or protocol == "xtreme":
        source = split
    else:
        source = "dev"
    dev_groups = load_dev() if source == "dev" else {}
    knn_name = mining.knn_backend()
    rows: list[dict[str, Any]] = []
    for lang, group in groups.items():
        require_gold(group, task, split)
        found = _mine_group(group, embedder, spec, rule=rule, cache=cache, label=f"{task} {split} {lang}")
        tuning = found
        if source == "dev":
            if lang not in dev_groups:
                raise DataError(f"{task} dev has no '{lang}' data to tune the threshold on",
                                "give --threshold, or the dev files too (the BUCC sample set)")
            require_gold(dev_groups[lang], task, "dev")
            tuning = _mine_group(dev_groups[lang], embedder, spec, rule=rule, cache=cache, label=f"{task} dev {lang}")
        for slot, layer in enumerate(spec.layers or (None,)):
            if source == "option":
                chosen = float(threshold)
            else:
                chosen, _ = mining.optimize_threshold(tuning[slot].score, tuning[slot].correct, tuning[slot].n_gold)
            cand = found[slot]
            result = mining.evaluate(cand.score, cand.correct, cand.n_gold, chosen)
            row_params = {**params, "layer": layer, "k": mining.K, "margin": "ratio", "retrieval": "max",
                          "dedupe": rule, "threshold_from": source, "tuned_on_scored_split": source == split}
            # what was found, not what was asked: outside params, so runs with different thresholds still join
            details = {"threshold": result["threshold"], "knn": knn_name, "candidates": int(len(cand.score)),
                       "extracted": result["extracted"], "correct": result["correct"]}
            for metric in ("f1", "precision", "recall"):
                rows.append(records.make("retrieval", lang=lang, metric=metric, value=result[metric], n=cand.n_gold,
                                         **base, params=row_params, details=details))
            console.info(f"{task} {split} {lang} layer {layer}: F1 {result['f1']:.4f} (P {result['precision']:.4f}, "
                         f"R {result['recall']:.4f}, threshold {result['threshold']:.4f} from {source})")
    return rows


# ---- the command ---------------------------------------------------------------------------------

def run(config: RetrieveConfig) -> list[dict[str, Any]]:
    from stilt_cli.core.data import sources
    from stilt_cli.core.retrieval import encoder, extract
    from stilt_cli.core.tasks import langs as langmod

    protocol = check_choice(config.protocol, PROTOCOLS, "--protocol")
    direction = check_choice(config.direction, DIRECTIONS, "--direction")
    spec = tasks.get_of_type(config.task, "retrieval")
    if not spec.supported:
        raise UsageError(f"task {spec.name} is not supported yet", spec.notes or None)
    mining_task = spec.retrieval == "mine"
    if config.threshold is not None and not mining_task:
        raise UsageError(f"--threshold applies to mining tasks (bucc), not {spec.name}")
    if direction != "en2xx" and spec.retrieval == "rank":
        raise UsageError(f"--direction applies to search tasks (tatoeba); {spec.name} ranks queries against candidates")
    data_file = sources.parse_data_option(config.data, default_task=spec.name).get(spec.name) if config.data else None
    wanted = langmod.parse_list(config.langs)
    if spec.retrieval == "rank":  # data errors before the model
        split, rankset = _load_ranking(spec, config, wanted, data_file)
    else:
        split, groups = load_groups(spec, config.split, wanted, config.data_dir, data_file)
    embedder = encoder.load(config.model, config.pooling, config.revision)
    pooling = encoder.resolve_pooling(embedder, config.pooling, "mean" if protocol == "xtreme" else None)
    layers = encoder.resolve_layers(embedder, config.layer, protocol_layer(protocol, spec, embedder))
    embed_spec = extract.EmbedSpec(layers, pooling, config.max_length or extract.DEFAULT_MAX_LENGTH,
                                      batch_tokens=config.batch_tokens)
    base = {"task": spec.name, "split": split, "protocol": protocol, "checkpoint": embedder.ref(),
            "model_revision": embedder.revision(), "seed": embedder.seed()}
    params = {"pooling": pooling, "max_length": embed_spec.max_length}
    if spec.retrieval == "rank":
        from stilt_cli.core.retrieval import rank

        query_length, candidate_length = rank.lengths(spec, config.max_length)
        specs = tuple(extract.EmbedSpec(layers, pooling, n, batch_tokens=config.batch_tokens)
                      for n in (query_length, candidate_length))
        params = {"pooling": pooling, "max_length": candidate_length, "query_length": query_length}
        rows = rank.score_encoder(rankset, embedder, spec, specs, base=base, params=params, cache=config.cache)
    elif mining_task:
        rows = score_mining(groups, embedder, embed_spec, base=base, params=params, cache=config.cache,
                                   threshold=config.threshold,
                                   load_dev=lambda: load_groups(spec, "dev", wanted, config.data_dir, data_file)[1])
    else:
        directions = ("en2xx", "xx2en") if direction == "both" else (direction,)
        rows = score_search(groups, embedder, embed_spec, directions, base=base, params=params, cache=config.cache)
    if config.plot is not None:
        plot_layers(rows, Path(config.plot) / f"retrieve-{spec.name}-{protocol}.png",
                    f"{spec.name} ({protocol}) — {embedder.ref().get('name')}")
    return rows


def _load_ranking(spec: Any, config: RetrieveConfig, wanted: list[str] | None, data_file: str | None):
    """(split, RankSet): the queries of the languages asked for, against every candidate of the split."""
    from stilt_cli.core.data import sources
    from stilt_cli.core.data.readers import languages_for
    from stilt_cli.core.retrieval import rank

    if config.data_dir is not None and data_file is not None:
        raise UsageError("give either --data or --data-dir, not both")
    if wanted is not None and data_file is None:
        wanted = languages_for(spec, wanted)[0]
    split = config.split or spec.default_split
    # a file's candidates are kept whatever their language (the pool is shared); the folder readers do the same
    rows = sources.load_examples(spec, split, None if data_file else wanted, data_file=data_file,
                                 data_dir=config.data_dir)
    if data_file is not None:
        split, rows = sources.split_of_file(rows, config.split, split)
        if wanted is not None:  # the candidates of every language stay: the pool is shared
            rows = [r for r in rows if r.get("side") == "candidate" or r["lang"] in wanted]
    return split, rank.build(rows, spec.name, split)


def plot_layers(rows: list[dict[str, Any]], path: str | os.PathLike, title: str) -> Path | None:
    """PNG of each language's main score against the layer (only meaningful for --layer all)."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    from stilt_cli.core import atomic

    main = [r for r in rows if r["metric"] in ("accuracy", "f1", "cka", "cosine_gap", "retrieval_accuracy")
            or r["metric"].startswith("map@")]
    series: dict[tuple, list[tuple[int, float]]] = {}
    for row in main:
        params = row["params"]
        if params.get("layer") is None:
            continue
        label = (row["lang"], row["metric"], params.get("direction"))
        series.setdefault(label, []).append((int(params["layer"]), float(row["value"])))
    if not series:
        console.warn("--plot: no per-layer scores to plot")
        return None
    figure = Figure(figsize=(8, 4.5))
    axes = figure.add_subplot()
    for (lang, metric, way), points in sorted(series.items()):
        points.sort()
        name = " ".join(str(part) for part in (lang, metric, way) if part)
        axes.plot([p[0] for p in points], [p[1] for p in points], marker="o", label=name)
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_xlabel("layer (hidden_states index, 0 = embeddings)")
    axes.set_ylabel("score")
    axes.set_title(title)
    axes.grid(alpha=0.3)
    axes.legend(fontsize="small", ncol=2)
    figure.tight_layout()
    path = Path(path)
    with atomic.atomic_path(path, suffix=".png") as tmp:
        figure.savefig(tmp, format="png", dpi=110)
    console.info(f"wrote {path}")
    return path
