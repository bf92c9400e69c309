"""Client profit contribution engine (DOMAIN 2.2)."""
import datetime as dt
from collections.abc import Iterable


def contribution_recompute(*, months: Iterable[dt.date], branch_ids: Iterable[int] | None = None) -> int:
    """Recompute and store the contribution of every client-month of ``months`` (first days)
    for the given branches (all when None). Returns the number of rows written."""
    raise NotImplementedError
