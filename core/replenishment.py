# This file is part of perpetual_inventory.  The COPYRIGHT file at the top
# level of this repository contains the full copyright notices and license
# terms.
"""Self-setting order points: reorder point and order-up-to level.

Pure numpy + standard library, no Tryton import.  The entry point is
:func:`compute_order_point`, and :func:`compute_order_points` does the same
for many items at once (vectorised, same results); the Tryton models and
the simulator in ``bench/replenishment_sim.py`` call them.  See
``docs/replenishment.md``.

Method in short:

1. Forecast the daily demand (``core.demand.forecast_demand``): stockout
   days are censored, the model (level / trend / Croston-SBA / TSB, with
   day-of-week and day-of-year profiles when significant) is chosen by its
   rolling out-of-sample error.
2. Lead time: observed (order date, receipt date) pairs blended with the
   supplier's quoted lead time (normal-inverse-gamma style shrinkage).
3. Demand the reorder point must cover, as an empirical distribution:
   forecast over the coming lead time plus the model's own historical
   out-of-sample errors over windows of that length (rescaled to the
   coming demand level), mixed over the lead-time distribution, plus the
   undershoot of the inventory position below the reorder point at the
   review that triggers the order (where the review period enters).  A
   lognormal is used only when the history is too short.
4. Reorder point: smallest level whose expected units short per
   replenishment cycle, ``G(s) - G(s + Q)`` with G the loss function of
   that distribution, do not exceed ``(1 - fill_rate)`` times the expected
   order size: a fill-rate, not cycle-service, formulation.
5. Order quantity from the EOQ (or the review period demand), rounded up to
   the pack multiple and at least the minimum order quantity; order-up-to =
   reorder point + order quantity.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from datetime import date
from statistics import NormalDist
from typing import Mapping, NamedTuple, Tuple

import numpy as np

from .demand import MIN_ORIGIN, SEASON_YEARS, forecast_demand, \
    forecast_demand_batch, frozen, take_last

__all__ = [
    'OrderPoint', 'Explanation', 'LeadTime', 'compute_order_point',
    'compute_order_points',
    'estimate_lead_time', 'lead_time_points', 'effective_lead_time_points',
    'fill_rate_reorder_point',
    'cycle_shortage',
    'expected_shortage', 'normal_safety_stock', 'economic_order_quantity',
    'round_order_quantity', 'dampen', 'dampen_order_point', 'season_ratio',
    'Dampened', 'Levels', 'settle_levels', 'quantity_text',
    'abc_classify',
    'fill_rate_for_class', 'DEFAULT_CLASS_FILL_RATES',
    ]

DEFAULT_CLASS_FILL_RATES = {'A': 0.98, 'B': 0.95, 'C': 0.90}
# Pseudo-observations given to the quoted lead time and its assumed spread.
PRIOR_LEAD_TIME_WEIGHT = 3.0
PRIOR_LEAD_TIME_CV = 0.25
LEAD_TIME_POINTS = 7
# Share of overlapping orders received out of sequence from which lead times
# are taken as fully independent per order.
CROSSING_FULL = 0.2
MAX_LEAD_TIME_OBSERVATIONS = 40
# Minimum number of historical windows for the empirical distribution.
MIN_WINDOWS = 30
# Items whose reorder points are solved together by the batch function.
FINISH_CHUNK = 32
# Half-life (days) of the weight of past forecast errors.
ERROR_HALF_LIFE = 120.0
# Half-life (days) of the weight of past errors in the model's bias.
BIAS_HALF_LIFE = 45.0
# Bandwidth (natural log of the level ratio) of the weight of past windows
# by their level, and the least weight a window keeps (see _level_kernel).
LEVEL_BANDWIDTH = 0.5
LEVEL_FLOOR = 0.02
# Days of past origins and their number (thinned) for the window errors.
ERROR_SPAN = 365
ERROR_ORIGINS = 160
INTERMITTENT_ERROR_SPAN = 730
INTERMITTENT_ERROR_ORIGINS = 160
INTERMITTENT_ERROR_HALF_LIFE = 365.0
# Forecast days used for the annual demand rate of the EOQ.
EOQ_RATE_DAYS = 91
# Daily damping of the slope of trend models in the EOQ rate.
TREND_DAMPING = 0.98
# Order quantities never exceed this many days of forecast demand.
MAX_COVER_DAYS = 365
# The dampening carries the values in force along the yearly season by at
# most this factor per run (up or down).
MAX_SEASON_STEP = 4.0
# Smooth and erratic items: a demand level seen in a single event is not
# taken as one that recurs.  The worst window error is capped at the worst
# one of the windows that start at least this many days (besides the
# window's length) away from it, and so is the largest demand of a review
# period in the undershoot.
EVENT_GAP = 14
# While the reorder point of a smooth item sits at its floor (the
# lead-time demand), the order quantity is cut toward what the fill rate
# target needs, down to this share of the EOQ (so at most 1 / LOT_FLOOR
# times as many orders).
LOT_FLOOR = 0.8

_NORMAL = NormalDist()
_LOGNORMAL_Z = np.array(
    [_NORMAL.inv_cdf((i + 0.5) / 201) for i in range(201)])
# Fixed pseudo-random uniforms: the undershoot sampling is deterministic.
_UNIFORM = np.random.default_rng(20240601).random((2, 8192))


# --------------------------------------------------------------------------
# Lead time
# --------------------------------------------------------------------------

class LeadTime(NamedTuple):
    """Lead time estimate (days).

    Attributes:
        mean: blended mean lead time.
        std: blended standard deviation.
        observations: number of (order, receipt) pairs used.
        source: ``'quoted'`` (no observation), ``'blend'`` or ``'history'``
            (enough observations for the empirical distribution).
        observed: the observed lead times used (tuple of floats).
        crossing: share of the pairs of overlapping orders (the later one
            placed before the earlier one was received) that were received
            in the reverse order of their order dates: 0 for a supplier
            who delivers in sequence, clearly positive when every order
            has its own, independent lead time (see
            :func:`effective_lead_time_points`).
    """
    mean: float
    std: float
    observations: int
    source: str
    observed: Tuple[float, ...]
    crossing: float = 0.0


def estimate_lead_time(received_orders, quoted_lead_time, today=None):
    """Blend observed lead times with the supplier's quoted lead time.

    The quoted lead time is a prior worth ``PRIOR_LEAD_TIME_WEIGHT``
    observations with a coefficient of variation ``PRIOR_LEAD_TIME_CV``;
    with ``n`` observations of mean ``x`` and variance ``s2``::

        mean = (k*q + n*x) / (k + n)
        var  = (k*s0^2 + (n-1)*s2 + k*n/(k+n)*(x-q)^2) / (k + n - 1)

    (normal-inverse-gamma posterior), so a supplier who is always late moves
    the mean, and a single late receipt widens the spread.  Only the most
    recent ``MAX_LEAD_TIME_OBSERVATIONS`` receipts are used.

    Args:
        received_orders: sequence of ``(order_date, receipt_date)``, or an
            integer array ``(m, 2)`` of their ordinals
            (``date.toordinal()``).
        quoted_lead_time: the supplier's quoted lead time in days (>= 0).
        today: optional ``datetime.date``; receipts after it are rejected.

    Returns:
        A :class:`LeadTime`.

    Raises:
        ValueError: negative quoted lead time, receipt before order or after
            ``today``, dates that are not ``datetime.date``.
    """
    return _lead_times_rows([_order_ordinals(received_orders)],
        [_check_quoted(quoted_lead_time)], today)[0]


def _check_quoted(quoted_lead_time):
    "The quoted lead time as a float, checked"
    try:
        q = float(quoted_lead_time)
    except (TypeError, ValueError):
        q = math.nan
    if not math.isfinite(q) or q < 0:
        raise ValueError(
            "quoted_lead_time must be a finite number >= 0, got %r"
            % (quoted_lead_time,))
    return q


def _order_ordinals(received_orders):
    """The received orders as an integer array ``(m, 2)`` of the date
    ordinals (``date.toordinal()``) of the order and of the receipt.

    ``received_orders`` is a sequence of ``(order_date, receipt_date)``
    pairs, or already such an integer array (the models read the dates
    from the database as day numbers).  The dates themselves are checked
    by :func:`_check_ordinals`.

    Raises:
        ValueError: a pair that is not two dates.
    """
    if isinstance(received_orders, np.ndarray):
        if received_orders.size == 0:
            return np.empty((0, 2), dtype=np.int64)
        if received_orders.ndim != 2 or received_orders.shape[1] != 2 \
                or received_orders.dtype.kind not in 'iu':
            raise ValueError("received_orders must be (order_date, "
                "receipt_date) pairs or an integer array of their "
                "ordinals, shape (m, 2)")
        return received_orders
    values = []
    for pair in received_orders:
        try:
            ordered, received = pair
        except (TypeError, ValueError):
            raise ValueError("received_orders must be "
                "(order_date, receipt_date) pairs")
        if not isinstance(ordered, date) or not isinstance(received, date):
            raise ValueError("received_orders dates must be datetime.date")
        values.append((ordered.toordinal(), received.toordinal()))
    if not values:
        return np.empty((0, 2), dtype=np.int64)
    return np.array(values, dtype=np.int64)


def _check_ordinals(ordinals, today=None):
    "Refuse a receipt before its order or after today"
    early = ordinals[:, 1] < ordinals[:, 0]
    if early.any():
        o, r = ordinals[np.argmax(early)].tolist()
        raise ValueError("receipt date %s is before order date %s"
            % (date.fromordinal(r), date.fromordinal(o)))
    if today is not None:
        late = ordinals[:, 1] > today.toordinal()
        if late.any():
            r = int(ordinals[np.argmax(late), 1])
            raise ValueError("receipt date %s is after today %s"
                % (date.fromordinal(r), today))


def _lead_times_rows(orders, quoted, today=None):
    """:func:`estimate_lead_time` of many items at once.

    Per item, the most recent receipts (by receipt date, then lead time)
    give the observed lead times, blended with the quoted one, and the
    crossing share: a pair of orders ``i``, ``j`` (``i`` ordered first)
    overlaps when ``j`` was ordered before ``i`` was received; it crossed
    when ``j`` was received strictly before ``i``.  Pairs ordered the same
    day do not count; the share is crossed / overlapping pairs (0.0
    without overlapping pairs).

    Args:
        orders: one ordinal array ``(m, 2)`` per item
            (:func:`_order_ordinals`), checked here all together.
        quoted: the checked quoted lead times (floats).
        today: optional ``datetime.date``; receipts after it are refused.

    Returns:
        A list of :class:`LeadTime`, one per item.
    """
    count = len(orders)
    sizes = np.array([o.shape[0] for o in orders], dtype=np.int64)
    q = np.asarray(quoted, dtype=float)
    k = PRIOR_LEAD_TIME_WEIGHT
    s0 = np.maximum(1.0, PRIOR_LEAD_TIME_CV * q)
    out = [None] * count
    for i in np.flatnonzero(sizes == 0).tolist():
        qi = float(q[i])
        out[i] = LeadTime(qi, float(s0[i]) if qi > 0 else 0.0, 0, 'quoted',
            ())
    rows = np.flatnonzero(sizes > 0)
    if not rows.size:
        return out
    every = np.concatenate([orders[i] for i in rows.tolist()]).astype(
        np.int64, copy=False)
    _check_ordinals(every, today)
    item = np.repeat(np.arange(rows.size), sizes[rows])
    o, r = every[:, 0], every[:, 1]
    # the order of estimate_lead_time: by receipt, then by lead time
    order = np.lexsort((r - o, r, item))
    o, r, item = o[order], r[order], item[order]
    starts = np.concatenate(([0], np.cumsum(sizes[rows])[:-1]))
    position = np.arange(item.size) - starts[item]
    kept = np.minimum(sizes[rows], MAX_LEAD_TIME_OBSERVATIONS)
    column = position - (sizes[rows] - kept)[item]
    recent = column >= 0
    o, r, item, column = o[recent], r[recent], item[recent], column[recent]
    # items sorted by their number of observations, in slices padded to
    # the largest of the slice (the pairs compared for the crossing share
    # grow with its square)
    by_size = np.argsort(kept, kind='stable')
    rank = np.empty(rows.size, np.int64)
    rank[by_size] = np.arange(rows.size)
    slot = rank[item]
    order = np.argsort(slot, kind='stable')
    o, r, slot, column = o[order], r[order], slot[order], column[order]
    for part in range(0, rows.size, 64):
        members = by_size[part:part + 64]
        width = int(kept[members].max())
        m = members.size
        ordered = np.zeros((m, width))
        received = np.zeros((m, width))
        valid = np.zeros((m, width), bool)
        lo, hi = np.searchsorted(slot, [part, part + m])
        local = slot[lo:hi] - part
        ordered[local, column[lo:hi]] = o[lo:hi]
        received[local, column[lo:hi]] = r[lo:hi]
        valid[local, column[lo:hi]] = True
        lead = received - ordered
        n = kept[members].astype(float)
        x = lead.sum(axis=1) / n
        dev = np.where(valid, lead - x[:, None], 0.0)
        s2 = np.where(n > 1, (dev * dev).sum(axis=1)
            / np.maximum(n - 1, 1), 0.0)
        qm, s0m = q[rows[members]], s0[rows[members]]
        mean = (k * qm + n * x) / (k + n)
        var = (k * s0m * s0m + (n - 1) * s2
            + k * n / (k + n) * (x - qm) ** 2) / (k + n - 1)
        std = np.sqrt(np.maximum(var, 0.0))
        # the crossing share of every row
        pair = valid[:, :, None] & valid[:, None, :]
        later = pair & (ordered[:, None, :] > ordered[:, :, None])
        overlap = later & (ordered[:, None, :] < received[:, :, None])
        crossed = overlap & (received[:, None, :] < received[:, :, None])
        overlaps = overlap.sum(axis=(1, 2))
        share = np.where(overlaps > 0, crossed.sum(axis=(1, 2))
            / np.maximum(overlaps, 1), 0.0)
        for j, member in enumerate(members.tolist()):
            size = int(kept[member])
            out[int(rows[member])] = LeadTime(float(mean[j]), float(std[j]),
                size, 'history' if size >= 10 else 'blend',
                tuple(lead[j, :size].tolist()), float(share[j]))
    return out


@lru_cache(maxsize=16)
def _normal_quantiles(points):
    z = np.array([_NORMAL.inv_cdf((i + 0.5) / points)
            for i in range(points)])
    z.setflags(write=False)
    return z


def lead_time_points(lead_time, points=LEAD_TIME_POINTS):
    """Discretise the lead-time distribution in equally likely points.

    With at least 10 observations the empirical quantiles are used
    (shifted to the blended mean); otherwise a lognormal with the blended
    mean and standard deviation.  The points are rescaled around their mean
    so that their spread equals the estimated standard deviation.

    Args:
        lead_time: a :class:`LeadTime`.
        points: number of points.

    Returns:
        Array of lead times (days, >= 0), each with probability 1/points.
    """
    return _lead_time_quantiles(lead_time, points, None)


# Stratified draws of the lead time, one row per historical window: row o
# takes the quantile (i + u_o) / points in the stratum of the point i.
_JITTER_ROWS = 1024


@lru_cache(maxsize=16)
def _jitter_table(points):
    """Probabilities and normal quantiles of the stratified draws."""
    u = _UNIFORM[1][:_JITTER_ROWS]
    probs = (np.arange(points)[None, :] + u[:, None]) / points
    probs = np.clip(probs, 1e-6, 1.0 - 1e-6)
    z = np.array([[_NORMAL.inv_cdf(p) for p in row] for row in probs])
    for array in (probs, z):
        array.setflags(write=False)
    return probs, z


def _lead_time_quantiles(lead_time, points, rows):
    """Central points (``rows`` None) or ``rows`` stratified draws.

    The draws use the same distribution and rescaling as
    :func:`lead_time_points`: the point ``i`` is the median of its stratum
    ``[i / points, (i + 1) / points)``, a draw is anywhere in it, so the
    tails beyond the outer points are represented.
    """
    mean, std = lead_time.mean, lead_time.std
    if std <= 0 or mean <= 0:
        shape = (points,) if rows is None else (rows, points)
        return np.full(shape, max(mean, 0.0))
    central = (np.arange(points) + 0.5) / points
    if rows is not None:
        probs, z = _jitter_table(points)
        probs = probs[np.arange(rows) % _JITTER_ROWS]
        z = z[np.arange(rows) % _JITTER_ROWS]
    if lead_time.source == 'history':
        obs = np.sort(np.asarray(lead_time.observed))

        def quantile(pr):
            pos = pr * (obs.size - 1)
            low = np.floor(pos).astype(int)
            high = np.minimum(low + 1, obs.size - 1)
            return obs[low] + (pos - low) * (obs[high] - obs[low])
        pts = quantile(central)
        draws = quantile(probs) if rows is not None else None
    else:
        s2 = math.log(1.0 + (std / mean) ** 2)
        mu = math.log(mean) - s2 / 2
        pts = np.exp(mu + math.sqrt(s2) * _normal_quantiles(points))
        draws = np.exp(mu + math.sqrt(s2) * z) if rows is not None else None
    spread = pts.std()
    centre = pts.mean()
    out = pts if rows is None else draws
    if spread > 0:
        out = mean + (out - centre) * (std / spread)
    else:
        out = out - centre + mean
    return np.maximum(out, 0.0)


def effective_lead_time_points(lead_time, points, cycle_days):
    """Lead-time points for the stock on order when orders cross.

    The reorder point protects against the stock on order at a review
    exceeding the inventory position.  When every order has its own lead
    time and several orders are outstanding at once (orders of ``Q`` units
    every ``T = Q / d`` days), the stock on order is a sum of many orders
    each still on its way with probability ``P(L > age)``: the lead-time
    part of its variance is ``Q * d * J`` with ``J = E|L1 - L2| / 2``
    (``= integral of F(1 - F)``), i.e. a lead-time variance of ``T * J``
    instead of ``Var(L)`` -- much smaller when ``T`` is short against the
    spread of the lead time (late and early orders average out).  The
    error of the estimated mean lead time does not average out (it is the
    same for every order in transit): ``Var(L) / (n + k)`` with ``n``
    receipts and the quote worth ``k = PRIOR_LEAD_TIME_WEIGHT`` is added to
    ``T * J``.  With one order at a time (``T * J >= Var(L)``) nothing
    changes.

    Whether lead times are independent per order is read from the receipts
    (``LeadTime.crossing``): a supplier who delivers in sequence never lets
    a later order overtake an earlier one.  The variance used is
    ``(1 - w) * Var(L) + w * min(Var(L), T * J + Var(L) / (n + k))`` with
    ``w = min(1, crossing / CROSSING_FULL)``, and the points are shrunk
    around their mean to that variance.

    Args:
        lead_time: the :class:`LeadTime` (its ``crossing`` share and
            number of ``observations``).
        points: equally likely lead times (:func:`lead_time_points`).
        cycle_days: days between two orders (order quantity / daily
            demand).

    Returns:
        Array of lead times (days, >= 0), same mean, spread never larger.
    """
    pts = np.asarray(points, dtype=float)
    return _shrunk(pts, _crossing_shrink(lead_time, pts, cycle_days))


def _shrunk(values, shrink):
    """Lead times shrunk around their mean by :func:`_crossing_shrink`'s
    ``(mean, factor)`` (kept >= 0; the values themselves for a factor of
    1)."""
    mean, factor = shrink
    if factor == 1.0:
        return values
    return np.maximum(mean + (values - mean) * factor, 0.0)


def _crossing_shrink(lead_time, pts, cycle_days):
    """``(mean, factor)`` of :func:`effective_lead_time_points`.

    With a factor of 1 (nothing to shrink) the mean is not computed
    (``None``).
    """
    crossing = lead_time.crossing
    if not crossing > 0 or not cycle_days > 0 \
            or not math.isfinite(cycle_days):
        return None, 1.0
    var = float(pts.var())
    mean = float(pts.mean())
    if var <= 0:
        return mean, 1.0
    gini = float(np.abs(pts[:, None] - pts[None, :]).mean()) / 2.0
    independent = min(var, cycle_days * gini + var / (
            lead_time.observations + PRIOR_LEAD_TIME_WEIGHT))
    w = min(1.0, crossing / CROSSING_FULL)
    target = (1.0 - w) * var + w * independent
    return mean, math.sqrt(target / var)


def _lead_time_draws(lead_time, lt_points, cycle_days, rows, shrink=None):
    """Effective central points and ``rows`` lead times per point.

    Without order crossing every row is the central points (the lead-time
    mixture of :func:`lead_time_points`).  When orders cross, the
    protection demand is the stock on order, whose lead-time part is a sum
    of many independent orders (close to normal): its tail beyond the
    outer point matters at high fill rates, so each row draws its lead
    times in the strata of the points (see :func:`_lead_time_quantiles`).
    ``shrink`` is the result of :func:`_crossing_shrink` when known.
    """
    if shrink is None:
        shrink = _crossing_shrink(lead_time, lt_points, cycle_days)
    if shrink[1] == 1.0:
        return lt_points, np.broadcast_to(lt_points, (rows, lt_points.size))
    draws = _lead_time_quantiles(lead_time, lt_points.size, rows)
    return _shrunk(lt_points, shrink), _shrunk(draws, shrink)


# --------------------------------------------------------------------------
# Fill-rate reorder point
# --------------------------------------------------------------------------

def expected_shortage(samples, weights, level):
    """Expected units short ``E[(X - level)+]`` of a discrete distribution.

    Args:
        samples: values of X.
        weights: their probabilities (summing to 1).
        level: stock level.

    Returns:
        The expected shortage (float).
    """
    x = np.asarray(samples, dtype=float)
    w = np.asarray(weights, dtype=float)
    return float(np.sum(w * np.maximum(x - level, 0.0)))


def _loss_function(samples, weights):
    """Sorted samples and a vectorised ``G(y) = E[(X - y)+]``."""
    x = np.maximum(np.asarray(samples, dtype=float).ravel(), 0.0)
    w = np.asarray(weights, dtype=float).ravel()
    w = w / w.sum()
    order = np.argsort(x, kind='stable')
    x = x[order]
    w = w[order]
    # tail sums over j >= i, padded with a 0 at the end
    tw = np.zeros(x.size + 1)
    tx = np.zeros(x.size + 1)
    tw[:-1] = np.cumsum(w[::-1])[::-1]
    tx[:-1] = np.cumsum((w * x)[::-1])[::-1]

    def loss(y):
        i = np.searchsorted(x, y, side='right')
        return tx[i] - y * tw[i]
    return x, loss


def cycle_shortage(samples, weights, reorder_point, order_quantity):
    """Expected units short per replenishment cycle.

    ``G(s) - G(s + Q)`` with ``G(y) = E[(X - y)+]`` (Hadley-Whitin): the
    second term matters when Q is small against the spread of X (long or
    variable lead times, several orders outstanding).

    Args:
        samples: values of the protection-interval demand X.
        weights: their probabilities.
        reorder_point: s.
        order_quantity: Q.

    Returns:
        The expected shortage per cycle (float).
    """
    _, loss = _loss_function(samples, weights)
    s = np.asarray([reorder_point, reorder_point + order_quantity], float)
    g = loss(s)
    return float(g[0] - g[1])


def fill_rate_reorder_point(samples, weights, order_quantity, fill_rate):
    """Smallest reorder point meeting a fill rate (loss-function method).

    Per replenishment cycle the units short are ``G(s) - G(s + Q)`` with
    ``G(y) = E[(X - y)+]`` and X the demand over the protection interval
    (lead time + review period); the fill rate ``1 - shortage / Q`` reaches
    the target when the shortage is at most ``(1 - fill_rate) * Q``.  The
    shortage is piecewise linear and non-increasing in s, with breakpoints
    at the samples and the samples minus Q, so the exact solution is found
    with one sort and one vectorised evaluation.

    Args:
        samples: possible values of the protection-interval demand.
        weights: their probabilities (need not be normalised).
        order_quantity: expected quantity ordered per cycle (> 0).
        fill_rate: target fill rate in (0, 1).

    Returns:
        The reorder point (>= 0).

    Raises:
        ValueError: on empty samples, negative weights, a non-positive order
            quantity or a fill rate outside (0, 1).
    """
    if not 0.0 < fill_rate < 1.0:
        raise ValueError("fill_rate must be in (0, 1), got %r" % fill_rate)
    if not order_quantity > 0 or not math.isfinite(order_quantity):
        raise ValueError(
            "order_quantity must be > 0, got %r" % order_quantity)
    xs = np.asarray(samples, dtype=float).ravel()
    w = np.asarray(weights, dtype=float).ravel()
    if xs.size == 0 or xs.size != w.size:
        raise ValueError("samples and weights must be non-empty, same size")
    if (w < 0).any() or not w.sum() > 0 or not np.isfinite(xs).all():
        raise ValueError("weights must be >= 0 and not all zero")
    return _solve_reorder_point(xs, w, order_quantity, fill_rate)[0]


def _solve_reorder_point(xs, w, order_quantity, fill_rate):
    """Reorder point and its expected shortage per cycle (no checks)."""
    x, loss = _loss_function(xs, w)
    q = float(order_quantity)
    allowed = (1.0 - fill_rate) * q
    points = np.concatenate(([0.0], x, x - q))
    points = np.sort(points[points >= 0.0])
    h = loss(points) - loss(points + q)
    ok = h <= allowed + 1e-12
    if ok[0]:
        return 0.0, float(h[0])
    i = int(np.argmax(ok))
    if not ok[i]:
        return float(points[-1]), float(h[-1])
    # h is linear between points[i-1] and points[i]
    h0, h1 = h[i - 1], h[i]
    p0, p1 = points[i - 1], points[i]
    if h0 <= h1 or p1 <= p0:
        return float(p1), float(h1)
    return float(p0 + (h0 - allowed) / (h0 - h1) * (p1 - p0)), float(allowed)


def normal_safety_stock(mean_daily, std_daily, lead_time_mean, lead_time_std,
        order_quantity, fill_rate, review_period=0.0):
    """Fill-rate safety stock under a normal lead-time demand.

    Protection-interval demand ``X ~ N(mu, sigma)`` with ``mu = d*(L+R)``,
    ``sigma = sqrt((L+R)*sd^2 + d^2*sL^2)``; the safety stock ``k*sigma``
    solves ``sigma * G(k) = (1 - fill_rate) * Q`` with G the standard
    normal loss function (k may be negative for large Q, it is floored at
    0 here).  Used as a reference and in tests; the entry point uses the
    empirical distribution.

    Args:
        mean_daily: mean daily demand (>= 0).
        std_daily: standard deviation of the daily demand (>= 0).
        lead_time_mean: mean lead time (days, >= 0).
        lead_time_std: standard deviation of the lead time (>= 0).
        order_quantity: order quantity (> 0).
        fill_rate: target fill rate in (0, 1).
        review_period: review period (days, >= 0).

    Returns:
        The safety stock (>= 0).
    """
    for name, value in (('mean_daily', mean_daily),
            ('std_daily', std_daily), ('lead_time_mean', lead_time_mean),
            ('lead_time_std', lead_time_std),
            ('review_period', review_period)):
        if not value >= 0:
            raise ValueError("%s must be >= 0, got %r" % (name, value))
    if not 0.0 < fill_rate < 1.0:
        raise ValueError("fill_rate must be in (0, 1), got %r" % fill_rate)
    if not order_quantity > 0:
        raise ValueError("order_quantity must be > 0")
    p = lead_time_mean + review_period
    sigma = math.sqrt(
        p * std_daily ** 2 + mean_daily ** 2 * lead_time_std ** 2)
    if sigma <= 0:
        return 0.0
    target = (1.0 - fill_rate) * order_quantity / sigma

    def loss(k):
        return _NORMAL.pdf(k) - k * (1.0 - _NORMAL.cdf(k))

    if loss(0.0) <= target:
        return 0.0
    lo, hi = 0.0, 8.0
    for _ in range(60):
        mid = (lo + hi) / 2
        if loss(mid) > target:
            lo = mid
        else:
            hi = mid
    return hi * sigma


# --------------------------------------------------------------------------
# Order quantity
# --------------------------------------------------------------------------

def economic_order_quantity(annual_demand, ordering_cost, unit_cost,
        holding_rate):
    """Wilson's economic order quantity ``sqrt(2 D K / (h c))``.

    Args:
        annual_demand: demand per year (>= 0).
        ordering_cost: cost of placing one order (>= 0).
        unit_cost: cost of one unit (>= 0).
        holding_rate: holding cost per year as a fraction of the unit cost.

    Returns:
        The EOQ; 0 without demand or ordering cost, ``inf`` when holding is
        free.
    """
    if annual_demand <= 0 or ordering_cost <= 0:
        return 0.0
    h = holding_rate * unit_cost
    if h <= 0:
        return math.inf
    return math.sqrt(2.0 * annual_demand * ordering_cost / h)


def round_order_quantity(quantity, pack_multiple=1.0,
        minimum_order_quantity=0.0):
    """Round an order quantity up to the pack multiple, at least the MOQ.

    Args:
        quantity: wanted quantity (>= 0); 0 stays 0 (nothing to order).
        pack_multiple: supplier's pack size (> 0).
        minimum_order_quantity: supplier's minimum order (>= 0).

    Returns:
        The smallest multiple of ``pack_multiple`` that is >= ``quantity``
        and >= ``minimum_order_quantity`` (0 when ``quantity`` is 0).

    Raises:
        ValueError: on a non-positive pack or negative quantities.
    """
    if not pack_multiple > 0:
        raise ValueError("pack_multiple must be > 0, got %r" % pack_multiple)
    if not minimum_order_quantity >= 0:
        raise ValueError("minimum_order_quantity must be >= 0")
    if not quantity >= 0:
        raise ValueError("quantity must be >= 0, got %r" % quantity)
    if quantity == 0:
        return 0.0
    wanted = max(quantity, minimum_order_quantity)
    packs = math.ceil(wanted / pack_multiple - 1e-9)
    return float(max(1, packs) * pack_multiple)


# --------------------------------------------------------------------------
# Dampening
# --------------------------------------------------------------------------

def _dampen_step(old, new, threshold, max_change, min_abs_change,
        reference):
    """:func:`dampen` with how the value came: ``(value, how, step)``,
    ``how`` one of ``new`` (no value in force), ``kept`` (a change below
    the threshold), ``taken`` (within the step) or ``capped`` (moved by
    ``step`` toward ``new``)."""
    if not 0 <= threshold:
        raise ValueError("threshold must be >= 0")
    if not 0 <= max_change:
        raise ValueError("max_change must be >= 0")
    if not new >= 0:
        raise ValueError("new must be >= 0, got %r" % new)
    if old is None or old <= 0:
        return float(new), 'new', None
    change = new - old
    if abs(change) < max(threshold * old, min_abs_change):
        return float(old), 'kept', None
    step = max_change * max(old, new, reference)
    lo = max(old - step, 0.0)
    hi = old + step
    value = float(min(max(new, lo), hi))
    return value, 'taken' if value == new else 'capped', step


def dampen(old, new, threshold=0.05, max_change=0.5, min_abs_change=0.0,
        reference=0.0):
    """Stabilise a value re-computed at every run.

    Args:
        old: value currently in force (``None`` when there is none).
        new: freshly computed value (>= 0).
        threshold: relative change (of ``old``) below which ``old`` is kept.
        max_change: largest relative change per run: the result lies in
            ``[old - step, old + step]`` with ``step = max_change *
            max(old, new, reference)``, and never beyond ``new`` nor
            below 0.  A fall moves by at most ``max_change`` of the old
            value, a rise by at most ``max_change`` of the new one (with
            0.5: a value at most doubles at once; from next to 0 it
            reaches half the new value in one run, not in many runs of
            +50 % of next to nothing).
        min_abs_change: absolute change below which ``old`` is kept.
        reference: a value the step may also be relative to (the
            reorder point's order quantity, see
            :func:`dampen_order_point`).

    Returns:
        The value to apply.  Without an old value (``None``) or when the old
        value is 0, ``new`` is returned as is (nothing to stabilise yet).
    """
    return _dampen_step(
        old, new, threshold, max_change, min_abs_change, reference)[0]


def season_ratio(old_index, new_index):
    """How far the yearly season moved the demand since the values in
    force were set: ``new_index / old_index`` (the explanations'
    ``seasonal_index``), within ``[1 / MAX_SEASON_STEP,
    MAX_SEASON_STEP]``; 1 when either is unknown or not positive."""
    try:
        old_index, new_index = float(old_index), float(new_index)
    except (TypeError, ValueError):
        return 1.0
    if not (old_index > 0 and new_index > 0) \
            or not math.isfinite(old_index / new_index):
        return 1.0
    return min(max(new_index / old_index, 1.0 / MAX_SEASON_STEP),
        MAX_SEASON_STEP)


def dampen_order_point(old_min, old_target, new_min, new_target,
        threshold=0.05, max_change=0.5, min_abs_change=0.0, season=1.0):
    """Dampen a (min_quantity, target_quantity) pair.

    Each value is dampened with :func:`dampen`, the reorder point with the
    order quantity in force (``old_target - old_min``) as its
    ``reference``: a reorder point far below its order quantity (a slow
    or seasonal item) moves by up to ``max_change`` of the larger of that
    quantity and its old and new values per run.  The gap ``target -
    min`` is then kept at least ``new_target - new_min`` capped like the
    values, so that the order-up-to level stays above the reorder point.

    The dampening is against noise, not against the calendar: the
    reorder point in force is first carried along the yearly season,
    multiplied by ``season`` (:func:`season_ratio` of the seasonal index
    it was set for and the new one), so that an item whose fitted season
    starts is not held at half a step per run behind it; the order
    quantity in force (``old_target - old_min``) is kept as it is (it
    follows three months of demand under a square root, not the coming
    lead time).

    Args:
        old_min: reorder point in force (or ``None``).
        old_target: order-up-to level in force (or ``None``).
        new_min: new reorder point.
        new_target: new order-up-to level (>= new_min).
        threshold, max_change, min_abs_change: see :func:`dampen`.
        season: factor applied to the values in force first (1: none).

    Returns:
        ``(min_quantity, target_quantity)``.
    """
    return _dampened(old_min, old_target, new_min, new_target, threshold,
        max_change, min_abs_change, season)[:2]


class Dampened(NamedTuple):
    """What :func:`dampen_order_point` did, step by step.

    Attributes:
        min_quantity, target_quantity: the dampened values.
        old_min, old_target: the values in force it started from, carried
            along the season (``None``: none in force).
        season: the season's factor applied to them.
        min_how, target_how: ``new``, ``kept``, ``taken`` or ``capped``
            (see :func:`_dampen_step`).
        min_step, target_step: the largest change allowed (``None`` when
            not ``taken`` nor ``capped``).
        reference: the order quantity in force (the reorder point's step
            is relative to it too).
        gap: the order quantity the order-up-to level keeps at least.
        widened: the order-up-to level dampened alone, before it was
            raised to ``min + gap`` (``None`` when it was not).
    """
    min_quantity: float
    target_quantity: float
    old_min: float
    old_target: float
    season: float
    min_how: str
    min_step: float
    target_how: str
    target_step: float
    reference: float
    gap: float
    widened: float


def _dampened(old_min, old_target, new_min, new_target, threshold=0.05,
        max_change=0.5, min_abs_change=0.0, season=1.0):
    "Return the :class:`Dampened` of :func:`dampen_order_point`"
    if new_target < new_min:
        raise ValueError("new_target must be >= new_min")
    if not season > 0 or not math.isfinite(season):
        raise ValueError("season must be a positive number")
    if season != 1.0 and old_min is not None:
        # the reorder point follows the demand of the coming lead time,
        # the order quantity that of three months under a square root:
        # only the reorder point is carried, the lot stays as it is
        lot = old_target - old_min if old_target is not None else None
        old_min = old_min * season
        if lot is not None:
            old_target = old_min + lot
    # the reorder point moves by up to max_change of the order quantity
    # in force when it is smaller (a season starting from next to 0)
    reference = max(old_target - old_min, 0.0) \
        if old_min is not None and old_target is not None else 0.0
    s, s_how, s_step = _dampen_step(old_min, new_min, threshold,
        max_change, min_abs_change, reference)
    big_s, big_how, big_step = _dampen_step(old_target, new_target,
        threshold, max_change, min_abs_change, 0.0)
    gap_new = new_target - new_min
    if old_min is not None and old_target is not None:
        gap_old = max(old_target - old_min, 0.0)
        gap = dampen(gap_old if gap_old > 0 else None, gap_new, threshold,
            max_change, min_abs_change)
    else:
        gap = gap_new
    widened = None
    if big_s < s + gap:
        widened, big_s = big_s, s + gap
    return Dampened(s, big_s, old_min, old_target, season, s_how, s_step,
        big_how, big_step, reference, gap, widened)


def _ceil_to(value, step):
    "Round value up to a multiple of step (within a tolerance)"
    if not step or step <= 0:
        return value
    return math.ceil(value / step - 1e-9) * step


def quantity_text(value):
    """A quantity as the explanations write it: up to two decimals from
    1 on (``24.77``, ``3``), three significant digits below (``0.773``)."""
    if value is None:
        return "none"
    if not math.isfinite(value):
        return "%s" % value
    if abs(value) >= 1:
        text = '%.2f' % value
    else:
        text = '%.3g' % value
    if '.' in text and 'e' not in text:
        text = text.rstrip('0').rstrip('.')
    return '0' if text == '-0' else text


class Levels(NamedTuple):
    """Result of :func:`settle_levels`.

    Attributes:
        min_quantity: the minimal quantity to write.
        target_quantity: the target quantity to write.
        dampened: the :class:`Dampened` steps (``None`` when the values
            in force are kept exactly).
        text: what was computed, dampened and written, and why.
    """
    min_quantity: float
    target_quantity: float
    dampened: Dampened
    text: str


def settle_levels(old_min, old_target, new_min, new_target, rounding=None,
        pack=None, threshold=0.05, max_change=0.5, season=1.0):
    """The levels to write on an order point: dampened, then rounded.

    The dampening is :func:`dampen_order_point` from the values in force
    **at the start of the day** (those before the day's first tuning):
    every run of a day dampens from the same values, so that running the
    tuning again on the same data writes the same levels with the same
    text (a second run from the values the first one wrote would move
    them again, by ``max_change`` of what is left, and the dampening
    would compound with every click).  ``max_change`` is thus the largest
    change of a value in one day.  Then the minimal quantity is rounded
    up to the unit's ``rounding``, the order quantity (the gap to the
    target) up to the ``pack`` multiple; values the dampening keeps are
    kept exactly.

    Args:
        old_min, old_target: the values in force at the start of the day
            (0 / 0 or ``None``: none, the computed values are taken).
        new_min, new_target: the computed reorder point and order-up-to
            level.
        rounding: the unit's rounding (``None`` or 0: none).
        pack: the supplier's pack multiple (``None`` or 0: none).
        threshold, max_change, season: see :func:`dampen_order_point`.

    Returns:
        A :class:`Levels`.
    """
    if not old_min and not old_target:
        old_min = old_target = None
    steps = _dampened(old_min, old_target, new_min, new_target,
        threshold=threshold, max_change=max_change, season=season)
    low, high = steps.min_quantity, steps.target_quantity
    kept = (old_min is not None and low == old_min
        and high == old_target)
    if kept:
        low, high = float(old_min), float(old_target)
    else:
        low = _ceil_to(low, rounding)
        gap = max(high - low, 0.0)
        if gap > 0:
            gap = _ceil_to(gap, max(pack or 0, rounding or 0) or 1.0)
        high = _ceil_to(low + gap, rounding)
        digits = max(0, -int(math.floor(math.log10(rounding)))) \
            if rounding else 6
        low, high = round(low, digits), round(high, digits)
    text = _levels_text(old_min, old_target, new_min, new_target, steps,
        low, high, kept, rounding, pack, threshold, max_change)
    return Levels(low, high, None if kept else steps, text)


def _levels_text(old_min, old_target, new_min, new_target, steps, low,
        high, kept, rounding, pack, threshold, max_change):
    "The text of :func:`settle_levels`"
    q = quantity_text
    pct = '%.4g %%' % (100 * max_change)
    if old_min is None:
        sentences = ["No minimal or target quantity in force: the computed"
            " values are taken."]
    else:
        sentences = ["Dampening from the values in force before today's"
            " tuning, minimal %s and target %s (changes under %.4g %% are"
            " ignored, a value moves by at most %s a day):" % (
                q(old_min), q(old_target), 100 * threshold, pct)]
        if steps.season != 1.0:
            sentences.append("carried along the yearly season (x%.2f"
                " since they were set) to minimal %s, target %s;" % (
                    steps.season, q(steps.old_min), q(steps.old_target)))

        def value(name, how, computed, in_force, result, bases):
            if how == 'kept':
                return "the %s %s is within %.4g %% of the %s in force:" \
                    " kept" % (name, q(computed), 100 * threshold,
                        q(in_force))
            base = max(bases, key=lambda b: b[1])
            allowed = "%s of %s, %s" % (pct, q(base[1]), base[0])
            if how == 'new':
                return "the %s %s is taken (none in force)" % (
                    name, q(computed))
            if how == 'taken':
                return "the %s %s is taken (within %s)" % (
                    name, q(computed), allowed)
            return "the %s %s is not reached: it moves from %s to %s" \
                " (%s)" % (name, q(computed), q(in_force), q(result),
                    allowed)
        parts = [
            value('reorder point', steps.min_how, new_min, steps.old_min,
                steps.min_quantity, [
                    ("the computed value", new_min),
                    ("the order quantity in force", steps.reference),
                    ("the value in force", steps.old_min)]),
            value('order-up-to level', steps.target_how, new_target,
                steps.old_target, steps.widened
                if steps.widened is not None else steps.target_quantity, [
                    ("the computed value", new_target),
                    ("the value in force", steps.old_target)]),
            ]
        if steps.widened is not None \
                and q(steps.widened) != q(steps.target_quantity):
            parts.append("the order-up-to level is raised to %s to keep an"
                " order quantity of %s" % (
                    q(steps.target_quantity), q(steps.gap)))
        sentences.append('; '.join(parts) + '.')
    if kept:
        sentences.append("Written: minimal %s, target %s (the values in"
            " force)." % (q(low), q(high)))
    else:
        rounded = []
        if rounding:
            rounded.append("the minimal quantity up to the unit (%s)"
                % q(rounding))
        if pack and pack > (rounding or 0):
            rounded.append("the order quantity up to the pack (%s)"
                % q(pack))
        sentences.append("Written%s: minimal %s, target %s." % (
                " after rounding " + " and ".join(rounded)
                if rounded else "", q(low), q(high)))
    return ' '.join(sentences)


# --------------------------------------------------------------------------
# ABC
# --------------------------------------------------------------------------

def abc_classify(consumption_values, thresholds=(0.80, 0.15, 0.05)):
    """ABC classification by share of consumption value.

    Items are sorted by decreasing value; an item is ``'A'`` when the
    cumulative share of the items *before* it is below ``thresholds[0]``,
    ``'B'`` when below ``thresholds[0] + thresholds[1]``, else ``'C'``; items
    of value 0 are ``'C'``.  So the A items are the fewest items reaching
    80% of the value, and so on.  Ties keep the input order.

    Args:
        consumption_values: mapping key -> value, or a sequence of values
            (each >= 0), e.g. yearly usage x unit cost.
        thresholds: shares of A, B and C; positive, summing to 1.

    Returns:
        A dict key -> class for a mapping, else a tuple of classes in input
        order.

    Raises:
        ValueError: on negative values or bad thresholds.
    """
    if len(thresholds) != 3 or any(t < 0 for t in thresholds) \
            or abs(sum(thresholds) - 1.0) > 1e-9:
        raise ValueError("thresholds must be 3 shares >= 0 summing to 1")
    if isinstance(consumption_values, Mapping):
        keys = list(consumption_values.keys())
        values = [consumption_values[k] for k in keys]
    else:
        keys = None
        values = list(consumption_values)
    v = np.asarray(values, dtype=float)
    if v.size and (not np.isfinite(v).all() or (v < 0).any()):
        raise ValueError("consumption values must be finite and >= 0")
    classes = ['C'] * v.size
    total = v.sum() if v.size else 0.0
    if total > 0:
        order = np.argsort(-v, kind='stable')
        before = np.concatenate(([0.0], np.cumsum(v[order])[:-1])) / total
        a_cut = thresholds[0]
        b_cut = thresholds[0] + thresholds[1]
        labels = np.where(before < a_cut - 1e-12, 'A',
            np.where(before < b_cut - 1e-12, 'B', 'C'))
        labels[v[order] <= 0] = 'C'
        placed = np.empty_like(labels)
        placed[order] = labels
        classes = placed.tolist()
    if keys is not None:
        return dict(zip(keys, classes))
    return tuple(classes)


def fill_rate_for_class(abc_class, targets=None):
    """Target fill rate of an ABC class (0.98 / 0.95 / 0.90 by default).

    Args:
        abc_class: ``'A'``, ``'B'`` or ``'C'``.
        targets: optional mapping class -> fill rate.

    Returns:
        The fill rate.
    """
    targets = DEFAULT_CLASS_FILL_RATES if targets is None else targets
    try:
        return targets[abc_class]
    except KeyError:
        raise ValueError("unknown ABC class %r" % (abc_class,))


# --------------------------------------------------------------------------
# Entry point
# --------------------------------------------------------------------------

@dataclass(frozen=True)
class Explanation:
    """Why the order point is what it is (see docs/replenishment.md).

    Attributes:
        model: chosen demand model (``none`` without demand).
        model_error: its relative out-of-sample RMSE over windows of
            ``eval`` days (nan when the history was too short to score).
        candidate_errors: ``((model, error), ...)`` of all candidates.
        demand_class: smooth / erratic / intermittent / lumpy / none.
        weekly_seasonality: a day-of-week profile is applied.
        yearly_seasonality: a day-of-year profile is applied.
        seasonal_index: mean profile factor over the coming protection
            days (whole weeks) over its mean over the last 52 weeks; 1
            without a yearly profile.  The dampening of the next run
            carries the values in force along the season by the ratio of
            its index to this one (see :func:`dampen_order_point`).
        history_days: days of history used.
        censored_days: stockout days among them.
        mean_daily_demand: forecast mean over the next ``EOQ_RATE_DAYS``.
        forecast_daily: forecast demand per day from today on.
        lead_time_mean: lead time used (days).
        lead_time_std: its standard deviation.
        lead_time_observations: receipts used.
        lead_time_source: ``quoted``, ``blend`` or ``history``.
        review_period: review period (days).
        protection_days: ``lead_time_mean + review_period``.
        lead_time_demand: forecast demand over the mean lead time.
        protection_demand: mean of the demand the reorder point covers
            (lead-time demand + undershoot + forecast bias).
        safety_stock: ``reorder_point - protection_demand``.
        distribution: ``empirical`` or ``lognormal`` (short history).
        fill_rate_target: the target fill rate.
        expected_fill_rate: fill rate predicted for the result.
        annual_demand: ``mean_daily_demand * 365``.
        eoq: economic order quantity.
        order_quantity: ``order_up_to - reorder_point`` (rounded to the
            pack multiple, at least the MOQ).
        reorder_point: the ``min_quantity``.
        order_up_to: the ``target_quantity``.
        text: human-readable summary.
    """
    model: str
    model_error: float
    candidate_errors: Tuple[Tuple[str, float], ...]
    demand_class: str
    weekly_seasonality: bool
    yearly_seasonality: bool
    seasonal_index: float
    history_days: int
    censored_days: int
    mean_daily_demand: float
    forecast_daily: Tuple[float, ...]
    lead_time_mean: float
    lead_time_std: float
    lead_time_observations: int
    lead_time_source: str
    review_period: float
    protection_days: float
    lead_time_demand: float
    protection_demand: float
    safety_stock: float
    distribution: str
    fill_rate_target: float
    expected_fill_rate: float
    annual_demand: float
    eoq: float
    order_quantity: float
    reorder_point: float
    order_up_to: float
    text: str


class OrderPoint(NamedTuple):
    """Result of :func:`compute_order_point`.

    Attributes:
        reorder_point: the stock_supply ``min_quantity``.
        order_up_to: the stock_supply ``target_quantity``.
        explanation: an :class:`Explanation`.
    """
    reorder_point: float
    order_up_to: float
    explanation: Explanation


def _check_number(name, value, minimum=0.0, strict=False):
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError("%s must be a number, got %r" % (name, value))
    if not math.isfinite(v) or v < minimum or (strict and v <= minimum):
        raise ValueError("%s must be a finite number %s %s, got %r" % (
                name, '>' if strict else '>=', minimum, value))
    return v


def _undershoot(forecast, review_period, size, future_daily):
    """Samples of the undershoot of the inventory position below s.

    When a review finds the position at or below s it is, on average, below
    it by the *equilibrium excess* of the demand between two reviews: its
    density is ``P(D_R > u) / E[D_R]``, sampled as a uniform fraction of a
    size-biased draw of the review-period demand ``D_R``.  This is where
    the review period enters the reorder point (about half the review
    period demand for smooth items, much more for lumpy ones).

    Returns:
        Array of ``size`` undershoot samples (deterministic).
    """
    y, m = forecast._y, forecast._m
    r = max(1, int(round(review_period)))
    if y is None or y.size == 0:
        return np.zeros(size)
    lo = max(0, y.size - 365)
    yy = y[lo:]
    mm = m[lo:] > 0
    if r == 1:
        z, keep = np.where(mm, yy, 0.0), mm
    else:
        c = np.concatenate(([0.0], np.cumsum(np.where(mm, yy, 0.0))))
        cm = np.concatenate(([0], np.cumsum(mm)))
        if yy.size < r:
            return np.zeros(size)
        sums = c[r:] - c[:-r]
        counts = cm[r:] - cm[:-r]
        keep = counts > 0
        with np.errstate(invalid='ignore', divide='ignore'):
            z = np.where(keep, sums * r / np.maximum(counts, 1), 0.0)
    if forecast.demand_class not in ('intermittent', 'lumpy'):
        z = _single_event_cap(z[:, None], keep[:, None],
            np.arange(z.size), np.array([r]))[:, 0]
    z = z[keep]
    total = z.sum()
    if z.size == 0 or total <= 0:
        return np.zeros(size)
    ratio = future_daily * r / (total / z.size)
    ratio = min(max(ratio, 0.5), 2.0) if math.isfinite(ratio) else 1.0
    cum = np.cumsum(z) / total
    reps = -(-size // _UNIFORM.shape[1])
    u1 = np.tile(_UNIFORM[0], reps)[:size]
    u2 = np.tile(_UNIFORM[1], reps)[:size]
    picked = z[np.minimum(np.searchsorted(cum, u1), z.size - 1)]
    return u2 * picked * ratio


def _error_window(forecast):
    """``(span days, max origins, half-life)`` of the past window errors.

    Intermittent demand has few occurrences a year and its level changes
    are mostly noise: its errors are taken over two years with a slower
    decay, so the tail of the lead-time demand (several occurrences in one
    lead time) is estimated from more events.
    """
    if forecast.demand_class in ('intermittent', 'lumpy'):
        return (INTERMITTENT_ERROR_SPAN, INTERMITTENT_ERROR_ORIGINS,
            INTERMITTENT_ERROR_HALF_LIFE)
    return ERROR_SPAN, ERROR_ORIGINS, ERROR_HALF_LIFE


def _protection_samples(forecast, lead_time, lt_points, review_period,
        cycle_days):
    """Distribution of the demand a reorder point must cover.

    ``X = D(L) + U``: demand over the lead time L (mixed over the
    lead-time points, see :func:`effective_lead_time_points`) plus the
    undershoot U (see :func:`_undershoot`).  Each historical window error
    of the length of a point is added to the forecast over a lead time
    drawn in the stratum of that point.

    Returns:
        ``(samples, weights, method, protection_demand, mean_undershoot)``.
    """
    base_points = lt_points
    lt_points = effective_lead_time_points(
        lead_time, lt_points, cycle_days)
    lengths = np.maximum(1, np.rint(lt_points)).astype(int)
    periods = np.maximum(lt_points, 0.0)
    future = forecast.future_sum(periods)
    k = lengths.size
    uniq = np.unique(lengths)
    span, max_origins, half_life = _error_window(forecast)
    fc, err, valid, origins = forecast.window_errors(
        uniq, max_origins, with_origins=True, span=span)
    col = np.searchsorted(uniq, lengths)
    counts = valid.sum(axis=0) if valid.size else np.zeros(uniq.size, int)
    future_daily = float(future.sum() / max(periods.sum(), 1e-9)) \
        if periods.sum() > 0 else float(forecast.path[:7].mean())
    if valid.shape[0] and counts.min() >= MIN_WINDOWS:
        fc = fc[:, col]
        err = err[:, col]
        valid = valid[:, col]
        if forecast.demand_class in ('intermittent', 'lumpy'):
            # level changes of intermittent items are mostly estimation
            # noise: past errors are used as they are
            scale = 1.0
        else:
            err = _single_event_cap(err, valid, origins, lengths)
            scale = _error_scale(fc, err, valid, future)
        _, draws = _lead_time_draws(lead_time, base_points, cycle_days,
            err.shape[0])
        # recent windows weigh more: the error distribution follows
        # changes of regime (launch, decline) within months
        age = forecast.n - origins
        recency = 0.5 ** (age / half_life)
        weights = np.where(valid, recency[:, None], 0.0)
        if forecast.demand_class not in ('intermittent', 'lumpy'):
            weights = weights * _level_kernel(fc, future[None, :])
        weights = weights / np.maximum(weights.sum(0), 1e-300)[None, :] / k
        err = err * scale
        if forecast.demand_class not in ('intermittent', 'lumpy'):
            step = float(origins[1] - origins[0]) \
                if origins.size > 1 else 1.0
            err = _recent_bias(err, valid, weights, age[:, None],
                np.maximum(1.0, lengths / step))
        samples = forecast.future_sum(draws) + err
        method = 'empirical'
    else:
        samples, weights = _lognormal_samples(forecast, periods, future)
        method = 'lognormal'
    samples = np.maximum(samples, 0.0).ravel()
    weights = weights.ravel()
    under = _undershoot(forecast, review_period, samples.size, future_daily)
    samples = samples + under
    protection_demand = float(np.sum(weights * samples) / weights.sum())
    return samples, weights, method, protection_demand, float(under.mean())


def _single_event_cap(err, valid, origins, lengths):
    """Window errors no larger than what two separate events show.

    One bulk order or a promotion seen once makes a cluster of large
    errors in the windows that contain it.  Taken as they are, they say
    that such an event recurs in the same share of the future windows, and
    a fill-rate target then covers it: months of stock for one event.  The
    errors are capped at the largest error of the windows that start at
    least ``length + EVENT_GAP`` days away from the worst one, so the tail
    needs two separate events to be covered; a demand level seen twice is
    kept whole.

    Works on the last two axes (windows, points) of ``err`` and ``valid``,
    with ``origins`` (..., windows) and ``lengths`` (..., points).
    """
    # windows last (the reductions along the last axis are the fast ones)
    e = np.moveaxis(err, -2, -1).copy()
    np.copyto(e, -np.inf, where=~np.moveaxis(valid, -2, -1))
    top = np.argmax(e, axis=-1)
    # the origins are evenly spaced (windows past the real ones are not
    # valid): the windows at least ``length + EVENT_GAP`` days from the
    # worst one are those at least ``d`` places from it
    first = origins[..., :1]
    step = np.maximum(origins[..., 1:2] - first, 1) \
        if origins.shape[-1] > 1 else np.ones_like(first)
    d = -(-(lengths + EVENT_GAP) // step)
    place = np.arange(e.shape[-1])
    np.copyto(e, -np.inf, where=(place > (top - d)[..., None])
        & (place < (top + d)[..., None]))
    second = e.max(axis=-1) if e.shape[-1] else np.full(top.shape, -np.inf)
    cap = np.where(np.isfinite(second), np.maximum(second, 0.0), np.inf)
    return np.minimum(err, cap[..., None, :])


def _recent_bias(err, valid, weights, age, overlap=1.0):
    """Errors whose mean (the model's bias) is the recent one.

    The spread and tail of the window errors need many windows (a year,
    half-life ``ERROR_HALF_LIFE``), but a bias of the model (a launch
    under-forecast while demand was growing, an over-forecast after a
    drop) is a matter of the last weeks: the errors are re-centred on
    their mean with the half-life ``BIAS_HALF_LIFE``.  That recent mean
    rests on few independent windows (overlapping windows of ``L`` days
    from origins ``step`` days apart count about ``step / L`` each): the
    shift from the long mean is shrunk by ``d^2 / (d^2 + se^2)``, ``se``
    its standard error, so a stable item is not moved around by the noise
    of the last weeks while a real bias (several standard errors) is
    kept.  Works on the last two axes (windows, points) of arrays with
    any leading axes; ``age`` broadcasts against ``err``; ``overlap``
    (``max(1, L / step)`` per point) against the points axis.
    """
    w_long = weights
    w_recent = np.where(valid, 0.5 ** (age / BIAS_HALF_LIFE), 0.0)
    with np.errstate(invalid='ignore', divide='ignore'):
        long_sum = np.maximum(w_long.sum(-2), 1e-300)
        long_mean = (w_long * err).sum(-2) / long_sum
        recent_sum = w_recent.sum(-2)
        recent_mean = (w_recent * err).sum(-2) / np.maximum(
            recent_sum, 1e-300)
        dev = err - long_mean[..., None, :]
        var = (w_long * dev * dev).sum(-2) / long_sum
        share = (w_recent * w_recent).sum(-2) / np.maximum(
            recent_sum * recent_sum, 1e-300)
        se2 = var * np.minimum(share * overlap, 1.0)
        shift = np.where(recent_sum > 0, recent_mean - long_mean, 0.0)
        d2 = shift * shift
        shift = np.where(d2 + se2 > 0, shift * d2 / np.maximum(
                d2 + se2, 1e-300), 0.0)
    return err + shift[..., None, :]


def _level_kernel(fc, future):
    """Weight of past windows by how close their level is to the coming one.

    The variance function rescales a past error to the coming level, but
    it is a two-parameter model: the errors of windows made at a very
    different level (a launch, before a ramp, the other season) also
    carry what was particular to that level (the lag of a model chasing
    growth is a relative error that the rescaling multiplies).  Windows
    are weighted by a Gaussian kernel in ``log(forecast)`` of bandwidth
    ``LEVEL_BANDWIDTH`` (one unit added to both sums for small counts):
    1.5 times or two thirds of the coming level keeps 72 % of the weight,
    half or twice 38 %, a promotion at five times the level
    ``LEVEL_FLOOR`` (2 %).  The floor keeps a level never seen before (a
    step far above the past) from resting on the few nearest windows:
    when every window is far, they count alike.
    """
    with np.errstate(invalid='ignore', divide='ignore'):
        d = np.log((fc + 1.0) / (future + 1.0)) / LEVEL_BANDWIDTH
    return np.maximum(np.exp(-0.5 * d * d), LEVEL_FLOOR)


def _variance_fit(fc, err, valid, axis):
    """Fit ``v(F) = a F + b F^2`` (a, b >= 0) of the window errors against
    the window forecasts, summing over ``axis``.

    Returns:
        (a, b, ok): the coefficients and where the fit is usable.
    """
    e2 = np.where(valid, err * err, 0.0)
    f1 = np.where(valid, fc, 0.0)
    f2 = f1 * f1
    s11 = (f1 * f1).sum(axis)
    s12 = (f1 * f2).sum(axis)
    s22 = (f2 * f2).sum(axis)
    r1 = (f1 * e2).sum(axis)
    r2 = (f2 * e2).sum(axis)
    det = s11 * s22 - s12 * s12
    with np.errstate(invalid='ignore', divide='ignore'):
        a = np.where(det > 0, (r1 * s22 - r2 * s12) / det, 0.0)
        b = np.where(det > 0, (r2 * s11 - r1 * s12) / det, 0.0)
        a1 = np.where(s11 > 0, r1 / s11, 0.0)
        b1 = np.where(s22 > 0, r2 / s22, 0.0)
    neg_a = a < 0
    neg_b = b < 0
    a = np.where(neg_a, 0.0, np.where(neg_b, a1, a))
    b = np.where(neg_a, b1, np.where(neg_b, 0.0, b))
    return a, b, (a + b) > 0


def _error_scale(fc, err, valid, future):
    """Rescale past window errors to the coming demand level.

    Fits the variance function ``v(F) = a F + b F^2`` (a, b >= 0) of the
    window errors against the window forecasts and returns
    ``sqrt(v(F_future) / v(F_past))`` clipped to [1/3, 3].
    """
    a, b, ok = _variance_fit(fc, err, valid, axis=0)
    v_now = a * fc + b * fc * fc
    v_fut = a * future + b * future * future
    with np.errstate(invalid='ignore', divide='ignore'):
        scale = np.sqrt(np.where(v_now > 0, v_fut / v_now, 1.0))
    return np.where(ok, np.clip(scale, 1.0 / 3.0, 3.0), 1.0)


def _lognormal_samples(forecast, periods, future):
    """Lognormal lead-time demand for short histories."""
    y, m = forecast._y, forecast._m
    valid_days = y[m > 0] if y is not None else np.zeros(0)
    mean_daily = float(forecast.path[:max(7, int(periods.max()))].mean())
    if valid_days.size >= 7:
        var_daily = float(valid_days.var(ddof=1))
        n_eff = valid_days.size
    else:
        var_daily = 2.0 * mean_daily
        n_eff = max(1, valid_days.size)
    var_daily = max(var_daily, mean_daily)
    var = periods * var_daily + periods * periods * var_daily / n_eff
    with np.errstate(invalid='ignore', divide='ignore'):
        s2 = np.where(future > 0, np.log1p(var / np.maximum(
                    future, 1e-300) ** 2), 0.0)
    mu = np.log(np.maximum(future, 1e-300)) - s2 / 2
    samples = np.exp(mu[:, None] + np.sqrt(s2)[:, None]
        * _LOGNORMAL_Z[None, :])
    samples = np.where(future[:, None] > 0, samples, 0.0)
    weights = np.full(samples.shape, 1.0 / samples.size)
    return samples, weights


def compute_order_point(sales, stockout, received_orders, quoted_lead_time,
        unit_cost, pack_multiple=1.0, minimum_order_quantity=0.0,
        fill_rate=0.95, review_period=1.0, ordering_cost=0.0,
        holding_rate=0.25, today=None):
    """Compute the reorder point and order-up-to level of one product.

    Args:
        sales: daily demand (sales net of customer returns), oldest first;
            element ``i`` is the day ``today - len(sales) + i`` (the last one
            is yesterday).  Numbers >= 0.
        stockout: one flag per day of ``sales``: true when the product was
            out of stock that day (the day is censored: its sales are not
            taken as the demand).
        received_orders: ``(order_date, receipt_date)`` pairs of received
            purchase orders (``datetime.date``), or an integer array
            ``(m, 2)`` of their ordinals (``date.toordinal()``).
        quoted_lead_time: supplier's quoted lead time (days, >= 0).
        unit_cost: cost of one unit (>= 0).
        pack_multiple: supplier's pack size (> 0).
        minimum_order_quantity: supplier's minimum order quantity (>= 0).
        fill_rate: target fill rate (share of demanded units served from
            stock), in (0, 1).
        review_period: days between two checks of the order point (>= 0).
        ordering_cost: cost of placing one order (>= 0).
        holding_rate: holding cost per year as a fraction of unit cost
            (>= 0).
        today: ``datetime.date`` of the computation (required).

    Returns:
        An :class:`OrderPoint` ``(reorder_point, order_up_to, explanation)``.

    Raises:
        ValueError: on negative or non-finite quantities, mismatched lengths
            of ``sales`` and ``stockout``, a fill rate outside (0, 1), a
            non-positive pack multiple, bad dates.
    """
    prepared = _prepare(sales, stockout, received_orders, quoted_lead_time,
        unit_cost, pack_multiple, minimum_order_quantity, fill_rate,
        review_period, ordering_cost, holding_rate, today)
    forecast = forecast_demand(prepared.sales, prepared.stockout, today,
        prepared.horizon, prepared.eval_days)
    return _finish_rows([prepared], [forecast])[0]


class _Prepared(NamedTuple):
    """Checked inputs of one item and its lead time."""
    sales: np.ndarray
    stockout: np.ndarray
    unit_cost: float
    pack_multiple: float
    minimum_order_quantity: float
    fill_rate: float
    review_period: float
    ordering_cost: float
    holding_rate: float
    lead_time: LeadTime
    lt_points: np.ndarray
    protection_days: float
    horizon: int
    eval_days: int


def _prepare(sales, stockout, received_orders, quoted_lead_time,
        unit_cost, pack_multiple, minimum_order_quantity, fill_rate,
        review_period, ordering_cost, holding_rate, today, points=True,
        lead_time=None):
    """Check the inputs of one item; lead time and forecast horizon.

    With ``points`` false, the lead-time points (and the horizon) are left
    to :func:`_with_points`, and with a ``lead_time`` its estimate is
    taken as given (:func:`compute_order_points` computes both for all
    the items at once).
    """
    if not isinstance(today, date):
        raise ValueError("today must be a datetime.date")
    try:
        y = np.asarray(sales, dtype=float).ravel()
    except (TypeError, ValueError):
        raise ValueError("sales must be a sequence of numbers")
    flags = np.asarray(stockout).ravel()
    if y.size != flags.size:
        raise ValueError(
            "sales and stockout must have the same length (%d != %d)"
            % (y.size, flags.size))
    # NaN fails both comparisons: not finite or negative somewhere
    if y.size and not (y.min() >= 0.0 and y.max() < math.inf):
        raise ValueError("sales must be finite and >= 0")
    if flags.size and flags.dtype != bool:
        if not np.isin(flags, (0, 1)).all():
            raise ValueError("stockout flags must be booleans")
        flags = flags.astype(bool)
    fill_rate = _check_number('fill_rate', fill_rate, 0.0, strict=True)
    if not fill_rate < 1.0:
        raise ValueError("fill_rate must be in (0, 1), got %r" % fill_rate)
    unit_cost = _check_number('unit_cost', unit_cost)
    pack_multiple = _check_number('pack_multiple', pack_multiple, strict=True)
    minimum_order_quantity = _check_number(
        'minimum_order_quantity', minimum_order_quantity)
    review_period = _check_number('review_period', review_period)
    ordering_cost = _check_number('ordering_cost', ordering_cost)
    holding_rate = _check_number('holding_rate', holding_rate)
    if lead_time is None:
        lead_time = estimate_lead_time(
            received_orders, quoted_lead_time, today)
    item = _Prepared(y, flags, unit_cost, pack_multiple,
        minimum_order_quantity, fill_rate, review_period, ordering_cost,
        holding_rate, lead_time, None, None, None, None)
    if points:
        item = _with_points(item, lead_time_points(lead_time))
    return item


def _with_points(item, lt_points):
    """The prepared item with its lead-time points and forecast horizon."""
    protection_days = item.lead_time.mean + item.review_period
    horizon = int(math.ceil(max(float(lt_points.max()) + item.review_period,
                EOQ_RATE_DAYS))) + 1
    eval_days = int(min(max(round(protection_days), 7), 42))
    return item._replace(lt_points=lt_points,
        protection_days=protection_days, horizon=horizon,
        eval_days=eval_days)


def _lead_time_points_rows(lead_times, points=LEAD_TIME_POINTS):
    """:func:`lead_time_points` of many lead times.

    The lognormal ones (fewer than 10 observations) are computed together;
    the empirical ones one by one.
    """
    out = [None] * len(lead_times)
    rows = []
    for i, lead_time in enumerate(lead_times):
        if lead_time.source != 'history' and lead_time.std > 0 \
                and lead_time.mean > 0:
            rows.append(i)
        else:
            out[i] = lead_time_points(lead_time, points)
    if rows:
        mean = np.array([lead_times[i].mean for i in rows])[:, None]
        std = np.array([lead_times[i].std for i in rows])[:, None]
        s2 = np.log(1.0 + (std / mean) ** 2)
        mu = np.log(mean) - s2 / 2
        pts = np.exp(mu + np.sqrt(s2) * _normal_quantiles(points)[None, :])
        spread = pts.std(axis=1, keepdims=True)
        centre = pts.mean(axis=1, keepdims=True)
        with np.errstate(invalid='ignore', divide='ignore'):
            pts = np.where(spread > 0,
                mean + (pts - centre) * (std / spread),
                pts - centre + mean)
        pts = np.maximum(pts, 0.0)
        for j, i in enumerate(rows):
            out[i] = pts[j]
    return out


def _eoq_rate(forecast, mean=None):
    """Daily demand rate of the order quantity.

    The mean forecast over the next ``EOQ_RATE_DAYS`` days, except that
    a rising slope of a trend model is damped by ``TREND_DAMPING`` per day
    beyond the first day: a straight line fitted to a launch keeps growing
    over three months, the demand it follows usually levels off, and an
    order of three months of extrapolated growth is what stays on the
    shelf.  A falling slope is kept (damping it would order more for a
    product on its way out).  The reorder point keeps the undamped
    forecast.  ``mean`` is the mean forecast when already known.
    """
    path = forecast.path[:EOQ_RATE_DAYS]
    model = forecast._model
    if model is None or model.slope is None or path.size == 0 \
            or not model.slope[forecast.n] > 0:
        return float(path.mean()) if mean is None else mean
    n = forecast.n
    u = forecast._u
    days = path.size
    h = np.arange(days)
    damped = TREND_DAMPING * (1.0 - TREND_DAMPING ** h) / (
        1.0 - TREND_DAMPING)
    time = u[n] + damped * (u[1] - u[0])
    factor = model.factor[n:n + days]
    rate = np.maximum((model.level[n] + model.slope[n] * time) * factor,
        0.0)
    return float(rate.mean())


def _cycle_days(forecast, quantity, mean_daily):
    """Days between two orders, for :func:`effective_lead_time_points`.

    Orders of smooth and erratic items follow each other about every
    ``Q / d`` days; those of intermittent and lumpy items come in bunches
    after the demand occurrences, so the orders in transit do not average
    out their lead times: ``inf`` (no crossing effect).
    """
    if forecast.demand_class in ('intermittent', 'lumpy'):
        return math.inf
    return quantity / mean_daily


def _order_quantity(item, mean_daily):
    """``(eoq, order quantity)`` of an item at a forecast daily rate."""
    eoq = economic_order_quantity(mean_daily * 365.0, item.ordering_cost,
        item.unit_cost, item.holding_rate)
    wanted = max(eoq if math.isfinite(eoq) else 0.0,
        mean_daily * item.review_period)
    if not math.isfinite(eoq) or wanted > MAX_COVER_DAYS * mean_daily:
        wanted = MAX_COVER_DAYS * mean_daily
    wanted = max(wanted, mean_daily)
    return eoq, round_order_quantity(
        wanted, item.pack_multiple, item.minimum_order_quantity)


def _trimmed_quantity(item, eoq, quantity, excess, undershoot,
        review_demand, mean_daily):
    """Order quantity for a reorder point held at its floor (smooth
    items).

    At the floor ``s`` (the lead-time demand) the fill rate of a cycle of
    ``Q`` units is at least ``1 - G(s) / Q`` with ``G(s) = E[(X - s)+]``
    (``excess``): a lot of ``G(s) / (1 - fill rate)`` units (less the
    undershoot, which every order adds) still meets the target.  A
    larger lot only over-serves it with stock.  The cut lot is kept at
    ``LOT_FLOOR`` x EOQ or more, the review-period demand and a day of
    demand or more, and rounded to the pack multiple and the MOQ.  The
    shortage of erratic, intermittent and lumpy items comes from a few
    large demands: their estimate of ``G(s)`` is too rough to cut a lot
    on.

    Returns:
        The order quantity (never more than ``quantity``).
    """
    if not (math.isfinite(eoq) and eoq > 0) or quantity <= 0:
        return quantity
    needed = excess / (1.0 - item.fill_rate) - undershoot
    wanted = max(needed, LOT_FLOOR * eoq, review_demand, mean_daily)
    if wanted >= quantity:
        return quantity
    return min(quantity, round_order_quantity(
            wanted, item.pack_multiple, item.minimum_order_quantity))


def _finish(prepared, forecast):
    """Reorder point and order-up-to of one item from its forecast."""
    (_, _, unit_cost, pack_multiple, minimum_order_quantity, fill_rate,
        review_period, ordering_cost, holding_rate, lead_time, lt_points,
        protection_days, _, _) = prepared
    mean_daily = float(forecast.path[:EOQ_RATE_DAYS].mean())
    annual_demand = mean_daily * 365.0
    lead_time_demand = float(forecast.future_sum(lead_time.mean))
    if forecast.model == 'none' or mean_daily <= 0:
        return _result(forecast, lead_time, review_period, protection_days,
            0.0, 0.0, 0.0, 'none', fill_rate, 1.0, 0.0, 0.0, 0.0, 0.0,
            0.0, mean_daily)

    eoq, quantity = _order_quantity(prepared, _eoq_rate(forecast))
    review_demand = mean_daily * review_period
    samples, weights, method, protection_demand, undershoot = \
        _protection_samples(forecast, lead_time, lt_points, review_period,
            _cycle_days(forecast, quantity, mean_daily))
    # orders are S - position = Q + undershoot on average
    cycle_quantity = max(quantity + undershoot, review_demand)
    reorder_point, shortage = _solve_reorder_point(
        samples, weights, cycle_quantity, fill_rate)
    full_quantity = quantity
    if reorder_point < lead_time_demand:
        reorder_point = lead_time_demand
        if forecast.demand_class == 'smooth':
            w = np.asarray(weights, dtype=float)
            excess = expected_shortage(samples, w / w.sum(), reorder_point)
            quantity = _trimmed_quantity(prepared, eoq, quantity, excess,
                undershoot, review_demand, mean_daily)
            cycle_quantity = max(quantity + undershoot, review_demand)
        shortage = cycle_shortage(
            samples, weights, reorder_point, cycle_quantity)
    expected_fill = 1.0 - shortage / cycle_quantity
    safety_stock = reorder_point - protection_demand
    order_up_to = reorder_point + quantity
    return _result(forecast, lead_time, review_period, protection_days,
        lead_time_demand, protection_demand, safety_stock, method,
        fill_rate, expected_fill, annual_demand, eoq, quantity,
        reorder_point, order_up_to, mean_daily, full_quantity)


def _finish_rows(prepared, forecasts):
    """:func:`_finish` for several items whose forecasts share ``n``.

    The empirical lead-time demand distributions of all the items are
    built and solved together (arrays padded to the largest number of
    historical windows, the padding weighing 0); items without demand or
    with a lognormal distribution (short history) go through
    :func:`_finish`.

    Returns:
        A list of :class:`OrderPoint`.
    """
    k = len(prepared)
    out = [None] * k
    rows = []
    for i, (item, forecast) in enumerate(zip(prepared, forecasts)):
        if forecast.model == 'none' or forecast._model is None \
                or forecast.n == 0:
            out[i] = _finish(item, forecast)
        else:
            rows.append(i)
    if not rows:
        return out
    n = forecasts[rows[0]].n
    npts = len(prepared[rows[0]].lt_points)
    # 1. per item scalars: forecast rates, order quantity, window layout
    keep = []
    layout = []
    for i in rows:
        item, forecast = prepared[i], forecasts[i]
        head = forecast.path[:EOQ_RATE_DAYS]
        # the mean (the same division as ndarray.mean, without its calls)
        mean_daily = float(head.sum()) / head.size if head.size else 0.0
        if mean_daily <= 0 or forecast.n != n \
                or len(item.lt_points) != npts:
            out[i] = _finish(item, forecast)
            continue
        eoq, quantity = _order_quantity(item,
            _eoq_rate(forecast, mean_daily))
        cycle_days = _cycle_days(forecast, quantity, mean_daily)
        # effective_lead_time_points, the shrink kept for the draws
        shrink = _crossing_shrink(item.lead_time, item.lt_points, cycle_days)
        lt_eff = _shrunk(item.lt_points, shrink)
        # np.rint in plain Python (both round half to even): a few values
        lengths = [max(1, int(round(v))) for v in lt_eff.tolist()]
        longest, shortest = max(lengths), min(lengths)
        span, max_origins, _ = _error_window(forecast)
        lo = min(MIN_ORIGIN, max(7, n // 3))
        lo = max(lo, n - span - longest)
        hi = n - shortest
        if hi < lo:
            out[i] = _finish(item, forecast)
            continue
        step = max(1, (hi - lo + 1 + max_origins - 1) // max_origins)
        # the origins hi, hi - step, ... >= lo, in increasing order
        count = (hi - lo) // step + 1
        first = hi - step * (count - 1)
        # windows of the longest point that end by n (the fewest valid)
        last = n - longest
        if last < first or min(count, (last - first) // step + 1) \
                < MIN_WINDOWS:
            out[i] = _finish(item, forecast)
            continue
        origins = np.arange(first, hi + 1, step)
        lengths = np.array(lengths)
        keep.append(i)
        # the lead times of the windows: the points themselves (one row
        # for all) unless orders cross (_lead_time_draws)
        if shrink[1] == 1.0:
            draws = lt_eff
        else:
            draws = _shrunk(_lead_time_quantiles(
                    item.lead_time, npts, origins.size), shrink)
        layout.append((mean_daily, lengths, origins, lt_eff, eoq, quantity,
                draws))
    if not keep:
        return out
    k = len(keep)
    width = max(entry[2].size for entry in layout)
    chosen = [forecasts[i] for i in keep]
    models = [forecast._model for forecast in chosen]
    paths, sizes = _padded([forecast.path for forecast in chosen])
    lengths = np.array([entry[1] for entry in layout])
    periods = np.array([entry[3] for entry in layout])
    origins = np.empty((k, width), int)
    real = np.zeros((k, width), bool)
    for j, entry in enumerate(layout):
        orig = entry[2]
        origins[j, :orig.size] = orig
        origins[j, orig.size:] = orig[-1]
        real[j, :orig.size] = True
    crossing = any(entry[6].ndim == 2 for entry in layout)
    if crossing:
        # the lead times of the windows, the last row repeated
        draws = np.empty((k, width, npts))
        for j, entry in enumerate(layout):
            size, row_draws = entry[2].size, entry[6]
            draws[j, :size] = row_draws
            draws[j, size:] = row_draws if row_draws.ndim == 1 \
                else row_draws[-1]
    y = np.array([forecast._y for forecast in chosen])
    m = np.array([forecast._m for forecast in chosen])
    level = np.array([model.level for model in models])
    # the factors padded with 0 (their cumulative sums stay flat), the
    # time in years of the longest one (the same calendar for all)
    factors, _ = _padded([model.factor for model in models])
    total_f = factors.shape[1]
    cf = np.zeros((k, total_f + 1))
    cuf = np.zeros((k, total_f + 1))
    sloped = np.array([model.slope is not None for model in models])
    slope = np.zeros((k, n + 1))
    for j in np.flatnonzero(sloped):
        slope[j] = models[j].slope
    u = max((forecast._u for forecast in chosen), key=len)
    mean_lt = np.array([prepared[i].lead_time.mean for i in keep])
    review = np.array([prepared[i].review_period for i in keep])
    periods = np.maximum(periods, 0.0)
    np.cumsum(factors, axis=1, out=cf[:, 1:])
    step_fc = level[:, :n] * factors[:, :n]
    if sloped.any():
        uf = factors[sloped] * u[:total_f]
        cuf[sloped, 1:] = np.cumsum(uf, axis=1)
        step_fc[sloped] += slope[sloped, :n] * uf[:, :n]
    one_step = np.maximum(step_fc, 0.0)
    rk = np.arange(k)[:, None]
    # forecast sums over the lead-time points (future_sum, vectorised)
    cpath = np.concatenate((np.zeros((k, 1)), np.cumsum(paths, axis=1)),
        axis=1)

    def future_sum(days):
        d = np.clip(days, 0, sizes.reshape((k,) + (1,) * (days.ndim - 1)))
        lo_d = np.floor(d).astype(int)
        hi_d = np.minimum(lo_d + 1, sizes.reshape(lo_d.shape[:1]
                + (1,) * (days.ndim - 1)))
        frac = d - lo_d
        idx = rk if days.ndim == 2 else np.arange(k)
        return cpath[idx, lo_d] + frac * (cpath[idx, hi_d] - cpath[idx, lo_d])

    future = future_sum(periods)
    lead_time_demand = future_sum(mean_lt)
    # 2. past window errors (DemandForecast.window_errors, vectorised)
    o = origins[:, :, None]
    valid = ((o + lengths[:, None, :]) <= n) & real[:, :, None]
    ends = np.minimum(o + lengths[:, None, :], n)
    y_imp = np.where(m > 0, y, np.maximum(y, one_step))
    cy = np.concatenate((np.zeros((k, 1)), np.cumsum(y_imp, axis=1)),
        axis=1)
    actual = take_last(cy, ends) - take_last(cy, o)
    lev = take_last(level, origins)[:, :, None]
    fc = lev * (take_last(cf, ends) - take_last(cf, o))
    if slope.any():
        fc = fc + take_last(slope, origins)[:, :, None] * (
            take_last(cuf, ends) - take_last(cuf, o))
    fc = np.maximum(fc, 0.0)
    err = actual - fc
    intermittent = np.array([forecasts[i].demand_class in (
                'intermittent', 'lumpy') for i in keep])
    smooth = ~intermittent
    if smooth.any():
        err[smooth] = _single_event_cap(err[smooth], valid[smooth],
            origins[smooth], lengths[smooth])
    if crossing:
        future_draws = future_sum(draws.reshape(k, -1)).reshape(draws.shape)
    else:
        # every window of every row has the central points: their
        # forecast sums are ``future``
        future_draws = future[:, None, :]
    age = n - origins
    half_life = np.array([_error_window(forecasts[i])[2] for i in keep])
    recency = 0.5 ** (age / half_life[:, None])
    weights = np.where(valid, recency[:, :, None], 0.0)
    # the errors of intermittent items are neither rescaled to the coming
    # level nor weighted by their level (the chunks are mostly of one
    # kind: the rest is computed for the smooth rows only)
    if smooth.any():
        rows = smooth if intermittent.any() else slice(None)
        err[rows] = err[rows] * _error_scale_rows(
            fc[rows], err[rows], valid[rows], future[rows])
        weights[rows] = weights[rows] * _level_kernel(
            fc[rows], future[rows][:, None, :])
    weights = weights / np.maximum(weights.sum(1), 1e-300)[:, None, :] / npts
    if smooth.any():
        step = np.where(real.sum(1) > 1, origins[:, 1] - origins[:, 0],
            1).astype(float)
        overlap = np.maximum(1.0, lengths / step[:, None])
        err[smooth] = _recent_bias(err[smooth], valid[smooth],
            weights[smooth], age[smooth][:, :, None], overlap[smooth])
    samples = np.maximum(future_draws + err, 0.0)
    samples = samples.reshape(k, -1)
    weights = weights.reshape(k, -1)
    # 3. undershoot
    psum = periods.sum(1)
    with np.errstate(invalid='ignore', divide='ignore'):
        future_daily = np.where(psum > 0, future.sum(1) / np.maximum(
                psum, 1e-9), paths[:, :7].mean(1))
    under = _undershoot_rows(y, m, review, samples.shape[1], future_daily,
        smooth)
    samples = samples + under
    wsum = weights.sum(1)
    protection_demand = (weights * samples).sum(1) / wsum
    # the mean undershoot of each row's real samples (rows of the same
    # count together: the same sums as row by row)
    mean_under = np.empty(k)
    real_size = real.sum(1) * npts
    for size in np.unique(real_size):
        same = real_size == size
        mean_under[same] = under[same, :size].mean(axis=1)
    # 4. order quantities and fill-rate reorder points
    cycle = np.empty(k)
    quantities = np.empty(k)
    eoqs = np.empty(k)
    for j, i in enumerate(keep):
        item = prepared[i]
        mean_daily = layout[j][0]
        review_demand = mean_daily * item.review_period
        eoqs[j], quantities[j] = layout[j][4:6]
        cycle[j] = max(quantities[j] + mean_under[j], review_demand)
    fill = np.array([prepared[i].fill_rate for i in keep])
    points, shortage, excess, shortage_at = _solve_rows(samples, weights,
        cycle, fill, lead_time_demand)
    trimmed = np.zeros(k, bool)
    full_quantities = quantities.copy()
    smooth_rows = np.array([forecasts[i].demand_class == 'smooth'
            for i in keep])
    for j in np.flatnonzero(np.isfinite(excess) & smooth_rows):
        item = prepared[keep[j]]
        mean_daily = layout[j][0]
        review_demand = mean_daily * item.review_period
        quantity = _trimmed_quantity(item, float(eoqs[j]),
            float(quantities[j]), float(excess[j]), float(mean_under[j]),
            review_demand, mean_daily)
        if quantity < quantities[j]:
            quantities[j] = quantity
            cycle[j] = max(quantity + mean_under[j], review_demand)
            trimmed[j] = True
    if trimmed.any():
        shortage = np.where(trimmed, shortage_at(points, cycle), shortage)
    # the forecast paths rounded together (_result)
    rounded = paths.round(6)
    for j, i in enumerate(keep):
        item, forecast = prepared[i], forecasts[i]
        mean_daily = layout[j][0]
        reorder_point = float(points[j])
        expected_fill = 1.0 - float(shortage[j]) / cycle[j]
        safety_stock = reorder_point - float(protection_demand[j])
        out[i] = _result(forecast, item.lead_time, item.review_period,
            item.protection_days, float(lead_time_demand[j]),
            float(protection_demand[j]), safety_stock, 'empirical',
            item.fill_rate, expected_fill, mean_daily * 365.0,
            float(eoqs[j]), float(quantities[j]), reorder_point,
            reorder_point + float(quantities[j]), mean_daily,
            float(full_quantities[j]), rounded[j, :sizes[j]].tolist())
    return out


def _padded(rows):
    """The 1-d arrays ``rows`` as the rows of one array, padded with 0 to
    the longest, and their sizes."""
    sizes = np.array([row.size for row in rows])
    width = int(sizes.max())
    if (sizes == width).all():
        return np.array(rows, dtype=float), sizes
    out = np.zeros((len(rows), width))
    for j, row in enumerate(rows):
        out[j, :row.size] = row
    return out, sizes


def _error_scale_rows(fc, err, valid, future):
    """:func:`_error_scale` with a leading items axis."""
    a, b, ok = _variance_fit(fc, err, valid, axis=1)
    a = a[:, None, :]
    b = b[:, None, :]
    v_now = a * fc + b * fc * fc
    v_fut = a * future[:, None, :] + b * future[:, None, :] ** 2
    with np.errstate(invalid='ignore', divide='ignore'):
        scale = np.sqrt(np.where(v_now > 0, v_fut / v_now, 1.0))
    scale = np.where(ok[:, None, :], np.clip(scale, 1.0 / 3.0, 3.0), 1.0)
    return scale


@lru_cache(maxsize=64)
def _sorted_uniforms(size):
    """Inverse of the sort order (the rank of each) and sorted values of
    the first ``size`` tiled uniforms."""
    reps = -(-size // _UNIFORM.shape[1])
    u1 = np.tile(_UNIFORM[0], reps)[:size]
    order = np.argsort(u1, kind='stable')
    values = u1[order]
    inverse = np.empty(size, int)
    inverse[order] = np.arange(size)
    for array in (inverse, values):
        array.setflags(write=False)
    return inverse, values


def _undershoot_rows(y, m, review, size, future_daily, capped):
    """:func:`_undershoot` for rows with the same history length
    (``capped``: the rows of smooth and erratic items)."""
    k, n = y.shape
    out = np.zeros((k, size))
    lo = max(0, n - 365)
    yy = y[:, lo:]
    mm = m[:, lo:] > 0
    reps = -(-size // _UNIFORM.shape[1])
    u2 = np.tile(_UNIFORM[1], reps)[:size]
    rr = np.maximum(1, np.rint(review)).astype(int)
    daily = rr == 1
    if daily.all():
        z = np.where(mm, yy, 0.0)
        keep = mm
    else:
        z = np.zeros((k, yy.shape[1]))
        keep = np.zeros((k, yy.shape[1]), bool)
        z[daily] = np.where(mm[daily], yy[daily], 0.0)
        keep[daily] = mm[daily]
    for j in np.flatnonzero(~daily):
        r = int(rr[j])
        if yy.shape[1] >= r:
            c = np.concatenate(([0.0], np.cumsum(np.where(
                            mm[j], yy[j], 0.0))))
            cm = np.concatenate(([0], np.cumsum(mm[j])))
            counts = cm[r:] - cm[:-r]
            kk = counts > 0
            with np.errstate(invalid='ignore', divide='ignore'):
                z[j, :kk.size] = np.where(kk, (c[r:] - c[:-r]) * r
                    / np.maximum(counts, 1), 0.0)
            keep[j, :kk.size] = kk
    if capped.any():
        z[capped] = _single_event_cap(z[capped][:, :, None],
            keep[capped][:, :, None], np.arange(z.shape[1]),
            rr[capped][:, None])[:, :, 0]
    count = keep.sum(1)
    total = z.sum(1)
    ok = (count > 0) & (total > 0)
    if not ok.any():
        return out
    with np.errstate(invalid='ignore', divide='ignore'):
        ratio = future_daily * rr / (total / np.maximum(count, 1))
    ratio = np.where(np.isfinite(ratio), np.clip(ratio, 0.5, 2.0), 1.0)
    cum = np.cumsum(z, axis=1) / np.where(ok, total, 1.0)[:, None]
    last = z.shape[1] - 1 - np.argmax(keep[:, ::-1], axis=1)
    # the first t with cum[t] >= u for every uniform u: the uniforms are
    # sorted once; cum[t] < u[i] exactly when fewer than i + 1 sorted
    # uniforms are <= cum[t], so the answer for u[i] is the number of t
    # with that count <= i (a cumulative histogram of the counts)
    inverse, sorted_u1 = _sorted_uniforms(size)
    below = np.searchsorted(sorted_u1, cum, side='right')
    below += (np.arange(k) * (size + 1))[:, None]
    counts = np.bincount(below.ravel(), minlength=k * (size + 1)).reshape(
        k, size + 1)
    found = np.cumsum(counts[:, :size], axis=1).take(inverse, axis=1)
    index = np.minimum(found, last[:, None])
    picked = take_last(z, index)
    out = np.where(ok[:, None], u2[None, :] * picked * ratio[:, None], 0.0)
    return out


class _RowSearch:
    """``np.searchsorted(x[j], v[j], side)`` for every row j.

    The sorted rows are laid end to end with an offset per row larger than
    any value, so one call searches them all.
    """

    def __init__(self, x, side='right'):
        self.side = side
        k, w = x.shape
        span = float(np.abs(x).max()) if x.size else 0.0
        self.gap = 4.0 * span + 1.0
        self.offset = np.arange(k)[:, None] * self.gap
        self.flat = (x + self.offset).ravel()
        self.base = np.arange(k)[:, None] * w
        self.width = w

    def __call__(self, values):
        # np.minimum/np.maximum: np.clip, the same, costs several times
        # more on these small arrays (two calls per bisection step)
        v = np.minimum(np.maximum(values, -self.gap / 4.0),
            self.gap / 2.0) + self.offset
        i = np.searchsorted(self.flat, v.ravel(), side=self.side).reshape(
            v.shape) - self.base
        return np.minimum(np.maximum(i, 0), self.width)


def _excess_rows(x, w, level):
    """``G(level) = E[(X - level)+]`` of each row (no sort needed)."""
    return (w * np.maximum(x - level[:, None], 0.0)).sum(1)


def _solve_rows(samples, weights, quantity, fill_rate, floor):
    """Fill-rate reorder points of several items at once.

    :func:`_solve_reorder_point` row by row (zero weights are padding),
    then the floor at the lead-time demand.

    The shortage per cycle is non-increasing in the level: where it is
    already within the target at the floor, the solution is the floor and
    the rows need no sort (most intermittent items, whose order quantity
    covers many lead times, end there).

    Returns:
        ``(reorder_points, shortage_per_cycle, excess, shortage_at)``:
        ``excess`` is ``G(floor) = E[(X - floor)+]`` where the floor
        binds (NaN elsewhere) and ``shortage_at(levels, quantities)`` the
        shortage per cycle of other levels and quantities, one per row.
    """
    k = samples.shape[0]
    x = np.maximum(samples, 0.0)
    w = weights / weights.sum(1)[:, None]
    allowed = (1.0 - fill_rate) * quantity
    limit = allowed + 1e-12

    def shortage_at(level, quantity=quantity):
        """G(level) - G(level + Q), one level per row."""
        return _excess_rows(x, w, level) - _excess_rows(x, w,
            level + quantity)

    at_floor = np.zeros(k, bool)
    positive = floor > 0.0
    if positive.any():
        excess_floor = _excess_rows(x[positive], w[positive],
            floor[positive])
        short_floor = excess_floor - _excess_rows(x[positive],
            w[positive], floor[positive] + quantity[positive])
        at_floor[positive] = short_floor <= limit[positive]
    result = np.array(floor, dtype=float)
    short = np.zeros(k)
    excess = np.full(k, np.nan)
    if at_floor.any():
        inside = at_floor[positive]
        short[at_floor] = short_floor[inside]
        excess[at_floor] = excess_floor[inside]
    rest = ~at_floor
    if rest.any():
        result[rest], short[rest], excess[rest] = _solve_sorted(
            x[rest], w[rest], quantity[rest], allowed[rest], floor[rest])
    return result, short, excess, shortage_at


def _solve_sorted(x, w, quantity, allowed, floor):
    """:func:`_solve_rows` by bisection over the sorted breakpoints."""
    k = x.shape[0]
    # the order among equal values does not matter: the loss is only read
    # at the boundaries between distinct values
    order = np.argsort(x, axis=1)
    x = take_last(x, order)
    w = take_last(w, order)
    zero = np.zeros((k, 1))
    tw = np.concatenate((np.cumsum(w[:, ::-1], axis=1)[:, ::-1], zero), 1)
    tx = np.concatenate((np.cumsum((w * x)[:, ::-1], axis=1)[:, ::-1],
            zero), 1)
    q = quantity[:, None]
    points = np.concatenate((zero, x, x - q), axis=1)
    points = np.where(points >= 0.0, points, np.inf)
    points.sort(axis=1, kind='stable')
    finite = np.isfinite(points)
    pts = np.where(finite, points, 0.0)
    search = _RowSearch(x)
    rows = np.arange(k)

    def shortage(level):
        """G(level) - G(level + Q), one level per row."""
        a = search(level[:, None])[:, 0]
        b = search((level + quantity)[:, None])[:, 0]
        return (tx[rows, a] - level * tw[rows, a]) - (
            tx[rows, b] - (level + quantity) * tw[rows, b])

    # the shortage is non-increasing in s: bisection over the sorted
    # breakpoints for the first one meeting the target
    limit = allowed + 1e-12
    lo = np.zeros(k, int)
    hi = finite.sum(1) - 1
    h_first = shortage(pts[rows, lo])
    h_last = shortage(pts[rows, hi])
    active = (h_first > limit) & (h_last <= limit)
    while True:
        gap = active & (hi - lo > 1)
        if not gap.any():
            break
        mid = (lo + hi) // 2
        ok = shortage(pts[rows, mid]) <= limit
        hi = np.where(gap & ok, mid, hi)
        lo = np.where(gap & ~ok, mid, lo)
    p0 = pts[rows, lo]
    p1 = pts[rows, hi]
    h0 = shortage(p0)
    h1 = shortage(p1)
    with np.errstate(invalid='ignore', divide='ignore'):
        between = p0 + (h0 - allowed) / (h0 - h1) * (p1 - p0)
    linear = (h0 > h1) & (p1 > p0)
    result = np.where(linear, between, p1)
    short = np.where(linear, allowed, h1)
    first = h_first <= limit
    result = np.where(first, 0.0, np.where(active, result, p1))
    short = np.where(first, h_first, np.where(active, short, h_last))
    below = result < floor
    excess = np.full(k, np.nan)
    if below.any():
        result = np.where(below, floor, result)
        level = np.where(below, floor, 0.0)
        short = np.where(below, shortage(level), short)
        a = search(level[:, None])[:, 0]
        excess = np.where(below, tx[rows, a] - level * tw[rows, a], np.nan)
    return result, short, excess


def _per_item(value, count, name):
    """A scalar broadcast to ``count`` items, or a sequence of that size."""
    if isinstance(value, (str, bytes)):
        raise ValueError("%s must be a number or a sequence" % name)
    try:
        length = len(value)
    except TypeError:
        return [value] * count
    if length != count:
        raise ValueError("%s must have one value per item (%d != %d)"
            % (name, length, count))
    return list(value)


def compute_order_points(sales, stockout, received_orders, quoted_lead_time,
        unit_cost, pack_multiple=1.0, minimum_order_quantity=0.0,
        fill_rate=0.95, review_period=1.0, ordering_cost=0.0,
        holding_rate=0.25, today=None):
    """:func:`compute_order_point` for many items at once (vectorised).

    The demand forecasting (the bulk of the work) runs on all the items
    with the same history length together; the result of each item is the
    same as :func:`compute_order_point` on that item alone (up to the
    rounding of floating-point sums).

    Args:
        sales: 2-D array ``(items, days)`` of daily demand, or a sequence of
            per-item sequences (items of different lengths are grouped by
            length).
        stockout: the stockout flags, same shape(s) as ``sales``.
        received_orders: one sequence of ``(order_date, receipt_date)``
            per item, or one integer array ``(m, 2)`` of their ordinals
            (``date.toordinal()``).
        quoted_lead_time, unit_cost, pack_multiple, minimum_order_quantity,
        fill_rate, review_period, ordering_cost, holding_rate: a number
            (same for all the items) or one value per item.
        today: ``datetime.date`` of the computation (same for all).

    Returns:
        A list of :class:`OrderPoint`, one per item, in input order.

    Raises:
        ValueError: as :func:`compute_order_point` (for the first bad
            item), or when a per-item sequence has the wrong length.
    """
    if not isinstance(today, date):
        raise ValueError("today must be a datetime.date")
    count = len(sales)
    if len(stockout) != count or len(received_orders) != count:
        raise ValueError(
            "sales, stockout and received_orders need one entry per item")
    params = [_per_item(v, count, name) for name, v in (
            ('quoted_lead_time', quoted_lead_time),
            ('unit_cost', unit_cost), ('pack_multiple', pack_multiple),
            ('minimum_order_quantity', minimum_order_quantity),
            ('fill_rate', fill_rate), ('review_period', review_period),
            ('ordering_cost', ordering_cost),
            ('holding_rate', holding_rate))]
    lead_times = _lead_times_rows(
        [_order_ordinals(orders) for orders in received_orders],
        [_check_quoted(q) for q in params[0]], today)
    prepared = [_prepare(sales[i], stockout[i], received_orders[i],
            *[p[i] for p in params[:1]], *[p[i] for p in params[1:]],
            today, points=False, lead_time=lead_times[i])
        for i in range(count)]
    prepared = [_with_points(item, pts) for item, pts in zip(prepared,
            _lead_time_points_rows([item.lead_time for item in prepared]))]
    by_length = {}
    for i, item in enumerate(prepared):
        by_length.setdefault(item.sales.size, []).append(i)
    forecasts = [None] * count
    for length, members in by_length.items():
        y = np.empty((len(members), length))
        flags = np.empty((len(members), length), bool)
        for row, i in enumerate(members):
            y[row] = prepared[i].sales
            flags[row] = prepared[i].stockout
        batch = forecast_demand_batch(y, flags, today,
            [prepared[i].horizon for i in members],
            [prepared[i].eval_days for i in members])
        for i, forecast in zip(members, batch):
            forecasts[i] = forecast
    results = [None] * count
    for members in by_length.values():
        # chunks of one kind (intermittent items use more windows)
        members = sorted(members, key=lambda i: forecasts[i].demand_class
            in ('intermittent', 'lumpy'))
        for start in range(0, len(members), FINISH_CHUNK):
            part = members[start:start + FINISH_CHUNK]
            for i, result in zip(part, _finish_rows(
                        [prepared[i] for i in part],
                        [forecasts[i] for i in part])):
                results[i] = result
    return results


def _seasonal_index(forecast, protection_days):
    """The :class:`Explanation`'s ``seasonal_index`` (whole weeks ahead,
    so that a weekly profile averages out)."""
    if not forecast.yearly or forecast._model is None:
        return 1.0
    factor, n = forecast._model.factor, forecast.n
    weeks = max(1, math.ceil(protection_days / 7.0 - 1e-9))
    ahead = factor[n:n + 7 * weeks]
    year = factor[max(0, n - 364):n]
    if not ahead.size or not year.size:
        return 1.0
    past = float(year.sum()) / year.size
    if not past > 0:
        return 1.0
    return float(ahead.sum()) / ahead.size / past


def _safety_stock_text(safety_stock, method, fill_rate, expected):
    """The safety stock's sentence, its arguments: a negative one is no
    stock kept but a reorder point under the expected demand, which a
    large order quantity allows (most of the demand is served from the
    lot)."""
    if safety_stock >= 0:
        return ("Safety stock %s" % quantity_text(safety_stock), method,
            fill_rate, expected, '')
    return ("No safety stock", method, fill_rate, expected,
        ": the reorder point is %s under that demand, which the order"
        " quantity allows" % quantity_text(-safety_stock))


def _result(forecast, lead_time, review_period, protection_days,
        lead_time_demand, protection_demand, safety_stock, method,
        fill_rate, expected_fill, annual_demand, eoq, quantity,
        reorder_point, order_up_to, mean_daily, full_quantity=None,
        path=None):
    """The :class:`OrderPoint` and its explanation; ``path`` is the
    forecast path rounded to 6 decimals as a list, when the caller has
    rounded several at once."""
    if path is None:
        path = forecast.path.round(6).tolist()
    err = forecast.error
    index = _seasonal_index(forecast, protection_days)
    text = (
        "Demand model %s (%s demand%s%s; out-of-sample error %s over %d-day"
        " windows; %d days of history, %d censored). Forecast %.3g/day"
        " over the next %d days. Lead time %.1f +/- %.1f days (%s, %d"
        " receipts), review %.3g days: expected demand %.4g over the"
        " lead time, %.4g over lead time + review. %s (%s distribution)"
        " for a %.1f%% fill rate target (expected %.1f%%)%s. EOQ %.4g,"
        " order quantity %s. Computed reorder point %s, order-up-to %s."
        % (
            forecast.model, forecast.demand_class,
            ', weekly profile' if forecast.weekly else '',
            ', yearly profile, seasonal index %.2f' % index
            if forecast.yearly else '',
            'n/a' if math.isnan(err) else '%.1f%%' % (100 * err),
            forecast.eval_days, forecast.n, forecast.censored, mean_daily,
            EOQ_RATE_DAYS, lead_time.mean, lead_time.std, lead_time.source,
            lead_time.observations, review_period, lead_time_demand,
            protection_demand, *_safety_stock_text(safety_stock, method,
                100 * fill_rate, 100 * expected_fill),
            eoq if math.isfinite(eoq) else float('inf'),
            quantity_text(quantity), quantity_text(reorder_point),
            quantity_text(order_up_to)))
    if forecast.model.endswith('+break'):
        text += (" The demand of the last weeks broke away from the model"
            " (a sudden drop or rise): its level is reset to that demand.")
    if forecast.season_ahead:
        text += (" The yearly model is used although another model scored"
            " better on the recent days: its profile puts a change of"
            " season in the coming days, and the demand changed the same"
            " way at these dates in each of the last %d years."
            % SEASON_YEARS)
    if full_quantity is not None and quantity < full_quantity:
        text += (" The order quantity is cut from %.4g: at the reorder"
            " point's floor (the lead-time demand) a smaller lot still"
            " meets the fill rate target." % full_quantity)
    explanation = frozen(Explanation,
        model=forecast.model,
        model_error=err,
        candidate_errors=forecast.candidates,
        demand_class=forecast.demand_class,
        weekly_seasonality=forecast.weekly,
        yearly_seasonality=forecast.yearly,
        seasonal_index=index,
        history_days=forecast.n,
        censored_days=forecast.censored,
        mean_daily_demand=mean_daily,
        forecast_daily=tuple(path),
        lead_time_mean=lead_time.mean,
        lead_time_std=lead_time.std,
        lead_time_observations=lead_time.observations,
        lead_time_source=lead_time.source,
        review_period=review_period,
        protection_days=protection_days,
        lead_time_demand=lead_time_demand,
        protection_demand=protection_demand,
        safety_stock=safety_stock,
        distribution=method,
        fill_rate_target=fill_rate,
        expected_fill_rate=expected_fill,
        annual_demand=annual_demand,
        eoq=eoq,
        order_quantity=quantity,
        reorder_point=reorder_point,
        order_up_to=order_up_to,
        text=text)
    return OrderPoint(reorder_point, order_up_to, explanation)
