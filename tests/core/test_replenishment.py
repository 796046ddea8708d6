# This file is part of perpetual_inventory.  The COPYRIGHT file at the top
# level of this repository contains the full copyright notices and license
# terms.
"""Tests of core.replenishment: order points, dampening, ABC."""
import math
from datetime import date, timedelta

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings, strategies as st

from core.replenishment import (
    abc_classify, compute_order_point, cycle_shortage, dampen,
    dampen_order_point, economic_order_quantity, estimate_lead_time,
    fill_rate_for_class, fill_rate_reorder_point, lead_time_points,
    normal_safety_stock, quantity_text, round_order_quantity,
    settle_levels)
from core.replenishment import LeadTime, _lead_times_rows

TODAY = date(2024, 6, 1)
FAST = settings(max_examples=60, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
SLOW = settings(max_examples=25, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


def receipts(lead_times, today=TODAY):
    out = []
    for k, lt in enumerate(lead_times):
        received = today - timedelta(days=10 * k + 1)
        out.append((received - timedelta(days=lt), received))
    return out


def call(sales, flags=None, orders=(), **kw):
    args = dict(quoted_lead_time=7, unit_cost=10.0, pack_multiple=1,
        minimum_order_quantity=0, fill_rate=0.95, review_period=1,
        ordering_cost=30.0, holding_rate=0.25, today=TODAY)
    args.update(kw)
    if flags is None:
        flags = [False] * len(sales)
    return compute_order_point(sales, flags, list(orders), **args)


def test_a_slow_mover_out_of_stock_since_its_sale_is_ordered_again():
    """A year without sales, then one unit sold, the last one: every day
    since is a stockout day.  The sale is demand; the item is stocked
    again."""
    n = 420
    sales = [0.0] * n
    flags = [False] * n
    sales[380] = 1.0
    for i in range(380, n):
        flags[i] = True
    result = call(sales, flags, fill_rate=0.9)
    assert result.explanation.model != 'none'
    assert result.order_up_to >= 1.0
    from core.replenishment import compute_order_points
    batch = compute_order_points([sales], [flags], [[]], [7], [10.0], [1],
        [0], [0.9], 1, [30.0], 0.25, TODAY)[0]
    assert batch.order_up_to == pytest.approx(result.order_up_to)
    assert batch.reorder_point == pytest.approx(result.reorder_point)


@pytest.mark.parametrize('sold, out', [
        ((200,), range(400)),     # out of stock every day
        ((10,), range(10, 400)),  # out since its sale
        ((3, 103, 203, 303), [d for k in range(4)
                for d in range(100 * k + 3, 100 * k + 93)]),
        ])
def test_a_mostly_censored_slow_mover_gets_a_small_order_point(sold, out):
    """Its sales are the demand of the whole history, not of the few days
    in stock: a unit or a few in 400 days give an order-up-to of a few
    units, not a month of a unit a day."""
    n = 400
    sales = [0.0] * n
    flags = [False] * n
    for day in sold:
        sales[day] = 1.0
    for day in out:
        flags[day] = True
    result = call(sales, flags, fill_rate=0.9)
    assert 1.0 <= result.order_up_to <= len(sold) + 1.0
    assert result.reorder_point <= 1.0
    from core.replenishment import compute_order_points
    batch = compute_order_points([sales], [flags], [[]], [7], [10.0], [1],
        [0], [0.9], 1, [30.0], 0.25, TODAY)[0]
    assert (batch.reorder_point, batch.order_up_to) == pytest.approx(
        (result.reorder_point, result.order_up_to))


# --------------------------------------------------------------------------
# Safety stock
# --------------------------------------------------------------------------

@FAST
@given(st.lists(st.floats(0, 50), min_size=2, max_size=80),
    st.floats(1.0, 4.0), st.floats(1, 200), st.floats(0.5, 0.99))
def test_safety_stock_grows_with_variability(values, spread, q, beta):
    # Safety stock = reorder point - mean demand, counted when positive:
    # with a large Q and a low fill rate the fill-rate optimum may lie
    # below the mean, where more spread can lower it (a property of the
    # fill-rate criterion, not a bug); above the mean it must not shrink.
    x = np.array(values)
    mean = x.mean()
    # a mean-preserving spread: scaling the deviations from the mean
    wider = mean + spread * (x - mean)
    assume(wider.min() >= 0)
    w = np.ones(x.size)
    ss1 = max(0.0, fill_rate_reorder_point(x, w, q, beta) - mean)
    ss2 = max(0.0, fill_rate_reorder_point(wider, w, q, beta) - mean)
    assert ss2 >= ss1 - 1e-6 * (1 + mean)


@FAST
@given(st.lists(st.floats(0, 50), min_size=1, max_size=80),
    st.floats(1, 200), st.floats(0.5, 0.98), st.floats(0.001, 0.019))
def test_reorder_point_grows_with_fill_rate(values, q, beta, step):
    x = np.array(values)
    w = np.ones(x.size)
    s1 = fill_rate_reorder_point(x, w, q, beta)
    s2 = fill_rate_reorder_point(x, w, q, beta + step)
    assert s2 >= s1 - 1e-9


@FAST
@given(st.lists(st.floats(0, 50), min_size=1, max_size=80),
    st.floats(1, 200), st.floats(0.5, 0.99))
def test_reorder_point_is_the_smallest_meeting_the_fill_rate(values, q, beta):
    x = np.array(values)
    w = np.ones(x.size)
    s = fill_rate_reorder_point(x, w, q, beta)
    allowed = (1 - beta) * q
    assert cycle_shortage(x, w, s, q) <= allowed * (1 + 1e-6) + 1e-9
    if s > 1e-6:
        below = max(0.0, s - 1e-3 * (1 + s))
        assert cycle_shortage(x, w, below, q) > allowed - 1e-9


@FAST
@given(st.floats(0.1, 100), st.floats(0, 30), st.floats(0, 30),
    st.floats(0.5, 3), st.floats(1, 500), st.floats(0.5, 0.99))
def test_normal_safety_stock_monotone(d, sd, lt, factor, q, beta):
    base = normal_safety_stock(d, sd, lt, 1.0, q, beta)
    assert normal_safety_stock(d, sd * factor + 0.1, lt, 1.0, q, beta) \
        >= base - 1e-9 if factor >= 1 else True
    assert normal_safety_stock(d, sd, lt, 2.0, q, beta) >= base - 1e-9
    assert normal_safety_stock(d, sd, lt, 1.0, q, min(0.999, beta + 0.005)) \
        >= base - 1e-9


def test_fill_rate_needs_less_than_cycle_service_for_large_q():
    # with a large order quantity the fill-rate safety stock is far below
    # the 95% cycle-service one (z = 1.645)
    d, sd, lt = 10.0, 5.0, 9.0
    sigma = math.sqrt(lt * sd * sd)
    assert normal_safety_stock(d, sd, lt, 0, 300, 0.95) < 0.5 * 1.645 * sigma
    assert normal_safety_stock(d, sd, lt, 0, 10, 0.95) > 0.5 * 1.645 * sigma


@FAST
@given(st.lists(st.floats(0, 30), min_size=30, max_size=120),
    st.floats(0.6, 0.99), st.integers(0, 30))
def test_entry_point_reorder_point_covers_lead_time_demand(
        values, beta, quoted):
    r = call(values, fill_rate=beta, quoted_lead_time=quoted)
    e = r.explanation
    assert r.reorder_point >= e.lead_time_demand - 1e-9
    assert r.order_up_to >= r.reorder_point
    assert e.reorder_point == r.reorder_point


def test_entry_point_safety_stock_grows_with_fill_rate():
    rng = np.random.default_rng(1)
    sales = rng.poisson(8, 400)
    previous = -1.0
    for beta in (0.8, 0.9, 0.95, 0.98, 0.995):
        r = call(sales, fill_rate=beta, pack_multiple=1, ordering_cost=5)
        assert r.reorder_point >= previous - 1e-9
        previous = r.reorder_point


def test_entry_point_safety_stock_grows_with_variability():
    rng = np.random.default_rng(2)
    noise = rng.standard_normal(400)
    calm = np.maximum(0, np.round(20 + 2 * noise))
    wild = np.maximum(0, np.round(20 + 8 * noise))
    r_calm = call(calm, ordering_cost=5)
    r_wild = call(wild, ordering_cost=5)
    assert r_wild.explanation.safety_stock > r_calm.explanation.safety_stock


def test_seasonal_item_uses_the_coming_season():
    n = 730
    ordinals = np.array([(TODAY - timedelta(days=n - i)).toordinal()
            for i in range(n)])
    # peak of the season right after today
    peak = TODAY.toordinal() + 10
    sales = np.round(10 + 8 * np.cos(2 * np.pi * (ordinals - peak) / 365.25))
    r = call(sales, orders=receipts([7] * 12))
    e = r.explanation
    assert e.yearly_seasonality
    assert e.lead_time_demand > 1.4 * 10 * e.lead_time_mean


# --------------------------------------------------------------------------
# Order quantity
# --------------------------------------------------------------------------

def test_lot_is_cut_while_the_reorder_point_sits_at_its_floor():
    from core.replenishment import LOT_FLOOR
    rng = np.random.default_rng(5)
    sales = rng.poisson(5, 400)
    # a cheap item: the EOQ is most of a year of demand, the 90 % target
    # is met far below the lead-time demand
    r = call(sales, unit_cost=0.5, ordering_cost=60, fill_rate=0.9)
    e = r.explanation
    assert r.reorder_point == pytest.approx(e.lead_time_demand)
    assert e.order_quantity < e.eoq
    assert e.order_quantity >= LOT_FLOOR * e.eoq - 1e-9
    assert e.expected_fill_rate >= 0.9
    assert r.order_up_to == pytest.approx(r.reorder_point + e.order_quantity)
    assert 'cut from' in e.text


@SLOW
@given(st.integers(0, 10 ** 6), st.floats(0.5, 40), st.floats(0.1, 50),
    st.floats(0.8, 0.99), st.sampled_from([1, 6, 25]))
def test_cut_lot_keeps_the_target_and_the_bounds(seed, mean, cost, beta,
        pack):
    from core.replenishment import LOT_FLOOR
    sales = np.random.default_rng(seed).poisson(mean, 300)
    r = call(sales, unit_cost=cost, ordering_cost=50, fill_rate=beta,
        pack_multiple=pack)
    e = r.explanation
    # (a trend model's EOQ rate is damped, not the mean daily demand)
    assume(e.order_quantity > 0 and math.isfinite(e.eoq)
        and 'trend' not in e.model)
    wanted = max(e.eoq, e.mean_daily_demand * e.review_period,
        e.mean_daily_demand)
    wanted = min(wanted, 365 * e.mean_daily_demand)
    full = round_order_quantity(wanted, pack)
    assert e.order_quantity <= full + 1e-9
    assert e.order_quantity % pack == pytest.approx(0, abs=1e-6)
    if e.order_quantity < full - 1e-9:
        # cut only at the floor, not below the share of the EOQ, and the
        # expected fill rate still meets the target
        assert r.reorder_point == pytest.approx(e.lead_time_demand)
        assert e.order_quantity >= LOT_FLOOR * e.eoq - 1e-9
        assert e.expected_fill_rate >= beta - 1e-9


@FAST
@given(st.floats(0.001, 10000), st.floats(0.1, 100), st.floats(0, 1000))
def test_rounding_respects_pack_and_moq(quantity, pack, moq):
    out = round_order_quantity(quantity, pack, moq)
    packs = out / pack
    assert abs(packs - round(packs)) < 1e-6 * max(1, packs)
    assert out >= quantity - 1e-9
    assert out >= moq - 1e-6 * max(1, moq)
    # smallest such multiple
    assert out - pack < max(quantity, moq) + 1e-6 * max(1, out)


def test_rounding_of_zero_and_bad_pack():
    assert round_order_quantity(0, 12, 24) == 0
    with pytest.raises(ValueError):
        round_order_quantity(5, 0)
    with pytest.raises(ValueError):
        round_order_quantity(5, 1, -1)


def test_eoq_formula():
    assert economic_order_quantity(1000, 50, 10, 0.25) == pytest.approx(
        math.sqrt(2 * 1000 * 50 / 2.5))
    assert economic_order_quantity(0, 50, 10, 0.25) == 0
    assert economic_order_quantity(1000, 50, 0, 0.25) == math.inf


@SLOW
@given(st.lists(st.integers(0, 40), min_size=60, max_size=200),
    st.sampled_from([1, 5, 6, 12, 24]), st.integers(0, 100))
def test_entry_point_order_quantity_respects_pack_and_moq(values, pack, moq):
    assume(sum(values) > 0)
    r = call(values, pack_multiple=pack, minimum_order_quantity=moq)
    q = r.order_up_to - r.reorder_point
    assert q == pytest.approx(r.explanation.order_quantity)
    # No order at all when the forecast is nothing (a trend model can
    # project a decline to zero); any order respects the MOQ.
    if sum(r.explanation.forecast_daily) > 0:
        assert q >= moq
    else:
        assert q in (0, pytest.approx(0)) or q >= moq
    assert abs(q / pack - round(q / pack)) < 1e-9


# --------------------------------------------------------------------------
# Dampening
# --------------------------------------------------------------------------

@FAST
@given(st.floats(0.01, 1e5), st.floats(0, 1e5), st.floats(0, 0.5),
    st.floats(0.01, 2))
def test_dampening_bounds(old, new, threshold, max_change):
    out = dampen(old, new, threshold, max_change)
    if abs(new - old) < threshold * old:
        assert out == old
    else:
        # a fall by at most max_change of the old value, a rise by at
        # most max_change of the new one
        assert abs(out - old) <= max_change * max(old, new) * (1 + 1e-12) \
            + 1e-12
        # moves towards the new value, never beyond it
        assert min(old, new) - 1e-9 <= out <= max(old, new) + 1e-9
        if out != new:
            assert abs(out - old) == pytest.approx(
                max_change * max(old, new))


def test_dampening_without_old_value_and_abs_threshold():
    assert dampen(None, 12.5) == 12.5
    assert dampen(0, 3) == 3
    assert dampen(100, 100.9, threshold=0, min_abs_change=1) == 100
    assert dampen(100, 400, max_change=0.5) == 300
    assert dampen(100, 180, max_change=0.5) == 180
    assert dampen(100, 10, max_change=0.5) == 50
    # from next to nothing: half the new value at once
    assert dampen(0.01, 60, max_change=0.5) == pytest.approx(30.01)


@FAST
@given(st.floats(0, 1000), st.floats(0, 1000), st.floats(0, 1000),
    st.floats(0, 1000))
def test_dampened_order_point_keeps_target_above_min(a, b, c, d):
    old_min, old_target = min(a, b), max(a, b)
    new_min, new_target = min(c, d), max(c, d)
    s, big_s = dampen_order_point(old_min, old_target, new_min, new_target)
    assert big_s >= s
    # the reorder point moves by up to half of the larger of its old and
    # new values and the order quantity in force
    assert s == dampen(old_min, new_min, reference=old_target - old_min)
    if old_min > 0 and abs(new_min - old_min) >= 0.05 * old_min:
        step = 0.5 * max(old_min, new_min, old_target - old_min)
        assert abs(s - old_min) <= step * (1 + 1e-12) + 1e-12
        assert min(old_min, new_min) - 1e-9 <= s <= max(old_min, new_min) \
            + 1e-9


def _apply_levels(old_min, old_target, new_min, new_target, rounding,
        pack, threshold=0.05, max_change=0.5, season=1.0):
    "The levels written before settle_levels: dampened, then rounded"
    if not old_min and not old_target:
        old_min = old_target = None
    low, high = dampen_order_point(old_min, old_target, new_min, new_target,
        threshold=threshold, max_change=max_change, season=season)
    if old_min is not None and low == old_min and high == old_target:
        return old_min, old_target
    low = math.ceil(low / rounding - 1e-9) * rounding
    gap = max(high - low, 0.0)
    if gap > 0:
        step = max(pack, rounding)
        gap = math.ceil(gap / step - 1e-9) * step
    high = math.ceil((low + gap) / rounding - 1e-9) * rounding
    digits = max(0, -int(math.floor(math.log10(rounding))))
    return round(low, digits), round(high, digits)


@FAST
@given(st.floats(0, 1000), st.floats(0, 1000), st.floats(0, 1000),
    st.floats(0, 1000), st.sampled_from([0.01, 0.1, 1.0]),
    st.sampled_from([1.0, 5.0, 12.0]), st.floats(0.25, 4))
def test_settle_levels_writes_the_dampened_rounded_levels(a, b, c, d,
        rounding, pack, season):
    old_min, old_target = min(a, b), max(a, b)
    new_min, new_target = min(c, d), max(c, d)
    levels = settle_levels(old_min, old_target, new_min, new_target,
        rounding, pack, season=season)
    assert (levels.min_quantity, levels.target_quantity) == _apply_levels(
        old_min, old_target, new_min, new_target, rounding, pack,
        season=season)
    # the text ends with the values written, as the order point shows them
    assert levels.text.endswith('minimal %s, target %s%s.' % (
            quantity_text(levels.min_quantity),
            quantity_text(levels.target_quantity),
            ' (the values in force)' if levels.dampened is None else ''))
    if old_min or old_target:
        # the values dampened from and the computed ones
        assert 'minimal %s and target %s' % (
            quantity_text(old_min), quantity_text(old_target)) in levels.text
        assert quantity_text(new_min) in levels.text
        assert quantity_text(new_target) in levels.text


def test_settle_levels_says_what_was_computed_dampened_and_written():
    # the case of the demo: 6 / 27 in force, 0.773 / 24.77 computed
    levels = settle_levels(6, 8, 0.773, 24.77, 1, 1)
    assert (levels.min_quantity, levels.target_quantity) == (3, 21)
    assert levels.text == (
        "Dampening from the values in force before today's tuning,"
        " minimal 6 and target 8 (changes under 5 % are ignored, a value"
        " moves by at most 50 % a day): the reorder point 0.773 is not"
        " reached: it moves from 6 to 3 (50 % of 6, the value in force);"
        " the order-up-to level 24.77 is not reached: it moves from 8 to"
        " 20.38 (50 % of 24.77, the computed value). Written after"
        " rounding the minimal quantity up to the unit (1): minimal 3,"
        " target 21.")
    # within the threshold: kept exactly, and said so
    levels = settle_levels(10, 30, 10.3, 30.5, 1, 10)
    assert (levels.min_quantity, levels.target_quantity) == (10, 30)
    assert "the reorder point 10.3 is within 5 % of the 10 in force: kept" \
        in levels.text
    assert levels.text.endswith(
        "Written: minimal 10, target 30 (the values in force).")
    # a new order point
    levels = settle_levels(0, 0, 4.2, 24.2, 1, 10)
    assert (levels.min_quantity, levels.target_quantity) == (5, 25)
    assert levels.text.startswith("No minimal or target quantity in force")
    assert "the order quantity up to the pack (10)" in levels.text
    # along the season
    levels = settle_levels(10, 30, 60, 120, 1, 10, season=2.0)
    assert "carried along the yearly season (x2.00 since they were set)" \
        " to minimal 20, target 40" in levels.text


def test_settle_levels_again_from_the_same_values_changes_nothing():
    # every run of a day dampens from the values in force at its start:
    # the same data give the same levels and the same text; dampening from
    # the values the first run wrote would move them again
    first = settle_levels(20, 30, 2, 6, 1, 1)
    assert (first.min_quantity, first.target_quantity) == (10, 15)
    assert settle_levels(20, 30, 2, 6, 1, 1) == first
    compounded = settle_levels(
        first.min_quantity, first.target_quantity, 2, 6, 1, 1)
    assert (compounded.min_quantity, compounded.target_quantity) == (5, 9)


def test_quantity_text():
    assert [quantity_text(v) for v in [
            0.773, 24.7712, 3.0, 1234.567, 0.0001234, -0.7, 0.0, None]] == [
        '0.773', '24.77', '3', '1234.57', '0.000123', '-0.7', '0', 'none']


def test_negative_safety_stock_is_not_printed_as_a_stock():
    # a slow mover with a large MOQ: the fill rate target is met with a
    # reorder point under the demand expected over lead time + review
    rng = np.random.default_rng(3)
    e = call(rng.poisson(1, 500), minimum_order_quantity=500).explanation
    assert e.safety_stock < 0
    assert 'Safety stock -' not in e.text
    assert 'No safety stock (%s distribution)' % e.distribution in e.text
    assert ': the reorder point is %s under that demand, which the order' \
        ' quantity allows.' % quantity_text(-e.safety_stock) in e.text
    e = call(rng.poisson(6, 500), fill_rate=0.99).explanation
    assert e.safety_stock > 0
    assert 'Safety stock %s' % quantity_text(e.safety_stock) in e.text


def test_reorder_point_far_below_its_lot_moves_by_half_the_lot():
    # off-season: reorder point 2, order quantity 280; the season starts
    assert dampen_order_point(2, 282, 200, 480) == (142, 480)
    # the order quantity next to nothing too (an item whose demand had
    # stopped comes back): half the new values at once
    assert dampen_order_point(1, 2, 60, 195) == (31, 99.5)


@FAST
@given(st.floats(0.01, 1000), st.floats(0, 1000), st.floats(0, 1000),
    st.floats(0, 1000), st.floats(0.01, 100), st.floats(0.01, 100))
def test_dampening_follows_the_season(a, b, c, d, old_index, new_index):
    from core.replenishment import MAX_SEASON_STEP, season_ratio
    old_min, old_target = min(a, b), max(a, b)
    new_min, new_target = min(c, d), max(c, d)
    season = season_ratio(old_index, new_index)
    assert 1 / MAX_SEASON_STEP - 1e-12 <= season <= MAX_SEASON_STEP + 1e-12
    if 1 / MAX_SEASON_STEP <= new_index / old_index <= MAX_SEASON_STEP:
        assert season == pytest.approx(new_index / old_index)
    s, big_s = dampen_order_point(old_min, old_target, new_min, new_target,
        season=season)
    assert big_s >= s
    # the bounds of the dampening hold around the reorder point carried
    # along the season, with the order quantity in force as it is
    carried = old_min * season
    lot = old_target - old_min
    assert big_s == dampen_order_point(carried, carried + lot, new_min,
        new_target)[1]
    if carried > 0:
        step = 0.5 * max(carried, new_min, lot)
        assert carried - step - 1e-9 <= s <= carried + step + 1e-9
    assert s == dampen(carried, new_min, reference=lot)


def test_season_ratio_without_an_index():
    from core.replenishment import season_ratio
    assert season_ratio(None, 1.3) == 1.0
    assert season_ratio(1.3, None) == 1.0
    assert season_ratio(0.0, 1.3) == 1.0
    assert season_ratio(2.0, 1.0) == 0.5
    assert season_ratio(0.1, 3.0) == 4.0
    with pytest.raises(ValueError):
        dampen_order_point(10, 20, 10, 20, season=0.0)


def test_reorder_point_follows_a_rise_of_the_demand():
    # demand triples twelve days before today: the level is reset, the
    # explanation says so, and the reorder point covers the new demand
    # over the lead time; the batch entry point agrees
    rng = np.random.default_rng(12)
    n = 500
    sales = rng.poisson(20, n).astype(float)
    sales[-12:] = rng.poisson(60, 12)
    r = call(sales, quoted_lead_time=14)
    e = r.explanation
    assert e.model.endswith('+break')
    assert 'broke away' in e.text
    assert r.reorder_point > 14 * 50
    steady = call(rng.poisson(20, n).astype(float), quoted_lead_time=14)
    assert '+break' not in steady.explanation.model
    assert 'broke away' not in steady.explanation.text
    assert steady.reorder_point < 14 * 30
    from core.replenishment import compute_order_points
    batch = compute_order_points(
        [sales], [[False] * n], [[]], [14], [10.0], [1], [0], [0.95], 1,
        [30.0], 0.25, TODAY)
    assert batch[0].reorder_point == pytest.approx(r.reorder_point)
    assert batch[0].explanation.text == e.text


def test_seasonal_index_rises_before_the_season():
    # sold only in a season of 40 % of the year, which starts in a few
    # days: the index of the coming weeks is far above the year's mean; a
    # steady item has 1
    rng = np.random.default_rng(3)
    n = 600
    days = np.arange(n)
    half = 0.4 * 365.25 / 2
    d = ((days - (n + 40) + 182.6) % 365.25) - 182.6
    mean = np.where(np.abs(d) < half,
        20 * np.cos(np.pi * d / (2 * half)) ** 2, 0.0)
    seasonal = call(rng.poisson(mean).astype(float), quoted_lead_time=14)
    e = seasonal.explanation
    assert e.yearly_seasonality
    assert e.seasonal_index > 1.5
    assert 'seasonal index' in e.text
    steady = call(rng.poisson(8, n).astype(float)).explanation
    assert not steady.yearly_seasonality
    assert steady.seasonal_index == 1.0


# --------------------------------------------------------------------------
# ABC
# --------------------------------------------------------------------------

@FAST
@given(st.lists(st.floats(0, 1e6), min_size=1, max_size=60))
def test_abc_partition_and_thresholds(values):
    classes = abc_classify(values)
    assert len(classes) == len(values)
    assert set(classes) <= {'A', 'B', 'C'}
    total = sum(values)
    if total <= 0:
        assert set(classes) == {'C'}
        return
    share = {c: sum(v for v, k in zip(values, classes) if k == c) / total
        for c in 'ABC'}
    a_items = sorted((v for v, k in zip(values, classes) if k == 'A'),
        reverse=True)
    # the A items reach 80% (unless every positive item is A) and the A
    # set without its smallest member stays below 80%
    assert share['A'] >= 0.8 - 1e-9 or all(
        k == 'A' for v, k in zip(values, classes) if v > 0)
    assert (sum(a_items[:-1]) / total) < 0.8 + 1e-9
    assert share['A'] + share['B'] >= 0.95 - 1e-9 or 'C' not in [
        k for v, k in zip(values, classes) if v > 0]
    # a higher value never gets a worse class
    rank = {'A': 0, 'B': 1, 'C': 2}
    for v1, c1 in zip(values, classes):
        for v2, c2 in zip(values, classes):
            if v1 > v2:
                assert rank[c1] <= rank[c2]


def test_abc_mapping_and_custom_thresholds():
    out = abc_classify({'x': 70, 'y': 20, 'z': 10, 'w': 0},
        thresholds=(0.5, 0.3, 0.2))
    assert out == {'x': 'A', 'y': 'B', 'z': 'C', 'w': 'C'}
    with pytest.raises(ValueError):
        abc_classify([1, 2], thresholds=(0.5, 0.5, 0.5))
    with pytest.raises(ValueError):
        abc_classify([1, -2])
    assert fill_rate_for_class('A') == 0.98
    assert fill_rate_for_class('C') == 0.90


# --------------------------------------------------------------------------
# Lead time
# --------------------------------------------------------------------------

def test_lead_time_blends_with_quote():
    none = estimate_lead_time([], 10)
    assert none.mean == 10 and none.source == 'quoted'
    few = estimate_lead_time(receipts([20, 20]), 10)
    assert 10 < few.mean < 20 and few.source == 'blend'
    many = estimate_lead_time(receipts([20, 21, 19, 20] * 5), 10)
    assert many.source == 'history'
    assert abs(many.mean - 20) < 2
    points = lead_time_points(many)
    assert points.mean() == pytest.approx(many.mean)
    assert points.std() == pytest.approx(many.std)


def test_lead_time_rejects_bad_pairs():
    with pytest.raises(ValueError):
        estimate_lead_time([(date(2024, 1, 5), date(2024, 1, 1))], 3)
    with pytest.raises(ValueError):
        estimate_lead_time([], -1)
    with pytest.raises(ValueError):
        estimate_lead_time([(date(2024, 1, 5), TODAY + timedelta(days=1))],
            3, TODAY)
    ordinals = np.array([[TODAY.toordinal() - 3, TODAY.toordinal() + 1]])
    with pytest.raises(ValueError, match='after today'):
        estimate_lead_time(ordinals, 3, TODAY)
    with pytest.raises(ValueError, match='before order'):
        estimate_lead_time(ordinals[:, ::-1], 3)
    with pytest.raises(ValueError, match='integer array'):
        estimate_lead_time(np.array([[1.5, 2.5]]), 3)
    with pytest.raises(ValueError, match='after today'):
        _lead_times_rows([np.empty((0, 2), int), ordinals], [3.0, 3.0],
            TODAY)


def _reference_lead_time(orders, quoted):
    """estimate_lead_time's formulas in plain Python, one item: the
    observed lead times of the 40 most recent receipts blended with the
    quoted one, and the share of overlapping order pairs that crossed."""
    pairs = sorted((r, r - o, o) for o, r in orders)[-40:]
    observed = [float(lt) for _, lt, _ in pairs]
    n, k = len(observed), 3.0
    s0 = max(1.0, 0.25 * quoted)
    if not n:
        return (quoted, s0 if quoted > 0 else 0.0, 0, 'quoted', (), 0.0)
    x = math.fsum(observed) / n
    s2 = math.fsum((v - x) ** 2 for v in observed) / (n - 1) if n > 1 \
        else 0.0
    mean = (k * quoted + n * x) / (k + n)
    var = (k * s0 * s0 + (n - 1) * s2
        + k * n / (k + n) * (x - quoted) ** 2) / (k + n - 1)
    overlap = crossed = 0
    for r_i, _, o_i in pairs:
        for r_j, _, o_j in pairs:
            if o_i < o_j < r_i:
                overlap += 1
                crossed += r_j < r_i
    return (mean, math.sqrt(max(var, 0.0)), n,
        'history' if n >= 10 else 'blend', tuple(observed),
        crossed / overlap if overlap else 0.0)


def test_reference_lead_time_constants():
    # the reference above spells out the module's constants
    from core import replenishment
    assert replenishment.MAX_LEAD_TIME_OBSERVATIONS == 40
    assert replenishment.PRIOR_LEAD_TIME_WEIGHT == 3.0
    assert replenishment.PRIOR_LEAD_TIME_CV == 0.25


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.floats(0, 60),
            st.lists(st.tuples(st.integers(0, 400), st.integers(0, 90)),
                max_size=60)),
        min_size=1, max_size=70))
def test_lead_times_rows_match_one_by_one(items):
    # the batch estimate (ordinal arrays, all items together) gives the
    # formulas' result of each item, and what estimate_lead_time gives
    # for the item alone (date pairs)
    first = TODAY.toordinal() - 600
    pairs = [[(date.fromordinal(first + s), date.fromordinal(first + s + lt))
            for s, lt in orders] for _, orders in items]
    quoted = [q for q, _ in items]
    arrays = [np.array([(first + s, first + s + lt) for s, lt in orders],
            dtype=np.int64).reshape(-1, 2) for _, orders in items]
    batch = _lead_times_rows(arrays, quoted, TODAY)
    for orders, array, q, got in zip(pairs, arrays, quoted, batch):
        alone = estimate_lead_time(orders, q, TODAY)
        formulas = LeadTime(*_reference_lead_time(array.tolist(), q))
        for want in (alone, formulas):
            assert got.observations == want.observations
            assert got.source == want.source
            assert got.observed == want.observed
            assert got.mean == pytest.approx(want.mean, rel=1e-12, abs=1e-12)
            assert got.std == pytest.approx(want.std, rel=1e-9, abs=1e-9)
            assert got.crossing == pytest.approx(want.crossing, abs=1e-12)


# --------------------------------------------------------------------------
# Entry point edge cases and validation
# --------------------------------------------------------------------------

def test_empty_history():
    r = call([])
    assert r.reorder_point == 0 and r.order_up_to == 0
    assert r.explanation.model == 'none'
    assert r.explanation.text


def test_all_zero_demand():
    r = call([0] * 365)
    assert (r.reorder_point, r.order_up_to) == (0, 0)
    assert r.explanation.demand_class == 'none'


def test_single_sale():
    sales = [0] * 300
    sales[120] = 4
    r = call(sales, pack_multiple=6, minimum_order_quantity=12)
    assert math.isfinite(r.reorder_point) and r.reorder_point >= 0
    assert r.order_up_to - r.reorder_point >= 12
    assert r.explanation.mean_daily_demand > 0


def test_short_history_uses_lognormal():
    r = call([3, 4, 2, 5, 3, 4, 6, 2, 3, 4, 5, 3, 2, 4])
    assert r.explanation.distribution == 'lognormal'
    assert r.reorder_point > 0


def test_no_received_orders_falls_back_to_quoted_lead_time():
    r = call([5] * 200, quoted_lead_time=12)
    e = r.explanation
    assert e.lead_time_mean == 12
    assert e.lead_time_source == 'quoted'
    assert e.lead_time_observations == 0
    assert e.lead_time_demand == pytest.approx(60, rel=1e-6)


def test_received_orders_move_the_lead_time():
    r = call([5] * 200, orders=receipts([30] * 15), quoted_lead_time=10)
    assert r.explanation.lead_time_mean > 25
    assert r.reorder_point >= 5 * 25


def test_explanation_is_consistent():
    rng = np.random.default_rng(5)
    r = call(rng.poisson(6, 500), orders=receipts([6, 8, 7, 9, 7]),
        pack_multiple=10, minimum_order_quantity=50)
    e = r.explanation
    assert e.order_up_to - e.reorder_point == pytest.approx(e.order_quantity)
    assert e.order_quantity >= 50 and e.order_quantity % 10 == 0
    assert 0 < e.expected_fill_rate <= 1
    assert e.expected_fill_rate >= e.fill_rate_target - 1e-6
    assert len(e.forecast_daily) >= 91
    assert e.model in e.text
    assert 'Computed reorder point %s, order-up-to %s.' % (
        quantity_text(e.reorder_point), quantity_text(e.order_up_to)) \
        in e.text
    assert e.safety_stock == pytest.approx(
        e.reorder_point - e.protection_demand)


@pytest.mark.parametrize('kwargs', [
        dict(fill_rate=0), dict(fill_rate=1), dict(fill_rate=1.5),
        dict(fill_rate=-0.1), dict(pack_multiple=0),
        dict(minimum_order_quantity=-1), dict(unit_cost=-1),
        dict(review_period=-1), dict(ordering_cost=float('nan')),
        dict(quoted_lead_time=-3), dict(today='2024-06-01'),
        ])
def test_rejects_bad_parameters(kwargs):
    with pytest.raises(ValueError):
        call([1, 2, 3] * 20, **kwargs)


def test_rejects_bad_series():
    with pytest.raises(ValueError):
        call([1, -2, 3])
    with pytest.raises(ValueError):
        call([1, 2, 3], flags=[False, True])
    with pytest.raises(ValueError):
        call([1, float('nan'), 3])
    with pytest.raises(ValueError):
        call([1, 2, 3], orders=[(TODAY, TODAY - timedelta(days=2))])


# --------------------------------------------------------------------------
# Batch entry point
# --------------------------------------------------------------------------

def _random_catalogue(seed, count, days):
    rng = np.random.default_rng(seed)
    t = np.arange(days)
    sales, flags, orders = [], [], []
    for i in range(count):
        kind = i % 6
        base = rng.uniform(0.5, 40)
        if kind == 0:
            mean = np.full(days, base)
        elif kind == 1:
            mean = base * (1 + 0.6 * np.sin(2 * np.pi * (t + rng.uniform(
                            0, 365)) / 365.25))
        elif kind == 2:
            mean = base * np.maximum(0.2, 1 + rng.uniform(-1, 1) * t / days)
        elif kind == 3:
            mean = np.where(rng.random(days) < rng.uniform(0.03, 0.3),
                rng.uniform(1, 20), 0.0)
        elif kind == 4:
            mean = base * np.where(t % 7 >= 5, 0.2, 1.0)
        else:
            mean = np.zeros(days)
        sales.append(rng.poisson(mean * rng.gamma(2.0, 0.5, days)).astype(
                float))
        flags.append(rng.random(days) < rng.uniform(0, 0.05))
        lts = rng.integers(2, 40, rng.integers(0, 16))
        orders.append(receipts(lts.tolist()))
    params = dict(
        quoted_lead_time=rng.integers(1, 45, count).tolist(),
        unit_cost=rng.uniform(0, 100, count).tolist(),
        pack_multiple=rng.choice([1, 5, 12], count).tolist(),
        minimum_order_quantity=rng.choice([0, 0, 50], count).tolist(),
        fill_rate=rng.choice([0.9, 0.95, 0.98], count).tolist(),
        review_period=rng.choice([1, 1, 3, 7], count).tolist(),
        ordering_cost=rng.uniform(0, 60, count).tolist(),
        holding_rate=0.25)
    return sales, flags, orders, params


def _same(a, b):
    ea, eb = a.explanation, b.explanation
    assert ea.model == eb.model
    assert ea.demand_class == eb.demand_class
    assert ea.distribution == eb.distribution
    for name in ('reorder_point', 'order_up_to', 'safety_stock',
            'expected_fill_rate', 'protection_demand', 'lead_time_demand',
            'mean_daily_demand', 'order_quantity'):
        assert getattr(ea, name) == pytest.approx(
            getattr(eb, name), rel=1e-7, abs=1e-7), name
    assert a.reorder_point == pytest.approx(b.reorder_point, rel=1e-7,
        abs=1e-7)
    assert a.order_up_to == pytest.approx(b.order_up_to, rel=1e-7, abs=1e-7)


@pytest.mark.parametrize('seed,days', [(1, 730), (2, 500), (3, 1200)])
def test_batch_matches_single_item(seed, days):
    from core.replenishment import compute_order_points
    sales, flags, orders, params = _random_catalogue(seed, 60, days)
    batch = compute_order_points(sales, flags, orders, today=TODAY,
        **params)
    assert len(batch) == len(sales)
    for i in range(len(sales)):
        single = compute_order_point(sales[i], flags[i], orders[i],
            today=TODAY, **{k: (v[i] if isinstance(v, list) else v)
                for k, v in params.items()})
        _same(single, batch[i])


def test_batch_mixed_lengths_and_2d_array():
    from core.replenishment import compute_order_points
    sales, flags, orders, params = _random_catalogue(4, 12, 800)
    # ragged: some items with a short history (computed item by item)
    ragged = [s[-(60 + 50 * i):] for i, s in enumerate(sales)]
    ragged_flags = [f[-(60 + 50 * i):] for i, f in enumerate(flags)]
    batch = compute_order_points(ragged, ragged_flags, orders, today=TODAY,
        **params)
    for i in range(len(sales)):
        single = compute_order_point(ragged[i], ragged_flags[i], orders[i],
            today=TODAY, **{k: (v[i] if isinstance(v, list) else v)
                for k, v in params.items()})
        _same(single, batch[i])
    array = compute_order_points(np.array(sales), np.array(flags), orders,
        today=TODAY, **params)
    listed = compute_order_points(sales, flags, orders, today=TODAY,
        **params)
    for a, b in zip(array, listed):
        _same(a, b)


def test_batch_rejects_bad_input():
    from core.replenishment import compute_order_points
    assert compute_order_points([], [], [], 7, 1.0, today=TODAY) == []
    with pytest.raises(ValueError):
        compute_order_points([[1, 2]], [[False, False]], [()], [7, 8], 1.0,
            today=TODAY)
    with pytest.raises(ValueError):
        compute_order_points([[1, 2]], [[False, False]], [], 7, 1.0,
            today=TODAY)
    with pytest.raises(ValueError):
        compute_order_points([[1, -2]], [[False, False]], [()], 7, 1.0,
            today=TODAY)
    with pytest.raises(ValueError):
        compute_order_points([[1, 2]], [[False, False]], [()], 7, 1.0)


def test_recent_errors_weigh_more():
    # same noise, once in the past year and once recently: the item whose
    # demand became erratic recently needs more safety stock than the one
    # that calmed down
    rng = np.random.default_rng(5)
    n = 730
    noise = rng.standard_normal(n)
    recent = np.arange(n) >= n - 150
    calm_then_wild = np.maximum(0, np.round(
            20 + np.where(recent, 9, 2) * noise))
    wild_then_calm = np.maximum(0, np.round(
            20 + np.where(recent, 2, 9) * noise))
    a = call(calm_then_wild, ordering_cost=5).explanation
    b = call(wild_then_calm, ordering_cost=5).explanation
    assert a.safety_stock > b.safety_stock


@FAST
@given(st.lists(st.lists(st.floats(0, 80), min_size=1, max_size=60),
        min_size=1, max_size=5),
    st.floats(0.5, 300), st.floats(0.5, 0.99), st.floats(0, 60))
def test_batch_solver_matches_single_solver(rows, q, beta, floor):
    from core.replenishment import _solve_rows
    width = max(len(r) for r in rows)
    samples = np.zeros((len(rows), width))
    weights = np.zeros((len(rows), width))
    for j, r in enumerate(rows):
        samples[j, :len(r)] = r
        weights[j, :len(r)] = 1.0   # zero weights are padding
    quantity = np.full(len(rows), q)
    fill = np.full(len(rows), beta)
    points, short, _, _ = _solve_rows(samples, weights, quantity, fill,
        np.full(len(rows), floor))
    for j, r in enumerate(rows):
        s = fill_rate_reorder_point(r, np.ones(len(r)), q, beta)
        s = max(s, floor)
        assert points[j] == pytest.approx(s, rel=1e-9, abs=1e-9)
        assert short[j] == pytest.approx(cycle_shortage(
                r, np.ones(len(r)), s, q), rel=1e-9, abs=1e-9)


@FAST
@given(st.integers(0, 2 ** 32 - 1), st.integers(1, 6), st.integers(2, 400),
    st.sampled_from([1.0, 2.0, 7.0]), st.integers(1, 3000))
def test_batch_undershoot_matches_single_undershoot(seed, k, n, review,
        size):
    from types import SimpleNamespace
    from core.replenishment import _undershoot, _undershoot_rows
    rng = np.random.default_rng(seed)
    y = np.round(rng.gamma(0.5, 4, (k, n)) * (rng.random((k, n)) < 0.5), 1)
    m = (rng.random((k, n)) < 0.9).astype(float)
    future = rng.uniform(0.0, 5.0, k)
    capped = rng.random(k) < 0.5
    rows = _undershoot_rows(y, m, np.full(k, review), size, future, capped)
    for j in range(k):
        kind = 'erratic' if capped[j] else 'lumpy'
        one = _undershoot(SimpleNamespace(_y=y[j], _m=m[j],
                demand_class=kind), review, size, future[j])
        assert rows[j] == pytest.approx(one, rel=1e-9, abs=1e-12)


# --------------------------------------------------------------------------
# Order crossing
# --------------------------------------------------------------------------

def _orders(starts, lead_times, today=TODAY):
    first = today - timedelta(days=max(s + lt for s, lt in zip(
                    starts, lead_times)) + 1)
    return [(first + timedelta(days=s), first + timedelta(days=s + lt))
        for s, lt in zip(starts, lead_times)]


def test_crossing_share_of_receipts():
    # one order every 5 days, 30 days lead time: in sequence, no crossing
    starts = list(range(0, 200, 5))
    fifo = estimate_lead_time(_orders(starts, [30] * len(starts)), 30, TODAY)
    assert fifo.crossing == 0.0
    # independent lead times: later orders overtake earlier ones
    rng = np.random.default_rng(3)
    lts = rng.integers(15, 46, len(starts)).tolist()
    free = estimate_lead_time(_orders(starts, lts), 30, TODAY)
    assert 0.1 < free.crossing <= 1.0
    assert estimate_lead_time([], 30, TODAY).crossing == 0.0


@FAST
@given(st.floats(1, 90), st.floats(0.05, 0.6), st.integers(0, 40),
    st.floats(0, 1), st.floats(0.1, 400), st.floats(1.0, 5.0))
def test_effective_lead_time_never_wider_and_keeps_the_mean(
        mean, cv, observations, crossing, cycle_days, factor):
    from core.replenishment import LeadTime, effective_lead_time_points
    lead_time = LeadTime(mean, cv * mean, observations,
        'quoted' if observations == 0 else 'blend', (), crossing)
    points = lead_time_points(lead_time)
    eff = effective_lead_time_points(lead_time, points, cycle_days)
    assert eff.std() <= points.std() * (1 + 1e-9) + 1e-9
    if eff.min() > 0 and points.min() > 0:
        assert eff.mean() == pytest.approx(points.mean(), rel=1e-9)
    # orders further apart average out less
    wider = effective_lead_time_points(lead_time, points, cycle_days * factor)
    assert wider.std() >= eff.std() * (1 - 1e-9) - 1e-9
    # no crossing (a supplier delivering in sequence): unchanged
    fifo = lead_time._replace(crossing=0.0)
    assert np.array_equal(
        effective_lead_time_points(fifo, points, cycle_days), points)


def test_crossing_orders_need_less_safety_stock():
    # frequent orders with independent lead times: the late and early
    # orders in transit average out, the same lead times received in
    # sequence do not
    rng = np.random.default_rng(4)
    sales = rng.poisson(40, 500).astype(float)
    starts = list(range(0, 120, 3))   # 40 orders: all of them are used
    lts = np.maximum(5, rng.normal(40, 12, len(starts))).round().tolist()
    crossed = _orders(starts, lts)
    in_sequence = _orders(starts, sorted(lts))
    assert estimate_lead_time(crossed, 40, TODAY).crossing > 0.1
    assert estimate_lead_time(in_sequence, 40, TODAY).crossing < 0.1
    a = call(sales, orders=crossed, quoted_lead_time=40, unit_cost=100.0,
        fill_rate=0.98)
    b = call(sales, orders=in_sequence, quoted_lead_time=40,
        unit_cost=100.0, fill_rate=0.98)
    assert a.reorder_point >= a.explanation.lead_time_demand
    assert a.explanation.safety_stock < b.explanation.safety_stock


def test_recent_bias_keeps_a_real_bias_and_shrinks_noise():
    from core.replenishment import _recent_bias
    rng = np.random.default_rng(5)
    count = 160
    age = np.arange(count, 0, -1, dtype=float)[:, None] * 2.0
    valid = np.ones((count, 1), bool)
    weights = 0.5 ** (age / 120.0)
    weights = weights / weights.sum()
    noise = rng.normal(0.0, 10.0, (count, 1))
    biased = noise + np.where(age < 60, 40.0, 0.0)
    w_recent = 0.5 ** (age / 45.0)

    def raw_shift(err):
        return float((w_recent * err).sum() / w_recent.sum()
            - (weights * err).sum() / weights.sum())
    # a bias of several standard errors is kept almost whole
    kept = float((_recent_bias(biased, valid, weights, age) - biased)[0, 0])
    assert kept == pytest.approx(raw_shift(biased), rel=0.1)
    # overlapping windows (10 days from origins 2 days apart) are worth
    # fewer independent ones: the noise of the recent mean is shrunk
    shifts = []
    for seed in range(20):
        err = np.random.default_rng(seed).normal(0.0, 10.0, (count, 1))
        moved = float((_recent_bias(err, valid, weights, age, 5.0)
                - err)[0, 0])
        assert abs(moved) <= abs(raw_shift(err)) + 1e-12
        shifts.append(abs(moved) / max(abs(raw_shift(err)), 1e-12))
    assert np.mean(shifts) < 0.8


# --------------------------------------------------------------------------
# One event is not a pattern
# --------------------------------------------------------------------------

def test_one_event_is_not_taken_as_recurring():
    from core.replenishment import compute_order_points
    rng = np.random.default_rng(7)
    base = rng.poisson(10, 730).astype(float)
    # one week of a bulk order (+300 a day), then the same week again four
    # months later
    one = base.copy()
    one[450:457] += 300
    two = one.copy()
    two[600:607] += 300
    r_base, r_one, r_two = (call(s) for s in (base, one, two))
    assert r_one.explanation.demand_class == 'erratic'
    # seen once: the reorder point stays near the one without the event
    assert r_one.reorder_point <= 1.1 * r_base.reorder_point
    # seen twice: it is covered
    assert r_two.reorder_point >= 2 * r_base.reorder_point
    assert r_two.explanation.protection_demand >= \
        r_base.explanation.protection_demand + 50
    # the batch entry point applies the same rule
    batch = compute_order_points([base, one, two], [[False] * 730] * 3,
        [[]] * 3, 7, 10.0, 1, 0, 0.95, 1, 30.0, 0.25, TODAY)
    for single, row in zip((r_base, r_one, r_two), batch):
        _same(single, row)


@FAST
@given(st.integers(0, 2 ** 32 - 1), st.integers(2, 80), st.integers(1, 4),
    st.integers(1, 5))
def test_single_event_cap_bounds(seed, count, points, step):
    from core.replenishment import EVENT_GAP, _single_event_cap
    rng = np.random.default_rng(seed)
    err = np.round(rng.normal(0, 20, (count, points)), 1)
    valid = rng.random((count, points)) < 0.9
    origins = np.arange(count) * step
    lengths = rng.integers(1, 30, points)
    out = _single_event_cap(err, valid, origins, lengths)
    assert (out <= err).all()
    for j in range(points):
        if not valid[:, j].any():
            assert (out[:, j] == err[:, j]).all()
            continue
        top = origins[np.argmax(np.where(valid[:, j], err[:, j], -np.inf))]
        apart = np.abs(origins - top) >= lengths[j] + EVENT_GAP
        # the windows away from the worst one are untouched
        real = apart & valid[:, j]
        assert (out[real, j] == err[real, j]).all()
        if (apart & valid[:, j]).any():
            second = err[apart & valid[:, j], j].max()
            assert out[valid[:, j], j].max() <= max(second, 0.0)
            # the same event seen again far away (the origins evenly
            # spaced, the windows in between not valid): nothing is capped
            extra = (lengths[j] + EVENT_GAP) // step + 1
            again = np.concatenate((err[:, j], np.zeros(extra - 1),
                    [err[valid[:, j], j].max()]))
            far = np.arange(count + extra) * step
            both = np.concatenate((valid[:, j], np.zeros(extra - 1, bool),
                    [True]))
            kept = _single_event_cap(again[:, None], both[:, None], far,
                lengths[j:j + 1])
            assert (kept[both, 0] == again[both]).all()
        else:
            # no second event to compare with: nothing is capped
            assert (out[valid[:, j], j] == err[valid[:, j], j]).all()


@FAST
@given(st.floats(0.0, 1e4), st.floats(0.0, 1e4), st.floats(1.01, 50.0))
def test_level_kernel_weighs_by_closeness_of_level(coming, window, ratio):
    from core.replenishment import LEVEL_FLOOR, _level_kernel
    same = _level_kernel(np.array([coming]), np.array([coming]))[0]
    assert same == pytest.approx(1.0)
    w = _level_kernel(np.array([window]), np.array([coming]))[0]
    assert LEVEL_FLOOR <= w <= 1.0
    # symmetric in the ratio of (level + 1), decreasing with the distance
    up = (coming + 1.0) * ratio - 1.0
    down = (coming + 1.0) / ratio - 1.0
    further = (coming + 1.0) * ratio * 1.5 - 1.0
    w_up, w_further = _level_kernel(np.array([up, further]),
        np.array([coming, coming]))
    if down >= 0:
        w_down = _level_kernel(np.array([down]), np.array([coming]))[0]
        assert w_down == pytest.approx(w_up)
    assert w_further <= w_up
    assert w_up < 1.0


def test_level_kernel_values():
    from core.replenishment import _level_kernel
    coming = np.full(4, 99.0)
    w = _level_kernel(np.array([149.0, 199.0, 49.0, 499.0]), coming)
    # 1.5 times 72 %, twice and half 38 %, a promotion at five times the
    # floor: its errors do not make the spread of the coming weeks
    assert w == pytest.approx([0.7198, 0.3825, 0.3825, 0.02], abs=1e-4)
