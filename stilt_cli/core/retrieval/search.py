"""Exact nearest-neighbour search by cosine: FAISS `IndexFlatIP` (sharded over the visible GPUs with
faiss-gpu on CUDA), or exact torch search without faiss; top-1 accuracy over gold links.
"""

from __future__ import annotations

import numpy as np


def normalised(array: np.ndarray) -> np.ndarray:
    out = np.array(array, dtype=np.float32, copy=True)
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    out /= np.maximum(norms, 1e-12)
    return out


def search_backend() -> str:
    """faiss-gpu (faiss-gpu sees a GPU and the device is CUDA), faiss-cpu, or exact torch search."""
    from stilt_cli.core import device

    return device.search_backend(device.choose(), device.faiss_flavour())


def search(queries: np.ndarray, base: np.ndarray, k: int = 1,
           backend: str | None = None) -> tuple[np.ndarray, np.ndarray, str]:
    """Exact top-k by cosine: (scores (q, k), indices (q, k), backend used)."""
    backend = backend or search_backend()
    q, b = normalised(queries), normalised(base)
    k = min(k, len(b))
    if backend.startswith("faiss"):
        import faiss

        index = faiss.IndexFlatIP(b.shape[1])
        if backend == "faiss-gpu":  # cannot run on CPU-only machines; guarded by search_backend()
            options = faiss.GpuMultipleClonerOptions()
            options.shard = True  # split the base over the visible GPUs instead of copying it to each
            index = faiss.index_cpu_to_all_gpus(index, co=options)
        index.add(b)
        scores, indices = index.search(q, k)
        return scores, indices.astype(np.int64), backend
    import torch

    from stilt_cli.core import device

    torch_device = device.choose().torch_device()
    base_t = torch.as_tensor(b, device=torch_device)
    out_scores, out_indices = [], []
    with torch.inference_mode():
        for start in range(0, len(q), 4096):
            tile = torch.as_tensor(q[start:start + 4096], device=torch_device) @ base_t.T
            values, positions = tile.topk(k, dim=1)
            out_scores.append(values.cpu().numpy())
            out_indices.append(positions.cpu().numpy())
    return np.concatenate(out_scores), np.concatenate(out_indices).astype(np.int64), "torch-" + torch_device.type


def accuracy(src: np.ndarray, tgt: np.ndarray, links: np.ndarray, direction: str,
             backend: str | None = None) -> tuple[float, int, str]:
    """Top-1 accuracy: each query that has a gold link searches the whole other side; a hit is any of
    its gold partners. en2xx: English (tgt) queries the xx side (src); xx2en the reverse."""
    query_col, base_col = (1, 0) if direction == "en2xx" else (0, 1)
    queries_side, base_side = (tgt, src) if direction == "en2xx" else (src, tgt)
    query_ids = np.unique(links[:, query_col])
    _, top, used = search(queries_side[query_ids], base_side, 1, backend)
    width = max(len(src), len(tgt)) + 1
    gold = links[:, query_col] * width + links[:, base_col]
    hits = np.isin(query_ids * width + top[:, 0], gold)
    return float(hits.mean()), int(len(query_ids)), used
