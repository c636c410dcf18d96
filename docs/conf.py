"""Sphinx configuration for scmodal's documentation."""

from importlib.metadata import version as _version

project = "scmodal"
author = "scmodal developers"
copyright = "2026, scmodal developers"
release = _version("scmodal")

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.napoleon",
    "sphinx.ext.viewcode",
    "myst_parser",
]
autosummary_generate = True
autodoc_typehints = "description"
napoleon_numpy_docstring = True
napoleon_google_docstring = False
napoleon_use_rtype = False
nitpicky = False
exclude_patterns = ["_build"]
html_theme = "alabaster"
