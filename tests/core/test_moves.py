# This file is part of perpetual_inventory.  The COPYRIGHT file at the top
# level of this repository contains the full copyright notices and license
# terms.
"""Tests of core.moves: which costing event a done move is."""
from decimal import Decimal

import pytest

from core import costing, moves
from core.moves import MoveFact

D = Decimal


@pytest.mark.parametrize('from_type, to_type, expected', [
        ('supplier', 'storage', moves.IN_SUPPLIER),
        ('storage', 'supplier', moves.OUT_SUPPLIER),
        ('storage', 'customer', moves.OUT_CUSTOMER),
        ('customer', 'storage', moves.IN_CUSTOMER),
        ('lost_found', 'storage', moves.IN_LOST_FOUND),
        ('storage', 'lost_found', moves.OUT_LOST_FOUND),
        ('storage', 'storage', moves.TRANSFER),
        ('supplier', 'customer', None),
        ('view', 'storage', None),
        ])
def test_move_type(from_type, to_type, expected):
    assert moves.move_type(from_type, to_type) == expected


def test_events():
    receipt = moves.event(
        MoveFact(1, None, 'supplier', 'storage', D(10), D('2.5')))
    assert receipt == costing.Receipt(1, None, D(10), D('2.5'))
    delivery = moves.event(MoveFact(2, None, 'storage', 'customer', D(4)))
    assert delivery == costing.Delivery(2, None, D(4))
    trail = (costing.Consumption(1, D(4), D(10)),)
    back = moves.event(
        MoveFact(3, None, 'customer', 'storage', D(1), returned=2), trail)
    assert back == costing.CustomerReturn(3, None, D(1), 2, trail)
    # more than the delivery took: at the current cost
    assert moves.event(
        MoveFact(3, None, 'customer', 'storage', D(5), returned=2),
        trail) == costing.Adjustment(3, None, D(5))
    # no delivery to come back from: valued at the current cost
    assert moves.event(
        MoveFact(4, None, 'customer', 'storage', D(1))) == (
        costing.Adjustment(4, None, D(1)))
    assert moves.event(
        MoveFact(5, None, 'storage', 'supplier', D(2), returned=1)) == (
        costing.SupplierReturn(5, None, D(2), 1))
    assert moves.event(
        MoveFact(6, None, 'storage', 'lost_found', D(2))) == (
        costing.Adjustment(6, None, D(-2)))
    assert moves.event(MoveFact(7, None, 'storage', 'storage', D(2))) is None


def test_float_quantity_refused():
    with pytest.raises(costing.CostingError):
        moves.event(MoveFact(1, None, 'supplier', 'storage', 1.5, D(1)))
