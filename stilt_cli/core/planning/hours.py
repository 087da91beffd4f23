"""GPU-hours of a grid (`stilt plan hours`): tokens each run trains on, divided by a throughput.

Tokens. A run trains on `examples × epochs` examples (or `steps × batch_size`, where `batch_size` is the
effective batch per optimizer step as `--batch-size` is), each counted at `max_length` tokens: batches
are padded to their longest example, so this is an upper bound. Evaluation passes are not counted.

Throughput, in this order:
1. a row of `throughput.json` ("throughput") for the model, GPU and precision, at its own sequence length
   and full fine-tuning, scaled to the run's length and mode by the FLOPs per token below. A row is
   "measured" (with where and when) or "estimate" (the FLOP formula at the table's utilisation, stored so
   the table can be read and checked; `tests/cli/test_plan.py` keeps it equal to the formula).
2. otherwise (a local folder, `tiny:`, a GPU/precision with no row, or `--utilisation` given) the formula:
   tokens/s = utilisation × the GPU's dense peak FLOP/s for the precision / training FLOPs per token.

Training FLOPs per token (PaLM's model-FLOPs count, Chowdhery et al. 2022, appendix B):
full fine-tuning 6·N + 12·L·h·S, LoRA 4·N + 12·L·h·S (no weight gradients of the frozen base), where N
is the encoder's non-embedding parameters (an embedding is a lookup, not a matmul), L layers, h width,
S the sequence length — the count `stilt_cli/bench/common.transformer_train_flops` uses for the bench's
utilisation (padding tokens counted here, not there). GPU-hours = tokens / (tokens/s of one GPU) / 3600; with DDP over
`gpus` GPUs the wall-clock hours are that divided by `gpus` (communication not counted), the GPU-hours stay the same.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from stilt_cli.core.errors import DataError, StiltError, UsageError, unknown
from stilt_cli.core.planning.models import Shape, resolve, table

PRECISIONS = ("bf16", "fp16", "fp32")
PEFT = (None, "lora")
DEFAULTS = {"epochs": 1, "batch_size": 32, "max_length": 128, "peft": None, "gpus": 1}


@dataclass
class PlanConfig:
    grid: str
    gpu: str = "h100"
    precision: str = "bf16"
    utilisation: float | None = None  # None: the table's


def flops_per_token(shape: Shape, length: int, peft: str | None = None) -> float:
    per_param = 4 if peft == "lora" else 6
    return per_param * shape.layer_params + 12 * shape.layers * shape.hidden * length


def gpu_entry(name: str) -> tuple[str, dict[str, Any]]:
    gpus = table()["gpus"]
    key = name.lower()
    if key not in gpus:
        raise unknown(name, gpus, "GPU")
    return key, gpus[key]


def estimate_tokens_per_s(shape: Shape, gpu: str, precision: str, length: int, peft: str | None,
                          utilisation: float) -> tuple[float, str]:
    key, entry = gpu_entry(gpu)
    peak = entry["peak_tflops"].get(precision)
    if peak is None:
        raise UsageError(f"{key} has no {precision} peak in the throughput table",
                         f"use one of {', '.join(entry['peak_tflops'])}")
    rate = utilisation * peak * 1e12 / flops_per_token(shape, length, peft)
    basis = (f"estimate: {'4' if peft == 'lora' else '6'}·N + 12·L·h·S FLOPs/token at {utilisation:.2f} of "
             f"{key}'s dense {precision} peak ({peak:g} TFLOP/s)")
    return rate, basis


def estimate_rows() -> list[dict[str, Any]]:
    """The table's estimate rows, recomputed from the formula (what `throughput.json` must hold)."""
    t = table()
    rows = []
    for model in t["models"]:
        shape = resolve(model)
        for gpu, entry in t["gpus"].items():
            for precision in entry["peak_tflops"]:
                rate, _ = estimate_tokens_per_s(shape, gpu, precision, t["reference_length"], None, t["utilisation"])
                rows.append({"model": model, "gpu": gpu, "precision": precision, "max_length": t["reference_length"],
                             "tokens_per_s": round(rate), "status": "estimate"})
    return rows


def throughput(shape: Shape, gpu: str, precision: str, length: int, peft: str | None,
               utilisation: float | None) -> tuple[float, str, str]:
    """(tokens/s, status measured|estimate, basis) for one run."""
    key, _ = gpu_entry(gpu)
    rows = [r for r in table()["throughput"] if (r["model"], r["gpu"], r["precision"]) == (shape.name, key, precision)
            and shape.source == "table"]
    rows.sort(key=lambda r: r["status"] != "measured")  # a measured figure wins over an estimate
    if rows and (utilisation is None or rows[0]["status"] == "measured"):
        row = rows[0]
        scale = flops_per_token(shape, row["max_length"]) / flops_per_token(shape, length, peft)
        where = f" ({row['measured_on']})" if row["status"] == "measured" else ""
        basis = (f"{row['status']} table row{where}: {row['tokens_per_s']} tokens/s at {row['max_length']} tokens, "
                 f"full fine-tuning" + (f"; scaled x{scale:.3f} by FLOPs/token" if abs(scale - 1) > 1e-9 else ""))
        return row["tokens_per_s"] * scale, row["status"], basis
    rate, basis = estimate_tokens_per_s(shape, gpu, precision, length, peft,
                                        table()["utilisation"] if utilisation is None else utilisation)
    return rate, "estimate", basis


def _preset(run: dict[str, Any], shape: Shape) -> dict[str, Any]:
    """epochs, batch_size and max_length of the line's `preset` for its `task` (a 24-layer or deeper encoder
    takes the preset's `*_large` values, as `core/training/config.py` does); {} without both."""
    if not run.get("preset") or not run.get("task"):
        return {}
    from stilt_cli.core import tasks

    spec = tasks.get(str(run["task"]))
    if run["preset"] not in spec.hparams:
        raise UsageError(f"task {spec.name} has no '{run['preset']}' preset",
                         f"presets of {spec.name}: {', '.join(spec.hparams) or 'none'}")
    values = dict(spec.hparams[run["preset"]])
    if shape.layers >= 24:
        values.update({k[: -len("_large")]: v for k, v in values.items() if k.endswith("_large")})
    chosen = {k: values[k] for k in ("epochs", "batch_size", "max_length") if values.get(k) is not None}
    if values.get("max_steps"):
        chosen["steps"] = values["max_steps"]
    return chosen


def _train_examples(task: str) -> tuple[int | None, str | None]:
    """English training examples of a task (its train_task for a target task) from the table, or (None, None)."""
    from stilt_cli.core import tasks

    spec = tasks.get(task)
    name = spec.train_task or spec.name
    entry = table()["train_examples"].get(name)
    return (entry["examples"], f"{name}: {entry['source']}") if entry else (None, None)


def _count_lines(path: str, where: str) -> int:
    from stilt_cli.core.textio import lines

    if not os.path.isfile(path):
        raise DataError(f"{where}: data file {path} does not exist", "give `examples` instead, or the right path")
    return sum(1 for _ in lines(path, blank=False))


def _number(run: dict[str, Any], field: str, where: str, kind: type = float) -> Any:
    value = run.get(field, DEFAULTS.get(field))
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0 or (kind is int and value % 1):
        raise DataError(f"{where}: '{field}' must be a positive {'integer' if kind is int else 'number'}, "
                        f"got {value!r}")
    return kind(value)


def plan_run(run: dict[str, Any], where: str, config: PlanConfig) -> dict[str, Any]:
    """One grid line -> its planned record; an unknown name says the line it is on."""
    try:
        return _plan_run(run, where, config)
    except StiltError as exc:
        if exc.message.startswith(where):
            raise
        raise type(exc)(f"{where}: {exc.message}", exc.hint) from None


def _languages(run: dict[str, Any], task: str | None, where: str) -> int:
    """How many languages a run trains on (`train_langs`: a list, a comma list or 'all'; translate-train data is
    taken to be as large in every language as in English): the factor on its examples."""
    value = run.get("train_langs")
    if value in (None, "", "en", ["en"]):
        return 1
    if value == "all":
        if task is None:
            raise DataError(f"{where}: train_langs 'all' needs a task", "or list the languages")
        from stilt_cli.core import tasks

        return len(tasks.get(task).languages)
    langs = value if isinstance(value, list) else str(value).split(",")
    return len({str(lang).strip() for lang in langs if str(lang).strip()}) or 1


def _part(run: dict[str, Any], task: str | None, shape: Shape, where: str, steps_run: bool) -> dict[str, Any]:
    """examples, epochs, max_length and tokens of one task of a line (its preset under the line's own values)."""
    values = {**_preset({**run, "task": task}, shape), **{k: v for k, v in run.items() if k != "task"}}
    length = _number(values, "max_length", where, int)
    epochs = _number(values, "epochs", where)
    examples = _number(values, "examples", where, int)
    source = "examples" if examples is not None else None
    if examples is None and values.get("data"):
        examples, source = _count_lines(str(values["data"]), where), f"lines of {values['data']}"
    if examples is None and not steps_run and task:
        examples, source = _train_examples(task)
    if examples is None and not steps_run:
        hint = ("continued MLM: give \"data\" (the --mlm-data file) or \"examples\"" if task == "mlm" else
                "add \"examples\": N (training examples per epoch) or \"steps\": N")
        raise DataError(f"{where}: run '{run['run']}' gives neither examples, data, steps nor a task of known size"
                        + (f" ({task})" if task else ""), hint)
    factor = _languages(run, task, where)
    if examples is not None:
        examples *= factor
    return {"task": task, "examples": examples, "examples_from": source, "epochs": epochs, "max_length": length,
            "batch_size": _number(values, "batch_size", where, int), "steps": _number(values, "steps", where, int),
            "languages": factor, "tokens": None if steps_run else int(round(examples * epochs * length))}


def _plan_run(run: dict[str, Any], where: str, config: PlanConfig) -> dict[str, Any]:
    for field in ("run", "model"):
        if not isinstance(run.get(field), str) or not run[field]:
            raise DataError(f"{where}: a grid line needs '{field}' (a string)",
                            "each line: {\"run\": NAME, \"model\": ID, \"examples\": N, \"epochs\": E, ...}")
    shape = resolve(run["model"])
    precision = run.get("precision") or config.precision
    if precision not in PRECISIONS:
        raise unknown(str(precision), PRECISIONS, "precision")
    peft = run.get("peft")
    if peft not in PEFT:
        raise unknown(str(peft), ["lora"], "peft method")
    gpu = gpu_entry(run.get("gpu") or config.gpu)[0]
    gpus = _number(run, "gpus", where, int)
    names = [t.strip() for t in str(run.get("task") or "").split(",") if t.strip()] or [None]
    if len(names) > 1 and (run.get("examples") is not None or run.get("data")):
        raise DataError(f"{where}: 'examples' and 'data' give one task's size, and run '{run['run']}' trains "
                        f"{len(names)} tasks", "leave them out (each task's size is taken) or give \"steps\"")
    # steps (the line's, or its first task's preset) fix the run's length; else multi-task training runs each
    # task's epochs over its examples (core/training/loop.py: total steps = sum of per-task epochs x batches)
    first = _part(run, names[0], shape, where, steps_run=True)
    steps = first["steps"]
    parts = [first] if steps is not None else [_part(run, name, shape, where, False) for name in names]
    if steps is not None:
        first["tokens"] = steps * first["batch_size"] * first["max_length"]
    rates = [throughput(shape, gpu, precision, p["max_length"], peft, config.utilisation) for p in parts]
    tokens = sum(p["tokens"] for p in parts)
    hours = sum(p["tokens"] / rate / 3600.0 for p, (rate, _, _) in zip(parts, rates))
    status = "measured" if all(r[1] == "measured" for r in rates) else "estimate"
    planned = {**run, "gpu": gpu, "precision": precision, "peft": peft,
               "examples": None if steps is not None else sum(p["examples"] for p in parts),
               "examples_from": None if steps is not None else "; ".join(str(p["examples_from"]) for p in parts),
               "epochs": None if steps is not None else (parts[0]["epochs"] if len(parts) == 1 else None),
               "steps": steps, "batch_size": first["batch_size"],
               "max_length": max(p["max_length"] for p in parts), "tokens": tokens, "params": shape.params,
               "tokens_per_s": round(tokens / hours / 3600.0, 1), "gpu_hours": hours, "gpus": gpus,
               "wall_hours": hours / gpus, "throughput_source": status,
               "throughput_basis": " | ".join(dict.fromkeys(r[2] for r in rates))}
    if len(parts) > 1:
        planned["parts"] = [{k: p[k] for k in ("task", "examples", "epochs", "max_length", "tokens")} for p in parts]
    if any(p["languages"] > 1 for p in parts):
        planned["languages"] = parts[0]["languages"]
    return planned


def plan(config: PlanConfig) -> list[dict[str, Any]]:
    """One record per grid line, then the TOTAL record."""
    from stilt_cli.core.textio import read_jsonl, source_name

    name = source_name(config.grid)
    if config.grid != "-" and not os.path.isfile(config.grid):
        raise DataError(f"grid {config.grid} does not exist", "write one JSON object per run (see `stilt "
                                                              "plan hours -h`)")
    if config.utilisation is not None and not 0 < config.utilisation <= 1:
        raise UsageError(f"--utilisation {config.utilisation}: must be in (0, 1]", "e.g. 0.35")
    gpu_entry(config.gpu)
    rows = [plan_run(run, f"{name}:{number}", config) for number, run in read_jsonl(config.grid, expect="grid run")]
    if not rows:
        raise DataError(f"grid {name} holds no runs")
    total = {"run": "TOTAL", "runs": len(rows), "tokens": sum(r["tokens"] for r in rows),
             "gpu_hours": sum(r["gpu_hours"] for r in rows),
             "estimate": any(r["throughput_source"] != "measured" for r in rows)}
    return [*rows, total]


def _hours(value: float) -> str:
    return f"{value:,.2f}" if value >= 0.01 or value == 0 else "<0.01"


def table_rows(planned: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """For people: the columns that matter, GPU-hours with 2 significant decimals."""
    shown = []
    for r in planned:
        if r["run"] == "TOTAL":
            shown.append({"run": f"TOTAL ({r['runs']} runs)", "tokens (M)": f"{r['tokens'] / 1e6:,.1f}",
                          "GPU-hours": _hours(r["gpu_hours"])})
            continue
        shown.append({"run": r["run"], "model": r["model"], "gpu": r["gpu"], "precision": r["precision"],
                      "peft": r["peft"] or "", "tokens (M)": f"{r['tokens'] / 1e6:,.1f}",
                      "tokens/s": f"{r['tokens_per_s']:,.0f}", "GPU-hours": _hours(r["gpu_hours"]),
                      "source": r["throughput_source"]})
    return shown


def report(config: PlanConfig, fmt: str, output: Any = None) -> int:
    from stilt_cli.core.console import put
    from stilt_cli.core.console import table as render
    from stilt_cli.core.textio import write_jsonl

    planned = plan(config)
    if fmt == "jsonl":
        return write_jsonl(output, planned)
    t = table()
    estimated = sum(r["throughput_source"] == "estimate" for r in planned[:-1])
    note = (f"{estimated} of {len(planned) - 1} runs use estimates (FLOPs at a stated utilisation of the GPU's "
            f"dense peak; no GPU throughput has been measured in this project yet); " if estimated else "")
    put(render(table_rows(planned), title="GPU-hours") + note + f"tokens counted at max_length (an upper bound); "
        f"table: {t['source']}\n", output)
    return len(planned) - 1
