"""`stilt align`: how well an encoder aligns translations, layer by layer.

For parallel sentences (x_i, y_i) of one language pair, per layer:
- `retrieval_accuracy` in both directions (top-1 exact cosine search over the other side; gold = i);
- `cosine_pairs`: mean cosine of translation pairs; `cosine_random`: mean cosine over all
  non-translation pairs (x_i, y_j), i != j — exact, from the column sums, no sampling; `cosine_gap`
  = pairs - random (how far translations stand out from the language-level offset);
- `cka`: linear CKA (Kornblith et al. 2019) between the two sides' representation matrices: 1 when
  one is an orthogonal transform and isotropic rescaling of the other, invariant to both.
Comparing these before and after an intermediate stage asks whether English-only training degrades
cross-lingual alignment, e.g. for distant languages.

Pairs come from a retrieval task (its gold links: Tatoeba, BUCC, demo-parallel) or from `--pairs FILE`:
canonical retrieval JSONL (`.jsonl`) or `xx<TAB>en` lines.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from stilt_cli.core import console, records
from stilt_cli.core.errors import DataError, UsageError

METRICS = ("retrieval_accuracy", "cosine_pairs", "cosine_random", "cosine_gap", "cka")


def linear_cka(x: np.ndarray, y: np.ndarray) -> float:
    """||Yc^T Xc||_F^2 / (||Xc^T Xc||_F ||Yc^T Yc||_F) with column-centred X, Y (n x d each)."""
    if len(x) != len(y):
        raise ValueError(f"CKA needs the same rows on both sides, got {len(x)} and {len(y)}")
    xc = np.asarray(x, dtype=np.float64) - np.mean(x, axis=0, dtype=np.float64)
    yc = np.asarray(y, dtype=np.float64) - np.mean(y, axis=0, dtype=np.float64)
    cross = np.linalg.norm(yc.T @ xc) ** 2
    denominator = np.linalg.norm(xc.T @ xc) * np.linalg.norm(yc.T @ yc)
    return float(cross / denominator) if denominator > 0 else 0.0


def measures(src: np.ndarray, tgt: np.ndarray, backend: str | None = None) -> dict[str, Any]:
    """All measures for aligned rows src[i] <-> tgt[i]."""
    from stilt_cli.core.retrieval.search import accuracy, normalised

    n = len(src)
    if n < 2 or len(tgt) != n:
        raise DataError(f"alignment needs at least 2 parallel pairs with both sides, got {n} and {len(tgt)}")
    a, b = normalised(src).astype(np.float64), normalised(tgt).astype(np.float64)
    pair = np.einsum("ij,ij->i", a, b)
    total = float(a.sum(axis=0) @ b.sum(axis=0))  # sum of all n*n cosines, without the n x n matrix
    random = (total - float(pair.sum())) / (n * (n - 1))
    links = np.stack([np.arange(n), np.arange(n)], axis=1)
    xx2en, _, used = accuracy(src, tgt, links, "xx2en", backend)
    en2xx, _, _ = accuracy(src, tgt, links, "en2xx", backend)
    return {"retrieval_accuracy": {"xx2en": xx2en, "en2xx": en2xx}, "cosine_pairs": float(pair.mean()),
            "cosine_random": random, "cosine_gap": float(pair.mean()) - random, "cka": linear_cka(src, tgt),
            "search": used}


@dataclass
class AlignConfig:
    model: str
    pairs: Path | None = None
    task: str | None = None
    langs: str | None = None
    layer: int | str | None = None
    pooling: str | None = None  # None: the encoder family's retrieval pooling
    split: str | None = None
    data_dir: Path | None = None
    data: list[str] | None = None
    max_length: int | None = None
    batch_tokens: int = 16384
    cache: bool = True
    plot: Path | None = None
    revision: str | None = None


def _pairs_from_tsv(path: Path, lang: str) -> tuple[list[str], list[str]]:
    from stilt_cli.core.data.readers.tatoeba import read_lines

    src, tgt = [], []
    for number, line in enumerate(read_lines(path), 1):
        if not line:
            continue
        parts = line.split("\t")
        if len(parts) != 2:
            raise DataError(f"{path}:{number}: expected 'sentence<TAB>English translation'",
                            "or give canonical retrieval JSONL (a .jsonl file)")
        src.append(parts[0].strip())
        tgt.append(parts[1].strip())
    if not src:
        raise DataError(f"{path}: no sentence pairs")
    return src, tgt


def load_pairs(config: AlignConfig) -> dict[str, tuple[list[str], list[str]]]:
    """{lang: (xx sentences, English sentences)}, aligned by position."""
    from stilt_cli.core import tasks
    from stilt_cli.core.retrieval import sets
    from stilt_cli.core.tasks import langs as langmod

    wanted = langmod.parse_list(config.langs)
    if (config.pairs is None) == (config.task is None):
        raise UsageError("give either --pairs FILE or --task TASK")
    if config.pairs is not None:
        path = Path(config.pairs)
        if path.suffix == ".jsonl" or str(path) == "-":
            from stilt_cli.core.data import examples

            rows = list(examples.read(path, tasks.generic("retrieval"), wanted))
            if not rows:
                raise DataError(f"{'stdin' if str(path) == '-' else path}: no parallel sentences"
                                + (f" for {','.join(wanted)}" if wanted else ""),
                                "canonical retrieval JSONL: src and tgt sentences and gold links")
            split = config.split or "test"
            groups = sets.groups_from_examples(rows, str(path), split)
        else:
            if not path.is_file():
                raise DataError(f"{path}: no such file")
            if not wanted or len(wanted) != 1:
                raise UsageError("--pairs with a TSV file needs --langs naming its one language", "e.g. --langs de")
            return {wanted[0]: _pairs_from_tsv(path, wanted[0])}
    else:
        spec = tasks.get_of_type(config.task, "retrieval")
        from stilt_cli.core.data import sources

        data_file = (sources.parse_data_option(config.data, default_task=spec.name).get(spec.name)
                     if config.data else None)
        split, groups = sets.load_groups(spec, config.split, wanted, config.data_dir, data_file)
    pairs = {}
    for lang, group in groups.items():
        sets.require_gold(group, config.task or str(config.pairs), split)
        pairs[lang] = ([group.src_texts[i] for i in group.links[:, 0]], [group.tgt_texts[j] for j in group.links[:, 1]])
    return pairs


def run(config: AlignConfig) -> list[dict[str, Any]]:
    from stilt_cli.core.retrieval import embed_cache, encoder, extract, retrieve

    if config.pooling == "model" and config.layer is not None:
        raise UsageError("--layer does not apply to --pooling model")
    pairs = load_pairs(config)
    embedder = encoder.load(config.model, config.pooling, config.revision)
    pooling = encoder.resolve_pooling(embedder, config.pooling)
    layers = encoder.resolve_layers(embedder, config.layer)
    spec = extract.EmbedSpec(layers, pooling, config.max_length or extract.DEFAULT_MAX_LENGTH,
                                batch_tokens=config.batch_tokens)
    task = config.task or "pairs"
    split = config.split or ("test" if config.task else None)
    base = {"task": task, "split": split, "protocol": "stilt-align/1", "checkpoint": embedder.ref(),
            "model_revision": embedder.revision(), "seed": embedder.seed()}
    rows: list[dict[str, Any]] = []
    for lang, (src, tgt) in pairs.items():
        vectors = embed_cache.embed(embedder, src + tgt, spec, cache=config.cache, label=f"{task} {lang}")
        for slot, layer in enumerate(layers or (None,)):
            found = measures(np.asarray(vectors[slot, :len(src)]), np.asarray(vectors[slot, len(src):]))
            params = {"layer": layer, "pooling": pooling, "max_length": spec.max_length}
            for way in ("en2xx", "xx2en"):
                rows.append(records.make("alignment", lang=lang, metric="retrieval_accuracy",
                                         value=found["retrieval_accuracy"][way], n=len(src), **base,
                                         params={**params, "direction": way}, details={"search": found["search"]}))
            for metric in METRICS[1:]:
                rows.append(records.make("alignment", lang=lang, metric=metric, value=found[metric], n=len(src),
                                         **base, params=params))
            console.info(f"align {lang} layer {layer}: gap {found['cosine_gap']:.3f}, CKA {found['cka']:.3f}, "
                         f"acc xx2en {found['retrieval_accuracy']['xx2en']:.3f}")
    if config.plot is not None:
        plot_rows = [r for r in rows if r["metric"] in ("cka", "cosine_gap", "retrieval_accuracy")]
        retrieve.plot_layers(plot_rows, Path(config.plot) / f"align-{task}.png",
                              f"alignment ({task}) — {embedder.ref().get('name')}")
    return rows
