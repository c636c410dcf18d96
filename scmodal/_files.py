"""Writing files so that a failure never leaves a half-written one behind."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def part_file(dest: Path) -> Iterator[Path]:
    """A ``.part`` path beside ``dest``: renamed to ``dest`` when the block succeeds,
    removed when it raises (``dest`` itself is untouched until then)."""
    part = dest.with_name(dest.name + ".part")
    try:
        yield part
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    part.replace(dest)
