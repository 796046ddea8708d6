# This file is part of perpetual_inventory.  The COPYRIGHT file at the top
# level of this repository contains the full copyright notices and license
# terms.
"""Tests of core.demand: demand series, censoring, forecasting models."""
import math
from datetime import date, timedelta

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from core.demand import (
    DemandForecast, _discounted_sums, classify_demand, daily_net_demand,
    forecast_demand, frozen, take_last)

TODAY = date(2024, 6, 1)
FAST = settings(max_examples=40, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


def day_of(n, i, today=TODAY):
    return today - timedelta(days=n - i)


# --------------------------------------------------------------------------
# Series building
# --------------------------------------------------------------------------

def test_daily_net_demand_nets_returns_and_clips():
    start, end = date(2024, 1, 1), date(2024, 1, 4)
    out = [(date(2024, 1, 1), 5), (date(2024, 1, 2), 3),
        (date(2024, 1, 2), 2), (date(2023, 12, 31), 100)]
    ret = [(date(2024, 1, 2), 1), (date(2024, 1, 3), 4)]
    assert daily_net_demand(out, ret, start, end) == (5.0, 4.0, 0.0, 0.0)


def test_daily_net_demand_rejects_bad_input():
    with pytest.raises(ValueError):
        daily_net_demand([(date(2024, 1, 1), -1)], [], date(2024, 1, 1),
            date(2024, 1, 2))
    with pytest.raises(ValueError):
        daily_net_demand([], [], date(2024, 1, 2), date(2024, 1, 1))


def test_classify_demand_labels():
    m = np.ones(100)
    assert classify_demand(np.zeros(100), m)[0] == 'none'
    assert classify_demand(np.full(100, 5.0), m)[0] == 'smooth'
    y = np.zeros(100)
    y[::10] = 3.0
    assert classify_demand(y, m)[0] == 'intermittent'
    y[::20] = 60.0
    assert classify_demand(y, m)[0] == 'lumpy'


def test_sales_only_on_stockout_days_are_demand():
    # a slow mover out of stock after each of its two sales
    n = 400
    y = np.zeros(n)
    y[100], y[300] = 1.0, 2.0
    m = np.ones(n)
    m[100:130] = 0.0
    m[300:] = 0.0
    label, adi, _ = classify_demand(y, m)
    assert label in ('intermittent', 'lumpy')
    assert adi == pytest.approx(n / 2)
    from core.demand import _classify_rows
    assert _classify_rows(y[None], m[None]) == [label]
    assert _classify_rows(np.vstack((y, np.zeros(n))),
        np.vstack((m, np.ones(n)))) == [label, 'none']
    forecast = forecast_demand(y, m == 0, TODAY, 30, 14)
    assert forecast.model != 'none'
    # the sales over all the days, not over the days in stock (about 3
    # units in 400 days, not in 270)
    assert 0 < forecast.path.mean() < 3.0 / 300
    assert forecast.censored == 130


@FAST
@given(st.lists(st.floats(0, 100), min_size=1, max_size=60),
    st.floats(0.5, 1.0))
def test_discounted_sums_match_recursion(values, lam):
    x = np.array(values)
    out = _discounted_sums(x, lam)[0]
    s = 0.0
    assert out[0] == 0.0
    for j, v in enumerate(values):
        s = lam * s + v
        assert math.isclose(out[j + 1], s, rel_tol=1e-9, abs_tol=1e-9)


# --------------------------------------------------------------------------
# Models recover known structure on noiseless data
# --------------------------------------------------------------------------

def test_recovers_linear_trend():
    n = 400
    t = np.arange(n)
    sales = 5.0 + 0.05 * t
    fc = forecast_demand(sales, np.zeros(n, bool), TODAY, 30, 14)
    assert fc.model.startswith('trend')
    expected = 5.0 + 0.05 * np.arange(n, n + 30)
    assert np.allclose(fc.path, expected, rtol=0.01)


def test_recovers_weekly_pattern():
    n = 364
    pattern = np.array([12.0, 10.0, 10.0, 11.0, 14.0, 3.0, 0.0])
    weekdays = np.array([day_of(n, i).weekday() for i in range(n)])
    sales = pattern[weekdays]
    fc = forecast_demand(sales, np.zeros(n, bool), TODAY, 14, 7)
    assert fc.weekly
    future = np.array([(TODAY + timedelta(days=k)).weekday()
            for k in range(14)])
    assert np.allclose(fc.path, pattern[future], rtol=0.03, atol=0.05)


def test_recovers_yearly_seasonality():
    n = 730
    ordinals = np.array([day_of(n, i).toordinal() for i in range(n)])
    season = lambda o: 20.0 + 12.0 * np.sin(2 * np.pi * o / 365.25)  # noqa
    sales = season(ordinals)
    fc = forecast_demand(sales, np.zeros(n, bool), TODAY, 90, 21)
    assert fc.yearly
    future = np.arange(TODAY.toordinal(), TODAY.toordinal() + 90)
    truth = season(future)
    assert np.abs(fc.path - truth).max() < 0.1 * truth.mean()


def test_flat_demand_is_a_level():
    n = 200
    fc = forecast_demand(np.full(n, 7.0), np.zeros(n, bool), TODAY, 20, 7)
    assert not fc.yearly
    assert np.allclose(fc.path, 7.0, rtol=1e-6)
    assert fc.error == pytest.approx(0.0, abs=1e-9)


# --------------------------------------------------------------------------
# Censoring
# --------------------------------------------------------------------------

@FAST
@given(st.lists(st.booleans(), min_size=120, max_size=120),
    st.lists(st.floats(0, 1), min_size=120, max_size=120))
def test_censored_days_do_not_pull_demand_down(flags, fractions):
    flags = np.array(flags)
    flags[-5:] = False  # the most recent days are known
    if flags.mean() > 0.7:
        flags[::2] = False
    true_demand = 10.0
    # on a stockout day only part of the demand is served
    sales = np.where(flags, true_demand * np.array(fractions), true_demand)
    fc = forecast_demand(sales, flags, TODAY, 14, 7)
    assert fc.path.mean() == pytest.approx(true_demand, rel=1e-6)


def test_ignoring_stockouts_would_underestimate():
    n = 200
    flags = np.zeros(n, bool)
    flags[50:80] = True
    flags[150:170] = True
    sales = np.where(flags, 0.0, 10.0)
    censored = forecast_demand(sales, flags, TODAY, 14, 7)
    naive = forecast_demand(sales, np.zeros(n, bool), TODAY, 14, 7)
    assert censored.path.mean() == pytest.approx(10.0, rel=1e-6)
    assert naive.path.mean() < 9.5
    assert censored.censored == 50


def test_intermittent_models_are_candidates():
    rng = np.random.default_rng(3)
    n = 500
    sales = rng.poisson(3, n) * (rng.random(n) < 0.08)
    fc = forecast_demand(sales, np.zeros(n, bool), TODAY, 30, 14)
    assert fc.demand_class in ('intermittent', 'lumpy')
    names = {name for name, _ in fc.candidates}
    assert {'sba', 'tsb'} <= names
    assert fc.model in names
    assert 0 < fc.path.mean() < 1


def test_window_errors_are_out_of_sample():
    # a step up: forecasts made before the step under-forecast after it
    n = 300
    sales = np.where(np.arange(n) < 200, 5.0, 15.0)
    fc = forecast_demand(sales, np.zeros(n, bool), TODAY, 30, 7)
    _, err, valid = fc.window_errors(np.array([10]))
    assert valid.any()
    assert err[valid].max() > 10.0


def test_batch_forecast_matches_single():
    from core.demand import forecast_demand_batch
    rng = np.random.default_rng(11)
    k, n = 24, 800
    t = np.arange(n)
    rows = []
    for i in range(k):
        kind = i % 4
        if kind == 0:
            mean = np.full(n, rng.uniform(1, 30))
        elif kind == 1:
            mean = rng.uniform(1, 30) * (1 + 0.7 * np.sin(
                    2 * np.pi * t / 365.25))
        elif kind == 2:
            mean = np.full(n, rng.uniform(0.02, 0.4)) * rng.uniform(1, 20)
            mean = np.where(rng.random(n) < 0.1, mean * 10, 0.0)
        else:
            mean = np.zeros(n)
        rows.append(rng.poisson(mean))
    y = np.array(rows, dtype=float)
    s = rng.random((k, n)) < 0.03
    horizons = rng.integers(92, 200, k)
    evals = rng.integers(7, 43, k)
    batch = forecast_demand_batch(y, s, TODAY, horizons, evals)
    for i in range(k):
        one = forecast_demand(y[i], s[i], TODAY, horizons[i], evals[i])
        assert one.model == batch[i].model
        assert one.demand_class == batch[i].demand_class
        assert one.path.size == batch[i].path.size
        np.testing.assert_allclose(one.path, batch[i].path, rtol=1e-9,
            atol=1e-12)
        if not math.isnan(one.error):
            assert one.error == pytest.approx(batch[i].error, rel=1e-9)


def test_sharp_seasonal_peak_gets_enough_harmonics():
    # a three-week peak (x4) once a year: three harmonics flatten it to
    # about half its height (1.9 x the mean instead of 3.4); the BIC choice
    # of the number of harmonics keeps most of it
    from core.demand import _calendar, _yearly_profile
    n, horizon = 900, 60
    ordinals = np.array([day_of(n, i).toordinal() for i in range(n)])
    peak = TODAY.toordinal() + 20

    def season(o):
        d = ((o - peak + 182.6) % 365.25) - 182.6
        return 10.0 * (1 + 3.0 * np.exp(-(d / 12.0) ** 2))

    rng = np.random.default_rng(8)
    sales = rng.poisson(season(ordinals)).astype(float)
    _, fourier, u = _calendar(TODAY.toordinal() - n, n + horizon)
    profile, significant = _yearly_profile(sales, np.ones(n),
        np.ones(n + horizon), fourier, u, n - 112, n + horizon)
    assert significant
    true_peak = season(np.array([peak]))[0] / season(ordinals).mean()
    assert profile[n:].max() > 0.85 * true_peak


@pytest.mark.parametrize('sales_days', [20, 35, 36, 80])
def test_yearly_profile_needs_enough_days_with_sales(sales_days):
    # a seasonal slow mover: all its sales in the same six weeks of each
    # year; below YEARLY_MIN_SALES_DAYS days with sales no profile is fit
    from core.demand import YEARLY_MIN_SALES_DAYS, _calendar, _yearly_profile
    n, horizon = 800, 60
    ordinals = np.array([day_of(n, i).toordinal() for i in range(n)])
    season = np.flatnonzero((ordinals % 365) < 42)
    sales = np.zeros(n)
    picked = np.random.default_rng(sales_days).choice(
        season, sales_days, replace=False)
    sales[picked] = 3.0
    _, fourier, u = _calendar(TODAY.toordinal() - n, n + horizon)
    profile, significant = _yearly_profile(sales, np.ones(n),
        np.ones(n + horizon), fourier, u, n, n + horizon)
    assert significant == (sales_days >= YEARLY_MIN_SALES_DAYS)
    assert significant or (profile == 1.0).all()


def test_yearly_profile_ignores_noise():
    rng = np.random.default_rng(9)
    n = 900
    sales = rng.poisson(12, n).astype(float)
    fc = forecast_demand(sales, np.zeros(n, bool), TODAY, 60, 21)
    assert not fc.yearly


def test_stockout_day_with_sales_is_a_large_occurrence():
    from core.demand import _uncensor_occurrences
    y = np.array([0, 5, 0, 10, 0, 20, 0, 4, 12, 0], float)
    m = np.array([1, 1, 1, 1, 1, 1, 1, 0, 0, 0], float)
    y2, m2 = _uncensor_occurrences(y, m)
    # partial sale 4: mean of the sizes >= 4 (5, 10, 20); 12: only 20
    assert y2[7] == pytest.approx(35 / 3)
    assert y2[8] == pytest.approx(20)
    assert m2[7] == m2[8] == 1 and m2[9] == 0
    assert y2[9] == 0
    # inputs untouched
    assert y[7] == 4 and m[7] == 0
    # fewer than three uncensored sizes: the censored sales as they are
    y = np.array([0, 2, 0, 1, 0, 0], float)
    m = np.array([1, 1, 1, 0, 0, 1], float)
    y2, m2 = _uncensor_occurrences(y, m)
    assert np.array_equal(y2, y)
    assert m2.tolist() == [1, 1, 1, 1, 0, 1]


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2 ** 32 - 1), st.integers(1, 6), st.integers(1, 80),
    st.integers(0, 2))
def test_uncensoring_rows_matches_one_row(seed, k, n, decimals):
    from core.demand import (
        _uncensor_occurrences, _uncensor_occurrences_rows)
    rng = np.random.default_rng(seed)
    y = np.round(rng.gamma(0.4, 5, (k, n))
        * (rng.random((k, n)) < rng.random()), decimals)
    m = (rng.random((k, n)) < 0.8).astype(float)
    rows_y, rows_m = _uncensor_occurrences_rows(y, m)
    for j in range(k):
        one_y, one_m = _uncensor_occurrences(y[j], m[j])
        assert np.array_equal(rows_y[j], one_y)
        assert np.array_equal(rows_m[j], one_m)


def test_lost_sales_do_not_bias_intermittent_demand_low():
    rng = np.random.default_rng(10)
    n = 700
    occur = rng.random(n) < 0.06
    sizes = rng.integers(5, 40, n).astype(float)
    demand = np.where(occur, sizes, 0.0)
    # the largest occurrences ran the item out: only part was sold
    flags = occur & (sizes >= 30)
    sales = np.where(flags, np.floor(sizes / 3), demand)
    truth = demand.mean()
    corrected = forecast_demand(sales, flags, TODAY, 60, 21)
    # what dropping those days (weight 0) would give
    dropped = forecast_demand(np.where(flags, 0.0, sales), flags, TODAY,
        60, 21)
    assert corrected.demand_class in ('intermittent', 'lumpy')
    assert abs(corrected.path.mean() - truth) < abs(
        dropped.path.mean() - truth)


def test_drop_resets_the_level():
    # demand falls to a tenth ten days before today: the level models
    # would keep most of the old level until the score catches up
    from core.demand import forecast_demand_batch
    rng = np.random.default_rng(11)
    n = 500
    drop = rng.poisson(20, n).astype(float)
    drop[-10:] = rng.poisson(2, 10)
    stable = rng.poisson(20, n).astype(float)
    flags = np.zeros(n, bool)
    fc = forecast_demand(drop, flags, TODAY, 30, 14)
    assert fc.model.endswith('+break')
    assert fc.path.mean() < 4
    calm = forecast_demand(stable, flags, TODAY, 30, 14)
    assert '+break' not in calm.model
    assert calm.path.mean() == pytest.approx(20, rel=0.15)
    # a stockout is not a drop: censored days are not compared
    out = drop.copy()
    out[-10:] = 0.0
    censored = flags.copy()
    censored[-10:] = True
    assert '+break' not in forecast_demand(out, censored, TODAY, 30, 14).model
    batch = forecast_demand_batch(np.vstack((drop, stable)),
        np.vstack((flags, flags)), TODAY, [30, 30], [14, 14])
    for one, other in zip((fc, calm), batch):
        assert one.model == other.model
        np.testing.assert_allclose(one.path, other.path, rtol=1e-7,
            atol=1e-9)


def test_rise_resets_the_level():
    # demand triples twelve days before today, the last days out of
    # stock: the level models would follow over weeks
    from core.demand import forecast_demand_batch
    rng = np.random.default_rng(12)
    n = 500
    rise = rng.poisson(20, n).astype(float)
    rise[-12:] = rng.poisson(60, 12)
    flags = np.zeros(n, bool)
    flags[-3:] = True
    rise[-3:] = np.floor(rise[-3:] / 3)
    fc = forecast_demand(rise, flags, TODAY, 30, 14)
    assert fc.model.endswith('+break')
    assert fc.path.mean() > 45
    # one week of promotion is not a new level
    promo = rng.poisson(20, n).astype(float)
    promo[-14:-7] = rng.poisson(60, 7)
    one_week = forecast_demand(promo, np.zeros(n, bool), TODAY, 30, 14)
    assert '+break' not in one_week.model
    assert one_week.path.mean() < 30
    # nor a rise this item has seen before (a promotion every quarter)
    again = rise.copy()
    for start in (100, 190, 280, 370):
        again[start:start + 14] = rng.poisson(60, 14)
    seen = forecast_demand(again, flags, TODAY, 30, 14)
    assert '+break' not in seen.model
    batch = forecast_demand_batch(np.vstack((rise, promo, again)),
        np.vstack((flags, np.zeros(n, bool), flags)), TODAY, [30] * 3,
        [14] * 3)
    for one, other in zip((fc, one_week, seen), batch):
        assert one.model == other.model
        np.testing.assert_allclose(one.path, other.path, rtol=1e-7,
            atol=1e-9)


# --------------------------------------------------------------------------
# Helpers of the batch code
# --------------------------------------------------------------------------

@FAST
@given(st.integers(1, 4), st.integers(1, 3), st.integers(1, 9),
    st.integers(1, 6), st.booleans(), st.integers(0, 2 ** 32 - 1))
def test_take_last_is_take_along_axis(k, models, n, width, middle, seed):
    rng = np.random.default_rng(seed)
    a = rng.random((k, models, n))
    index = rng.integers(0, n, (k, models, width))
    assert np.array_equal(take_last(a, index),
        np.take_along_axis(a, index, -1))
    # an index broadcast over the middle axis, a 2-d array and a 3-d index
    one = index[:, :1] if middle else index[:, :1, :1]
    assert np.array_equal(take_last(a, one), np.take_along_axis(
            a, np.broadcast_to(one, (k, models, one.shape[2])), -1))
    flat = a[:, 0]
    assert np.array_equal(take_last(flat, index),
        np.stack([flat[j][index[j]] for j in range(k)]))
    # a view that is not contiguous
    assert np.array_equal(take_last(a[:, ::-1], index),
        np.take_along_axis(a[:, ::-1], index, -1))


@FAST
@given(st.integers(1, 5), st.integers(0, 2 ** 32 - 1), st.booleans())
def test_fourier_fit_is_least_squares_per_order(k, seed, singular):
    # the BIC choice, Wald test and coefficients, from one least-squares
    # fit per order written out (numpy's lstsq, no shared factor)
    from core.demand import (
        FOURIER_ORDER, FOURIER_ORDERS, _calendar, _design, _fourier_fit)
    rng = np.random.default_rng(seed)
    n = 400
    _, fourier, u = _calendar(TODAY.toordinal() - n, n)
    x = _design(fourier, u, n)
    ys, sels = [], []
    for _ in range(k):
        order = int(rng.choice(FOURIER_ORDERS))
        amp = rng.uniform(0, 1.5, 2 * order)
        amp[rng.random(2 * order) < 0.3] = 0.0
        mean = 10 + fourier[:, :2 * order] @ amp
        ys.append(rng.poisson(np.maximum(mean, 0)).astype(float))
        sels.append(rng.random(n) < rng.uniform(0.6, 1.0))
    if singular:
        sels[0][:] = False
        sels[0][:5] = True
    sel = np.array(sels, float)
    y = np.array(ys) * sel
    xtx = np.einsum('kn,ni,nj->kij', sel, x, x)
    xty = y @ x
    yty = (y * y).sum(axis=1)
    count = sel.sum(axis=1)
    level = y.sum(axis=1) / np.maximum(count, 1)
    coef, ok = _fourier_fit(xtx, xty, yty, count, level)
    assert coef.shape == (k, 2 * FOURIER_ORDER)
    for j in range(k):
        rows = sel[j] > 0
        best = None
        for order in FOURIER_ORDERS:
            p = 2 + 2 * order
            if rows.sum() <= p:
                continue
            beta, *_ = np.linalg.lstsq(x[rows, :p], y[j, rows], rcond=None)
            rss = ((y[j, rows] - x[rows, :p] @ beta) ** 2).sum()
            bic = count[j] * math.log(max(rss, 1e-300) / count[j]) \
                + p * math.log(count[j])
            base, *_ = np.linalg.lstsq(x[rows, :2], y[j, rows], rcond=None)
            rss2 = ((y[j, rows] - x[rows, :2] @ base) ** 2).sum()
            wald = (rss2 - rss) / (rss / (count[j] - p) * 2 * order)
            if best is None or bic < best[0]:
                best = (bic, beta[2:], wald)
        if singular and j == 0:
            assert not ok[j]
            continue
        expected = np.zeros(2 * FOURIER_ORDER)
        expected[:best[1].size] = best[1]
        assert np.allclose(coef[j], expected, rtol=1e-6, atol=1e-8)
        assert ok[j] == (best[2] >= 4.0)


def test_frozen_builds_the_dataclass():
    path = np.arange(3.0)
    args = ('level', 0.5, (('level', 0.5),), 7, 'smooth', False, False,
        path, 10, 1, None, None, None, None, False)
    built = frozen(DemandForecast, *args[:10], _y=None, _m=None,
        _model=None, _u=None, season_ahead=False)
    assert built.__dict__ == DemandForecast(*args).__dict__
    assert type(built) is DemandForecast
    with pytest.raises(Exception):
        built.model = 'other'
    with pytest.raises(TypeError):
        frozen(DemandForecast, *args[:10])
    with pytest.raises(TypeError):
        frozen(DemandForecast, *args, model='level')


def test_item_sold_only_in_its_season():
    # 40 % of the year in season (a cos^2 bump), nothing in between; the
    # season starts in a few days: the yearly model's level is a ratio of
    # sums, so the off-season days (profile rippling near 0) do not pull
    # it down
    from core.demand import forecast_demand_batch
    rng = np.random.default_rng(3)
    n = 600
    days = np.arange(n + 60)
    half = 0.4 * 365.25 / 2
    d = ((days - (n + 40) + 182.6) % 365.25) - 182.6
    mean = np.where(np.abs(d) < half,
        20 * np.cos(np.pi * d / (2 * half)) ** 2, 0.0)
    y = rng.poisson(mean[:n]).astype(float)
    flags = np.zeros(n, bool)
    single = forecast_demand(y, flags, TODAY, 60)
    assert single.yearly
    coming = float(mean[n:n + 30].sum())
    assert 0.75 * coming <= float(single.path[:30].sum()) <= 1.25 * coming
    batch = forecast_demand_batch(np.array([y, y]), np.array([flags, flags]),
        TODAY, [60, 60], [14, 14])
    assert batch[0].model == single.model
    assert np.allclose(batch[0].path, single.path, rtol=1e-7, atol=1e-9)


def _peaked(n, peak_in, seed, once=False):
    # 20 a day, a peak of x4 over about a month once a year, centred
    # ``peak_in`` days after today, over-dispersed; ``once``: only the
    # last year's peak (a promotion, not a season)
    rng = np.random.default_rng(seed)
    ordinals = np.array([day_of(n, i).toordinal() for i in range(n)])
    peak = TODAY.toordinal() + peak_in
    d = ((ordinals - peak + 182.6) % 365.25) - 182.6
    bump = 3.0 * np.exp(-(d / 15.0) ** 2)
    if once:
        bump[ordinals < peak - 365 - 150] = 0.0
    return rng.poisson(rng.gamma(20.0 * (1 + bump), 1.0)).astype(float)


def test_season_ahead_takes_the_yearly_model(monkeypatch):
    # two and a half years of history, today in the off-season three
    # weeks before the peak: the last 91 days are flat, so the models
    # without a profile score as well as the yearly ones (better, with
    # the profile's ripples), but only the profile sees the peak coming
    import core.demand
    from core.demand import forecast_demand_batch
    n = 900
    coming = _peaked(n, 20, 1)
    far = _peaked(n, 150, 1)
    once = _peaked(n, 20, 1, once=True)
    flags = np.zeros(n, bool)
    fc = forecast_demand(coming, flags, TODAY, 60, 14)
    assert fc.model.endswith('+yearly') and fc.yearly and fc.season_ahead
    assert fc.path[:14].mean() > 2 * coming[-91:].mean()
    from core.replenishment import compute_order_point
    text = compute_order_point(coming, flags, [], 14, 10.0,
        today=TODAY).explanation.text
    assert 'change of season in the coming days' in text
    assert 'change of season' not in compute_order_point(far, flags, [],
        14, 10.0, today=TODAY).explanation.text
    # the peak five months away: the choice of the scores stands; a peak
    # seen only last year may have been a promotion: not taken ahead
    fc_far = forecast_demand(far, flags, TODAY, 60, 14)
    fc_once = forecast_demand(once, flags, TODAY, 60, 14)
    assert not fc_once.yearly
    assert fc_once.path[:14].mean() < 1.2 * once[-91:].mean()
    batch = forecast_demand_batch(np.vstack((coming, far, once)),
        np.vstack((flags, flags, flags)), TODAY, [60] * 3, [14] * 3)
    assert not fc_far.season_ahead and not fc_once.season_ahead
    for one, other in zip((fc, fc_far, fc_once), batch):
        assert one.model == other.model
        assert one.season_ahead == other.season_ahead
        assert one.error == pytest.approx(other.error, rel=1e-7)
        np.testing.assert_allclose(one.path, other.path, rtol=1e-7,
            atol=1e-9)
    monkeypatch.setattr(core.demand, 'SEASON_AHEAD', 1e9)
    blind = forecast_demand(coming, flags, TODAY, 60, 14)
    assert not blind.yearly
    assert blind.path[:14].mean() < 1.2 * coming[-91:].mean()
    assert forecast_demand(far, flags, TODAY, 60, 14).model == fc_far.model
    # with one year required, last year's promotion is taken as a season
    monkeypatch.setattr(core.demand, 'SEASON_AHEAD', 1.25)
    monkeypatch.setattr(core.demand, 'SEASON_YEARS', 1)
    assert forecast_demand(once, flags, TODAY, 60, 14).yearly


def test_season_ahead_with_a_window_longer_than_a_year():
    # a lead time of more than a year: the past years' windows end with
    # the history
    from core.demand import _season_ahead
    n = 1100
    y = _peaked(n, 20, 2)
    ones = np.ones(n + 400)
    profile = np.concatenate((np.ones(n), np.full(400, 2.0)))
    first = n - 105
    assert _season_ahead(profile, y, np.ones(n), ones, n, first, 14)
    assert _season_ahead(profile, y, np.ones(n), ones, n, first, 400) in (
        True, False)
    # no change of the profile: never; the days before the peak
    # out of stock in one of the two years: not seen twice
    assert not _season_ahead(ones, y, np.ones(n), ones, n, first, 14)
    m = np.ones(n)
    m[n - 365:n - 351] = 0.0
    assert not _season_ahead(profile, y, m, ones, n, first, 14)


def test_batch_with_a_long_scoring_window_matches_single():
    # a scoring window longer than the batch's usual ones (intermittent
    # items are scored from three times more origins): the rows are
    # computed item by item rather than failing
    from core.demand import forecast_demand_batch
    rng = np.random.default_rng(4)
    n = 355
    sales = (rng.random((2, n)) < 0.15) * rng.poisson(3.0, (2, n)) + 0.0
    assert classify_demand(sales[0], np.ones(n))[0] in (
        'intermittent', 'lumpy')
    flags = np.zeros((2, n), bool)
    batch = forecast_demand_batch(sales, flags, TODAY, [30, 30], [60, 14])
    for j, (horizon, ev) in enumerate(((30, 60), (30, 14))):
        one = forecast_demand(sales[j], flags[j], TODAY, horizon, ev)
        assert batch[j].model == one.model
        np.testing.assert_allclose(batch[j].path, one.path, rtol=1e-7)
