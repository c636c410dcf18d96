"""Every public name has a docstring with an Examples section and a place in docs/api.rst."""

from pathlib import Path

import pytest

import scmodal as sm

API = (Path(__file__).parents[1] / "docs" / "api.rst").read_text()
PUBLIC = [
    (mod, name)
    for mod in ("pp", "tl", "pl", "get", "models", "metrics", "datasets")
    for name in getattr(sm, mod).__all__
]


@pytest.mark.parametrize(("mod", "name"), PUBLIC)
def test_public_name_documented(mod, name):
    obj = getattr(getattr(sm, mod), name)
    assert f"{mod}.{name}" in API, f"{mod}.{name} is missing from docs/api.rst"
    doc = obj.__doc__ or ""
    assert "Examples\n" in doc and ">>>" in doc, f"{mod}.{name} has no Examples section"
    assert "Parameters\n" in doc or "Returns\n" in doc
