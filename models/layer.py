# This file is part of perpetual_inventory.  The COPYRIGHT file at the top
# level of this repository contains the full copyright notices and license
# terms.
"""The valuation layers and the consumption trail, as the engine keeps them.

A layer per valued move (two for a transfer between storage locations):
its signed quantity and the amount it put on the inventory account.  The
layer of a move the costing engine values (receipt, delivery, return,
count) also holds the engine's layer: its unit cost, what is left of it
(``remaining_quantity``, ``remaining_value``) and the engine's last known
cost after the move, so that the engine's `State` of a product is rebuilt
from the stored open layers (`engine_state`).
"""
from collections import defaultdict
from decimal import Decimal

from sql import Null
from sql.aggregate import Sum

from trytond.model import Index, ModelSQL, ModelView, fields
from trytond.pool import Pool
from trytond.pyson import Eval
from trytond.transaction import Transaction

from ..core import costing

# Below this, a sum of float quantities is zero.
QUANTITY_RESIDUE = 1e-9


def precision(currency):
    "Return the rounding precision of the currency as a Decimal"
    return Decimal(1).scaleb(-currency.digits)


def method_of(product, company):
    "Return the engine's costing method of the product for the company"
    return costing.normalize_method(product.get_multivalue(
            'cost_price_method', company=company.id))


def _divide(value, quantity):
    return value / quantity


def to_decimal(value):
    "Return a stored float quantity as the Decimal the engine reads"
    return Decimal(str(value or 0))


class ValuationLayer(ModelSQL, ModelView):
    "Stock Valuation Layer"
    __name__ = 'stock.valuation.layer'

    move = fields.Many2One(
        'stock.move', "Move", readonly=True, ondelete='RESTRICT',
        states={
            'required': Eval('kind') != 'revaluation',
            },
        help="Empty for a revaluation of the goods on hand.")
    company = fields.Many2One(
        'company.company', "Company", required=True, readonly=True)
    product = fields.Many2One(
        'product.product', "Product", required=True, readonly=True,
        ondelete='RESTRICT', context={
            'company': Eval('company', -1),
            }, depends={'company'})
    date = fields.Date("Date", required=True, readonly=True)
    location = fields.Many2One(
        'stock.location', "Location", required=True, readonly=True,
        ondelete='RESTRICT',
        help="The storage location whose stock changed.")
    warehouse = fields.Many2One(
        'stock.location', "Warehouse", readonly=True, ondelete='RESTRICT')
    quantity = fields.Float(
        "Quantity", required=True, readonly=True,
        help="In the default unit of the product, negative when leaving.")
    value = fields.Numeric(
        "Value", digits=(16, 4), required=True, readonly=True,
        help="Negative when leaving; the amount on the inventory account.")
    currency = fields.Many2One(
        'currency.currency', "Currency", required=True, readonly=True)
    account = fields.Many2One(
        'account.account', "Inventory Account", readonly=True,
        ondelete='RESTRICT')
    account_move = fields.Many2One(
        'account.move', "Journal Entry", readonly=True, ondelete='RESTRICT')
    kind = fields.Selection([
            ('move', "Move"),
            ('cancel', "Cancellation"),
            ('correction', "Negative Stock Correction"),
            ('revaluation', "Revaluation"),
            ('restatement', "Cost Restatement"),
            ], "Kind", required=True, readonly=True)
    unit_cost = fields.Numeric(
        "Unit Cost", digits=(16, 4), readonly=True,
        help="Of goods coming in, the cost they entered at; of goods "
        "leaving, the cost per unit they left at.")
    remaining_quantity = fields.Float(
        "Remaining Quantity", readonly=True,
        help="Of the layer the costing engine keeps for the move: the "
        "quantity not consumed yet (negative for goods delivered before "
        "they were received).")
    remaining_value = fields.Numeric(
        "Remaining Value", digits=(16, 4), readonly=True,
        help="Under FIFO and LIFO, the value of the remaining quantity; "
        "under average and standard cost the value is the product's pool.")
    last_cost = fields.Numeric(
        "Last Known Cost", readonly=True,
        help="The engine's last known cost of the product after the move, "
        "at which goods delivered beyond the stock are valued.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order.insert(0, ('date', 'DESC'))
        cls._order.insert(1, ('id', 'DESC'))
        t = cls.__table__()
        cls._sql_indexes.update({
                Index(t, (t.product, Index.Range()), (t.date, Index.Range())),
                Index(t, (t.date, Index.Range()),
                    (t.account, Index.Equality())),
                Index(t, (t.account_move, Index.Equality())),
                Index(t, (t.move, Index.Equality())),
                Index(t, (t.product, Index.Equality()),
                    (t.company, Index.Equality()),
                    where=(t.remaining_quantity != Null)
                    & (t.remaining_quantity != 0)),
                })

    # The engine's state ---------------------------------------------------

    @classmethod
    def engine_state(cls, company, product):
        """Return the engine's State of the product rebuilt from the stored
        open layers, or None when they are not consistent (check_state)."""
        pool = Pool()
        Move = pool.get('stock.move')
        method = method_of(product, company)
        prec = precision(company.currency)
        layer = cls.__table__()
        move = Move.__table__()
        cursor = Transaction().connection.cursor()
        cursor.execute(*layer.join(move, condition=layer.move == move.id
                ).select(
                layer.move, move.effective_date, layer.unit_cost,
                layer.remaining_quantity, layer.remaining_value,
                layer.last_cost,
                where=(layer.company == company.id)
                & (layer.product == product.id) & (layer.kind == 'move')
                & (layer.remaining_quantity != Null),
                order_by=[move.effective_date.asc, move.id.asc]))
        layers = []
        last_cost = None
        for ref, date, unit_cost, quantity, value, last in cursor:
            if last is not None:
                last_cost = Decimal(str(last))
            if not quantity:
                continue
            quantity = to_decimal(quantity)
            if method in costing.POOLED_METHODS:
                value = None
            else:
                value = Decimal(str(value or 0)).quantize(prec)
            layers.append(costing.Layer(
                    ref=ref, date=date,
                    kind=(costing.SHORTFALL if quantity < 0
                        else costing.RECEIPT),
                    quantity=quantity, unit_cost=Decimal(str(unit_cost or 0)),
                    value=value if value is not None else Decimal(0),
                    remaining_quantity=quantity, remaining_value=value))
        cursor.execute(*layer.select(Sum(layer.quantity), Sum(layer.value),
                where=(layer.company == company.id)
                & (layer.product == product.id)))
        held, total = cursor.fetchone()
        quantity = sum((l.remaining_quantity for l in layers), Decimal(0))
        if abs(float(quantity) - (held or 0)) > QUANTITY_RESIDUE:
            # the layers hold goods the engine's layers do not know
            return None
        if method in costing.POOLED_METHODS:
            # SQLite sums the decimals as floats: rounded to the currency
            value = Decimal(str(total or 0)).quantize(prec)
        else:
            value = sum((l.remaining_value for l in layers), Decimal(0))
            if value != Decimal(str(total or 0)).quantize(prec):
                return None
        cost_price = product.get_multivalue('cost_price', company=company.id)
        if last_cost is None:
            last_cost = cost_price or Decimal(0)
        state = costing.State(
            method=method, precision=prec, quantity=quantity, value=value,
            layers=tuple(layers),
            standard_cost=(cost_price or Decimal(0)
                if method == costing.STANDARD else None),
            last_cost=max(last_cost, Decimal(0)))
        if method == costing.STANDARD:
            # The standard cost may have changed by continental's rounding
            # (quantity × difference): the engine takes the value as
            # stored and rounds the next event to quantity × standard.
            return state
        try:
            return costing.check_state(state)
        except costing.CostingError:
            return None

    @classmethod
    def pooled_state(cls, company, product):
        """Return the State of an average or standard product from its
        layers' totals, for layers stored without the engine's columns:
        the pool is what the inventory account holds, its quantity tracked
        as one layer of the latest move that brought goods in."""
        pool = Pool()
        Location = pool.get('stock.location')
        Move = pool.get('stock.move')
        method = method_of(product, company)
        prec = precision(company.currency)
        layer = cls.__table__()
        move = Move.__table__()
        cursor = Transaction().connection.cursor()
        where = (layer.company == company.id) & (layer.product == product.id)
        cursor.execute(*layer.select(
                Sum(layer.quantity), Sum(layer.value), where=where))
        quantity, value = cursor.fetchone()
        quantity = to_decimal(round(quantity or 0, 9)).normalize()
        value = Decimal(str(value or 0)).quantize(prec)
        source = Location.__table__()
        cursor.execute(*layer.join(move, condition=layer.move == move.id
                ).join(source, condition=move.from_location == source.id
                ).select(layer.move,
                where=where & (layer.kind == 'move') & (layer.quantity > 0)
                & (source.type != 'storage'),
                order_by=[move.effective_date.desc, move.id.desc], limit=1))
        row = cursor.fetchone()
        cost_price = product.get_multivalue(
            'cost_price', company=company.id) or Decimal(0)
        layers = ()
        if quantity and row:
            layers = (costing.Layer(
                    ref=row[0], date=None,
                    kind=(costing.RECEIPT if quantity > 0
                        else costing.SHORTFALL),
                    quantity=quantity, unit_cost=cost_price, value=value,
                    remaining_quantity=quantity, remaining_value=None),)
        elif quantity:
            return None
        return costing.State(
            method=method, precision=prec, quantity=quantity, value=value,
            layers=layers,
            standard_cost=(cost_price
                if method == costing.STANDARD else None),
            last_cost=(_divide(value, quantity) if quantity > 0
                else cost_price))

    @classmethod
    def layered_state(cls, company, product):
        """Return the State of a FIFO or LIFO product from its layers'
        totals, for layers stored without the engine's columns: what is
        on hand is taken from the receipts the method keeps (FIFO the
        newest, LIFO the oldest) at their cost, the last one holding the
        rounding so that the value is what the inventory account holds;
        None when that cannot be done."""
        pool = Pool()
        Location = pool.get('stock.location')
        Move = pool.get('stock.move')
        method = method_of(product, company)
        prec = precision(company.currency)
        layer = cls.__table__()
        move = Move.__table__()
        source = Location.__table__()
        cursor = Transaction().connection.cursor()
        where = (layer.company == company.id) & (layer.product == product.id)
        cursor.execute(*layer.select(
                Sum(layer.quantity), Sum(layer.value), where=where))
        quantity, value = cursor.fetchone()
        quantity = to_decimal(round(quantity or 0, 9)).normalize()
        value = Decimal(str(value or 0)).quantize(prec)
        if quantity <= 0:
            return None
        cursor.execute(*layer.join(move, condition=layer.move == move.id
                ).join(source, condition=move.from_location == source.id
                ).select(layer.move, move.effective_date, layer.quantity,
                layer.value,
                where=where & (layer.kind == 'move') & (layer.quantity > 0)
                & (source.type != 'storage'),
                order_by=[move.effective_date.asc, move.id.asc]))
        rows = list(cursor)
        if method == costing.FIFO:
            rows.reverse()
        layers, left, total = [], quantity, Decimal(0)
        for ref, date, row_quantity, row_value in rows:
            if not left:
                break
            row_quantity = to_decimal(row_quantity)
            take = min(left, row_quantity)
            cost = Decimal(str(row_value or 0)) / row_quantity
            part = (take * cost).quantize(prec)
            layers.append(costing.Layer(
                    ref=ref, date=date, kind=costing.RECEIPT, quantity=take,
                    unit_cost=cost, value=part, remaining_quantity=take,
                    remaining_value=part))
            left -= take
            total += part
        if left or not layers:
            return None
        last = layers[-1]
        rest = last.remaining_value + value - total
        if rest < 0:
            return None
        layers[-1] = last._replace(value=rest, remaining_value=rest)
        if method == costing.FIFO:
            layers.reverse()
        state = costing.State(
            method=method, precision=prec, quantity=quantity, value=value,
            layers=tuple(layers),
            last_cost=layers[-1].unit_cost if method == costing.FIFO
            else layers[0].unit_cost)
        try:
            return costing.check_state(state)
        except costing.CostingError:
            return None

    @classmethod
    def write_state(cls, company, product, state):
        """Store the open layers of the engine's state on the layers of
        their moves; every other engine layer of the product is closed."""
        layer = cls.__table__()
        cursor = Transaction().connection.cursor()
        pooled = state.method in costing.POOLED_METHODS
        where = ((layer.company == company.id)
            & (layer.product == product.id) & (layer.kind == 'move')
            & (layer.remaining_quantity != Null))
        cursor.execute(*layer.update(
                [layer.remaining_quantity, layer.remaining_value],
                [0, Null if pooled else 0],
                where=where & (layer.remaining_quantity != 0)))
        for open_ in state.layers:
            cursor.execute(*layer.update(
                    [layer.remaining_quantity, layer.remaining_value],
                    [float(open_.remaining_quantity),
                        Null if pooled else open_.remaining_value],
                    where=(layer.move == open_.ref) & (layer.kind == 'move')
                    & (layer.quantity != 0)))

    @classmethod
    def set_unit_costs(cls, costs):
        "Store the unit cost of the engine layers of the moves (id -> cost)"
        layer = cls.__table__()
        cursor = Transaction().connection.cursor()
        for move, cost in costs.items():
            cursor.execute(*layer.update([layer.unit_cost],
                    [cost.quantize(Decimal('0.0001'))],
                    where=(layer.move == move) & (layer.kind == 'move')
                    & (layer.remaining_quantity != Null)))

    @classmethod
    def set_last_cost(cls, move, last_cost):
        "Store the engine's last known cost after the move on its layer"
        layer = cls.__table__()
        cursor = Transaction().connection.cursor()
        cursor.execute(*layer.update([layer.last_cost], [last_cost],
                where=(layer.move == move.id) & (layer.kind == 'move')
                & (layer.remaining_quantity != Null)))

    # Layers of moves ------------------------------------------------------

    @classmethod
    def _storage_side(cls, move):
        "Return the storage location and the sign of the move for stock"
        from_storage = move.from_location.type == 'storage'
        to_storage = move.to_location.type == 'storage'
        if to_storage and not from_storage:
            return move.to_location, 1
        if from_storage and not to_storage:
            return move.from_location, -1
        return None, 0

    @classmethod
    def spread_emptied(cls, layers):
        """Return the layers that leave no value at a location emptied by
        the layers.

        The cost of a pooled (or FIFO/LIFO) product is the company's, not
        the location's: goods leaving one location may take more or less
        than the value there.  When its quantity reaches zero the rest of
        its value moves to the locations still holding the product on the
        same inventory account, by quantity (the last takes the rounding
        rest), in layers of the same move and entry.
        """
        touched = {}
        for layer in layers:
            if layer.kind in {'move', 'restatement'} and layer.move:
                touched[(layer.company.id, layer.product.id,
                        layer.location.id, layer.account.id
                        if layer.account else None)] = layer
        if not touched:
            return []
        table = cls.__table__()
        cursor = Transaction().connection.cursor()
        products = sorted({k[1] for k in touched})
        companies = sorted({k[0] for k in touched})
        cursor.execute(*table.select(
                table.company, table.product, table.location, table.account,
                Sum(table.quantity), Sum(table.value),
                where=table.product.in_(products)
                & table.company.in_(companies),
                group_by=[table.company, table.product, table.location,
                    table.account]))
        held = defaultdict(list)
        emptied = []
        for company, product, location, account, quantity, value in cursor:
            currency = None
            value = Decimal(str(value or 0)).quantize(Decimal('0.0001'))
            key = (company, product, location, account)
            if abs(quantity or 0) <= QUANTITY_RESIDUE:
                if value and key in touched:
                    emptied.append((key, value))
            elif quantity > 0:
                held[(company, product, account)].append(
                    (location, quantity))
        result = []
        for key, value in emptied:
            layer = touched[key]
            currency = layer.currency
            value = currency.round(value)
            others = sorted(held.get((key[0], key[1], key[3]), []))
            if not value or not others:
                continue
            result.append(cls._like(layer, layer.location, -value))
            total = sum(q for _, q in others)
            left = value
            for index, (location, quantity) in enumerate(others):
                if index == len(others) - 1:
                    share = left
                else:
                    share = currency.round(
                        value * to_decimal(quantity) / to_decimal(total))
                left -= share
                result.append(cls._like(layer, location, share))
        return result

    @classmethod
    def _like(cls, layer, location, value):
        pool = Pool()
        Location = pool.get('stock.location')
        location = Location(location) if isinstance(location, int) else (
            location)
        return cls(move=layer.move, company=layer.company,
            product=layer.product, date=layer.date, location=location,
            warehouse=location.warehouse, quantity=0, value=value,
            currency=layer.currency, account=layer.account,
            account_move=layer.account_move, kind=layer.kind)

    @classmethod
    def revaluations(cls, entries):
        """Return the layers of revaluation entries of products.

        The amount on the inventory account is shared between the storage
        locations holding the product, by quantity (the last takes the
        rounding rest).
        """
        layers = []
        for entry in entries:
            product = entry.origin
            account = product.account_stock_used
            amount = sum((l.debit - l.credit for l in entry.lines
                    if l.account == account), Decimal(0))
            if not amount:
                continue
            currency = entry.company.currency
            holdings = cls._holdings(product, entry.company)
            # Continental revalues the quantity on hand, negative too: with
            # nothing held anywhere the value is on the locations short.
            holdings = [(l, q) for l, q in holdings if q > 0] or holdings
            total = sum(q for _, q in holdings)
            if not total:
                continue
            left = amount
            for index, (location, quantity) in enumerate(holdings):
                if index == len(holdings) - 1:
                    value = left
                else:
                    value = currency.round(
                        amount * Decimal(str(quantity))
                        / Decimal(str(total)))
                left -= value
                layers.append(cls(
                        move=None, company=entry.company, product=product,
                        date=entry.date, location=location,
                        warehouse=location.warehouse, quantity=0,
                        value=value, currency=currency, account=account,
                        account_move=entry, kind='revaluation'))
        return layers

    @classmethod
    def _holdings(cls, product, company):
        "Return the storage locations of the product with a quantity"
        pool = Pool()
        Location = pool.get('stock.location')
        layer = cls.__table__()
        cursor = Transaction().connection.cursor()
        cursor.execute(*layer.select(
                layer.location, Sum(layer.quantity),
                where=(layer.product == product.id)
                & (layer.company == company.id),
                group_by=[layer.location]))
        return [(Location(l), q) for l, q in sorted(cursor) if q]


    @classmethod
    def _on_hand(cls, keys):
        "Return the quantity and value per (product, location) of the layers"
        layer = cls.__table__()
        cursor = Transaction().connection.cursor()
        result = {}
        products = sorted({p for p, _ in keys})
        locations = sorted({l for _, l in keys})
        cursor.execute(*layer.select(
                layer.product, layer.location,
                Sum(layer.quantity), Sum(layer.value),
                where=layer.product.in_(products)
                & layer.location.in_(locations),
                group_by=[layer.product, layer.location]))
        # SQLite sums the decimals as floats (-11.939999999999998): the sum
        # is rounded to the digits of the values it adds up.
        exp = Decimal(1).scaleb(-cls.value.digits[1])
        for product, location, quantity, value in cursor:
            result[(product, location)] = (
                quantity or 0, Decimal(str(value or 0)).quantize(exp))
        return result

    @classmethod
    def _layered_cost(cls, move, quantity):
        """Return the value of the goods moved between locations under FIFO
        and LIFO: those that leave next, at the cost of their layers (the
        engine's delivery of the quantity, not applied); None otherwise."""
        if method_of(move.product, move.company) not in {
                costing.FIFO, costing.LIFO}:
            return
        state = cls.engine_state(move.company, move.product)
        if state is None or state.quantity < to_decimal(quantity):
            return
        _, result = costing.apply(state, costing.Delivery(
                ref=('transfer', move.id), date=move.effective_date,
                quantity=to_decimal(quantity)))
        return result.cost

    @classmethod
    def transfer_layers(cls, moves, pending=()):
        """Return the pairs of layers of moves between storage locations.

        The goods leave a location at that location's value per unit (all
        of its value when all of its quantity leaves) and enter the other
        on the same inventory account: the ledger does not change, the
        valuation per location does.
        """
        on_hand = cls._on_hand(
            [(m.product.id, m.from_location.id) for m in moves])
        for layer in pending:
            key = (layer.product.id, layer.location.id)
            quantity, value = on_hand.get(key, (0, Decimal(0)))
            on_hand[key] = (quantity + layer.quantity, value + layer.value)
        layers = []
        for move in sorted(moves, key=lambda m: (m.effective_date, m.id)):
            currency = move.company.currency
            # the stock account must exist before anything is valued
            move.product.account_stock_used
            quantity = move.internal_quantity
            source = (move.product.id, move.from_location.id)
            target = (move.product.id, move.to_location.id)
            available, value_available = on_hand.get(source, (0, Decimal(0)))
            layered = cls._layered_cost(move, quantity)
            if available > 0 and quantity >= available:
                # all of the value left, in the currency like the entries
                value = currency.round(value_available)
            elif layered is not None:
                value = layered
            elif available > 0:
                value = currency.round(
                    value_available * Decimal(str(quantity))
                    / Decimal(str(available)))
            else:
                cost_price = move.cost_price
                if cost_price is None:
                    cost_price = move.product.get_multivalue(
                        'cost_price', **move._cost_price_pattern)
                value = currency.round(
                    Decimal(str(quantity)) * (cost_price or 0))
            on_hand[source] = (available - quantity, value_available - value)
            held, held_value = on_hand.get(target, (0, Decimal(0)))
            on_hand[target] = (held + quantity, held_value + value)
            accounts = {
                -1: move._inventory_account(move.from_location),
                1: move._inventory_account(move.to_location),
                }
            entry = None
            if accounts[-1] != accounts[1] and value:
                entry = move._get_transfer_account_move(
                    value, accounts[-1], accounts[1])
            for location, sign in [
                    (move.from_location, -1), (move.to_location, 1)]:
                layers.append(cls(
                        move=move, company=move.company,
                        product=move.product,
                        date=entry.date if entry else move.effective_date,
                        location=location, warehouse=location.warehouse,
                        quantity=sign * quantity, value=sign * value,
                        currency=currency, account=accounts[sign],
                        account_move=entry, kind='move'))
        return layers

    @classmethod
    def reversals(cls, moves):
        "Return the layers that undo the layers of the cancelled moves"
        layers = []
        for move in moves:
            previous = [l for l in move.valuation_layers]
            if not previous:
                continue
            cancellation = None
            for entry in move.account_moves:
                if entry.origin == move and entry not in {
                        l.account_move for l in previous}:
                    cancellation = entry
            first = previous[0]
            layers.append(cls(
                    move=move, company=first.company, product=first.product,
                    date=cancellation.date if cancellation else first.date,
                    location=first.location, warehouse=first.warehouse,
                    quantity=-sum(l.quantity for l in previous),
                    value=-sum(l.value for l in previous),
                    currency=first.currency, account=first.account,
                    account_move=cancellation, kind='cancel'))
        return layers

    @classmethod
    def valuation_query(cls, company_id, date, group_by=('product',)):
        """Return the python-sql query of the stock value at the date.

        One row per group with the quantity and the value of the layers
        dated on or before the date; group_by names columns of the layer
        table (product, location, warehouse, account).
        """
        layer = cls.__table__()
        columns = [getattr(layer, name).as_(name) for name in group_by]
        return layer.select(
            *columns,
            Sum(layer.quantity).as_('quantity'),
            Sum(layer.value).as_('value'),
            where=(layer.company == company_id) & (layer.date <= date),
            group_by=columns)


class Consumption(ModelSQL, ModelView):
    "Stock Valuation Consumption"
    __name__ = 'stock.valuation.consumption'

    company = fields.Many2One(
        'company.company', "Company", required=True, readonly=True)
    product = fields.Many2One(
        'product.product', "Product", required=True, readonly=True,
        ondelete='RESTRICT', context={
            'company': Eval('company', -1),
            }, depends={'company'})
    outgoing = fields.Many2One(
        'stock.move', "Outgoing Move", required=True, readonly=True,
        ondelete='CASCADE', help="The move whose cost this part makes.")
    incoming = fields.Many2One(
        'stock.move', "Incoming Move", required=True, readonly=True,
        ondelete='RESTRICT', help="The receipt the goods came from.")
    quantity = fields.Float("Quantity", required=True, readonly=True)
    unit_cost = fields.Numeric(
        "Unit Cost", digits=(16, 4), required=True, readonly=True)
    value = fields.Numeric(
        "Value", digits=(16, 2), required=True, readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order.insert(0, ('id', 'DESC'))
        t = cls.__table__()
        cls._sql_indexes.update({
                Index(t, (t.outgoing, Index.Equality())),
                Index(t, (t.incoming, Index.Equality())),
                })
