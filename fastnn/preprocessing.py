"""Input standardization: per-feature mean and standard deviation fitted over
a dataset streamed in batches, then x ← (x − mean)/std."""
import numpy as np

from fastnn import _config
from fastnn._ext import norm as _k
from fastnn._ext.runtime import check_inout
from fastnn.functional.norm import _check_x

__all__ = ["Standardizer"]


class Standardizer:
    """Per-feature standardization fitted in one pass over streamed batches.

    Features are axis 1: a batch is (n_samples, n_features), or
    (n_samples, n_channels, *spatial) for per-channel image statistics.

    Each batch's per-feature mean and sum of squared deviations M2 are
    computed by a compiled two-pass kernel (in double), and merged into the
    running totals with Chan et al.'s pairwise update, which stays accurate
    however many batches there are and whatever their means::

        n = n_a + n_b,   δ = mean_b − mean_a
        mean = mean_a + δ·n_b/n
        M2 = M2_a + M2_b + δ²·n_a·n_b/n

    Then ``var_ = M2/(n − ddof)`` and ``scale_ = √var_`` (1 where it is 0, so
    constant features map to 0 instead of NaN).

    Parameters
    ----------
    ddof : int
        Delta degrees of freedom of the variance (0: population std).
    n_threads : int, optional
        Threads for the kernels; default :func:`fastnn.get_num_threads`.

    Attributes
    ----------
    n_samples_seen_ : int
        Values per feature seen so far (samples × spatial size).
    mean_, var_, scale_ : ndarray of float64, (n_features,)

    Examples
    --------
    >>> import numpy as np
    >>> from fastnn import Standardizer
    >>> s = Standardizer()
    >>> for batch in np.array_split(np.arange(12.0).reshape(6, 2), 3):
    ...     _ = s.partial_fit(batch)
    >>> s.transform(np.array([[5.0, 6.0]]))
    array([[0., 0.]])
    """

    def __init__(self, *, ddof=0, n_threads=None):
        if isinstance(ddof, bool) or not isinstance(ddof, (int, np.integer)) or ddof < 0:
            raise ValueError(f"ddof must be an int >= 0, got {ddof!r}")
        self.ddof = int(ddof)
        self.n_threads = n_threads
        self.reset()

    def reset(self):
        """Forget everything fitted so far."""
        self.n_samples_seen_ = 0
        self.mean_ = None
        self._m2 = None
        self.var_ = None
        self.scale_ = None
        return self

    @staticmethod
    def _layout(x):
        n, f = x.shape[0], x.shape[1]
        return n, f, x.size // (n * f)

    def partial_fit(self, x):
        """Fold one batch into the statistics.

        Parameters
        ----------
        x : ndarray (n_samples, n_features, *), float32 or float64
            Not modified; a zero-size batch raises ValueError.

        Returns
        -------
        self
        """
        x = _check_x("x", x, 2)
        n, f, s = self._layout(x)
        if self.mean_ is not None and f != self.mean_.shape[0]:
            raise ValueError(f"x has {f} features but the fitted statistics have "
                             f"{self.mean_.shape[0]}")
        mean_b = np.empty(f, np.float64)
        m2_b = np.empty(f, np.float64)
        _k.channel_stats(x, n, f, s, mean_b, m2_b, _config.resolve_threads(self.n_threads),
                         _config.kernel_flags())
        n_b = n * s
        if self.mean_ is None:
            mean, m2, total = mean_b, m2_b, n_b
        else:
            n_a = self.n_samples_seen_
            total = n_a + n_b
            delta = mean_b - self.mean_
            mean = self.mean_ + delta * (n_b / total)
            m2 = self._m2 + m2_b + delta * delta * (n_a * n_b / total)
        self.n_samples_seen_, self.mean_, self._m2 = total, mean, m2
        denom = total - self.ddof
        self.var_ = m2 / denom if denom > 0 else np.full(f, np.nan)
        std = np.sqrt(self.var_)
        self.scale_ = np.where(std == 0, 1.0, std)
        return self

    def fit(self, batches):
        """Fit from scratch on an array, or an iterable of batches (streamed).

        Returns
        -------
        self
        """
        self.reset()
        if isinstance(batches, np.ndarray):
            return self.partial_fit(batches)
        for batch in batches:
            self.partial_fit(batch)
        if self.mean_ is None:
            raise ValueError("batches is empty: nothing to fit")
        return self

    def transform(self, x, out=None):
        """(x − mean_)·(1/scale_) per feature, in one pass; x − mean_ is
        computed without cancellation even when the mean dwarfs the spread.

        Parameters
        ----------
        x : ndarray (n_samples, n_features, *), float32 or float64
        out : ndarray, optional
            Output like ``x``; pass ``x`` itself to transform in place (x must
            then be C-contiguous and writable). Any other overlap with x
            raises ValueError.

        Returns
        -------
        ndarray
            ``out``.
        """
        if self.mean_ is None:
            raise ValueError("the Standardizer is not fitted: call fit or partial_fit first")
        inplace = out is not None and out is x
        if inplace:
            x = check_inout("x", x, x) if isinstance(x, np.ndarray) else _check_x("x", x, 2)
        x = _check_x("x", x, 2)
        n, f, s = self._layout(x)
        if f != self.mean_.shape[0]:
            raise ValueError(f"x has {f} features but the Standardizer was fitted on "
                             f"{self.mean_.shape[0]}")
        if out is None:
            out = np.empty_like(x)
        elif not inplace:
            out = check_inout("out", out, x)
            if np.shares_memory(out, x):
                raise ValueError("out and x share memory; pass out=x to transform in place")
        _k.channel_affine(x, out, n, f, s, self.mean_, 1.0 / self.scale_, np.zeros(f), False,
                          _config.resolve_threads(self.n_threads), _config.kernel_flags())
        return out

    def fit_transform(self, x, out=None):
        """:meth:`fit` on ``x`` then :meth:`transform` it."""
        return self.fit(x).transform(x, out=out)

    def inverse_transform(self, x, out=None):
        """x·scale_ + mean_ per feature (``out=x`` works in place)."""
        if self.mean_ is None:
            raise ValueError("the Standardizer is not fitted: call fit or partial_fit first")
        inplace = out is not None and out is x
        if inplace:
            x = check_inout("x", x, x) if isinstance(x, np.ndarray) else _check_x("x", x, 2)
        x = _check_x("x", x, 2)
        n, f, s = self._layout(x)
        if f != self.mean_.shape[0]:
            raise ValueError(f"x has {f} features but the Standardizer was fitted on "
                             f"{self.mean_.shape[0]}")
        if out is None:
            out = np.empty_like(x)
        elif not inplace:
            out = check_inout("out", out, x)
            if np.shares_memory(out, x):
                raise ValueError("out and x share memory; pass out=x to transform in place")
        _k.channel_affine(x, out, n, f, s, None, self.scale_, self.mean_, False,
                          _config.resolve_threads(self.n_threads), _config.kernel_flags())
        return out
