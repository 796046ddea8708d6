# This file is part of perpetual_inventory.  The COPYRIGHT file at the top
# level of this repository contains the full copyright notices and license
# terms.
"""Hand-computed examples of the independent valuation model
(tests/valuation_oracle.py), the issue 25 figures among them."""
import dataclasses
import importlib.util
import os
from decimal import Decimal as D

import pytest

_PATH = os.path.join(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
    'valuation_oracle.py')
_SPEC = importlib.util.spec_from_file_location('valuation_oracle', _PATH)
oracle = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(oracle)

Receive, Deliver = oracle.Receive, oracle.Deliver
CustomerReturn, SupplierReturn = oracle.CustomerReturn, oracle.SupplierReturn
Count, CostChange, LandedCost = oracle.Count, oracle.CostChange, \
    oracle.LandedCost


def run(method, *events, initial_cost=D(0), rules=oracle.RULES):
    valuation = oracle.Valuation(method, initial_cost, rules)
    for event in events:
        valuation.add(event)
    return valuation


def check_balanced(valuation):
    "Every replay balances and the inventory role is the on-hand value."
    totals = valuation.totals()
    assert sum(totals.values()) == 0
    assert totals['inventory'] == valuation.value()


def test_share_rule():
    "3 @ 3.333 in: issues of 1, 1, 1 take 3.33, 3.34, 3.33."
    valuation = run('fifo', Receive('r', 1, D(3), D('3.333')))
    costs = []
    for i in range(3):
        valuation.add(Deliver('d%s' % i, 2 + i, D(1)))
        costs.append(valuation.result('d%s' % i)['cogs'])
    assert costs == [D('3.33'), D('3.34'), D('3.33')]
    assert valuation.value() == 0 and valuation.quantity() == 0


def test_issue_defect_1_last_units():
    "Receive 6 @ 11.94, ship 5, ship 1: the last unit takes the rest."
    for method in ('average', 'fifo', 'lifo'):
        valuation = run(method, Receive('r', 1, D(6), D('11.94')),
            Deliver('d1', 2, D(5)), Deliver('d2', 3, D(1)))
        assert valuation.result('d1')['cogs'] == D('59.70')
        assert valuation.result('d2')['cogs'] == D('11.94')
        assert valuation.value() == 0
        check_balanced(valuation)


def test_issue_defect_2_average_customer_return():
    """receive 10 @ 10, ship 6, receive 10 @ 16, ship 6, return 3 of the
    first delivery, ship the rest: inventory 0 at 0 units."""
    valuation = run('average',
        Receive('r1', 1, D(10), D(10)),
        Deliver('d1', 2, D(6)),
        Receive('r2', 3, D(10), D(16)),
        Deliver('d2', 4, D(6)),
        CustomerReturn('c1', 5, D(3), 'd1'),
        Deliver('d3', 6, D(11)))
    assert valuation.result('d1')['cogs'] == D(60)
    # 14 units worth 200: 6 of them 85.71.
    assert valuation.result('d2')['cogs'] == D('85.71')
    assert valuation.result('c1')['inventory'] == D(30)
    assert valuation.result('c1')['cogs'] == D(-30)
    # 8 worth 114.29, plus 3 worth 30: the last 11 take 144.29.
    assert valuation.result('d3')['cogs'] == D('144.29')
    assert valuation.quantity() == 0 and valuation.value() == 0
    assert valuation.totals()['cogs'] == D(260) - D(30) + D(30)
    check_balanced(valuation)


@pytest.mark.parametrize('method, first, second', [
        ('fifo', D(80), D(120)),    # 8 x 10; 2 x 10 + 6 x 12 + 2 x 14
        ('lifo', D(112), D(120)),   # 8 x 14; 2 x 14 + 6 x 12 + 2 x 10
        ])
def test_issue_defect_3_supplier_return_from_its_receipt(
        method, first, second):
    "Receipts 10 @ 10, 12, 14, return 4 of the middle one, ship 8, 10."
    valuation = run(method,
        Receive('r1', 1, D(10), D(10)),
        Receive('r2', 2, D(10), D(12)),
        Receive('r3', 3, D(10), D(14)),
        SupplierReturn('s', 4, D(4), 'r2'),
        Deliver('d1', 5, D(8)),
        Deliver('d2', 6, D(10)))
    assert valuation.result('s')['stock_in'] == D(48)
    assert valuation.result('d1')['cogs'] == first
    assert valuation.result('d2')['cogs'] == second
    assert valuation.quantity() == 8
    assert valuation.value() == D(360) - D(48) - first - second
    check_balanced(valuation)


def test_issue_defect_4_standard_supplier_return_clears_grni():
    "Receipt 4 @ 10 under a standard of 11, returned: GRNI clears."
    valuation = run('fixed', Receive('r', 1, D(4), D(10)),
        initial_cost=D(11))
    assert valuation.result('r')['inventory'] == D(44)
    assert valuation.result('r')['stock_in'] == D(-40)
    assert valuation.result('r')['variance'] == D(-4)
    valuation.add(SupplierReturn('s', 2, D(4), 'r'))
    assert valuation.result('s')['inventory'] == D(-44)
    assert valuation.result('s')['stock_in'] == D(40)
    assert valuation.result('s')['variance'] == D(4)
    totals = valuation.totals()
    assert totals['stock_in'] == totals['variance'] == 0
    check_balanced(valuation)


def test_issue_defect_5_standard_customer_return_at_new_standard():
    """Delivered at standard 8, standard raised to 9, returned: inventory
    at 9, cost of goods sold back at 8, the difference a variance."""
    valuation = run('fixed',
        Receive('r', 1, D(10), D(8)),
        Deliver('d', 2, D(4)),
        CostChange('k', 3, D(9)),
        CustomerReturn('c', 4, D(2), 'd'),
        initial_cost=D(8))
    assert valuation.result('k')['inventory'] == D(6)   # 6 x (9 - 8)
    assert valuation.result('k')['stock_in'] == D(-6)
    assert valuation.result('c')['inventory'] == D(18)
    assert valuation.result('c')['cogs'] == D(-16)
    assert valuation.result('c')['variance'] == D(-2)
    assert valuation.value() == 8 * D(9)
    check_balanced(valuation)


def test_issue_defect_7_back_dated_lifo():
    """Receive 5 @ 10 on day 10, deliver 5 on day 5, a receipt 5 @ 4 on
    day 7: the delivery's cost becomes 20."""
    valuation = run('lifo',
        Receive('r1', 10, D(5), D(10)),
        Deliver('d', 5, D(5)),
        Receive('r2', 7, D(5), D(4)),
        initial_cost=D(10))
    assert valuation.totals()['cogs'] == D(20)
    assert valuation.value() == D(50)
    assert valuation.quantity() == 5
    check_balanced(valuation)


def test_negative_stock_correction():
    """FIFO: 10 @ 5 in, 12 out (60), 10 @ 6 in: the 2 cost 12, a
    correction of 2 to cost of goods sold, 8 left worth 48."""
    valuation = run('fifo', Receive('r1', 1, D(10), D(5)),
        Deliver('d', 2, D(12)), Receive('r2', 3, D(10), D(6)))
    assert valuation.result('d')['cogs'] == D(60)
    assert valuation.result('r2')['cogs'] == D(2)
    assert valuation.result('r2')['inventory'] == D(58)
    assert (valuation.quantity(), valuation.value()) == (8, D(48))
    check_balanced(valuation)


def test_negative_stock_average():
    "Average: 4 out at the last average 5, then 10 in at 6."
    valuation = run('average', Deliver('d', 1, D(4)),
        Receive('r', 2, D(10), D(6)), initial_cost=D(5))
    assert valuation.result('d')['cogs'] == D(20)
    assert valuation.result('r')['cogs'] == D(4)
    assert (valuation.quantity(), valuation.value()) == (6, D(36))
    check_balanced(valuation)


def test_landed_cost_fifo_and_average():
    "10 @ 10 in, 4 out, freight 30: 18 to inventory, 12 to COGS."
    for rule in ('replay', 'layer'):
        rules = dataclasses.replace(oracle.RULES, landed_cost=rule)
        for method in ('fifo', 'lifo', 'average'):
            valuation = run(method, Receive('r', 1, D(10), D(10)),
                Deliver('d', 2, D(4)), LandedCost('l', 3, 'r', D(30)),
                rules=rules)
            totals = valuation.totals()
            assert totals['cogs'] == D(52)
            assert totals['landed'] == D(-30)
            assert totals['stock_in'] == D(-100)
            assert valuation.value() == D(78)
            check_balanced(valuation)


def test_landed_cost_standard_is_variance():
    valuation = run('fixed', Receive('r', 1, D(5), D(8)),
        LandedCost('l', 2, 'r', D(20)), initial_cost=D(8))
    assert valuation.result('l')['variance'] == D(20)
    assert valuation.result('l')['inventory'] == 0
    assert valuation.value() == D(40)


def test_average_landed_cost_rules():
    """Average 10 @ 10 and 10 @ 20 in, 10 out, freight 30 on the first
    receipt: replayed, the first receipt cost 13 (average 16.50, the 10
    out 165); split by layer, the first receipt is gone (oldest first) and
    all of it goes to cost of goods sold."""
    events = (Receive('r1', 1, D(10), D(10)), Receive('r2', 2, D(10), D(20)),
        Deliver('d', 3, D(10)), LandedCost('l', 4, 'r1', D(30)))
    valuation = run('average', *events)
    assert valuation.result('d')['cogs'] == D(165)
    assert valuation.value() == D(165)
    rules = dataclasses.replace(oracle.RULES, landed_cost='layer')
    valuation = run('average', *events, rules=rules)
    assert valuation.result('d')['cogs'] == D(150)
    assert valuation.result('l')['cogs'] == D(30)
    assert valuation.value() == D(150)
    check_balanced(valuation)


def test_count_overage_rules():
    """FIFO 10 @ 10, 10 @ 20, 12 out, 2 found: at the layer the next issue
    takes (20) by default, at the layer the last goods came from under
    'layer'."""
    events = (Receive('r1', 1, D(10), D(10)),
        Receive('r2', 2, D(10), D(20)), Deliver('d', 3, D(12)),
        Count('c', 4, D(2)))
    valuation = run('fifo', *events)
    assert valuation.result('c')['inventory'] == D(40)
    assert valuation.result('c')['over_short'] == D(-40)
    valuation = run('fifo', *events[:3], Count('c', 4, D(-3)))
    assert valuation.result('c')['over_short'] == D(60)
    rules = dataclasses.replace(oracle.RULES, count_gain_cost='layer')
    valuation = run('lifo', Receive('r1', 1, D(10), D(10)),
        Receive('r2', 2, D(10), D(20)), Deliver('d', 3, D(12)),
        Count('c', 4, D(2)), rules=rules)
    # LIFO: the 12 took the 10 @ 20 then 2 @ 10; the last layer is r1.
    assert valuation.result('c')['inventory'] == D(20)


def test_supplier_return_beyond_receipt_undecided():
    """FIFO: 7 of 5 + 5 + 5 out leave 3 of the second receipt; without a
    rule for more, the model refuses it."""
    rules = dataclasses.replace(oracle.RULES,
        supplier_return_beyond_receipt=None)
    valuation = run('fifo', Receive('r1', 1, D(5), D(10)),
        Receive('r2', 2, D(5), D(12)), Receive('r3', 2, D(5), D(14)),
        Deliver('d', 3, D(7)), rules=rules)
    assert valuation.receipt_left('r2') == 3
    with pytest.raises(oracle.Undecided):
        valuation.add(SupplierReturn('s', 4, D(4), 'r2'))
    # Nothing was added.
    assert valuation.quantity() == 8
    valuation.add(SupplierReturn('s', 4, D(3), 'r2'))
    assert valuation.result('s')['stock_in'] == D(36)


def test_average_supplier_return_at_average():
    valuation = run('average', Receive('r1', 1, D(10), D(10)),
        Receive('r2', 2, D(10), D(16)), SupplierReturn('s', 3, D(3), 'r1'))
    # Out at the average (3 x 13), GRNI at the receipt's price (3 x 10).
    assert valuation.result('s')['inventory'] == D(-39)
    assert valuation.result('s')['stock_in'] == D(30)
    assert valuation.result('s')['variance'] == D(9)
    assert valuation.value() == D(221)
    check_balanced(valuation)


def test_customer_return_share_rules():
    "Delivery of 3 worth 10.00 returned 1 by 1."
    events = [Receive('r', 1, D(3), D('3.333')), Deliver('d', 2, D(3))]
    events += [CustomerReturn('c%s' % i, 3 + i, D(1), 'd')
        for i in range(3)]
    original = run('fifo', *events)
    assert [original.result('c%s' % i)['cogs'] for i in range(3)] == [
        D('-3.33')] * 3
    rules = dataclasses.replace(oracle.RULES, return_share='remaining')
    remaining = run('fifo', *events, rules=rules)
    assert [remaining.result('c%s' % i)['cogs'] for i in range(3)] == [
        D('-3.33'), D('-3.34'), D('-3.33')]
    with pytest.raises(oracle.OracleError):
        original.add(CustomerReturn('c9', 9, D(1), 'd'))


def test_back_dated_receipt_restates_average():
    """Average 10 @ 10 on day 10, 8 out on day 15, 10 @ 16 dated day 12:
    the delivery costs 13 a unit in the replay."""
    valuation = run('average', Receive('r1', 10, D(10), D(10)),
        Deliver('d', 15, D(8)), Receive('r2', 12, D(10), D(16)))
    assert valuation.result('d')['cogs'] == D(104)
    assert valuation.value() == D(156)
    check_balanced(valuation)


def test_standard_negative_stock_and_counts():
    valuation = run('fixed', Deliver('d', 1, D(3)),
        Receive('r', 2, D(5), D('7.5')), Count('c', 3, D(1)),
        initial_cost=D(7))
    assert valuation.result('d')['cogs'] == D(21)
    assert valuation.result('r')['variance'] == D('2.50')
    assert valuation.result('c')['over_short'] == D(-7)
    assert (valuation.quantity(), valuation.value()) == (3, D(21))
    check_balanced(valuation)


def test_supplier_return_beyond_receipt_method_order():
    """By default ('method_order'), 4 of a receipt with 3 left: the 3 (at
    12), then 1 in the FIFO order (the oldest open layer, at 14); GRNI at
    the receipt's price (4 x 12), the difference a price variance."""
    valuation = run('fifo', Receive('r1', 1, D(5), D(10)),
        Receive('r2', 2, D(5), D(12)), Receive('r3', 2, D(5), D(14)),
        Deliver('d', 3, D(7)), SupplierReturn('s', 4, D(4), 'r2'))
    assert valuation.result('s')['inventory'] == D(-50)
    assert valuation.result('s')['stock_in'] == D(48)
    assert valuation.result('s')['variance'] == D(2)
    assert (valuation.quantity(), valuation.value()) == (4, D(56))


def test_count_gain_next_issue():
    """LIFO 10 @ 10, 10 @ 20, 5 out, 2 found: by default at the layer the
    next issue takes, under 'average' at the average on hand."""
    events = (Receive('r1', 1, D(10), D(10)),
        Receive('r2', 2, D(10), D(20)), Deliver('d', 3, D(5)),
        Count('c', 4, D(2)))
    valuation = run('lifo', *events)
    # LIFO: the next issue takes the newest layer, 5 left of it at 20.
    assert valuation.result('c')['inventory'] == D(40)
    check_balanced(valuation)
    rules = dataclasses.replace(oracle.RULES, count_gain_cost='average')
    valuation = run('lifo', *events, rules=rules)
    # 15 on hand worth 200: 2 x 13.333...
    assert valuation.result('c')['inventory'] == D('26.67')


def test_average_landed_cost_on_a_back_dated_receipt():
    """Average: 2 @ 10.15 (day 3), 10 @ 15.76 (day 9), 8 out (day 9),
    10 @ 14.89 dated day 7, freight 0.80 on it: replayed in date order
    the receipt is worth 149.70, the 8 out 119.13, 14 left 208.47."""
    valuation = run('average', Receive('r1', 3, D(2), D('10.15')),
        Receive('r2', 9, D(10), D('15.76')), Deliver('d', 9, D(8)),
        Receive('r3', 7, D(10), D('14.89')),
        LandedCost('l', 9, 'r3', D('0.80')))
    assert valuation.result('d')['cogs'] == D('119.13')
    assert (valuation.quantity(), valuation.value()) == (14, D('208.47'))
    assert valuation.totals()['landed'] == D('-0.80')
    check_balanced(valuation)


def test_customer_return_of_a_delivery_into_negative_stock():
    """10 out before any receipt (at the initial cost 10), 1 @ 4 in: the
    return of 6 comes back at the delivery's trail, 10 a unit (the
    correction of the receipt is the receipt's, in cost of goods sold)."""
    valuation = run('fifo', Deliver('d', 1, D(10)),
        Receive('r', 2, D(1), D(4)), CustomerReturn('c', 3, D(6), 'd'),
        initial_cost=D(10))
    assert valuation.result('r')['cogs'] == D(-6)
    assert valuation.result('c')['cogs'] == D(-60)
    # 9 short at 10, then 6 back: 3 short worth 30.
    assert (valuation.quantity(), valuation.value()) == (-3, D(-30))
    check_balanced(valuation)
