"""The full NeurIPS 2021 BMMC CITE-seq data (GEO GSE194122): download, verify, cache, read."""

from __future__ import annotations

import gzip
import hashlib
import http.client
import os
import shutil
import urllib.error
import urllib.request
import warnings
from pathlib import Path
from typing import Any, BinaryIO

import anndata as ad
import mudata as md
from mudata import MuData

from .._files import atomic_write
from .._progress import progress_bar

FILENAME = "GSE194122_openproblems_neurips2021_cite_BMMC_processed.h5ad.gz"
URL = (
    "https://www.ncbi.nlm.nih.gov/geo/download/?acc=GSE194122&format=file&file="
    "GSE194122%5Fopenproblems%5Fneurips2021%5Fcite%5FBMMC%5Fprocessed%2Eh5ad%2Egz"
)
# SHA-256 of the GEO file as recorded in scvi-tools' scvi-hub-models (config
# neurips_cite.json, used there to verify the same download). The machines scmodal is
# built on cannot reach GEO, so it has not been re-derived here; a mismatch is reported,
# never ignored.
SHA256 = "b9b50fade9349719cba23c97c6515d3501a32ee3735fe95fe51221d2e8a5f361"
CHUNK = 1 << 20
TIMEOUT = 60  # seconds without an answer before a download gives up
MODALITIES = {"GEX": "rna", "ADT": "prot"}


def default_cache_dir() -> Path:
    """``$SCMODAL_DATA_DIR``, else ``$XDG_CACHE_HOME/scmodal``, else ``~/.cache/scmodal``."""
    if os.environ.get("SCMODAL_DATA_DIR"):
        return Path(os.environ["SCMODAL_DATA_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "scmodal"


def download(url: str, dest: Path, sha256: str, *, progress: bool = True) -> Path:
    """Download ``url`` to ``dest`` via a ``.part`` file, kept only if its SHA-256 matches."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(dest) as part:
        try:
            with urllib.request.urlopen(url, timeout=TIMEOUT) as response, open(part, "wb") as out:
                got = _copy(response, out, dest.name, progress)
        except (
            urllib.error.URLError,
            http.client.HTTPException,
            TimeoutError,
            ConnectionError,
        ) as err:
            reason = getattr(err, "reason", None) or err
            raise OSError(
                f"could not download {url} ({reason}). Without network access, download "
                "the file on another machine, copy it here and pass its path: "
                f"sm.datasets.neurips2021_cite(path='/where/you/put/{FILENAME}')."
            ) from err
        if got != sha256:
            raise OSError(
                f"the download of {url} is corrupt or has changed: SHA-256 {got}, expected "
                f"{sha256}. Nothing was kept; try again, or download the file yourself and "
                "pass its path."
            )
    return dest


def _copy(response: Any, out: BinaryIO, name: str, progress: bool) -> str:
    """Copy the response into ``out`` with a progress bar; return its SHA-256 (hex)."""
    size = int(response.headers.get("Content-Length") or 0) or None
    bar = progress_bar(total=size, unit="B", unit_scale=True, desc=name, disable=not progress)
    digest = hashlib.sha256()
    for chunk in iter(lambda: response.read(CHUNK), b""):
        out.write(chunk)
        digest.update(chunk)
        bar.update(len(chunk))
    bar.close()
    return digest.hexdigest()


def _gunzip(src: Path, dest: Path) -> Path:
    with atomic_write(dest) as part, gzip.open(src, "rb") as f, open(part, "wb") as out:
        shutil.copyfileobj(f, out, CHUNK)
    return dest


def split_cite(adata: ad.AnnData) -> MuData:
    """Split a combined GEX + ADT AnnData (``var["feature_types"]``) into ``rna``/``prot``."""
    if "feature_types" not in adata.var:
        raise ValueError(
            "the file has no var['feature_types'] column: it is not the NeurIPS 2021 "
            "CITE-seq file (features must be labelled 'GEX' or 'ADT')."
        )
    types = adata.var["feature_types"].astype(str).to_numpy()
    missing = [t for t in MODALITIES if not (types == t).any()]
    if missing:
        raise ValueError(
            f"var['feature_types'] has no {' or '.join(missing)} features "
            f"(found {sorted(set(types))}); expected both 'GEX' and 'ADT'."
        )
    obs = adata.obs.copy()
    if "is_train" in obs and obs["is_train"].dtype != bool:
        # GEO's file labels cells "train", "test" or "iid_holdout"
        obs["split"] = obs["is_train"].astype(str).astype("category")
        obs["is_train"] = obs["split"].to_numpy() == "train"
    mods = {}
    for kind, name in MODALITIES.items():
        mod = adata[:, types == kind].copy()
        mod.obs = obs.copy()
        for key in list(mod.obsm):  # GEX_X_pca belongs to rna, ADT_X_umap to prot, ...
            if key.split("_", 1)[0] in MODALITIES and not key.startswith(kind + "_"):
                del mod.obsm[key]
        mods[name] = mod
    # mudata 0.4's behaviour chosen explicitly (no FutureWarning): modality obs columns are
    # not copied into mdata.obs; the ones users need are set below
    with md.set_options(pull_on_update=False), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*var_names are intersecting.*")
        mdata = MuData(mods)
    for column in ("is_train", "split", "batch", "cell_type"):
        if column in obs:
            mdata.obs[column] = obs[column].reindex(mdata.obs_names).to_numpy()
    return mdata


def neurips2021_cite(
    path: str | os.PathLike | None = None,
    *,
    cache_dir: str | os.PathLike | None = None,
    progress: bool = True,
) -> MuData:
    """The full NeurIPS 2021 BMMC CITE-seq data (GEO GSE194122) as a MuData.

    The challenge's processed CITE-seq file: bone-marrow mononuclear cells of several
    donors and sites with 13,953 genes and 134 surface proteins. ``rna`` holds the genes
    (``X`` log-normalized, ``layers["counts"]``), ``prot`` the proteins (``X``
    normalized, ``layers["counts"]``); both keep the file's ``obs`` (``cell_type``,
    ``batch``, ``Site``, donor annotations, …). The file's ``is_train`` labels
    (``"train"``, ``"test"``, ``"iid_holdout"``) are kept in ``obs["split"]`` and
    ``obs["is_train"]`` becomes the boolean ``split == "train"``, as in
    :func:`bmmc_cite`.

    Without ``path``, the file is downloaded once from GEO (a progress bar shows it),
    its SHA-256 checked, decompressed and kept in ``cache_dir``; later calls read the
    cached copy. Without network access this raises an ``OSError`` giving the URL: fetch
    the file elsewhere and pass it with ``path=``. With ``path``, a local ``.h5ad`` or
    ``.h5ad.gz`` copy is read (a ``.gz`` is decompressed into ``cache_dir`` first, again
    whenever the ``.gz`` is newer). The data is public (GEO GSE194122; Luecken et al.,
    NeurIPS 2021 Datasets and Benchmarks).

    Parameters
    ----------
    path
        A local copy of ``GSE194122_openproblems_neurips2021_cite_BMMC_processed.h5ad``
        (or ``.h5ad.gz``); ``None`` downloads it.
    cache_dir
        Where downloads and decompressed files are kept; default ``$SCMODAL_DATA_DIR``,
        else ``~/.cache/scmodal``.
    progress
        Show a progress bar while downloading.

    Returns
    -------
    A MuData with modalities ``rna`` and ``prot`` over the same cells.

    Examples
    --------
    >>> import scmodal as sm
    >>> mdata = sm.datasets.neurips2021_cite()  # doctest: +SKIP
    >>> mdata["rna"].n_vars, mdata["prot"].n_vars  # doctest: +SKIP
    (13953, 134)
    """
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    if path is not None:
        src = Path(path)
        if not src.is_file():
            raise FileNotFoundError(f"{src} does not exist (pass path=None to download it).")
        if src.suffix == ".gz":
            h5ad = cache / src.name.removesuffix(".gz")
            if not h5ad.is_file() or h5ad.stat().st_mtime < src.stat().st_mtime:
                cache.mkdir(parents=True, exist_ok=True)
                _gunzip(src, h5ad)
            src = h5ad
    else:
        src = cache / FILENAME.removesuffix(".gz")
        if not src.is_file():
            gz = download(URL, cache / FILENAME, SHA256, progress=progress)
            _gunzip(gz, src)
            gz.unlink()
    try:
        with warnings.catch_warnings():
            # a gene and a protein may share a name (CD4): split_cite separates them
            warnings.filterwarnings("ignore", message="Variable names are not unique")
            adata = ad.read_h5ad(src)
    except OSError as err:
        raise OSError(f"{src} is not a readable .h5ad file: {err}") from err
    return split_cite(adata)


__all__ = ["neurips2021_cite"]
