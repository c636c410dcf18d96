"""The API reference: every public name documented, typed with real types, rendered clean.

What the API pages show is checked here without building the docs: the signatures'
type hints must resolve to real types (autodoc renders what ``typing.get_type_hints``
returns, and falls back to the raw strings when it fails), and every docstring, turned
into reStructuredText by napoleon with the settings of ``docs/conf.py`` and parsed by
docutils, must show no raw markup (`````` inside bold or italic text is not rendered).
"""

from __future__ import annotations

import inspect
import re
import subprocess
import sys
import types
import typing
from collections import defaultdict
from pathlib import Path

import pytest
from docutils import nodes
from docutils.core import publish_doctree
from docutils.parsers.rst import Directive, directives, roles
from sphinx.ext.napoleon import Config
from sphinx.ext.napoleon.docstring import NumpyDocstring
from typing_extensions import TypeAliasType

import scmodal as sm
from tests import conftest

ROOT = Path(__file__).parents[1]
DOCS = ROOT / "docs"
API = (DOCS / "api.rst").read_text()
PUBLIC = [
    (mod, name)
    for mod in ("pp", "tl", "pl", "get", "models", "metrics", "datasets")
    for name in getattr(sm, mod).__all__
]


def _members(obj) -> list[tuple[str, object]]:
    """The callables an API page documents: a function, or a class and its own methods."""
    if not inspect.isclass(obj):
        return [(obj.__qualname__, obj)]
    out = [(obj.__qualname__, obj.__init__)]
    for name, attr in vars(obj).items():
        if name.startswith("_"):
            continue
        if isinstance(attr, classmethod | staticmethod):
            attr = attr.__func__
        if inspect.isfunction(attr):
            out.append((f"{obj.__qualname__}.{name}", attr))
    return out


CALLABLES = [
    pytest.param(member, id=label)
    for mod, name in PUBLIC
    for label, member in _members(getattr(getattr(sm, mod), name))
]


@pytest.mark.parametrize(("mod", "name"), PUBLIC)
def test_public_name_documented(mod, name):
    obj = getattr(getattr(sm, mod), name)
    assert f"{mod}.{name}" in API, f"{mod}.{name} is missing from docs/api.rst"
    doc = obj.__doc__ or ""
    assert "Examples\n" in doc and ">>>" in doc, f"{mod}.{name} has no Examples section"
    assert "Parameters\n" in doc or "Returns\n" in doc


def test_top_level_names_are_the_documented_subpackages():
    """``dir(scmodal)`` in a fresh interpreter: the subpackages of api.rst, nothing else."""
    code = "import scmodal; print(' '.join(n for n in dir(scmodal) if not n.startswith('_')))"
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    names = set(run.stdout.split())
    documented = set(re.findall(r"^\S.*: ``(\w+)``\n-+$", API, flags=re.MULTILINE))
    assert names == documented == set(sm.__all__) - {"__version__"}


def _contains_any(hint) -> bool:
    if hint is typing.Any:
        return True
    if isinstance(hint, TypeAliasType):  # shown by name; its value is a string
        return False
    return any(_contains_any(arg) for arg in typing.get_args(hint))


@pytest.mark.parametrize("func", CALLABLES)
def test_signature_types_are_real(func):
    """Every parameter and return value is annotated, resolvable, and never ``Any``."""
    hints = typing.get_type_hints(func)  # what autodoc renders; raises if a name is unknown
    params = [p for p in inspect.signature(func).parameters if p not in ("self", "cls")]
    assert set(params) <= set(hints), f"unannotated: {sorted(set(params) - set(hints))}"
    assert "return" in hints, "no return annotation"
    assert not [k for k, hint in hints.items() if _contains_any(hint)], f"Any in {hints}"


def test_type_aliases_are_documented():
    from scmodal import _typing

    for name in _typing.__all__:
        assert f".. py:type:: {name}\n" in API, f"{name} has no entry under Types in api.rst"


# -- docstrings rendered as the docs render them ------------------------------------------

NAPOLEON = Config(
    napoleon_google_docstring=False,
    napoleon_numpy_docstring=True,
    napoleon_use_param=True,
    napoleon_use_rtype=False,
    napoleon_preprocess_types=False,
)


class _AnyDirective(Directive):
    """Stands in for Sphinx's directives (``.. attribute::``): parses its content."""

    optional_arguments = 1
    final_argument_whitespace = True
    has_content = True
    option_spec: typing.ClassVar = defaultdict(lambda: directives.unchanged)

    def run(self):
        node = nodes.container()
        self.state.nested_parse(self.content, self.content_offset, node)
        return [node]


def _render(rst: str) -> nodes.document:
    for role in set(re.findall(r":([\w:.-]+):`", rst)):
        roles.register_generic_role(role, nodes.literal)
    for name in set(re.findall(r"^\s*\.\. ([\w:-]+)::", rst, flags=re.MULTILINE)):
        if name not in ("rubric", "note", "warning", "math"):
            directives.register_directive(name, _AnyDirective)
    settings = {"report_level": 5, "halt_level": 5, "warning_stream": False}
    return publish_doctree(rst, settings_overrides=settings)


def _shown_text(tree: nodes.document) -> list[str]:
    """Text as the reader sees it: not code, not literal (``x``) spans."""
    skip = (nodes.literal, nodes.literal_block, nodes.doctest_block, nodes.system_message)
    return [
        str(t)
        for t in tree.findall(nodes.Text)
        if not any(isinstance(parent, skip) for parent in _parents(t))
    ]


def _parents(node):
    while node.parent is not None:
        node = node.parent
        yield node


def _docstrings(obj) -> list[tuple[str, object]]:
    """The docstrings an API page shows: a function's, or a class's and its own methods'."""
    members = _members(obj)
    return [(obj.__qualname__, obj), *members[1:]] if inspect.isclass(obj) else members


DOCSTRINGS = [
    pytest.param(member, id=label)
    for mod, name in PUBLIC
    for label, member in _docstrings(getattr(getattr(sm, mod), name))
]


@pytest.mark.parametrize("obj", DOCSTRINGS)
def test_docstring_renders_without_raw_markup(obj):
    what = "class" if inspect.isclass(obj) else "function"
    rst = str(NumpyDocstring(inspect.getdoc(obj), NAPOLEON, what=what))
    tree = _render(rst)
    errors = [m.astext() for m in tree.findall(nodes.system_message) if m["level"] >= 2]
    assert not errors, f"reStructuredText problems:\n{rst}\n{errors}"
    raw = [text for text in _shown_text(tree) if "``" in text or text.lstrip().startswith("- ")]
    assert not raw, f"raw markup shown on the page: {raw}\n{rst}"


def test_predict_modality_returns_one_documented_value():
    """The Returns section is one value (type, then prose), not fields cut at colons."""
    rst = str(NumpyDocstring(inspect.getdoc(sm.tl.predict_modality), NAPOLEON))
    returns = rst[rst.index(":returns:") : rst.index(".. rubric:: Examples")]
    assert "**" not in returns and not re.search(r"^:returns: \* ", returns, re.MULTILINE)


# -- the documented set-up ------------------------------------------------------------

GPU_TESTS = 'pip install -e ".[test,gpu]"'


def test_gpu_tests_say_how_to_run_them(monkeypatch):
    """The skip message of a ``gpu`` test, README and the installation page name the command."""
    monkeypatch.setattr(conftest, "gpu_available", lambda: False)
    item = types.SimpleNamespace(keywords={"gpu": True}, markers=[])
    item.add_marker = item.markers.append
    conftest.pytest_collection_modifyitems(None, [item])
    assert GPU_TESTS in item.markers[0].kwargs["reason"]
    for page in (ROOT / "README.md", DOCS / "installation.md"):
        assert GPU_TESTS in page.read_text(), f"{page.name} does not give the GPU test command"


def test_install_pages_do_not_promise_an_unpublished_package():
    """`pip install scmodal` only as the future name; the way that works is from a clone."""
    for page in (DOCS / "index.md", DOCS / "installation.md"):
        text = page.read_text()
        assert "git clone" in text and "pip install ." in text, page.name
        for line in re.findall(r"```bash\n(.*?)```", text, flags=re.DOTALL):
            assert "pip install scmodal" not in line, f"{page.name} tells users to {line!r}"
