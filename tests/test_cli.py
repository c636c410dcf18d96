"""The scmodal command line on the bundled data."""

import mudata as md
import numpy as np

import scmodal as sm
from scmodal.cli import main


def test_demo_prints_scores_next_to_the_baseline(capsys):
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    ours = next(line for line in out.splitlines() if line.strip().startswith("scmodal"))
    base = next(line for line in out.splitlines() if "baseline" in line)
    # the printed numbers are the metrics of the stored predictions, and beat the baseline
    mdata = sm.datasets.bmmc_cite()
    sm.tl.predict_modality(mdata, train="is_train")
    train = mdata.obs["is_train"].to_numpy()
    Y = mdata["prot"].X.toarray()[~train]
    P = mdata["rna"].obsm["prot_predicted"].to_numpy()[~train]
    rmse, r = ours.split()[-2:]
    assert float(rmse) == round(sm.metrics.rmse(Y, P), 3)
    assert float(r) == round(float(np.nanmean(sm.metrics.pearson(Y, P, axis=0))), 3)
    assert float(rmse) < float(base.split()[-3])


def test_predict_writes_an_h5mu(tmp_path, capsys):
    src = tmp_path / "in.h5mu"
    sm.datasets.bmmc_cite().write_h5mu(src)
    out = tmp_path / "out.h5mu"
    argv = [str(src), "--train-key", "is_train", "-o", str(out), "--n-repeats", "1"]
    assert main(["predict", *argv]) == 0
    assert "wrote" in capsys.readouterr().out
    back = md.read_h5mu(out)
    assert back["rna"].obsm["prot_predicted"].shape == (600, 134)
    assert back.uns["prot_predicted"]["n_train"] == 311
    assert not (tmp_path / "out.h5mu.part").exists()


def test_predict_bad_input_writes_nothing(tmp_path, capsys):
    src = tmp_path / "in.h5mu"
    sm.datasets.bmmc_cite().write_h5mu(src)
    out = tmp_path / "out.h5mu"
    assert main(["predict", str(src), "--target", "adt", "-o", str(out)]) == 2
    assert "adt" in capsys.readouterr().err and not out.exists()
    assert main(["predict", str(tmp_path / "missing.h5mu"), "-o", str(out)]) == 2
    assert not out.exists()
