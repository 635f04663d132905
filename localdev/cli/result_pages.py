"""Fetch a result whose per-store table comes a page at a time, and put the pages together.

The forecast and allocation routes serve `?store_limit=&store_offset=` pages with totals over
every store (orchestrator/http/store_pages.py). The command line reads every page (each a
bounded, gzipped response) and rebuilds the whole result, then checks it against the server's
totals, so the tables it prints add up to the same numbers the server computed.
"""

from __future__ import annotations

from typing import Any

import httpx

STORE_PAGE_SIZE = 5000


class IncompletePagesError(ValueError):
    """The pages put together do not match the server's every-store totals."""


def merge_pages(pages: list[dict[str, Any]]) -> dict[str, Any]:
    """One result from its pages, in order: the per-store rows concatenated (the forecast's
    `store_forecast`, or each allocation cluster's `stores`), everything else from the first
    page: the whole result as the route serves it without a page. IncompletePagesError when
    the store count differs from `store_page.total_stores`."""
    whole = {key: value for key, value in pages[0].items() if key != "store_page"}
    total = pages[0]["store_page"]["total_stores"]
    if "store_forecast" in whole:
        whole["store_forecast"] = [s for page in pages for s in page["store_forecast"]]
        served = len(whole["store_forecast"])
    else:
        # Each cluster's page-only `store_count` goes: its stores are all there again.
        clusters = {
            c["cluster_id"]: {**{k: v for k, v in c.items() if k != "store_count"}, "stores": []}
            for c in whole["clusters"]
        }
        for page in pages:
            for cluster in page["clusters"]:
                clusters[cluster["cluster_id"]]["stores"].extend(cluster["stores"])
        whole["clusters"] = list(clusters.values())
        served = sum(len(c["stores"]) for c in whole["clusters"])
    if served != total:
        raise IncompletePagesError(f"{served} stores in the pages, the server counts {total}")
    return whole


async def fetch_paged(
    client: httpx.AsyncClient, path: str, page_size: int = STORE_PAGE_SIZE
) -> httpx.Response | dict[str, Any]:
    """The whole result at `path`, read page by page; the first unsuccessful response is
    returned as it is, for the caller's error handling."""
    pages: list[dict[str, Any]] = []
    offset: int | None = 0
    while offset is not None:
        response = await client.get(path, params={"store_limit": page_size, "store_offset": offset})
        if response.status_code != 200:
            return response
        page = response.json()
        pages.append(page)
        offset = page["store_page"]["next_offset"]
    return merge_pages(pages)
