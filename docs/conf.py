"""Sphinx configuration for scmodal's documentation.

Build: ``pip install -e ".[docs]" && sphinx-build -W docs docs/_build/html``.
Nothing is fetched from the network: intersphinx reads the inventories committed under
``_inv/`` (see ``_inv/README.md``), and the tutorial notebooks are executed locally.
"""

import runpy
import shutil
from importlib.metadata import version as _version
from pathlib import Path

HERE = Path(__file__).resolve().parent

project = "scmodal"
author = "scmodal developers"
copyright = "2026, scmodal developers"
release = _version("scmodal")
version = release

extensions = [
    "myst_nb",  # MyST markdown and notebooks (myst_nb loads myst_parser itself)
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.napoleon",
    "sphinx.ext.intersphinx",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
]

source_suffix = {".rst": "restructuredtext", ".md": "myst-nb", ".ipynb": "myst-nb"}
root_doc = "index"
exclude_patterns = [
    "_build",
    "_inv",
    "_templates",
    "jupyter_execute",
    "**.ipynb_checkpoints",
    "Thumbs.db",
    ".DS_Store",
]
templates_path = ["_templates"]
nitpicky = False

# -- autodoc / autosummary / napoleon ------------------------------------------------
autosummary_generate = True
autosummary_imported_members = False
autodoc_typehints = "description"
autodoc_member_order = "groupwise"
python_use_unqualified_type_names = True  # "AnnData", linked, not "anndata.AnnData"
napoleon_numpy_docstring = True
napoleon_google_docstring = False
napoleon_use_rtype = False
napoleon_use_param = True
napoleon_preprocess_types = False  # prose in a Returns line stays prose

# -- MyST / myst-nb --------------------------------------------------------------------
myst_enable_extensions = ["colon_fence", "dollarmath", "deflist", "substitution"]
myst_heading_anchors = 3
nb_execution_mode = "force"  # the docs build executes every notebook, every time
nb_execution_timeout = 300
nb_execution_raise_on_error = True
nb_execution_show_tb = True
nb_kernel_rgx_aliases = {".*": "python3"}  # whatever kernel a notebook was saved with
nb_merge_streams = True

# -- intersphinx: offline, from the inventories committed under _inv/ ------------------
# (base URL for the links, local objects.inv); regenerate with _inv/make_inventories.py
_INTERSPHINX = runpy.run_path(str(HERE / "_inv" / "make_inventories.py"))["PROJECTS"]
intersphinx_mapping = {
    name: (url, str(HERE / "_inv" / f"{name}.inv")) for name, url in _INTERSPHINX.items()
}
intersphinx_timeout = 5

# -- HTML: sphinx-book-theme, as in the scverse projects ---------------------------
html_theme = "sphinx_book_theme"
html_title = f"scmodal {release}"
html_static_path: list[str] = []
html_show_sourcelink = False
html_theme_options = {
    "repository_url": "https://github.com/scmodal/scmodal",
    "repository_branch": "main",
    "path_to_docs": "docs",
    "use_repository_button": True,
    "use_issues_button": True,
    "use_download_button": True,
    "navigation_with_keys": False,
    "show_toc_level": 2,
}

# -- tutorials: the notebooks of ../tutorials, copied into docs/tutorials ----------
# Sphinx would follow a symlink docs/tutorials -> ../tutorials, but it resolves relative
# links between documents to their real path, outside docs/, so a notebook's link to
# another (``[GaussRank](gaussrank.ipynb)``) breaks the -W build. docs/tutorials is
# therefore a generated, git-ignored copy, refreshed on every build (file times kept, so
# an unchanged notebook is not re-read). tutorials.md lists the notebooks in reading
# order (a notebook left out of it fails the -W build: "not included in any toctree");
# with no notebook there (yet), its entries would name missing documents, so the toctree
# is swapped for a note instead.
TUTORIALS_SRC = HERE.parent / "tutorials"
TUTORIALS_DST = HERE / "tutorials"
_MARKER = ".copied-from-tutorials"


def _sync_tutorials() -> list[Path]:
    if TUTORIALS_DST.is_symlink():
        TUTORIALS_DST.unlink()
    elif TUTORIALS_DST.exists():
        if not (TUTORIALS_DST / _MARKER).exists():
            msg = f"{TUTORIALS_DST} is generated from {TUTORIALS_SRC}; move its files there"
            raise RuntimeError(msg)
        shutil.rmtree(TUTORIALS_DST)
    if TUTORIALS_SRC.is_dir():
        ignore = shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__", ".gitkeep")
        shutil.copytree(TUTORIALS_SRC, TUTORIALS_DST, ignore=ignore)
    else:
        TUTORIALS_DST.mkdir()
    (TUTORIALS_DST / _MARKER).write_text(f"A copy of {TUTORIALS_SRC}, made by docs/conf.py.\n")
    return sorted(TUTORIALS_DST.glob("*.ipynb"))


TUTORIALS = _sync_tutorials()


def _no_tutorials_yet(app, docname, source):
    if docname == "tutorials" and not TUTORIALS:
        text = source[0]
        start = text.find("```{toctree}")
        end = text.find("```", start + len("```{toctree}"))
        if start != -1 and end != -1:
            note = "```{note}\nNo tutorial notebook is in `tutorials/` yet.\n```"
            source[0] = text[:start] + note + text[end + 3 :]


def setup(app):
    app.connect("source-read", _no_tutorials_yet)
