# This file is part of perpetual_inventory.  The COPYRIGHT file at the top
# level of this repository contains the full copyright notices and license
# terms.
"""The costing engine of record applied to the done moves.

`core/costing.py` values every move (any method, returns of both kinds,
counts, negative stock): a done move becomes its event (`core/moves.py`),
is applied to the product's state rebuilt from the stored layers, and what
the engine returns is stored (layers, consumption trail, cost prices) and
posted.

A move booked before other done moves of its product (back-dated, or one
cancelled), or a receipt whose price changed (landed cost), restates the
product: its done moves are replayed through the engine twice, as booked
and as they are now, and the differences (`replay_differences`) are posted
with the move concerned as origin.
"""
from collections import defaultdict
from decimal import Decimal

from sql import Null
from sql.operators import Or

from trytond.i18n import gettext
from trytond.modules.product import round_price
from trytond.pool import Pool, PoolMeta
from trytond.transaction import Transaction

from ..core import costing
from ..core import moves as core_moves
from ..core.moves import COUNTERPART_ACCOUNTS, MoveFact
from ..exceptions import ValuationCostingError
from .layer import method_of, precision, to_decimal


def _amounts(result):
    return (result.quantity, result.value, result.inventory, result.variance,
        result.adjustment, result.consumptions)


def product_cost(state):
    """Return Tryton's cost price of the product in the state: the standard,
    the average cost of the goods on hand, else the last known cost"""
    if state.method == costing.STANDARD:
        return round_price(state.standard_cost)
    if state.quantity > 0:
        return round_price(costing.average_cost(state))
    return round_price(state.last_cost)


def booking_key(move):
    "Return the order the engine books the moves of a product in"
    return (move.effective_date, move.id)


class Restatement:
    """How a restatement posts its differences: explicit arguments.

    ``repriced``: the ids of the receipts whose price changed for a reason
    of the restatement's own (a landed cost); their differences go to
    ``counterparts(value)``, [(account, amount)] adding up to ``-value``,
    in one entry whose origin is ``origin``, described by ``description``.
    Every other difference is posted against the move's own counterpart
    with the move as origin.
    """

    def __init__(self, origin=None, counterparts=None, repriced=(),
            description=None):
        self.origin = origin
        self.counterparts = counterparts
        self.repriced = set(repriced)
        self.description = description


class Move(metaclass=PoolMeta):
    __name__ = 'stock.move'

    # The facts and events --------------------------------------------------

    def _costing_type(self):
        "Return the move type of core.moves, None when not valued"
        if self.product.type != 'goods':
            return
        return core_moves.move_type(
            self.from_location.type, self.to_location.type)

    def _costing_unit_price(self, unit_prices=None):
        """Return the unit price of the move in the company's currency per
        default unit (or the one of unit_prices, move id -> price so
        expressed), None when it has none"""
        pool = Pool()
        Uom = pool.get('product.uom')
        if unit_prices and unit_prices.get(self.id) is not None:
            return unit_prices[self.id]
        price = self.unit_price_company
        if price is None:
            return
        return Uom.compute_price(self.unit, price, self.product.default_uom)

    def _costing_purchase_price(self):
        """Return the unit price of the move without its landed costs, in
        the company's currency per default unit, None when it has none"""
        pool = Pool()
        Currency = pool.get('currency.currency')
        Uom = pool.get('product.uom')
        price = self.unit_price_company
        if price is None:
            return
        landed = getattr(self, 'unit_landed_cost', None)
        if landed:
            with Transaction().set_context(date=self.effective_date):
                price -= Currency.compute(
                    self.currency, landed, self.company.currency,
                    round=False)
        return Uom.compute_price(self.unit, price, self.product.default_uom)

    def _costing_fact(self, unit_prices=None):
        "Return the MoveFact of the done move"
        type_ = self._costing_type()
        unit_price = None
        if type_ in {core_moves.IN_SUPPLIER, core_moves.IN_PRODUCTION}:
            unit_price = self._costing_unit_price(unit_prices)
        elif type_ == core_moves.OUT_SUPPLIER:
            # At the purchase price of the receipt, what the supplier's
            # credit note clears: its landed costs are not the supplier's.
            source = self.returned_move or self
            unit_price = source._costing_purchase_price()
            if unit_price is None and source != self:
                unit_price = self._costing_purchase_price()
        return MoveFact(
            ref=self.id, date=self.effective_date,
            from_type=self.from_location.type, to_type=self.to_location.type,
            quantity=to_decimal(self.internal_quantity),
            unit_price=unit_price,
            returned=self.returned_move.id if self.returned_move else None)

    def _costing_event(self, unit_prices=None):
        "Return the engine's event of the done move, None if not valued"
        consumptions = ()
        if (self._costing_type() == core_moves.IN_CUSTOMER
                and self.returned_move):
            consumptions = tuple(
                costing.Consumption(c.incoming.id, to_decimal(c.quantity),
                    c.value)
                for c in self.returned_move.valuation_consumptions)
        return core_moves.event(
            self._costing_fact(unit_prices), consumptions)

    # Valuing done moves ----------------------------------------------------

    @classmethod
    def _value_moves(cls, moves):
        """Value the done moves with the engine: store and post what it
        returns, restate the products of back-dated moves."""
        groups = defaultdict(list)
        for move in moves:
            if move.state != 'done':
                continue
            type_ = move._costing_type()
            if type_ is None or type_ == core_moves.TRANSFER:
                continue
            groups[(move.company, move.product)].append(move)
        for (company, product), group in sorted(
                groups.items(), key=lambda i: (i[0][0].id, i[0][1].id)):
            group.sort(key=booking_key)
            method = method_of(product, company)
            if (method != costing.STANDARD
                    and cls._booked_after(company, product, group)):
                cls._restate_product(company, product, added=group)
                continue
            state = cls._state_of(company, product, group)
            applied = []
            for move in group:
                state, result = cls._apply(state, move)
                applied.append((move, result, state))
            cls._record_costing(company, product, applied, state)

    @classmethod
    def _apply(cls, state, move, event=None):
        if event is None:
            event = move._costing_event()
        try:
            return costing.apply(state, event)
        except costing.CostingError as exception:
            raise ValuationCostingError(gettext(
                    'perpetual_inventory.msg_costing_error',
                    move=move.rec_name, error=str(exception))) from exception

    @classmethod
    def _state_of(cls, company, product, pending=()):
        """Return the engine's state of the product before the pending
        moves, rebuilt if need be"""
        pool = Pool()
        Layer = pool.get('stock.valuation.layer')
        state = Layer.engine_state(company, product)
        if state is None:
            # Layers written without the engine's columns: the stock is
            # worth what they hold (the inventory account), not a replay
            # that would move it.
            if method_of(product, company) in costing.POOLED_METHODS:
                state = Layer.pooled_state(company, product)
            else:
                state = Layer.layered_state(company, product)
            if state is not None:
                Layer.write_state(company, product, state)
        if state is None:
            # Layers written without the engine's columns (or damaged):
            # the state is the replay of the done moves.
            state, _ = cls._replay(company, product, cls._done_moves(
                    company, product, exclude=[m.id for m in pending]))
            Layer.write_state(company, product, state)
        return state

    @classmethod
    def _booked_after(cls, company, product, group):
        "Return whether a done move of the product is booked after the group"
        table = cls.__table__()
        cursor = Transaction().connection.cursor()
        date, id_ = booking_key(group[0])
        ids = [m.id for m in group]
        cursor.execute(*table.select(table.id,
                where=(table.company == company.id)
                & (table.product == product.id) & (table.state == 'done')
                & Or([table.effective_date > date,
                        (table.effective_date == date) & (table.id > id_)])
                & ~table.id.in_(ids),
                limit=1))
        return cursor.fetchone() is not None

    @classmethod
    def _done_moves(cls, company, product, exclude=()):
        "Return the done moves of the product the engine values, as booked"
        moves = cls.search([
                ('company', '=', company.id),
                ('product', '=', product.id),
                ('state', '=', 'done'),
                ('id', 'not in', list(exclude)),
                ], order=[('effective_date', 'ASC'), ('id', 'ASC')])
        return [m for m in moves if m._costing_type() not in {
                None, core_moves.TRANSFER}]

    @classmethod
    def _replay(cls, company, product, moves, unit_prices=None):
        "Return the final state and the results of the moves replayed"
        method = method_of(product, company)
        standard = None
        if method == costing.STANDARD:
            standard = product.get_multivalue(
                'cost_price', company=company.id) or Decimal(0)
        events = [m._costing_event(unit_prices) for m in moves]
        events = [e for e in events if e is not None]
        try:
            return costing.replay(
                method, events, standard_cost=standard,
                last_cost=cls._first_cost(company, product),
                precision=precision(company.currency))
        except costing.CostingError as exception:
            raise ValuationCostingError(gettext(
                    'perpetual_inventory.msg_costing_replay_error',
                    product=product.rec_name,
                    error=str(exception))) from exception

    @classmethod
    def _booked_prices(cls, company, product):
        "Return move id -> the unit cost its receipt layer entered at"
        pool = Pool()
        Layer = pool.get('stock.valuation.layer')
        layer = Layer.__table__()
        move = cls.__table__()
        cursor = Transaction().connection.cursor()
        cursor.execute(*layer.join(move, condition=layer.move == move.id
                ).select(layer.move, layer.unit_cost,
                where=(layer.company == company.id)
                & (layer.product == product.id) & (layer.kind == 'move')
                & (layer.quantity > 0) & (layer.unit_cost != Null)
                & (layer.remaining_quantity != Null)))
        return {m: Decimal(str(c)) for m, c in cursor}

    @classmethod
    def _first_cost(cls, company, product):
        """Return the cost of goods delivered before anything was known:
        the product's cost price before its first done move"""
        moves = cls.search([
                ('company', '=', company.id),
                ('product', '=', product.id),
                ('state', '=', 'done'),
                ('product_cost_price', '!=', None),
                ], order=[('effective_date', 'ASC'), ('id', 'ASC')], limit=1)
        if moves:
            return max(moves[0].product_cost_price, Decimal(0))
        return max(product.get_multivalue('cost_price', company=company.id)
            or Decimal(0), Decimal(0))

    @classmethod
    def _restate_product(cls, company, product, added=(), removed=(),
            restatement=None):
        """Replay the product as booked and as it is now; post the moves
        added at their replayed value and the differences of the others.

        ``added``: moves done now (their own entries are posted);
        ``removed``: moves cancelled now (continental reversed their
        entries); ``restatement``: how the differences are posted.
        """
        restatement = restatement or Restatement()
        added_ids = {m.id for m in added}
        removed_ids = {m.id for m in removed}
        now = cls._done_moves(company, product)
        before = [m for m in now if m.id not in added_ids] + list(removed)
        before.sort(key=booking_key)
        # As booked: the receipts at the price their layer entered at
        _, old = cls._replay(company, product, before,
            unit_prices=cls._booked_prices(company, product))
        state, new = cls._replay(company, product, now)
        by_ref = {r.event.ref: r for r in new}
        differences = [d for d in costing.replay_differences(old, new)
            if d.ref not in added_ids and d.ref not in removed_ids]
        applied = [(m, by_ref[m.id], None) for m in added if m.id in by_ref]
        # The moves whose trail or amounts changed take their new trail
        # and cost price; the others keep theirs (under standard cost a
        # replay is at today's standard, not the one they were booked at).
        booked = {r.event.ref: r for r in old}
        changed = [r for r in new if r.event.ref in added_ids
            or r.event.ref not in booked
            or _amounts(booked[r.event.ref]) != _amounts(r)]
        cls._record_costing(
            company, product, applied, state, replayed=changed,
            last=max(now, key=booking_key) if now else None)
        cls._post_differences(company, product, differences, restatement)

    # Recording what the engine returned ------------------------------------

    @classmethod
    def _record_costing(cls, company, product, applied, state, replayed=None,
            last=None):
        """Store and post the results of the moves applied.

        ``applied``: [(move, result, state after it or None)] of the moves done
        now; ``replayed``: the results of a replay whose trails and cost
        prices replace the stored ones; ``last``: the last move booked,
        which keeps the last known cost of the state.
        """
        pool = Pool()
        AccountMove = pool.get('account.move')
        Consumption = pool.get('stock.valuation.consumption')
        Layer = pool.get('stock.valuation.layer')
        entries, layers, costs = [], [], {}
        for move, result, _ in applied:
            entry = move._costing_entry(result)
            if entry:
                entries.append(entry)
            layers.append(move._costing_layer(result, entry))
        AccountMove.save(entries)
        AccountMove.post(entries)
        Layer.save(layers)
        results = replayed if replayed is not None else [
            r for _, r, _ in applied]
        if replayed:
            Consumption.delete(Consumption.search([
                        ('outgoing', 'in', [r.event.ref for r in replayed]),
                        ]))
        trails = []
        for result in results:
            move = cls(result.event.ref)
            trails.extend(move._costing_consumptions(result))
            cost = cls._costing_cost_price(move, result, state)
            if cost is not None:
                costs[move] = cost
        Consumption.save(trails)
        Layer.write_state(company, product, state)
        # A receipt replayed at a new price is booked at it from now on.
        Layer.set_unit_costs({r.event.ref: r.event.unit_cost
                for r in (replayed or [])
                if isinstance(r.event, costing.Receipt)})
        products = defaultdict(list)
        for move, _, after in applied:
            if after is not None:
                Layer.set_last_cost(move, after.last_cost)
            products[product_cost(after or state)].append(move)
        for cost, moves in products.items():
            # Tryton's product cost price after the move, as fifo keeps it
            cls.write(moves, {'product_cost_price': cost})
        if last is not None:
            Layer.set_last_cost(last, state.last_cost)
        cls._write_cost_prices(company, product, costs, state)
        Layer.save(Layer.spread_emptied(layers))

    @classmethod
    def _costing_cost_price(cls, move, result, state):
        """Return the cost price of the move per its unit from the engine's
        result: what a unit left at, or entered at"""
        pool = Pool()
        Uom = pool.get('product.uom')
        quantity = to_decimal(move.internal_quantity)
        if not quantity:
            return
        if state.method == costing.STANDARD:
            cost = state.standard_cost
        elif result.quantity < 0:
            cost = result.cost / quantity
        else:
            own = [l for l in result.layers if l.ref == move.id]
            if own:
                cost = own[0].unit_cost
            else:
                cost = (result.inventory + result.adjustment) / quantity
        return round_price(Uom.compute_price(
                move.product.default_uom, cost, move.unit))

    @classmethod
    def _write_cost_prices(cls, company, product, costs, state):
        """Write Tryton's cost prices from the engine: of the moves, and of
        the product (the average of the goods on hand, else the last known
        cost; under standard cost it is the standard)"""
        changed = defaultdict(list)
        for move, cost in costs.items():
            if move.cost_price != cost:
                changed[cost].append(move)
        for cost, moves in changed.items():
            cls.write(moves, {'cost_price': cost})
        if state.method == costing.STANDARD:
            return
        cost = product_cost(state)
        if product.get_multivalue('cost_price', company=company.id) != cost:
            product.set_multivalue('cost_price', cost, company=company.id)

    def _costing_layer(self, result, entry):
        "Return the unsaved layer of the move's result"
        pool = Pool()
        Layer = pool.get('stock.valuation.layer')
        location, sign = Layer._storage_side(self)
        own = [l for l in result.layers if l.ref == self.id]
        pooled = method_of(self.product, self.company) in (
            costing.POOLED_METHODS)
        remaining_quantity, remaining_value = Decimal(0), Decimal(0)
        if own:
            remaining_quantity = own[-1].remaining_quantity
            remaining_value = own[-1].remaining_value
        if pooled:
            remaining_value = None
        quantity = to_decimal(self.internal_quantity)
        unit_cost = None
        if quantity:
            value = (result.cost if result.quantity < 0
                else result.inventory + result.adjustment)
            unit_cost = (own[0].unit_cost if own and result.quantity > 0
                else value / quantity).quantize(Decimal('0.0001'))
        return Layer(
            move=self, company=self.company, product=self.product,
            date=entry.date if entry else self.effective_date,
            location=location, warehouse=location.warehouse,
            quantity=sign * self.internal_quantity, value=result.inventory,
            currency=self.company.currency,
            account=self._inventory_account(location),
            account_move=entry, kind='move', unit_cost=unit_cost,
            remaining_quantity=float(remaining_quantity),
            remaining_value=remaining_value)

    def _costing_consumptions(self, result):
        "Return the unsaved consumption trail of the move's result"
        pool = Pool()
        Consumption = pool.get('stock.valuation.consumption')
        trail = []
        for consumption in result.consumptions:
            trail.append(Consumption(
                    company=self.company, product=self.product,
                    outgoing=self, incoming=consumption.layer_ref,
                    quantity=float(consumption.quantity),
                    unit_cost=round_price(consumption.unit_cost),
                    value=consumption.value))
        return trail

    def _costing_entry(self, result):
        "Return the unsaved entry of the move's result, None without period"
        pool = Pool()
        AccountMove = pool.get('account.move')
        Layer = pool.get('stock.valuation.layer')
        journal, period, date = self._valuation_period()
        if not period:
            return
        location, _ = Layer._storage_side(self)
        type_ = self._costing_type()
        lines = self._costing_lines([
                (self._inventory_account(location), result.inventory),
                ('account_price_variance', result.variance),
                ('account_cogs', result.adjustment),
                (COUNTERPART_ACCOUNTS[type_], -result.value),
                ])
        if not lines:
            return
        return AccountMove(
            journal=journal, period=period, date=date, origin=self,
            description=self._valuation_description(), lines=lines)

    def _costing_lines(self, amounts):
        """Return the entry lines of [(account or name of the category's
        account, amount)], a positive amount a debit, one per account"""
        pool = Pool()
        Line = pool.get('account.move.line')
        totals = defaultdict(Decimal)
        for account, amount in amounts:
            if not amount:
                continue
            if isinstance(account, str):
                account = self._valuation_account(account)
            totals[account] += amount
        return [Line(account=account,
                debit=max(amount, Decimal(0)),
                credit=max(-amount, Decimal(0)))
            for account, amount in sorted(
                totals.items(), key=lambda i: i[0].id)
            if amount]

    @classmethod
    def _post_differences(cls, company, product, differences, restatement):
        """Post the differences of a restatement, dated today in the open
        period, each with a restatement layer of its move.

        The differences of the receipts whose price changed go to the
        restatement's counterparts (a landed cost's accounts) in one entry
        whose origin is the restatement's; the others against their own
        counterpart with the restated move as origin.
        """
        pool = Pool()
        AccountMove = pool.get('account.move')
        Configuration = pool.get('account.configuration')
        Date = pool.get('ir.date')
        Layer = pool.get('stock.valuation.layer')
        Period = pool.get('account.period')
        if not differences:
            return
        with Transaction().set_context(company=company.id):
            today = Date.today()
        period = Period.find(company, date=today)
        if not period.fiscalyear.account_stock_method:
            return
        journal = Configuration(1).get_multivalue(
            'stock_journal', company=company.id)
        entries, layers = [], []
        grouped = []
        for difference in differences:
            move = cls(difference.ref)
            location, _ = Layer._storage_side(move)
            stock = move._inventory_account(location)
            repriced = (restatement.counterparts is not None
                and move.id in restatement.repriced)
            amounts = [
                (stock, difference.inventory),
                ('account_price_variance', difference.variance),
                ('account_cogs', difference.adjustment),
                ]
            if repriced:
                grouped.append((move, amounts, difference))
                continue
            amounts.append((
                    COUNTERPART_ACCOUNTS[move._costing_type()],
                    -difference.value))
            lines = move._costing_lines(amounts)
            if not lines:
                continue
            entry = AccountMove(
                journal=journal, period=period, date=today, origin=move,
                description=gettext('perpetual_inventory.msg_cost_restatement',
                    move=move.rec_name), lines=lines)
            entries.append(entry)
            layers.append(Layer(
                    move=move, company=company, product=product, date=today,
                    location=location, warehouse=location.warehouse,
                    quantity=0, value=difference.inventory,
                    currency=company.currency, account=stock,
                    account_move=entry, kind='restatement'))
        if grouped:
            move = grouped[0][0]
            amounts = [a for _, a_s, _ in grouped for a in a_s]
            value = sum((d.value for _, _, d in grouped), Decimal(0))
            amounts.extend(restatement.counterparts(value))
            entry = AccountMove(
                journal=journal, period=period, date=today,
                origin=restatement.origin,
                description=restatement.description,
                lines=move._costing_lines(amounts))
            entries.append(entry)
            for move, _, difference in grouped:
                location, _ = Layer._storage_side(move)
                layers.append(Layer(
                        move=move, company=company, product=product,
                        date=today, location=location,
                        warehouse=location.warehouse, quantity=0,
                        value=difference.inventory,
                        currency=company.currency,
                        account=move._inventory_account(location),
                        account_move=entry, kind='restatement'))
        AccountMove.save(entries)
        AccountMove.post(entries)
        Layer.save(layers)
        Layer.save(Layer.spread_emptied(layers))

    @classmethod
    def prices_restated(cls, products, start=None):
        """Clear the flag of the moves whose unit price changed: their
        products were restated (Tryton's scheduled recomputation looks for
        it)"""
        domain = [
            ('unit_price_updated', '=', True),
            ('product', 'in', [p.id for p in products]),
            ]
        if start:
            domain.append(('effective_date', '>=', start))
        updated = cls.search(domain, order=[])
        if updated:
            cls.write(updated, {'unit_price_updated': False})

    @classmethod
    def restate(cls, products, company, restatement=None, removed=()):
        """Restate the products through the engine's replay (a back-dated
        or cancelled move, a receipt whose price changed)"""
        removed = list(removed)
        for product in sorted(set(products), key=lambda p: p.id):
            if product.type != 'goods':
                continue
            cls._restate_product(company, product,
                removed=[m for m in removed if m.product == product],
                restatement=restatement)
