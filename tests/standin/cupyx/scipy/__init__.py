"""``cupyx.scipy``: sparse, linalg and special of the stand-in."""

from cupyx.scipy import linalg, sparse, special  # noqa: F401
