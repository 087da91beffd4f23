"""Parallel-sentence mining for BUCC: ratio-margin scores over k nearest neighbours in both directions
(Artetxe & Schwenk 2019), max-score candidate retrieval, and the F1-maximising decision threshold.

k-NN in both directions costs ONE pass over the score matrix here: the matrix is computed tile by
tile (GEMM), and each tile updates the row-wise top-k (x -> y) and the column-wise top-k (y -> x).
Two one-directional FAISS searches would compute every score twice. Per tile, rows or columns whose
tile maximum cannot enter their current top-k are skipped, so after the first tiles the top-k upkeep
is a small fraction of the GEMM.

Scoring follows XTREME's `third_party/utils_retrieve.py` (`mine_bitext`, `bucc_optimize`,
`bucc_extract`), vectorised: margin(x, y) = cos(x, y) / ((mean_k cos(x, NN_k(x)) + mean_k cos(y, NN_k(y))) / 2);
each source and target sentence proposes its best-scoring neighbour; candidates are taken greedily
by descending score, each sentence used at most once (`retrieval='max'`), scores > 0 kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

K = 4  # neighbourhood of the margin (Artetxe & Schwenk 2019; XTREME)


@dataclass
class Knn:
    x2y_sim: np.ndarray  # (n, k) cosine of each x with its k nearest y, descending
    x2y_ind: np.ndarray  # (n, k)
    y2x_sim: np.ndarray  # (m, k)
    y2x_ind: np.ndarray  # (m, k)


def knn_backend() -> str:
    """How `knn_both` runs here, as records name it."""
    return f"blocked-gemm-{_torch_device(None).type}"


def _torch_device(device: str | None):
    import torch

    if device is None:
        from stilt_cli.core import device as devices

        device = devices.choose().device
    return torch.device(device)


def _normalised_blocks(array: np.ndarray, normalize: bool, torch_device, budget_bytes: int):
    """A function block(start, stop) -> float32 rows (L2-normalised if asked) on the device. The whole
    array is converted once when it fits in `budget_bytes`; otherwise each block is converted when used."""
    import torch

    def convert(start: int, stop: int):
        block = torch.from_numpy(np.array(array[start:stop], dtype=np.float32)).to(torch_device)
        return block / block.norm(dim=1, keepdim=True).clamp(min=1e-12) if normalize else block

    if len(array) * array.shape[1] * 4 <= budget_bytes:
        whole = torch.cat([convert(s, min(len(array), s + 65536)) for s in range(0, len(array), 65536)])
        return lambda start, stop: whole[start:stop]
    return convert


def _merge(best_val, best_idx, new_val, new_idx, k: int):
    """Keep the k largest of two (rows, *) candidate sets."""
    import torch

    values = torch.cat((best_val, new_val), dim=1)
    indices = torch.cat((best_idx, new_idx), dim=1)
    top_val, pos = values.topk(k, dim=1)
    return top_val, indices.gather(1, pos)


def knn_both(x: np.ndarray, y: np.ndarray, k: int = K, *, normalize: bool = True, block_rows: int = 256,
             block_cols: int = 1024, device: str | None = None, budget_bytes: int = 1 << 30) -> Knn:
    """Exact k nearest neighbours by cosine (inner product of L2-normalised vectors), x -> y and
    y -> x, from one blocked pass over x @ y.T. `x`, `y` may be float16 memory-mapped arrays: they
    are converted to float32 whole when x fits in `budget_bytes`, else block by block, so memory stays
    O(min(n d, budget) + (n + m) k + tile).

    Tiles are block_rows x block_cols: every row meets m / block_cols tiles and every column
    n / block_rows, and after the first k or so of them few still need a top-k update (the tile's
    maximum, a cheap reduction, says which), so the top-k upkeep shrinks as the pass goes on."""
    import torch

    torch_device = _torch_device(device)
    n, m = len(x), len(y)
    kx, ky = min(k, m), min(k, n)
    x_block = _normalised_blocks(x, normalize, torch_device, budget_bytes)
    y_block = _normalised_blocks(y, normalize, torch_device, 0)  # each y block is used in one outer step
    neg = float("-inf")
    row_val = torch.full((n, kx), neg, device=torch_device)
    row_idx = torch.zeros((n, kx), dtype=torch.long, device=torch_device)
    col_val = torch.full((m, ky), neg, device=torch_device)
    col_idx = torch.zeros((m, ky), dtype=torch.long, device=torch_device)
    with torch.inference_mode():
        # outer loop over y blocks (each converted once); inner loop over x blocks
        for c0 in range(0, m, block_cols):
            c1 = min(m, c0 + block_cols)
            ybt = y_block(c0, c1).T.contiguous()
            col_columns = torch.arange(c0, c1, device=torch_device)
            for r0 in range(0, n, block_rows):
                r1 = min(n, r0 + block_rows)
                tile = x_block(r0, r1) @ ybt  # (rows, cols): the only O(n m d) work
                # x -> y: rows whose tile maximum beats their current k-th best
                rows = (tile.amax(dim=1) > row_val[r0:r1, -1]).nonzero().squeeze(1)
                if len(rows):
                    sub = tile[rows] if len(rows) < len(tile) else tile
                    val, pos = sub.topk(min(kx, c1 - c0), dim=1)
                    target = rows + r0
                    row_val[target], row_idx[target] = _merge(row_val[target], row_idx[target], val, pos + c0, kx)
                # y -> x: the same test on columns, on the transposed columns only where needed
                cols = (tile.amax(dim=0) > col_val[c0:c1, -1]).nonzero().squeeze(1)
                if len(cols):
                    sub = tile.T[cols]
                    val, pos = sub.topk(min(ky, r1 - r0), dim=1)
                    target = col_columns[cols]
                    col_val[target], col_idx[target] = _merge(col_val[target], col_idx[target], val, pos + r0, ky)
    return Knn(row_val.cpu().numpy(), row_idx.cpu().numpy(), col_val.cpu().numpy(), col_idx.cpu().numpy())


def knn_faiss(x: np.ndarray, y: np.ndarray, k: int = K) -> Knn:
    """The two one-directional exact FAISS searches XTREME runs (the baseline `make bench` compares)."""
    import faiss

    x32 = np.ascontiguousarray(x, dtype=np.float32).copy()
    y32 = np.ascontiguousarray(y, dtype=np.float32).copy()
    faiss.normalize_L2(x32)
    faiss.normalize_L2(y32)

    def search(queries: np.ndarray, base: np.ndarray, kk: int):
        index = faiss.IndexFlatIP(base.shape[1])
        index.add(base)
        return index.search(queries, kk)

    x2y_sim, x2y_ind = search(x32, y32, min(k, len(y32)))
    y2x_sim, y2x_ind = search(y32, x32, min(k, len(x32)))
    return Knn(x2y_sim, x2y_ind.astype(np.int64), y2x_sim, y2x_ind.astype(np.int64))


def margin_scores(knn: Knn) -> tuple[np.ndarray, np.ndarray]:
    """Ratio margin of every k-NN candidate, both directions, without a per-candidate loop."""
    fwd_mean = knn.x2y_sim.astype(np.float64).mean(axis=1)
    bwd_mean = knn.y2x_sim.astype(np.float64).mean(axis=1)
    fwd = knn.x2y_sim / ((fwd_mean[:, None] + bwd_mean[knn.x2y_ind]) / 2)
    bwd = knn.y2x_sim / ((bwd_mean[:, None] + fwd_mean[knn.y2x_ind]) / 2)
    return fwd, bwd


def greedy_unique(src: np.ndarray, tgt: np.ndarray, order: np.ndarray) -> np.ndarray:
    """Edges (in `order`, best first) kept by the greedy one-to-one pass: an edge is kept when neither
    end was used by a kept edge before it. Computed in rounds: every alive edge that is the best alive
    edge of both its ends is kept (it would be kept by the sequential greedy too), then edges touching
    a used end die. Returns a boolean mask over edges."""
    src_r, tgt_r = src[order], tgt[order]
    alive = np.ones(len(order), dtype=bool)
    kept_r = np.zeros(len(order), dtype=bool)
    used_src = np.zeros(int(src.max(initial=-1)) + 1, dtype=bool)
    used_tgt = np.zeros(int(tgt.max(initial=-1)) + 1, dtype=bool)
    rounds = 0
    while alive.any():
        rounds += 1
        positions = np.flatnonzero(alive)
        if rounds > 64:  # long chains of near-ties: finish the few left sequentially
            for p in positions:
                if not used_src[src_r[p]] and not used_tgt[tgt_r[p]]:
                    used_src[src_r[p]] = used_tgt[tgt_r[p]] = True
                    kept_r[p] = True
            break
        first_src = np.zeros(len(order), dtype=bool)
        first_tgt = np.zeros(len(order), dtype=bool)
        first_src[positions[np.unique(src_r[positions], return_index=True)[1]]] = True
        first_tgt[positions[np.unique(tgt_r[positions], return_index=True)[1]]] = True
        dominant = first_src & first_tgt & alive
        kept_r |= dominant
        used_src[src_r[dominant]] = True
        used_tgt[tgt_r[dominant]] = True
        alive &= ~(used_src[src_r] | used_tgt[tgt_r])
    kept = np.zeros(len(order), dtype=bool)
    kept[order] = kept_r
    return kept


@dataclass
class Mined:
    src: np.ndarray  # indices into x
    tgt: np.ndarray  # indices into y
    score: np.ndarray


def mine(knn: Knn, threshold: float = 0.0) -> Mined:
    """Candidate pairs by max-score retrieval (XTREME `mine_bitext(..., retrieval='max')`)."""
    fwd, bwd = margin_scores(knn)
    n, m = len(fwd), len(bwd)
    fwd_pick, bwd_pick = fwd.argmax(axis=1), bwd.argmax(axis=1)
    fwd_best = knn.x2y_ind[np.arange(n), fwd_pick]
    bwd_best = knn.y2x_ind[np.arange(m), bwd_pick]
    src = np.concatenate((np.arange(n), bwd_best))
    tgt = np.concatenate((fwd_best, np.arange(m)))
    score = np.concatenate((fwd[np.arange(n), fwd_pick], bwd[np.arange(m), bwd_pick]))
    order = np.argsort(-score, kind="stable")
    kept = greedy_unique(src, tgt, order) & (score > threshold)
    return Mined(src[kept], tgt[kept], score[kept])


# ---- BUCC scoring -------------------------------------------------------------------------------------

def optimize_threshold(scores: np.ndarray, correct: np.ndarray, n_gold: int) -> tuple[float, float]:
    """XTREME's `bucc_optimize`: walk the candidates by descending score; the threshold is halfway
    between the score where F1 peaks (first peak) and the next one. -> (threshold, F1 there)."""
    if len(scores) == 0 or n_gold == 0:
        return 0.0, 0.0
    order = np.argsort(-scores, kind="stable")
    ordered = scores[order]
    n_correct = np.cumsum(correct[order])
    n_extract = np.arange(1, len(order) + 1)
    precision = n_correct / n_extract
    recall = n_correct / n_gold
    with np.errstate(invalid="ignore", divide="ignore"):
        f1 = np.where(n_correct > 0, 2 * precision * recall / (precision + recall), 0.0)
    best = int(np.argmax(f1))
    if f1[best] <= 0:
        return 0.0, 0.0
    threshold = (ordered[best] + ordered[best + 1]) / 2 if best + 1 < len(ordered) else ordered[best]
    return float(threshold), float(f1[best])


def evaluate(scores: np.ndarray, correct: np.ndarray, n_gold: int, threshold: float) -> dict[str, Any]:
    """Precision, recall and F1 of the candidates scoring >= threshold (XTREME `bucc_extract` + `bucc_eval`)."""
    extracted = scores >= threshold
    n_extracted = int(extracted.sum())
    n_correct = int((extracted & correct).sum())
    if n_correct == 0:
        precision = recall = f1 = 0.0
    else:
        precision = n_correct / n_extracted
        recall = n_correct / n_gold
        f1 = 2 * precision * recall / (precision + recall)
    return {"precision": precision, "recall": recall, "f1": f1, "extracted": n_extracted, "correct": n_correct,
            "threshold": float(threshold)}


# ---- BUCC's duplicates: unify texts before mining, map mined pairs back (`core/retrieval/retrieve.py` mines) ----

def unify(texts: list[str]) -> tuple[list[str], np.ndarray, np.ndarray]:
    """-> (unique texts in first-seen order, sentence -> unique index, unique -> first sentence)."""
    seen: dict[str, int] = {}
    inverse = np.empty(len(texts), dtype=np.int64)
    first: list[int] = []
    for i, text in enumerate(texts):
        j = seen.setdefault(text, len(seen))
        if j == len(first):
            first.append(i)
        inverse[i] = j
    return list(seen), inverse, np.asarray(first, dtype=np.int64)


def expand(mined: Mined, src_inv: np.ndarray, tgt_inv: np.ndarray, src_first: np.ndarray, tgt_first: np.ndarray,
           rule: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mined pairs of unique texts -> pairs of sentences (indices into the group's sides).

    rule 'jiant' (xstilts): a pair counts for every sentence that has those texts;
    rule 'xtreme': sentences whose text occurs more than once have no id and their pairs are dropped."""
    src_count = np.bincount(src_inv, minlength=len(src_first))
    tgt_count = np.bincount(tgt_inv, minlength=len(tgt_first))
    single = (src_count[mined.src] == 1) & (tgt_count[mined.tgt] == 1)
    src, tgt, score = [src_first[mined.src[single]]], [tgt_first[mined.tgt[single]]], [mined.score[single]]
    if rule == "jiant" and not single.all():
        for u_src, u_tgt, value in zip(mined.src[~single], mined.tgt[~single], mined.score[~single]):
            members_src, members_tgt = np.flatnonzero(src_inv == u_src), np.flatnonzero(tgt_inv == u_tgt)
            src.append(np.repeat(members_src, len(members_tgt)))
            tgt.append(np.tile(members_tgt, len(members_src)))
            score.append(np.full(len(members_src) * len(members_tgt), value))
    return np.concatenate(src), np.concatenate(tgt), np.concatenate(score)
