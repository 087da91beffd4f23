"""Safety: nothing stilt reads back is ever unpickled (a crafted pickle in a resumable state or a cache
runs no code and is refused or rebuilt), a model folder's own code never runs unless the user passes
--trust-remote-code, and names taken from data never lead a file outside its output folder."""

from __future__ import annotations

import ast
import json
import shutil
from pathlib import Path

import numpy as np
import orjson
import pytest
import torch

from stilt_cli.core.data import cache
from stilt_cli.core.errors import DataError
from stilt_cli.core.training import trainstate
from stilt_cli.core.training.distributed import Dist
from tests.helpers import ROOT

PACKAGE = ROOT / "stilt_cli"
MARKER = "stilt-code-ran"  # a file the crafted payloads would create


class Payload:
    """Unpickling this runs `Path(marker).touch()`: proof that code ran."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


# ---- static: every deserialisation call in the package is a safe one ----------------------------
def _calls(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            owner = getattr(func.value, "id", "") if isinstance(func, ast.Attribute) else ""
            yield owner, name, {k.arg: k.value for k in node.keywords}


def _restricted_unpickler(tree: ast.AST) -> bool:
    """A subclass of pickle.Unpickler whose find_class decides what may be built."""
    return any(isinstance(node, ast.ClassDef)
               and any(isinstance(b, ast.Attribute) and b.attr == "Unpickler" for b in node.bases)
               and any(isinstance(f, ast.FunctionDef) and f.name == "find_class" for f in node.body)
               for node in ast.walk(tree))


def test_no_unrestricted_unpickling_and_no_remote_code_in_the_package():
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [a.name for a in node.names] + [getattr(node, "module", "") or ""]
                assert not {"cPickle", "dill", "joblib", "cloudpickle"} & set(names), path
                # pickle only for an allowlisting Unpickler (torch.distributed.checkpoint's metadata)
                assert "pickle" not in names or _restricted_unpickler(tree), path
        for owner, name, keywords in _calls(tree):
            if (owner, name) == ("torch", "load"):
                assert (isinstance(keywords.get("weights_only"), ast.Constant)
                        and keywords["weights_only"].value is True), path
            if (owner, name) == ("np", "load"):
                assert (isinstance(keywords.get("allow_pickle"), ast.Constant)
                        and keywords["allow_pickle"].value is False), path
            if name == "load" and owner == "pickle":
                pytest.fail(f"{path}: pickle.load")
            remote = keywords.get("trust_remote_code")
            assert not (isinstance(remote, ast.Constant) and remote.value is True), f"{path}: trust_remote_code=True"


# ---- a crafted pickle in the resumable state ---------------------------------------------------
def _state(directory: Path) -> None:
    model = torch.nn.Linear(2, 2)
    optimizer = torch.optim.AdamW(model.parameters())
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0)
    trainstate.save(directory, model=model, optimizer=optimizer, scheduler=scheduler,
                    scaler=torch.amp.GradScaler("cpu", enabled=False),
                    info_json={"config_key": "k", "progress": {"step": 1}}, best=None, dist=Dist())


@pytest.mark.parametrize("file", ["optimizer.pt", "scheduler.pt", "scaler.pt", "rng-0.pt"])
def test_a_crafted_pickle_in_the_state_is_refused_and_runs_nothing(tmp_path, file):
    state = tmp_path / "state"
    _state(state)
    marker = tmp_path / MARKER
    torch.save({"state": Payload(marker)}, state / file)  # a plain torch.save of an object, i.e. a pickle
    model = torch.nn.Linear(2, 2)
    optimizer = torch.optim.AdamW(model.parameters())
    with pytest.raises(DataError, match=f"{file} is unreadable"):
        trainstate.load(state, model=model, optimizer=optimizer,
                        scheduler=torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0),
                        scaler=torch.amp.GradScaler("cpu", enabled=False), config_key="k", dist=Dist())
    assert not marker.exists()


def test_resume_from_a_tampered_state_is_one_line_and_runs_nothing(cli, tiny_xlmr, tmp_path, monkeypatch):
    from stilt_cli.core.training import finalsave

    data = tmp_path / "nli.jsonl"
    data.write_text("".join(json.dumps({"id": str(i), "lang": "en", "text_a": "a", "text_b": "a",
                                        "label": "entailment"}) + "\n" for i in range(4)))
    args = ["target", tiny_xlmr, "--task", "xnli", "--data", data, "-o", tmp_path / "out", "--max-steps", "4",
            "--batch-size", "2", "--save-every", "2"]

    def crash(self, *a, **k):
        raise RuntimeError("simulated crash")

    # the crash comes before the final save, so the state left is the periodic one (with optimizer.pt)
    monkeypatch.setattr(finalsave, "keep_state", crash)
    with pytest.raises(RuntimeError):
        cli(*args)
    monkeypatch.undo()
    marker = tmp_path / MARKER
    torch.save({"state": Payload(marker)}, tmp_path / "out.partial" / "state" / "optimizer.pt")
    result = cli(*args, "--resume")
    assert result.exit_code == 1 and "optimizer.pt is unreadable" in result.stderr
    assert result.stderr.count("error:") == 1 and "Traceback" not in result.stderr
    assert not marker.exists() and not (tmp_path / "out").exists()


# ---- crafted pickles in the caches ----------------------------------------------------------------
def _pickled_array(path: Path, marker: Path) -> None:
    with open(path, "wb") as handle:
        np.save(handle, np.array([Payload(marker)], dtype=object), allow_pickle=True)


def test_a_crafted_pickle_in_the_embedding_cache_is_recomputed_not_run(tiny_xlmr, tmp_path, monkeypatch):
    from stilt_cli.core.retrieval import embed_cache, encoder, extract

    monkeypatch.setenv("STILT_CACHE", str(tmp_path / "cache"))
    embedder = encoder.load(str(tiny_xlmr), "mean", None)
    spec = extract.EmbedSpec((1,), "mean", 32)
    first = np.array(embed_cache.embed(embedder, ["eins", "zwei"], spec))
    (entry,) = [p for p in (tmp_path / "cache").rglob("*.npy")]
    marker = tmp_path / MARKER
    _pickled_array(entry, marker)
    again = np.array(embed_cache.embed(embedder, ["eins", "zwei"], spec))
    assert not marker.exists() and np.array_equal(first, again)


def test_a_crafted_pickle_in_the_tokenized_cache_is_rebuilt_not_run(tmp_path):
    key = cache.make_key(task="xnli", split="train", langs=["en"], data="d" * 64, tokenizer="t" * 64,
                         max_length=16, stride=None, spec_version=1, featurizer_version=1)
    columns = {"input_ids": [[0, 5, 2], [0, 2]], "label": [1, 0]}
    entry = cache.features(key, lambda: columns, cache_dir=tmp_path).path
    marker = tmp_path / MARKER
    for npy in entry.glob("*.npy"):
        _pickled_array(npy, marker)
    result = cache.features(key, lambda: columns, cache_dir=tmp_path)
    assert not result.hit and not marker.exists()
    assert result.columns["input_ids"].tolist() == columns["input_ids"]


# ---- trust_remote_code: off on every load path unless asked for -------------------------------------
EVIL = """
from pathlib import Path
Path({marker!r}).touch()  # importing this module is proof that remote code ran
from transformers import XLMRobertaConfig, XLMRobertaModel
class EvilConfig(XLMRobertaConfig):
    pass
class EvilModel(XLMRobertaModel):
    config_class = EvilConfig
"""


def _ask_for_own_code(folder: Path, marker: Path) -> None:
    config = json.loads((folder / "config.json").read_text())
    config["auto_map"] = {"AutoConfig": "evil_model.EvilConfig", "AutoModel": "evil_model.EvilModel",
                          "AutoModelForMaskedLM": "evil_model.EvilModel"}
    (folder / "config.json").write_text(json.dumps(config))
    (folder / "evil_model.py").write_text(EVIL.format(marker=str(marker)))
    tokenizer_config = json.loads((folder / "tokenizer_config.json").read_text())
    tokenizer_config["auto_map"] = {"AutoTokenizer": ["evil_model.EvilModel", "evil_model.EvilModel"]}
    (folder / "tokenizer_config.json").write_text(json.dumps(tokenizer_config))


@pytest.fixture
def evil(tiny_xlmr, tmp_path) -> dict[str, Path]:
    """A stilt checkpoint, a transformers folder and a sentence-transformers folder, each of whose
    config.json asks for the folder's own code."""
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Pooling, Transformer

    ckpt = tmp_path / "ckpt"
    shutil.copytree(tiny_xlmr, ckpt)
    _ask_for_own_code(ckpt / "encoder", tmp_path / MARKER)
    folder = tmp_path / "folder"
    shutil.copytree(ckpt / "encoder", folder)
    SentenceTransformer(modules=[Transformer(str(tiny_xlmr / "encoder")), Pooling(64, "mean")],
                        device="cpu").save(str(tmp_path / "st-model"))
    _ask_for_own_code(tmp_path / "st-model", tmp_path / MARKER)
    sentences = tmp_path / "s.jsonl"
    sentences.write_text('{"id": "a", "text": "hallo"}\n{"id": "b", "text": "welt"}\n')
    pairs = tmp_path / "pairs.tsv"
    pairs.write_text("Hund\tdog\nKatze\tcat\nHaus\thouse\n")
    return {"ckpt": ckpt, "folder": folder, "st": tmp_path / "st-model", "sentences": sentences, "pairs": pairs,
            "root": tmp_path}


@pytest.mark.parametrize("argv", [
    ["pretrain-load", "FOLDER", "-o", "ROOT/loaded"],
    ["embed", "FOLDER", "--input", "SENTENCES", "-o", "ROOT/emb"],
    ["embed", "CKPT", "--input", "SENTENCES", "-o", "ROOT/emb"],
    ["embed", "ST", "--input", "SENTENCES", "-o", "ROOT/emb", "--pooling", "model"],
    ["align", "CKPT", "--pairs", "PAIRS", "--langs", "de"],
    ["align", "FOLDER", "--pairs", "PAIRS", "--langs", "de"],
], ids=["pretrain-load-dir", "embed-dir", "embed-checkpoint", "sentence-transformers", "align-checkpoint",
        "align-dir"])
def test_remote_code_never_runs_by_default(cli, evil, argv):
    values = {"FOLDER": evil["folder"], "CKPT": evil["ckpt"], "ST": evil["st"], "SENTENCES": evil["sentences"],
              "PAIRS": evil["pairs"]}
    args = [str(values.get(a, a)).replace("ROOT", str(evil["root"])) for a in argv]
    result = cli(*args)
    # the folder's own classes are never imported: stilt loads the built-in XLM-R classes instead
    assert not (evil["root"] / MARKER).exists(), result.stderr
    assert result.exit_code == 0, result.stderr


def test_only_the_explicit_switch_lets_the_folder_code_run(cli, evil, monkeypatch):
    """The check above can see remote code: asked for explicitly, it does run."""
    from transformers import dynamic_module_utils

    # transformers copies the folder's code into its modules cache: a private one, not the user's
    monkeypatch.setattr(dynamic_module_utils, "HF_MODULES_CACHE", str(evil["root"] / "hf-modules"))
    cli("pretrain-load", evil["folder"], "-o", evil["root"] / "trusted", "--trust-remote-code")
    assert (evil["root"] / MARKER).exists()


def test_the_trust_remote_code_switch_defaults_to_off():
    import inspect

    from stilt_cli.commands import pretrain_load
    from stilt_cli.core.encoders import hub, load
    from stilt_cli.core.encoders.pretrain import PretrainConfig

    assert PretrainConfig(source="x", output=Path("y")).trust_remote_code is False
    for function in (hub.load_pretrained, load.load):
        assert inspect.signature(function).parameters["trust_remote_code"].default is False
    option = inspect.signature(pretrain_load.command).parameters["trust_remote_code"]
    assert option.default is False


# ---- names from data never leave the output folder -------------------------------------------------
@pytest.mark.parametrize("lang", ["../../escape", "en-../../x", "de/../../x", "..", ".hidden", "de\nfr"])
def test_a_language_from_data_cannot_become_a_path(tmp_path, lang):
    from stilt_cli.core import tasks
    from stilt_cli.core.data import examples
    from stilt_cli.core.evaluation import submission

    data = tmp_path / "d.jsonl"
    data.write_bytes(orjson.dumps({"id": "1", "lang": lang, "text_a": "a", "text_b": "b", "label": "entailment"})
                     + b"\n")
    with pytest.raises(DataError, match="d.jsonl:1: unknown language code"):
        list(examples.read(data, tasks.get("xnli")))
    root = tmp_path / "out" / "predictions"
    with pytest.raises(DataError, match="cannot be part of a file name"):
        submission.write_predictions(root, "xnli", lang, ["entailment"])
    assert not [p for p in tmp_path.rglob("*") if p.is_file() and p.name != "d.jsonl"]


@pytest.mark.parametrize("argv, code", [
    (["retrieve", "CKPT", "--task", "tatoeba", "--data-dir", "ROOT", "--langs", "../de"], 2),
    (["data", "export", "xnli", "--split", "dev", "--data-dir", "ROOT", "--langs", "../../de"], 2),
    (["data", "export", "mlqa", "--split", "dev", "--data-dir", "ROOT", "--langs", "en-../de"], 2),
    (["retrieve", "CKPT", "--task", "tatoeba", "--data-dir", "ROOT", "--protocol", "../x"], 2),
])
def test_a_language_or_name_on_the_command_line_cannot_become_a_path(cli, tiny_xlmr, tmp_path, argv, code):
    values = {"CKPT": str(tiny_xlmr), "ROOT": str(tmp_path)}
    result = cli(*[values.get(a, a) for a in argv])
    assert result.exit_code == code and result.stderr.count("error:") == 1, result.stderr
    assert not list(tmp_path.parent.glob("de*")) and not list(tmp_path.iterdir())


def test_ids_from_data_stay_inside_the_ids_file(cli, tiny_xlmr, tmp_path):
    data = tmp_path / "s.jsonl"
    data.write_bytes(b'{"id": "../../../etc/x", "text": "a"}\n{"id": "two\\nlines", "text": "b"}\n')
    result = cli("embed", tiny_xlmr, "--input", data, "-o", tmp_path / "out" / "emb")
    assert result.exit_code == 0, result.stderr
    assert (tmp_path / "out" / "emb.ids").read_text().splitlines() == ["../../../etc/x", "two lines"]
    assert sorted(p.name for p in (tmp_path / "out").iterdir() if not p.name.endswith(".lock")) == [
        "emb.ids", "emb.json", "emb.npy"]
