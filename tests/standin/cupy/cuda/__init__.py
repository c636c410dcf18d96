"""``cupy.cuda``: one fake device backed by host memory."""

from __future__ import annotations

from typing import Any

from . import runtime


def is_available() -> bool:
    return True


class Device:
    """Device 0; a context manager, as cupy's."""

    def __init__(self, device: Any = None) -> None:
        if device not in (None, 0):
            raise runtime.CUDARuntimeError("cudaErrorInvalidDevice: invalid device ordinal")
        self.id = 0

    def __enter__(self) -> Device:
        return self

    def __exit__(self, *exc: Any) -> None:
        pass

    def use(self) -> None:
        pass

    def synchronize(self) -> None:
        pass

    @property
    def mem_info(self) -> tuple[int, int]:
        return runtime.memGetInfo()

    compute_capability = "90"


class Stream:
    """A stream that does nothing (host work is synchronous)."""

    null: Stream

    def __init__(self, null: bool = False, non_blocking: bool = False, ptr: int = 0) -> None:
        self.ptr = ptr

    def __enter__(self) -> Stream:
        return self

    def __exit__(self, *exc: Any) -> None:
        pass

    def synchronize(self) -> None:
        pass

    def use(self) -> Stream:
        return self


Stream.null = Stream(null=True)


def get_current_stream() -> Stream:
    return Stream.null


class MemoryPool:
    """cupy's device memory pool: the stand-in holds no blocks."""

    def used_bytes(self) -> int:
        return 0

    def total_bytes(self) -> int:
        return 0

    def free_bytes(self) -> int:
        return 0

    def n_free_blocks(self) -> int:
        return 0

    def free_all_blocks(self, stream: Any = None) -> None:
        pass

    def set_limit(self, size: int | None = None, fraction: float | None = None) -> None:
        pass

    def get_limit(self) -> int:
        return 0


class PinnedMemoryPool:
    """cupy's pinned host memory pool: the stand-in holds no blocks."""

    def n_free_blocks(self) -> int:
        return 0

    def free_all_blocks(self) -> None:
        pass
