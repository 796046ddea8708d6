# This file is part of perpetual_inventory.  The COPYRIGHT file at the top
# level of this repository contains the full copyright notices and license
# terms.
"""An independent, cents-exact model of the valuation of one product.

Written from the rules of docs/costing.md ("Rounding rule", "Customer
return", "Supplier return"), docs/valuation.md and issue 25, without the
module's costing code: the random tests compare what the Tryton documents
post with what this model expects, so it must not share the module's
mistakes. Standard library only.

The model keeps the events in the order they were done and replays them in
date order (ties in the order they were done) every time it is asked for a
figure: a back-dated move restates the history as if it had been done in
date order, and the totals of the replay are what the ledger must hold
after the restatements.

Amounts are per account role, signed, a debit positive:

- ``inventory``: the product's inventory account;
- ``stock_in``: goods received not invoiced (receipts, supplier returns,
  continental's revaluation gains);
- ``stock_out``: continental's revaluation losses;
- ``cogs``, ``over_short``, ``variance``: the module's accounts;
- ``landed``: the landed-cost account, as the landed costs credit it (the
  freight invoices debit it by as much: it is then cleared).

The choices the module has not settled yet are the parameters below, each
named for its question; change them with ``dataclasses.replace(RULES, ...)``.
"""
import dataclasses
from decimal import ROUND_HALF_EVEN, Decimal
from typing import NamedTuple

CENT = Decimal('0.01')
ROLES = ('inventory', 'stock_in', 'stock_out', 'cogs', 'over_short',
    'variance', 'landed')
METHODS = ('fixed', 'average', 'fifo', 'lifo')


@dataclasses.dataclass(frozen=True)
class Rules:
    # FIFO/LIFO count overage: 'next_issue' is the documented rule
    # (docs/valuation.md and docs/costing.md, current_cost: the remaining
    # unit value of the layer the next issue would take, FIFO the oldest
    # open layer, LIFO the newest; with nothing on hand the last known
    # cost); 'average' values it at the average cost of what is on hand;
    # 'layer' at the unit cost of the layer the last outgoing goods came
    # from (the layer it restores).
    count_gain_cost: str = 'next_issue'
    # FIFO/LIFO return to the supplier of more than its receipt has left:
    # 'method_order' (documented, docs/costing.md "Supplier return") takes
    # what is left of the receipt, then the rest in the method's order;
    # None means undecided (the model raises Undecided).
    supplier_return_beyond_receipt: object = 'method_order'
    # A later partial return against the same document: 'original' is the
    # documented round(q x cost / quantity) of the whole document;
    # 'remaining' shares what is not returned yet (the last unit takes the
    # rest, so the document's whole cost comes back to the cent).
    return_share: str = 'original'
    # A landed cost (FIFO, LIFO, average): 'replay' adds it to the value of
    # its receipt and replays the history (the receipt as if it had cost
    # that from the start: what left since takes its share, in cost of goods
    # sold; docs/valuation.md, "restate ... through the replay"); 'layer'
    # splits it when it is posted by what is left of the receipt's quantity
    # (docs/costing.md, "Landed cost rule"; average: its quantity consumed
    # oldest first), the rest to cost of goods sold.
    landed_cost: str = 'replay'
    # A new standard cost: continental posts a gain against stock_in and a
    # loss against stock_out (account_stock_continental/product.py).
    revaluation_gain: str = 'stock_in'
    revaluation_loss: str = 'stock_out'


RULES = Rules()


class OracleError(ValueError):
    "The event is not valid in the state it meets (e.g. too many units)."


class Undecided(OracleError):
    "The event meets a case whose rule is not decided yet (see Rules)."


# Events: quantities are positive Decimals, money Decimals, dates anything
# comparable; ``ref`` names the event (unique).

class Receive(NamedTuple):
    ref: object
    date: object
    quantity: Decimal
    price: Decimal


class Deliver(NamedTuple):
    ref: object
    date: object
    quantity: Decimal


class CustomerReturn(NamedTuple):
    ref: object
    date: object
    quantity: Decimal
    delivery: object  # ref of a Deliver


class SupplierReturn(NamedTuple):
    ref: object
    date: object
    quantity: Decimal
    receipt: object  # ref of a Receive


class Count(NamedTuple):
    "A count difference: quantity > 0 found, < 0 lost."
    ref: object
    date: object
    quantity: Decimal


class CostChange(NamedTuple):
    ref: object
    date: object
    cost: Decimal


class LandedCost(NamedTuple):
    ref: object
    date: object
    receipt: object
    amount: Decimal


def cents(amount):
    return Decimal(amount).quantize(CENT, rounding=ROUND_HALF_EVEN)


def share(part, whole, value):
    "The value of part of a position: the whole quantity takes all of it."
    if part == whole:
        return value
    return cents(part * value / whole)


class _Layer:
    "An incoming quantity; its remaining value is used by FIFO/LIFO only."
    __slots__ = ('ref', 'kind', 'quantity', 'unit_cost', 'remaining',
        'value')

    def __init__(self, ref, kind, quantity, unit_cost, remaining, value):
        self.ref = ref
        self.kind = kind
        self.quantity = quantity
        self.unit_cost = unit_cost
        self.remaining = remaining
        self.value = value


class _Replay:
    "The state of one replay: layers or pool, shortfalls, account totals."

    def __init__(self, method, initial_cost, rules):
        self.method = method
        self.rules = rules
        self.layers = []          # creation order, open and closed
        self.shortfalls = []      # [quantity, value] both positive, oldest first
        self.pool_quantity = Decimal(0)   # average and standard
        self.pool_value = Decimal(0)
        self.standard = initial_cost if method == 'fixed' else None
        self.last_cost = initial_cost
        self.last_consumed_cost = None
        self.totals = dict.fromkeys(ROLES, Decimal(0))
        self.costs = {}           # delivery / count ref -> (quantity, cost)
        self.returned = {}        # document ref -> [quantity, value] left
        self.receipts = {}        # receipt ref -> (quantity, purchase value)
        self.results = {}         # event ref -> {role: amount}
        self.landed = {}          # receipt ref -> landed costs (replay rule)

    # Positions ----------------------------------------------------------

    def quantity(self):
        if self.method in ('fifo', 'lifo'):
            return (sum((l.remaining for l in self.layers), Decimal(0))
                - sum((s[0] for s in self.shortfalls), Decimal(0)))
        return self.pool_quantity

    def value(self):
        if self.method in ('fifo', 'lifo'):
            return (sum((l.value for l in self.layers if l.remaining),
                    Decimal(0))
                - sum((s[1] for s in self.shortfalls), Decimal(0)))
        if self.method == 'fixed':
            return cents(self.pool_quantity * self.standard)
        return self.pool_value

    def _open(self):
        "The open layers in the order goods leave them."
        layers = [l for l in self.layers if l.remaining > 0]
        if self.method == 'lifo':
            layers.reverse()
        return layers

    def _post(self, ref, **amounts):
        result = self.results.setdefault(ref, dict.fromkeys(ROLES,
                Decimal(0)))
        for role, amount in amounts.items():
            self.totals[role] += amount
            result[role] += amount
        assert sum(result.values()) == 0, (ref, result)

    # Outgoing -----------------------------------------------------------

    def _take(self, quantity, layer=None):
        """Take quantity out of stock; return its cost.

        layer: the layer to take from first (supplier returns).
        """
        on_hand = self.quantity()
        taken = min(quantity, max(on_hand, Decimal(0)))
        shortfall = quantity - taken
        if self.method == 'fixed':
            before = self.value()
            self._consume_quantities(taken, layer)
            self.pool_quantity -= quantity
            self._add_shortfall(shortfall, Decimal(0))
            return before - self.value()
        if self.method == 'average':
            if self.pool_quantity > 0:
                self.last_cost = self.pool_value / self.pool_quantity
            if not taken:
                cost = Decimal(0)
            elif taken == self.pool_quantity:
                cost = self.pool_value
            else:
                cost = cents(taken * self.pool_value / self.pool_quantity)
            self._consume_quantities(taken, layer)
            self.pool_quantity -= taken
            self.pool_value -= cost
            provisional = cents(shortfall * self.last_cost)
            self.pool_quantity -= shortfall
            self.pool_value -= provisional
            self._add_shortfall(shortfall, provisional)
            return cost + provisional
        cost = Decimal(0)
        order = self._open()
        if layer is not None:
            order.remove(layer)
            order.insert(0, layer)
        left = taken
        for open_layer in order:
            if not left:
                break
            part = min(left, open_layer.remaining)
            value = share(part, open_layer.remaining, open_layer.value)
            open_layer.remaining -= part
            open_layer.value -= value
            cost += value
            left -= part
            self.last_consumed_cost = open_layer.unit_cost
        provisional = cents(shortfall * self.last_cost)
        self._add_shortfall(shortfall, provisional)
        return cost + provisional

    def _consume_quantities(self, quantity, layer):
        "Track which layers the goods leave (pooled methods), oldest first."
        order = [l for l in self.layers if l.remaining > 0]
        if layer is not None:
            order.remove(layer)
            order.insert(0, layer)
        for open_layer in order:
            if not quantity:
                break
            part = min(quantity, open_layer.remaining)
            open_layer.remaining -= part
            quantity -= part

    def _add_shortfall(self, quantity, value):
        if quantity:
            self.shortfalls.append([quantity, value])

    # Incoming -----------------------------------------------------------

    def _bring(self, ref, kind, quantity, value, unit_cost):
        """Put quantity worth value into stock; return the correction of
        the shortfalls it fills (actual minus provisional, to COGS)."""
        correction = Decimal(0)
        left, left_value = quantity, value
        while left and self.shortfalls:
            short = self.shortfalls[0]
            part = min(left, short[0])
            actual = share(part, left, left_value)
            provisional = share(part, short[0], short[1])
            short[0] -= part
            short[1] -= provisional
            if not short[0]:
                self.shortfalls.pop(0)
            left -= part
            left_value -= actual
            if self.method != 'fixed':
                correction += actual - provisional
        if self.method == 'fixed':
            self.pool_quantity += quantity
        elif self.method == 'average':
            # The filled shortfall leaves the pool at its provisional
            # value; the rest comes in at its own value.
            self.pool_quantity += quantity
            self.pool_value += value - correction
        self.layers.append(_Layer(ref, kind, quantity, unit_cost, left,
                left_value))
        if self.method == 'average':
            # The last average, or the cost of what came in when the
            # stock stayed at or below zero.
            self.last_cost = (self.pool_value / self.pool_quantity
                if self.pool_quantity > 0 else unit_cost)
        elif self.method in ('fifo', 'lifo'):
            self.last_cost = unit_cost
        return correction

    def _current_cost(self):
        "The cost a count gain comes in at."
        if self.method == 'fixed':
            return self.standard
        if self.method in ('fifo', 'lifo'):
            rule = self.rules.count_gain_cost
            if rule == 'layer' and self.last_consumed_cost is not None:
                return self.last_consumed_cost
            if rule == 'next_issue':
                layers = self._open()
                if layers:
                    return layers[0].value / layers[0].remaining
                return self.last_cost
        quantity, value = self.quantity(), self.value()
        if quantity > 0:
            return value / quantity
        return self.last_cost

    # Events -------------------------------------------------------------

    def apply(self, event):
        handler = getattr(self, '_' + type(event).__name__.lower())
        handler(event)

    def _receive(self, event):
        before = self.value()
        value = cents(event.quantity * event.price)
        self.receipts[event.ref] = (event.quantity, value, event.price)
        self.returned[event.ref] = [event.quantity, value]
        if self.method == 'fixed':
            self._bring(event.ref, 'receipt', event.quantity,
                cents(event.quantity * self.standard), self.standard)
            inventory = self.value() - before
            self._post(event.ref, inventory=inventory, stock_in=-value,
                variance=value - inventory)
            return
        landed = self.landed.get(event.ref, Decimal(0))
        # Replayed with its landed costs, the receipt costs them from the
        # start: its unit cost is the last known cost of negative stock.
        correction = self._bring(event.ref, 'receipt', event.quantity,
            value + landed, (value + landed) / event.quantity)
        self._post(event.ref, inventory=value + landed - correction,
            cogs=correction, stock_in=-value, landed=-landed)

    def _deliver(self, event):
        cost = self._take(event.quantity)
        self.costs[event.ref] = (event.quantity, cost)
        self.returned[event.ref] = [event.quantity, cost]
        self._post(event.ref, inventory=-cost, cogs=cost)

    def _returned_share(self, document, quantity, whole):
        "The value a return of quantity takes from its document."
        left = self.returned[document]
        if quantity > left[0]:
            raise OracleError("%s: %s returned, %s left of %s" % (
                    document, quantity, left[0], document))
        if self.rules.return_share == 'remaining':
            value = share(quantity, left[0], left[1])
        else:
            value = share(quantity, whole[0], whole[1])
        left[0] -= quantity
        left[1] -= value
        return value

    def _customerreturn(self, event):
        if event.delivery not in self.costs:
            raise OracleError("%s: no delivery %s" % (
                    event.ref, event.delivery))
        delivered = self.costs[event.delivery]
        value = self._returned_share(event.delivery, event.quantity,
            delivered)
        before = self.value()
        unit_cost = delivered[1] / delivered[0]
        if self.method == 'fixed':
            self._bring(event.ref, 'customer_return', event.quantity,
                cents(event.quantity * self.standard), self.standard)
            inventory = self.value() - before
            self._post(event.ref, inventory=inventory, cogs=-value,
                variance=value - inventory)
            return
        correction = self._bring(event.ref, 'customer_return',
            event.quantity, value, unit_cost)
        self._post(event.ref, inventory=value - correction,
            cogs=correction - value)

    def _supplierreturn(self, event):
        layer = next((l for l in self.layers
                if l.ref == event.receipt and l.kind == 'receipt'), None)
        if layer is None:
            raise OracleError("%s: no receipt %s" % (
                    event.ref, event.receipt))
        if event.quantity > self.quantity():
            raise OracleError("%s: %s returned, %s on hand" % (
                    event.ref, event.quantity, self.quantity()))
        if self.method in ('fifo', 'lifo'):
            if event.quantity > layer.remaining:
                rule = self.rules.supplier_return_beyond_receipt
                if rule is None:
                    raise Undecided("%s: %s returned, %s left of %s" % (
                            event.ref, event.quantity, layer.remaining,
                            event.receipt))
                if rule != 'method_order':
                    raise Undecided("rule %r not modelled" % rule)
            cost = self._take(event.quantity,
                layer if layer.remaining else None)
        else:
            cost = self._take(event.quantity, layer)
        # Whatever the method, goods received not invoiced is debited at
        # the purchase price of the receipt (what the supplier's credit
        # note clears) and the difference from the cost the goods leave at
        # is a price variance (docs/costing.md, "Supplier return";
        # docs/valuation.md); under standard the receipt's variance is
        # reversed.
        quantity, value, price = self.receipts[event.receipt]
        self._returned_share(event.receipt, event.quantity,
            (quantity, value))
        purchase = cents(event.quantity * price)
        self._post(event.ref, inventory=-cost, stock_in=purchase,
            variance=cost - purchase)

    def _count(self, event):
        if event.quantity < 0:
            cost = self._take(-event.quantity)
            self.costs[event.ref] = (-event.quantity, cost)
            self._post(event.ref, inventory=-cost, over_short=cost)
            return
        if not event.quantity:
            return
        unit_cost = self._current_cost()
        value = cents(event.quantity * unit_cost)
        before = self.value()
        if self.method == 'fixed':
            self._bring(event.ref, 'adjustment', event.quantity, value,
                unit_cost)
            self._post(event.ref, inventory=self.value() - before,
                over_short=-value)
            return
        correction = self._bring(event.ref, 'adjustment', event.quantity,
            value, unit_cost)
        self._post(event.ref, inventory=value - correction,
            cogs=correction, over_short=-value)

    def _costchange(self, event):
        if self.method != 'fixed':
            raise OracleError("%s: a cost change under %s" % (
                    event.ref, self.method))
        before = self.value()
        self.standard = event.cost
        self.last_cost = event.cost
        change = self.value() - before
        account = (self.rules.revaluation_gain if change > 0
            else self.rules.revaluation_loss)
        self._post(event.ref, inventory=change, **{account: -change})

    def _landedcost(self, event):
        layer = next((l for l in self.layers
                if l.ref == event.receipt and l.kind == 'receipt'), None)
        if layer is None:
            raise OracleError("%s: no receipt %s" % (
                    event.ref, event.receipt))
        if self.method == 'fixed':
            # The inventory stays at standard: all of it is a variance.
            self._post(event.ref, variance=event.amount,
                landed=-event.amount)
            return
        if self.rules.landed_cost == 'replay':
            return  # in the value of its receipt (see Valuation.replay)
        on_hand = share(layer.remaining, layer.quantity, event.amount)
        if self.method == 'average':
            self.pool_value += on_hand
            if self.pool_quantity > 0:
                self.last_cost = self.pool_value / self.pool_quantity
        else:
            layer.value += on_hand
        self._post(event.ref, inventory=on_hand,
            cogs=event.amount - on_hand, landed=-event.amount)


class Valuation:
    """The expected valuation of one product under one costing method.

    initial_cost: the product's cost price before its first move (the
    standard under 'fixed', the last known cost of negative stock under
    the others).
    """

    def __init__(self, method, initial_cost, rules=RULES):
        if method not in METHODS:
            raise OracleError("unknown method %r" % method)
        self.method = method
        self.initial_cost = Decimal(initial_cost)
        self.rules = rules
        self.events = []

    def replay(self, events=None):
        "Return the replay of the events (default: the ones added)."
        events = self.events if events is None else events
        refs = [e.ref for e in events]
        if len(set(refs)) != len(refs):
            raise OracleError("duplicate refs")
        order = sorted(range(len(events)),
            key=lambda i: (events[i].date, i))
        replay = _Replay(self.method, self.initial_cost, self.rules)
        if self.rules.landed_cost == 'replay':
            for event in events:
                if isinstance(event, LandedCost):
                    replay.landed[event.receipt] = replay.landed.get(
                        event.receipt, Decimal(0)) + event.amount
        for i in order:
            replay.apply(events[i])
        return replay

    def add(self, event):
        """Add an event done now; raise OracleError (nothing added) when it
        is not valid in the replayed history."""
        self.replay(self.events + [event])
        self.events.append(event)

    # Figures of the replay -------------------------------------------

    def quantity(self):
        return self.replay().quantity()

    def value(self):
        return self.replay().value()

    def totals(self):
        "Return the amount of each account role (debit positive)."
        return dict(self.replay().totals)

    def result(self, ref):
        "Return the amounts of one event in the replay."
        return dict(self.replay().results[ref])

    def left_to_return(self, ref):
        "Return the quantity of a delivery or receipt not returned yet."
        return self.replay().returned[ref][0]

    def receipt_left(self, ref):
        "Return the quantity still in the layer of a receipt."
        for layer in self.replay().layers:
            if layer.ref == ref and layer.kind == 'receipt':
                return layer.remaining
        raise OracleError("no receipt %s" % ref)
