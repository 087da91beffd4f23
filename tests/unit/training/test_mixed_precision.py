"""Mixed precision on CPU through the CUDA code path (autocast on the chosen device type, GradScaler for
fp16): master weights stay float32, an overflow skips the step without advancing the schedule, the NaN
guard still fires, the numbers stay close to fp32, resume is bit-identical with the scaler restored —
and running out of memory stops with one line and the last good state kept."""

from __future__ import annotations

import json

import pytest
import torch

from stilt_cli.core.device import choose
from stilt_cli.core.errors import DataError
from stilt_cli.core.training import loop, trainstate
from tests.helpers import poison_loss
from tests.unit.training.test_loop import _setup


class Log:
    """Stands in for the tracker: the loop's per-step rows."""

    def __init__(self) -> None:
        self.rows: list[dict] = []

    def start(self, step: int) -> None:
        pass

    def log(self, row: dict) -> None:
        self.rows.append(row)


def _run(ckpt, tmp_path, precision, steps=6, overflow_at=None, save_every=None, **settings):
    model, job, cfg, runtime = _setup(ckpt, tmp_path, max_steps=steps, warmup_steps=0, **settings)
    runtime.device, runtime.save_every = choose("cpu", precision), save_every
    runtime.tracker = Log()
    if overflow_at is not None:  # the gradient of one step overflows: inf reaches the scaler's check
        calls = {"n": 0}

        def overflow(grad):
            calls["n"] += 1
            return grad * float("inf") if calls["n"] == overflow_at else grad

        model.heads["xnli"].out.weight.register_hook(overflow)
    loop.train(model, [job], cfg, runtime)
    return model, runtime


@pytest.mark.parametrize("precision", ["bf16", "fp16"])
def test_cpu_autocast_keeps_float32_weights_and_stays_close_to_fp32(precision, tiny_xlmr, tmp_path):
    reference, ref_rt = _run(tiny_xlmr, tmp_path / "fp32", "fp32")
    model, runtime = _run(tiny_xlmr, tmp_path / precision, precision)
    assert runtime.device.amp_dtype == {"bf16": "bfloat16", "fp16": "float16"}[precision]
    assert {p.dtype for p in model.parameters()} == {torch.float32}  # autocast never touches the master weights
    # bf16 keeps 8 significant bits (relative rounding 2^-9), fp16 11 bits: over 6 steps of a 2-layer model
    # the mean loss (~1.1) moves by a few 1e-3; 0.02 absolute leaves room and still catches a wrong path
    # (an fp16 model without the scaler's unscale, or fp16 weights, is off by far more)
    for mine, ref in zip(runtime.tracker.rows, ref_rt.tracker.rows):
        assert mine["loss"] == pytest.approx(ref["loss"], abs=0.02)
    drift = max((a - b).abs().max().item() for a, b in zip(model.parameters(), reference.parameters()))
    assert drift < 5e-3  # lr 1e-3: each of the 6 AdamW steps moves a weight by ~1e-3 at most
    assert ("loss_scale" in runtime.tracker.rows[0]) is (precision == "fp16")


def test_an_overflow_skips_the_step_and_the_schedule_does_not_advance(tiny_xlmr, tmp_path):
    _, runtime = _run(tiny_xlmr, tmp_path, "fp16", steps=5, overflow_at=3)
    rows = runtime.tracker.rows
    assert [r["skipped"] for r in rows] == [False, False, True, False, False]
    assert [r["loss_scale"] for r in rows] == [2.0 ** 16] * 3 + [2.0 ** 15] * 2  # the scaler backed off
    lrs = [r["lr"] for r in rows]
    assert lrs[0] > lrs[1] > lrs[2] == lrs[3] > lrs[4]  # linear decay; step 4 reuses skipped step 3's rate
    assert all(torch.isfinite(torch.tensor(r["loss"])) for r in rows)


def test_without_an_overflow_the_fp16_schedule_matches_fp32(tiny_xlmr, tmp_path):
    _, fp16 = _run(tiny_xlmr, tmp_path / "a", "fp16", steps=4)
    _, fp32 = _run(tiny_xlmr, tmp_path / "b", "fp32", steps=4)
    assert [r["lr"] for r in fp16.tracker.rows] == [r["lr"] for r in fp32.tracker.rows]


def test_the_nan_guard_still_fires_under_fp16(tiny_xlmr, tmp_path, monkeypatch):
    poison_loss(monkeypatch, at_call=3)
    with pytest.raises(DataError, match=r"loss became nan at step 3 .*last good state \(step 2\)"):
        _run(tiny_xlmr, tmp_path, "fp16")
    assert json.loads((tmp_path / "state" / "state.json").read_text())["progress"]["step"] == 2


class _Stop(Exception):
    pass


def test_fp16_resume_is_bit_identical_with_the_scaler_state_restored(tiny_xlmr, tmp_path, monkeypatch):
    straight, straight_rt = _run(tiny_xlmr, tmp_path / "straight", "fp16", steps=6, overflow_at=2)

    real_pause = trainstate.pause_point

    def stop_at_4(step):  # the run dies right after the periodic save of step 4
        real_pause(step)
        if step == 4:
            raise _Stop

    monkeypatch.setattr(trainstate, "pause_point", stop_at_4)
    with pytest.raises(_Stop):
        _run(tiny_xlmr, tmp_path / "resumed", "fp16", steps=6, overflow_at=2, save_every=2)
    monkeypatch.setattr(trainstate, "pause_point", real_pause)
    assert torch.load(tmp_path / "resumed" / "state" / "scaler.pt")["scale"] == 2.0 ** 15  # after the skip

    model, job, cfg, runtime = _setup(tiny_xlmr, tmp_path / "resumed", max_steps=6, warmup_steps=0)
    runtime.device, runtime.tracker, runtime.resume = choose("cpu", "fp16"), Log(), True
    loop.train(model, [job], cfg, runtime)
    assert [r["loss_scale"] for r in runtime.tracker.rows] == [2.0 ** 15] * 2  # restored, not 2^16 again
    assert [r["lr"] for r in runtime.tracker.rows] == [r["lr"] for r in straight_rt.tracker.rows[4:]]
    for (name, value), other in zip(model.state_dict().items(), straight.state_dict().values()):
        assert torch.equal(value, other), name


def _out_of_memory_at(monkeypatch, at_call: int) -> None:
    from stilt_cli.core.model import heads

    real = heads.loss_sum
    calls = {"n": 0}

    def failing(head_type, logits, batch):
        calls["n"] += 1
        if calls["n"] == at_call:
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return real(head_type, logits, batch)

    monkeypatch.setattr(heads, "loss_sum", failing)


def test_out_of_memory_is_one_line_with_the_fix_and_keeps_the_state(tiny_xlmr, tmp_path, monkeypatch):
    _out_of_memory_at(monkeypatch, at_call=3)
    model, job, cfg, runtime = _setup(tiny_xlmr, tmp_path, max_steps=6, grad_accum=2, batch_size=8, max_length=32)
    with pytest.raises(DataError) as raised:
        loop.train(model, [job], cfg, runtime)
    error = raised.value
    line = error.one_line()
    assert error.exit_code == 1 and "\n" not in line
    assert "memory at step 2" in line and "--batch-size 8 with --grad-accum 2" in line and "4 rows" in line
    assert "--max-length 32" in line and "last good state (step 1)" in line
    assert "--grad-accum" in error.hint and "smaller --batch-size" in error.hint
    assert json.loads((tmp_path / "state" / "state.json").read_text())["progress"]["step"] == 1


def test_out_of_memory_in_extraction_names_the_batch(tiny_xlmr, monkeypatch):
    from stilt_cli.core import checkpoint
    from stilt_cli.core.encoders.load import from_checkpoint
    from stilt_cli.core.retrieval import extract

    encoder = from_checkpoint(checkpoint.load(tiny_xlmr))

    def no_memory(*args, **kwargs):
        raise torch.OutOfMemoryError("CUDA out of memory")

    monkeypatch.setattr(encoder.model, "forward", no_memory)
    spec = extract.EmbedSpec(layers=(1,), max_length=64, batch_tokens=512)
    out = torch.zeros(1, 3, encoder.hidden_size).numpy()
    with pytest.raises(DataError, match=r"memory embedding a batch of 3 texts x \d+ tokens \(--batch-tokens 512, "
                                        r"--max-length 64\)") as raised:
        extract.compute_hidden(encoder, ["a cat", "the dog", "a red house"], spec, out)
    assert "--batch-tokens" in raised.value.hint
