"""Local semantic text embeddings: sentence-transformers' all-MiniLM-L6-v2 as a plain numpy forward pass.

This module reproduces the sentence-transformers pipeline of that model with numpy alone (the files it
reads: minilm_weights; the numerics: bert_numerics): BERT encoder (6 layers, exact-erf GELU) → mean pooling
over the attention mask → L2 normalisation, with inputs cut at 256 word pieces (special tokens included),
as its max_seq_length says.

Texts are tokenised without padding, sorted by length and run in batches padded to their longest member;
padded keys get zero attention weight, so a text embeds the same alone or in any batch (up to float32
rounding, ~1e-6).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from indexer.recognizers.local.bert_numerics import Array, gelu_, layer_norm, softmax_
from indexer.recognizers.local.minilm_weights import (
    DIMENSIONS,
    Bert,
    ModelFilesError,
    default_model_dir,
    load_bert,
    package_version,
)
from indexer.recognizers.local.model_files import file_sha256

MODEL_NAME = "all-MiniLM-L6-v2"
MAX_SEQ_LENGTH = 256  # sentence-transformers' max_seq_length for this model (special tokens included)
_MASK_BIAS = np.float32(-1e9)  # added to scores of padded keys: exp() of it is exactly 0


def _encode(bert: Bert, ids: NDArray[np.int64], mask: Array) -> Array:
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
        self.version = f"{package_version()}+w{file_sha256(weights)[:8]}"
        self.batch_size = batch_size
        self.max_seq_length = max_seq_length
        self._lock = threading.Lock()
        self._bert: Bert | None = None

    def load(self) -> None:
        """Load the weights and tokenizer now; embed() calls this itself."""
        self._get_bert()

    def _get_bert(self) -> Bert:
        bert = self._bert
        if bert is not None:
            return bert
        with self._lock:
            if self._bert is None:
                self._bert = load_bert(self._model_dir, self.max_seq_length)
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
