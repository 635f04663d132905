"""Whole-unit arithmetic the agents and the season plan share: splitting a total into integer
parts, rounding a weekly series so its running totals stay whole, and weeks of supply.

A leaf of the planning package (numpy only), so an agent that needs one of these never imports
another agent's module for it: the Demand agent splits its forecast without loading the
Inventory agent's clustering, and the Inventory agent states cover without the season plan.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

COVER_DIGITS = 1


def largest_remainder(total: int, weights: np.ndarray) -> np.ndarray:
    """Split `total` integer units in proportion to `weights` (all-zero weights: evenly).

    Floors first, then the leftover units go one each to the largest fractional parts (ties to
    the earlier index), so the parts always sum to `total`.
    """
    w = np.clip(np.nan_to_num(np.asarray(weights, dtype=float)), 0.0, None)
    n = len(w)
    if n == 0 or total <= 0:
        return np.zeros(n, dtype=np.int64)
    if w.sum() <= 0:
        w = np.ones(n)
    exact = total * (w / w.sum())
    base = np.floor(exact).astype(np.int64)
    short = int(total - base.sum())
    if short > 0:
        order = np.lexsort((np.arange(n), -(exact - base)))
        base[order[:short]] += 1
    return base


def forward_cover(stock: float, ahead: Iterable[float], rate_after: float) -> float | None:
    """Weeks of supply: how many of the coming weeks' demand `stock` covers, walking forward
    week by week (a fraction for the week it runs out in); past the season's end at `rate_after`
    units a week. None when nothing is expected to sell at all (cover is unbounded)."""
    if stock <= 0:
        return 0.0
    left, weeks = float(stock), 0.0
    for demand in ahead:
        # Stock that runs out exactly in a week covers that week and no more: later weeks
        # without demand are not covered by stock no longer there.
        if demand >= left and demand > 0:
            return round(weeks + left / demand, COVER_DIGITS)
        left -= demand
        weeks += 1
    if rate_after <= 0:
        return None if left > 0 else round(weeks, COVER_DIGITS)
    return round(weeks + left / rate_after, COVER_DIGITS)


def forward_cover_scaled(
    stock: np.ndarray, shares: np.ndarray, weekly: np.ndarray, rate_after: float
) -> list[float | None]:
    """forward_cover for many stores at once, each selling `share` of the chain's `weekly`
    demand: a store's stock covers what stock / share covers of the chain's weeks, so one
    cumulative sum and a search per store replace the walk (rounded the same way)."""
    stock = np.asarray(stock, dtype=float)
    shares = np.asarray(shares, dtype=float)
    weekly = np.asarray(weekly, dtype=float)
    cum = np.cumsum(weekly)
    out: list[float | None] = []
    scaled = np.divide(stock, shares, out=np.full_like(stock, np.inf), where=shares > 0)
    first = np.searchsorted(cum, scaled, side="left")  # the week the stock runs out in
    n = len(weekly)
    for units, x, j, share in zip(stock, scaled, first, shares, strict=True):
        if units <= 0:
            out.append(0.0)
        elif share <= 0:
            out.append(None)
        elif j < n:
            before = cum[j - 1] if j else 0.0
            out.append(round(float(j + (x - before) / weekly[j]), COVER_DIGITS))
        elif rate_after <= 0:
            out.append(None if x > (cum[-1] if n else 0.0) else round(float(n), COVER_DIGITS))
        else:
            out.append(round(float(n + (x - (cum[-1] if n else 0.0)) / rate_after), COVER_DIGITS))
    return out


def round_running_total(values: np.ndarray) -> np.ndarray:
    """Whole units per week whose running totals are the rounded running totals of `values`.

    Expected sales are averages over demand scenarios, never above the stock received so far;
    rounding the running total (not each week) keeps every week's sales whole and non-negative,
    their sum the rounded season total, and cumulative sales within the (whole) units received,
    so stock on hand never goes below zero."""
    running = np.rint(np.cumsum(np.clip(values, 0.0, None))).astype(np.int64)
    return np.diff(running, prepend=0)
