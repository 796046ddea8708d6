# This file is part of perpetual_inventory.  The COPYRIGHT file at the top
# level of this repository contains the full copyright notices and license
# terms.
"""Cost layers: FIFO, LIFO, moving average and standard cost.

Pure functions over immutable values, no Tryton import.  A product's
valuation is a `State`; every stock event (`Receipt`, `Delivery`,
`CustomerReturn`, `SupplierReturn`, `Adjustment`, `LandedCost`,
`CostChange`) goes through `apply(state, event)`, which returns a new state
and a `Result` holding the amounts to post and the audit trail.  Nothing is
mutated: layers are replaced with ``layer._replace(...)`` like beancount's
booking does with postings.

Every `Result` satisfies ``value == inventory + variance + adjustment``
exactly, every amount is quantized to ``state.precision``, and the sum of
``inventory`` over all results equals ``state.value``.  See docs/costing.md.
"""
from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Context, Decimal
from typing import Any, Hashable, NamedTuple, Optional, Tuple

FIFO = 'fifo'
LIFO = 'lifo'
AVERAGE = 'average'
STANDARD = 'standard'
METHODS = (FIFO, LIFO, AVERAGE, STANDARD)
# Tryton calls the standard cost method "fixed".
METHOD_ALIASES = {'fixed': STANDARD}
# Under these methods the value is one pool (State.value); layers only track
# quantities.
POOLED_METHODS = (AVERAGE, STANDARD)

# Layer kinds
RECEIPT = 'receipt'
CUSTOMER_RETURN = 'customer_return'
ADJUSTMENT = 'adjustment'
SHORTFALL = 'shortfall'

DEFAULT_PRECISION = Decimal('0.01')
ZERO = Decimal(0)

# Independent of the caller's decimal context (precision, traps, rounding).
_CONTEXT = Context(prec=34, rounding=ROUND_HALF_EVEN)


class CostingError(ValueError):
    "Bad input to the costing core."


class LayerError(CostingError):
    "A referenced layer is missing or cannot give what is asked."


class Layer(NamedTuple):
    """A valued quantity that entered (or, for a shortfall, left) the stock.

    ``quantity``/``value`` are what the creating event brought in;
    ``remaining_quantity``/``remaining_value`` what is still in stock.  A
    shortfall (negative stock) is a layer with negative quantities.  Under
    the pooled methods (average, standard) ``remaining_value`` is None: the
    value is pooled in `State.value` and layers only track quantities,
    consumed oldest first, to share landed costs.
    """
    ref: Hashable
    date: Any
    kind: str
    quantity: Decimal
    unit_cost: Decimal
    value: Decimal
    remaining_quantity: Decimal
    remaining_value: Optional[Decimal]


class Consumption(NamedTuple):
    """One line of an outgoing event's trail: what came from which layer.

    ``provisional`` marks the part of a delivery taken beyond the stock on
    hand (negative stock): ``layer_ref`` is then the shortfall layer created
    by the delivery itself and ``value`` is at the last known cost.
    """
    layer_ref: Hashable
    quantity: Decimal
    value: Decimal
    provisional: bool = False

    @property
    def unit_cost(self):
        "Return value / quantity (not rounded)."
        return _CONTEXT.divide(self.value, self.quantity)


class Settlement(NamedTuple):
    """Part of an incoming event that filled a shortfall (negative stock).

    ``provisional_value`` is what the shortfall was valued at when the goods
    went out; ``actual_value`` is the same quantity at the incoming cost.
    """
    shortfall_ref: Hashable
    quantity: Decimal
    provisional_value: Decimal
    actual_value: Decimal

    @property
    def correction(self):
        "Return actual_value - provisional_value, the amount to post to COGS."
        return self.actual_value - self.provisional_value


class State(NamedTuple):
    """The valuation of one product (per company/warehouse as the caller
    decides).

    ``layers`` holds the open layers (``remaining_quantity != 0``) in
    creation order.  ``quantity``/``value`` are the on-hand totals (negative
    under negative stock).  ``last_cost`` values a shortfall; under standard
    cost ``standard_cost`` is the cost.  Build the first one with
    `initial_state`.
    """
    method: str
    precision: Decimal = DEFAULT_PRECISION
    quantity: Decimal = ZERO
    value: Decimal = ZERO
    layers: Tuple[Layer, ...] = ()
    standard_cost: Optional[Decimal] = None
    last_cost: Decimal = ZERO


# Events -----------------------------------------------------------------
# ``ref`` identifies the move (opaque, hashable, unique per event); ``date``
# is stored on the layers and never compared.

class Receipt(NamedTuple):
    "Goods bought: ``quantity`` at ``unit_cost`` (purchase price)."
    ref: Hashable
    date: Any
    quantity: Decimal
    unit_cost: Decimal


class Delivery(NamedTuple):
    "Goods out (customer delivery, production issue): ``quantity``."
    ref: Hashable
    date: Any
    quantity: Decimal


class CustomerReturn(NamedTuple):
    """Goods back from a customer, valued at the original delivery's cost.

    ``consumptions`` is the trail of the original delivery (its
    `Result.consumptions`, as stored by the caller).  `replay` replaces it
    with the replayed delivery's trail when ``delivery_ref`` was replayed.
    """
    ref: Hashable
    date: Any
    quantity: Decimal
    delivery_ref: Hashable
    consumptions: Tuple[Consumption, ...] = ()


class SupplierReturn(NamedTuple):
    """Goods sent back to the supplier of the receipt layer ``layer_ref``.

    ``layer_ref`` may be None (no receipt known): the goods then leave in
    the method's order.  ``unit_cost`` is the purchase price of the
    returned goods (the receipt's unit price): when given, the counterpart
    is at it and the difference to the cost the goods leave at is a
    variance (under standard cost, the receipt's own reversed).
    """
    ref: Hashable
    date: Any
    quantity: Decimal
    layer_ref: Hashable
    unit_cost: Optional[Decimal] = None


class Adjustment(NamedTuple):
    """Inventory count difference: ``quantity`` is signed.

    A gain is valued at ``unit_cost`` or, when None, at `current_cost`; a
    loss consumes like a delivery.
    """
    ref: Hashable
    date: Any
    quantity: Decimal
    unit_cost: Optional[Decimal] = None


class LandedCost(NamedTuple):
    "Freight, duty, ... ``amount`` added to the receipt layer ``layer_ref``."
    ref: Hashable
    date: Any
    layer_ref: Hashable
    amount: Decimal


class CostChange(NamedTuple):
    "New unit cost (standard cost; or revaluation of an average)."
    ref: Hashable
    date: Any
    unit_cost: Decimal


class Result(NamedTuple):
    """What an event did, in signed amounts (positive: into the stock).

    ``value == inventory + variance + adjustment`` always:

    - ``value``: the counterpart amount (receipt at purchase price, minus
      the cost of a delivery, landed cost amount, revaluation, ...).
    - ``inventory``: change of the on-hand value (``State.value``).
    - ``variance``: standard cost only, purchase price variance.
    - ``adjustment``: to post to COGS: negative stock correction, landed
      cost of goods already gone.
    """
    event: Any
    quantity: Decimal
    value: Decimal
    inventory: Decimal
    variance: Decimal = ZERO
    adjustment: Decimal = ZERO
    consumptions: Tuple[Consumption, ...] = ()
    settlements: Tuple[Settlement, ...] = ()
    layers: Tuple[Layer, ...] = ()

    @property
    def cost(self):
        "Return the value of the goods taken out (sum of the consumptions)."
        return sum((c.value for c in self.consumptions), ZERO)

    @property
    def revaluation(self):
        "Return the revaluation of a CostChange (its value), else zero."
        return self.value if isinstance(self.event, CostChange) else ZERO

    @property
    def correction(self):
        "Return the negative stock correction (sum of the settlements)."
        return sum((s.correction for s in self.settlements), ZERO)


class Difference(NamedTuple):
    "New minus old amounts of one event ref between two replays."
    ref: Hashable
    quantity: Decimal
    value: Decimal
    inventory: Decimal
    variance: Decimal
    adjustment: Decimal


# Construction and valuation helpers -------------------------------------

def normalize_method(method):
    """Return the canonical costing method name.

    Args:
        method: 'fifo', 'lifo', 'average', 'standard' (or Tryton's 'fixed').

    Returns:
        One of METHODS.
    """
    method = METHOD_ALIASES.get(method, method)
    if method not in METHODS:
        raise CostingError(
            "unknown costing method %r, expected one of %s"
            % (method, ', '.join(METHODS)))
    return method


def initial_state(
        method, *, standard_cost=None, last_cost=None,
        precision=DEFAULT_PRECISION):
    """Return the state of a product with no stock and no history.

    Args:
        method: the costing method (see `normalize_method`).
        standard_cost: the standard cost, required for 'standard'.
        last_cost: the cost of negative stock before anything is known
            (default zero).
        precision: the currency precision every amount is quantized to,
            e.g. Decimal('0.01').

    Returns:
        A new State.
    """
    method = normalize_method(method)
    precision = _precision(precision)
    if method == STANDARD:
        if standard_cost is None:
            raise CostingError("the standard method needs a standard_cost")
        standard_cost = _cost(standard_cost, 'standard_cost')
        last_cost = standard_cost
    elif standard_cost is not None:
        raise CostingError(
            "standard_cost is only for the standard method, not %s" % method)
    last_cost = ZERO if last_cost is None else _cost(last_cost, 'last_cost')
    return State(
        method=method, precision=precision, standard_cost=standard_cost,
        last_cost=last_cost)


def on_hand_quantity(state):
    "Return the on-hand quantity of state (negative under negative stock)."
    return state.quantity


def on_hand_value(state):
    "Return the on-hand value of state (negative under negative stock)."
    return state.value


def average_cost(state):
    """Return the average unit cost of what is on hand.

    Args:
        state: a State.

    Returns:
        value / quantity (not rounded), or None when the quantity is zero.
    """
    if not state.quantity:
        return None
    return _CONTEXT.divide(state.value, state.quantity)


def current_cost(state):
    """Return the unit cost a gain found at a count is valued at.

    Args:
        state: a State.

    Returns:
        The standard cost; under FIFO and LIFO the remaining unit cost of
        the layer the next issue takes (the oldest, the newest open one),
        which the goods found join; under average the average cost of the
        stock on hand; else (nothing on hand) the last known cost.
    """
    if state.method == STANDARD:
        return state.standard_cost
    if state.quantity > 0:
        if state.method in (FIFO, LIFO):
            layers = [l for l in state.layers if l.remaining_quantity > 0]
            layer = layers[0] if state.method == FIFO else layers[-1]
            return _CONTEXT.divide(
                layer.remaining_value, layer.remaining_quantity)
        return average_cost(state)
    return state.last_cost


def check_state(state):
    """Raise CostingError when state is not consistent; return it otherwise.

    Useful on a State rebuilt from stored layers.

    Args:
        state: a State.

    Returns:
        state.
    """
    method = normalize_method(state.method)
    if method != state.method:
        raise CostingError("state method must be %r" % method)
    q = sum((l.remaining_quantity for l in state.layers), ZERO)
    if q != state.quantity:
        raise CostingError(
            "layers hold %s but the state quantity is %s"
            % (q, state.quantity))
    if any(not l.remaining_quantity for l in state.layers):
        raise CostingError("closed layers must not be in the state")
    if (any(l.remaining_quantity > 0 for l in state.layers)
            and any(l.remaining_quantity < 0 for l in state.layers)):
        raise CostingError("shortfall and stock layers at the same time")
    if not state.quantity and state.value:
        raise CostingError("value %s without quantity" % state.value)
    if method in POOLED_METHODS:
        if any(l.remaining_value is not None for l in state.layers):
            raise CostingError(
                "layers of the %s method have no remaining value" % method)
    else:
        v = sum((l.remaining_value for l in state.layers), ZERO)
        if v != state.value:
            raise CostingError(
                "layers hold %s but the state value is %s" % (v, state.value))
    if method == STANDARD and state.value != _round(
            state.quantity * state.standard_cost, state.precision):
        raise CostingError("standard value is not quantity x standard cost")
    return state


# Events -----------------------------------------------------------------

def apply(state, event):
    """Apply one stock event to a product's valuation.

    Args:
        state: the State before the event.
        event: a Receipt, Delivery, CustomerReturn, SupplierReturn,
            Adjustment, LandedCost or CostChange.

    Returns:
        (new State, Result).
    """
    for klass in type(event).__mro__:
        if klass in _HANDLERS:
            return _HANDLERS[klass](state, event)
    raise CostingError("unknown event %r" % (event,))


def replay(
        method, events, *, state=None, standard_cost=None, last_cost=None,
        precision=DEFAULT_PRECISION):
    """Apply events in the given order from a state and return all results.

    A customer return whose ``delivery_ref`` is a delivery (or count loss)
    of this replay is valued with the replayed trail, so a back-dated
    receipt flows through deliveries into their returns.

    Args:
        method: the costing method.
        events: the events, in booking order (the caller sorts them).
        state: the State to start from (a snapshot before the first event);
            when None, `initial_state(method, standard_cost=...,
            last_cost=..., precision=...)`.
        standard_cost, last_cost, precision: see `initial_state`.

    Returns:
        (final State, tuple of Result, one per event).
    """
    if state is None:
        state = initial_state(
            method, standard_cost=standard_cost, last_cost=last_cost,
            precision=precision)
    elif normalize_method(method) != state.method:
        raise CostingError(
            "replay of %s on a %s state" % (method, state.method))
    trails = {}
    results = []
    for event in events:
        if (isinstance(event, CustomerReturn)
                and event.delivery_ref in trails):
            event = event._replace(consumptions=trails[event.delivery_ref])
        state, result = apply(state, event)
        if result.consumptions and isinstance(event, (Delivery, Adjustment)):
            trails[event.ref] = result.consumptions
        results.append(result)
    return state, tuple(results)


def replay_differences(old_results, new_results):
    """Return what changed per event ref between two replays.

    Results of the same ref are added up; a ref in one replay only counts
    as zero in the other.  Post each difference as a revaluation.

    Args:
        old_results: the results as posted.
        new_results: the results of the corrected replay.

    Returns:
        A tuple of Difference (new minus old), only those not all zero,
        ordered by first appearance in new_results then old_results.
    """
    fields = ('quantity', 'value', 'inventory', 'variance', 'adjustment')
    totals = {}

    def add(results, sign):
        for result in results:
            row = totals.setdefault(result.event.ref, [ZERO] * len(fields))
            for i, name in enumerate(fields):
                row[i] += sign * getattr(result, name)
    add(new_results, 1)
    add(old_results, -1)
    return tuple(
        Difference(ref, *row) for ref, row in totals.items() if any(row))


def _receipt(state, event):
    q = _quantity(event.quantity)
    unit_cost = _cost(event.unit_cost, 'unit_cost')
    value = _round(q * unit_cost, state.precision)
    return _incoming(state, event, RECEIPT, q, unit_cost, value)


def _delivery(state, event):
    q = _quantity(event.quantity)
    return _outgoing(state, event, q)


def _customer_return(state, event):
    q = _quantity(event.quantity)
    if not event.consumptions:
        raise CostingError(
            "customer return %r needs the consumptions of delivery %r"
            % (event.ref, event.delivery_ref))
    delivered = sum((c.quantity for c in event.consumptions), ZERO)
    cost = sum((c.value for c in event.consumptions), ZERO)
    if q > delivered:
        raise CostingError(
            "customer return %r of %s exceeds the %s delivered by %r"
            % (event.ref, q, delivered, event.delivery_ref))
    value = _share(q, delivered, cost, state.precision)
    unit_cost = _CONTEXT.divide(cost, delivered)
    return _incoming(state, event, CUSTOMER_RETURN, q, unit_cost, value)


def _adjustment(state, event):
    q = _decimal(event.quantity, 'quantity')
    if q < 0:
        return _outgoing(state, event, -q)
    if event.unit_cost is None:
        unit_cost = current_cost(state)
    else:
        unit_cost = _cost(event.unit_cost, 'unit_cost')
    if not q:
        return state, Result(event, ZERO, ZERO, ZERO)
    value = _round(q * unit_cost, state.precision)
    return _incoming(state, event, ADJUSTMENT, q, unit_cost, value)


def _supplier_return(state, event):
    q = _quantity(event.quantity)
    if q > state.quantity:
        raise CostingError(
            "supplier return %r of %s exceeds the %s on hand"
            % (event.ref, q, state.quantity))
    index = _find(state.layers, event.layer_ref)
    # The returned goods come from their receipt's layer first (what is
    # left of it); the rest in the method's order (the pooled methods
    # track their quantities oldest first).
    order = list(range(len(state.layers)))
    if state.method == LIFO:
        order.reverse()
    if index is not None:
        order.remove(index)
        order.insert(0, index)
    if state.method in POOLED_METHODS:
        state, result = _pooled_out(state, event, q, order)
    else:
        state, result = _layered_out(state, event, q, order)
    if event.unit_cost is not None:
        # At the purchase price to the counterpart (the supplier's credit
        # note clears it), at cost out of the stock: the difference is a
        # price variance (under standard, the receipt's reversed).
        value = -_round(q * _cost(event.unit_cost, 'unit_cost'),
            state.precision)
        result = result._replace(
            value=value, variance=value - result.inventory)
    return state, result


def _landed_cost(state, event):
    amount = _decimal(event.amount, 'amount')
    if amount != _round(amount, state.precision):
        raise CostingError(
            "landed cost amount %s is not rounded to %s"
            % (amount, state.precision))
    if state.method == STANDARD:
        # Inventory stays at standard: the whole amount is a variance.
        return state, Result(
            event, ZERO, amount, ZERO, variance=amount)
    index = _find(state.layers, event.layer_ref)
    if index is None:
        # The layer is closed: every unit is gone, so is the landed cost.
        return state, Result(event, ZERO, amount, ZERO, adjustment=amount)
    layer = state.layers[index]
    if layer.remaining_quantity < 0:
        raise LayerError(
            "landed cost %r on shortfall %r" % (event.ref, layer.ref))
    on_hand = _share(
        layer.remaining_quantity, layer.quantity, amount, state.precision)
    if layer.remaining_value is not None:
        remaining_value = layer.remaining_value + on_hand
        if remaining_value < 0:
            raise CostingError(
                "landed cost %r makes layer %r worth %s"
                % (event.ref, layer.ref, remaining_value))
    else:
        remaining_value = None
    new_value = state.value + on_hand
    if new_value < 0:
        raise CostingError(
            "landed cost %r makes the stock worth %s" % (event.ref, new_value))
    layer = layer._replace(
        value=layer.value + amount, remaining_value=remaining_value)
    state = state._replace(
        value=new_value, layers=_put(state.layers, index, layer))
    state = _update_average(state)
    return state, Result(
        event, ZERO, amount, on_hand, adjustment=amount - on_hand,
        layers=(layer,))


def _cost_change(state, event):
    if state.method not in POOLED_METHODS:
        raise CostingError(
            "cost change %r: a %s cost follows its layers, it cannot be set"
            % (event.ref, state.method))
    unit_cost = _cost(event.unit_cost, 'unit_cost')
    new_value = _round(state.quantity * unit_cost, state.precision)
    revaluation = new_value - state.value
    changes = dict(value=new_value, last_cost=unit_cost)
    if state.method == STANDARD:
        changes['standard_cost'] = unit_cost
    state = state._replace(**changes)
    return state, Result(event, ZERO, revaluation, revaluation)


_HANDLERS = {
    Receipt: _receipt,
    Delivery: _delivery,
    CustomerReturn: _customer_return,
    SupplierReturn: _supplier_return,
    Adjustment: _adjustment,
    LandedCost: _landed_cost,
    CostChange: _cost_change,
    }


# Incoming and outgoing --------------------------------------------------

def _incoming(state, event, kind, q, unit_cost, value):
    """Return (state, Result) for q units worth value coming in.

    Shortfalls (negative stock) are filled first, oldest first; the
    difference between the incoming cost and their provisional value is the
    adjustment.
    """
    precision = state.precision
    layers = list(state.layers)
    changed = []
    settlements = []
    left_q, left_v = q, value
    if state.quantity < 0:
        # The provisional value of a pooled shortfall is its share of the
        # pool; of a layered one, its share of its own remaining value.
        pool_q, pool_v = -state.quantity, -state.value
        for i, layer in enumerate(layers):
            if not left_q:
                break
            if layer.remaining_quantity >= 0:
                continue
            k = min(-layer.remaining_quantity, left_q)
            actual = _share(k, left_q, left_v, precision)
            if layer.remaining_value is None:
                provisional = _share(k, pool_q, pool_v, precision)
                pool_q -= k
                pool_v -= provisional
                remaining_value = None
            else:
                provisional = _share(
                    k, -layer.remaining_quantity, -layer.remaining_value,
                    precision)
                remaining_value = layer.remaining_value + provisional
            left_q -= k
            left_v -= actual
            layers[i] = layer._replace(
                remaining_quantity=layer.remaining_quantity + k,
                remaining_value=remaining_value)
            changed.append(layers[i])
            settlements.append(
                Settlement(layer.ref, k, provisional, actual))
    new_quantity = state.quantity + q
    variance = ZERO
    if state.method == STANDARD:
        inventory = (
            _round(new_quantity * state.standard_cost, precision)
            - state.value)
        # A shortfall under standard is at standard: nothing to correct,
        # the whole difference is a variance.
        settlements = [
            s._replace(actual_value=s.provisional_value)
            for s in settlements]
        adjustment = ZERO
        variance = value - inventory
    else:
        adjustment = sum((s.correction for s in settlements), ZERO)
        inventory = value - adjustment
    _check_new_ref(layers, event.ref)
    layer = Layer(
        ref=event.ref, date=event.date, kind=kind, quantity=q,
        unit_cost=unit_cost,
        value=inventory if state.method == STANDARD else value,
        remaining_quantity=left_q,
        remaining_value=(
            None if state.method in POOLED_METHODS else left_v))
    if left_q:
        layers.append(layer)
    changed.append(layer)
    state = state._replace(
        quantity=new_quantity, value=state.value + inventory,
        layers=_open(layers))
    if state.method in (FIFO, LIFO) or (
            state.method == AVERAGE and new_quantity <= 0):
        state = state._replace(last_cost=unit_cost)
    state = _update_average(state)
    return state, Result(
        event, q, value, inventory, variance=variance, adjustment=adjustment,
        settlements=tuple(settlements), layers=tuple(changed))


def _outgoing(state, event, q):
    "Return (state, Result) for q units going out, beyond stock if need be."
    if state.method in POOLED_METHODS:
        return _pooled_out(
            state, event, q, list(range(len(state.layers))), shortfall=True)
    order = list(range(len(state.layers)))
    if state.method == LIFO:
        order.reverse()
    return _layered_out(state, event, q, order, shortfall=True)


def _layered_out(state, event, q, order, shortfall=False):
    "Take q from the layers in order, each at its own remaining value."
    precision = state.precision
    layers = list(state.layers)
    changed = []
    consumptions = []
    left = q
    for i in order:
        if not left:
            break
        layer = layers[i]
        if layer.remaining_quantity <= 0:
            continue
        take = min(left, layer.remaining_quantity)
        value = _share(
            take, layer.remaining_quantity, layer.remaining_value, precision)
        layers[i] = layer._replace(
            remaining_quantity=layer.remaining_quantity - take,
            remaining_value=layer.remaining_value - value)
        changed.append(layers[i])
        consumptions.append(Consumption(layer.ref, take, value))
        left -= take
    if left:
        assert shortfall, "caller checked the quantity"
        value = _round(left * state.last_cost, precision)
        _check_new_ref(layers, event.ref)
        layer = Layer(
            ref=event.ref, date=event.date, kind=SHORTFALL, quantity=-left,
            unit_cost=state.last_cost, value=-value,
            remaining_quantity=-left, remaining_value=-value)
        layers.append(layer)
        changed.append(layer)
        consumptions.append(Consumption(event.ref, left, value, True))
    cost = sum((c.value for c in consumptions), ZERO)
    state = state._replace(
        quantity=state.quantity - q, value=state.value - cost,
        layers=_open(layers))
    return state, Result(
        event, -q, -cost, -cost, consumptions=tuple(consumptions),
        layers=tuple(changed))


def _pooled_out(state, event, q, order, shortfall=False):
    """Take q out of the pool; layers only record which quantities left.

    Average: round(q x value / quantity), the whole value for the whole
    quantity, the last known cost beyond the stock.  Standard: the
    difference of round(quantity x standard) before and after.
    """
    precision = state.precision
    new_quantity = state.quantity - q
    if state.method == STANDARD:
        cost = state.value - _round(
            new_quantity * state.standard_cost, precision)
    elif state.quantity >= q:
        cost = _share(q, state.quantity, state.value, precision)
    elif state.quantity > 0:
        cost = state.value + _round(
            (q - state.quantity) * state.last_cost, precision)
    else:
        cost = _round(q * state.last_cost, precision)
    layers = list(state.layers)
    changed = []
    chunks = []
    left = q
    for i in order:
        if not left:
            break
        layer = layers[i]
        if layer.remaining_quantity <= 0:
            continue
        take = min(left, layer.remaining_quantity)
        layers[i] = layer._replace(
            remaining_quantity=layer.remaining_quantity - take)
        changed.append(layers[i])
        chunks.append((layer.ref, take, False))
        left -= take
    if left:
        assert shortfall, "caller checked the quantity"
        _check_new_ref(layers, event.ref)
        unit_cost = (
            state.standard_cost if state.method == STANDARD
            else state.last_cost)
        layer = Layer(
            ref=event.ref, date=event.date, kind=SHORTFALL, quantity=-left,
            unit_cost=unit_cost, value=-_round(left * unit_cost, precision),
            remaining_quantity=-left, remaining_value=None)
        layers.append(layer)
        changed.append(layer)
        chunks.append((event.ref, left, True))
    # Share the cost over the trail so that it adds up exactly.
    consumptions = []
    left_q, left_v = q, cost
    for ref, take, provisional in chunks:
        value = _share(take, left_q, left_v, precision)
        consumptions.append(Consumption(ref, take, value, provisional))
        left_q -= take
        left_v -= value
    state = state._replace(
        quantity=new_quantity, value=state.value - cost,
        layers=_open(layers))
    state = _update_average(state)
    return state, Result(
        event, -q, -cost, -cost, consumptions=tuple(consumptions),
        layers=tuple(changed))


# Small helpers ----------------------------------------------------------

def _round(amount, precision):
    return amount.quantize(precision, context=_CONTEXT)


def _share(part, whole, value, precision):
    """Return the value of part of whole worth value.

    The whole takes the whole value, so that what is left keeps the
    rounding residue: value in = value out + remaining, to the cent.
    """
    if part == whole:
        return value
    return _round(
        _CONTEXT.divide(_CONTEXT.multiply(part, value), whole), precision)


def _update_average(state):
    "Return state with last_cost following the average when stock is on hand."
    if state.method == AVERAGE and state.quantity > 0:
        return state._replace(last_cost=average_cost(state))
    return state


def _find(layers, ref):
    for i, layer in enumerate(layers):
        if layer.ref == ref:
            return i
    return None


def _check_new_ref(layers, ref):
    if _find(layers, ref) is not None:
        raise CostingError("an open layer already has the ref %r" % (ref,))


def _put(layers, index, layer):
    return layers[:index] + (layer,) + layers[index + 1:]


def _open(layers):
    return tuple(l for l in layers if l.remaining_quantity)


def _decimal(value, name):
    if isinstance(value, bool) or not isinstance(value, (Decimal, int)):
        raise CostingError(
            "%s must be a Decimal, not %s %r (convert floats once with "
            "Decimal(str(x)))" % (name, type(value).__name__, value))
    value = Decimal(value)
    if not value.is_finite():
        raise CostingError("%s must be finite, not %s" % (name, value))
    return value


def _quantity(value):
    value = _decimal(value, 'quantity')
    if value <= 0:
        raise CostingError("quantity must be positive, not %s" % value)
    return value


def _cost(value, name):
    value = _decimal(value, name)
    if value < 0:
        raise CostingError("%s must not be negative, not %s" % (name, value))
    return value


def _precision(value):
    value = _decimal(value, 'precision')
    if value <= 0:
        raise CostingError("precision must be positive, not %s" % value)
    return value
