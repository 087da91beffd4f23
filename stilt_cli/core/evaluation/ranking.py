"""The runner of `stilt evaluate` for a ranking task (Mewsli-X, LAReQA): a checkpoint's trained dual-encoder head
ranks the one candidate pool for every query language (`core/retrieval/rank.py` embeds and searches), scored
as mAP@k per language; `evaluate.run` drives it (predictions in XTREME's submission layout when asked)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from stilt_cli.core import console
from stilt_cli.core.evaluation import inputs as ev
from stilt_cli.core.evaluation.submission import PredictionSinks
from stilt_cli.core.retrieval import rank


@dataclass
class RankRunner:
    """The runner `evaluate.run` drives for a dual-encoder head: the checkpoint's head embeds the one candidate
    pool (once) and each language's queries; a language's predictions are its queries' top-k candidate ids."""

    spec: Any
    split: str
    rankset: rank.RankSet
    sinks: PredictionSinks
    tower: rank.HeadEncoder
    lengths: tuple[int, int]  # query, candidate tokens
    common: dict[str, Any]
    params: dict[str, Any]
    pool: Any = None

    @property
    def groups(self) -> dict[str, list[dict[str, Any]]]:
        return self.rankset.queries

    @classmethod
    def prepare(cls, config: Any) -> RankRunner:
        from stilt_cli.core import checkpoint, device
        from stilt_cli.core.data import sources
        from stilt_cli.core.data.readers import languages_for
        from stilt_cli.core.encoders.load import from_checkpoint
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
        params = {"head": head, "max_length": max_length, "query_length": query_length}
        if config.max_examples is not None:
            params["max_examples"] = config.max_examples
        common = {"task": spec.name, "split": split, "protocol": spec.protocol, "checkpoint": ckpt.ref(),
                  "seed": stage.get("seed") if stage else None, "model_revision": ev.model_revision(ckpt)}
        console.info(f"evaluating {spec.name} {split} with head '{head}' of {ckpt.path}: {len(rankset.queries)} "
                     f"language(s), {len(rankset.candidates)} candidates, lengths {query_length}/{max_length}, "
                     f"{choice.name}")
        return cls(spec, split, rankset, sinks, tower, (query_length, max_length), common, params)

    def predict(self, lang: str, queries: list[dict[str, Any]]) -> ev.LangResult:
        if self.pool is None:
            self.pool = self.tower.encode(self.rankset.candidate_texts(), self.lengths[1])
        ids = self.rankset.candidate_ids
        vectors = self.tower.encode([q["text"] for q in queries], self.lengths[0])
        indices, backend = rank.top_k(vectors, self.pool, self.spec.rank_k)
        return ev.LangResult([[ids[i] for i in row] for row in indices], {"search": backend})

    def score(self, lang: str, queries: list[dict[str, Any]], result: ev.LangResult, written: list[Any]
              ) -> list[dict[str, Any]]:
        spec = self.spec
        value, n = rank.scored(queries, result.predictions, spec.rank_k)
        if value is None:
            console.info(f"{spec.name} {self.split} {lang}: no gold, so no score; predictions written to "
                         f"{', '.join(map(str, written)) or 'nowhere (--save-predictions DIR)'}")
            return []
        device = self.tower.device
        details = {"candidates": len(self.rankset.candidates), "candidate_langs": self.rankset.candidate_langs(),
                   "search": result.details["search"], "device": device.device, "amp": device.amp_dtype}
        console.info(f"{spec.name} {lang}: {spec.main_metric} {value:.4f} (n={n})")
        return [rank.result_record(spec, lang, value, n, self.common, self.params, details)]
