"""scmodal._files.atomic_write: the one write path of every file scmodal produces."""

from __future__ import annotations

import os
import signal
import stat
import threading
import time

import pytest

from scmodal import _files
from scmodal._files import atomic_write


@pytest.fixture
def dest(tmp_path):
    path = tmp_path / "out.bin"
    path.write_bytes(b"old")
    return path


def part_of(path):
    return path.with_name(path.name + ".part")


def test_a_complete_write_replaces_the_file(dest):
    with atomic_write(dest) as part:
        assert part == part_of(dest) and dest.read_bytes() == b"old"
        part.write_bytes(b"new")
        assert dest.read_bytes() == b"old"  # untouched until the block succeeds
    assert dest.read_bytes() == b"new" and not part.exists()


@pytest.mark.parametrize("error", [ValueError("disk full"), KeyboardInterrupt()])
def test_a_failed_write_keeps_the_old_file_and_removes_the_part(dest, error):
    with pytest.raises(type(error)), atomic_write(dest) as part:
        part.write_bytes(b"half")
        raise error
    assert dest.read_bytes() == b"old" and not part.exists()


def test_ctrl_c_is_reported_even_when_the_writer_cleanup_fails(dest):
    # numpy's savez, interrupted, raises "Can't close the ZIP file" from its cleanup
    with pytest.raises(KeyboardInterrupt), atomic_write(dest) as part:
        part.write_bytes(b"half")
        try:
            raise KeyboardInterrupt
        finally:
            raise ValueError("Can't close the ZIP file while there is an open writing handle")
    assert dest.read_bytes() == b"old" and not part.exists()


def test_a_stale_part_is_replaced(dest):
    part_of(dest).write_bytes(b"stale, from a killed process")
    with atomic_write(dest) as part:
        assert not part.exists()  # gone before the writer starts
        with open(part, "ab") as f:
            f.write(b"new")
    assert dest.read_bytes() == b"new" and not part.exists()


def test_data_then_rename_are_made_durable(dest, monkeypatch):
    events = []
    fsync, replace = os.fsync, os.replace

    def record_fsync(fd):
        events.append("fsync folder" if stat.S_ISDIR(os.fstat(fd).st_mode) else "fsync file")
        fsync(fd)

    def record_replace(src, dst):
        events.append(f"rename {os.path.basename(src)} -> {os.path.basename(dst)}")
        replace(src, dst)

    monkeypatch.setattr(os, "fsync", record_fsync)
    monkeypatch.setattr(os, "replace", record_replace)
    with atomic_write(dest) as part:
        part.write_bytes(b"new")
    assert events == ["fsync file", "rename out.bin.part -> out.bin", "fsync folder"]


def test_sigterm_handler_only_while_writing_and_only_where_default(dest):
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL
    with atomic_write(dest) as part:
        part.write_bytes(b"new")
        assert signal.getsignal(signal.SIGTERM) == _files._remove_parts_and_terminate
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL

    def own(signum, frame):  # a program's own handler is left alone
        pass

    previous = signal.signal(signal.SIGTERM, own)
    try:
        with atomic_write(dest) as part:
            assert signal.getsignal(signal.SIGTERM) is own
            part.write_bytes(b"newer")
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert dest.read_bytes() == b"newer"


def test_writes_from_a_thread(dest):
    errors = []

    def write():
        try:
            with atomic_write(dest) as part:  # no handler can be set here: none is
                part.write_bytes(b"thread")
        except BaseException as err:  # pragma: no cover - reported below
            errors.append(err)

    thread = threading.Thread(target=write)
    thread.start()
    thread.join()
    assert errors == [] and dest.read_bytes() == b"thread"
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork (POSIX)")
def test_sigterm_while_writing_removes_the_part_and_terminates(dest):
    pid = os.fork()
    if pid == 0:  # the child: terminated in the middle of a write
        try:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            with atomic_write(dest) as part:
                part.write_bytes(b"half")
                os.kill(os.getpid(), signal.SIGTERM)
                time.sleep(10)
        finally:
            os._exit(1)
    _, status = os.waitpid(pid, 0)
    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGTERM
    assert dest.read_bytes() == b"old" and not part_of(dest).exists()
