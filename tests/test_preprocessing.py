"""Standardizer as a scikit-learn estimator: parameters, fitted attributes,
clone, Pipeline, and keyword-only ``out``."""
import numpy as np
import pytest

from fastnn.preprocessing import Standardizer


def _x(rng, n=200, f=5, dtype=np.float64):
    return (3.0 + 2.0 * rng.standard_normal((n, f))).astype(dtype)


def test_fitted_attributes_exist_only_after_fit(rng):
    s = Standardizer()
    assert not any(hasattr(s, a) for a in ("mean_", "var_", "scale_", "n_samples_seen_",
                                           "n_features_in_"))
    assert not s.__sklearn_is_fitted__()
    x = _x(rng)
    assert s.fit(x, None) is s
    assert s.__sklearn_is_fitted__()
    assert s.n_features_in_ == 5 and s.n_samples_seen_ == 200
    np.testing.assert_allclose(s.mean_, x.mean(0), rtol=1e-13)
    np.testing.assert_allclose(s.var_, x.var(0), rtol=1e-12)
    np.testing.assert_allclose(s.scale_, x.std(0), rtol=1e-12)
    s.reset()
    assert not hasattr(s, "mean_")
    with pytest.raises(ValueError, match="not fitted"):
        s.transform(x)


def test_too_few_values_for_ddof_raise_instead_of_nan():
    # ddof=1 on one sample gave var_ NaN and NaN outputs without a word
    x1 = np.array([[1.0, 2.0]])
    s = Standardizer(ddof=1)
    with pytest.raises(ValueError, match=r"ddof=1 needs more than 1 values.*seen 1"):
        s.fit(x1)
    assert not hasattr(s, "mean_")
    with pytest.raises(ValueError, match="ddof=1"):
        s.fit([x1])  # a stream of one sample
    # partial_fit waits for more batches; transforming before them raises
    s.partial_fit(x1)
    assert np.isnan(s.var_).all()
    with pytest.raises(ValueError, match="ddof=1"):
        s.transform(x1)
    with pytest.raises(ValueError, match="ddof=1"):
        s.inverse_transform(x1)
    s.partial_fit(np.array([[3.0, 2.0]]))
    np.testing.assert_allclose(s.var_, [2.0, 0.0])
    np.testing.assert_allclose(s.transform(x1), [[-1 / np.sqrt(2.0), 0.0]])
    # per-channel images: values per feature count, not samples
    assert Standardizer(ddof=1).fit(np.ones((1, 2, 3))).n_samples_seen_ == 3


def test_get_set_params_and_repr():
    s = Standardizer(ddof=1)
    assert s.get_params() == {"ddof": 1, "n_threads": None}
    assert s.set_params(n_threads=1) is s and s.n_threads == 1
    assert repr(s) == "Standardizer(ddof=1, n_threads=1)"
    assert repr(Standardizer()) == "Standardizer()"
    with pytest.raises(ValueError, match="invalid parameter 'with_mean'"):
        s.set_params(with_mean=False)
    with pytest.raises(ValueError, match="ddof"):
        s.set_params(ddof=-1)
    s.ddof = -2  # set directly: caught at fit time
    with pytest.raises(ValueError, match="ddof"):
        s.fit(np.ones((3, 2)))


def test_out_is_keyword_only_and_y_is_accepted(rng):
    x = _x(rng)
    s = Standardizer()
    y = s.fit_transform(x, np.zeros(200))  # y positional, as scikit-learn passes it
    np.testing.assert_allclose(y, (x - x.mean(0)) / x.std(0), rtol=1e-12, atol=1e-14)
    out = np.empty_like(x)
    assert s.fit_transform(x, out=out) is out
    np.testing.assert_array_equal(out, y)
    with pytest.raises(TypeError):
        s.transform(x, out)  # out is keyword-only
    with pytest.raises(TypeError):
        s.inverse_transform(x, out)
    z = x.copy()
    assert s.partial_fit(x, None) is s
    np.testing.assert_allclose(s.inverse_transform(s.transform(z, out=z), out=z), x,
                               rtol=1e-13)


def test_get_feature_names_out(rng):
    s = Standardizer().fit(_x(rng, f=3))
    assert list(s.get_feature_names_out()) == ["x0", "x1", "x2"]
    assert list(s.get_feature_names_out(["a", "b", "c"])) == ["a", "b", "c"]
    with pytest.raises(ValueError, match="3 features"):
        s.get_feature_names_out(["a"])


def test_sklearn_clone_and_pipeline(rng):
    base = pytest.importorskip("sklearn.base")
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    s = Standardizer(ddof=0, n_threads=1)
    c = base.clone(s)
    assert c is not s and c.get_params() == s.get_params()
    s.fit(_x(rng))
    assert not hasattr(base.clone(s), "mean_")  # clone is unfitted

    n = 300
    x = _x(rng, n=n, f=4)
    y = (x[:, 0] - 3 + 0.5 * (x[:, 1] - 3) > 0).astype(int)
    pipe = make_pipeline(Standardizer(), LogisticRegression())
    pipe.fit(x, y)
    ref = make_pipeline(StandardScaler(), LogisticRegression()).fit(x, y)
    assert pipe.score(x, y) > 0.95
    np.testing.assert_allclose(pipe[0].mean_, ref[0].mean_, rtol=1e-13)
    np.testing.assert_allclose(pipe[0].scale_, ref[0].scale_, rtol=1e-12)
    np.testing.assert_allclose(pipe.predict_proba(x), ref.predict_proba(x), rtol=1e-6,
                               atol=1e-9)
    np.testing.assert_allclose(pipe[0].transform(x), ref[0].transform(x), rtol=1e-12,
                               atol=1e-13)
    # clone of the whole pipeline and a grid over the Standardizer's parameter
    from sklearn.model_selection import GridSearchCV

    grid = GridSearchCV(make_pipeline(Standardizer(), LogisticRegression()),
                        {"standardizer__ddof": [0, 1]}, cv=3).fit(x, y)
    assert grid.best_params_["standardizer__ddof"] in (0, 1)


def test_dataframe_like_input(rng):
    class Frame:  # what numpy.asarray converts (a pandas DataFrame does the same)
        def __init__(self, a):
            self.a = a

        def __array__(self, dtype=None, copy=None):
            return self.a

    x = _x(rng)
    s = Standardizer().fit(Frame(x))
    np.testing.assert_array_equal(s.transform(Frame(x)), s.transform(x))
    with pytest.raises(TypeError):
        s.transform(x.tolist())  # lists stay rejected, as by every fastnn kernel
