"""`stilt intermediate` and `stilt target` through the real CLI: chaining, lineage, continued MLM,
stdin, --if-exists, and a clear one-line answer to each bad input."""

from __future__ import annotations

import json

import pytest
from safetensors.torch import load_file

from stilt_cli.core import checkpoint
from tests import train_data as td
from tests.helpers import write_jsonl


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("stage-data")
    text = root / "text.txt"
    text.write_text("\n".join(td.text_lines(40)) + "\n", encoding="utf-8")
    return {
        "nli": write_jsonl(root / "nli.jsonl", td.nli(48)),
        "nli_dev": write_jsonl(root / "nli-dev.jsonl", td.nli(12, seed=3)),
        "qa": write_jsonl(root / "qa.jsonl", td.questions(24)),
        "text": text,
    }


def _manifest(path):
    return json.loads((path / "stilt.json").read_text())


QUICK = ("--max-steps", "4", "--batch-size", "8", "--max-length", "64", "--doc-stride", "16")


def test_two_task_intermediate_then_target_chain(cli, tiny_xlmr, data, tmp_path):
    inter, target = tmp_path / "inter", tmp_path / "target"
    result = cli("intermediate", tiny_xlmr, "--task", "mnli,squad_v1", "-o", inter, "--data", f"mnli={data['nli']}",
                 "--data", f"squad_v1={data['qa']}", "--eval-data", f"mnli={data['nli_dev']}", "--eval-every", "2",
                 "--preset", "xstilts", *QUICK)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""  # nothing but data on stdout, and a stage writes no data there
    assert "wrote checkpoint" in result.stderr
    m = _manifest(inter)
    assert set(m["heads"]) == {"nli", "squad_v1"}  # MNLI answers through the shared NLI head
    assert m["heads"]["squad_v1"]["type"] == "qa"
    stage = m["lineage"][-1]
    assert stage["stage"] == "intermediate" and stage["tasks"] == ["mnli", "squad_v1"]
    assert stage["parent"]["path"] == str(tiny_xlmr)
    assert stage["config"]["preset"] == "xstilts" and stage["config"]["lr"] == 1e-5
    assert stage["config"]["sources"]["lr"] == "preset:xstilts" and stage["config"]["tasks"]["mnli"]["max_length"] == 64
    assert stage["data"]["mnli"]["train"]["examples"] == 48 and stage["data"]["mnli"]["dev"]["examples"] == 12
    assert [h["step"] for h in stage["metrics"]["dev_history"]] == [2, 4]
    assert m["mlm_head"] is not None  # carried over from the parent

    result = cli("target", inter, "--task", "xnli", "-o", target, "--data", str(data["nli"]), *QUICK)
    assert result.exit_code == 0, result.stderr
    t = _manifest(target)
    assert set(t["heads"]) == {"xnli"}  # the intermediate heads are dropped ...
    assert t["lineage"][-1]["dropped_heads"] == ["nli", "squad_v1"]  # ... and the lineage says so
    assert [s["stage"] for s in t["lineage"]] == ["pretrain-load", "intermediate", "target"]
    assert t["lineage"][-1]["parent"]["manifest_sha256"] == checkpoint.load(inter).manifest_sha256()
    # the encoder is carried over and trained further: it differs from both parents
    base = load_file(str(tiny_xlmr / "encoder" / "model.safetensors"))
    mid = load_file(str(inter / "encoder" / "model.safetensors"))
    end = load_file(str(target / "encoder" / "model.safetensors"))
    key = next(k for k in base if k.endswith("word_embeddings.weight"))
    assert not (base[key] == mid[key]).all() and not (mid[key] == end[key]).all()
    from stilt_cli.core.libs import transformers

    transformers().AutoModel.from_pretrained(str(target / "encoder"))  # loads with transformers' own class


def test_continued_mlm_trains_the_pretrained_mlm_head(cli, tiny_xlmr, data, tmp_path):
    out = tmp_path / "mlm"
    result = cli("intermediate", tiny_xlmr, "--task", "xnli", "--data", str(data["nli"]), "--mlm-data", data["text"],
                 "-o", out, "--max-steps", "6", "--batch-size", "8", "--sampling", "uniform", "--lr", "1e-3")
    assert result.exit_code == 0, result.stderr
    stage = _manifest(out)["lineage"][-1]
    assert stage["mlm"] is True and stage["data"]["mlm"]["train"]["examples"] == 40
    before = load_file(str(tiny_xlmr / "mlm_head" / "head.safetensors"))
    after = load_file(str(out / "mlm_head" / "head.safetensors"))
    assert set(before) == set(after)
    assert any(not (before[k] == after[k]).all() for k in before)


def test_continued_mlm_alone_is_the_paper_baseline(cli, tiny_xlmr, data, tmp_path):
    """`--task mlm --mlm-data FILE`: continued MLM only, no supervised head."""
    out = tmp_path / "mlm-only"
    result = cli("intermediate", tiny_xlmr, "--task", "mlm", "--mlm-data", data["text"], "-o", out,
                 "--max-steps", "3", "--batch-size", "8")
    assert result.exit_code == 0, result.stderr
    manifest = _manifest(out)
    assert manifest["lineage"][-1]["mlm"] is True and manifest["lineage"][-1]["tasks"] == []
    assert manifest["heads"] == {} and manifest["mlm_head"] is not None


def test_freeze_embeddings_keeps_the_word_embeddings(cli, tiny_xlmr, data, tmp_path):
    out = tmp_path / "frozen"
    result = cli("target", tiny_xlmr, "--task", "xnli", "--data", str(data["nli"]), "-o", out, *QUICK,
                 "--freeze-embeddings", "--lr", "1e-3")
    assert result.exit_code == 0, result.stderr
    assert _manifest(out)["lineage"][-1]["config"]["freeze_embeddings"] is True
    before = load_file(str(next((tiny_xlmr / "encoder").glob("*.safetensors"))))
    after = load_file(str(next((out / "encoder").glob("*.safetensors"))))
    key = next(k for k in before if k.endswith("word_embeddings.weight"))
    assert (before[key] == after[key]).all()
    layer = next(k for k in before if "layer.0.attention.self.query.weight" in k)
    assert not (before[layer] == after[layer]).all()


def test_stdin_data_trains_but_cannot_resume(cli, tiny_xlmr, data, tmp_path):
    text = data["nli"].read_text()
    result = cli("target", tiny_xlmr, "--task", "xnli", "--data", "-", "-o", tmp_path / "a", *QUICK, input=text)
    assert result.exit_code == 0, result.stderr
    assert "stdin input is never cached" in result.stderr
    result = cli("target", tiny_xlmr, "--task", "xnli", "--data", "-", "-o", tmp_path / "b", "--resume", *QUICK,
                 input=text)
    assert result.exit_code == 2
    assert "(stdin) cannot be resumed" in result.stderr


def test_if_exists_error_skip_overwrite(cli, tiny_xlmr, data, tmp_path):
    out = tmp_path / "t"
    args = ("target", tiny_xlmr, "--task", "xnli", "--data", str(data["nli"]), "-o", out, *QUICK)
    assert cli(*args).exit_code == 0
    first = _manifest(out)
    again = cli(*args)
    assert again.exit_code == 2 and "already exists" in again.stderr
    assert again.stderr.count("\n") == 1 and "Traceback" not in again.stderr
    skipped = cli(*args, "--if-exists", "skip")
    assert skipped.exit_code == 0 and "up to date" in skipped.stderr
    assert _manifest(out) == first
    changed = cli(*args[:-1], "5", "--if-exists", "skip")  # another --doc-stride: another config
    assert changed.exit_code == 2 and "different config" in changed.stderr
    assert cli(*args, "--if-exists", "overwrite").exit_code == 0


@pytest.mark.parametrize("args, code, message", [
    (("--task", "xnl"), 2, "unknown task 'xnl' (did you mean 'xnli'"),
    (("--task", "tatoeba"), 2, "retrieval task: there is nothing to train"),
    (("--task", "xnli,pawsx"), 2, "`stilt target` trains one task"),
    (("--task", "mlm"), 2, "--task mlm needs `stilt intermediate … --mlm-data FILE`"),
    (("--task", "xnli", "--batch-size", "6", "--grad-accum", "4"), 2, "not divisible by --grad-accum"),
    (("--task", "xnli", "--preset", "paper"), 2, "unknown --preset 'paper'"),
    (("--task", "xnli", "--data", "pawsx=PLACEHOLDER"), 2, "pawsx is not a task of this run"),
    (("--task", "xnli", "--peft", "loar"), 2, "unknown --peft 'loar' (did you mean 'lora'"),
    (("--task", "xnli", "--lora-r", "4"), 2, "--lora-r has no effect without --peft lora"),
    (("--task", "xnli", "--peft", "lora", "--no-freeze-embeddings"), 2, "--peft lora keeps the word embeddings frozen"),
    (("--task", "xnli", "--peft", "lora", "--lora-targets", "quary"), 2,
     "unknown module 'quary' (did you mean 'query'"),
    (("--task", "xnli", "--peft", "lora", "--lora-targets", "word_embeddings"), 2, "names the word embeddings"),
])
def test_bad_usage_is_one_line_with_exit_2(cli, tiny_xlmr, data, tmp_path, args, code, message):
    args = tuple(str(data["nli"]) if a == "PLACEHOLDER" else a for a in args)
    result = cli("target", tiny_xlmr, "-o", tmp_path / "out", *args)
    assert result.exit_code == code, result.stderr
    assert message in result.stderr and result.stderr.count("\n") == 1
    assert not (tmp_path / "out").exists() and not (tmp_path / "out.partial").exists()


def test_bad_data_and_checkpoints_exit_1(cli, tiny_xlmr, tiny_ckpts, data, tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "1", "lang": "en", "text_a": "a", "text_b": "b", "label": "maybe"}\n')
    result = cli("target", tiny_xlmr, "--task", "xnli", "--data", str(bad), "-o", tmp_path / "o1")
    assert result.exit_code == 1 and "bad.jsonl:1: label 'maybe' is not in the label set of xnli" in result.stderr
    tags = write_jsonl(tmp_path / "tags.jsonl", td.entities(3))  # data of another task type
    result = cli("target", tiny_xlmr, "--task", "xnli", "--data", str(tags), "-o", tmp_path / "o5")
    assert result.exit_code == 1 and "tags.jsonl:1: missing field 'text_a'" in result.stderr
    no_encoder = tmp_path / "broken"
    no_encoder.mkdir()
    (no_encoder / "stilt.json").write_text(json.dumps({"schema": "stilt.checkpoint/1", "encoder": {"dir": "encoder"}}))
    result = cli("target", no_encoder, "--task", "xnli", "--data", str(data["nli"]), "-o", tmp_path / "o2")
    assert result.exit_code == 1 and "has no encoder folder" in result.stderr
    result = cli("intermediate", tiny_ckpts["mt5"], "--task", "xnli", "--data", str(data["nli"]),
                 "--mlm-data", data["text"], "-o", tmp_path / "o3")
    assert result.exit_code == 1 and "no pretrained MLM head" in result.stderr
    result = cli("target", tiny_xlmr, "--task", "xnli", "--data", str(data["nli"]), "--train-langs", "de",
                 "-o", tmp_path / "o4")
    assert result.exit_code == 1 and "no xnli examples for de" in result.stderr
    assert not any(p.name.startswith("o") for p in tmp_path.iterdir())


def test_config_file_and_gradient_checkpointing(cli, tiny_ckpts, data, tmp_path):
    settings = tmp_path / "run.toml"
    settings.write_text('lr = 2e-4\nseed = 7\n[tasks.xnli]\nbatch_size = 4\n')
    out = tmp_path / "gc"
    result = cli("target", tiny_ckpts["mt5"], "--task", "xnli", "--data", str(data["nli"]), "--config", settings,
                 "--gradient-checkpointing", "--seed", "3", "-o", out, "--max-steps", "3")
    assert result.exit_code == 0, result.stderr
    config = _manifest(out)["lineage"][-1]["config"]
    assert config["gradient_checkpointing"] is True and config["sources"]["gradient_checkpointing"] == "cli"
    assert config["lr"] == 2e-4 and config["sources"]["lr"] == "file"
    assert config["seed"] == 3 and config["sources"]["seed"] == "cli"  # the command line beats the file
    assert config["tasks"]["xnli"]["batch_size"] == 4
    from stilt_cli.core.libs import transformers

    encoder = transformers().MT5EncoderModel.from_pretrained(str(out / "encoder"))
    assert not encoder.is_gradient_checkpointing  # a training-time switch, not saved into the encoder


def _weights(checkpoint_dir):
    return load_file(str(next((checkpoint_dir / "encoder").glob("*.safetensors"))))


def _hidden_states(model, tokenizer):
    import torch

    batch = tokenizer(["the cat sat on the house", "der Hund und das Haus"], padding=True, return_tensors="pt")
    with torch.no_grad():
        return model.eval()(**batch).last_hidden_state


def test_lora_target_saves_the_merged_encoder_and_the_peft_adapter(cli, tiny_xlmr, data, tmp_path):
    out = tmp_path / "lora"
    args = ("target", tiny_xlmr, "--task", "xnli", "--data", str(data["nli"]), "--eval-data", str(data["nli_dev"]),
            "-o", out, *QUICK, "--lr", "1e-3", "--peft", "lora", "--lora-r", "4")
    result = cli(*args)
    assert result.exit_code == 0, result.stderr
    assert "(--freeze-embeddings implied)" in result.stderr
    from stilt_cli.core.encoders.families import projection_modules
    from stilt_cli.core.libs import transformers

    manifest = _manifest(out)
    stage = manifest["lineage"][-1]
    family = projection_modules(transformers().AutoConfig.from_pretrained(str(tiny_xlmr / "encoder")))
    assert stage["peft"]["target_modules"] == list(dict.fromkeys(family["attention"] + family["feed_forward"]))
    assert stage["config"]["lora_targets"] == stage["peft"]["target_modules"]  # in the config key, too
    assert stage["config"]["sources"]["lora_targets"] == "family:xlm-roberta"
    assert stage["config"]["freeze_embeddings"] is True
    assert stage["config"]["sources"]["freeze_embeddings"] == "peft:lora"
    parent_ref = {"path": str(tiny_xlmr), "manifest_sha256": checkpoint.load(tiny_xlmr).manifest_sha256(),
                  "encoder_weights_sha256": checkpoint.load(tiny_xlmr).encoder["weights_sha256"]}
    assert stage["peft"]["applies_to"] == manifest["adapters"]["target"]["applies_to"] == parent_ref
    assert stage["peft"]["r"] == 4 and 0 < stage["peft"]["adapter_parameters"] < stage["peft"]["encoder_parameters"]
    # the encoder folder is plain transformers weights with the adapter merged in: the projections moved,
    # the word embeddings and the layer norms did not
    before, after = _weights(tiny_xlmr), _weights(out)
    assert before.keys() == after.keys()
    changed = {k for k in before if not (before[k] == after[k]).all()}
    assert any(k.endswith("attention.self.query.weight") for k in changed)
    assert not [k for k in changed if "embeddings" in k or "LayerNorm" in k or k.endswith(".bias")]
    # the adapter in PEFT's format, on the parent's encoder, gives the merged encoder's hidden states
    from peft import PeftModel

    from stilt_cli.core.encoders.load import model_from_dir, tokenizer_from_dir

    tokenizer = tokenizer_from_dir(out / "encoder")
    adapted = PeftModel.from_pretrained(model_from_dir(tiny_xlmr / "encoder", "AutoModel"),
                                        str(out / "adapters" / "target"))
    merged = transformers().AutoModel.from_pretrained(str(out / "encoder"), add_pooling_layer=False)
    assert (_hidden_states(adapted, tokenizer) - _hidden_states(merged, tokenizer)).abs().max() <= 1e-5
    # --if-exists skip keys on the PEFT settings
    assert "up to date" in cli(*args, "--if-exists", "skip").stderr
    changed_rank = cli(*args[:-1], "8", "--if-exists", "skip")
    assert changed_rank.exit_code == 2 and "different config" in changed_rank.stderr
    full = tmp_path / "full"  # a full fine-tuning's config carries no PEFT settings (its config key is unchanged)
    assert cli("target", tiny_xlmr, "--task", "xnli", "--data", str(data["nli"]),
               "-o", full, "--max-steps", "1").exit_code == 0
    assert not {"peft", "lora_r", "lora_targets"} & set(_manifest(full)["lineage"][-1]["config"])
    assert "adapters" not in _manifest(full) and "peft" not in _manifest(full)["lineage"][-1]


def test_lora_multitask_intermediate_with_mlm_then_lora_target(cli, tiny_xlmr, data, tmp_path):
    inter, target = tmp_path / "inter", tmp_path / "target"
    result = cli("intermediate", tiny_xlmr, "--task", "mnli,squad_v1", "-o", inter, "--data", f"mnli={data['nli']}",
                 "--data", f"squad_v1={data['qa']}", "--mlm-data", data["text"], "--sampling", "uniform", *QUICK,
                 "--max-steps", "6", "--lr", "1e-3", "--peft", "lora", "--lora-targets", "query,value")
    assert result.exit_code == 0, result.stderr
    m = _manifest(inter)
    assert set(m["heads"]) == {"nli", "squad_v1"} and m["lineage"][-1]["peft"]["target_modules"] == ["query", "value"]
    before, after = _weights(tiny_xlmr), _weights(inter)
    changed = {k for k in before if not (before[k] == after[k]).all()}
    assert changed and all(k.endswith(("query.weight", "value.weight")) for k in changed)
    mlm_before = load_file(str(tiny_xlmr / "mlm_head" / "head.safetensors"))
    mlm_after = load_file(str(inter / "mlm_head" / "head.safetensors"))
    assert any(not (mlm_before[k] == mlm_after[k]).all() for k in mlm_before)  # the MLM head trains as a head
    result = cli("target", inter, "--task", "xnli", "-o", target, "--data", str(data["nli"]), *QUICK, "--peft", "lora")
    assert result.exit_code == 0, result.stderr
    t = _manifest(target)
    assert set(t["adapters"]) == {"target"}  # each checkpoint holds the adapter of the stage that made it
    assert t["adapters"]["target"]["applies_to"]["manifest_sha256"] == checkpoint.load(inter).manifest_sha256()
    records = [stage.get("peft") for stage in t["lineage"]]  # pretrain-load, intermediate, target
    assert records[0] is None and records[1]["requested"] == ["query", "value"]
    assert records[2]["requested"] == ["attention", "feed_forward"] and "query" in records[2]["target_modules"]


def test_lora_without_known_modules_is_a_usage_error(cli, tiny_xlmr, data, tmp_path):
    import shutil

    parent = tmp_path / "unknown-family"
    shutil.copytree(tiny_xlmr, parent)
    manifest = _manifest(parent)
    manifest["encoder"]["model_type"] = "new-architecture"
    (parent / "stilt.json").write_text(json.dumps(manifest))
    result = cli("target", parent, "--task", "xnli", "--data", str(data["nli"]), "-o",
                 tmp_path / "out", "--peft", "lora")
    assert result.exit_code == 2 and result.stderr.count("\n") == 1, result.stderr
    assert "no projection modules of model type 'new-architecture'" in result.stderr
    assert "--lora-targets" in result.stderr
    assert not (tmp_path / "out").exists() and not (tmp_path / "out.partial").exists()
