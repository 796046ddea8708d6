#!/usr/bin/env python3
# This file is part of perpetual_inventory.  The COPYRIGHT file at the top
# level of this repository contains the full copyright notices and license
# terms.
"""Replenishment simulator: tuned order points vs static min/max vs oracle.

Replays about two years of daily demand for families of items (steady,
trending, weekly, yearly, weekly+yearly seasonal, intermittent, lumpy, new
products with a month of history, long and variable lead times, ramp-up,
decline/obsolescence step, erratic; ``--families held_out`` and
``--families others`` for shapes the core was not tuned on) with lost
sales, pack multiples and minimum order quantities, through three
policies:

(a) ``tuned``: ``core.replenishment.compute_order_point`` re-run every week
    on what an ERP sees (served sales, stockout days, received orders),
    followed by ``dampen_order_point``;
(b) ``static``: min/max set once by hand from the last 90 days of history
    (at most) before the simulation starts::

        d   = total sales / days            (plain average of sales)
        min = ceil(1.5 * d * (quoted lead time + review period))
        max = min + ceil(30 * d)            (plus a month of demand)

(c) ``oracle``: knows the true daily demand distribution (level, trend,
    seasonality, dispersion, intermittence) and the true lead-time
    distribution; every week it draws the demand over the coming lead time
    + review period by Monte-Carlo from the true process, takes the
    smallest reorder point whose expected units short per cycle are at most
    ``(1 - target) * Q`` and orders the EOQ of the true demand rate (same
    rounding to pack and MOQ as everybody).  A change at a random date (a
    drop of the demand, a step, the start of a ramp, a promotion) is part
    of the process' realisation, not of its distribution: the oracle knows
    it from the day it starts, not before; large orders on random days are
    known by their probability and size.  ``--clairvoyant`` gives it the
    realised path instead (it then lowers its stock one lead time before a
    drop, which no forecast from history can do).

Inventory: periodic review every day; when inventory position (on hand +
on order) <= reorder point an order up to the order-up-to level is placed,
rounded up to the pack multiple and at least the MOQ; it arrives at the end
of day ``order day + lead time``.  Unserved demand is lost.  Stockout flag
of a day = on hand reached 0 that day.  Warm-up: established items have a
year of history before the simulation (with a few stockout episodes;
``--history-days`` sets it, two years giving a yearly profile from the
start), new products one month; the simulation runs 455 days and measures
the last 365.

Usage::

    python3 bench/replenishment_sim.py [--seeds 1 2 3] [--items-per-family N]
        [--quick] [--speed] [--no-dampen] [--jobs J] [--history-days D]
        [--families F ...] [--clairvoyant]
"""
import argparse
import math
import os
import sys
import time
from datetime import date, timedelta
from multiprocessing import Pool

for _var in ('OMP_NUM_THREADS', 'OPENBLAS_NUM_THREADS', 'MKL_NUM_THREADS'):
    os.environ.setdefault(_var, '1')

import numpy as np  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from core.replenishment import (  # noqa: E402
    abc_classify, compute_order_point, compute_order_points,
    dampen_order_point, season_ratio,
    fill_rate_reorder_point,
    economic_order_quantity, fill_rate_for_class, round_order_quantity,
    MAX_COVER_DAYS, EOQ_RATE_DAYS)

FAMILIES = (
    'steady', 'trending', 'weekly', 'yearly', 'weekly_yearly',
    'intermittent', 'lumpy', 'new_product', 'long_lead_time', 'ramp_up',
    'decline', 'erratic')
# Shapes the core was not tuned on (``--families held_out``): promotions
# (a few demand spikes a year), a step up of the level, a slow linear ramp
# down to zero, an item sold only in its season, a counter trade with a
# few large orders of trade customers.
HELD_OUT_FAMILIES = ('promo', 'step_up', 'ramp_to_zero', 'in_season',
    'bulk')
# More shapes the core was not tuned on (``--families others``):
# intermittent demand with a yearly season, very slow movers (a few
# demands a year), a lasting drop to 40-70 % of the level, a trend with a
# weekly profile, lead times of 80-120 days, a fast mover (20 times the
# usual level, more dispersed).
OTHER_FAMILIES = ('seasonal_intermittent', 'slow_mover', 'step_down',
    'trend_weekly', 'very_long_lead', 'fast_mover')
GROUPS = {'held_out': HELD_OUT_FAMILIES, 'others': OTHER_FAMILIES}
SIM_DAYS = 455
MEASURE_DAYS = 365
HISTORY_DAYS = 365
NEW_HISTORY_DAYS = 30
RETUNE_EVERY = 7
REVIEW_PERIOD = 1
HOLDING_RATE = 0.25
POLICIES = ('tuned', 'static', 'oracle')


# --------------------------------------------------------------------------
# Item generator
# --------------------------------------------------------------------------

def _held(m, day):
    """``m`` up to ``day`` (excluded), then its last value held flat."""
    day = min(max(int(day), 1), m.size)
    return np.concatenate((m[:day], np.full(m.size - day, m[day - 1])))


def _mean_path(family, rng, days, h0):
    """True expected daily demand over all days, plus (p, theta) and what
    the oracle knows of it.

    ``known`` lists ``(day, path)``: from ``day`` on the oracle knows the
    expected demand ``path`` (``None``: the drawn path up to the day it
    looks, then held at that day's value).  A change at a random date (a
    drop, a step, the start of a ramp, a promotion) is known from the day
    it starts, not before: no history, however long, could tell it.
    Everything that follows a rule (level, trend, weekly and yearly
    seasonality, a launch curve) is known from the start.  ``burst`` is
    ``(probability, mean size)`` of large orders on random days, known
    only in distribution.
    """
    k = np.arange(days, dtype=float)
    base = math.exp(rng.uniform(math.log(1.0), math.log(60.0)))
    p, theta = 1.0, rng.uniform(0.2, 2.0)
    phase = rng.uniform(0, 365.25)
    change = None
    known = None
    burst = None

    def weekly():
        prof = np.array([1, 1, 1, 1, 1, rng.uniform(0, 1.2),
                rng.uniform(0, 0.6)]) * rng.uniform(0.8, 1.2, 7)
        start = rng.integers(7)
        return (prof / prof.mean())[(k.astype(int) + start) % 7]

    def yearly():
        if rng.random() < 0.5:
            amp = rng.uniform(0.3, 0.9)
            return 1 + amp * np.sin(2 * math.pi * (k + phase) / 365.25)
        centre = rng.uniform(0, 365.25)
        width = rng.uniform(15, 45)
        height = rng.uniform(1.0, 3.0)
        d = ((k + phase - centre + 182.6) % 365.25) - 182.6
        bump = 1 + height * np.exp(-(d / width) ** 2)
        return bump / bump.mean()

    if family in ('steady', 'long_lead_time'):
        m = np.full(days, base)
        if family == 'long_lead_time' and rng.random() < 0.5:
            m = base * np.maximum(0.2, 1 + rng.uniform(-0.3, 0.5) * k / 365)
    elif family == 'trending':
        g = rng.choice([-1, 1]) * rng.uniform(0.3, 1.0)
        m = base * np.maximum(0.15, 1 + g * k / 365)
    elif family == 'weekly':
        m = base * weekly()
    elif family == 'yearly':
        m = base * yearly()
    elif family == 'weekly_yearly':
        m = base * weekly() * yearly()
    elif family == 'intermittent':
        p = rng.uniform(0.03, 0.3)
        size = rng.uniform(1.0, 3.0)
        m = np.full(days, p * size)
        theta = rng.uniform(0.1, 0.6)
    elif family == 'lumpy':
        p = rng.uniform(0.02, 0.15)
        size = rng.uniform(5.0, 40.0)
        m = np.full(days, p * size)
        theta = size * rng.uniform(0.3, 1.0)
    elif family == 'new_product':
        tau = rng.uniform(15, 120)
        m = base * (1 - np.exp(-(k + 3) / tau))
    elif family == 'ramp_up':
        ratio = rng.uniform(2.0, 4.0)
        k0 = h0 + rng.uniform(60, 360)
        width = rng.uniform(7, 40)
        m = base * (1 + (ratio - 1) / (1 + np.exp(-(k - k0) / width)))
        change = k0 - 2 * width
    elif family == 'decline':
        k0 = h0 + rng.uniform(60, 360)
        after = rng.uniform(0.0, 0.3)
        m = base * np.where(k < k0, 1.0, after)
        change = math.ceil(k0)
    elif family == 'erratic':
        m = np.full(days, base)
        theta = rng.uniform(3.0, 10.0) * max(1.0, base / 10)
    elif family == 'promo':
        m = np.full(days, base)
        promos = []
        for start in rng.uniform(0, days - 14, int(days / 365 * 4) + 1):
            length = int(rng.integers(5, 15))
            a = int(start)
            factor = rng.uniform(2.0, 5.0)
            m[a:a + length] *= factor
            promos.append((a, length, factor))
        path = np.full(days, base)
        known = [(0, path)]
        for a, length, factor in sorted(promos):
            path = path.copy()
            path[a:a + length] *= factor
            known.append((a, path))
    elif family == 'step_up':
        k0 = h0 + rng.uniform(60, 360)
        m = base * np.where(k < k0, 1.0, rng.uniform(1.5, 3.0))
        change = math.ceil(k0)
    elif family == 'ramp_to_zero':
        k0 = h0 + rng.uniform(0, 120)
        k1 = k0 + rng.uniform(200, 400)
        m = base * np.clip((k1 - k) / (k1 - k0), 0.0, 1.0)
        change = math.ceil(k0)
    elif family == 'in_season':
        # sold only in its season (garden, heating): nothing for months
        season = rng.uniform(0.25, 0.6)
        centre = rng.uniform(0, 365.25)
        d = ((k + phase - centre + 182.6) % 365.25) - 182.6
        half = season * 365.25 / 2
        shape = np.where(np.abs(d) < half,
            np.cos(np.pi * d / (2 * half)) ** 2, 0.0)
        m = base * shape / max(shape.mean(), 1e-9) * season
    elif family == 'bulk':
        # a steady counter trade plus a few large orders of trade customers
        draws = rng.random(days)
        chance = rng.uniform(0.01, 0.04)
        size = base * rng.uniform(10.0, 30.0)
        m = base + (draws < chance) * size
        known = [(0, np.full(days, base))]
        burst = (chance, size)
    elif family == 'seasonal_intermittent':
        p = rng.uniform(0.05, 0.3)
        size = rng.uniform(1.0, 3.0)
        m = p * size * yearly()
        theta = rng.uniform(0.1, 0.6)
    elif family == 'slow_mover':
        p = rng.uniform(0.005, 0.03)
        size = rng.uniform(1.0, 2.0)
        m = np.full(days, p * size)
        theta = 0.3
    elif family == 'step_down':
        k0 = h0 + rng.uniform(60, 360)
        m = base * np.where(k < k0, 1.0, rng.uniform(0.4, 0.7))
        change = math.ceil(k0)
    elif family == 'trend_weekly':
        g = rng.choice([-1, 1]) * rng.uniform(0.3, 1.0)
        m = base * np.maximum(0.15, 1 + g * k / 365) * weekly()
    elif family == 'very_long_lead':
        m = np.full(days, base)
    elif family == 'fast_mover':
        m = np.full(days, base * 20)
        theta = theta * 5
    else:
        raise ValueError(family)
    if known is None:
        known = [(0, m)]
        if change is not None:
            known = [(0, None), (int(change), m)]
    return m, p, theta, known, burst


def make_items(seed, per_family, families=FAMILIES,
        history_days=HISTORY_DAYS):
    """Generate the items of one seed (dict of arrays)."""
    rng = np.random.default_rng(seed)
    items = []
    for family in families:
        for _ in range(per_family):
            h0 = NEW_HISTORY_DAYS if family == 'new_product' \
                else history_days
            days = h0 + SIM_DAYS
            m, p, theta, known, burst = _mean_path(family, rng, days, h0)
            if family == 'very_long_lead':
                lt_mean = rng.uniform(80, 120)
                lt_cv = rng.uniform(0.3, 0.6)
            elif family == 'long_lead_time':
                lt_mean = rng.uniform(30, 75)
                lt_cv = rng.uniform(0.2, 0.5)
            else:
                lt_mean = rng.uniform(3, 21)
                lt_cv = rng.uniform(0.1, 0.35)
            occur = rng.random(days) < p
            with np.errstate(invalid='ignore', divide='ignore'):
                lam = rng.gamma(np.maximum(m / (p * theta), 1e-12), theta)
            demand = np.where(occur, rng.poisson(lam), 0).astype(float)
            mean_rate = float(m[h0:h0 + 90].mean())
            packs = [x for x in (1, 5, 6, 10, 12, 24, 50, 100)
                if x <= max(1.0, 7 * mean_rate)]
            pack = float(rng.choice(packs))
            moq = 0.0
            if rng.random() < 0.4:
                moq = round_order_quantity(
                    max(pack, rng.uniform(5, 30) * mean_rate), pack)
            items.append(dict(
                    family=family, h0=h0, m=m, p=p, theta=theta,
                    known=known, burst=burst,
                    demand=demand, lt_mean=lt_mean, lt_cv=lt_cv,
                    quoted=max(1.0, round(lt_mean * rng.uniform(0.8, 1.1))),
                    cost=math.exp(rng.uniform(math.log(2), math.log(200))),
                    ordering_cost=rng.uniform(20, 60), pack=pack, moq=moq))
    return items


def sample_lead_time(rng, mean, cv, size=None):
    shape = 1.0 / (cv * cv)
    return np.maximum(1, np.rint(rng.gamma(shape, mean / shape, size)))


# --------------------------------------------------------------------------
# Policies
# --------------------------------------------------------------------------

def order_quantity(rate, item):
    """Order quantity logic shared by the oracle (same as the core)."""
    annual = rate * 365.0
    eoq = economic_order_quantity(
        annual, item['ordering_cost'], item['cost'], HOLDING_RATE)
    wanted = max(eoq if math.isfinite(eoq) else 0.0, rate * REVIEW_PERIOD)
    if not math.isfinite(eoq) or wanted > MAX_COVER_DAYS * rate:
        wanted = MAX_COVER_DAYS * rate
    wanted = max(wanted, rate)
    if wanted <= 0:
        return 0.0
    return round_order_quantity(wanted, item['pack'], item['moq'])


def known_path(item, day):
    """Expected daily demand as the oracle knows it at the end of ``day``."""
    path = item['known'][0][1]
    for start, later in item['known'][1:]:
        if start > day:
            break
        path = later
    if path is None:
        path = _held(item['m'], day + 1)
    return path


def undershoot(rng, item, path, day, size):
    """True undershoot below s: uniform fraction of a size-biased draw of
    the review-period (one day) demand at ``day``."""
    m = path[min(day, path.size - 1)]
    p, theta = item['p'], item['theta']
    pool = 4 * size
    m = np.full(pool, m)
    if item['burst']:
        chance, burst = item['burst']
        m += (rng.random(pool) < chance) * burst
    lam = rng.gamma(np.maximum(m / (p * theta), 1e-12), theta)
    z = np.where(rng.random(pool) < p, rng.poisson(lam), 0).astype(float)
    total = z.sum()
    if total <= 0:
        return np.zeros(size)
    picked = rng.choice(z, size, p=z / total)
    return rng.random(size) * picked


def oracle_points(items, day_index, targets, rngs, samples):
    """Reorder points / order-up-to of the oracle at a (per item) day.

    ``rngs``: one random generator per item, so that what the oracle knows
    of one item does not change the draws of the others."""
    n_items = len(items)
    s_out = np.zeros(n_items)
    big_s = np.zeros(n_items)
    lt = np.stack([sample_lead_time(r, it['lt_mean'], it['lt_cv'], samples)
            for r, it in zip(rngs, items)])
    horizon = lt
    hmax = int(horizon.max())
    xs = np.zeros((n_items, samples))
    mean_under = np.zeros(n_items)
    for i, it in enumerate(items):
        rng = rngs[i]
        d = day_index[i]
        m = known_path(it, d)
        window = m[d + 1:d + 1 + hmax]
        if window.size < hmax:
            window = np.concatenate(
                (window, np.full(hmax - window.size, m[-1])))
        cm = np.concatenate(([0.0], np.cumsum(window)))
        h = horizon[i].astype(int)
        p, theta = it['p'], it['theta']
        if p >= 1:
            shape = cm[h] / theta
        else:
            occ = rng.binomial(h, p)
            shape = occ * (cm[h] / h) / (p * theta)
        if it['burst']:
            chance, burst = it['burst']
            shape = shape + rng.binomial(h, chance) * burst / theta
        lam = rng.gamma(np.maximum(shape, 1e-12), theta)
        under = undershoot(rng, it, m, d + 1, samples)
        xs[i] = rng.poisson(lam) + under
        mean_under[i] = under.mean()
        rate = float(m[d + 1:d + 1 + EOQ_RATE_DAYS].mean()) \
            if d + 1 < m.size else float(m[-1])
        if it['burst']:
            rate += it['burst'][0] * it['burst'][1]
        big_s[i] = order_quantity(rate, it)
    for i in range(n_items):
        if big_s[i] > 0:
            s_out[i] = fill_rate_reorder_point(
                xs[i], np.ones(samples), big_s[i] + mean_under[i],
                targets[i])
    return s_out, s_out + big_s


def static_points(items):
    s = np.zeros(len(items))
    big_s = np.zeros(len(items))
    for i, it in enumerate(items):
        h0 = it['h0']
        hist = it['sales'][max(0, h0 - 90):h0]
        d = hist.sum() / max(1, hist.size)
        lo = math.ceil(1.5 * d * (it['quoted'] + REVIEW_PERIOD))
        s[i] = lo
        big_s[i] = lo + math.ceil(30 * d)
    return s, big_s


# --------------------------------------------------------------------------
# Simulation of one seed
# --------------------------------------------------------------------------

def prehistory(items, rng):
    """Served sales, stockout flags and receipts before the simulation."""
    for it in items:
        h0 = it['h0']
        sales = it['demand'][:h0].copy()
        flags = np.zeros(h0, bool)
        for _ in range(rng.integers(0, 4) if h0 > 60 else 0):
            start = rng.integers(0, h0 - 10)
            length = rng.integers(2, 8)
            flags[start:start + length] = True
            sales[start:start + length] *= rng.uniform(0, 0.5, length)
            sales[start:start + length] = np.floor(sales[start:start + length])
        it['pre_sales'] = sales
        it['pre_flags'] = flags
        receipts = []
        day = int(rng.integers(0, 20))
        while h0 > 60:
            lt = int(sample_lead_time(rng, it['lt_mean'], it['lt_cv']))
            if day + lt >= h0:
                break
            receipts.append((day, day + lt))
            day += int(rng.integers(14, 36))
        it['receipts'] = receipts


def run_seed(args):
    seed, per_family, dampening, samples = args[:4]
    families_run = args[4] if len(args) > 4 else FAMILIES
    history_days = args[5] if len(args) > 5 else HISTORY_DAYS
    clairvoyant = args[6] if len(args) > 6 else False
    rng = np.random.default_rng(seed + 1000)
    items = make_items(seed, per_family, families_run, history_days)
    if clairvoyant:
        for it in items:
            it['known'] = [(0, it['m'])]
            it['burst'] = None
    prehistory(items, rng)
    n = len(items)
    base_date = date(2021, 1, 1) + timedelta(days=int(rng.integers(0, 365)))
    # targets by ABC class of the pre-history consumption value
    values = [float(it['pre_sales'].mean()) * 365 * it['cost']
        for it in items]
    classes = abc_classify(values)
    targets = np.array([fill_rate_for_class(c) for c in classes])
    for it in items:
        it['sales'] = it['pre_sales']
    p_count = len(POLICIES)
    h0 = np.array([it['h0'] for it in items])
    total_days = SIM_DAYS
    max_lt = 400
    arrivals = np.zeros((p_count, n, total_days + max_lt))
    on_hand = np.zeros((p_count, n))
    start_stock = np.array([
            math.ceil(it['m'][it['h0']:it['h0'] + 30].mean()
                * (it['lt_mean'] + 15)) for it in items])
    on_hand[:] = start_stock[None, :]
    on_order = np.zeros((p_count, n))
    cost = np.array([it['cost'] for it in items])
    pack = np.array([it['pack'] for it in items])
    moq = np.array([it['moq'] for it in items])
    demand = np.stack([it['demand'][it['h0']:it['h0'] + total_days]
            for it in items])
    # history of policy (a): sales and flags (pre-history + simulated)
    tuned_sales = [list(it['pre_sales']) for it in items]
    tuned_flags = [list(it['pre_flags']) for it in items]
    tuned_receipts = [[(base_date + timedelta(days=int(o - it['h0'])),
                base_date + timedelta(days=int(r - it['h0'])))
            for o, r in it['receipts']] for it in items]
    tuned_pending = [[] for _ in items]  # (arrival day, order date)
    s = np.zeros((p_count, n))
    big_s = np.zeros((p_count, n))
    s[1], big_s[1] = static_points(items)
    measure_from = total_days - MEASURE_DAYS
    served_sum = np.zeros((p_count, n))
    demand_sum = np.zeros(n)
    inv_value = np.zeros((p_count, n))
    orders = np.zeros((p_count, n))
    calls = 0
    call_time = 0.0
    # common random numbers: the k-th order of an item has the same lead
    # time under every policy, so a change of one policy does not reshuffle
    # the lead times of the others (less noise in the ratios)
    lt_rng = np.random.default_rng(seed + 2000)
    lt_draws = np.stack([np.minimum(max_lt - 1, sample_lead_time(
                    lt_rng, it['lt_mean'], it['lt_cv'], 4 * SIM_DAYS))
            for it in items]).astype(int)
    order_count = np.zeros((p_count, n), int)
    oracle_rngs = [np.random.default_rng([seed, 3000, i]) for i in range(n)]
    old = [None] * n
    old_index = [None] * n
    for day in range(total_days):
        # 1. demand
        d = demand[:, day]
        served = np.minimum(on_hand, d[None, :])
        on_hand -= served
        out = on_hand <= 0
        # 2. receipts at the end of the day
        arr = arrivals[:, :, day]
        on_hand += arr
        on_order -= arr
        today = base_date + timedelta(days=day + 1)
        for i in range(n):
            tuned_sales[i].append(float(served[0, i]))
            tuned_flags[i].append(bool(out[0, i]))
            pend = tuned_pending[i]
            while pend and pend[0][0] <= day:
                arrival, ordered = pend.pop(0)
                tuned_receipts[i].append(
                    (ordered, base_date + timedelta(days=int(arrival))))
        if day >= measure_from:
            served_sum += served
            demand_sum += d
            inv_value += on_hand * cost[None, :]
        # 3. re-tune
        if day % RETUNE_EVERY == 0:
            t0 = time.perf_counter()
            # the batch entry point: same results as compute_order_point
            # item by item (tested), faster
            batch = compute_order_points(
                tuned_sales, tuned_flags, tuned_receipts,
                [it['quoted'] for it in items], cost, pack, moq, targets,
                REVIEW_PERIOD, [it['ordering_cost'] for it in items],
                HOLDING_RATE, today)
            for i, r in enumerate(batch):
                new = (r.reorder_point, r.order_up_to)
                index = r.explanation.seasonal_index
                if dampening and old[i] is not None:
                    new = dampen_order_point(old[i][0], old[i][1], *new,
                        season=season_ratio(old_index[i], index))
                old[i] = new
                old_index[i] = index
                s[0, i], big_s[0, i] = new
            call_time += time.perf_counter() - t0
            calls += n
            s[2], big_s[2] = oracle_points(
                items, h0 + day, targets, oracle_rngs, samples)
        # 4. review: order when inventory position <= reorder point
        position = on_hand + on_order
        trigger = (position <= s) & (big_s > 0)
        if trigger.any():
            want = np.maximum(big_s - position, 0)
            qty = np.maximum(np.ceil(want / pack[None, :] - 1e-9)
                * pack[None, :], moq[None, :])
            qty = np.where(qty <= 0, pack[None, :], qty)
            for pol, i in zip(*np.nonzero(trigger)):
                lt = int(lt_draws[i, order_count[pol, i]])
                order_count[pol, i] += 1
                arrivals[pol, i, day + lt] += qty[pol, i]
                on_order[pol, i] += qty[pol, i]
                if day >= measure_from:
                    orders[pol, i] += 1
                if pol == 0:
                    tuned_pending[i].append(
                        (day + lt, base_date + timedelta(days=day)))
                    tuned_pending[i].sort()
    families = [it['family'] for it in items]
    result = {'_families': families_run}
    for fam in families_run:
        idx = [i for i, f in enumerate(families) if f == fam]
        dem = demand_sum[idx].sum()
        row = {
            'target': float((targets[idx] * demand_sum[idx]).sum()
                / max(dem, 1e-9)),
            'fill': served_sum[:, idx].sum(1) / max(dem, 1e-9),
            'inv': inv_value[:, idx].sum(1) / MEASURE_DAYS / len(idx),
            'orders': orders[:, idx].sum(1) / len(idx),
        }
        result[fam] = row
    result['_all'] = {
        'inv': inv_value.sum(1) / MEASURE_DAYS / n,
        'fill': served_sum.sum(1) / max(demand_sum.sum(), 1e-9),
        'target': float((targets * demand_sum).sum() / demand_sum.sum()),
        'orders': orders.sum(1) / n,
    }
    result['_speed'] = (calls, call_time)
    result['_history'] = history_days
    return seed, result


# --------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------

def _ratio(value, reference):
    "``value / reference``; 1 when both are 0 (no stock, no order)"
    if reference > 0:
        return value / reference
    return 1.0 if value <= 0 else math.inf


def figures(row, policy=0):
    """``(fill - target, inventory / oracle's, orders / oracle's)`` of one
    family in one seed, for the tuned policy (``policy`` 0) or another
    (1 static, 2 the oracle itself)."""
    return (row['fill'][policy] - row['target'],
        _ratio(row['inv'][policy], row['inv'][2]),
        _ratio(row['orders'][policy], row['orders'][2]))


def meets(values):
    """The three goals on (mean) ``figures``: fill >= target - 1 point,
    inventory <= 1.1 x and orders <= 1.5 x the oracle's."""
    gap, inv, orders = values
    return gap >= -0.01, inv <= 1.1, orders <= 1.5


def criteria(row):
    "The three goals of one family in one seed"
    fill_ok = row['fill'][0] >= row['target'] - 0.01
    inv_ok = row['inv'][0] <= 1.1 * row['inv'][2]
    ord_ok = row['orders'][0] <= 1.5 * max(row['orders'][2], 1e-9)
    return fill_ok, inv_ok, ord_ok


def seed_means(rows, policy=0):
    """``figures`` averaged over the seeds (one row per seed): the mean of
    the seeds' ratios, the family's figure with the sampling noise of the
    seeds averaged out."""
    return tuple(float(np.mean(v))
        for v in zip(*(figures(r, policy) for r in rows)))


def _span(values, fmt):
    lo, hi = min(values), max(values)
    if len(values) == 1 or fmt % lo == fmt % hi:
        return fmt % lo
    return (fmt % lo) + '..' + (fmt % hi)


def report(results):
    seeds = sorted(results)
    print()
    print("Families: fill rate (tuned/static/oracle) vs target, average"
        " inventory value per item, orders per item in the measured year;")
    print("ratios tuned/static and tuned/oracle. Spread = min..max over"
        " seeds %s." % (seeds,))
    width = max([15] + [len(f) for f in results[seeds[0]]['_families']])
    line = "%-" + str(width) + "s %6s %13s %13s %13s %11s %11s %11s %11s" \
        " %11s %8s"
    head = (line % (
            'family', 'target', 'fill tuned', 'fill static', 'fill oracle',
            'inv tuned', 'inv/static', 'inv/oracle', 'orders', 'ord/oracle',
            'F I O'))
    print(head)
    print('-' * len(head))
    verdict = {'fill': [], 'inv': [], 'orders': []}
    for fam in tuple(results[seeds[0]]['_families']) + ('_all',):
        rows = [results[s][fam] for s in seeds]
        fails = [criteria(r) for r in rows]
        if fam != '_all':
            verdict['fill'].append((fam, all(f[0] for f in fails)))
            verdict['inv'].append((fam, all(f[1] for f in fails)))
            verdict['orders'].append((fam, all(f[2] for f in fails)))
        flags = ' '.join(
            '%d' % sum(f[j] for f in fails) for j in range(3))
        print(line % (
                fam if fam != '_all' else 'ALL',
                _span([r['target'] for r in rows], '%.3f'),
                _span([r['fill'][0] for r in rows], '%.3f'),
                _span([r['fill'][1] for r in rows], '%.3f'),
                _span([r['fill'][2] for r in rows], '%.3f'),
                _span([r['inv'][0] for r in rows], '%.0f'),
                _span([r['inv'][0] / r['inv'][1] for r in rows], '%.2f'),
                _span([r['inv'][0] / r['inv'][2] for r in rows], '%.2f'),
                _span([r['orders'][0] for r in rows], '%.1f'),
                _span([r['orders'][0] / max(r['orders'][2], 1e-9)
                        for r in rows], '%.2f'),
                flags))
    print("(F I O = number of seeds meeting: fill >= target-1pt,"
        " inv <= 1.1x oracle, orders <= 1.5x oracle)")
    overall = [results[s]['_all']['inv'][0] / results[s]['_all']['inv'][1]
        for s in seeds]
    names = (('fill', 'fill rate >= target - 1 point'),
        ('inv', 'avg inventory <= 1.1 x oracle'),
        ('orders', 'orders <= 1.5 x oracle'))
    print()
    print_verdicts('every seed', names, verdict, max(overall) <= 0.8,
        _span(overall, '%.2f'))
    if len(seeds) > 1:
        report_means(results, seeds, names)
    calls = sum(results[s]['_speed'][0] for s in seeds)
    spent = sum(results[s]['_speed'][1] for s in seeds)
    print("batch entry point inside the simulation: %d items, %.2f ms/item"
        " (history up to %d days)" % (calls, 1000 * spent / max(calls, 1),
            max(results[s]['_history'] for s in seeds) + SIM_DAYS))


def report_means(results, seeds, names):
    """The goals on the figures averaged over the seeds, and how often
    the oracle itself misses the fill rate goal in a single seed."""
    families = tuple(results[seeds[0]]['_families'])
    print()
    print("Mean over the %d seeds of each figure (the seeds' sampling noise"
        " averaged out); F I O: 1 where the mean meets the goal; oracle F ="
        " seeds where the oracle itself meets fill >= target-1pt:"
        % len(seeds))
    head = "%-21s %11s %10s %10s %6s %8s" % ('family', 'fill-target',
        'inv/oracle', 'ord/oracle', 'F I O', 'oracle F')
    print(head)
    print('-' * len(head))
    verdict = {name: [] for name, _ in names}
    for fam in families:
        rows = [results[s][fam] for s in seeds]
        means = seed_means(rows)
        ok = meets(means)
        for (name, _), good in zip(names, ok):
            verdict[name].append((fam, good))
        oracle = sum(meets(figures(r, 2))[0] for r in rows)
        print("%-21s %+11.4f %10.3f %10.3f %6s %8s" % (fam, means[0],
                means[1], means[2], ' '.join('%d' % x for x in ok),
                '%d/%d' % (oracle, len(rows))))
    print()
    overall = float(np.mean([results[s]['_all']['inv'][0]
                / results[s]['_all']['inv'][1] for s in seeds]))
    print_verdicts('mean over seeds', names, verdict, overall <= 0.8,
        '%.2f' % overall)


def print_verdicts(scope, names, verdict, overall_ok, overall):
    """The ``VERDICT <scope>, ...`` lines: per goal the families that
    fail it (``verdict[name]`` is a list of ``(family, ok)``), then the
    all-families inventory against static min/max."""
    for name, label in names:
        failed = [f for f, ok in verdict[name] if not ok]
        print("VERDICT %s, %-33s %s%s" % (scope,
                label + ':', 'PASS' if not failed else 'FAIL',
                '' if not failed else ' (' + ', '.join(failed) + ')'))
    print("VERDICT %s, %-33s %s (tuned/static = %s)" % (scope,
            'all-families inv <= 0.8 x static:',
            'PASS' if overall_ok else 'FAIL', overall))


def speed(items=2000, days=730):
    """Pure speed of the entry point on two years of daily history."""
    rng = np.random.default_rng(7)
    today = date(2024, 3, 1)
    t = np.arange(days)
    series = []
    for i in range(items):
        kind = i % 4
        if kind == 0:
            mean = rng.uniform(1, 50) * np.ones(days)
        elif kind == 1:
            mean = rng.uniform(1, 50) * (1 + 0.5 * np.sin(
                    2 * math.pi * t / 365.25))
        elif kind == 2:
            mean = rng.uniform(1, 50) * (1 + t / days)
        else:
            mean = np.full(days, rng.uniform(0.05, 0.5))
        sales = rng.poisson(mean).astype(float)
        flags = rng.random(days) < 0.02
        receipts = [(today - timedelta(days=30 * k + 9),
                today - timedelta(days=30 * k)) for k in range(1, 15)]
        series.append((sales, flags, receipts))
    t0 = time.perf_counter()
    single = [compute_order_point(sales, flags, receipts, 7, 10.0, 6, 12,
            0.95, 1, 30, 0.25, today) for sales, flags, receipts in series]
    spent = time.perf_counter() - t0
    print("SPEED compute_order_point: %d items x %d days of history in"
        " %.2f s = %.0f items/s (%.3f ms/item)" % (
            items, days, spent, items / spent, 1000 * spent / items))
    sales = np.array([x[0] for x in series])
    flags = np.array([x[1] for x in series])
    orders = [x[2] for x in series]
    best = math.inf
    for _ in range(3):
        t0 = time.perf_counter()
        batch = compute_order_points(sales, flags, orders, 7, 10.0, 6, 12,
            0.95, 1, 30, 0.25, today)
        best = min(best, time.perf_counter() - t0)
    same = all(
        math.isclose(a.reorder_point, b.reorder_point, rel_tol=1e-7,
            abs_tol=1e-7)
        and math.isclose(a.order_up_to, b.order_up_to, rel_tol=1e-7,
            abs_tol=1e-7) for a, b in zip(single, batch))
    print("SPEED compute_order_points (batch): %d items x %d days of history"
        " in %.2f s = %.0f items/s (%.3f ms/item, best of 3); same results"
        " as item by item: %s" % (items, days, best, items / best,
            1000 * best / items, 'yes' if same else 'NO'))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--seeds', type=int, nargs='+', default=[1, 2, 3])
    parser.add_argument('--items-per-family', type=int, default=None)
    parser.add_argument('--quick', action='store_true',
        help="CI mode: one seed, few items (< 30 s)")
    parser.add_argument('--speed', action='store_true',
        help="only measure the entry point's speed")
    parser.add_argument('--no-dampen', action='store_true')
    parser.add_argument('--jobs', type=int, default=min(2, os.cpu_count()))
    parser.add_argument('--samples', type=int, default=2000,
        help="oracle Monte-Carlo samples per item and week")
    parser.add_argument('--history-days', type=int, default=HISTORY_DAYS,
        help="days of history of the established items before the "
        "simulation (default %(default)s; 730 gives them a yearly "
        "profile from the start)")
    parser.add_argument('--clairvoyant', action='store_true',
        help="the oracle knows the realised demand path, random changes "
        "included, before they happen")
    parser.add_argument('--families', nargs='+', default=None,
        help="families to simulate (default: the 12 families); "
        "'held_out' for %s; 'others' for %s" % (
            ', '.join(HELD_OUT_FAMILIES), ', '.join(OTHER_FAMILIES)))
    args = parser.parse_args(argv)
    if args.speed:
        speed()
        return 0
    per_family = args.items_per_family
    seeds = args.seeds
    samples = args.samples
    if args.quick:
        seeds = seeds[:1] if args.seeds != [1, 2, 3] else [1]
        per_family = per_family or 4
        samples = min(samples, 1000)
    per_family = per_family or 20
    start = time.perf_counter()
    families = FAMILIES
    if args.families:
        families = []
        for name in args.families:
            extra = GROUPS.get(name, (name,))
            for fam in extra:
                if fam not in FAMILIES + HELD_OUT_FAMILIES \
                        + OTHER_FAMILIES:
                    parser.error("unknown family %r" % fam)
                families.append(fam)
        families = tuple(families)
    if args.history_days < 60:
        parser.error("--history-days must be at least 60")
    jobs = [(s, per_family, not args.no_dampen, samples, families,
            args.history_days, args.clairvoyant)
        for s in seeds]
    if args.jobs > 1 and len(jobs) > 1:
        with Pool(min(args.jobs, len(jobs))) as pool:
            results = dict(pool.map(run_seed, jobs))
    else:
        results = dict(map(run_seed, jobs))
    print("replenishment_sim: seeds %s, %d items per family x %d families,"
        " %d days of history, %d simulated days (last %d measured),"
        " dampening %s, oracle %s, %.0f s" % (
            seeds, per_family, len(families), args.history_days, SIM_DAYS,
            MEASURE_DAYS,
            'on' if not args.no_dampen else 'off',
            'clairvoyant' if args.clairvoyant else 'learns random changes'
            ' when they start',
            time.perf_counter() - start))
    report(results)
    return 0


if __name__ == '__main__':
    sys.exit(main())
