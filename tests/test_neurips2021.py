"""sm.datasets.neurips2021_cite: the GEO loader, on a small file of the same layout."""

from __future__ import annotations

import gzip
import hashlib
import shutil

import anndata as ad
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

import scmodal as sm
from scmodal.datasets import _neurips2021 as geo

# the fake file, like a combined GEX + ADT file can, names a gene and a protein alike
pytestmark = pytest.mark.filterwarnings("ignore:Variable names are not unique")


@pytest.fixture
def combined():
    """A GEX + ADT AnnData laid out like GEO's processed CITE-seq file."""
    rng = np.random.default_rng(0)
    n, genes, prots = 30, 8, 3
    counts = sp.random(n, genes + prots, density=0.4, format="csr", random_state=1) * 10
    counts.data = np.round(counts.data) + 1
    var = pd.DataFrame(
        {"feature_types": pd.Categorical(["GEX"] * genes + ["ADT"] * prots)},
        index=[f"g{i}" for i in range(genes)] + ["CD4", "CD8", "g0"],
    )
    obs = pd.DataFrame(
        {
            "is_train": pd.Categorical(rng.choice(["train", "test", "iid_holdout"], n)),
            "batch": pd.Categorical(rng.choice(["s1d1", "s2d4"], n)),
            "cell_type": pd.Categorical(rng.choice(["B", "T"], n)),
        },
        index=[f"cell{i}" for i in range(n)],
    )
    adata = ad.AnnData(np.log1p(counts).astype(np.float32), obs=obs, var=var)
    adata.layers["counts"] = counts
    adata.obsm["GEX_X_pca"] = rng.random((n, 4))
    adata.obsm["ADT_X_umap"] = rng.random((n, 2))
    return adata


def write(adata, folder, gz=False):
    path = folder / geo.FILENAME.removesuffix(".gz")
    adata.write_h5ad(path)
    if not gz:
        return path
    with open(path, "rb") as f, gzip.open(str(path) + ".gz", "wb") as out:
        shutil.copyfileobj(f, out)
    path.unlink()
    return folder / geo.FILENAME


def check(mdata, adata):
    gex = adata.var["feature_types"].to_numpy() == "GEX"
    assert mdata["rna"].n_vars == gex.sum() and mdata["prot"].n_vars == (~gex).sum()
    np.testing.assert_array_equal(mdata["rna"].X.toarray(), adata.X[:, gex].toarray())
    np.testing.assert_array_equal(mdata["prot"].X.toarray(), adata.X[:, ~gex].toarray())
    np.testing.assert_array_equal(
        mdata["prot"].layers["counts"].toarray(), adata.layers["counts"][:, ~gex].toarray()
    )
    labels = adata.obs["is_train"].astype(str).to_numpy()
    np.testing.assert_array_equal(mdata.obs["is_train"].to_numpy(), labels == "train")
    np.testing.assert_array_equal(mdata["rna"].obs["split"].astype(str), labels)
    assert list(mdata["rna"].obsm) == ["GEX_X_pca"]
    assert list(mdata["prot"].obsm) == ["ADT_X_umap"]
    assert list(mdata.obs["batch"]) == list(adata.obs["batch"])


def test_reads_a_local_h5ad(tmp_path, combined):
    check(sm.datasets.neurips2021_cite(write(combined, tmp_path)), combined)


def test_reads_a_local_gz_through_the_cache(tmp_path, combined):
    (tmp_path / "src").mkdir()
    gz = write(combined, tmp_path / "src", gz=True)
    cache = tmp_path / "cache"
    check(sm.datasets.neurips2021_cite(gz, cache_dir=cache), combined)
    assert sorted(p.name for p in cache.iterdir()) == [geo.FILENAME.removesuffix(".gz")]


def test_downloads_verifies_and_caches(tmp_path, combined, monkeypatch):
    (tmp_path / "remote").mkdir()
    gz = write(combined, tmp_path / "remote", gz=True)
    monkeypatch.setattr(geo, "URL", gz.as_uri())
    monkeypatch.setattr(geo, "SHA256", hashlib.sha256(gz.read_bytes()).hexdigest())
    monkeypatch.setenv("SCMODAL_DATA_DIR", str(tmp_path / "cache"))
    check(sm.datasets.neurips2021_cite(progress=False), combined)
    cached = sorted(p.name for p in (tmp_path / "cache").iterdir())
    assert cached == [geo.FILENAME.removesuffix(".gz")]  # the .gz is gone once unpacked
    gz.unlink()  # a second call reads the cache and does not download
    check(sm.datasets.neurips2021_cite(progress=False), combined)


def test_a_bad_checksum_keeps_nothing(tmp_path, combined, monkeypatch):
    (tmp_path / "remote").mkdir()
    gz = write(combined, tmp_path / "remote", gz=True)
    monkeypatch.setattr(geo, "URL", gz.as_uri())
    monkeypatch.setattr(geo, "SHA256", "0" * 64)
    with pytest.raises(OSError, match="SHA-256"):
        sm.datasets.neurips2021_cite(cache_dir=tmp_path / "cache", progress=False)
    assert list((tmp_path / "cache").iterdir()) == []


def test_offline_the_error_gives_the_url_and_path(tmp_path, monkeypatch):
    unreachable = "http://127.0.0.1:9/GSE194122.h5ad.gz"  # the discard port: refused
    monkeypatch.setattr(geo, "URL", unreachable)
    with pytest.raises(OSError) as err:
        sm.datasets.neurips2021_cite(cache_dir=tmp_path / "cache", progress=False)
    message = str(err.value)
    assert unreachable in message and "path=" in message and geo.FILENAME in message
    assert list((tmp_path / "cache").iterdir()) == []  # no .part left behind


def test_the_recorded_checksum_is_a_sha256():
    assert len(geo.SHA256) == 64 and int(geo.SHA256, 16) >= 0
    assert geo.URL.endswith("%2Eh5ad%2Egz") and "GSE194122" in geo.URL


def test_bad_files(tmp_path, combined):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        sm.datasets.neurips2021_cite(tmp_path / "nothing.h5ad")
    no_types = combined.copy()
    del no_types.var["feature_types"]
    with pytest.raises(ValueError, match="feature_types"):
        sm.datasets.neurips2021_cite(write(no_types, tmp_path))
    gex_only = combined[:, combined.var["feature_types"] == "GEX"].copy()
    with pytest.raises(ValueError, match="no ADT"):
        sm.datasets.neurips2021_cite(write(gex_only, tmp_path))
    junk = tmp_path / "junk.h5ad"
    junk.write_bytes(b"not hdf5")
    with pytest.raises(OSError, match="not a readable"):
        sm.datasets.neurips2021_cite(junk)


def test_default_cache_dir(monkeypatch, tmp_path):
    monkeypatch.delenv("SCMODAL_DATA_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert geo.default_cache_dir() == tmp_path / "scmodal"
    monkeypatch.setenv("SCMODAL_DATA_DIR", str(tmp_path / "data"))
    assert geo.default_cache_dir() == tmp_path / "data"
