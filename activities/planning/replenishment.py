"""Replenishment as a policy: the DC tops each store up to a target cover, store by store.

A store's target cover is its own forecast from the week a delivery arrives until the next
delivery arrives (the cadence), plus safety stock (a number of weeks of that same forecast). On
each replenishment week the DC ships every store the whole units that bring its projected stock
up to that target; a store that already holds enough gets nothing. The DC never ships more than
it holds. When it cannot cover every store's need, it rations by **equal cover**: every store
short of its target is raised to the same fraction of its target (the fair-share rule of
distribution planning), so the shortfall is spread in proportion to what each store needs
rather than filling the first stores in a list.

Everything is numpy over (stores x weeks) arrays: one pass over the weeks, never a loop over
stores, so 50,000 stores x 26 weeks is a few dozen vectorised operations per week.

The same policy serves a plan and a live season: `simulate_stores` runs it forward from any
starting point (per-store stock on hand, DC stock, per-store weekly forecast of the weeks ahead),
and `top_up` is one replenishment decision, so a season under way can call it each week with the
stores' actual stock and the re-forecast of the remaining weeks.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

RATIONING_RULE = (
    "equal cover: when the DC cannot top every store up, each store short of its target is "
    "raised to the same fraction of its target cover"
)


@dataclass(frozen=True)
class ReplenishmentPolicy:
    """How the DC replenishes the stores (the app settings REPLENISHMENT_*).

    cover_weeks: weeks of forecast one delivery covers; None = until the next delivery arrives
    (the cadence: 1 weekly, 2 bi-weekly). safety_weeks: safety stock on top, in weeks of the
    store's forecast over the cover. transit_weeks: DC to store; 0 = arrives in the week it ships.
    """

    cover_weeks: int | None = None
    safety_weeks: float = 0.5
    transit_weeks: int = 0

    def cover_for(self, cadence: int) -> int:
        return self.cover_weeks if self.cover_weeks is not None else cadence

    def describe(self, cadence: int | None) -> str:
        """The policy in a planner's words, for the plan's explanation."""
        if cadence is None:
            return "No replenishment after launch: the stores sell what they receive at launch."
        cover = self.cover_for(cadence)
        every = "every week" if cadence == 1 else f"every {cadence} weeks"
        arrives = (
            "arriving the week it ships"
            if self.transit_weeks == 0
            else f"arriving {self.transit_weeks} week{'s' if self.transit_weeks > 1 else ''} "
            "after it ships"
        )
        return (
            f"The DC replenishes {every}, {arrives}: each store is topped up to cover {cover} "
            f"week{'s' if cover > 1 else ''} of its own forecast plus {self.safety_weeks:g} "
            "week(s) of safety stock, and a store that already holds that gets nothing; when the "
            f"DC runs short it rations by {RATIONING_RULE}."
        )


@dataclass(frozen=True)
class StoreFlow:
    """A simulated season, store by store. Arrays are (stores x weeks) unless noted; week j is
    the j-th week simulated. Identities (tested): opening + receipts - sales = closing per store
    and week, and at the DC; sales = min(opening + receipts, demand); lost = demand - sales;
    DC shipments per week = the stores' receipts that week (units leave the DC's books when they
    arrive, so stock in transit still counts at the DC)."""

    opening: np.ndarray
    receipts: np.ndarray
    sales: np.ndarray
    lost: np.ndarray
    closing: np.ndarray
    demand: np.ndarray
    dc_opening: np.ndarray  # (weeks,)
    dc_receipts: np.ndarray  # (weeks,) vendor receipts
    dc_shipments: np.ndarray  # (weeks,) = receipts.sum(axis=0)
    dc_closing: np.ndarray  # (weeks,)
    dc_uncommitted: np.ndarray  # (weeks,) DC closing less deliveries decided but not yet arrived
    rationed: np.ndarray  # (weeks,) bool: the week's decision rationed (the DC could not cover)

    @property
    def weeks(self) -> int:
        return int(self.demand.shape[1])

    def chain(self, name: str) -> np.ndarray:
        """The chain's weekly figure: the sum over stores of one (stores x weeks) array."""
        values: np.ndarray = getattr(self, name).sum(axis=0)
        return values


def split_by_share(weekly: np.ndarray, shares: np.ndarray) -> np.ndarray:
    """Whole units per (store, week): each week's chain units split across stores in
    proportion to `shares` by largest remainder, so every week's stores sum to the chain."""
    weekly = np.asarray(weekly, dtype=np.int64)
    n, weeks = len(shares), len(weekly)
    if n == 0:
        return np.zeros((0, weeks), dtype=np.int64)
    w = np.clip(np.nan_to_num(np.asarray(shares, dtype=float)), 0.0, None)
    w = w / w.sum() if w.sum() > 0 else np.full(n, 1.0 / n)
    exact = w[:, None] * weekly[None, :].astype(float)
    base = np.floor(exact).astype(np.int64)
    short = weekly - base.sum(axis=0)
    behind = np.ascontiguousarray((base - exact).T)  # week by week: the negated remainders
    for week in np.flatnonzero(short):
        # The `short` largest remainders, found by partition (linear, not a sort).
        top = np.argpartition(behind[week], short[week] - 1)[: short[week]]
        base[top, week] += 1
    return base


def store_targets(forecast: np.ndarray, start: int, cover: int, safety_weeks: float) -> np.ndarray:
    """Each store's target stock on arrival at week `start`: its forecast for `cover` weeks from
    `start` (cut at the horizon's end) plus `safety_weeks` of that forecast's weekly mean."""
    window = forecast[:, start : start + cover].astype(float)
    weeks = max(window.shape[1], 1)
    covered = window.sum(axis=1)
    return np.ceil(covered + safety_weeks * covered / weeks - 1e-9)


def ration(need: np.ndarray, target: np.ndarray, available: int) -> np.ndarray:
    """Whole units for each store when `available` < need.sum(), by equal cover (positions
    target - need are never negative): the level L in [0, 1] with
    sum(max(0, L * target - position)) = available, found by bisection, then floored with the
    leftover units one each, largest fraction first. Never more than a store's need."""
    position = target - need
    lo, hi = 0.0, 1.0
    for _ in range(60):
        mid = (lo + hi) / 2
        if np.clip(mid * target - position, 0.0, need).sum() > available:
            hi = mid
        else:
            lo = mid
    exact = np.clip(lo * target - position, 0.0, need)
    units = np.floor(exact).astype(np.int64)
    rest = int(available - units.sum())
    while rest > 0:  # the units the floors left: one each, largest fraction first
        open_stores = np.flatnonzero(units < need)
        order = open_stores[np.argsort(-(exact - units)[open_stores], kind="stable")][:rest]
        units[order] += 1
        rest -= len(order)
    return units


def top_up(
    position: np.ndarray,
    dc_available: int,
    forecast: np.ndarray,
    start: int,
    cadence: int,
    policy: ReplenishmentPolicy,
) -> tuple[np.ndarray, bool]:
    """One replenishment decision: the units each store receives at week `start`.

    `position`: each store's projected stock when the delivery arrives (on hand + in transit -
    the forecast until then, never below zero). `forecast`: (stores x weeks) of the weeks
    ahead. Returns (units per store, rationed): each store's need (target - position, never
    negative) when the DC holds enough, else the DC's stock by equal cover."""
    target = store_targets(forecast, start, policy.cover_for(cadence), policy.safety_weeks)
    need = np.maximum(target - np.asarray(position, dtype=float), 0.0).astype(np.int64)
    wanted = int(need.sum())
    if wanted <= dc_available:
        return need, False
    return ration(need, target, max(dc_available, 0)), True


def replenishment_weeks(weeks: int, cadence: int | None, first: int) -> list[int]:
    """0-based weeks a delivery arrives: `first`, then every `cadence` weeks; none without one."""
    if cadence is None:
        return []
    return list(range(first, weeks, cadence))


def simulate_stores(
    store_opening: np.ndarray,
    dc_opening: int,
    demand: np.ndarray,
    cadence: int | None,
    policy: ReplenishmentPolicy,
    *,
    forecast: np.ndarray | None = None,
    first_delivery: np.ndarray | None = None,
    dc_receipts: np.ndarray | None = None,
    first_replenishment: int | None = None,
) -> StoreFlow:
    """Run the replenishment policy week by week over (stores x weeks) arrays.

    store_opening: stock on hand per store at the start of week 0. dc_opening: DC stock then.
    demand: (stores x weeks) whole units the stores would sell with stock enough; sales are
    min(stock, demand). forecast: what the policy plans against (default: the demand itself).
    first_delivery: units per store arriving in week 0 from the DC (a launch; not a policy
    decision). dc_receipts: vendor receipts at the DC per week. first_replenishment: the first
    week a policy delivery arrives (default the cadence: the week after a launch's cover).

    A live season calls this from this week on with the stores' actual stock, the DC's stock
    and the re-forecast of the remaining weeks, and acts on week 0's decision; a plan calls it
    once from the season start with the launch as `first_delivery`.
    """
    demand = np.asarray(demand, dtype=np.int64)
    stores, weeks = demand.shape
    plan = demand if forecast is None else np.asarray(forecast, dtype=float)
    vendor = np.zeros(weeks, dtype=np.int64) if dc_receipts is None else np.asarray(dc_receipts)
    first = (cadence or 0) if first_replenishment is None else first_replenishment
    decide = {
        week - policy.transit_weeks: week
        for week in replenishment_weeks(weeks, cadence, first)
        if week - policy.transit_weeks >= 0
    }
    receipts = np.zeros((stores, weeks), dtype=np.int64)
    if first_delivery is not None and weeks:
        receipts[:, 0] = first_delivery
    opening = np.zeros_like(receipts)
    sales = np.zeros_like(receipts)
    closing = np.zeros_like(receipts)
    dc_open = np.zeros(weeks, dtype=np.int64)
    dc_ship = np.zeros(weeks, dtype=np.int64)
    dc_close = np.zeros(weeks, dtype=np.int64)
    dc_free = np.zeros(weeks, dtype=np.int64)
    rationed = np.zeros(weeks, dtype=bool)
    on_hand = np.asarray(store_opening, dtype=np.int64).copy()
    dc = int(dc_opening)
    committed = int(receipts[:, 0].sum())  # launch units still on the DC's books
    for week in range(weeks):
        dc_open[week] = dc
        dc += int(vendor[week])
        if week in decide and cadence is not None:
            arrival = decide[week]
            in_transit = receipts[:, week:arrival].sum(axis=1) if arrival > week else 0
            # Lost sales are not back-ordered: a store projected to run dry arrives at zero.
            position = np.maximum(on_hand + in_transit - plan[:, week:arrival].sum(axis=1), 0)
            units, short = top_up(position, dc - committed, plan, arrival, cadence, policy)
            receipts[:, arrival] += units
            committed += int(units.sum())
            rationed[week] = short
        opening[:, week] = on_hand
        stock = on_hand + receipts[:, week]
        sales[:, week] = np.minimum(stock, demand[:, week])
        on_hand = stock - sales[:, week]
        closing[:, week] = on_hand
        shipped = int(receipts[:, week].sum())
        dc_ship[week] = shipped
        committed -= shipped
        dc -= shipped
        dc_close[week] = dc
        dc_free[week] = dc - committed
    return StoreFlow(
        opening=opening,
        receipts=receipts,
        sales=sales,
        lost=demand - sales,
        closing=closing,
        demand=demand,
        dc_opening=dc_open,
        dc_receipts=vendor.astype(np.int64),
        dc_shipments=dc_ship,
        dc_closing=dc_close,
        dc_uncommitted=dc_free,
        rationed=rationed,
    )


def stranded_units(flow: StoreFlow) -> int:
    """Units stranded at the DC while stores were short: each week, the smaller of the stores'
    lost sales and the DC stock not yet committed to a delivery at that week's end."""
    lost = flow.lost.sum(axis=0)
    return int(np.minimum(flow.dc_uncommitted, lost).sum())
