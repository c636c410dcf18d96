"""``sm.pp.gaussrank`` and ``sm.pp.inverse_gaussrank``: the GaussRankScaler on AnnData."""

from __future__ import annotations

import numpy as np
from anndata import AnnData

from .._anndata import check_adata, get_matrix, make_writable
from .._validation import check_int, check_key
from ..models import GaussRankScaler


def gaussrank(
    adata: AnnData,
    *,
    layer: str | None = None,
    key_added: str = "gaussrank",
    n_quantiles: int = 100_000,
    copy: bool = False,
) -> AnnData | None:
    """GaussRank-normalize every feature: average ranks mapped to normal quantiles.

    Per feature of ``adata.X`` (or ``adata.layers[layer]``), the ``n`` non-NaN values get
    their rank ``r`` (ties share their average rank) and the score
    ``z = Φ⁻¹((r − 0.5) / n)``; NaN stays NaN, a constant feature maps to 0. Sparse input
    is ranked without densifying it. The input matrix is left untouched. Runs on the GPU
    when the matrix is a cupy/cupyx one (see :func:`scmodal.get.to_gpu`).

    Parameters
    ----------
    adata
        Annotated data matrix (cells × features), e.g. an ADT modality.
    layer
        Layer to transform; ``None`` uses ``adata.X``.
    key_added
        Name of the layer written, and of the ``varm``/``uns`` entries.
    n_quantiles
        Most reference points kept per feature (see
        :class:`~scmodal.models.GaussRankScaler`); the default keeps every distinct value
        of up to 100,000 cells, so that :func:`inverse_gaussrank` is exact.
    copy
        Return a modified copy instead of writing into ``adata``.

    Returns
    -------
    ``None``, or the modified copy if ``copy=True``. Sets:

    ``adata.layers[key_added]``
        Dense float32 normal scores (on the device of the input).
    ``adata.varm[key_added]``
        The fitted reference, ``(n_vars, n_ref, 2)``: ``[..., 0]`` the sorted distinct
        values of each feature, ``[..., 1]`` their scores (NaN-padded).
    ``adata.uns[key_added]``
        ``{"params": {"layer", "n_quantiles"}, "n_obs"}``.

    Examples
    --------
    >>> import scmodal as sm
    >>> adata = sm.datasets.bmmc_cite()["prot"].copy()
    >>> sm.pp.gaussrank(adata)
    >>> adata.layers["gaussrank"].shape
    (600, 134)
    >>> round(float(adata.layers["gaussrank"].std()), 2)
    0.97
    """
    check_adata(adata)
    check_key(key_added)
    X = get_matrix(adata, layer, allow_nan=True)
    scaler = GaussRankScaler(n_quantiles=check_int(n_quantiles, "n_quantiles", minimum=2))
    Z = scaler.fit_transform(X)  # validates X before anything is written
    adata = make_writable(adata, copy)
    adata.layers[key_added] = Z
    adata.varm[key_added] = scaler.reference_
    adata.uns[key_added] = {
        "params": {"layer": "X" if layer is None else layer, "n_quantiles": int(n_quantiles)},
        "n_obs": int(adata.n_obs),
    }
    return adata if copy else None


def _reference_scaler(
    adata: AnnData, reference: AnnData | None, reference_key: str
) -> GaussRankScaler:
    """The scaler stored in ``reference.varm[reference_key]``, aligned to ``adata.var_names``."""
    source = adata if reference is None else check_adata(reference, "reference")
    where = "adata" if reference is None else "reference"
    if reference_key not in source.varm:
        raise ValueError(
            f"{where}.varm has no GaussRank reference {reference_key!r}: run "
            f"`sm.pp.gaussrank({where}, key_added={reference_key!r})` first, pass "
            "`reference=` an AnnData that holds one, or name it with `reference_key=`."
        )
    ref = np.asarray(source.varm[reference_key])
    if ref.ndim != 3 or ref.shape[2] != 2:
        raise ValueError(
            f"{where}.varm[{reference_key!r}] is not a GaussRank reference "
            f"(shape {ref.shape}, expected (n_vars, n_ref, 2))."
        )
    if reference is not None:
        idx = source.var_names.get_indexer(adata.var_names)
        if (idx < 0).any():
            missing = list(adata.var_names[idx < 0][:5])
            raise ValueError(
                f"{int((idx < 0).sum())} features of adata are not in reference.var_names "
                f"(e.g. {missing}); the reference must cover every feature of adata."
            )
        ref = ref[idx]
    return GaussRankScaler.from_reference(ref)


def inverse_gaussrank(
    adata: AnnData,
    *,
    layer: str = "gaussrank",
    key_added: str = "gaussrank_inverse",
    reference: AnnData | None = None,
    reference_key: str | None = None,
    copy: bool = False,
) -> AnnData | None:
    """Map GaussRank scores back onto the original scale with a stored reference.

    Interpolates every feature monotonically between the reference points written by
    :func:`gaussrank`: exact (bit for bit the original values) for the scores of the
    fitted cells, linear in between, and the smallest (largest) fitted value beyond the
    fitted range. Use it on predictions made in GaussRank space, with the reference of the
    training data (``reference=``).

    Parameters
    ----------
    adata
        Annotated data matrix holding the scores in ``layers[layer]``.
    layer
        Layer of scores to invert.
    key_added
        Layer written with the values on the original scale.
    reference
        AnnData whose ``varm[reference_key]`` holds the reference; by default ``adata``
        itself. Its ``var_names`` must include all of ``adata.var_names`` (matched by
        name).
    reference_key
        Key of the reference in ``varm``; defaults to ``layer``.
    copy
        Return a modified copy instead of writing into ``adata``.

    Returns
    -------
    ``None``, or the modified copy if ``copy=True``. Sets ``adata.layers[key_added]``
    (dense, in the dtype of the reference) and ``adata.uns[key_added]["params"]``.

    Examples
    --------
    >>> import numpy as np
    >>> import scmodal as sm
    >>> adata = sm.datasets.bmmc_cite()["prot"].copy()
    >>> sm.pp.gaussrank(adata)
    >>> sm.pp.inverse_gaussrank(adata)
    >>> bool(np.array_equal(adata.layers["gaussrank_inverse"], adata.X.toarray()))
    True
    """
    check_adata(adata)
    check_key(key_added)
    Z = get_matrix(adata, layer, allow_nan=True)
    key = layer if reference_key is None else check_key(reference_key, "reference_key")
    scaler = _reference_scaler(adata, reference, key)
    values = scaler.inverse_transform(Z)
    adata = make_writable(adata, copy)
    adata.layers[key_added] = values
    adata.uns[key_added] = {
        "params": {
            "layer": layer,
            "reference_key": key,
            "reference": "adata" if reference is None else "other",
        }
    }
    return adata if copy else None
