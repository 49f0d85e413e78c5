"""The float32 numerics of a BERT forward pass in numpy: erf and exact GELU, layer norm, softmax."""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

Array = NDArray[np.float32]

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
