"""The GPU path end to end, on cupy data: real cupy where a GPU exists, the strict
stand-in of ``tests/standin`` elsewhere (it refuses what cupy refuses).

Each test is one thing real cupy refused in scmodal before (issue 14), checked against
the CPU path on the same data: the GPU must give the CPU's numbers.
"""

from __future__ import annotations

import anndata as ad
import mudata as md
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import scipy.stats

import scmodal as sm
from scmodal._backend import gpu_namespace, is_gpu_array, to_device
from scmodal.get._device import COLUMNS_KEY
from scmodal.models import GaussRankScaler, KernelRidge, TruncatedSVD
from scmodal.ops._orthonormalize import orthonormalize

from .conftest import host
from .snapshot import unchanged

pytestmark = pytest.mark.gpu
KEY = "prot_predicted"


@pytest.fixture
def mdata():
    return sm.datasets.bmmc_cite()


def _gpu(x):
    return to_device(x, gpu_namespace())


def _predict(mdata):
    sm.tl.predict_modality(
        mdata, train="is_train", batch_key="batch", n_repeats=1, n_components_source=50
    )


@pytest.mark.parametrize("fmt", ["csr", "csc"])
def test_tsvd_of_gpu_sparse_data_equals_the_cpu_one(mdata, fmt):
    """cupyx sparse ``astype`` has no ``copy=``; CSC ``multiply`` takes no CSC (items 1, 2)."""
    cpu = mdata["rna"].copy()
    cpu.X = cpu.X.asformat(fmt)
    gpu = cpu.copy()
    sm.get.to_gpu(gpu)
    assert gpu.X.format == fmt
    sm.pp.tsvd(cpu, n_comps=20)
    sm.pp.tsvd(gpu, n_comps=20)
    assert is_gpu_array(gpu.obsm["X_tsvd"])
    scale = np.abs(cpu.obsm["X_tsvd"]).max()
    np.testing.assert_allclose(host(gpu.obsm["X_tsvd"]), cpu.obsm["X_tsvd"], atol=1e-4 * scale)
    for name in ("variance", "variance_ratio", "singular_values"):
        np.testing.assert_allclose(gpu.uns["X_tsvd"][name], cpu.uns["X_tsvd"][name], rtol=1e-4)


def test_column_variances_of_gpu_sparse_data_equal_numpy(mdata):
    """The explained variance reads per-column moments of the CSC input on the device."""
    X = mdata["rna"].X.astype(np.float64)
    svd = TruncatedSVD(5, random_state=0)
    Xt = svd.fit_transform(_gpu(X))
    total = X.toarray().var(axis=0).sum()
    np.testing.assert_allclose(
        host(svd.explained_variance_ratio_), host(Xt).var(axis=0) / total, rtol=1e-10
    )


def test_views_of_gpu_data_are_gpu_data(mdata):
    """anndata returns its own classes for views of cupy data (item 3)."""
    sm.get.to_gpu(mdata)
    prot = mdata["prot"]
    prot.layers["dense"] = gpu_namespace().xp.asarray(prot.X.toarray())
    view = prot[:100, :20]
    assert view.is_view
    assert type(view.X).__module__.startswith("anndata")  # CupySparseCSCView
    assert is_gpu_array(view.X) and is_gpu_array(view.layers["dense"])
    cpu = sm.datasets.bmmc_cite()["prot"][:100, :20].copy()
    Z = GaussRankScaler().fit(view.X).transform(view.layers["dense"])
    expected = GaussRankScaler().fit(cpu.X).transform(cpu.X.toarray())
    np.testing.assert_allclose(host(Z), expected, atol=2e-6)
    sm.pp.gaussrank(view, layer="dense", key_added="gr")  # a view is made actual, as on the CPU
    sm.pp.gaussrank(cpu, key_added="gr")
    np.testing.assert_allclose(host(view.layers["gr"]), cpu.layers["gr"], atol=2e-6)
    rna_view, rna_cpu = mdata["rna"][:300], sm.datasets.bmmc_cite()["rna"][:300].copy()
    sm.pp.tsvd(rna_view, n_comps=10)
    sm.pp.tsvd(rna_cpu, n_comps=10)
    scale = np.abs(rna_cpu.obsm["X_tsvd"]).max()
    np.testing.assert_allclose(
        host(rna_view.obsm["X_tsvd"]), rna_cpu.obsm["X_tsvd"], atol=1e-4 * scale
    )


def test_gpu_source_with_a_cpu_target_gives_the_cpu_layer(mdata):
    """The result layer takes the namespace of the values, not the target's (item 4)."""
    cpu = mdata.copy()
    _predict(cpu)
    sm.get.to_gpu(mdata.mod["rna"])  # the proteins stay on the host
    _predict(mdata)
    layer = mdata["prot"].layers[KEY]
    assert is_gpu_array(layer)
    np.testing.assert_allclose(host(layer), cpu["prot"].layers[KEY], rtol=1e-3, atol=1e-3)


def test_gpu_results_become_the_cpu_dataframes_at_to_cpu(mdata, tmp_path):
    """One contract for both devices (item 10): after ``to_cpu``, the CPU's DataFrames."""
    cpu = mdata.copy()
    _predict(cpu)
    sm.get.to_gpu(mdata)
    _predict(mdata)
    rna = mdata["rna"]
    assert is_gpu_array(rna.obsm[KEY]) and is_gpu_array(rna.obsm[f"{KEY}_std"])
    assert list(rna.uns[COLUMNS_KEY][KEY]) == list(mdata["prot"].var_names)
    sm.get.to_cpu(mdata)
    assert COLUMNS_KEY not in rna.uns
    for key in (KEY, f"{KEY}_std"):
        pd.testing.assert_frame_equal(
            rna.obsm[key], cpu["rna"].obsm[key], check_exact=False, rtol=1e-3, atol=1e-3
        )
    mdata.write_h5mu(tmp_path / "out.h5mu")
    back = md.read_h5mu(tmp_path / "out.h5mu")
    pd.testing.assert_frame_equal(back["rna"].obsm[KEY], rna.obsm[KEY])
    _predict(mdata)  # a CPU run drops what a GPU run recorded
    assert COLUMNS_KEY not in rna.uns


def test_one_column_and_all_nan_columns_on_the_gpu():
    """``cupy.bincount`` raises on an empty array (item 5)."""
    rng = np.random.default_rng(0)
    one = rng.standard_normal((50, 1)).astype(np.float32)
    np.testing.assert_allclose(
        host(GaussRankScaler().fit_transform(_gpu(one))),
        GaussRankScaler().fit_transform(one),
        atol=1e-6,
    )
    nan = rng.standard_normal((40, 3)).astype(np.float32)
    nan[:, 1] = np.nan
    scaler = GaussRankScaler().fit(_gpu(nan))
    np.testing.assert_array_equal(np.isnan(host(scaler.transform(_gpu(nan)))), np.isnan(nan))
    a, b = rng.standard_normal((30, 4)), rng.standard_normal((30, 4))
    expected = scipy.stats.spearmanr(a.ravel(), b.ravel()).statistic
    got = sm.metrics.spearman(_gpu(a), _gpu(b), axis=None)
    np.testing.assert_allclose(float(got), expected, rtol=1e-10)


def test_to_gpu_converts_what_cupyx_cannot_hold_and_keeps_every_count():
    """cupyx sparse holds bool/float only: the stated dtype rule (item 6)."""
    rng = np.random.default_rng(1)
    counts = sp.random(30, 8, density=0.4, format="csr", random_state=1, dtype=np.float64)
    counts.data = np.ceil(counts.data * 50)
    big = counts.copy()
    big.data[0] = 2**25 + 1  # beyond float32's exact integers
    adata = ad.AnnData(counts.astype(np.int32))
    adata.layers["half"] = counts.toarray().astype(np.float16)  # dense cupy holds float16
    adata.layers["big"] = big.astype(np.int64)
    adata.layers["dense_int"] = rng.integers(0, 9, (30, 8))
    sm.get.to_gpu(adata)
    assert adata.X.dtype == np.float32 and adata.layers["half"].dtype == np.float16
    assert adata.layers["big"].dtype == np.float64
    assert adata.layers["dense_int"].dtype == np.int64  # dense cupy holds integers
    np.testing.assert_array_equal(host(adata.X), counts.toarray())
    np.testing.assert_array_equal(host(adata.layers["big"]), big.toarray())


def test_to_gpu_checks_everything_before_it_moves_anything():
    """A matrix the GPU cannot hold leaves the whole MuData as it was (item 6)."""
    rna = ad.AnnData(sp.random(20, 5, density=0.5, format="csr", random_state=0))
    prot = ad.AnnData(np.ones((20, 3), dtype=np.float32))
    prot.layers["names"] = np.full((20, 3), "CD4")
    mdata = md.MuData({"rna": rna, "prot": prot})
    with pytest.raises(TypeError, match=r"data\['prot'\]\.layers\['names'\].*Nothing was moved"):
        with unchanged(mdata):
            sm.get.to_gpu(mdata)


def test_a_kernel_that_is_not_positive_definite_raises_on_both_devices(to_dev):
    """cupy's Cholesky does not raise by default; scmodal checks cuSOLVER's status (item 7)."""
    rng = np.random.default_rng(2)
    X = np.repeat(rng.standard_normal((5, 2)), 10, axis=0)  # rank 2, 50 cells
    y = rng.standard_normal(50)
    with pytest.raises(ValueError, match="not positive definite"):
        KernelRidge(alpha=0.0, kernel="linear").fit(to_dev(X), to_dev(y))


def test_orthonormalize_falls_back_on_rank_deficient_input(to_dev):
    """The Cholesky QR pass notices its breakdown on the GPU too (cuSOLVER's status, or
    the pivot check for a factor that finished with a tiny pivot) and falls back to QR."""
    rng = np.random.default_rng(3)
    v = rng.standard_normal((200, 2))
    A = to_dev(np.c_[v, v[:, :1] * 3.0, rng.standard_normal((200, 1))])
    ns = sm._backend.get_namespace(A)
    Q = host(orthonormalize(A, ns))
    r = np.linalg.matrix_rank(Q)
    np.testing.assert_allclose((Q.T @ Q)[:r, :r], np.eye(r), atol=1e-8)


def test_products_leave_the_users_sparse_matrix_alone():
    """cupyx's products call ``sum_duplicates()`` in place: never on the user's matrix (item 8)."""
    X = sp.random(60, 30, density=0.3, format="csr", random_state=4, dtype=np.float32)
    rows = np.split(np.arange(X.nnz), X.indptr[1:-1])
    order = np.concatenate([r[::-1] for r in rows])  # same matrix, unsorted indices
    shuffled = sp.csr_matrix((X.data[order], X.indices[order], X.indptr), shape=X.shape)
    Xg = _gpu(shuffled)
    before = host(Xg.indices).copy()
    Xt = TruncatedSVD(5, random_state=0).fit_transform(Xg)
    np.testing.assert_array_equal(host(Xg.indices), before)
    np.testing.assert_allclose(
        np.abs(host(Xt)), np.abs(TruncatedSVD(5, random_state=0).fit_transform(X)), atol=1e-4
    )


@pytest.mark.parametrize("fmt", ["csr", "csc"])
def test_column_moments_read_the_device_in_one_pass(standin, monkeypatch, fmt):
    """On the GPU the moments are one chunk: host reads do not grow with the stored values
    (item 9; on the CPU the chunks stay small)."""
    from scmodal import _backend
    from scmodal.models._tsvd import _column_moments

    monkeypatch.setattr(_backend, "BLOCK_ELEMENTS", 500)  # many chunks on the CPU
    ns = gpu_namespace()
    reads = []
    for n in (200, 800):
        X = sp.random(n, 40, density=0.3, format=fmt, random_state=n, dtype=np.float32)
        Xg = _gpu(X)
        with standin.counting() as stats:
            sq, total = _column_moments(Xg, ns)
        reads.append(stats.to_host)
        dense = X.toarray().astype(np.float64)
        np.testing.assert_allclose(host(total), dense.sum(axis=0), rtol=1e-12)
        np.testing.assert_allclose(host(sq), (dense * dense).sum(axis=0), rtol=1e-12)
    assert reads[0] == reads[1]


def _drawn(fig):
    """Every number a figure shows: bar heights, point positions, line values, titles."""
    numbers, titles = [], []
    for ax in fig.axes:
        numbers += [p.get_height() for p in ax.patches]
        numbers += [np.ravel(c.get_offsets()) for c in ax.collections if len(c.get_offsets())]
        numbers += [np.ravel(c.get_array()) for c in ax.collections if c.get_array() is not None]
        numbers += [np.ravel(line.get_ydata()) for line in ax.lines]
        titles.append(ax.get_title())
    return np.concatenate([np.ravel(x).astype(float) for x in numbers]), titles


def test_plots_of_gpu_results_show_the_cpu_numbers(mdata):
    """Every ``sm.pl`` plot takes GPU-resident results as they are (the Done-when list)."""
    import matplotlib.pyplot as plt

    def prepare(m):
        _predict(m)
        sm.pp.gaussrank(m["prot"])
        sm.pp.tsvd(m["rna"], n_comps=20)

    cpu = mdata.copy()
    prepare(cpu)
    sm.get.to_gpu(mdata)
    prepare(mdata)
    draws = {
        "prediction_accuracy": lambda m: sm.pl.prediction_accuracy(m, show=False).figure,
        "uncertainty": lambda m: sm.pl.uncertainty(m, show=False).figure,
        "predicted_vs_measured": lambda m: sm.pl.predicted_vs_measured(
            m, ["CD3", "CD14"], kind="scatter", show=False
        ),
        "gaussrank": lambda m: sm.pl.gaussrank(m["prot"], ["CD4", "CD19"], show=False),
        "tsvd_variance": lambda m: sm.pl.tsvd_variance(m["rna"], show=False).figure,
    }
    for name, draw in draws.items():
        on_gpu, gpu_titles = _drawn(draw(mdata))
        on_cpu, cpu_titles = _drawn(draw(cpu))
        plt.close("all")
        assert on_gpu.shape == on_cpu.shape, name
        np.testing.assert_allclose(on_gpu, on_cpu, rtol=2e-3, atol=2e-3, err_msg=name)
        assert len(gpu_titles) == len(cpu_titles), name
