"""The scmodal command line on the bundled data."""

from __future__ import annotations

import contextlib
import importlib.metadata
import io
import os
import shlex
import subprocess
import sys

import mudata as md
import numpy as np
import pytest

import scmodal as sm
from scmodal.cli import main


@pytest.fixture(scope="module")
def demo():
    """The demo's output, and the MuData it predicted on (caught on its way through)."""
    seen = []
    predict = sm.tl.predict_modality

    def spy(mdata, *args, **kwargs):
        seen.append(mdata)
        return predict(mdata, *args, **kwargs)

    out = io.StringIO()
    with pytest.MonkeyPatch.context() as mp, contextlib.redirect_stdout(out):
        mp.setattr(sm.tl, "predict_modality", spy)
        assert main(["demo"]) == 0
    (mdata,) = seen
    return out.getvalue(), mdata


@pytest.fixture(scope="module")
def bundled(tmp_path_factory):
    path = tmp_path_factory.mktemp("input") / "bmmc.h5mu"
    sm.datasets.bmmc_cite().write_h5mu(path)
    return path


def numpy_scores(measured, predicted):
    """RMSE over all values and mean Pearson r over the proteins, in plain numpy."""
    rmse = np.sqrt(np.mean((measured - predicted) ** 2))
    a = measured - measured.mean(axis=0)
    b = predicted - predicted.mean(axis=0)
    norm = np.sqrt((a**2).sum(axis=0) * (b**2).sum(axis=0))
    r = (a * b).sum(axis=0)[norm > 0] / norm[norm > 0]  # constant proteins have no r
    return rmse, r.mean()


def test_demo_prints_the_scores_of_its_stored_predictions(demo):
    out, mdata = demo
    held_out = mdata.obs_names[~mdata.obs["is_train"].to_numpy(dtype=bool)]
    measured = mdata["prot"][held_out].X.toarray()
    predicted = mdata["rna"].obsm["prot_predicted"].loc[held_out].to_numpy()
    train = mdata.obs_names[mdata.obs["is_train"].to_numpy(dtype=bool)]
    baseline = np.broadcast_to(mdata["prot"][train].X.toarray().mean(axis=0), measured.shape)

    ours = next(line for line in out.splitlines() if line.strip().startswith("scmodal"))
    base = next(line for line in out.splitlines() if "baseline" in line)
    rmse, r = numpy_scores(measured, predicted)
    assert ours.split()[-2:] == [f"{rmse:.3f}", f"{r:.3f}"]
    assert base.split()[-3] == f"{numpy_scores(measured, baseline)[0]:.3f}"
    assert rmse < numpy_scores(measured, baseline)[0]
    assert f"({len(held_out)} cells × {mdata['prot'].n_vars} proteins)" in out


def test_demo_ends_with_the_command_to_run_next(demo, bundled, tmp_path, capsys):
    last = demo[0].rstrip().splitlines()[-1].strip()
    assert last.startswith("scmodal predict ")
    argv = shlex.split(last)[1:]  # the user's own file, and a quick run
    argv[argv.index("data.h5mu")] = str(bundled)
    argv[argv.index("predicted.h5mu")] = str(tmp_path / "predicted.h5mu")
    assert main([*argv, "--n-repeats", "1"]) == 0
    assert md.read_h5mu(tmp_path / "predicted.h5mu")["rna"].obsm["prot_predicted"].shape == (
        600,
        134,
    )


def test_version(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out.strip() == f"scmodal {importlib.metadata.version('scmodal')}"


def test_predict_writes_an_h5mu(bundled, tmp_path, capsys):
    out = tmp_path / "out.h5mu"
    argv = [str(bundled), "--train-key", "is_train", "-o", str(out), "--n-repeats", "1"]
    assert main(["predict", *argv]) == 0
    assert "wrote" in capsys.readouterr().out
    back = md.read_h5mu(out)
    assert back["rna"].obsm["prot_predicted"].shape == (600, 134)
    assert back.uns["prot_predicted"]["n_train"] == 311
    assert not (tmp_path / "out.h5mu.part").exists()


def test_predict_with_heads_a_grid_and_a_blend(bundled, tmp_path, capsys):
    out = tmp_path / "out.h5mu"
    argv = [str(bundled), "--train-key", "is_train", "-o", str(out), "--n-components-source",
            "30", "--method", "krr", "svr", "--alpha", "0.1", "0.5", "--C", "3", "--ensemble",
            "mean"]  # fmt: skip
    assert main(["predict", *argv]) == 0
    printed = capsys.readouterr().out
    assert "krr: weight 0.50 (gamma=0.005, alpha=" in printed and "svr: weight 0.50" in printed
    uns = md.read_h5mu(out).uns["prot_predicted"]
    assert uns["params"]["method"].tolist() == ["krr", "svr"]
    assert uns["params"]["alpha"].tolist() == [0.1, 0.5] and uns["params"]["C"] == 3.0
    assert uns["params"]["ensemble"] == "mean" and "cv" in uns


def fails(argv, capsys, *phrases):
    """``main(argv)`` exits with status 2 and one line on stderr that says ``phrases``."""
    assert main(argv) == 2
    captured = capsys.readouterr()
    err = captured.err.strip()
    assert "\n" not in err and err.startswith(f"scmodal {argv[0]}: error: "), err
    for phrase in phrases:
        assert phrase in err, err
    return err


@pytest.fixture
def no_computation(monkeypatch):
    def refuse(*args, **kwargs):  # pragma: no cover - the test fails if it is reached
        raise AssertionError("computed before checking the output")

    monkeypatch.setattr(sm.tl, "predict_modality", refuse)


def test_output_checked_before_any_computation(bundled, tmp_path, capsys, no_computation):
    out = tmp_path / "out.h5mu"
    out.write_bytes(b"a previous result")
    fails(["predict", str(bundled), "-o", str(out)], capsys, str(out), "--overwrite")
    assert out.read_bytes() == b"a previous result"
    missing = tmp_path / "no such folder" / "out.h5mu"
    fails(["predict", str(bundled), "-o", str(missing)], capsys, "does not exist")
    fails(["predict", str(bundled), "-o", str(tmp_path)], capsys, "is a folder")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.h5mu"]


@pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root may write anywhere"
)
def test_unwritable_output_folder(bundled, tmp_path, capsys, no_computation):
    folder = tmp_path / "read-only"
    folder.mkdir(mode=0o500)
    fails(["predict", str(bundled), "-o", str(folder / "out.h5mu")], capsys, "not writable")


def test_overwrite_replaces_the_output(bundled, tmp_path, capsys):
    out = tmp_path / "out.h5mu"
    out.write_bytes(b"a previous result")
    argv = ["predict", str(bundled), "-o", str(out), "--train-key", "is_train", "--overwrite"]
    assert main([*argv, "--n-repeats", "1"]) == 0
    assert md.read_h5mu(out).uns["prot_predicted"]["n_train"] == 311


def test_errors_name_the_flags(bundled, tmp_path, capsys):
    out = tmp_path / "out.h5mu"
    src = str(bundled)
    argv = ["predict", src, "-o", str(out), "--train-key", "no_such_column"]
    err = fails(argv, capsys, "`--train-key 'no_such_column'`")
    assert "train=" not in err and "`train`" not in err
    fails(["predict", src, "-o", str(out), "--target", "adt"], capsys, "--target", "adt")
    fails(["predict", src, "-o", str(out), "--n-repeats", "0"], capsys, "`--n-repeats` must")
    fails(["predict", src, "-o", str(out), "--key-added", "a/b"], capsys, "`--key-added`")
    fails(["predict", src, "-o", str(out), "--source", "prot"], capsys, "`--source` and `--target`")
    fails(["predict", src, "-o", str(out), "--method", "mlp"], capsys, "`--method`", "'mlp'")
    fails(["predict", src, "-o", str(out), "--alpha", "big"], capsys, "`--alpha` takes numbers")
    fails(["predict", src, "-o", str(out), "--C", "0"], capsys, "`--C` values must")
    fails(["predict", src, "-o", str(out), "--gamma", "0.1", "-1"], capsys, "`--gamma`")
    assert not out.exists()
    with pytest.raises(SystemExit) as exit_:  # argparse's own errors: one line too
        main(["predict", src, "-o", str(out), "--n-repeats", "many"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "--n-repeats" in err


def test_unreadable_inputs(bundled, tmp_path, capsys):
    out = tmp_path / "out.h5mu"
    content = bundled.read_bytes()
    (tmp_path / "truncated.h5mu").write_bytes(content[: len(content) // 2])
    (tmp_path / "text.h5mu").write_text("cell,gene\n")
    sm.datasets.bmmc_cite()["rna"].write_h5ad(tmp_path / "rna.h5ad")
    for name in ("truncated.h5mu", "text.h5mu", "rna.h5ad"):
        path = str(tmp_path / name)
        fails(["predict", path, "-o", str(out)], capsys, f"cannot read {path} as a MuData")
    fails(["predict", str(tmp_path / "rna.h5ad"), "-o", str(out)], capsys, "combine them")
    fails(["predict", str(tmp_path / "missing.h5mu"), "-o", str(out)], capsys, "does not exist")
    assert not out.exists() and not (tmp_path / "out.h5mu.part").exists()


def test_ctrl_c_ends_in_one_line(bundled, tmp_path, capsys, monkeypatch):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(sm.tl, "predict_modality", interrupted)
    assert main(["predict", str(bundled), "-o", str(tmp_path / "out.h5mu")]) == 130
    assert capsys.readouterr().err == "scmodal predict: interrupted.\n"
    assert list(tmp_path.iterdir()) == []


def test_exit_status_and_no_traceback_from_the_shell(tmp_path):
    (tmp_path / "corrupt.h5mu").write_bytes(b"\x89HDF\r\n\x1a\n" + bytes(100))
    run = subprocess.run(
        [sys.executable, "-m", "scmodal.cli", "predict", "corrupt.h5mu", "-o", "out.h5mu"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 2
    assert "Traceback" not in run.stderr
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("scmodal predict: error: cannot read"), lines
    assert sorted(p.name for p in tmp_path.iterdir()) == ["corrupt.h5mu"]
