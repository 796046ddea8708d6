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

import math
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from typing import Iterable, Optional, Sequence, Tuple

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
FOURIER_ORDER = 3
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
        return 'none', math.inf, 0.0
    adi = n_valid / sizes.size
    mean = sizes.mean()
    cv2 = float(sizes.var() / (mean * mean)) if sizes.size > 1 else 0.0
    if adi < ADI_CUTOFF:
        label = 'smooth' if cv2 < CV2_CUTOFF else 'erratic'
    else:
        label = 'intermittent' if cv2 < CV2_CUTOFF else 'lumpy'
    return label, float(adi), cv2


# --------------------------------------------------------------------------
# Vectorised building blocks
# --------------------------------------------------------------------------

def _discounted_sums(x, lam):
    """Exponentially discounted sums at every origin.

    Args:
        x: array of shape ``(k, n)`` (or ``(n,)``).
        lam: discount factor in (0, 1].

    Returns:
        Array of shape ``(k, n + 1)``: ``S[:, t] = sum_{j<t} lam**(t-1-j) *
        x[:, j]`` (``S[:, 0] == 0``).
    """
    x = np.atleast_2d(x)
    k, n = x.shape
    out = np.zeros((k, n + 1))
    if n == 0:
        return out
    if lam >= 1.0:
        np.cumsum(x, axis=1, out=out[:, 1:])
        return out
    # Scaled cumulative sum, in blocks so that lam**-j never overflows.
    block = max(1, int(600.0 / -math.log(lam)))
    carry = np.zeros(k)
    for start in range(0, n, block):
        stop = min(n, start + block)
        j = np.arange(stop - start)
        g = x[:, start:stop] * lam ** (-j)
        c = np.cumsum(g, axis=1) * lam ** j
        c += carry[:, None] * lam ** (j + 1)
        out[:, start + 1:stop + 1] = c
        carry = c[:, -1]
    return out


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

    Fits ``y / base ~ c0 + c1*u + sum(Fourier)`` on the valid days before
    ``fit_end`` and returns ``1 + F / mean_level``.

    Returns:
        ``(profile[total], significant)``; the profile is all ones when the
        Fourier block is not significant (Wald test).
    """
    ones = np.ones(total)
    sel = (m[:fit_end] > 0) & (base[:fit_end] > 0.05)
    if sel.sum() < 300:
        return ones, False
    yy = y[:fit_end][sel] / base[:fit_end][sel]
    x = np.empty((yy.size, 2 + 2 * FOURIER_ORDER))
    x[:, 0] = 1.0
    x[:, 1] = u[:fit_end][sel]
    x[:, 2:] = fourier[:fit_end][sel]
    xtx = x.T @ x
    try:
        inv = np.linalg.inv(xtx)
    except np.linalg.LinAlgError:
        return ones, False
    beta = inv @ (x.T @ yy)
    resid = yy - x @ beta
    dof = max(1, yy.size - x.shape[1])
    sigma2 = float(resid @ resid) / dof
    level = float(yy.mean())
    if level <= 0 or sigma2 <= 0:
        return ones, False
    bf = beta[2:]
    try:
        wald = float(bf @ np.linalg.solve(inv[2:, 2:], bf)) / (
            sigma2 * bf.size)
    except np.linalg.LinAlgError:
        return ones, False
    if wald < 4.0:
        return ones, False
    profile = 1.0 + (fourier[:total] @ bf) / level
    return np.maximum(profile, 0.02), True


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


def _level_model(name, yd, md, factor, lam, complexity):
    s = _discounted_sums(np.vstack((md * yd, md)), lam)
    with np.errstate(invalid='ignore', divide='ignore'):
        level = np.where(s[1] > 1e-9, s[0] / np.maximum(s[1], 1e-300), 0.0)
    return _ModelPath(name, level, None, factor, complexity)


def _trend_model(name, yd, md, u, factor, lam, complexity):
    n = yd.size
    uu = u[:n]
    s = _discounted_sums(
        np.vstack((md, md * uu, md * uu * uu, md * yd, md * uu * yd)), lam)
    s0, s1, s2, sy, suy = s
    det = s0 * s2 - s1 * s1
    # A slope needs some spread of time: at least ~3 weeks of effective data.
    ok = (s0 >= 14.0) & (det > 1e-12 * np.maximum(s0 * s0, 1e-300))
    safe_det = np.where(ok, det, 1.0)
    slope = np.where(ok, (s0 * suy - s1 * sy) / safe_det, 0.0)
    with np.errstate(invalid='ignore', divide='ignore'):
        level = np.where(s0 > 1e-9, (sy - slope * s1) / np.maximum(
                s0, 1e-300), 0.0)
    return _ModelPath(name, level, slope, factor, complexity)


def _ew_sequence_means(values, lam):
    """EW mean after each element of a sequence: length ``len+1``."""
    s = _discounted_sums(np.vstack((values, np.ones_like(values))), lam)
    with np.errstate(invalid='ignore', divide='ignore'):
        return np.where(s[1] > 0, s[0] / np.maximum(s[1], 1e-300), 0.0)


def _croston_models(y, m, factor, n):
    """SBA and TSB paths (no seasonal factor, intermittent items)."""
    valid = m > 0
    occ = np.flatnonzero(valid & (y > 0))
    models = []
    if occ.size == 0:
        return models
    sizes = y[occ]
    cum_valid = np.cumsum(valid)
    intervals = np.diff(np.concatenate(([0], cum_valid[occ]))).astype(float)
    # occurrences strictly before origin t
    k_at = np.searchsorted(occ, np.arange(n + 1), side='left')
    alpha = 0.1
    z = _ew_sequence_means(sizes, 1.0 - alpha)
    a = _ew_sequence_means(intervals, 1.0 - alpha)
    with np.errstate(invalid='ignore', divide='ignore'):
        sba = np.where(a > 0, (1.0 - alpha / 2.0) * z / np.maximum(
                a, 1e-300), 0.0)
    ones = np.ones_like(factor)
    models.append(_ModelPath('sba', sba[k_at], None, ones, 2))
    prob = _level_model('', (y > 0).astype(float), m, ones, 0.95, 0).level
    z_tsb = _ew_sequence_means(sizes, 0.9)
    models.append(_ModelPath('tsb', prob * z_tsb[k_at], None, ones, 2))
    return models


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

    def forecast(self, origins, lengths):
        """Window sums of the forecast made at each origin.

        Args:
            origins: int array of origins (shape ``(k,)``).
            lengths: int array of window lengths (broadcast against
                ``origins[:, None]``).

        Returns:
            Array ``(k, len(lengths))`` of forecast sums, clipped >= 0.
        """
        o = origins[:, None]
        end = o + lengths[None, :]
        level = self.path.level[origins][:, None]
        total = level * (self.cf[end] - self.cf[o])
        if self.cuf is not None:
            total = total + self.path.slope[origins][:, None] * (
                self.cuf[end] - self.cuf[o])
        return np.maximum(total, 0.0)


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

    def window_errors(self, lengths, max_origins=240):
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
            return empty, empty, empty.astype(bool)
        lo = min(MIN_ORIGIN, max(7, n // 3))
        lo = max(lo, n - 365 - int(lengths.max()))
        hi = n - int(lengths.min())
        if hi < lo:
            empty = np.zeros((0, lengths.size))
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


def _score(path, u, y, m, origins, length):
    """Mean squared error of the masked window sums at the given origins."""
    weight = m
    windows = _Windows(path, u, weight=weight)
    ends = origins + length
    fc = np.maximum(windows.forecast(origins, np.array([length]))[:, 0], 0)
    cy = _cum0(m * y)
    actual = cy[ends] - cy[origins]
    err = actual - fc
    return float(np.mean(err * err)), float(np.mean(actual))


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
            from each of the last ``EVAL_ORIGINS`` origins.

    Returns:
        A :class:`DemandForecast`.
    """
    y = np.asarray(sales, dtype=float)[-MAX_HISTORY_DAYS:]
    m = (~np.asarray(stockout, dtype=bool)[-MAX_HISTORY_DAYS:]).astype(float)
    n = y.size
    horizon = int(max(1, horizon))
    total = n + horizon
    weekday, fourier, u = _calendar(today.toordinal() - n, total)
    label, _, _ = classify_demand(y, m)
    censored = int(n - m.sum())
    if label == 'none':
        path = np.zeros(horizon)
        path.setflags(write=False)
        return DemandForecast(
            'none', math.nan, (), eval_days, 'none', False, False, path, n,
            censored)

    intermittent = label in ('intermittent', 'lumpy')
    if intermittent:
        dow, weekly = np.ones(7), False
    else:
        dow, weekly = _weekday_profile(y, m, weekday, n)
    base = dow[weekday]

    eval_days = int(max(1, min(eval_days, max(1, n // 3))))
    hi = n - eval_days
    lo = max(min(MIN_ORIGIN, max(7, n // 3)), hi - EVAL_ORIGINS + 1)
    origins = np.arange(lo, hi + 1) if hi >= lo else np.zeros(0, int)

    builders = []

    def add_family(factor, tag, extra):
        with np.errstate(invalid='ignore', divide='ignore'):
            md = np.where(factor[:n] > 0.05, m, 0.0)
            yd = np.where(md > 0, y / np.where(factor[:n] > 0.05,
                    factor[:n], 1.0), 0.0)
        if intermittent:
            builders.append(lambda: _level_model(
                    'level_slow' + tag, yd, md, factor, 0.99, 0 + extra))
            builders.append(lambda: _level_model(
                    'level' + tag, yd, md, factor, 0.97, 1 + extra))
        else:
            builders.append(lambda: _level_model(
                    'level_slow' + tag, yd, md, factor, 0.99, 0 + extra))
            builders.append(lambda: _level_model(
                    'level' + tag, yd, md, factor, 0.96, 1 + extra))
            builders.append(lambda: _level_model(
                    'level_fast' + tag, yd, md, factor, 0.88, 2 + extra))
            builders.append(lambda: _trend_model(
                    'trend_slow' + tag, yd, md, u, factor, 0.993, 3 + extra))
            builders.append(lambda: _trend_model(
                    'trend' + tag, yd, md, u, factor, 0.975, 4 + extra))

    tag = '+weekly' if weekly else ''
    add_family(base, tag, 0)
    yearly_possible = (not intermittent) and n >= YEARLY_MIN_DAYS
    yearly_final = None
    if yearly_possible:
        fit_end = n - EVAL_ORIGINS - eval_days + 1
        profile, significant = _yearly_profile(
            y, m, base, fourier, u, fit_end, total)
        if significant:
            add_family(base * profile, tag + '+yearly', 10)
            yearly_final = True

    paths = [build() for build in builders]
    if intermittent:
        paths.extend(_croston_models(y, m, base, n))

    candidates = []
    if origins.size:
        for path in paths:
            mse, mean_actual = _score(path, u, y, m, origins, eval_days)
            candidates.append((path, mse, mean_actual))
        best = candidates[0]
        for cand in sorted(candidates[1:], key=lambda c: c[0].complexity):
            # a more complex model must beat the simpler one clearly
            if cand[1] < 0.97 * best[1]:
                best = cand
        chosen = best[0]
        scale = best[2] if best[2] > 0 else 1.0
        error = math.sqrt(best[1]) / scale
        cand_errors = tuple(
            (c[0].name, round(math.sqrt(c[1]) / scale, 4))
            for c in candidates)
    else:
        chosen = paths[0] if intermittent else paths[1]
        error = math.nan
        cand_errors = ()

    yearly = chosen.name.endswith('+yearly')
    if yearly and yearly_final:
        # refit the yearly profile on the whole history for the future
        profile, significant = _yearly_profile(
            y, m, base, fourier, u, n, total)
        factor = base * profile
        with np.errstate(invalid='ignore', divide='ignore'):
            md = np.where(factor[:n] > 0.05, m, 0.0)
            yd = np.where(md > 0, y / np.where(factor[:n] > 0.05,
                    factor[:n], 1.0), 0.0)
        lam = {'level_slow': 0.99, 'level': 0.96, 'level_fast': 0.88,
            'trend_slow': 0.993, 'trend': 0.975}
        root = chosen.name.split('+')[0]
        if chosen.slope is None:
            chosen = _level_model(chosen.name, yd, md, factor, lam[root],
                chosen.complexity)
        else:
            chosen = _trend_model(chosen.name, yd, md, u, factor, lam[root],
                chosen.complexity)

    level = chosen.level[n]
    path = level * chosen.factor[n:total]
    if chosen.slope is not None:
        path = path + chosen.slope[n] * u[n:total] * chosen.factor[n:total]
    path = np.maximum(path, 0.0)
    path.setflags(write=False)
    return DemandForecast(
        chosen.name, error, cand_errors, eval_days, label, weekly,
        yearly, path, n, censored, y, m, chosen, u)
