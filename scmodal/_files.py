"""Atomic file writes: a file scmodal writes is either the old one or the complete new one.

Every file scmodal produces (saved models, ``scmodal predict`` outputs, downloads and their
decompression) is written through :func:`atomic_write`: into ``NAME.part`` in the same
folder, flushed to disk (``fsync``), renamed over ``NAME`` (``os.replace``, atomic on POSIX
and Windows), and the folder synced so the rename survives a power cut. An exception,
Ctrl-C (``KeyboardInterrupt``) or ``SIGTERM`` during the write removes the ``.part`` and
leaves ``NAME`` as it was; a ``.part`` left by a process killed outright (``SIGKILL``, power
loss) has a fixed name, so the next write to ``NAME`` replaces it. Two processes writing the
same ``NAME`` at once are not supported.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

_WRITING: set[Path] = set()  # the .part files being written, removed on SIGTERM


def _remove_parts_and_terminate(signum: int, frame: object) -> None:
    """SIGTERM during a write: remove every ``.part`` being written, then die of SIGTERM."""
    for part in list(_WRITING):
        part.unlink(missing_ok=True)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.raise_signal(signal.SIGTERM)


@contextmanager
def _removed_on_sigterm(part: Path) -> Iterator[None]:
    """While the block runs, a SIGTERM removes ``part`` before the process terminates.

    The handler is installed only where SIGTERM has its default action (terminate), from
    the main thread (the only one that may set handlers), and the default is restored
    after the block: the process still dies of SIGTERM, at once, as it would have. The
    handler does the cleanup itself rather than raising an exception, so that no moment
    of the block (entering or leaving a ``with``) lets a SIGTERM escape the cleanup.
    """
    install = (
        threading.current_thread() is threading.main_thread()
        and signal.getsignal(signal.SIGTERM) == signal.SIG_DFL
    )
    _WRITING.add(part)
    if install:
        signal.signal(signal.SIGTERM, _remove_parts_and_terminate)
    try:
        yield
    finally:
        if install:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
        _WRITING.discard(part)


def _interrupt_in(err: BaseException) -> KeyboardInterrupt | None:
    """The Ctrl-C behind ``err``, if any.

    A writer's own cleanup may fail after an interrupt and replace it (numpy's ``savez``
    raises "Can't close the ZIP file ..."); the interrupt is what the caller must see.
    """
    seen: BaseException | None = err
    while seen is not None:
        if isinstance(seen, KeyboardInterrupt):
            return seen
        seen = seen.__context__
    return None


def _fsync(path: Path) -> None:
    with open(path, "rb+") as f:
        os.fsync(f.fileno())


def _fsync_dir(folder: Path) -> None:
    """Make a rename in ``folder`` durable (POSIX; Windows cannot open a folder)."""
    if not hasattr(os, "O_DIRECTORY"):
        return
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextmanager
def atomic_write(dest: str | os.PathLike) -> Iterator[Path]:
    """Yield ``dest + ".part"`` to write; it replaces ``dest`` only once complete.

    On leaving the block normally, the ``.part`` is fsynced and renamed over ``dest`` and
    the folder fsynced. On an exception or ``KeyboardInterrupt`` the ``.part`` is removed,
    ``dest`` is untouched and the exception propagates; on ``SIGTERM`` the ``.part`` is
    removed and the process terminates. The caller writes the yielded path, by name or
    through a file object it closes within the block.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> dest = Path(tempfile.mkdtemp()) / "out.txt"
    >>> with atomic_write(dest) as part:
    ...     _ = part.write_text("complete")
    >>> dest.read_text(), part.exists()
    ('complete', False)
    """
    dest = Path(dest)
    part = dest.with_name(dest.name + ".part")
    with _removed_on_sigterm(part.absolute()):
        try:
            part.unlink(missing_ok=True)  # a stale one from a killed process
            yield part
            _fsync(part)
            os.replace(part, dest)
        except BaseException as err:
            part.unlink(missing_ok=True)
            interrupt = _interrupt_in(err)
            if interrupt is not None and interrupt is not err:
                raise interrupt from None
            raise
        _fsync_dir(dest.parent)
