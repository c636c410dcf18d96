"""ModalityPredictor.save/load: the exact path, atomic writes under kills, and every bad file
refused at load with one error naming the path and what is wrong."""

from __future__ import annotations

import json
import os
import pickle
import re
import signal
import subprocess
import sys
import textwrap

import anndata as ad
import numpy as np
import pytest

from scmodal.models import ModalityPredictor

SAVED = ("Z_train_", "fit_cells_")


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    return rng.random((80, 40)), rng.random((80, 6))


@pytest.fixture(scope="module")
def saved(data, tmp_path_factory):
    """Two saved models: one fit (its posterior factor), target SVD and GaussRank targets;
    and raw targets, bagged."""
    X, Y = data
    folder = tmp_path_factory.mktemp("models")
    models = {
        "gaussrank": ModalityPredictor(10, 3, n_repeats=1, target_transform="gaussrank"),
        "plain": ModalityPredictor(10, None, n_repeats=2, clip_min=None, bagging="cells"),
    }
    for name, model in models.items():
        model.fit(X, Y).save(folder / f"{name}.npz")
    return folder, models


def arrays_of(path):
    with np.load(path) as f:
        return {name: f[name] for name in f.files}


def tampered(saved, tmp_path, name="gaussrank", **changes):
    """A copy of a saved model with arrays replaced (None: removed)."""
    arrays = arrays_of(saved[0] / f"{name}.npz")
    for key, value in changes.items():
        if value is None:
            del arrays[key]
        else:
            arrays[key] = value
    path = tmp_path / "tampered.npz"
    np.savez(path, **arrays)
    return path


def refused(path, phrase):
    """``load(path)`` raises one ValueError naming the path and saying ``phrase``."""
    with pytest.raises(ValueError, match=re.escape(str(path))) as err:
        ModalityPredictor.load(path)
    assert re.search(phrase, str(err.value)), str(err.value)


# --- the path ----------------------------------------------------------------------------


def test_save_writes_exactly_the_path_given_and_load_reads_it(saved, data, tmp_path):
    model = saved[1]["gaussrank"]
    model.save(tmp_path / "model")  # numpy alone would have written model.npz
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]
    back = ModalityPredictor.load(tmp_path / "model")
    for attr in SAVED:
        np.testing.assert_array_equal(getattr(back, attr), getattr(model, attr))
    for fit, ref in zip(back.heads_["krr"], model.heads_["krr"], strict=True):
        np.testing.assert_array_equal(fit.dual_coef_, ref.dual_coef_)
    np.testing.assert_array_equal(back.target_scaler_.reference_, model.target_scaler_.reference_)
    assert back.get_params() == model.get_params()
    X = data[0][:5]
    np.testing.assert_array_equal(back.predict(X), model.predict(X))


def test_missing_file_names_the_path(tmp_path):
    with pytest.raises(FileNotFoundError, match=re.escape(str(tmp_path / "nothing.npz"))):
        ModalityPredictor.load(tmp_path / "nothing.npz")


# --- files that are not models -----------------------------------------------------------


def test_truncated_and_damaged_files(saved, tmp_path):
    content = (saved[0] / "gaussrank.npz").read_bytes()
    for size in (len(content) // 2, len(content) - 100, 10):
        (tmp_path / "cut.npz").write_bytes(content[:size])
        refused(tmp_path / "cut.npz", "truncated or damaged")
    middle = len(content) // 3
    damaged = content[:middle] + bytes(200) + content[middle + 200 :]
    (tmp_path / "damaged.npz").write_bytes(damaged)
    refused(tmp_path / "damaged.npz", "truncated or damaged")
    (tmp_path / "empty.npz").write_bytes(b"")
    refused(tmp_path / "empty.npz", "empty")


def test_random_bytes(tmp_path):
    path = tmp_path / "random.npz"
    path.write_bytes(np.random.default_rng(0).bytes(5000))
    refused(path, "not an .npz archive")


def test_foreign_files(saved, tmp_path):
    with open(tmp_path / "model.pkl", "wb") as f:
        pickle.dump(saved[1]["plain"], f)
    refused(tmp_path / "model.pkl", "pickle")
    ad.AnnData(np.ones((3, 2), dtype=np.float32)).write_h5ad(tmp_path / "data.h5ad")
    refused(tmp_path / "data.h5ad", "HDF5")
    np.save(tmp_path / "array.npy", np.zeros(3))
    refused(tmp_path / "array.npy", "numpy array")
    np.savez(tmp_path / "other.npz", weights=np.zeros(2))
    refused(tmp_path / "other.npz", r"no `format_version`.*\['weights'\]")


def test_incomplete_model_file(saved, tmp_path):
    for key in ("krr_dual_coef", "Z_train", "params", "fitted", "source_components_", "n_targets"):
        refused(tampered(saved, tmp_path, **{key: None}), f"`{key}` is missing")
    path = tampered(saved, tmp_path, target_singular_values_=None)
    refused(path, "target SVD is incomplete")


def test_other_format_version(saved, tmp_path):
    refused(tampered(saved, tmp_path, format_version=np.array(3)), "format version 3")
    refused(tampered(saved, tmp_path, format_version=np.array("1")), "integer")


# --- model files whose parts do not fit together ------------------------------------------


@pytest.mark.parametrize("name", ["gaussrank", "plain"])
def test_version_1_files_still_load(saved, data, tmp_path, name):
    """A file as scmodal 0.x wrote it (kernel ridge only, no heads) predicts as before."""
    X = data[0]
    a = arrays_of(saved[0] / f"{name}.npz")
    params = {
        k: v
        for k, v in json.loads(str(a["params"])).items()
        if k not in ("method", "C", "epsilon", "ensemble", "cv", "cv_cells")
    }
    old = {k: v for k, v in a.items() if not k.startswith("krr_") and k != "fitted"}
    old.update(format_version=np.array(1), params=np.array(json.dumps(params)))
    old["dual_coef"] = a["krr_dual_coef"]
    if "krr_factor" in a:
        old["factor"], old["target_variance"] = a["krr_factor"][0], a["krr_target_variance"][0]
    path = tmp_path / "v1.npz"
    np.savez(path, **old)
    back = ModalityPredictor.load(path)
    model = saved[1][name]
    for got, expected in zip(
        back.predict(X[:7], return_std=True), model.predict(X[:7], return_std=True), strict=True
    ):
        np.testing.assert_allclose(got, expected, rtol=1e-12)


def test_shapes_are_checked_at_load(saved, tmp_path):
    a = arrays_of(saved[0] / "gaussrank.npz")
    cases = {
        # rows of dual_coef ≠ training cells of Z_train
        "`krr_dual_coef` has shape": {"krr_dual_coef": a["krr_dual_coef"][:, :-1]},
        "one column per target component": {"krr_dual_coef": a["krr_dual_coef"][:, :, :-1]},
        "`Z_train` has 9 columns": {"Z_train": a["Z_train"][:, :-1]},
        "`target_components_` has 5 columns": {
            "target_components_": a["target_components_"][:, :-1]
        },
        "`source_singular_values_` has 9 entries": {
            "source_singular_values_": a["source_singular_values_"][:-1]
        },
        "`target_reference` has shape": {"target_reference": a["target_reference"][:-1]},
        "`fit_cells` has shape": {"fit_cells": a["fit_cells"][:, :-1]},
        "`fit_cells` must be a 2-D boolean": {"fit_cells": a["fit_cells"].astype(float)},
        "`krr_dual_coef` must be a 3-D float": {"krr_dual_coef": a["krr_dual_coef"][0]},
        "`krr_dual_coef` contains NaN": {"krr_dual_coef": np.full_like(a["krr_dual_coef"], np.nan)},
        "`n_targets` is 0": {"n_targets": np.array(0)},
        "0 fits": {"krr_dual_coef": a["krr_dual_coef"][:0], "fit_cells": a["fit_cells"][:0]},
        "array `krr_dual_coef` is missing": {"krr_dual_coef": None},
        "`fitted` is not valid JSON": {"fitted": np.array("{")},
        "`fitted` holds the heads": {
            "fitted": np.array(json.dumps({**json.loads(str(a["fitted"])), "heads": ["svr"]}))
        },
        "weights": {
            "fitted": np.array(
                json.dumps({**json.loads(str(a["fitted"])), "weights": {"krr": 0.5}})
            )
        },
    }
    # the posterior of a one-fit model
    cases.update(
        {
            "it has `krr_factor` but not `krr_target_variance`": {"krr_target_variance": None},
            "`krr_factor` has shape (1, 80, 79)": {"krr_factor": a["krr_factor"][:, :, :-1]},
            "`krr_target_variance` has shape (1, 2)": {
                "krr_target_variance": a["krr_target_variance"][:, :-1]
            },
            "`krr_target_variance` is negative": {"krr_target_variance": -a["krr_target_variance"]},
        }
    )
    for phrase, change in cases.items():
        refused(tampered(saved, tmp_path, **change), re.escape(phrase))
    bagged = arrays_of(saved[0] / "plain.npz")
    assert "krr_factor" not in bagged
    path = tampered(
        saved,
        tmp_path,
        "plain",
        krr_factor=np.eye(80)[None],
        krr_target_variance=np.ones((1, bagged["krr_dual_coef"].shape[2])),
    )
    refused(path, re.escape("more than one fit"))
    path = tampered(saved, tmp_path, "plain", n_targets=np.array(5))
    refused(path, re.escape("expected (4, 80, 5)"))


def test_params_are_checked_at_load(saved, tmp_path):
    params = saved[1]["gaussrank"].get_params()
    cases = {
        "not valid JSON": "{n_repeats: 1",
        "must be a JSON object": "[1, 2]",
        r"unknown parameters \['n_comps'\]": json.dumps({**params, "n_comps": 3}),
        "bad value.*gamma": json.dumps({**params, "gamma": -1}),
        "target_reference": json.dumps({**params, "target_transform": None}),
    }
    for phrase, text in cases.items():
        refused(tampered(saved, tmp_path, params=np.array(text)), phrase)
    no_reference = tampered(saved, tmp_path, target_reference=None)
    refused(no_reference, "`target_reference` array is missing")


# --- kills and signals during save --------------------------------------------------------

HOST = textwrap.dedent(
    """
    import itertools, json, os, random, signal, sys, time
    from pathlib import Path
    import numpy as np
    from scmodal.models import ModalityPredictor

    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    folder, n_kills, n_signals = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    path, part = folder / "model.npz", folder / "model.npz.part"
    rng = np.random.default_rng(0)
    models = []
    for seed in (0, 1):  # two different models of about 2.5 MB each
        X = rng.random((300, 5000), dtype=np.float32)
        Y = rng.random((300, 10), dtype=np.float32)
        models.append(ModalityPredictor(120, 5, n_repeats=1, random_state=seed).fit(X, Y))

    def state():
        try:
            m = ModalityPredictor.load(path)
        except Exception as err:
            return f"unreadable: {type(err).__name__}: {err}"
        for name, ref in zip("AB", models):
            arrays = [(m.Z_train_, ref.Z_train_),
                      (m.heads_["krr"][0].dual_coef_, ref.heads_["krr"][0].dual_coef_),
                      (m.source_svd_.components_, ref.source_svd_.components_)]
            if all(np.array_equal(a, b) for a, b in arrays):
                return name
        return "neither"

    def writer(started):
        code = 1
        try:
            os.write(started, b"s")
            for i in itertools.count(1):
                models[i % 2].save(path)
        except KeyboardInterrupt:
            code = 130
        finally:
            os._exit(code)

    def one_round(sig, saves, rand=random.Random(0)):
        # fork a writer; signal it at a random moment of its first `saves` saves
        read, started = os.pipe()
        pid = os.fork()
        if pid == 0:
            writer(started)
        os.read(read, 1)
        os.close(read)
        os.close(started)
        time.sleep(rand.uniform(0, saves * save_seconds))
        os.kill(pid, sig)
        _, status = os.waitpid(pid, 0)
        return {
            "part_left": part.exists(),
            "state": state(),
            "signal": os.WTERMSIG(status) if os.WIFSIGNALED(status) else None,
            "exit": os.WEXITSTATUS(status) if os.WIFEXITED(status) else None,
        }

    start = time.perf_counter()
    models[0].save(path)  # the model on disk before the first kill
    save_seconds = time.perf_counter() - start
    report = {"kill": [one_round(signal.SIGKILL, 2) for _ in range(n_kills)]}
    if not part.exists():  # as the last kill would have left it, had it hit a write
        part.write_bytes(b"stale")
    models[0].save(path)  # replaces the stale .part
    report["resave"] = {"part_left": part.exists(), "state": state()}
    report["term"] = [one_round(signal.SIGTERM, 0.5) for _ in range(n_signals)]
    report["int"] = [one_round(signal.SIGINT, 0.5) for _ in range(n_signals)]
    print(json.dumps(report))
    """
)


@pytest.fixture(scope="module")
def kills(tmp_path_factory):
    """Run HOST: a child saving two models in turn is killed 32 times, then signalled 16."""
    folder = tmp_path_factory.mktemp("kills")
    (folder / "host.py").write_text(HOST)
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    run = subprocess.run(
        [sys.executable, str(folder / "host.py"), str(folder), "32", "8"],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout.splitlines()[-1])


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork (POSIX)")
def test_sigkill_during_save_always_leaves_a_readable_model(kills):
    rounds = kills["kill"]
    # after every kill the file is the old or the new model, whole
    assert all(r["state"] in ("A", "B") for r in rounds), [r["state"] for r in rounds]
    assert "B" in {r["state"] for r in rounds}  # the child's saves did complete
    assert all(r["signal"] == signal.SIGKILL for r in rounds)
    # many kills landed inside a write (they left a .part): the test exercised it
    assert sum(r["part_left"] for r in rounds) >= 5
    # the next save replaces a stale .part left by a kill
    assert kills["resave"] == {"part_left": False, "state": "A"}


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork (POSIX)")
def test_sigterm_and_sigint_during_save_remove_the_part(kills):
    for r in kills["term"]:  # dies of SIGTERM as before, after cleaning up
        assert r == {
            "part_left": False,
            "state": r["state"],
            "signal": signal.SIGTERM,
            "exit": None,
        }
        assert r["state"] in ("A", "B")
    for r in kills["int"]:  # KeyboardInterrupt reaches the caller after cleanup
        assert r == {"part_left": False, "state": r["state"], "signal": None, "exit": 130}
        assert r["state"] in ("A", "B")


def test_a_model_of_a_one_dimensional_target_predicts_one_dimension_after_load(tmp_path):
    rng = np.random.default_rng(0)
    X, y = rng.random((40, 12)), rng.random(40)
    model = ModalityPredictor(5, None, n_repeats=1).fit(X, y)
    model.save(tmp_path / "m")
    back = ModalityPredictor.load(tmp_path / "m")
    assert back.predict(X[:3]).shape == (3,)
    np.testing.assert_allclose(back.predict(X[:3]), model.predict(X[:3]), rtol=1e-6)
