"""Array operations shared by the estimators: column-wise sorting and ranking, and
column-wise monotone interpolation. Written once against the array namespace."""

from ._column_rank import TieGroups, normal_scores, sort_columns, sort_segments, tie_groups
from ._interp import interp_columns

__all__ = [
    "TieGroups",
    "interp_columns",
    "normal_scores",
    "sort_columns",
    "sort_segments",
    "tie_groups",
]
