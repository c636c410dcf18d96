"""The memory guards count what the kernel work allocates: their byte counts against the
peak that tracemalloc measures (numpy's allocations are traced), and their MemoryError
messages (how much, how many cells fit, what to do instead).

Measured peak: the highest traced memory during the call minus what was traced before
it, i.e. what the call allocates on top of its inputs. For ModalityPredictor that is the
part that grows with cells (besides it only the SVD components, a few hundred kB here).
"""

from __future__ import annotations

import dataclasses
import re
import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import pytest

import scmodal as sm
import scmodal._backend as backend
import scmodal.models._kernel_ridge as krr
from scmodal._backend import CPU
from scmodal.models import KernelRidge, ModalityPredictor
from scmodal.models._kernel_ridge import (
    check_kernel_memory,
    fit_advice,
    kernel_ridge_fit_bytes,
    kernel_ridge_predict_bytes,
)
from scmodal.models._predictor_memory import (
    modality_predictor_fit_bytes,
    modality_predictor_predict_bytes,
)

N_KRR, N_FEATURES, N_TARGETS = 4000, 50, 70
N_TRAIN, N_OTHER = 6000, 1000


@dataclasses.dataclass
class Peak:
    bytes: int = 0


@contextmanager
def traced_peak() -> Iterator[Peak]:
    """Bytes allocated at the peak of the block, above what was allocated before it."""
    was_tracing = tracemalloc.is_tracing()
    if not was_tracing:
        tracemalloc.start()
    tracemalloc.reset_peak()
    before = tracemalloc.get_traced_memory()[0]
    peak = Peak()
    try:
        yield peak
    finally:
        peak.bytes = tracemalloc.get_traced_memory()[1] - before
        if not was_tracing:
            tracemalloc.stop()


def within(measured: int, counted: int, tolerance: float = 0.15) -> bool:
    return abs(measured - counted) <= tolerance * counted


@pytest.fixture(scope="module")
def krr_data():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((N_KRR, N_FEATURES), dtype=np.float32)
    return X, rng.standard_normal((N_KRR, N_TARGETS), dtype=np.float32)


@pytest.fixture(scope="module")
def cite():
    mdata = sm.datasets.synthetic_cite(
        n_cells=N_TRAIN + N_OTHER, n_genes=500, n_proteins=50, random_state=0
    )
    return mdata["rna"].X, np.asarray(mdata["prot"].X, dtype=np.float32)


def test_kernel_ridge_fit_peak_is_one_kernel_as_counted(krr_data):
    """One n × n float32 buffer (factorized in place) plus the coefficients; was 2 kernels."""
    X, Y = krr_data
    with traced_peak() as peak:
        KernelRidge(alpha=0.2, gamma=0.01).fit(X, Y)
    counted = kernel_ridge_fit_bytes(N_KRR, N_TARGETS, 4)
    one_kernel = 4 * N_KRR**2  # 64 MB
    assert within(peak.bytes, counted), (peak.bytes, counted)
    assert within(peak.bytes, one_kernel), (peak.bytes, one_kernel)


def test_kernel_ridge_predict_peak_is_bounded_and_counted(krr_data):
    """Predicting 10,000 cells holds one block of kernel rows, not 10,000 × 4,000."""
    X, Y = krr_data
    model = KernelRidge(alpha=0.2, gamma=0.01).fit(X, Y)
    X_new = np.random.default_rng(1).standard_normal((10_000, N_FEATURES), dtype=np.float32)
    with traced_peak() as peak:
        pred = model.predict(X_new)
    assert pred.shape == (10_000, N_TARGETS)
    counted = kernel_ridge_predict_bytes(10_000, N_KRR, N_TARGETS, 4)
    assert within(peak.bytes, counted), (peak.bytes, counted)
    assert peak.bytes < 0.5 * 4 * 10_000 * N_KRR  # far below the full 160 MB kernel


def test_modality_predictor_fit_peak_is_counted(cite):
    """6,000 training cells, two halves of 3,000: one 36 MB half kernel at a time."""
    X, Y = cite[0][:N_TRAIN], cite[1][:N_TRAIN]
    with traced_peak() as peak:
        ModalityPredictor(50, 20, n_repeats=1, bagging="cells").fit(X, Y)
    counted = modality_predictor_fit_bytes(N_TRAIN, N_TRAIN // 2, 2, 50, 20, 4)
    assert within(peak.bytes, counted), (peak.bytes, counted)


def test_modality_predictor_predict_peak_is_counted(cite):
    X, Y = cite
    model = ModalityPredictor(50, 20, n_repeats=1, bagging="cells").fit(X[:N_TRAIN], Y[:N_TRAIN])
    n_predict = X.shape[0]  # 7,000 cells: three blocks of kernel rows
    with traced_peak() as peak:
        model.predict(X, return_std=True)
    counted = modality_predictor_predict_bytes(
        n_predict, N_TRAIN, 50, 20, Y.shape[1], 4, bagged=True
    )
    assert within(peak.bytes, counted), (peak.bytes, counted)
    assert peak.bytes < 0.5 * 4 * n_predict * N_TRAIN  # far below the full 168 MB kernel


def at_most(message: str) -> int:
    return int(re.search(r"at most ([\d,]+) ", message).group(1).replace(",", ""))


def test_kernel_ridge_predict_guard_says_how_many_cells_fit(krr_data, monkeypatch):
    X, Y = krr_data
    model = KernelRidge(alpha=0.2, gamma=0.01).fit(X[:2000], Y[:2000])
    monkeypatch.setattr(krr, "available_memory", lambda ns: 5_000_000)
    X_new = np.random.default_rng(1).standard_normal((3000, N_FEATURES), dtype=np.float32)
    with pytest.raises(MemoryError) as err:
        model.predict(X_new)
    message = str(err.value)
    assert "predicting 3,000 cells" in message and "needs 24.8 MB on the CPU" in message
    assert "only 4.5 MB is available" in message and "chunks" in message
    n_max = at_most(message)
    # 4-byte kernel rows of 2,000 training cells and 70 predictions per cell in 4.5 MB
    assert n_max == int(0.9 * 5_000_000 // (4 * (2000 + N_TARGETS)))
    assert model.predict(X_new[:n_max]).shape == (n_max, N_TARGETS)  # that many do fit
    with pytest.raises(MemoryError):
        model.predict(X_new[: n_max + 1])


def test_modality_predictor_guards_say_what_fits(monkeypatch):
    mdata = sm.datasets.bmmc_cite()
    train = mdata.obs["is_train"].to_numpy()
    X, Y = mdata["rna"].X, mdata["prot"].X.toarray()
    monkeypatch.setattr(krr, "available_memory", lambda ns: 100_000)
    with pytest.raises(MemoryError) as err:
        ModalityPredictor(10, 5, n_repeats=1).fit(X[train], Y[train])
    message = str(err.value)
    assert f"on {train.sum():,} training cells" in message and "subsample" in message
    n_max = at_most(message)
    assert 0 < n_max < train.sum()
    ModalityPredictor(10, 5, n_repeats=1).fit(X[train][:n_max], Y[train][:n_max])
    with pytest.raises(MemoryError):
        ModalityPredictor(10, 5, n_repeats=1).fit(X[train][: n_max + 1], Y[train][: n_max + 1])

    model = ModalityPredictor(10, 5, n_repeats=1).fit(X[train][:60], Y[train][:60])
    monkeypatch.setattr(krr, "available_memory", lambda ns: 100_000)
    with pytest.raises(MemoryError) as err:
        model.predict(X[~train])
    message = str(err.value)
    assert f"predicting {(~train).sum():,} cells" in message and "chunks" in message
    n_max = at_most(message)
    assert 0 < n_max < (~train).sum()
    assert model.predict(X[~train][:n_max]).shape == (n_max, Y.shape[1])
    with pytest.raises(MemoryError):
        model.predict(X[~train][: n_max + 1])


def test_guard_on_the_gpu_advises_the_cpu(monkeypatch):
    gpu = dataclasses.replace(CPU, is_gpu=True)
    monkeypatch.setattr(krr, "available_memory", lambda ns: 1_000_000)
    with pytest.raises(MemoryError, match=r"on the GPU.*at most 6 training cells.*on the CPU"):
        # 20 kB × n²: 6² × 20 kB = 720 kB ≤ 90 % of 1 MB < 7² × 20 kB
        check_kernel_memory(
            10, lambda n: 20_000 * n * n, gpu, task=lambda n: f"{n} cells", advice=fit_advice(gpu)
        )


def fake_cgroup(tmp_path, monkeypatch, version, limits):
    """A cgroup tree under tmp_path: ``limits`` maps a folder to (limit, usage, inactive)."""
    root = tmp_path / "cgroup"
    base = root if version == "v2" else root / "memory"
    limit_file, usage_file, inactive = {
        "v2": ("memory.max", "memory.current", "inactive_file"),
        "v1": ("memory.limit_in_bytes", "memory.usage_in_bytes", "total_inactive_file"),
    }[version]
    for folder, (limit, usage, cache) in limits.items():
        path = base / folder
        path.mkdir(parents=True, exist_ok=True)
        (path / limit_file).write_text(f"{limit}\n")
        (path / usage_file).write_text(f"{usage}\n")
        (path / "memory.stat").write_text(f"active_file 7\n{inactive} {cache}\n")
    leaf = max(limits, key=len)
    proc = tmp_path / "proc_cgroup"
    line = f"0::/{leaf}" if version == "v2" else f"4:memory:/{leaf}"
    proc.write_text(f"9:name=systemd:/\n{line}\n")
    monkeypatch.setattr(backend, "CGROUP_ROOT", root)
    monkeypatch.setattr(backend, "PROC_CGROUP", proc)


@pytest.mark.parametrize("version", ["v2", "v1"])
def test_available_memory_respects_a_cgroup_limit_of_a_parent(tmp_path, monkeypatch, version):
    """A batch job's cap (on the job's cgroup, above the task's) is what the guard sees."""
    no_limit = "max" if version == "v2" else str(2**63 - 4096)
    machine = backend.available_memory(CPU)
    fake_cgroup(
        tmp_path,
        monkeypatch,
        version,
        {
            "job": (100_000_000, 70_000_000, 5_000_000),  # 35 MB of room
            "job/step/task": (no_limit, 60_000_000, 0),
        },
    )
    assert backend.available_memory(CPU) == min(machine, 35_000_000)
    X = np.random.default_rng(0).standard_normal((4000, 10), dtype=np.float32)
    with pytest.raises(MemoryError, match=r"only 31\.5 MB is available"):  # 90 % of 35 MB
        KernelRidge().fit(X, X[:, :2])


def test_available_memory_without_a_cgroup_limit_is_the_machines(tmp_path, monkeypatch):
    fake_cgroup(tmp_path, monkeypatch, "v2", {"user.slice": ("max", 10**9, 0)})
    capped = backend.available_memory(CPU)
    monkeypatch.setattr(backend, "PROC_CGROUP", tmp_path / "missing")
    assert abs(capped - backend.available_memory(CPU)) < 0.05 * capped
