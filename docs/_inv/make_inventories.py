"""Write the intersphinx inventories (``objects.inv``) that ``docs/conf.py`` reads offline.

Usage (from anywhere)::

    python docs/_inv/make_inventories.py            # try the real ones, else generate
    python docs/_inv/make_inventories.py --offline  # generate only, never touch the network

For each project it first tries to download the real ``objects.inv`` (``urllib``, 5 s
timeout). Where that fails (no network, as in CI) it writes a small but valid Sphinx
version-2 inventory of the names that matter to scmodal's documentation, found by
introspecting the installed package and pointed at the project's real URL scheme, so
that links resolve exactly where the real inventory would send them.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import sys
import urllib.request
import warnings
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

HERE = Path(__file__).resolve().parent

# name -> (base URL, as in conf.py's intersphinx_mapping)
PROJECTS: dict[str, str] = {
    "python": "https://docs.python.org/3/",
    "numpy": "https://numpy.org/doc/stable/",
    "scipy": "https://docs.scipy.org/doc/scipy/",
    "sklearn": "https://scikit-learn.org/stable/",
    "pandas": "https://pandas.pydata.org/pandas-docs/stable/",
    "matplotlib": "https://matplotlib.org/stable/",
    "anndata": "https://anndata.readthedocs.io/en/stable/",
    "mudata": "https://mudata.readthedocs.io/en/latest/",
    "scanpy": "https://scanpy.readthedocs.io/en/stable/",
}

# One inventory line: (name, "domain:role", uri relative to the base, display name or "-")
Entry = tuple[str, str, str, str]


def _import(name: str):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return importlib.import_module(name)


def _getattr(obj, name: str):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return getattr(obj, name)
        except Exception:  # lazy attributes that fail to import, deprecated aliases
            return None


def _public(names) -> list[str]:
    return sorted({n for n in names if not n.startswith("_")})


def _role(obj) -> str | None:
    if inspect.ismodule(obj):
        return None
    if inspect.isclass(obj):
        return "py:exception" if issubclass(obj, BaseException) else "py:class"
    if callable(obj):
        return "py:function"
    return None


def _members(cls, full: str, uri: Callable[[str], str]) -> Iterator[Entry]:
    """Public methods (py:method) and properties (py:attribute) of a class."""
    for name in _public(dir(cls)):
        attr = inspect.getattr_static(cls, name, None)
        if isinstance(attr, (staticmethod, classmethod)) or inspect.isfunction(attr):
            role = "py:method"
        elif isinstance(attr, property) or inspect.isdatadescriptor(attr):
            role = "py:attribute"
        elif callable(attr) and not inspect.isclass(attr):
            role = "py:method"  # C methods (numpy.ndarray)
        else:
            continue
        yield (f"{full}.{name}", role, uri(f"{full}.{name}"), "-")


def _module_names(modname: str, names=None) -> Iterator[tuple[str, object]]:
    mod = _import(modname)
    if names is None:
        names = getattr(mod, "__all__", None) or dir(mod)
    for name in _public(names):
        obj = _getattr(mod, name)
        if obj is not None:
            yield f"{modname}.{name}", obj


# --- one function per project --------------------------------------------------------


def _python() -> Iterator[Entry]:
    import builtins

    yield ("None", "py:data", "library/constants.html#$", "-")
    yield ("True", "py:data", "library/constants.html#$", "-")
    yield ("False", "py:data", "library/constants.html#$", "-")
    stdtypes = {"str", "list", "dict", "tuple", "set", "frozenset", "bytes", "range"}
    for name in _public(dir(builtins)):
        obj = getattr(builtins, name)
        role = _role(obj)
        if role == "py:exception":
            yield (name, role, "library/exceptions.html#$", "-")
        elif role == "py:class":
            page = "stdtypes" if name in stdtypes else "functions"
            yield (name, role, f"library/{page}.html#$", "-")
        elif role == "py:function":
            yield (name, role, "library/functions.html#$", "-")
    for modname, page, names in [
        ("os", "os", ["PathLike", "fspath"]),
        ("pathlib", "pathlib", ["Path", "PurePath"]),
        ("collections.abc", "collections.abc", ["Sequence", "Mapping", "Iterable", "Callable"]),
        ("typing", "typing", ["Any", "Literal", "Optional", "Union", "Sequence"]),
    ]:
        yield (modname, "py:module", f"library/{page}.html#module-$", "-")
        for full, obj in _module_names(modname, names):
            yield (full, _role(obj) or "py:data", f"library/{page}.html#$", "-")


def _numpy() -> Iterator[Entry]:
    import numpy as np

    def gen(full: str) -> str:
        return f"reference/generated/{full}.html"

    yield ("numpy", "py:module", "reference/index.html#module-numpy", "-")
    for full, obj in _module_names("numpy", dir(np)):
        if inspect.isclass(obj) and issubclass(obj, np.generic):
            yield (full, "py:class", "reference/arrays.scalars.html#$", "-")
        elif isinstance(obj, float | int) and not isinstance(obj, bool):
            yield (full, "py:data", "reference/constants.html#$", "-")
        elif (role := _role(obj)) is not None:
            yield (full, role, gen(full), "-")
    yield from _members(np.ndarray, "numpy.ndarray", gen)
    for sub in ("numpy.linalg", "numpy.random"):
        for full, obj in _module_names(sub):
            if (role := _role(obj)) is not None:
                yield (full, role, gen(full), "-")
    yield from _members(np.random.Generator, "numpy.random.Generator", gen)
    yield ("numpy.typing.ArrayLike", "py:data", "reference/typing.html#$", "-")
    yield ("numpy.typing.DTypeLike", "py:data", "reference/typing.html#$", "-")


def _scipy() -> Iterator[Entry]:
    def gen(full: str) -> str:
        return f"reference/generated/{full}.html"

    yield ("scipy.sparse", "py:module", "reference/sparse.html#module-scipy.sparse", "-")
    for full, obj in _module_names("scipy.sparse"):
        if (role := _role(obj)) is not None:
            yield (full, role, gen(full), "-")
    for sub, names in [
        ("scipy.sparse.linalg", ["svds", "LinearOperator"]),
        ("scipy.linalg", ["cholesky", "cho_factor", "cho_solve", "solve", "qr", "svd", "eigh"]),
        ("scipy.special", ["ndtri", "ndtr", "erfinv"]),
        ("scipy.stats", ["rankdata", "pearsonr", "spearmanr", "norm"]),
    ]:
        for full, obj in _module_names(sub, names):
            yield (full, _role(obj) or "py:data", gen(full), "-")


SKLEARN_NAMES = [
    "sklearn.base.BaseEstimator",
    "sklearn.base.RegressorMixin",
    "sklearn.base.TransformerMixin",
    "sklearn.decomposition.TruncatedSVD",
    "sklearn.decomposition.PCA",
    "sklearn.gaussian_process.kernels.RBF",
    "sklearn.kernel_ridge.KernelRidge",
    "sklearn.linear_model.Ridge",
    "sklearn.metrics.mean_squared_error",
    "sklearn.metrics.pairwise.rbf_kernel",
    "sklearn.model_selection.GroupKFold",
    "sklearn.neural_network.MLPRegressor",
    "sklearn.pipeline.Pipeline",
    "sklearn.preprocessing.QuantileTransformer",
    "sklearn.preprocessing.StandardScaler",
    "sklearn.svm.SVR",
    "sklearn.utils.extmath.randomized_svd",
]


def _sklearn() -> Iterator[Entry]:
    def gen(full: str) -> str:
        # methods live as anchors on their class's page
        parts = full.split(".")
        if len(parts) > 2 and parts[-2][:1].isupper():
            return f"modules/generated/{'.'.join(parts[:-1])}.html#$"
        return f"modules/generated/{full}.html"

    for full in SKLEARN_NAMES:
        modname, name = full.rsplit(".", 1)
        obj = _getattr(_import(modname), name)
        if obj is None:
            continue
        yield (full, _role(obj) or "py:data", gen(full), "-")
        if inspect.isclass(obj):
            yield from (e for e in _members(obj, full, gen) if e[1] == "py:method")


def _pandas() -> Iterator[Entry]:
    import pandas as pd

    def gen(full: str) -> str:
        return f"reference/api/{full}.html"

    names = [
        "DataFrame",
        "Series",
        "Index",
        "Categorical",
        "CategoricalDtype",
        "concat",
        "read_csv",
        "isna",
        "api.types.is_bool_dtype",
    ]
    for name in names:
        obj = pd
        for part in name.split("."):
            obj = _getattr(obj, part)
        if obj is not None:
            yield (f"pandas.{name}", _role(obj) or "py:data", gen(f"pandas.{name}"), "-")
    for cls in ("DataFrame", "Series"):
        yield from _members(getattr(pd, cls), f"pandas.{cls}", gen)


def _matplotlib() -> Iterator[Entry]:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import axes, figure, pyplot

    def gen(full: str) -> str:
        return f"api/_as_gen/{full}.html"

    yield ("matplotlib.axes.Axes", "py:class", gen("matplotlib.axes.Axes"), "-")
    yield ("matplotlib.figure.Figure", "py:class", gen("matplotlib.figure.Figure"), "-")
    for name in _public(dir(axes.Axes)):
        if callable(_getattr(axes.Axes, name)):
            full = f"matplotlib.axes.Axes.{name}"
            yield (full, "py:method", gen(full), "-")
    for name in _public(dir(figure.Figure)):
        if callable(_getattr(figure.Figure, name)):
            full = f"matplotlib.figure.Figure.{name}"
            yield (full, "py:method", "api/_as_gen/matplotlib.figure.Figure.html#$", "-")
    for name in ["subplots", "figure", "show", "savefig", "close", "gca", "gcf"]:
        if _getattr(pyplot, name) is not None:
            full = f"matplotlib.pyplot.{name}"
            yield (full, "py:function", gen(full), "-")
    yield ("matplotlib.colors.Colormap", "py:class", gen("matplotlib.colors.Colormap"), "-")


def _anndata() -> Iterator[Entry]:
    import anndata

    def gen(full: str) -> str:
        return f"generated/{full}.html"

    yield ("anndata", "py:module", "api.html#module-anndata", "-")
    for full, obj in _module_names("anndata"):
        if (role := _role(obj)) is not None:
            yield (full, role, gen(full), "-")
    yield from _members(anndata.AnnData, "anndata.AnnData", gen)


def _mudata() -> Iterator[Entry]:
    import mudata

    def gen(full: str) -> str:
        return f"api/generated/{full}.html"

    yield ("mudata", "py:module", "api/index.html#module-mudata", "-")
    for full, obj in _module_names("mudata"):
        if (role := _role(obj)) is not None:
            yield (full, role, gen(full), "-")
    page = "api/generated/mudata.MuData.html#$"
    yield from _members(mudata.MuData, "mudata.MuData", lambda full: page)


def _scanpy() -> Iterator[Entry]:
    def gen(full: str) -> str:
        return f"generated/{full}.html"

    for sub in ("scanpy.pp", "scanpy.tl", "scanpy.pl"):
        yield (sub, "py:module", f"api/{sub.split('.')[1]}.html#module-{sub}", "-")
        for full, obj in _module_names(sub):
            if _role(obj) == "py:function":
                yield (full, "py:function", gen(full), "-")
    for full, _obj in _module_names("scanpy", ["read", "read_h5ad", "read_10x_h5", "write"]):
        yield (full, "py:function", gen(full), "-")


GENERATORS: dict[str, Callable[[], Iterator[Entry]]] = {
    "python": _python,
    "numpy": _numpy,
    "scipy": _scipy,
    "sklearn": _sklearn,
    "pandas": _pandas,
    "matplotlib": _matplotlib,
    "anndata": _anndata,
    "mudata": _mudata,
    "scanpy": _scanpy,
}

DISTRIBUTION = {"sklearn": "scikit-learn"}


def _version(project: str) -> str:
    if project == "python":
        return f"{sys.version_info.major}.{sys.version_info.minor}"
    from importlib.metadata import version

    return version(DISTRIBUTION.get(project, project))


def with_aliases(entries: list[Entry]) -> list[Entry]:
    """Add each class's defining path (``anndata._core.anndata.AnnData``) as an alias.

    autodoc writes a type hint by where the class is defined, not where it is documented,
    so ``AnnData`` in a signature becomes ``anndata._core.anndata.AnnData``; the alias
    sends that name to the documented page.
    """
    out = list(entries)
    for name, role, uri, _disp in entries:
        if role not in ("py:class", "py:exception") or "." not in name:
            continue
        modname, _, attr = name.rpartition(".")
        try:
            obj = _getattr(_import(modname), attr)
        except Exception:
            continue
        if not inspect.isclass(obj):
            continue
        defined = f"{obj.__module__}.{obj.__qualname__}"
        if defined != name and defined.split(".")[0] == name.split(".")[0]:
            target = uri.replace("$", name) if uri.endswith("$") else uri
            out.append((defined, role, target, name))
    return out


def encode(project: str, version: str, entries: list[Entry]) -> bytes:
    """A Sphinx inventory, version 2: a 4-line header and zlib-compressed entries."""
    header = (
        "# Sphinx inventory version 2\n"
        f"# Project: {project}\n"
        f"# Version: {version}\n"
        "# The remainder of this file is compressed using zlib.\n"
    )
    seen: set[tuple[str, str]] = set()
    lines = []
    for name, role, uri, disp in sorted(entries):
        if (name, role) in seen or " " in name:
            continue
        seen.add((name, role))
        if uri.endswith(name):  # the format's shorthand for the object's own name
            uri = uri[: -len(name)] + "$"
        lines.append(f"{name} {role} 1 {uri} {disp}\n")
    return header.encode() + zlib.compress("".join(lines).encode(), 9)


def download(url: str, timeout: float = 5.0) -> bytes | None:
    try:
        with urllib.request.urlopen(f"{url}objects.inv", timeout=timeout) as resp:
            data = resp.read()
    except Exception:
        return None
    return data if data.startswith(b"# Sphinx inventory version") else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--offline", action="store_true", help="never try the network")
    parser.add_argument("projects", nargs="*", help=f"default: all of {', '.join(PROJECTS)}")
    args = parser.parse_args(argv)
    unknown = set(args.projects) - set(PROJECTS)
    if unknown:
        parser.error(f"unknown project(s) {sorted(unknown)}; choose from {list(PROJECTS)}")
    for project in args.projects or PROJECTS:
        out = HERE / f"{project}.inv"
        data = None if args.offline else download(PROJECTS[project])
        source = "downloaded"
        if data is None:
            entries = with_aliases(list(GENERATORS[project]()))
            data = encode(project, _version(project), entries)
            source = f"generated, {len(entries)} entries"
        out.write_bytes(data)
        print(f"{out.name}: {source}, {len(data):,} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
