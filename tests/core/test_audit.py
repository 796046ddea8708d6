# This file is part of perpetual_inventory.  The COPYRIGHT file at the top
# level of this repository contains the full copyright notices and license
# terms.
"""Tests of core.audit: the replay of done moves against stored figures."""
import datetime as dt
from decimal import Decimal

from hypothesis import given, strategies as st

from core import audit
from core.moves import MoveFact

D = Decimal
DAY = dt.date(2026, 1, 1)
STOCK, GRNI, COGS, OVER, PPV, CLEAR = 1, 2, 3, 4, 5, 6
ACCOUNTS = {
    'account_stock_in': GRNI, 'account_cogs': COGS,
    'account_stock_over_short': OVER, 'account_price_variance': PPV,
    'account_stock_out': GRNI,
    }


def receipt(ref, quantity, price, day=0):
    return MoveFact(ref, DAY + dt.timedelta(day), 'supplier', 'storage',
        D(quantity), D(price))


def delivery(ref, quantity, day=0):
    return MoveFact(
        ref, DAY + dt.timedelta(day), 'storage', 'customer', D(quantity))


def customer_return(ref, quantity, of, day=0):
    return MoveFact(ref, DAY + dt.timedelta(day), 'customer', 'storage',
        D(quantity), returned=of)


def books(history):
    """Return (stored, posted) as a faithful ledger would hold them: each
    replayed amount posted on its account"""
    expected, error = audit.replay(history)
    assert error is None
    stored, posted = {}, {}
    for item in expected:
        if item.kind == 'move':
            stored[item.ref] = (float(item.quantity), item.value)
        lines = {}
        for key, amount in item.amounts:
            account = {audit.STOCK: STOCK, audit.OTHER: OVER}.get(key, key)
            lines[account] = lines.get(account, D(0)) + amount
        if lines:
            posted[item.ref] = lines
    return stored, posted


def run(history, stored, posted):
    return audit.audit([history], stored, posted, {STOCK})


def test_fifo_figures():
    history = audit.History('P', 'fifo', (
            receipt(1, 10, 10), receipt(2, 10, 12), delivery(3, 15),
            customer_return(4, 5, 3), delivery(5, 2)), ACCOUNTS)
    expected, error = audit.replay(history)
    assert error is None
    by_ref = {e.ref: e for e in expected}
    assert by_ref[1].amounts == ((audit.STOCK, D(100)), (GRNI, D(-100)))
    # 10 @ 10 and 5 @ 12
    assert dict(by_ref[3].amounts) == {audit.STOCK: D(-160), COGS: D(160)}
    assert by_ref[3].quantity == D(-15)
    # a third of the delivery back, at its cost
    assert dict(by_ref[4].amounts) == {
        audit.STOCK: D('53.33'), COGS: D('-53.33')}
    stored, posted = books(history)
    report = run(history, stored, posted)
    assert report.ok and report.difference == 0 and report.events == 5


def test_standard_variance_and_cost_change():
    history = audit.History('P', 'fixed', (
            receipt(1, 4, 10),
            audit.CostChangeFact('r1', DAY, D(12)),
            delivery(2, 1, day=1)), ACCOUNTS, initial_cost=D(11))
    expected, _ = audit.replay(history)
    assert dict(expected[0].amounts) == {
        audit.STOCK: D(44), GRNI: D(-40), PPV: D(-4)}
    assert dict(expected[1].amounts) == {
        audit.STOCK: D(4), audit.OTHER: D(-4)}
    assert dict(expected[2].amounts) == {audit.STOCK: D(-12), COGS: D(12)}
    assert run(history, *books(history)).ok


def test_landed_cost_split():
    history = audit.History('P', 'fifo', (
            receipt(1, 10, 10), delivery(2, 4),
            audit.LandedCostFact('lc', DAY, 1, D(20))), ACCOUNTS)
    expected, _ = audit.replay(history)
    assert dict(expected[2].amounts) == {
        audit.STOCK: D(12), COGS: D(8), audit.OTHER: D(-20)}
    stored, posted = books(history)
    assert run(history, stored, posted).ok
    # the clearing account is any other account of the entry
    posted['lc'] = {STOCK: D(12), COGS: D(8), 99: D(-20)}
    assert run(history, stored, posted).ok


def test_tampered_layer_value():
    history = audit.History('P', 'average', (
            receipt(1, 10, 10), delivery(2, 3), delivery(3, 3)), ACCOUNTS)
    stored, posted = books(history)
    stored[2] = (stored[2][0], stored[2][1] + D('0.50'))
    report = run(history, stored, posted)
    line, = report.lines
    assert (line.kind, line.product, line.ref, line.account) == (
        audit.LAYER, 'P', 2, audit.LAYER_VALUE)
    assert line.difference == D('0.50')
    assert report.first == {'P': 2}


def test_tampered_entry_both_sides():
    history = audit.History('P', 'fifo', (
            receipt(1, 10, 10), delivery(2, 3), delivery(3, 3)), ACCOUNTS)
    stored, posted = books(history)
    posted[3] = {STOCK: D(-31), COGS: D(31)}
    report = run(history, stored, posted)
    assert [(l.kind, l.ref, l.account, l.expected, l.posted)
        for l in report.lines] == [
        (audit.AMOUNT, 3, audit.STOCK, D(-30), D(-31)),
        (audit.AMOUNT, 3, COGS, D(30), D(31))]
    assert report.difference == D(2)
    assert report.first == {'P': 3}


def test_move_without_entry_and_entry_without_move():
    history = audit.History('P', 'fifo', (
            receipt(1, 10, 10), delivery(2, 3)), ACCOUNTS)
    stored, posted = books(history)
    del posted[2]
    posted[('entry', 7)] = {STOCK: D(5), OVER: D(-5)}
    report = run(history, stored, posted)
    kinds = [(l.kind, l.ref, l.account, l.expected, l.posted)
        for l in report.lines]
    assert kinds == [
        (audit.MOVE_WITHOUT_ENTRY, 2, audit.STOCK, D(-30), D(0)),
        (audit.MOVE_WITHOUT_ENTRY, 2, COGS, D(30), D(0)),
        (audit.ENTRY_WITHOUT_MOVE, ('entry', 7), audit.STOCK, D(0), D(5)),
        ]


def test_unposted_period_and_transfer():
    history = audit.History('P', 'fifo', (
            receipt(1, 10, 10),
            MoveFact(2, DAY, 'storage', 'storage', D(4)),
            delivery(3, 3)), ACCOUNTS, unposted=frozenset({1}))
    stored = {1: (10.0, D(0)), 2: (0.0, D(0)), 3: (-3.0, D(-30))}
    posted = {3: {STOCK: D(-30), COGS: D(30)},
        # a transfer between two inventory accounts nets to zero
        2: {STOCK: D(40)}}
    report = audit.audit([history], stored, posted, {STOCK})
    line, = report.lines
    assert (line.ref, line.account, line.posted) == (2, audit.STOCK, D(40))


def test_replay_error_stops_the_product():
    # a return to the supplier of more than is on hand
    history = audit.History('P', 'average', (
            receipt(1, 10, 10),
            MoveFact(2, DAY, 'storage', 'supplier', D(40), D(10), 1),
            delivery(3, 3)), ACCOUNTS)
    posted = {1: {STOCK: D(100), GRNI: D(-100)},
        2: {STOCK: D(-400), GRNI: D(400)}, 3: {STOCK: D(-30), COGS: D(30)}}
    report = audit.audit([history], {1: (10.0, D(100))}, posted, {STOCK})
    line, = report.lines
    assert (line.kind, line.ref) == (audit.REPLAY_ERROR, 2)
    assert report.first == {'P': 2}


def test_opening_count_at_the_initial_cost():
    "A count before any cost is known is valued at the initial cost"
    history = audit.History('P', 'average', (
            MoveFact(1, DAY, 'lost_found', 'storage', D(3)),
            delivery(2, 1)), ACCOUNTS, initial_cost=D('2.50'))
    expected, _ = audit.replay(history)
    assert dict(expected[0].amounts) == {
        audit.STOCK: D('7.50'), audit.OTHER: D('-7.50')}
    # booked against opening-balance equity (an account of its own)
    report = audit.audit([history], {1: (3.0, D('7.50')), 2: (-1.0, D(-2.5))},
        {1: {STOCK: D('7.50'), 77: D('-7.50')},
            2: {STOCK: D('-2.50'), COGS: D('2.50')}}, {STOCK})
    assert report.ok
    assert dict(expected[1].amounts) == {
        audit.STOCK: D('-2.50'), COGS: D('2.50')}


def test_booking_key():
    facts = [
        audit.CostChangeFact('c', DAY, D(1)),
        audit.LandedCostFact('l', DAY, 1, D(1)),
        delivery(5, 1), receipt(3, 1, 1, day=-1)]
    assert [f.ref for f in sorted(facts, key=audit.booking_key)] == [
        3, 5, 'l', 'c']


@st.composite
def histories(draw):
    method = draw(st.sampled_from(['fifo', 'lifo', 'average', 'fixed']))
    events, deliveries = [], []
    on_hand = D(0)
    for ref in range(1, draw(st.integers(1, 25)) + 1):
        choice = draw(st.sampled_from(
                ['receipt', 'receipt', 'delivery', 'return', 'count']))
        quantity = D(draw(st.integers(1, 20)))
        if choice == 'receipt' or (choice != 'count' and on_hand <= 0):
            price = D(draw(st.integers(100, 5000))) / 100
            events.append(receipt(ref, quantity, price, day=ref))
            on_hand += quantity
        elif choice == 'delivery':
            quantity = min(quantity, on_hand)
            events.append(delivery(ref, quantity, day=ref))
            deliveries.append((ref, quantity))
            on_hand -= quantity
        elif choice == 'return' and deliveries:
            of, delivered = draw(st.sampled_from(deliveries))
            events.append(customer_return(
                    ref, min(quantity, delivered), of, day=ref))
            deliveries.remove((of, delivered))
            on_hand += min(quantity, delivered)
        else:
            events.append(MoveFact(ref, DAY + dt.timedelta(ref),
                    'storage', 'lost_found', min(quantity, on_hand)
                    or D(1)))
            on_hand -= min(quantity, on_hand) or D(1)
    return audit.History('P', method, tuple(events), ACCOUNTS,
        initial_cost=D('9.99'))


@given(histories())
def test_faithful_books_have_no_difference(history):
    "The replay posted as it says is found again to the cent."
    report = run(history, *books(history))
    assert report.ok, report.lines
    for total in report.totals:
        assert total.expected == total.posted


@given(histories(), st.data())
def test_any_tampered_amount_is_found(history, data):
    "A cent moved on one side of one entry is reported at that move."
    stored, posted = books(history)
    refs = sorted(posted)
    ref = data.draw(st.sampled_from(refs))
    account = data.draw(st.sampled_from(sorted(posted[ref])))
    cents = D(data.draw(st.sampled_from([-100, -1, 1, 7]))) / 100
    posted[ref] = dict(posted[ref])
    posted[ref][account] += cents
    report = run(history, stored, posted)
    assert report.first == {'P': ref}
    line, = report.lines
    assert line.ref == ref and line.difference == cents
    assert report.difference == abs(cents)


@given(histories(), st.data())
def test_any_tampered_layer_is_found(history, data):
    stored, posted = books(history)
    ref = data.draw(st.sampled_from(sorted(stored)))
    quantity, value = stored[ref]
    stored[ref] = (quantity, value + D('0.01'))
    report = run(history, stored, posted)
    line, = report.lines
    assert (line.kind, line.ref, line.account, line.difference) == (
        audit.LAYER, ref, audit.LAYER_VALUE, D('0.01'))
