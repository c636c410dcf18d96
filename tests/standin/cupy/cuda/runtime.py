"""``cupy.cuda.runtime``: one device whose memory is the host's."""

from __future__ import annotations

from typing import Any

is_hip = False


class CUDARuntimeError(RuntimeError):
    pass


def getDeviceCount() -> int:  # noqa: N802 - cupy's name
    return 1


def getDevice() -> int:  # noqa: N802
    return 0


def runtimeGetVersion() -> int:  # noqa: N802
    return 12080


def deviceSynchronize() -> None:  # noqa: N802
    pass


def memGetInfo() -> tuple[int, int]:  # noqa: N802
    """``(free, total)`` bytes: the host's ``MemAvailable`` and ``MemTotal``."""
    info = {}
    with open("/proc/meminfo") as f:
        for line in f:
            key, value = line.split(":", 1)
            info[key] = int(value.split()[0]) * 1024
    return info["MemAvailable"], info["MemTotal"]


def getDeviceProperties(device: int) -> dict[str, Any]:  # noqa: N802
    if device != 0:
        raise CUDARuntimeError("cudaErrorInvalidDevice: invalid device ordinal")
    return {
        "name": b"strict numpy stand-in",
        "totalGlobalMem": memGetInfo()[1],
        "multiProcessorCount": 1,
        "major": 9,
        "minor": 0,
    }
