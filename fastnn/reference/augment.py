"""Plain-NumPy references of the augmentation kernels (fastnn.functional.augment).

Random choices come from the Philox stream ``(seed, offset)`` of
:mod:`fastnn.random`: sample ``n`` reads the four words of counter block
``n`` (``words[n, k]`` below), element ``(n, l)`` of a sequence reads word
``n·L + l``. A word ``w`` gives ``u = (w >> 8)·2**-24`` and an integer
choice among ``k`` values is ``floor(u·k)``.
"""
import numpy as np

from fastnn.reference.random import _standard_normal, philox_words_ref

__all__ = ["sample_uniforms_ref", "flip_crop_ref", "affine_ref", "color_jitter_ref",
           "snr_noise_ref", "time_shift_ref", "element_dropout_ref", "neighbor_swap_ref",
           "flip_crop_numpy"]


def _u(words):
    return (words >> 8).astype(np.float64) * 2.0**-24


def sample_uniforms_ref(n, *, seed, offset=0):
    """u[n, k] = (w[4n + k] >> 8)·2**-24, k = 0..3: the per-sample uniforms."""
    return _u(philox_words_ref(4 * n, seed, offset).reshape(n, 4))


def _choice(u, k):
    return np.minimum(np.floor(u * k), k - 1).astype(np.int64)


def _reflect(i, n):
    """Reflection without repeating the edge: -1 → 1, n → n - 2."""
    i = np.where(i < 0, -i, i)
    return np.where(i >= n, 2 * (n - 1) - i, i)


def flip_crop_ref(x, pad=0, *, size=None, padding_mode="constant", p_hflip=0.5, p_vflip=0.0,
                  seed, offset=0):
    """Padded random crop, then random flips, per sample.

    ``u = sample_uniforms_ref``; hflip = u0 < p_hflip, vflip = u1 < p_vflip,
    top = floor(u2·(H + 2·pad − h + 1)), left = floor(u3·(W + 2·pad − w + 1)),
    crop = pad(x)[top:top + h, left:left + w], then flipped.
    """
    N, C, H, W = x.shape
    h, w = (H, W) if size is None else size
    u = sample_uniforms_ref(N, seed=seed, offset=offset)
    y = np.empty((N, C, h, w), dtype=x.dtype)
    mode = "reflect" if padding_mode == "reflect" else "constant"
    for n in range(N):
        padded = np.pad(x[n], ((0, 0), (pad, pad), (pad, pad)), mode=mode)
        top = _choice(u[n, 2], H + 2 * pad - h + 1)
        left = _choice(u[n, 3], W + 2 * pad - w + 1)
        crop = padded[:, top:top + h, left:left + w]
        if u[n, 0] < p_hflip:
            crop = crop[:, :, ::-1]
        if u[n, 1] < p_vflip:
            crop = crop[:, ::-1, :]
        y[n] = crop
    return y


def flip_crop_numpy(x, pad, rng):
    """What NumPy code does today: per-sample np.pad, a random crop and a
    random horizontal flip from ``rng`` (the benchmark baseline)."""
    N, C, H, W = x.shape
    y = np.empty_like(x)
    tops = rng.integers(0, 2 * pad + 1, N)
    lefts = rng.integers(0, 2 * pad + 1, N)
    flips = rng.random(N) < 0.5
    for n in range(N):
        padded = np.pad(x[n], ((0, 0), (pad, pad), (pad, pad)))
        crop = padded[:, tops[n]:tops[n] + H, lefts[n]:lefts[n] + W]
        y[n] = crop[:, :, ::-1] if flips[n] else crop
    return y


def affine_ref(x, degrees=0.0, scale=(1.0, 1.0), translate=0.0, *, seed, offset=0):
    """Random rotation/scaling/shift about the centre, bilinear, zeros outside.

    angle = degrees·(2u0 − 1)·π/180, s = scale[0] + (scale[1] − scale[0])·u1,
    t = (translate·W·(2u2 − 1), translate·H·(2u3 − 1)), c = ((W − 1)/2, (H − 1)/2).
    Output pixel (x, y) samples the input at
    (cx + A·a − B·b, cy + B·a + A·b), a = x − cx − tx, b = y − cy − ty,
    A = cos(angle)/s, B = sin(angle)/s, with bilinear weights and zero outside.
    """
    N, C, H, W = x.shape
    u = sample_uniforms_ref(N, seed=seed, offset=offset)
    y = np.empty_like(x)
    cx, cy = 0.5 * (W - 1.0), 0.5 * (H - 1.0)
    xs = np.arange(W, dtype=np.float64)
    for n in range(N):
        ang = degrees * (2 * u[n, 0] - 1) * 0.017453292519943295
        s = scale[0] + (scale[1] - scale[0]) * u[n, 1]
        tx = translate * W * (2 * u[n, 2] - 1)
        ty = translate * H * (2 * u[n, 3] - 1)
        A, B = np.cos(ang) / s, np.sin(ang) / s
        v = np.arange(H, dtype=np.float64)[:, None] - cy - ty
        u0 = -cx - tx
        sx = (cx + A * u0 - B * v) + xs * A
        sy = (cy + B * u0 + A * v) + xs * B
        x0, y0 = np.floor(sx), np.floor(sy)
        ax, ay = sx - x0, sy - y0
        x0, y0 = x0.astype(np.int64), y0.astype(np.int64)
        img = x[n].astype(np.float64)

        def tap(iy, ix):
            ok = (iy >= 0) & (iy < H) & (ix >= 0) & (ix < W)
            return np.where(ok, img[:, np.clip(iy, 0, H - 1), np.clip(ix, 0, W - 1)], 0.0)

        top = (1 - ax) * tap(y0, x0) + ax * tap(y0, x0 + 1)
        bot = (1 - ax) * tap(y0 + 1, x0) + ax * tap(y0 + 1, x0 + 1)
        y[n] = ((1 - ay) * top + ay * bot).astype(x.dtype)
    return y


def color_jitter_ref(x, brightness=0.0, contrast=0.0, *, seed, offset=0):
    """b = 1 + brightness·(2u0 − 1), k = 1 + contrast·(2u1 − 1), m = mean(x_n),
    y_n = b·(k·x_n + (1 − k)·m) (computed in float64)."""
    N = x.shape[0]
    u = sample_uniforms_ref(N, seed=seed, offset=offset)
    flat = x.reshape(N, int(np.prod(x.shape[1:]))).astype(np.float64)
    b = 1 + brightness * (2 * u[:, 0] - 1)
    k = 1 + contrast * (2 * u[:, 1] - 1)
    m = flat.mean(axis=1)
    y = b[:, None] * (k[:, None] * flat + ((1 - k) * m)[:, None])
    return y.astype(x.dtype).reshape(x.shape)


def snr_noise_ref(x, snr_db, *, seed, offset=0):
    """y_n = x_n + σ_n·z_n, σ_n = √(mean(x_n²)·10**(−snr_db/10)), z the
    standard normals of :func:`fastnn.reference.random.normal_ref`'s stream
    for the flattened array (in float64)."""
    N = x.shape[0]
    flat = x.reshape(N, int(np.prod(x.shape[1:]))).astype(np.float64)
    z = _standard_normal(x.size, x.dtype, seed, offset).reshape(flat.shape)
    sigma = np.sqrt((flat**2).mean(axis=1) * 10.0 ** (-snr_db / 10))
    return (flat + sigma[:, None] * z).astype(x.dtype).reshape(x.shape)


def _seq(x):
    return x.reshape(x.shape[0], x.shape[1], int(np.prod(x.shape[2:])))


def time_shift_ref(x, max_shift, *, wrap=False, seed, offset=0):
    """s_n = floor(u0·(2·max_shift + 1)) − max_shift, y[n, l] = x[n, l − s_n]
    (zeros outside, or cyclic when ``wrap``)."""
    N, L = x.shape[:2]
    u = sample_uniforms_ref(N, seed=seed, offset=offset)
    xs = _seq(x)
    y = np.zeros_like(xs)
    for n in range(N):
        s = _choice(u[n, 0], 2 * max_shift + 1) - max_shift
        if wrap:
            y[n] = np.roll(xs[n], s, axis=0)
        else:
            for l in range(L):
                if 0 <= l - s < L:
                    y[n, l] = xs[n, l - s]
    return y.reshape(x.shape)


def _element_u(x, seed, offset):
    N, L = x.shape[:2]
    return _u(philox_words_ref(N * L, seed, offset)).reshape(N, L)


def element_dropout_ref(x, p, *, seed, offset=0):
    """y[n, l] = 0 where u(n·L + l) < p, else x[n, l] (no rescaling)."""
    u = _element_u(x, seed, offset)
    y = _seq(x).copy()
    y[u < p] = 0
    return y.reshape(x.shape)


def neighbor_swap_ref(x, p, *, seed, offset=0):
    """Scan l = 0 .. L − 2: if u(n·L + l) < p swap elements l and l + 1 and
    continue at l + 2, else continue at l + 1."""
    N, L = x.shape[:2]
    u = _element_u(x, seed, offset)
    xs = _seq(x)
    y = xs.copy()
    for n in range(N):
        l = 0
        while l < L - 1:
            if u[n, l] < p:
                y[n, l], y[n, l + 1] = xs[n, l + 1], xs[n, l]
                l += 2
            else:
                l += 1
    return y.reshape(x.shape)
