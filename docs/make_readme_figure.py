"""Draw the README's figure: held-out BMMC donor, measured vs predicted proteins.

Run:  python docs/make_readme_figure.py   (writes docs/_static/readme_predicted_vs_measured.png)
"""

import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import scmodal as sm

warnings.filterwarnings("ignore")
OUT = Path(__file__).parent / "_static" / "readme_predicted_vs_measured.png"

mdata = sm.datasets.bmmc_cite()
sm.tl.predict_modality(mdata, train="is_train")
fig = sm.pl.predicted_vs_measured(mdata, ["CD4", "CD8", "CD14", "CD19"], kind="scatter", show=False)
fig.suptitle("bundled BMMC CITE-seq: train on donor s1d1, predict donor s1d2", y=1.08)
fig.savefig(OUT, dpi=80, bbox_inches="tight")
print(OUT, OUT.stat().st_size, "bytes")
