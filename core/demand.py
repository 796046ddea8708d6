# This file is part of perpetual_inventory.  The COPYRIGHT file at the top
# level of this repository contains the full copyright notices and license
# terms.
"""Daily demand: building the series and forecasting it.

Pure numpy + standard library, no Tryton import.

The forecasting engine works on a daily series ``y`` (oldest first, the
last element being the day before ``today``) and a validity mask ``m``
(``0`` on stockout days: those days are *censored*, their sales are a lower
bound of the demand, so they carry no weight in any fit).

Every model is written as *discounted least squares evaluated at every
origin at once*: for each day ``t`` the model state (level and, for trend
models, slope) estimated from the data strictly before ``t`` is computed in
O(n) with cumulative sums.  This gives, for free,

* genuine out-of-sample forecasts from every past origin, used to choose the
  model (rolling-origin evaluation over the recent past) and
* the empirical distribution of the forecast error of the demand over a
  window of any length, used for lead-time demand and safety stock.

Models (multiplicative day-of-week and day-of-year profiles are applied when
they are significant):

``level_slow`` / ``level`` / ``level_fast``
    exponentially weighted level (simple exponential smoothing).
``trend`` / ``trend_slow``
    exponentially discounted linear regression (Brown's linear smoothing).
``sba``
    Croston's method with the Syntetos-Boylan bias correction.
``tsb``
    Teunter-Syntetos-Babai: smoothed demand probability times smoothed size
    (reacts to obsolescence, unlike Croston).
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Optional, Tuple

import numpy as np

__all__ = [
    'DemandForecast', 'daily_net_demand', 'classify_demand',
    'forecast_demand', 'MAX_HISTORY_DAYS',
    ]

YEAR_DAYS = 365.25
MAX_HISTORY_DAYS = 1100
# Number of recent forecast origins used to score the candidate models.
EVAL_ORIGINS = 91
# A forecast origin needs at least this many days of history to be scored or
# to contribute to the error distribution (except for very short histories).
MIN_ORIGIN = 28
# Yearly seasonality needs one full year to fit the profile plus the span of
# the evaluation origins.
YEARLY_MIN_DAYS = 365 + EVAL_ORIGINS
# Days with demand a yearly profile needs in its fit window: twice the 18
# regressors of the largest Fourier model.  Fewer sales than that (a slow
# mover) give no profile worth testing.
YEARLY_MIN_SALES_DAYS = 36
FOURIER_ORDER = 8
# Numbers of yearly harmonics tried (the one of smallest BIC is kept).
FOURIER_ORDERS = (1, 2, 3, 4, 6, 8)
# Level break (smooth and erratic items): the demand of the last
# BREAK_WINDOWS days below BREAK_RATIO times the chosen model's forecast and
# below every week of the past year (relative to the forecast of its
# origin, the last BREAK_GAP days excluded) resets the level to the mean of
# those days.
BREAK_WINDOWS = (7, 14, 21, 28)
BREAK_GAP = 42
BREAK_RATIO = 0.5
# A rise is followed the same way when each of the last two weeks is above
# RISE_RATIO times the forecast and above every week of the past year (a
# rise held for two weeks, not one order or one week of promotion).
RISE_RATIO = 1.5
BREAK_MIN_WINDOWS = 60
# A season ahead: when the yearly profile puts the coming scoring window
# SEASON_AHEAD times above (or below) the days the models were scored on,
# and the demand did so at the same dates in each of the last
# SEASON_YEARS years, the best yearly model is taken even if a model
# without the profile scored better: the scored days (an off-season) could
# not tell.  Seen once, a change may have been a promotion.
SEASON_AHEAD = 1.25
SEASON_YEARS = 2
_BREAK_WINDOWS = np.array(BREAK_WINDOWS)
# Syntetos-Boylan classification cut-offs.
ADI_CUTOFF = 1.32
CV2_CUTOFF = 0.49


def daily_net_demand(outgoing, returns, start, end):
    """Build the daily demand series net of customer returns.

    Args:
        outgoing: iterable of ``(date, quantity)`` of done moves to
            customers.
        returns: iterable of ``(date, quantity)`` of done customer returns
            (positive quantities, they are subtracted).
        start: first day of the series (``datetime.date``).
        end: last day of the series, inclusive.

    Returns:
        A tuple of floats, one per day from ``start`` to ``end``; a day whose
        returns exceed its sales is clipped to 0 (a return is not negative
        demand for replenishment purposes).

    Raises:
        ValueError: if ``end`` is before ``start`` or a quantity is negative.
    """
    if end < start:
        raise ValueError("end must not be before start")
    n = (end - start).days + 1
    series = np.zeros(n)
    for sign, moves in ((1.0, outgoing), (-1.0, returns)):
        for day, quantity in moves:
            quantity = float(quantity)
            if quantity < 0 or not math.isfinite(quantity):
                raise ValueError(
                    "move quantities must be finite and >= 0, got %r"
                    % quantity)
            index = (day - start).days
            if 0 <= index < n:
                series[index] += sign * quantity
    return tuple(np.maximum(series, 0.0).tolist())


def classify_demand(y, m):
    """Syntetos-Boylan demand class of a censored daily series.

    Args:
        y: daily demand (numpy array).
        m: validity mask (1.0 where the day is not censored).

    Returns:
        ``(label, adi, cv2)`` where label is one of ``'none'``, ``'smooth'``,
        ``'erratic'``, ``'intermittent'``, ``'lumpy'``; ``adi`` is the
        average inter-demand interval in valid days and ``cv2`` the squared
        coefficient of variation of the non-zero demand sizes.
    """
    valid = m > 0
    sizes = y[valid & (y > 0)]
    n_valid = int(valid.sum())
    if sizes.size == 0:
        # every sale ran the stock out (a slow mover bought one unit at a
        # time): those sales are demand too, seen over all the days; taken
        # as none, the product would never be ordered again
        sizes = y[y > 0]
        n_valid = y.size
        if sizes.size == 0:
            return 'none', math.inf, 0.0
    adi = n_valid / sizes.size
    mean = sizes.mean()
    cv2 = float(sizes.var() / (mean * mean)) if sizes.size > 1 else 0.0
    if adi < ADI_CUTOFF:
        label = 'smooth' if cv2 < CV2_CUTOFF else 'erratic'
    else:
        label = 'intermittent' if cv2 < CV2_CUTOFF else 'lumpy'
    return label, float(adi), cv2


def frozen(cls, *args, **kwargs):
    """An instance of the frozen dataclass ``cls`` given all its fields
    (in order, then by name), without its ``__init__``: one
    ``object.__setattr__`` per field costs more than the rest of building
    a batch's results."""
    names = _field_names(cls)
    values = dict(zip(names, args), **kwargs)
    if len(values) != len(names) or len(args) + len(kwargs) != len(names):
        raise TypeError("%s needs its %d fields" % (cls.__name__, len(names)))
    instance = object.__new__(cls)
    instance.__dict__.update(values)
    return instance


@lru_cache(maxsize=None)
def _field_names(cls):
    return tuple(field.name for field in dataclasses.fields(cls))


# --------------------------------------------------------------------------
# Vectorised building blocks
# --------------------------------------------------------------------------

def _discounted_sums(x, lam):
    """Exponentially discounted sums at every origin.

    Args:
        x: array of shape ``(k, n)`` (or ``(n,)``).
        lam: discount factor in (0, 1], a float or one per row.

    Returns:
        Array of shape ``(k, n + 1)``: ``S[:, t] = sum_{j<t} lam**(t-1-j) *
        x[:, j]`` (``S[:, 0] == 0``).
    """
    x = np.atleast_2d(x)
    k, n = x.shape
    out = np.zeros((k, n + 1))
    if n == 0:
        return out
    lams = np.broadcast_to(np.asarray(lam, dtype=float), (k,))
    uniq, row_of = np.unique(lams, return_inverse=True)
    up, down, step, block = _powers(tuple(uniq.tolist()), n)
    for g in range(uniq.size):
        rows = np.flatnonzero(row_of == g)
        if rows.size == k:
            rows = slice(None)
        elif rows[-1] - rows[0] + 1 == rows.size:
            rows = slice(int(rows[0]), int(rows[-1]) + 1)
        # a slice gives views: the result is written in place
        xs = x[rows]
        res = out[rows]
        carry = None
        buf = np.empty((xs.shape[0], min(block, n)))
        for start in range(0, n, block):
            stop = min(n, start + block)
            w = stop - start
            c = buf[:, :w]
            np.multiply(xs[:, start:stop], up[g, :w], out=c)
            np.cumsum(c, axis=1, out=c)
            c *= down[g, :w]
            if carry is not None:
                c += (carry * step[g])[:, None] * down[g, :w]
            res[:, start + 1:stop + 1] = c
            carry = c[:, -1].copy()
        if not isinstance(rows, slice):
            out[rows] = res
    return out


@lru_cache(maxsize=256)
def _powers(lams, n):
    """Cached ``lam**-j``, ``lam**j`` (j < block) and ``lam`` per discount."""
    log_l = np.log(np.minimum(np.asarray(lams), 1.0))
    smallest = -log_l.min()
    block = n if smallest <= 0 else max(1, min(n, int(600.0 / smallest)))
    j = np.arange(block)
    up = np.exp(-np.outer(log_l, j))
    down = np.exp(np.outer(log_l, j))
    step = np.exp(log_l)
    for array in (up, down, step):
        array.setflags(write=False)
    return up, down, step, block


@lru_cache(maxsize=64)
def _calendar(first_ordinal, length):
    """Calendar features of consecutive days (cached, read-only).

    Args:
        first_ordinal: ``date.toordinal()`` of the first day.
        length: number of days.

    Returns:
        ``(weekday, fourier, u)``: weekday 0=Monday, a ``(length, 2K)``
        matrix of yearly sine/cosine terms and the time in years from the
        first day.
    """
    ordinals = np.arange(first_ordinal, first_ordinal + length)
    weekday = (ordinals - 1) % 7
    angle = 2.0 * math.pi * (ordinals % 1461) / YEAR_DAYS
    cols = []
    for k in range(1, FOURIER_ORDER + 1):
        cols.append(np.sin(k * angle))
        cols.append(np.cos(k * angle))
    fourier = np.column_stack(cols)
    u = np.arange(length) / YEAR_DAYS
    for array in (weekday, fourier, u):
        array.setflags(write=False)
    return weekday, fourier, u


def _weekday_profile(y, m, weekday, n):
    """Multiplicative day-of-week factors, shrunk by their significance.

    The factors are estimated on the last 52 weeks of valid days; they are
    shrunk towards 1 by ``max(0, 1 - 1/F)`` where F is the one-way ANOVA
    statistic of the weekdays (James-Stein style), so noise gives ~1.

    Returns:
        ``(factors[7], significant)``.
    """
    lo = max(0, n - 364)
    yy = y[lo:n]
    mm = m[lo:n] > 0
    wd = weekday[lo:n][mm]
    yy = yy[mm]
    ones = np.ones(7)
    if yy.size < 28:
        return ones, False
    count = np.bincount(wd, minlength=7)
    if count.min() < 3:
        return ones, False
    total = np.bincount(wd, weights=yy, minlength=7)
    mean_d = total / count
    grand = yy.mean()
    if grand <= 0:
        return ones, False
    within = (np.bincount(wd, weights=yy * yy, minlength=7)
        - count * mean_d * mean_d).sum() / max(1, yy.size - 7)
    between = (count * (mean_d - grand) ** 2).sum() / 6.0
    if within <= 0:
        f_stat = math.inf if between > 0 else 0.0
    else:
        f_stat = between / within
    if f_stat < 2.0:
        return ones, False
    shrink = max(0.0, 1.0 - 1.0 / f_stat)
    factors = 1.0 + shrink * (mean_d / grand - 1.0)
    factors = np.maximum(factors, 0.0)
    factors *= 7.0 / factors.sum()
    return factors, True


def _yearly_profile(y, m, base, fourier, u, fit_end, total):
    """Multiplicative day-of-year profile from a Fourier regression.

    Fits ``y / base ~ c0 + c1*u + sum(Fourier, K harmonics)`` on the valid
    days before ``fit_end`` for each K in ``FOURIER_ORDERS``, keeps the K
    of smallest BIC (so a sharp seasonal peak gets more harmonics than a
    gentle wave, and noise fewer) and returns ``1 + F / mean_level``.

    Returns:
        ``(profile[total], significant)``; the profile is all ones when the
        Fourier block of the chosen K is not significant (Wald test).
    """
    ones = np.ones(total)
    sel = (m[:fit_end] > 0) & (base[:fit_end] > 0.05)
    count = int(sel.sum())
    if count < 300 or int((sel & (y[:fit_end] > 0)).sum()) \
            < YEARLY_MIN_SALES_DAYS:
        return ones, False
    yy = y[:fit_end][sel] / base[:fit_end][sel]
    x = _design(fourier, u, fit_end)[sel]
    xtx = (x.T @ x)[None]
    xty = (yy @ x)[None]
    yty = np.array([yy @ yy])
    level = np.array([yy.sum() / count])
    bf, ok = _fourier_fit(xtx, xty, yty, np.array([count]), level)
    if not ok[0]:
        return ones, False
    profile = 1.0 + (fourier[:total] @ bf[0]) / level[0]
    return np.maximum(profile, 0.02), True


def _design(fourier, u, n):
    """Regressors of the yearly fit: constant, time, Fourier terms."""
    x = np.empty((n, 2 + fourier.shape[1]))
    x[:, 0] = 1.0
    x[:, 1] = u[:n]
    x[:, 2:] = fourier[:n]
    return x


def _fourier_fit(xtx, xty, yty, count, level):
    """Choose the number of harmonics by BIC and test the profile.

    The regressors of an order are the first ``2 + 2 * order`` columns of
    the full design, so one Cholesky factor ``L`` of the full normal
    matrix serves every order: the leading block of ``L`` is the factor
    of the leading block of ``X'X``.  With ``z = L^-1 X'y``, the residual
    sum of squares of the first ``p`` regressors is ``y'y - |z[:p]|^2``,
    and the Wald statistic of the Fourier coefficients (the trailing
    block of those ``p``) is the sum of squares they explain,
    ``|z[2:p]|^2``, over ``sigma^2`` and their number.  Only the chosen
    order's coefficients are solved for (``L[:p, :p]' beta = z[:p]``).

    Args:
        xtx: ``(k, p, p)`` normal matrices of the full design.
        xty: ``(k, p)``; yty: ``(k,)`` sums of squares; count: ``(k,)``
            observations; level: ``(k,)`` mean of the fitted series.

    Returns:
        ``(coefficients[k, 2 * FOURIER_ORDER], significant[k])``: the
        Fourier coefficients of the chosen order (zeros above it).
    """
    k, width = xtx.shape[0], xtx.shape[1]
    best_bic = np.full(k, np.inf)
    wald = np.zeros(k)
    size = np.zeros(k, int)
    with np.errstate(invalid='ignore', divide='ignore', over='ignore'):
        try:
            factor = np.linalg.cholesky(xtx)
        except np.linalg.LinAlgError:
            # a singular row: factor the rows one by one
            factor = np.full_like(xtx, np.nan)
            for i in range(k):
                try:
                    factor[i] = np.linalg.cholesky(xtx[i])
                except np.linalg.LinAlgError:
                    pass
        good = np.isfinite(factor).all(axis=(1, 2))
        factor[~good] = np.eye(width)
        z = np.linalg.solve(factor, xty[:, :, None])[:, :, 0]
        explained = np.cumsum(z * z, axis=1)
        for order in FOURIER_ORDERS:
            p = 2 + 2 * order
            rss = np.maximum(yty - explained[:, p - 1], 0.0)
            sigma2 = rss / np.maximum(1, count - p)
            bic = count * np.log(np.maximum(rss, 1e-300) / count) \
                + p * np.log(count)
            w = (explained[:, p - 1] - explained[:, 1]) / (
                sigma2 * 2 * order)
            better = good & np.isfinite(bic) & (bic < best_bic) \
                & np.isfinite(w)
            best_bic = np.where(better, bic, best_bic)
            wald = np.where(better, w, wald)
            size = np.where(better, p, size)
        # z beyond the chosen order set to 0: the coefficients beyond it
        # come out 0 from the back substitution
        z[np.arange(width)[None, :] >= size[:, None]] = 0.0
        beta = np.linalg.solve(np.swapaxes(factor, 1, 2), z[:, :, None])
    ok = np.isfinite(best_bic) & (level > 0) & (wald >= 4.0)
    return beta[:, 2:, 0], ok


# --------------------------------------------------------------------------
# Models: state at every origin
# --------------------------------------------------------------------------

@dataclass(frozen=True)
class _ModelPath:
    """State of a model at every origin ``t = 0..n``.

    The forecast made at origin ``t`` for day ``tau >= t`` is
    ``max(0, (level[t] + slope[t] * u[tau]) * factor[tau])``.
    """
    name: str
    level: np.ndarray
    slope: Optional[np.ndarray]
    factor: np.ndarray
    complexity: int


# (name, kind, discount) of the candidate models; kind L = level, T = trend
SMOOTH_MODELS = (
    ('level_slow', 'L', 0.99),
    ('level', 'L', 0.96),
    ('level_fast', 'L', 0.88),
    ('trend_slow', 'T', 0.993),
    ('trend', 'T', 0.975),
    )
INTERMITTENT_MODELS = (
    ('level_long', 'L', 0.997),
    ('level_slow', 'L', 0.99),
    ('level', 'L', 0.96),
    )


def _fit_models(specs, yd, md, u):
    """Level and slope of several discounted models at every origin.

    Args:
        specs: sequence of ``(name, kind, discount)``.
        yd: deseasonalised demand.
        md: weights (0 on censored days or days with a zero profile).
        u: time in years (at least ``len(yd)`` long).

    Returns:
        ``(level, slope)`` arrays of shape ``(len(specs), n + 1)``.
    """
    n = yd.size
    uu = u[:n]
    rows = []
    lams = []
    base_y = md * yd
    for _, kind, lam in specs:
        if kind == 'L':
            rows.extend((base_y, md))
            lams.extend((lam, lam))
        else:
            mu = md * uu
            rows.extend((md, mu, mu * uu, base_y, base_y * uu))
            lams.extend((lam,) * 5)
    sums = _discounted_sums(np.vstack(rows), np.array(lams))
    k = len(specs)
    level = np.zeros((k, n + 1))
    slope = np.zeros((k, n + 1))
    r = 0
    with np.errstate(invalid='ignore', divide='ignore'):
        for i, (_, kind, _) in enumerate(specs):
            if kind == 'L':
                sy, s0 = sums[r], sums[r + 1]
                level[i] = np.where(s0 > 1e-9, sy / np.maximum(s0, 1e-300),
                    0.0)
                r += 2
            else:
                s0, s1, s2, sy, suy = sums[r:r + 5]
                det = s0 * s2 - s1 * s1
                # a slope needs ~3 weeks of effective data and some spread
                ok = (s0 >= 14.0) & (det > 1e-12 * np.maximum(
                        s0 * s0, 1e-300))
                b = np.where(ok, (s0 * suy - s1 * sy) / np.where(
                        ok, det, 1.0), 0.0)
                slope[i] = b
                level[i] = np.where(s0 > 1e-9, (sy - b * s1) / np.maximum(
                        s0, 1e-300), 0.0)
                r += 5
    return level, slope


def _croston_models(y, m, n):
    """SBA and TSB levels at every origin (intermittent items).

    Returns:
        ``(names, level)`` with level of shape ``(2, n + 1)``, or
        ``((), None)`` without any demand.
    """
    valid = m > 0
    occ = np.flatnonzero(valid & (y > 0))
    if occ.size == 0:
        return (), None
    sizes = y[occ]
    cum_valid = np.cumsum(valid)
    intervals = np.diff(np.concatenate(([0], cum_valid[occ]))).astype(float)
    # number of occurrences strictly before origin t
    k_at = np.searchsorted(occ, np.arange(n + 1), side='left')
    alpha = 0.1
    seq = _discounted_sums(
        np.vstack((sizes, np.ones_like(sizes), intervals,
                np.ones_like(sizes), sizes, np.ones_like(sizes))),
        np.array([1 - alpha, 1 - alpha, 1 - alpha, 1 - alpha, 0.9, 0.9]))
    with np.errstate(invalid='ignore', divide='ignore'):
        z = np.where(seq[1] > 0, seq[0] / np.maximum(seq[1], 1e-300), 0.0)
        a = np.where(seq[3] > 0, seq[2] / np.maximum(seq[3], 1e-300), 0.0)
        sba = np.where(a > 0, (1.0 - alpha / 2.0) * z / np.maximum(
                a, 1e-300), 0.0)
        z_tsb = np.where(seq[5] > 0, seq[4] / np.maximum(seq[5], 1e-300),
            0.0)
    prob_sums = _discounted_sums(
        np.vstack((m * (y > 0), m)), 0.95)
    with np.errstate(invalid='ignore', divide='ignore'):
        prob = np.where(prob_sums[1] > 1e-9, prob_sums[0] / np.maximum(
                prob_sums[1], 1e-300), 0.0)
    level = np.vstack((sba[k_at], prob * z_tsb[k_at]))
    return ('sba', 'tsb'), level


# --------------------------------------------------------------------------
# Window sums
# --------------------------------------------------------------------------

def _cum0(x):
    out = np.empty(x.size + 1)
    out[0] = 0.0
    np.cumsum(x, out=out[1:])
    return out


class _Windows:
    """Cumulative sums of a model's factor path to get window forecasts."""

    def __init__(self, path, u, weight=None):
        f = path.factor if weight is None else path.factor[:weight.size] \
            * weight
        self.cf = _cum0(f)
        self.cuf = _cum0(u[:f.size] * f) if path.slope is not None else None
        self.path = path


# --------------------------------------------------------------------------
# Public result and entry point of this module
# --------------------------------------------------------------------------

@dataclass(frozen=True)
class DemandForecast:
    """Result of :func:`forecast_demand`.

    Attributes:
        model: name of the chosen model (with ``+weekly`` / ``+yearly``
            when the profiles are applied), ``'none'`` without demand.
        error: relative RMSE of the chosen model's out-of-sample forecast of
            the demand over ``eval_days`` days, over the recent origins
            (``nan`` when there were no origins to score).
        candidates: ``((name, error), ...)`` of every candidate scored.
        eval_days: window length used to score the models.
        demand_class: Syntetos-Boylan class (see :func:`classify_demand`).
        weekly: whether a day-of-week profile is applied.
        yearly: whether a day-of-year profile is applied.
        path: forecast daily demand from ``today`` on (read-only array of
            ``horizon`` days).
        n: number of history days used.
        censored: number of censored (stockout) days in that history.
        season_ahead: whether the yearly model was taken for a change of
            season ahead (see :func:`_season_ahead`), not for its score.
    """
    model: str
    error: float
    candidates: Tuple[Tuple[str, float], ...]
    eval_days: int
    demand_class: str
    weekly: bool
    yearly: bool
    path: np.ndarray
    n: int
    censored: int
    _y: np.ndarray = None
    _m: np.ndarray = None
    _model: _ModelPath = None
    _u: np.ndarray = None
    season_ahead: bool = False

    def window_errors(self, lengths, max_origins=160, with_origins=False,
            span=365):
        """Empirical errors of the forecast of window sums.

        For each window length ``P`` and each past origin ``t`` whose window
        ``[t, t+P)`` lies in the history, returns the actual demand of the
        window (censored days imputed with ``max(sales, forecast)``) minus
        the forecast made at ``t``.

        Args:
            lengths: int array of window lengths (days).
            max_origins: the origins (the most recent year at most) are
                thinned to at most this many.

        Returns:
            ``(forecast, error, valid)`` arrays of shape ``(k, len(lengths))``
            where ``valid`` tells which (origin, length) pairs exist.
        """
        lengths = np.asarray(lengths, dtype=int)
        n = self.n
        if self._model is None or n == 0:
            empty = np.zeros((0, lengths.size))
            if with_origins:
                return empty, empty, empty.astype(bool), np.zeros(0, int)
            return empty, empty, empty.astype(bool)
        lo = min(MIN_ORIGIN, max(7, n // 3))
        lo = max(lo, n - span - int(lengths.max()))
        hi = n - int(lengths.min())
        if hi < lo:
            empty = np.zeros((0, lengths.size))
            if with_origins:
                return empty, empty, empty.astype(bool), np.zeros(0, int)
            return empty, empty, empty.astype(bool)
        step = max(1, (hi - lo + 1 + max_origins - 1) // max_origins)
        origins = np.arange(hi, lo - 1, -step)[::-1]
        path = self._model
        windows = _Windows(path, self._u)
        valid = (origins[:, None] + lengths[None, :]) <= n
        ends = np.minimum(origins[:, None] + lengths[None, :], n)
        lengths_eff = ends - origins[:, None]
        # one-step forecasts for imputing censored days
        one_step = path.level[:n] * path.factor[:n]
        if path.slope is not None:
            one_step = one_step + path.slope[:n] * self._u[:n] * \
                path.factor[:n]
        one_step = np.maximum(one_step, 0.0)
        y_imp = np.where(self._m > 0, self._y, np.maximum(self._y, one_step))
        cy = _cum0(y_imp)
        actual = cy[ends] - cy[origins[:, None]]
        fc = self._window_forecasts(windows, origins, lengths_eff)
        if with_origins:
            return fc, actual - fc, valid, origins
        return fc, actual - fc, valid

    @staticmethod
    def _window_forecasts(windows, origins, lengths_eff):
        o = origins[:, None]
        end = o + lengths_eff
        path = windows.path
        level = path.level[origins][:, None]
        total = level * (windows.cf[end] - windows.cf[o])
        if windows.cuf is not None:
            total = total + path.slope[origins][:, None] * (
                windows.cuf[end] - windows.cuf[o])
        return np.maximum(total, 0.0)

    def future_sum(self, days):
        """Forecast demand over the next ``days`` days (fractional ok).

        Args:
            days: float or array of horizons in days.

        Returns:
            Forecast total(s), linearly interpolated between whole days.
        """
        c = _cum0(self.path)
        d = np.clip(np.asarray(days, dtype=float), 0, self.path.size)
        lo = np.floor(d).astype(int)
        hi = np.minimum(lo + 1, self.path.size)
        frac = d - lo
        return c[lo] + frac * (c[hi] - c[lo])


def _score_family(level, slope, factor, u, y, m, origins, length):
    """Out-of-sample squared error of window sums, for several models.

    The forecast made at each origin for the next ``length`` days is
    compared with the actual demand, both summed over the valid
    (non-censored) days of the window only.

    Returns:
        ``(mse, mean_actual)``: an array (one per model) and a float.
    """
    n = y.size
    mf = m * factor[:n]
    cmf = _cum0(mf)
    cmuf = _cum0(mf * u[:n])
    cy = _cum0(m * y)
    ends = origins + length
    d_f = cmf[ends] - cmf[origins]
    d_uf = cmuf[ends] - cmuf[origins]
    fc = level[:, origins] * d_f + slope[:, origins] * d_uf
    err = (cy[ends] - cy[origins])[None, :] - np.maximum(fc, 0.0)
    return (err * err).mean(axis=1), float((cy[ends] - cy[origins]).mean())


def _season_ahead(profile, y, m, base, n, first, days):
    """Whether a change of season is ahead.

    True when the yearly profile changes by ``SEASON_AHEAD`` or more (up
    or down) from the scored days ``[first, n)`` to the coming ``days``
    days, and the demand (relative to the weekly profile ``base``, valid
    days ``m`` only) changed the same way between the same dates in each
    of the last ``SEASON_YEARS`` years.
    """
    def ratio(a, b, c):
        # mean demand over [b, c) relative to [a, b)
        c = min(c, n)
        if c <= b:
            return None
        w = m[a:c] * base[a:c]
        v = m[a:c] * y[a:c]
        k = b - a
        ref, new = float(w[:k].sum()), float(w[k:].sum())
        if ref <= 0 or new <= 0:
            return None
        low = float(v[:k].sum()) / ref
        high = float(v[k:].sum()) / new
        if low <= 0:
            return math.inf if high > 0 else None
        return high / low

    scored = float(profile[first:n].mean())
    ahead = float(profile[n:n + days].mean())
    if scored <= 0 or ahead <= 0:
        return False
    up = ahead / scored >= SEASON_AHEAD
    if not up and ahead / scored > 1.0 / SEASON_AHEAD:
        return False
    for year in range(1, SEASON_YEARS + 1):
        back = int(round(YEAR_DAYS * year))
        if first - back < 0:
            return False
        past = ratio(first - back, n - back, n - back + days)
        if past is None or (past < SEASON_AHEAD if up
                else past > 1.0 / SEASON_AHEAD):
            return False
    return True


def _level_break(y, m, factor, level, slope, u, n):
    """New level after a drop or a rise of the demand, or ``None``.

    A model chosen on the rolling-origin score follows a change of level
    (end of life, lost or new customer, new listing) only once enough
    origins after it have been scored, weeks later: meanwhile its
    forecast stays at the old level, and so do the orders it triggers:
    left on the shelf after a drop, short of the demand after a rise.

    Drop: the demand of the last ``r`` days (``BREAK_WINDOWS``,
    non-censored days) is compared with the chosen model's forecast made
    ``r`` days ago; a drop is established when the ratio is below
    ``BREAK_RATIO`` and below the ratio of every 7-day window of the past
    year (origins up to ``BREAK_GAP`` days ago, at least
    ``BREAK_MIN_WINDOWS`` of them, i.e. lower than anything the noise of
    this item produced).  The level is then the deseasonalised mean of
    the window of lowest ratio among those (a window reaching back before
    the drop mixes in the old level and has a higher ratio; the windows
    are nested, so choosing the lowest one biases little).

    Rise: each of the last two weeks, compared with the forecast made at
    its start, is above ``RISE_RATIO`` and above the ratio of every 7-day
    window of the past year: one large order or one week of promotion
    moves one week only, and noise passes the highest week of a year
    twice in a row about once in thousands of runs.  A week out of stock
    every day tells nothing and is skipped (at least one must be seen).
    The level is the deseasonalised mean of the two weeks.

    Args:
        y, m: demand and weights (0 on censored days), ``n`` days.
        factor: profile factors (at least ``n`` days).
        level, slope: the chosen model at every origin (``slope`` may be
            ``None``).
        u: time in years.

    Returns:
        The new level (float) or ``None`` when there is no break.
    """
    r = BREAK_WINDOWS[0]
    lo = max(MIN_ORIGIN, n - 365)
    hi = n - BREAK_GAP - r
    if hi - lo + 1 < BREAK_MIN_WINDOWS:
        return None
    # the recent windows first, on the last days only (most items stop
    # here)
    recent = _BREAK_WINDOWS
    back = BREAK_WINDOWS[-1]
    mf_tail = m[n - back:n] * factor[n - back:n]
    # sums over the last d days, d = 0..back
    tail_f = _cum0(mf_tail[::-1])
    tail_y = _cum0((m[n - back:n] * y[n - back:n])[::-1])
    weight_now = tail_f[recent]
    level_then = level[n - recent]
    fc_now = level_then * weight_now
    if slope is not None:
        tail_uf = _cum0((mf_tail * u[n - back:n])[::-1])
        fc_now = fc_now + slope[n - recent] * tail_uf[recent]
    actual_now = tail_y[recent]
    # ratio below BREAK_RATIO, without dividing (fc_now may be 0)
    candidate = (actual_now < BREAK_RATIO * fc_now) & (weight_now > 0)
    if m[n - r:n].sum() < 4:
        candidate[:] = False
    # the last two weeks, each against the forecast made at its start
    # (plain floats: most items stop here)
    weeks = [(float(actual_now[0]), float(fc_now[0]), float(weight_now[0]))]
    fc_before = level_then[1] * (weight_now[1] - weight_now[0])
    if slope is not None:
        fc_before = fc_before + slope[n - 2 * r] * (
            tail_uf[2 * r] - tail_uf[r])
    weeks.append((float(actual_now[1] - actual_now[0]), float(fc_before),
            float(weight_now[1] - weight_now[0])))
    weeks = [week for week in weeks if week[2] > 0]
    rose = bool(weeks) and all(
        fc_week > 0 and actual > RISE_RATIO * fc_week
        for actual, fc_week, _ in weeks)
    if not rose and not candidate.any():
        return None
    mf = m * factor[:n]
    cmf = _cum0(mf)
    cy = _cum0(m * y)
    t = np.arange(lo, hi + 1)
    fc = level[t] * (cmf[t + r] - cmf[t])
    if slope is not None:
        cmuf = _cum0(mf * u[:n])
        fc = fc + slope[t] * (cmuf[t + r] - cmuf[t])
    ok = fc > 0
    if ok.sum() < BREAK_MIN_WINDOWS:
        return None
    past = (cy[t + r] - cy[t])[ok] / fc[ok]
    if candidate.any():
        ratio_now = np.where(candidate, actual_now / np.where(
                candidate, fc_now, 1.0), np.inf)
        passed = np.flatnonzero(ratio_now < past.min())
        if passed.size:
            i = passed[np.argmin(ratio_now[passed])]
            return float(actual_now[i] / weight_now[i])
    if rose:
        ceiling = float(past.max())
        if all(actual > ceiling * fc_week for actual, fc_week, _ in weeks):
            return sum(week[0] for week in weeks) / sum(
                week[2] for week in weeks)
    return None


def _break_path(name, level, slope, factor, n, new_level):
    """The chosen model with its level at ``n`` reset by a break."""
    level = level.copy()
    level[n] = new_level
    if slope is not None:
        slope = slope.copy()
        slope[n] = 0.0
    return _ModelPath(name + '+break', level, slope, factor, 0)


def _uncensor_occurrences(y, m):
    """Bias correction of intermittent demand for lost sales.

    The day an intermittent item runs out (stockout day with sales) holds a
    demand occurrence whose size is only known to be at least the sales:
    typically one of the largest.  Dropping the day (weight 0) would bias
    both the occurrence rate and the size distribution low, hence the
    lead-time demand tail and the fill rate.  Such a day is kept as an
    occurrence of size ``E[size | size >= sales]`` under the empirical
    distribution of the uncensored sizes (the sales themselves when no
    uncensored size is that large, or when fewer than three sizes are
    uncensored).  Stockout days without sales stay censored.

    Returns:
        ``(y, m)``: new arrays (the inputs when nothing changes).
    """
    part = (m <= 0) & (y > 0)
    if not part.any():
        return y, m
    sizes = np.sort(y[(m > 0) & (y > 0)])
    if sizes.size < 3:
        # too few sizes for a tail: the sales, a lower bound, rather than
        # nothing (a slow mover that runs out at every sale would
        # otherwise have no demand at all)
        m = m.copy()
        m[part] = 1.0
        return y, m
    # mean of the sizes >= v, for v = each censored sale
    tail = np.concatenate((np.cumsum(sizes[::-1])[::-1], [0.0]))
    count = sizes.size - np.arange(sizes.size + 1)
    v = y[part]
    i = np.searchsorted(sizes, v, side='left')
    with np.errstate(invalid='ignore', divide='ignore'):
        cond = np.where(count[i] > 0, tail[i] / np.maximum(count[i], 1), v)
    y = y.copy()
    m = m.copy()
    y[part] = np.maximum(v, cond)
    m[part] = 1.0
    return y, m


def _uncensor_occurrences_rows(y, m):
    """:func:`_uncensor_occurrences` of every row of ``y`` and ``m``.

    The uncensored sizes of each row are sorted to its front (the rest of
    the row padded with a value above every sale, summed as 0).
    """
    part = (m <= 0) & (y > 0)
    usable = (m > 0) & (y > 0)
    big = float(y.max()) + 1.0 if y.size else 1.0
    sizes = np.where(usable, y, big)
    sizes.sort(axis=1)
    count_all = usable.sum(axis=1)
    width = y.shape[1]
    # tail[j, i]: sum of the sizes from i on (the padding adds 0.0)
    tail = np.zeros((y.shape[0], width + 1))
    tail[:, :width] = np.cumsum(np.where(
            np.arange(width)[None, :] < count_all[:, None], sizes, 0.0)[
            :, ::-1], axis=1)[:, ::-1]
    rows, cols = np.nonzero(part & (count_all >= 3)[:, None])
    y = y.copy()
    m = m.copy()
    # too few sizes for a tail: the sales themselves
    m[part & (count_all < 3)[:, None]] = 1.0
    if not rows.size:
        return y, m
    v = y[rows, cols]
    # the first size >= v of the row (the padding is above every sale):
    # the rows laid end to end, each shifted above the one before
    gap = 2.0 * big + 1.0
    shift = np.arange(y.shape[0])[:, None] * gap
    i = np.searchsorted((sizes + shift).ravel(), v + shift[rows, 0],
        side='left') - rows * width
    count = count_all[rows] - i
    with np.errstate(invalid='ignore', divide='ignore'):
        cond = np.where(count > 0, tail[rows, i] / np.maximum(count, 1), v)
    y[rows, cols] = np.maximum(v, cond)
    m[rows, cols] = 1.0
    return y, m


def _deseasonalise(y, m, factor, n, weighted=False):
    """Demand divided by its profile, and the weights of the days.

    With ``weighted`` (the yearly profiles) a day weighs its profile
    factor, so the level is a ratio of sums (the Poisson estimate): a day
    of the off-season, where the profile's harmonics ripple around a small
    value, says next to nothing about the level, and an equal weight
    would pull the level of an item sold only in its season far down.
    Works on one item or on the rows of several (``factor[..., :n]``).
    """
    with np.errstate(invalid='ignore', divide='ignore'):
        f = factor[..., :n]
        usable = f > 0.05
        md = np.where(usable, m, 0.0)
        yd = np.where(md > 0, y / np.where(usable, f, 1.0), 0.0)
        if weighted:
            md = md * np.where(usable, f, 0.0)
    return yd, md


def forecast_demand(sales, stockout, today, horizon, eval_days=14):
    """Choose and fit a demand model; forecast the coming days.

    Args:
        sales: daily demand, oldest first, the last element being the day
            before ``today`` (numpy array of floats >= 0).
        stockout: per day, true when the product was out of stock (censored
            day), same length.
        today: ``datetime.date`` of the first forecast day.
        horizon: number of days to forecast (>= 1).
        eval_days: window (days) over which candidate models are compared:
            the squared error of the forecast demand over that many days,
            from each of the recent origins (``EVAL_ORIGINS`` of them, three
            times more for intermittent items).

    Returns:
        A :class:`DemandForecast`.
    """
    y = np.asarray(sales, dtype=float)[-MAX_HISTORY_DAYS:]
    m = (~np.asarray(stockout, dtype=bool)[-MAX_HISTORY_DAYS:]).astype(float)
    n = y.size
    horizon = int(max(1, horizon))
    total = n + horizon
    weekday, fourier, u = _calendar(today.toordinal() - n, total)
    censored = int(n - m.sum())
    if (y > 0).any() and not (y[m > 0] > 0).any():
        # every sale fell on a stockout day (a slow mover that runs out at
        # each sale): the days are taken as in stock, so the sales are
        # the demand of the whole history, not of the few days in stock
        m = np.ones(n)
    dow, weekly = _weekday_profile(y, m, weekday, n)
    base = dow[weekday]
    if weekly:
        # days the shop is closed do not count as days without demand
        label, _, _ = classify_demand(y, m * (base[:n] > 0.05))
    else:
        label, _, _ = classify_demand(y, m)
    if label == 'none':
        path = np.zeros(horizon)
        path.setflags(write=False)
        return DemandForecast(
            'none', math.nan, (), eval_days, 'none', False, False, path, n,
            censored)
    intermittent = label in ('intermittent', 'lumpy')
    if intermittent:
        y, m = _uncensor_occurrences(y, m)
    specs = INTERMITTENT_MODELS if intermittent else SMOOTH_MODELS
    span = EVAL_ORIGINS * (3 if intermittent else 1)

    eval_days = int(max(1, min(eval_days, max(1, n // 3))))
    hi = n - eval_days
    lo = max(min(MIN_ORIGIN, max(7, n // 3)), hi - span + 1)
    origins = np.arange(lo, hi + 1) if hi >= lo else np.zeros(0, int)

    tag = '+weekly' if weekly else ''
    families = []   # (tag, factor, names, level, slope, kinds)
    yd, md = _deseasonalise(y, m, base, n)
    level, slope = _fit_models(specs, yd, md, u)
    names = [name + tag for name, _, _ in specs]
    kinds = [(kind, lam) for _, kind, lam in specs]
    if intermittent:
        c_names, c_level = _croston_models(y, m, n)
        if c_level is not None:
            names.extend(c_names)
            level = np.vstack((level, c_level))
            slope = np.vstack((slope, np.zeros_like(c_level)))
            kinds.extend((('C', 0.0),) * len(c_names))
    families.append((tag, base, names, level, slope, kinds))
    yearly_fit = None
    if n >= YEARLY_MIN_DAYS:
        fit_end = n - span - eval_days + 1
        profile, significant = _yearly_profile(
            y, m, base, fourier, u, max(fit_end, 365), total)
        if significant:
            factor = base * profile
            ydy, mdy = _deseasonalise(y, m, factor, n, True)
            y_specs = [x for x in specs if x[1] != 'C']
            ylevel, yslope = _fit_models(y_specs, ydy, mdy, u)
            ytag = tag + '+yearly'
            families.append((ytag, factor, [x[0] + ytag for x in y_specs],
                    ylevel, yslope, [(x[1], x[2]) for x in y_specs]))
            yearly_fit = True

    ahead = False
    if origins.size:
        scored = []
        mean_actual = 1.0
        for fam_index, (_, factor, fnames, flevel, fslope, _) in enumerate(
                families):
            mse, mean_actual = _score_family(
                flevel, fslope, factor, u, y, m, origins, eval_days)
            for i, value in enumerate(mse):
                scored.append((float(value), fam_index, i))
        # the candidates are listed from simple to complex (the profile
        # families last): a more complex model must be clearly better
        best = scored[0]
        for cand in scored[1:]:
            if cand[0] < 0.97 * best[0]:
                best = cand
        scale = mean_actual if mean_actual > 0 else 1.0
        error = math.sqrt(best[0]) / scale
        cand_errors = tuple(
            (families[f][2][i], round(math.sqrt(v) / scale, 4))
            for v, f, i in scored)
        fam_index, row = best[1], best[2]
        if fam_index == 0 and yearly_fit is not None and _season_ahead(
                profile, y, m, base, n, int(origins[0]),
                min(eval_days, horizon)):
            best = min(x for x in scored if x[1] == 1)
            fam_index, row = 1, best[2]
            error = math.sqrt(best[0]) / scale
            ahead = True
    else:
        fam_index, row = 0, (0 if intermittent else 1)
        error = math.nan
        cand_errors = ()

    ftag, factor, fnames, flevel, fslope, fkinds = families[fam_index]
    name = fnames[row]
    kind, lam = fkinds[row]
    chosen_level, chosen_slope = flevel[row], fslope[row]
    yearly = yearly_fit is not None and fam_index == 1
    has_slope = kind == 'T'
    chosen = _ModelPath(name, chosen_level,
        chosen_slope if has_slope else None, factor, 0)
    if not intermittent:
        new_level = _level_break(y, m, factor, chosen.level, chosen.slope,
            u, n)
        if new_level is not None:
            chosen = _break_path(name, chosen.level, chosen.slope, factor,
                n, new_level)
            name = chosen.name
    path = chosen.level[n] * factor[n:total]
    if has_slope:
        path = path + chosen.slope[n] * u[n:total] * factor[n:total]
    path = np.maximum(path, 0.0)
    path.setflags(write=False)
    return DemandForecast(
        name, error, cand_errors, eval_days, label, weekly,
        yearly, path, n, censored, y, m, chosen, u, ahead)


# --------------------------------------------------------------------------
# Batch version: many items with the same history length at once
# --------------------------------------------------------------------------

# Below this many history days the batch falls back to the single-item
# function (the origin spans of short histories differ item by item); a
# scoring window longer than BATCH_EVAL_DAYS needs as many more days.
BATCH_EVAL_DAYS = 42
BATCH_MIN_DAYS = 28 + 3 * EVAL_ORIGINS + BATCH_EVAL_DAYS + 7
# Items processed together (keeps the work arrays in cache).
BATCH_CHUNK = 128


def _weekday_profiles(y, m, weekday, n):
    """:func:`_weekday_profile` for the rows of ``y`` at once."""
    k = y.shape[0]
    lo = max(0, n - 364)
    mm = m[:, lo:n] > 0
    ym = np.where(mm, y[:, lo:n], 0.0)
    onehot = (weekday[lo:n, None] == np.arange(7)[None, :]).astype(float)
    count = mm.astype(float) @ onehot
    total = ym @ onehot
    square = (ym * ym) @ onehot
    size = count.sum(axis=1)
    factors = np.ones((k, 7))
    weekly = np.zeros(k, bool)
    with np.errstate(invalid='ignore', divide='ignore'):
        mean_d = total / np.maximum(count, 1.0)
        grand = total.sum(axis=1) / np.maximum(size, 1.0)
        within = (square - count * mean_d * mean_d).sum(axis=1) \
            / np.maximum(1.0, size - 7)
        between = (count * (mean_d - grand[:, None]) ** 2).sum(axis=1) / 6.0
        f_stat = np.where(within > 0, between / np.where(
                within > 0, within, 1.0),
            np.where(between > 0, np.inf, 0.0))
    ok = (size >= 28) & (count.min(axis=1) >= 3) & (grand > 0) \
        & (f_stat >= 2.0)
    for i in np.flatnonzero(ok):
        shrink = max(0.0, 1.0 - 1.0 / f_stat[i])
        f = 1.0 + shrink * (mean_d[i] / grand[i] - 1.0)
        f = np.maximum(f, 0.0)
        f *= 7.0 / f.sum()
        factors[i] = f
        weekly[i] = True
    return factors, weekly


def _classify_rows(y, m):
    """:func:`classify_demand` labels for the rows of ``y`` at once."""
    valid = m > 0
    pos = valid & (y > 0)
    count = pos.sum(axis=1)
    n_valid = valid.sum(axis=1)
    # sales on stockout days only: demand seen over all the days
    only = (count == 0) & (y > 0).any(axis=1)
    if only.any():
        pos = np.where(only[:, None], y > 0, pos)
        count = pos.sum(axis=1)
        n_valid = np.where(only, y.shape[1], n_valid)
    labels = []
    with np.errstate(invalid='ignore', divide='ignore'):
        mean = np.where(pos, y, 0.0).sum(axis=1) / np.maximum(count, 1)
        dev = np.where(pos, y - mean[:, None], 0.0)
        cv2 = np.where(count > 1, (dev * dev).sum(axis=1)
            / np.maximum(count, 1) / np.maximum(mean * mean, 1e-300), 0.0)
        adi = n_valid / np.maximum(count, 1)
    for i in range(y.shape[0]):
        if count[i] == 0:
            labels.append('none')
        elif adi[i] < ADI_CUTOFF:
            labels.append('smooth' if cv2[i] < CV2_CUTOFF else 'erratic')
        else:
            labels.append('intermittent' if cv2[i] < CV2_CUTOFF
                else 'lumpy')
    return labels


def _fit_models_rows(specs, yd, md, u):
    """:func:`_fit_models` for the rows of ``yd`` at once.

    Returns:
        ``(level, slope)`` of shape ``(k, len(specs), n + 1)``.
    """
    k, n = yd.shape
    uu = u[:n]
    base_y = md * yd
    series = {'y': base_y, 'm': md}
    if any(kind == 'T' for _, kind, _ in specs):
        series['mu'] = md * uu
        series['muu'] = series['mu'] * uu
        series['yu'] = base_y * uu
    names = []
    lams = []
    for _, kind, lam in specs:
        row = ('y', 'm') if kind == 'L' else ('m', 'mu', 'muu', 'y', 'yu')
        names.extend(row)
        lams.extend((lam,) * len(row))
    r = len(names)
    # rows series-major, (r, k, n) -> (r * k, n): the rows of one discount
    # are contiguous (views in _discounted_sums)
    x = np.empty((r, k, n))
    for j, name in enumerate(names):
        x[j] = series[name]
    sums = _discounted_sums(x.reshape(r * k, n), np.repeat(np.array(lams), k)
        ).reshape(r, k, n + 1).transpose(1, 0, 2)
    level = np.zeros((k, len(specs), n + 1))
    slope = np.zeros((k, len(specs), n + 1))
    j = 0
    with np.errstate(invalid='ignore', divide='ignore'):
        for i, (_, kind, _) in enumerate(specs):
            if kind == 'L':
                sy, s0 = sums[:, j], sums[:, j + 1]
                level[:, i] = np.where(s0 > 1e-9, sy / np.maximum(
                        s0, 1e-300), 0.0)
                j += 2
            else:
                s0, s1, s2, sy, suy = (sums[:, j + q] for q in range(5))
                det = s0 * s2 - s1 * s1
                ok = (s0 >= 14.0) & (det > 1e-12 * np.maximum(
                        s0 * s0, 1e-300))
                b = np.where(ok, (s0 * suy - s1 * sy) / np.where(
                        ok, det, 1.0), 0.0)
                slope[:, i] = b
                level[:, i] = np.where(s0 > 1e-9, (sy - b * s1) / np.maximum(
                        s0, 1e-300), 0.0)
                j += 5
    return level, slope


def _weighted_gram(w, x):
    """``X' diag(w_r) X`` for every row ``w_r`` of ``w``: ``(k, p, p)``.

    Only the upper triangle is computed (one matrix product), then
    mirrored.
    """
    p = x.shape[1]
    iu, ju = np.triu_indices(p)
    upper = w @ (x[:, iu] * x[:, ju])
    out = np.empty((w.shape[0], p, p))
    out[:, iu, ju] = upper
    out[:, ju, iu] = upper
    return out


def _yearly_profiles(y, m, base, fourier, u, fit_end, total):
    """:func:`_yearly_profile` for the rows of ``y`` (one ``fit_end`` each).

    Returns:
        ``(profiles[k, total], significant[k])``.
    """
    k, n = y.shape
    profiles = np.ones((k, total))
    significant = np.zeros(k, bool)
    days = np.arange(n)
    sel = (m > 0) & (base[:, :n] > 0.05) & (days[None, :] < fit_end[:, None])
    count = sel.sum(axis=1)
    rows = np.flatnonzero((count >= 300)
        & ((sel & (y > 0)).sum(axis=1) >= YEARLY_MIN_SALES_DAYS))
    if rows.size == 0:
        return profiles, significant
    sel = sel[rows]
    x = _design(fourier, u, n)
    with np.errstate(invalid='ignore', divide='ignore'):
        yy = np.where(sel, y[rows] / np.where(sel, base[rows, :n], 1.0),
            0.0)
    xtx = _weighted_gram(sel.astype(float), x)
    xty = yy @ x
    yty = (yy * yy).sum(axis=1)
    level = yy.sum(axis=1) / count[rows]
    bf, ok = _fourier_fit(xtx, xty, yty, count[rows], level)
    for j in np.flatnonzero(ok):
        i = rows[j]
        profiles[i] = np.maximum(
            1.0 + (fourier[:total] @ bf[j]) / level[j], 0.02)
        significant[i] = True
    return profiles, significant


def _score_rows(level, slope, factor, u, y, m, origins, length,
        sloped=None):
    """:func:`_score_family` for the rows at once (origins per row).

    Args:
        level, slope: ``(k, models, n + 1)``.
        factor: ``(k, >= n)``.
        origins: ``(k, s)`` int.
        length: ``(k,)`` int.
        sloped: indices of the models with a slope (None: all); the
            slope of the others is 0 and not read.

    Returns:
        ``(mse[k, models], mean_actual[k])``.
    """
    windows = _score_windows(factor, u, y, m, origins, length,
        sloped is None or len(sloped) > 0)
    return _score_levels(windows, level, slope, sloped)


def take_last(a, index):
    """``np.take_along_axis(a, index, -1)`` for indexes in range, where
    ``index`` has at least the dimensions of ``a`` and its leading ones
    match or are 1: one flat ``take`` (numpy's fancy indexing costs
    several times more on small inner dimensions).

    The callers' indexes are in ``[0, a.shape[-1])`` by construction (window
    ends clipped to the history, sort orders, counts): unlike
    ``take_along_axis``, an index past a row's end would read the next row
    instead of raising, and checking every index would cost a good part
    of what the flat take saves."""
    a = np.ascontiguousarray(a)
    lead = a.shape[:-1]
    offsets = np.arange(math.prod(lead)) * a.shape[-1]
    offsets = offsets.reshape(lead + (1,) * (index.ndim - len(lead)))
    return a.reshape(-1).take(offsets + index)


def _score_windows(factor, u, y, m, origins, length, with_slope=True):
    """The window sums :func:`_score_rows` compares the models on (the
    same for every model of a factor; the sums of the slope terms only
    ``with_slope``)."""
    k, n = y.shape
    mf = m * factor[:, :n]
    zero = np.zeros((k, 1))
    cmf = np.concatenate((zero, np.cumsum(mf, axis=1)), axis=1)
    cy = np.concatenate((zero, np.cumsum(m * y, axis=1)), axis=1)
    ends = origins + length[:, None]
    d_f = take_last(cmf, ends) - take_last(cmf, origins)
    d_uf = None
    if with_slope:
        cmuf = np.concatenate((zero, np.cumsum(mf * u[:n], axis=1)), axis=1)
        d_uf = take_last(cmuf, ends) - take_last(cmuf, origins)
    actual = take_last(cy, ends) - take_last(cy, origins)
    return origins, d_f, d_uf, actual


def _score_levels(windows, level, slope, sloped=None):
    """:func:`_score_rows` of the models on :func:`_score_windows`."""
    origins, d_f, d_uf, actual = windows
    idx = origins[:, None, :]
    fc = take_last(level, idx) * d_f[:, None, :]
    if sloped is None:
        fc += take_last(slope, idx) * d_uf[:, None, :]
    elif len(sloped):
        sloped = list(sloped)
        fc[:, sloped] += take_last(slope[:, sloped], idx) \
            * d_uf[:, None, :]
    err = actual[:, None, :] - np.maximum(fc, 0.0)
    return (err * err).mean(axis=2), actual.mean(axis=1)


def _croston_rows(y, m, n):
    """:func:`_croston_models` for the rows at once.

    Returns:
        ``(level[k, 2, n + 1], has_demand[k])``.
    """
    k = y.shape[0]
    valid = m > 0
    occ_mask = valid & (y > 0)
    count = occ_mask.sum(axis=1)
    width = max(1, int(count.max()))
    rows, cols = np.nonzero(occ_mask)
    first = np.concatenate(([0], np.cumsum(count)[:-1]))
    rank = np.arange(rows.size) - first[rows]
    cum_valid = np.cumsum(valid, axis=1)
    sizes = np.zeros((k, width))
    sizes[rows, rank] = y[rows, cols]
    at = np.zeros((k, width))
    at[rows, rank] = cum_valid[rows, cols]
    intervals = np.diff(np.concatenate((np.zeros((k, 1)), at), axis=1),
        axis=1)
    ones = (np.arange(width)[None, :] < count[:, None]).astype(float)
    alpha = 0.1
    # Croston's sizes and intervals and TSB's sizes are all smoothed with
    # the same discount 1 - alpha = 0.9: the sums of the sizes and of the
    # weights (ones) are computed once
    x = np.stack((sizes, ones, intervals), axis=1)
    seq = _discounted_sums(x.reshape(3 * k, width), 1 - alpha).reshape(
        k, 3, width + 1)
    with np.errstate(invalid='ignore', divide='ignore'):
        z = np.where(seq[:, 1] > 0, seq[:, 0] / np.maximum(
                seq[:, 1], 1e-300), 0.0)
        a = np.where(seq[:, 1] > 0, seq[:, 2] / np.maximum(
                seq[:, 1], 1e-300), 0.0)
        sba = np.where(a > 0, (1.0 - alpha / 2.0) * z / np.maximum(
                a, 1e-300), 0.0)
    prob_sums = _discounted_sums(np.stack(
            (m * (y > 0), m), axis=1).reshape(2 * k, n), 0.95).reshape(
        k, 2, n + 1)
    with np.errstate(invalid='ignore', divide='ignore'):
        prob = np.where(prob_sums[:, 1] > 1e-9, prob_sums[:, 0] / np.maximum(
                prob_sums[:, 1], 1e-300), 0.0)
    # occurrences strictly before each origin t = 0..n
    k_at = np.concatenate((np.zeros((k, 1), int),
            np.cumsum(occ_mask, axis=1)), axis=1)
    # TSB: the probability of a demand times Croston's smoothed size
    level = np.stack((take_last(sba, k_at),
            prob * take_last(z, k_at)), axis=1)
    return level, count > 0


def forecast_demand_batch(sales, stockout, today, horizons, eval_days):
    """:func:`forecast_demand` for many items with the same history length.

    Args:
        sales: 2-D array ``(items, days)`` of daily demand (oldest first).
        stockout: 2-D boolean array of the same shape.
        today: ``datetime.date`` of the first forecast day (common).
        horizons: number of days to forecast, one per item.
        eval_days: scoring window (days), one per item.

    Returns:
        A list of :class:`DemandForecast`, the same (up to rounding of
        sums) as :func:`forecast_demand` item by item.  Histories shorter
        than ``BATCH_MIN_DAYS`` are computed item by item.
    """
    y_all = np.asarray(sales, dtype=float)
    s_all = np.asarray(stockout, dtype=bool)
    k = y_all.shape[0]
    horizons = [int(max(1, h)) for h in horizons]
    eval_days = [int(e) for e in eval_days]
    y_all = y_all[:, -MAX_HISTORY_DAYS:]
    s_all = s_all[:, -MAX_HISTORY_DAYS:]
    n = y_all.shape[1]
    longest = max((min(e, n // 3) for e in eval_days), default=0)
    if n < BATCH_MIN_DAYS + max(0, longest - BATCH_EVAL_DAYS) or k == 0:
        return [forecast_demand(y_all[i], s_all[i], today, horizons[i],
                eval_days[i]) for i in range(k)]
    m_all = (~s_all).astype(float)
    eval_days = [int(max(1, min(e, max(1, n // 3)))) for e in eval_days]
    big_h = max(horizons)
    total = n + big_h
    weekday, fourier, u = _calendar(today.toordinal() - n, total)
    censored = n - m_all.sum(axis=1)
    # every sale on a stockout day: the days taken as in stock
    # (forecast_demand)
    only = (y_all > 0).any(axis=1) & ~((y_all > 0) & (m_all > 0)).any(
        axis=1)
    m_all[only] = 1.0
    dow, weekly = _weekday_profiles(y_all, m_all, weekday, n)
    base = dow[:, weekday]
    mask = np.where(weekly[:, None], m_all * (base[:, :n] > 0.05), m_all)
    labels = _classify_rows(y_all, mask)
    results = [None] * k
    groups = {}
    for i, label in enumerate(labels):
        if label == 'none':
            path = np.zeros(horizons[i])
            path.setflags(write=False)
            results[i] = DemandForecast(
                'none', math.nan, (), eval_days[i], 'none', False, False,
                path, n, int(censored[i]))
        else:
            groups.setdefault(label in ('intermittent', 'lumpy'),
                []).append(i)
    for intermittent, members in groups.items():
        for start in range(0, len(members), BATCH_CHUNK):
            rows = np.array(members[start:start + BATCH_CHUNK])
            _forecast_rows(results, rows, intermittent, y_all[rows],
                m_all[rows], base[rows], weekly[rows],
                [labels[i] for i in rows], [eval_days[i] for i in rows],
                [horizons[i] for i in rows], censored[rows], fourier, u, n,
                total)
    return results


def _forecast_rows(results, rows, intermittent, y, m, base, weekly, labels,
        eval_days, horizons, censored, fourier, u, n, total):
    """Models, scoring and choice for rows of the same kind."""
    k = rows.size
    if intermittent:
        # only the rows with sales on a stockout day change
        part = ((m <= 0) & (y > 0)).any(axis=1)
        if part.any():
            y = y.copy()
            m = m.copy()
            rows_ = np.flatnonzero(part)
            y[rows_], m[rows_] = _uncensor_occurrences_rows(y[rows_],
                m[rows_])
    specs = INTERMITTENT_MODELS if intermittent else SMOOTH_MODELS
    span = EVAL_ORIGINS * (3 if intermittent else 1)
    ev = np.array(eval_days)
    hi = n - ev
    lo = np.maximum(min(MIN_ORIGIN, max(7, n // 3)), hi - span + 1)
    # n >= BATCH_MIN_DAYS: every row has exactly ``span`` origins
    origins = lo[:, None] + np.arange(span)[None, :]
    yd, md = _deseasonalise(y, m, base, n)
    level, slope = _fit_models_rows(specs, yd, md, u)
    kinds = [(kind, lam) for _, kind, lam in specs]
    croston = [None] * k
    if intermittent:
        c_levels, has = _croston_rows(y, m, n)
        for j in np.flatnonzero(has):
            croston[j] = (('sba', 'tsb'), c_levels[j])
    fam0_mse = np.zeros((k, len(specs)))
    fam0_mean = np.zeros(k)
    sloped = [i for i, (_, kind, _) in enumerate(specs) if kind == 'T']
    windows = _score_windows(base, u, y, m, origins, ev, bool(sloped))
    mse, mean_actual = _score_levels(windows, level, slope, sloped)
    fam0_mse[:] = mse
    fam0_mean[:] = mean_actual
    c_mse = [None] * k
    if intermittent:
        cm, _ = _score_levels(windows, c_levels, c_levels, sloped=())
        c_mse = cm.tolist()
    yearly = np.zeros(k, bool)
    ylevel = yslope = factor1 = y_mse = None
    y_specs = [x for x in specs if x[1] != 'C']
    if n >= YEARLY_MIN_DAYS:
        fit_end = np.maximum(n - span - ev + 1, 365)
        profiles, yearly = _yearly_profiles(
            y, m, base, fourier, u, fit_end, total)
        yrows = np.flatnonzero(yearly)
        if yrows.size:
            factor1 = base[yrows] * profiles[yrows]
            ydy, mdy = _deseasonalise(y[yrows], m[yrows], factor1, n, True)
            ylevel, yslope = _fit_models_rows(y_specs, ydy, mdy, u)
            y_mse, _ = _score_rows(ylevel, yslope, factor1, u, y[yrows],
                m[yrows], origins[yrows], ev[yrows],
                [i for i, (_, kind, _) in enumerate(y_specs) if kind == 'T'])
    yindex = {int(j): q for q, j in enumerate(np.flatnonzero(yearly))}
    # plain Python numbers for the per-row choice (no numpy scalar per
    # candidate)
    fam0_mse = fam0_mse.tolist()
    fam0_mean = fam0_mean.tolist()
    y_mse = y_mse.tolist() if y_mse is not None else None
    plain_names = {tag: [name + tag for name, _, _ in specs]
        for tag in ('', '+weekly')}
    yearly_names = {tag: [x[0] + tag + '+yearly' for x in y_specs]
        for tag in ('', '+weekly')}
    sqrt = math.sqrt
    for j in range(k):
        tag = '+weekly' if weekly[j] else ''
        names0 = plain_names[tag]
        kinds0 = kinds
        scored = [(v, 0, i) for i, v in enumerate(fam0_mse[j])]
        if croston[j] is not None:
            c_names = croston[j][0]
            base_i = len(names0)
            names0 = names0 + list(c_names)
            kinds0 = kinds0 + [('C', 0.0)] * len(c_names)
            scored.extend((v, 0, base_i + i)
                for i, v in enumerate(c_mse[j]))
        families_names = [names0]
        q = yindex.get(j)
        if q is not None:
            families_names.append(yearly_names[tag])
            scored.extend((v, 1, i) for i, v in enumerate(y_mse[q]))
        best = scored[0]
        for cand in scored[1:]:
            if cand[0] < 0.97 * best[0]:
                best = cand
        mean = fam0_mean[j]
        scale = mean if mean > 0 else 1.0
        error = sqrt(best[0]) / scale
        cand_errors = tuple(
            (families_names[f][i], round(sqrt(v) / scale, 4))
            for v, f, i in scored)
        fam_index, row = best[1], best[2]
        ahead = fam_index == 0 and q is not None and _season_ahead(
            profiles[j], y[j], m[j], base[j], n, int(lo[j]),
            min(eval_days[j], horizons[j]))
        if ahead:
            best = min(x for x in scored if x[1] == 1)
            fam_index, row = 1, best[2]
            error = sqrt(best[0]) / scale
        h = horizons[j]
        end = n + h
        if fam_index == 1:
            name = families_names[1][row]
            kind, _ = y_specs[row][1], y_specs[row][2]
            factor = factor1[q][:end]
            c_level = ylevel[q, row]
            c_slope = yslope[q, row]
        else:
            name = names0[row]
            kind = kinds0[row][0]
            factor = base[j][:end]
            if row < len(specs):
                c_level = level[j, row]
                c_slope = slope[j, row]
            else:
                c_level = croston[j][1][row - len(specs)]
                c_slope = np.zeros_like(c_level)
        has_slope = kind == 'T'
        chosen = frozen(_ModelPath, name, c_level,
            c_slope if has_slope else None, factor, 0)
        if not intermittent:
            new_level = _level_break(y[j], m[j], factor, chosen.level,
                chosen.slope, u, n)
            if new_level is not None:
                chosen = _break_path(name, chosen.level, chosen.slope,
                    factor, n, new_level)
                name = chosen.name
        path = chosen.level[n] * factor[n:end]
        if has_slope:
            path = path + chosen.slope[n] * u[n:end] * factor[n:end]
        path = np.maximum(path, 0.0)
        path.setflags(write=False)
        results[rows[j]] = frozen(DemandForecast,
            name, error, cand_errors, eval_days[j], labels[j],
            bool(weekly[j]), fam_index == 1, path, n, int(censored[j]),
            y[j], m[j], chosen, u[:end], ahead)
