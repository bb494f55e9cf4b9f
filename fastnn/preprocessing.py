"""Input standardization: per-feature mean and standard deviation fitted over
a dataset streamed in batches, then x ← (x − mean)/std.

:class:`Standardizer` follows scikit-learn's estimator API (``fit``,
``partial_fit``, ``transform``, ``fit_transform``, ``inverse_transform``,
``get_params``/``set_params``, fitted attributes ending in ``_``) without
importing scikit-learn, so it works inside ``sklearn.pipeline.Pipeline``
and with ``sklearn.base.clone``.
"""
from __future__ import annotations

import inspect
from typing import Any, Dict, Iterable, Optional, Union

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
    constant features map to 0 instead of NaN). With ``n <= ddof`` values per
    feature (one sample and ``ddof=1``) the variance is undefined: ``var_``
    is NaN after :meth:`partial_fit` (more batches may follow), and
    :meth:`fit`, :meth:`transform` and :meth:`inverse_transform` raise
    ValueError rather than return NaN.

    Parameters
    ----------
    ddof : int >= 0, default 0
        Delta degrees of freedom of the variance (0: population std, as
        scikit-learn's StandardScaler).
    n_threads : int, optional
        Threads for the kernels; default :func:`fastnn.get_num_threads`.

    Attributes
    ----------
    n_samples_seen_ : int
        Values per feature seen so far (samples × spatial size).
    n_features_in_ : int
        Features (the size of axis 1) seen during fit.
    mean_, var_, scale_ : ndarray of float64, (n_features,)

    The fitted attributes exist only after ``fit`` or ``partial_fit``.

    Notes
    -----
    Inputs are NumPy arrays of float32 or float64 (or objects converted by
    ``numpy.asarray``, such as a DataFrame, except lists, which ``fit``
    reads as a list of batches). The transforms keep the input's dtype.

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

    n_samples_seen_: int
    n_features_in_: int
    mean_: np.ndarray
    var_: np.ndarray
    scale_: np.ndarray
    _m2: np.ndarray

    def __init__(self, *, ddof: int = 0, n_threads: Optional[int] = None) -> None:
        # stored as given (scikit-learn's clone checks identity); checked here
        # for an early error and again at fit time (set_params may change it)
        _check_ddof(ddof)
        self.ddof = ddof
        self.n_threads = n_threads

    # ---------------------------------------------------------- estimator API

    @classmethod
    def _get_param_names(cls):
        sig = inspect.signature(cls.__init__)
        return sorted(p.name for p in sig.parameters.values()
                      if p.name != "self" and p.kind != p.VAR_KEYWORD)

    def get_params(self, deep: bool = True) -> Dict[str, Any]:
        """The constructor's parameters (scikit-learn API).

        Parameters
        ----------
        deep : bool, default True
            Unused: a Standardizer holds no sub-estimators.

        Returns
        -------
        dict
        """
        return {name: getattr(self, name) for name in self._get_param_names()}

    def set_params(self, **params: Any) -> "Standardizer":
        """Set constructor parameters (scikit-learn API); returns self.
        The fitted statistics are kept until the next ``fit``."""
        valid = self._get_param_names()
        for name in params:
            if name not in valid:
                raise ValueError(f"invalid parameter {name!r} for estimator "
                                 f"{type(self).__name__}; valid parameters are: {valid}")
        if "ddof" in params:
            _check_ddof(params["ddof"])
        for name, value in params.items():
            setattr(self, name, value)
        return self

    def __repr__(self) -> str:
        defaults = {"ddof": 0, "n_threads": None}
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items()
                         if v != defaults.get(k))
        return f"{type(self).__name__}({args})"

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "mean_")

    def _check_fitted(self):
        if not hasattr(self, "mean_"):
            raise ValueError(f"this {type(self).__name__} is not fitted yet: call fit or "
                             f"partial_fit first")

    def reset(self) -> "Standardizer":
        """Forget everything fitted so far (the fitted attributes are removed)."""
        for name in ("n_samples_seen_", "n_features_in_", "mean_", "var_", "scale_", "_m2",
                     "_fit_ddof"):
            self.__dict__.pop(name, None)
        return self

    @staticmethod
    def _layout(x):
        n, f = x.shape[0], x.shape[1]
        return n, f, x.size // (n * f)

    def partial_fit(self, X: np.ndarray, y: Any = None) -> "Standardizer":
        """Fold one batch into the statistics.

        Parameters
        ----------
        X : ndarray (n_samples, n_features, *), float32 or float64
            Not modified; a zero-size batch raises ValueError.
        y : ignored
            Accepted for scikit-learn's API.

        Returns
        -------
        self
        """
        _check_ddof(self.ddof)
        x = _check_x("x", _as_array(X), 2)
        n, f, s = self._layout(x)
        fitted = hasattr(self, "mean_")
        if fitted and f != self.mean_.shape[0]:
            raise ValueError(f"x has {f} features but the fitted statistics have "
                             f"{self.mean_.shape[0]}")
        mean_b = np.empty(f, np.float64)
        m2_b = np.empty(f, np.float64)
        _k.channel_stats(x, n, f, s, mean_b, m2_b, _config.resolve_threads(self.n_threads),
                         _config.kernel_flags())
        n_b = n * s
        if not fitted:
            mean, m2, total = mean_b, m2_b, n_b
        else:
            n_a = self.n_samples_seen_
            total = n_a + n_b
            delta = mean_b - self.mean_
            mean = self.mean_ + delta * (n_b / total)
            m2 = self._m2 + m2_b + delta * delta * (n_a * n_b / total)
        self.n_samples_seen_, self.mean_, self._m2 = total, mean, m2
        self.n_features_in_ = f
        self._fit_ddof = self.ddof
        denom = total - self.ddof
        self.var_ = m2 / denom if denom > 0 else np.full(f, np.nan)
        std = np.sqrt(self.var_)
        self.scale_ = np.where(std == 0, 1.0, std)
        return self

    def fit(self, X: Union[np.ndarray, Iterable[np.ndarray]], y: Any = None) -> "Standardizer":
        """Fit from scratch on an array, or an iterable of batches (streamed).

        Parameters
        ----------
        X : ndarray (n_samples, n_features, *), or an iterable of such batches
            A list is read as a list of batches.
        y : ignored
            Accepted for scikit-learn's API.

        Raises
        ------
        ValueError
            With ``ddof`` or fewer values per feature (the variance is
            undefined); the Standardizer is left unfitted.

        Returns
        -------
        self
        """
        _check_ddof(self.ddof)
        self.reset()
        if isinstance(X, np.ndarray) or _array_like(X):
            self.partial_fit(X)  # type: ignore[arg-type]
        else:
            for batch in X:
                self.partial_fit(batch)
            if not hasattr(self, "mean_"):
                raise ValueError("X is an empty iterable of batches: nothing to fit")
        try:
            self._check_variance()
        except ValueError:
            self.reset()  # nothing half fitted is left
            raise
        return self

    def _check_variance(self):
        """Raise when the variance is undefined (ddof or fewer values per feature)."""
        ddof = self.__dict__.get("_fit_ddof", self.ddof)
        if self.n_samples_seen_ <= ddof:
            raise ValueError(f"the variance with ddof={ddof} needs more than {ddof} values per "
                             f"feature, but the {type(self).__name__} has seen "
                             f"{self.n_samples_seen_}: fit it on more samples or use ddof=0")

    def transform(self, X: np.ndarray, *, out: Optional[np.ndarray] = None) -> np.ndarray:
        """(x − mean_)·(1/scale_) per feature, in one pass; x − mean_ is
        computed without cancellation even when the mean dwarfs the spread.

        Parameters
        ----------
        X : ndarray (n_samples, n_features, *), float32 or float64
        out : ndarray, optional (keyword-only)
            Output like ``X``; pass ``X`` itself to transform in place (X must
            then be C-contiguous and writable). Any other overlap with X
            raises ValueError.

        Returns
        -------
        ndarray
            ``out``, of X's dtype.
        """
        return self._affine(X, out, inverse=False)

    def fit_transform(self, X: np.ndarray, y: Any = None, *,
                      out: Optional[np.ndarray] = None, **fit_params: Any) -> np.ndarray:
        """:meth:`fit` on ``X`` then :meth:`transform` it (scikit-learn API;
        ``y`` and ``fit_params`` are accepted and ignored).

        Parameters
        ----------
        X : ndarray (n_samples, n_features, *)
        y : ignored
        out : ndarray, optional (keyword-only)
            As in :meth:`transform`.

        Returns
        -------
        ndarray
        """
        return self.fit(X).transform(X, out=out)

    def inverse_transform(self, X: np.ndarray, *,
                          out: Optional[np.ndarray] = None) -> np.ndarray:
        """x·scale_ + mean_ per feature (``out=X`` works in place).

        Parameters
        ----------
        X : ndarray (n_samples, n_features, *), float32 or float64
        out : ndarray, optional (keyword-only)

        Returns
        -------
        ndarray
        """
        return self._affine(X, out, inverse=True)

    def get_feature_names_out(self, input_features: Optional[Iterable[str]] = None) -> np.ndarray:
        """Output feature names (scikit-learn API): ``input_features``, else
        ``"x0"``, ``"x1"``, ...

        Returns
        -------
        ndarray of str
        """
        self._check_fitted()
        if input_features is None:
            return np.array([f"x{i}" for i in range(self.n_features_in_)], dtype=object)
        names = np.asarray(list(input_features), dtype=object)
        if names.shape != (self.n_features_in_,):
            raise ValueError(f"input_features has {names.size} names for "
                             f"{self.n_features_in_} features")
        return names

    def _affine(self, x, out, inverse):
        self._check_fitted()
        self._check_variance()
        inplace = out is not None and out is x
        if inplace:
            x = check_inout("x", x, x) if isinstance(x, np.ndarray) else _check_x("x", x, 2)
        x = _check_x("x", _as_array(x), 2)
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
        if inverse:
            _k.channel_affine(x, out, n, f, s, None, self.scale_, self.mean_, False,
                              _config.resolve_threads(self.n_threads), _config.kernel_flags())
        else:
            _k.channel_affine(x, out, n, f, s, self.mean_, 1.0 / self.scale_, np.zeros(f),
                              False, _config.resolve_threads(self.n_threads),
                              _config.kernel_flags())
        return out


def _check_ddof(ddof):
    if isinstance(ddof, bool) or not isinstance(ddof, (int, np.integer)) or ddof < 0:
        raise ValueError(f"ddof must be an int >= 0, got {ddof!r}")


def _array_like(x):
    """Objects numpy converts (a DataFrame), but not lists/tuples (batches,
    and rejected as data like every fastnn kernel input)."""
    return not isinstance(x, (np.ndarray, list, tuple)) and hasattr(x, "__array__")


def _as_array(x):
    return np.asarray(x) if _array_like(x) else x
