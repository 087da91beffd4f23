"""`stilt evaluate` of a ranking task (Mewsli-X, LAReQA): a checkpoint's trained dual-encoder head ranks
the one candidate pool for every query language (`core/retrieval/rank.py` embeds and searches), scored as
mAP@k per language; predictions in XTREME's submission layout when asked."""

from __future__ import annotations

from typing import Any

from stilt_cli.core import console
from stilt_cli.core.evaluation.submission import PredictionSinks
from stilt_cli.core.retrieval import rank


def evaluate_head(config: Any) -> list[dict[str, Any]]:
    """`stilt evaluate` of a ranking task: the checkpoint's dual-encoder head ranks every query language
    against the one candidate pool; records per language, predictions in XTREME's layout when asked."""
    from stilt_cli.core import checkpoint, device
    from stilt_cli.core.data import sources
    from stilt_cli.core.data.readers import languages_for
    from stilt_cli.core.encoders.load import from_checkpoint
    from stilt_cli.core.evaluation import inputs as ev
    from stilt_cli.core.model import heads

    spec = ev.resolve_task(config.task)
    ckpt = checkpoint.load(config.checkpoint)
    head = ev.require_head(ckpt, spec)
    source = ev.source_of(spec, config)
    split = ev.resolve_split(spec, config.split, source.data_file is not None)
    codes = ev.codes(config.langs)
    if codes is not None and source.data_file is None:
        codes = languages_for(spec, codes)[0]
    rows = sources.load_examples(spec, split, None if source.data_file else codes, data_file=source.data_file,
                                 data_dir=source.data_dir)
    if source.data_file is not None:
        split, rows = sources.split_of_file(rows, config.split, split)
    if codes is not None:  # the candidates of every language stay: the pool is shared
        rows = [r for r in rows if r.get("side") == "candidate" or r["lang"] in codes]
    rankset = rank.build(rows, spec.name, split, config.max_examples)
    sinks = PredictionSinks(spec.name, split, config.save_predictions, config.export_xtreme)
    stage = ev.training_stage(ckpt, head)
    trained = ev.head_settings(stage, head, spec)
    query_length, max_length = rank.lengths(spec, config.max_length or trained["max_length"],
                                       config.query_length or trained.get("query_length"))
    choice = device.choose(config.device, config.precision)
    encoder = from_checkpoint(ckpt)
    expected = heads.HeadSpec(name=head, type="dual-encoder", task=spec.name, hidden_size=encoder.hidden_size)
    model = heads.load_model(ckpt, encoder.model, head, expected)
    model.to(choice.torch_device())
    tower = rank.HeadEncoder(model, head, encoder.tokenizer, choice, encoder.hidden_size)
    k = spec.rank_k
    params = {"head": head, "max_length": max_length, "query_length": query_length}
    if config.max_examples is not None:
        params["max_examples"] = config.max_examples
    common = {"task": spec.name, "split": split, "protocol": spec.protocol, "checkpoint": ckpt.ref(),
              "seed": stage.get("seed") if stage else None, "model_revision": ev.model_revision(ckpt)}
    console.info(f"evaluating {spec.name} {split} with head '{head}' of {ckpt.path}: {len(rankset.queries)} "
                 f"language(s), {len(rankset.candidates)} candidates, lengths {query_length}/{max_length}, {choice.name}")
    pool = tower.encode(rankset.candidate_texts(), max_length)
    ids = rankset.candidate_ids
    out: list[dict[str, Any]] = []
    for lang, queries in rankset.queries.items():
        indices, backend = rank.top_k(tower.encode([q["text"] for q in queries], query_length), pool, k)
        ranked = [[ids[i] for i in row] for row in indices]
        written = sinks.write(lang, queries, ranked) if sinks.active else []
        value, n = rank.scored(queries, ranked, k)
        if value is None:
            console.info(f"{spec.name} {split} {lang}: no gold, so no score; predictions written to "
                         f"{', '.join(map(str, written)) or 'nowhere (--save-predictions DIR)'}")
            continue
        details = {"candidates": len(ids), "candidate_langs": rankset.candidate_langs(), "search": backend,
                   "device": choice.device, "amp": choice.amp_dtype}
        out.append(rank.result_record(spec, lang, value, n, common, params, details))
        console.info(f"{spec.name} {lang}: {spec.main_metric} {value:.4f} (n={n})")
    return out
