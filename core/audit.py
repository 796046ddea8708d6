# This file is part of perpetual_inventory.  The COPYRIGHT file at the top
# level of this repository contains the full copyright notices and license
# terms.
"""The audit: the done moves replayed through the engine, compared with
what is stored and posted.

A valuation layer copied from the entry its move posted always agrees with
that entry; a wrong cost hides behind it. The audit recomputes every
figure from the facts alone (the done moves, the landed costs, the cost
changes), with the engine of record (`costing`, through the one rule of
`moves.event`), and compares:

- per move, the sum of its stored layers (quantity, value) with the
  replayed quantity and inventory change;
- per move (landed cost, revaluation) and account, the lines posted in
  the entries whose origin it is with the replayed amounts: `inventory` on
  the inventory accounts, `-value` on the counterpart, `variance` on the
  price variance account, `adjustment` on cost of goods sold;
- entries on an inventory account that belong to no replayed event
  (entry without move) and valued moves with no entry (move without entry).

Nothing here imports Tryton; the caller reads the facts (models/audit.py
with python-sql) and hands them over as plain values.

Booking order: the events of a product are replayed by effective date,
then moves before landed costs of the same day, then by id
(`booking_key`): the order in which the models post them. A cost change
is placed by the caller where it happened (models/audit_facts.py).
"""
from collections import defaultdict
from decimal import Decimal
from typing import Any, Hashable, Mapping, NamedTuple, Optional, Tuple

from . import costing, moves

ZERO = Decimal(0)

# The key of the inventory accounts: a move's stock amount is compared
# with the sum of its lines on every inventory account of the company
# (the warehouse's or the category's), since a transfer between two
# warehouses moves value between them and nets to zero.
STOCK = 'stock'
# The key of the accounts of a landed cost or a revaluation that are
# neither inventory, cost of goods sold nor price variance: the clearing
# account of the invoice lines, continental's revaluation counterpart.
OTHER = 'other'
# The stored layers of a move, compared as two pseudo-accounts.
LAYER_QUANTITY = 'layer_quantity'
LAYER_VALUE = 'layer_value'

# The moves of a count, whose counterpart is compared as OTHER.
COUNT_TYPES = frozenset({moves.IN_LOST_FOUND, moves.OUT_LOST_FOUND})

# Kinds of differences
AMOUNT = 'amount'  # an amount posted differs from the replay
LAYER = 'layer'  # the stored layers differ from the replay
MOVE_WITHOUT_ENTRY = 'move_without_entry'
ENTRY_WITHOUT_MOVE = 'entry_without_move'
REPLAY_ERROR = 'replay_error'  # the engine refused the facts
KINDS = (AMOUNT, LAYER, MOVE_WITHOUT_ENTRY, ENTRY_WITHOUT_MOVE, REPLAY_ERROR)

# Float quantities summed by the database carry residues (1e-16).
QUANTITY_TOLERANCE = Decimal('0.000001')


class LandedCostFact(NamedTuple):
    """A posted landed cost's share on one receipt.

    ``ref`` identifies the landed cost (the origin of its entries),
    ``receipt`` the ref of the receipt move, ``amount`` the share in the
    company's currency, rounded.
    """
    ref: Hashable
    date: Any
    receipt: Hashable
    amount: Decimal


class CostChangeFact(NamedTuple):
    """A new unit cost (standard cost, or an average revalued).

    ``ref`` identifies its revaluation entry.
    """
    ref: Hashable
    date: Any
    unit_cost: Decimal


class History(NamedTuple):
    """What the audit needs of one product (in one company).

    - ``method``: the costing method ('fifo', 'lifo', 'average', 'fixed'
      or 'standard').
    - ``events``: MoveFact, LandedCostFact and CostChangeFact in booking
      order (see `booking_key`).
    - ``accounts``: the accounts of the product's category by field name
      (``account_stock_in``, ``account_cogs``, ``account_price_variance``,
      ...), as COUNTERPART_ACCOUNTS names them; None when missing.
    - ``initial_cost``: the product's cost before its first event: the
      standard cost under the standard method; under the others the cost
      of what goes out or is found at a count before any cost is known
      (an opening count is valued at it).
    - ``unposted``: refs of moves whose period does not use continental
      stock accounting: no entry is expected, nor a layer value.
    """
    product: Hashable
    method: str
    events: Tuple[Any, ...]
    accounts: Mapping[str, Hashable]
    initial_cost: Optional[Decimal] = None
    precision: Decimal = costing.DEFAULT_PRECISION
    unposted: frozenset = frozenset()


class Expected(NamedTuple):
    """The replayed figures of one event.

    ``amounts``: (account key, amount) pairs, debit positive, one per key,
    zero amounts left out; ``posting``: whether an entry is expected.
    """
    ref: Hashable
    kind: str  # 'move', 'landed_cost' or 'revaluation'
    quantity: Decimal
    value: Decimal
    amounts: Tuple[Tuple[Hashable, Decimal], ...]
    posting: bool = True


class Line(NamedTuple):
    "One difference: for a ref and an account key, expected and found."
    kind: str
    product: Hashable
    ref: Hashable
    account: Hashable
    expected: Optional[Decimal]
    posted: Optional[Decimal]
    message: str = ''

    @property
    def difference(self):
        "Return posted - expected (None for a replay error)."
        if self.expected is None or self.posted is None:
            return None
        return self.posted - self.expected


class Total(NamedTuple):
    "Of one account key over the company: the replayed and posted sums."
    account: Hashable
    expected: Decimal
    posted: Decimal

    @property
    def difference(self):
        return self.posted - self.expected


class Report(NamedTuple):
    """The audit of a company.

    - ``lines``: every difference, products in the order given, each
      product's in booking order, then the entries without move.
    - ``first``: per product, the ref of its first event that differs.
    - ``totals``: per account key, the replayed and posted sums.
    - ``events``: how many events were replayed.
    """
    lines: Tuple[Line, ...]
    first: Mapping[Hashable, Hashable]
    totals: Tuple[Total, ...]
    events: int

    @property
    def difference(self):
        "Return the sum of the absolute differences of money amounts."
        return sum((abs(l.difference) for l in self.lines
                if l.difference is not None
                and l.account != LAYER_QUANTITY), ZERO)

    @property
    def ok(self):
        "Return whether nothing differs."
        return not self.lines


def booking_key(fact):
    """Return the sort key of a fact in booking order.

    Effective date, then moves before landed costs before cost changes of
    the same day, then the ref (the id).
    """
    if isinstance(fact, moves.MoveFact):
        rank = 0
    elif isinstance(fact, LandedCostFact):
        rank = 1
    else:
        rank = 2
    return (fact.date, rank, fact.ref)


def replay(history):
    """Return the expected figures of a product's events, in order.

    Args:
        history: a History.

    Returns:
        (expected, error): a tuple of Expected, one per event, up to the
        first event the engine refuses; error is None or (ref, message)
        for that event.
    """
    method = costing.normalize_method(history.method)
    initial_cost = history.initial_cost or ZERO
    if method == costing.STANDARD:
        state = costing.initial_state(method, standard_cost=initial_cost,
            precision=history.precision)
    else:
        state = costing.initial_state(method, last_cost=initial_cost,
            precision=history.precision)
    accounts = history.accounts
    cogs = accounts.get('account_cogs')
    variance_account = accounts.get('account_price_variance')
    # The counterpart per move type; of a count the user's choice per
    # count (opening-balance equity for an opening count, the over/short
    # account later): any account of the entry not compared as such.
    counterparts = {type_: accounts.get(name)
        for type_, name in moves.COUNTERPART_ACCOUNTS.items()}
    counterparts.update(dict.fromkeys(COUNT_TYPES, OTHER))
    trails = {}
    result_list = []
    append = result_list.append
    unposted = history.unposted
    apply = costing.apply
    for fact in history.events:
        try:
            if type(fact) is moves.MoveFact:
                event = moves.event(fact, trails.get(fact.returned, ()))
                kind = 'move'
                counterpart = counterparts.get(
                    moves.move_type(fact.from_type, fact.to_type))
            elif isinstance(fact, LandedCostFact):
                event = costing.LandedCost(
                    fact.ref, fact.date, fact.receipt, fact.amount)
                kind, counterpart = 'landed_cost', OTHER
            elif isinstance(fact, CostChangeFact):
                event = costing.CostChange(
                    fact.ref, fact.date, fact.unit_cost)
                kind, counterpart = 'revaluation', OTHER
            else:
                raise costing.CostingError(
                    "unknown fact %r" % (fact,))
            if event is None:
                # A transfer keeps the company's value; a move that is not
                # stock has no value.
                append(Expected(fact.ref, kind, ZERO, ZERO, (),
                        fact.ref not in unposted))
                continue
            state, result = apply(state, event)
        except costing.CostingError as error:
            return tuple(result_list), (fact.ref, str(error))
        if result.consumptions:
            trails[fact.ref] = result.consumptions
        inventory = result.inventory
        amounts = {STOCK: inventory} if inventory else {}
        for key, amount in (
                (counterpart, -result.value),
                (variance_account, result.variance),
                (cogs, result.adjustment)):
            if amount:
                amounts[key] = amounts.get(key, ZERO) + amount
        append(Expected(
                fact.ref, kind, result.quantity, inventory,
                tuple((k, a) for k, a in amounts.items() if a),
                fact.ref not in unposted))
    return tuple(result_list), None


def _account_order(key):
    "Inventory first, then the accounts by id, then OTHER"
    if key == STOCK:
        return (0, 0, '')
    if key == OTHER:
        return (2, 0, '')
    return (1, key if isinstance(key, int) else 0, repr(key))


def audit(histories, stored, posted, inventory_accounts):
    """Replay the histories and compare them with what is stored and posted.

    Args:
        histories: an iterable of History, one per product.
        stored: ref of a move -> (quantity, value), the sums of its
            layers (quantity a Decimal or a float, value a Decimal).
        posted: ref (of a move, a landed cost, a revaluation, or any other
            origin of an entry, None excluded) -> {account: amount}, the
            sums (debit - credit, Decimal) of the posted lines of the
            entries whose origin it is. Entries without origin come as
            refs of their own, which no history holds.
        inventory_accounts: the accounts that hold goods (compared as
            one key, STOCK).

    Returns:
        A Report.
    """
    inventory_accounts = frozenset(inventory_accounts)
    lines = []
    first = {}
    totals = defaultdict(lambda: [ZERO, ZERO])
    covered = set()
    count = 0
    for history in histories:
        expected, error = replay(history)
        count += len(expected)
        # Of a landed cost, a revaluation or a count, cost of goods sold
        # and price variance are compared as such, any other account as
        # OTHER.
        known = {history.accounts.get('account_cogs'),
            history.accounts.get('account_price_variance')} - {None}
        product_lines = []
        for item in expected:
            covered.add(item.ref)
            free = item.kind != 'move' or any(
                k == OTHER for k, _ in item.amounts)
            product_lines.extend(_compare(
                    history.product, item, stored.get(item.ref),
                    posted.get(item.ref, {}), inventory_accounts,
                    known if free else None, totals))
        if error is not None:
            ref, message = error
            covered.add(ref)
            product_lines.append(Line(
                    REPLAY_ERROR, history.product, ref, None, None, None,
                    message))
            # what follows cannot be replayed: its entries are not
            # reported as entries without move
            covered.update(
                f.ref for f in history.events[len(expected):])
        if product_lines:
            first[history.product] = product_lines[0].ref
            lines.extend(product_lines)
    for ref in sorted(set(posted) - covered, key=repr):
        amount = sum((a for account, a in posted[ref].items()
                if account in inventory_accounts), ZERO)
        if amount:
            totals[STOCK][1] += amount
            lines.append(Line(
                    ENTRY_WITHOUT_MOVE, None, ref, STOCK, ZERO, amount))
    return Report(
        tuple(lines), first,
        tuple(Total(k, e, p) for k, (e, p) in sorted(
                totals.items(), key=lambda i: _account_order(i[0]))),
        count)


def _number(value):
    "Return value as a Decimal (a float through its shortest repr)"
    if isinstance(value, Decimal):
        return value
    return Decimal(str(value))


def _compare(product, item, layers, entries, inventory_accounts, known,
        totals):
    "Return the lines where the stored and posted figures differ"
    lines = []
    if item.kind == 'move':
        quantity, value = layers if layers is not None else (ZERO, ZERO)
        quantity = _number(quantity)
        if abs(quantity - item.quantity) > QUANTITY_TOLERANCE:
            lines.append(Line(
                    LAYER, product, item.ref, LAYER_QUANTITY,
                    item.quantity, quantity))
        if item.posting:
            total = totals[LAYER_VALUE]
            total[0] += item.value
            total[1] += value
            if value != item.value:
                lines.append(Line(
                        LAYER, product, item.ref, LAYER_VALUE,
                        item.value, value))
    if not item.posting:
        return lines
    found = {}
    for account, amount in entries.items():
        if account in inventory_accounts:
            key = STOCK
        elif known is not None and account not in known:
            key = OTHER
        else:
            key = account
        found[key] = found.get(key, ZERO) + amount
    wanted = dict(item.amounts)
    for key, amount in wanted.items():
        totals[key][0] += amount
    for key, amount in found.items():
        totals[key][1] += amount
    if found == wanted:
        return lines
    keys = wanted.keys() | found.keys()
    if all(found.get(k, ZERO) == wanted.get(k, ZERO) for k in keys):
        return lines
    kind = AMOUNT
    if item.kind == 'move' and wanted and not any(found.values()):
        kind = MOVE_WITHOUT_ENTRY
    for key in sorted(keys, key=_account_order):
        expected = wanted.get(key, ZERO)
        amount = found.get(key, ZERO)
        if expected != amount:
            lines.append(Line(kind, product, item.ref, key, expected, amount))
    return lines
