"""Progress bars: tqdm's notebook-aware bar, imported only when a bar is shown.

``tqdm.auto`` warns at import in a notebook without ipywidgets; importing it only for
work long enough to show a bar keeps short runs silent.
"""

from __future__ import annotations

from typing import Any


def progress_bar(iterable: Any = None, *, disable: bool = False, **kwargs: Any) -> Any:
    """``tqdm(iterable, **kwargs)``; the plain (silent) class when ``disable``."""
    if disable:
        from tqdm.std import tqdm
    else:
        from tqdm.auto import tqdm
    return tqdm(iterable, disable=disable, **kwargs)
