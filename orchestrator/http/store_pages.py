"""Per-store tables a page at a time: `?store_offset=&store_limit=` on the forecast and
allocation routes.

Why: at 50,000 stores a whole forecast and allocation come to megabytes of JSON, most of it the
per-store rows. With `store_limit` the response carries only that page of stores (in the stored
order: by store id for the forecast, by cluster then store for the allocation) and a
`store_page` block with the totals over every store, computed here, so a client that shows one
page, or fetches the pages one after another, reconciles against the same numbers. Without
`store_limit` the whole result is served as before. Everything that is not per store (weeks,
clusters' totals, replenishment) is in every page.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import azure.functions as func

from shared.errors import InvalidParametersError
from shared.responses import AllocationPage, ForecastPage
from shared.results import DemandResult, InventoryResult

OFFSET_PARAM = "store_offset"
LIMIT_PARAM = "store_limit"
MAX_STORE_LIMIT = 10_000
MAX_STORE_OFFSET = 10_000_000


@dataclass(frozen=True)
class StorePage:
    """Which stores to serve: `limit` of them from `offset`."""

    offset: int
    limit: int

    def block(self, returned: int, total: int, **totals: Any) -> dict[str, Any]:
        """The `store_page` block of a response: where this page sits and every-store totals."""
        following = self.offset + returned
        return {
            "offset": self.offset,
            "limit": self.limit,
            "returned": returned,
            "total_stores": total,
            "next_offset": following if following < total else None,
            **totals,
        }


def _integer(req: func.HttpRequest, name: str, low: int, high: int) -> int | None:
    raw = req.params.get(name)
    if raw is None:
        return None
    text = raw.strip()
    if not text.isascii() or not text.isdigit() or len(text) > 9 or not low <= int(text) <= high:
        raise InvalidParametersError(
            f"{name} must be a whole number from {low:,} to {high:,}.",
            details={"parameter": name, "value": raw[:40]},
            suggestions=[
                f"Use {LIMIT_PARAM}=1..{MAX_STORE_LIMIT} and {OFFSET_PARAM}=0 or more, e.g. "
                f"?{LIMIT_PARAM}=1000&{OFFSET_PARAM}=0."
            ],
        )
    return int(text)


def requested_page(req: func.HttpRequest) -> StorePage | None:
    """The page asked for, None for the whole result; 422 INVALID_PARAMETERS for a bad value
    (an offset alone is refused: it would silently serve every store after it)."""
    limit = _integer(req, LIMIT_PARAM, 1, MAX_STORE_LIMIT)
    offset = _integer(req, OFFSET_PARAM, 0, MAX_STORE_OFFSET)
    if limit is None:
        if offset is not None:
            raise InvalidParametersError(
                f"{OFFSET_PARAM} needs {LIMIT_PARAM}.",
                details={"parameter": OFFSET_PARAM},
                suggestions=[f"Add {LIMIT_PARAM}=1..{MAX_STORE_LIMIT}."],
            )
        return None
    return StorePage(offset or 0, limit)


def forecast_page(result: DemandResult, page: StorePage) -> ForecastPage:
    """The forecast with `page` of its stores and the all-store units and share totals."""
    # Only the page's stores are serialised: the route exists so that no request handles all.
    body = result.model_dump(mode="json", exclude={"store_forecast"})
    stores = result.store_forecast[page.offset : page.offset + page.limit]
    body["store_forecast"] = [s.model_dump(mode="json") for s in stores]
    body["store_page"] = page.block(
        len(stores),
        len(result.store_forecast),
        units_total=round(sum(s.units for s in result.store_forecast), 2),
        share_total=round(sum(s.share for s in result.store_forecast), 6),
    )
    return ForecastPage.model_validate(body)


def allocation_page(result: InventoryResult, page: StorePage) -> AllocationPage:
    """The allocation with `page` of its stores (counted across clusters in order), each
    cluster's full `store_count`, and the all-store launch allocation total."""
    body = result.model_dump(mode="json", exclude={"clusters": {"__all__": {"stores"}}})
    start, end = page.offset, page.offset + page.limit
    seen = returned = 0
    for cluster, stored in zip(body["clusters"], result.clusters, strict=True):
        stores = stored.stores[max(0, start - seen) : max(0, end - seen)]
        cluster["store_count"] = len(stored.stores)
        cluster["stores"] = [s.model_dump(mode="json") for s in stores]
        returned += len(stores)
        seen += len(stored.stores)
    body["store_page"] = page.block(
        returned,
        seen,
        initial_allocation_total=sum(
            s.initial_allocation for c in result.clusters for s in c.stores
        ),
    )
    return AllocationPage.model_validate(body)
