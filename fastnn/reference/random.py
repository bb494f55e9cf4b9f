"""Plain-NumPy references of the random kernels (Philox4x32-10 streams,
uniform and normal fills, dropout, channel dropout, Gaussian noise).

A stream is named by a 64-bit ``seed`` (the Philox key, low word first) and a
64-bit ``offset`` (the high half of the counter). Word ``j`` of the stream is
word ``j % 4`` of the Philox4x32-10 block with counter
``(b_lo, b_hi, offset_lo, offset_hi)``, ``b = j // 4``. These functions
reproduce the kernels' bits, so the tests compare them exactly or to
rounding; :func:`dropout_numpy` is the usual NumPy dropout that the
benchmark times as its baseline.
"""
import numpy as np

__all__ = ["philox4x32_10_ref", "philox_words_ref", "uniform_ref", "normal_ref",
           "dropout_ref", "dropout_backward_ref", "dropout_mask_ref", "channel_dropout_ref",
           "gaussian_noise_ref", "dropout_numpy", "dropout_backward_numpy"]

_M0, _M1 = np.uint64(0xD2511F53), np.uint64(0xCD9E8D57)
_W0, _W1 = 0x9E3779B9, 0xBB67AE85
_LO = np.uint64(0xFFFFFFFF)
_32 = np.uint64(32)


def philox4x32_10_ref(counter, key):
    """Philox4x32-10 (Salmon et al. 2011) on arrays of counters.

    ``counter`` is (..., 4) and ``key`` (2,) uint32. Ten rounds of::

        (c0, c1, c2, c3) <- (hi(M1·c2) ^ c1 ^ k0, lo(M1·c2), hi(M0·c0) ^ c3 ^ k1, lo(M0·c0))
        (k0, k1) <- (k0 + 0x9E3779B9, k1 + 0xBB67AE85)   (mod 2**32)

    with M0 = 0xD2511F53, M1 = 0xCD9E8D57. Returns (..., 4) uint32.
    """
    c = np.asarray(counter, dtype=np.uint64)
    c0, c1, c2, c3 = (c[..., k].copy() for k in range(4))
    k0, k1 = (int(v) for v in np.asarray(key, dtype=np.uint64))
    for _ in range(10):
        p0 = _M0 * c0
        p1 = _M1 * c2
        c0, c1, c2, c3 = ((p1 >> _32) ^ c1 ^ np.uint64(k0), p1 & _LO,
                          (p0 >> _32) ^ c3 ^ np.uint64(k1), p0 & _LO)
        k0 = (k0 + _W0) & 0xFFFFFFFF
        k1 = (k1 + _W1) & 0xFFFFFFFF
    return np.stack([c0, c1, c2, c3], axis=-1).astype(np.uint32)


def philox_words_ref(n, seed, offset=0):
    """The first ``n`` words of stream (seed, offset): word j is word j % 4
    of block j // 4, counter = (j//4 mod 2**32, j//4 >> 32, offset mod 2**32,
    offset >> 32), key = (seed mod 2**32, seed >> 32)."""
    n_blocks = (n + 3) // 4
    b = np.arange(n_blocks, dtype=np.uint64)
    counter = np.stack([b & _LO, b >> _32, np.full_like(b, offset & 0xFFFFFFFF),
                        np.full_like(b, offset >> 32)], axis=-1)
    key = np.array([seed & 0xFFFFFFFF, seed >> 32], dtype=np.uint64)
    return philox4x32_10_ref(counter, key).reshape(-1)[:n]


def _uniform01(n, dtype, seed, offset):
    """u ∈ [0, 1): float32 u = (w >> 8)·2**-24 from word i; float64
    u = ((a >> 5)·2**26 + (b >> 6))·2**-53 from words 2i, 2i + 1."""
    if np.dtype(dtype) == np.float32:
        w = philox_words_ref(n, seed, offset)
        return (w >> 8).astype(np.float64) * 2.0**-24
    w = philox_words_ref(2 * n, seed, offset).astype(np.float64)
    return (np.floor(w[0::2] / 32) * 2.0**26 + np.floor(w[1::2] / 64)) * 2.0**-53


def uniform_ref(shape, dtype, low=0.0, high=1.0, *, seed, offset=0):
    """out = low + (high − low)·u, u from :func:`_uniform01` (computed in
    the output dtype, as the kernel does)."""
    dtype = np.dtype(dtype)
    n = int(np.prod(shape))
    u = _uniform01(n, dtype, seed, offset).astype(dtype)
    return (dtype.type(low) + dtype.type(high - low) * u).reshape(shape)


def _standard_normal(n, dtype, seed, offset):
    """Box-Muller: pair p gives z[2p] = r·cos θ, z[2p+1] = r·sin θ with
    r = √(−2 ln u₁), θ = 2π·u₂. float32: u₁ = ((w[2p] >> 8) + 1)·2**-24,
    u₂ = (w[2p+1] >> 8)·2**-24. float64: u₁ from words 4p, 4p+1 and u₂ from
    4p+2, 4p+3 with the 53-bit mapping, u₁ shifted by 2**-53 into (0, 1]."""
    n_pairs = (n + 1) // 2
    if np.dtype(dtype) == np.float32:
        w = philox_words_ref(2 * n_pairs, seed, offset)
        u1 = ((w[0::2] >> 8).astype(np.float64) + 1) * 2.0**-24
        u2 = (w[1::2] >> 8).astype(np.float64) * 2.0**-24
    else:
        w = philox_words_ref(4 * n_pairs, seed, offset).astype(np.float64)
        u1 = (np.floor(w[0::4] / 32) * 2.0**26 + np.floor(w[1::4] / 64) + 1) * 2.0**-53
        u2 = (np.floor(w[2::4] / 32) * 2.0**26 + np.floor(w[3::4] / 64)) * 2.0**-53
    r = np.sqrt(-2.0 * np.log(u1))
    z = np.empty(2 * n_pairs)
    z[0::2] = r * np.cos(2 * np.pi * u2)
    z[1::2] = r * np.sin(2 * np.pi * u2)
    return z[:n]


def normal_ref(shape, dtype, mean=0.0, std=1.0, *, seed, offset=0):
    """out = mean + std·z, z standard normal from :func:`_standard_normal`."""
    n = int(np.prod(shape))
    z = _standard_normal(n, dtype, seed, offset)
    return (mean + std * z).astype(dtype).reshape(shape)


def _keep(n, p, seed, offset):
    """Elementwise keep: half-word h[i] ≥ min(round(p·2**16), 2**16 − 1), where
    h[2j] is the low and h[2j+1] the high 16 bits of word j (all False when
    p = 1)."""
    if p >= 1:
        return np.zeros(n, dtype=bool)
    w = philox_words_ref((n + 1) // 2, seed, offset)
    halves = np.stack([w & 0xFFFF, w >> 16], axis=-1).reshape(-1)[:n]
    return halves >= min(int(np.floor(p * 2.0**16 + 0.5)), 2**16 - 1)


def _keep_rows(n, p, seed, offset):
    """Channel keep: word r ≥ min(round(p·2**32), 2**32 − 1)."""
    if p >= 1:
        return np.zeros(n, dtype=bool)
    return philox_words_ref(n, seed, offset) >= min(int(np.floor(p * 2.0**32 + 0.5)), 2**32 - 1)


def dropout_ref(x, p, *, seed, offset=0):
    """Inverted dropout: y = x·keep/(1 − p), and y = 0 when p = 1."""
    x = np.asarray(x)
    keep = _keep(x.size, p, seed, offset).reshape(x.shape)
    if p >= 1:
        return np.zeros_like(x)
    scale = x.dtype.type(1.0 / (1.0 - p))
    return x * np.where(keep, scale, x.dtype.type(0))


def dropout_backward_ref(grad_out, p, *, seed, offset=0):
    """grad_x = grad_out·keep/(1 − p), the same keep as the forward pass."""
    return dropout_ref(grad_out, p, seed=seed, offset=offset)


def dropout_mask_ref(n, p, *, seed, offset=0):
    """The stored mask: keep bits packed little-endian, (n + 7)//8 bytes."""
    return np.packbits(_keep(n, p, seed, offset), bitorder="little")


def channel_dropout_ref(x, p, *, seed, offset=0):
    """Channel dropout on (N, C, ...): channel (n, c) is kept when word
    n·C + c of the stream is ≥ round(p·2**32) (a channel decision is
    rare, so it gets full resolution); y = x·keep/(1 − p)."""
    x = np.asarray(x)
    rows = x.shape[0] * x.shape[1]
    if x.size == 0:
        return x.copy()
    keep = _keep_rows(rows, p, seed, offset)
    if p >= 1:
        return np.zeros_like(x)
    scale = np.where(keep, x.dtype.type(1.0 / (1.0 - p)), x.dtype.type(0)).astype(x.dtype)
    return (x.reshape(rows, -1) * scale[:, None]).reshape(x.shape)


def gaussian_noise_ref(x, std, *, multiplicative=False, seed, offset=0):
    """Additive y = x + std·z or multiplicative y = x·(1 + std·z), z the
    standard normals of :func:`normal_ref`'s stream."""
    x = np.asarray(x)
    z = _standard_normal(x.size, x.dtype, seed, offset).reshape(x.shape)
    if multiplicative:
        return x * (1 + std * z)
    return x + std * z


def dropout_numpy(x, p, rng):
    """The usual NumPy dropout, the benchmark baseline:
    y = x·(rng.random(x.shape) ≥ p)/(1 − p)."""
    mask = rng.random(x.shape) >= p
    return x * mask / (1 - p)


def dropout_backward_numpy(grad_out, p, seed):
    """NumPy dropout backward without a stored mask, the benchmark baseline
    of the regenerated-mask mode: the mask is redrawn from a generator
    seeded as in forward, grad_x = grad_out·(rng.random(shape) ≥ p)/(1 − p)."""
    rng = np.random.default_rng(seed)
    return dropout_numpy(grad_out, p, rng)

