# This file is part of perpetual_inventory.  The COPYRIGHT file at the top
# level of this repository contains the full copyright notices and license
# terms.
"""A done stock move as an event of the costing engine.

The one rule that says what a move is for the valuation: the models apply
it when a move is done, the audit when it replays the done moves. Neither
writes it again.

A move is described by a `MoveFact` (plain values, read from the ORM or
from SQL); `move_type` names it as account_stock_continental does, and
`event` returns the `costing` event it is, or None when the engine does not
value it (a transfer between storage locations keeps the company's value;
a move that does not touch storage is not stock).
"""
from decimal import Decimal
from typing import Any, Hashable, NamedTuple, Optional

from . import costing

IN_SUPPLIER = 'in_supplier'
OUT_SUPPLIER = 'out_supplier'
OUT_CUSTOMER = 'out_customer'
IN_CUSTOMER = 'in_customer'
IN_LOST_FOUND = 'in_lost_found'
OUT_LOST_FOUND = 'out_lost_found'
IN_PRODUCTION = 'in_production'
OUT_PRODUCTION = 'out_production'
TRANSFER = 'transfer'

# (from location type, to location type) -> move type; a drop location is
# treated as storage by continental for suppliers and customers only.
_TYPES = {
    ('supplier', 'storage'): IN_SUPPLIER,
    ('storage', 'supplier'): OUT_SUPPLIER,
    ('storage', 'customer'): OUT_CUSTOMER,
    ('customer', 'storage'): IN_CUSTOMER,
    ('lost_found', 'storage'): IN_LOST_FOUND,
    ('storage', 'lost_found'): OUT_LOST_FOUND,
    ('production', 'storage'): IN_PRODUCTION,
    ('storage', 'production'): OUT_PRODUCTION,
    ('storage', 'storage'): TRANSFER,
    }

# The counterpart of the inventory account per move type: the name of the
# accounting field of the product's category ("in" types debit the
# inventory account and credit the counterpart, "out" types the reverse).
COUNTERPART_ACCOUNTS = {
    IN_SUPPLIER: 'account_stock_in',  # goods received not invoiced
    OUT_SUPPLIER: 'account_stock_in',  # return to supplier
    OUT_CUSTOMER: 'account_cogs',  # cost of goods sold
    IN_CUSTOMER: 'account_cogs',  # customer return, at the original cost
    IN_LOST_FOUND: 'account_stock_over_short',  # count overage
    OUT_LOST_FOUND: 'account_stock_over_short',  # count shortage
    IN_PRODUCTION: 'account_stock_in',
    OUT_PRODUCTION: 'account_stock_out',
    }


class MoveFact(NamedTuple):
    """What the valuation needs of a done move.

    - ``ref``: the move's id (any hashable, unique).
    - ``date``: its effective date (copied to the layers).
    - ``from_type``, ``to_type``: the types of its locations.
    - ``quantity``: positive, in the product's default unit.
    - ``unit_price``: in the company's currency per default unit: the
      purchase price of a receipt; of a supplier return, the purchase
      price of the receipt it sends back (the returned move's unit price,
      its own when it has none); for a count overage the cost it is
      valued at, None for the engine's current cost.
    - ``returned``: the ref of the delivery a customer return comes back
      from, or of the receipt a supplier return sends back; None when no
      document links it.
    """
    ref: Hashable
    date: Any
    from_type: str
    to_type: str
    quantity: Decimal
    unit_price: Optional[Decimal] = None
    returned: Optional[Hashable] = None


def move_type(from_type, to_type):
    """Return the move type of a move between locations of those types.

    One of the module's constants (continental's names, plus TRANSFER), or
    None for a move the valuation ignores.
    """
    return _TYPES.get((from_type, to_type))


def event(fact, consumptions=()):
    """Return the costing event of a done move, or None.

    Args:
        fact: a MoveFact.
        consumptions: for a customer return linked to its delivery, the
            delivery's trail (its stored consumptions); ignored otherwise.

    Returns:
        A costing event, or None for a transfer or a move that is not
        valued.  A customer return is a `CustomerReturn` at its delivery's
        cost when it is linked and returns no more than the delivery's
        trail holds, else a count gain (`Adjustment`) at the current cost.
        A supplier return carries ``fact.unit_price`` (the receipt's
        purchase price) for the standard method's variance.
    """
    type_ = move_type(fact.from_type, fact.to_type)
    quantity = fact.quantity
    if not isinstance(quantity, Decimal):
        raise costing.CostingError(
            "move %r: quantity must be a Decimal" % (fact.ref,))
    if type_ in {IN_SUPPLIER, IN_PRODUCTION}:
        return costing.Receipt(
            fact.ref, fact.date, quantity, fact.unit_price or Decimal(0))
    if type_ in {OUT_CUSTOMER, OUT_PRODUCTION}:
        return costing.Delivery(fact.ref, fact.date, quantity)
    if type_ == IN_CUSTOMER:
        delivered = sum((c.quantity for c in consumptions), Decimal(0))
        # A return of more than its delivery took (a link by the heuristic,
        # or returned twice) has no cost to come back at.
        if (fact.returned is not None and consumptions
                and quantity <= delivered):
            return costing.CustomerReturn(
                fact.ref, fact.date, quantity, fact.returned,
                tuple(consumptions))
        # No delivery to come back from: at the current cost.
        return costing.Adjustment(fact.ref, fact.date, quantity)
    if type_ == OUT_SUPPLIER:
        # Under standard cost at the receipt's price (its variance
        # reversed); the other methods take the goods at their cost.
        return costing.SupplierReturn(
            fact.ref, fact.date, quantity, fact.returned, fact.unit_price)
    if type_ == IN_LOST_FOUND:
        return costing.Adjustment(
            fact.ref, fact.date, quantity, fact.unit_price)
    if type_ == OUT_LOST_FOUND:
        return costing.Adjustment(fact.ref, fact.date, -quantity)
    return None
