# This file is part of perpetual_inventory.  The COPYRIGHT file at the top
# level of this repository contains the full copyright notices and license
# terms.
"""Every done move values itself: its entry and its valuation layer.

account_stock_continental posts one entry per done move; this extends it
with an account-determination matrix (data, not an if/elif ladder), the
original cost on customer returns, the purchase price variance under fixed
cost, product locks while costs are computed, and a valuation layer per
valued move so that the valuation at any date is one SQL sum that equals
the inventory accounts' balance.
"""
import datetime as dt
from collections import defaultdict
from decimal import Decimal

from sql.aggregate import Max, Sum

from trytond import backend
from trytond.i18n import gettext
from trytond.model import Index, ModelSQL, ModelView, fields
from trytond.model.fields import SQL_OPERATORS
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval
from trytond.modules.account.exceptions import PeriodNotFoundError
from trytond.modules.account_product.exceptions import AccountError
from trytond.modules.product import round_price
from trytond.tools import grouped_slice
from trytond.transaction import Transaction

from ..core.moves import COUNTERPART_ACCOUNTS
from ..exceptions import ValuationAccountError


def _to_date(value):
    "A date from the database (a string on SQLite)"
    if isinstance(value, str):
        return dt.date.fromisoformat(value[:10])
    return value


class Move(metaclass=PoolMeta):
    __name__ = 'stock.move'

    valuation_layers = fields.One2Many(
        'stock.valuation.layer', 'move', "Valuation Layers", readonly=True)
    valuation_consumptions = fields.One2Many(
        'stock.valuation.consumption', 'outgoing', "Cost Consumptions",
        readonly=True)
    returned_move = fields.Many2One(
        'stock.move', "Returned Move", readonly=True, ondelete='RESTRICT',
        help="Of a customer return, the delivery it comes back from; of a "
        "return to the supplier, the receipt it sends back. Set when the "
        "move is done; the valuation costs the return from it.")

    def _get_account_stock_move_lines(self, type_):
        pool = Pool()
        AccountMoveLine = pool.get('account.move.line')
        lines = super()._get_account_stock_move_lines(type_)
        name = COUNTERPART_ACCOUNTS.get(type_)
        if name:
            account = self._valuation_account(name)
            for line in lines:
                line.account = account
        cost_price_method = self.product.get_multivalue(
            'cost_price_method', **self._cost_price_pattern)
        if (type_ == 'in_supplier' and cost_price_method == 'fixed'
                and self.unit_price_company is not None):
            # Inventory at the standard cost, goods received not invoiced at
            # the purchase price, the difference is the price variance.
            line, = lines
            currency = self.company.currency
            purchase = currency.round(
                Decimal(str(self.quantity)) * self.unit_price_company)
            standard = line.credit
            variance = purchase - standard
            line.credit = purchase
            if variance:
                lines.append(AccountMoveLine(
                        account=self._valuation_account(
                            'account_price_variance'),
                        debit=max(variance, Decimal(0)),
                        credit=max(-variance, Decimal(0))))
        return lines

    def _do(self):
        cost_price, to_save = super()._do()
        cost_price_method = self.product.get_multivalue(
            'cost_price_method', **self._cost_price_pattern)
        if cost_price_method != 'lifo':
            return cost_price, to_save
        # LIFO follows product_cost_fifo's bookkeeping (the consumed
        # quantity of each incoming move); the product's get_fifo_move
        # picks the newest layers through the costing core.
        if (self.from_location.type != 'storage'
                and self.to_location.type == 'storage'):
            cost_price = self._compute_product_cost_price('in')
        elif (self.to_location.type == 'supplier'
                and self.from_location.type == 'storage'):
            cost_price = self._compute_product_cost_price('out')
        elif (self.from_location.type == 'storage'
                and self.to_location.type != 'storage'):
            lifo_cost_price, cost_price, moves = (
                self._update_fifo_out_product_cost_price())
            if self.cost_price_required:
                if self.cost_price is None:
                    self.cost_price = lifo_cost_price
                if self.product_cost_price is None:
                    self.product_cost_price = cost_price
            to_save.extend(moves)
        return cost_price, to_save

    def _update_fifo_out_product_cost_price(self):
        pool = Pool()
        Consumption = pool.get('stock.valuation.consumption')
        Uom = pool.get('product.uom')
        cost_price, average_cost_price, to_save = (
            super()._update_fifo_out_product_cost_price())
        # The audit trail: which receipt each unit leaving came from, at
        # what cost (the quantity each incoming move gained as consumed).
        table = self.__table__()
        cursor = Transaction().connection.cursor()
        ids = [m.id for m in to_save]
        before = {}
        if ids:
            cursor.execute(*table.select(
                    table.id, table.fifo_quantity,
                    where=table.id.in_(ids)))
            before = dict(cursor)
        consumptions = []
        for move in to_save:
            quantity = (move.fifo_quantity or 0) - (before.get(move.id) or 0)
            quantity = Uom.compute_qty(
                move.unit, quantity, self.product.default_uom, round=False)
            if quantity <= 0:
                continue
            unit_cost = move.get_cost_price()
            consumptions.append(Consumption(
                    company=self.company, product=self.product,
                    outgoing=self, incoming=move, quantity=quantity,
                    unit_cost=unit_cost,
                    value=self.company.currency.round(
                        Decimal(str(quantity)) * unit_cost)))
        Consumption.save(consumptions)
        return cost_price, average_cost_price, to_save

    def _inventory_account(self, location):
        "Return the inventory account of the goods at the storage location"
        warehouse = location.warehouse if location else None
        if (warehouse and warehouse.account_stock
                and warehouse.account_stock.company == self.company):
            return warehouse.account_stock
        return self.product.account_stock_used

    def _get_account_stock_move_line(self, amount):
        line = super()._get_account_stock_move_line(amount)
        if line:
            if self.to_location.type == 'storage':
                line.account = self._inventory_account(self.to_location)
            elif self.from_location.type == 'storage':
                line.account = self._inventory_account(self.from_location)
        return line

    def _valuation_period(self):
        """Return the journal, period and date of the move's entries.

        As continental: the period of the effective date, or of today when
        that period is closed; no period when there is no fiscal year or
        it does not use continental stock accounting.
        """
        pool = Pool()
        Configuration = pool.get('account.configuration')
        Date = pool.get('ir.date')
        Period = pool.get('account.period')
        with Transaction().set_context(company=self.company.id):
            today = Date.today()
        date = self.effective_date or today
        try:
            period = Period.find(self.company, date=date, test_state=False)
        except PeriodNotFoundError:
            return None, None, None
        if not period.fiscalyear.account_stock_method:
            return None, None, None
        if period.state != 'open':
            date = today
            period = Period.find(self.company, date=date)
        journal = Configuration(1).get_multivalue(
            'stock_journal', company=self.company.id)
        return journal, period, date

    def _get_transfer_account_move(self, value, from_account, to_account):
        """Post and return the entry of goods moving to a warehouse valued
        on another inventory account"""
        pool = Pool()
        AccountMove = pool.get('account.move')
        AccountMoveLine = pool.get('account.move.line')
        journal, period, date = self._valuation_period()
        if not period:
            return
        entry = AccountMove(
            journal=journal, period=period, date=date, origin=self,
            description="Transfer: %s %s %s" % (
                self.quantity, self.unit.symbol, self.product.rec_name),
            lines=[
                AccountMoveLine(account=to_account,
                    debit=max(value, 0), credit=max(-value, 0)),
                AccountMoveLine(account=from_account,
                    debit=max(-value, 0), credit=max(value, 0)),
                ])
        entry.save()
        AccountMove.post([entry])
        return entry

    def _valuation_account(self, name):
        "Return the account of the category or raise an error naming it"
        pool = Pool()
        Category = pool.get('product.category')
        try:
            return getattr(self.product, name + '_used')
        except AccountError:
            account = Category.fields_get([name])[name]['string']
            category = self.product.template.account_category
            if not category:
                raise ValuationAccountError(gettext(
                        'perpetual_inventory.msg_valuation_category_missing',
                        move=self.rec_name, product=self.product.rec_name,
                        account=account))
            raise ValuationAccountError(gettext(
                    'perpetual_inventory.msg_valuation_account_missing',
                    move=self.rec_name, product=self.product.rec_name,
                    category=category.rec_name, account=account,
                    company=self.company.rec_name))

    def _get_account_stock_move(self):
        account_move = super()._get_account_stock_move()
        if account_move:
            account_move.description = self._valuation_description()
        return account_move

    def _valuation_description(self):
        "Return the description of the entry a person reads in the journal"
        type_ = self._get_account_stock_move_type() or ''
        labels = {
            'in_supplier': "Receipt",
            'out_supplier': "Return to supplier",
            'out_customer': "Delivery",
            'in_customer': "Customer return",
            'in_lost_found': "Inventory overage",
            'out_lost_found': "Inventory shortage",
            'in_production': "Production output",
            'out_production': "Production consumption",
            }
        return "%s: %s %s %s" % (
            labels.get(type_, "Stock move"), self.quantity,
            self.unit.symbol if self.unit else '', self.product.rec_name)

    def _original_delivery(self):
        """Return the done delivery a customer return comes back from.

        The latest delivery of the same product to the same customer on or
        before the return, or to any customer when the party is unknown.
        """
        pool = Pool()
        SaleLine = pool.get('sale.line')
        domain = [
            ('product', '=', self.product.id),
            ('state', '=', 'done'),
            ('from_location.type', '=', 'storage'),
            ('to_location.type', '=', 'customer'),
            ('company', '=', self.company.id),
            ('id', '!=', self.id),
            ]
        if self.effective_date:
            domain.append(('effective_date', '<=', self.effective_date))
        party = None
        if isinstance(self.origin, SaleLine):
            party = self.origin.sale.party
        elif getattr(self.shipment, 'customer', None):
            party = self.shipment.customer
        order = [('effective_date', 'DESC'), ('id', 'DESC')]
        if party:
            moves = self.search(domain + [['OR',
                        ('origin.sale.party', '=', party.id, 'sale.line'),
                        ('shipment.customer', '=', party.id,
                            'stock.shipment.out'),
                        ]], order=order, limit=1)
            if moves:
                return moves[0]
        moves = self.search(domain, order=order, limit=1)
        return moves[0] if moves else None

    @classmethod
    def do(cls, moves):
        pool = Pool()
        Product = pool.get('product.product')
        Layer = pool.get('stock.valuation.layer')
        # The costs of a product are computed from its previous moves: no
        # other transaction may change them until this one commits.
        Product.lock(sorted({m.product.id for m in moves}))
        cls._lock_entry_sequences(moves)
        returns = []
        for move in moves:
            if (move.from_location.type == 'customer'
                    and move.to_location.type == 'storage'
                    and move.cost_price is None):
                delivery = move._original_delivery()
                if delivery and delivery.cost_price is not None:
                    move.cost_price = delivery.cost_price
                    move.returned_move = delivery
                    returns.append(move)
        cls.save(returns)
        super().do(moves)
        layers = Layer.from_moves(moves)
        Layer.save(layers)
        cls._correct_negative_stock(layers)
        cls._restate_back_dated(moves)

    @classmethod
    def _lock_entry_sequences(cls, moves):
        """Take now the lock of the strict sequences that will number the
        entries of the moves.

        Posting takes it at the end of the work; a lock met there restarts
        the whole transaction (Tryton's lock retry) after all of it, while
        here the retry costs nothing.
        """
        pool = Pool()
        Date = pool.get('ir.date')
        Period = pool.get('account.period')
        keys = set()
        for move in moves:
            with Transaction().set_context(company=move.company.id):
                today = Date.today()
            keys.add((move.company, move.effective_date or today, today))
        sequences = set()
        for company, date, today in keys:
            try:
                period = Period.find(company, date=date, test_state=False)
                if not period.fiscalyear.account_stock_method:
                    continue
                if period.state != 'open':
                    period = Period.find(company, date=today)
            except PeriodNotFoundError:
                continue
            sequence = period.move_sequence_used
            if sequence and getattr(sequence, '_strict', False):
                sequences.add(sequence)
        for sequence in sorted(sequences, key=lambda s: s.id):
            sequence.lock()

    @classmethod
    def _restate_back_dated(cls, moves):
        """Recompute the cost of the products of the moves done with a date
        before other done moves of theirs (back-dated), from that date: the
        moves after it are restated and the goods on hand revalued."""
        pool = Pool()
        Product = pool.get('product.product')
        starts = defaultdict(dict)
        for move in moves:
            if (move.state != 'done' or move.product.type != 'goods'
                    or not move.effective_date
                    or (move.from_location.type == 'storage')
                    == (move.to_location.type == 'storage')):
                continue
            dates = starts[move.company]
            dates[move.product] = min(
                dates.get(move.product, move.effective_date),
                move.effective_date)
        if not starts:
            return
        table = cls.__table__()
        cursor = Transaction().connection.cursor()
        ids = [m.id for m in moves]
        for company, dates in starts.items():
            # only the moves after the earliest date: usually none, read
            # through the index on (product, effective date) of done moves
            first = min(dates.values())
            latest = {}
            for sub in grouped_slice(list(dates),
                    count=backend.MAX_QUERY_PARAMS // 2):
                cursor.execute(*table.select(
                        table.product, Max(table.effective_date),
                        where=SQL_OPERATORS['in'](
                            table.product, [p.id for p in sub])
                        & (table.state == 'done')
                        & (table.effective_date > first)
                        & (table.company == company.id)
                        & ~SQL_OPERATORS['in'](table.id, ids),
                        group_by=[table.product]))
                latest.update(cursor)
            back_dated = defaultdict(list)
            for product, date in dates.items():
                last = latest.get(product.id)
                if (last and _to_date(last) > date
                        and product.get_multivalue(
                            'cost_price_method', company=company.id)
                        != 'fixed'):
                    back_dated[date].append(product)
            with Transaction().set_context(company=company.id):
                for date, products in sorted(back_dated.items()):
                    Product.recompute_cost_price(
                        Product.browse(products), start=date)

    @classmethod
    def restate_costs(cls, before):
        """Restate the entries of the outgoing moves whose cost price
        changed from ``before`` (move id -> cost price).

        Each gets an entry, dated today, of the difference between its
        event account and the inventory account, with a valuation layer.
        Return product id -> the amount the inventory accounts moved.
        """
        pool = Pool()
        AccountMove = pool.get('account.move')
        Configuration = pool.get('account.configuration')
        Date = pool.get('ir.date')
        Layer = pool.get('stock.valuation.layer')
        Period = pool.get('account.period')
        Uom = pool.get('product.uom')
        restated = defaultdict(Decimal)
        entries, layers = [], []
        for move in cls.browse(sorted(before)):
            old = before[move.id]
            if (move.cost_price is None or old is None
                    or move.cost_price == old or not move.account_moves):
                continue
            type_ = move._get_account_stock_move_type()
            name = COUNTERPART_ACCOUNTS.get(type_)
            if not name:
                continue
            currency = move.company.currency
            quantity = Decimal(str(move.quantity))

            def value(cost):
                return currency.round(quantity * Uom.compute_price(
                        move.product.default_uom, cost, move.unit))
            amount = value(move.cost_price) - value(old)
            if not amount:
                continue
            location, _ = Layer._storage_side(move)
            stock = move._inventory_account(location)
            with Transaction().set_context(company=move.company.id):
                today = Date.today()
            period = Period.find(move.company, date=today)
            if not period.fiscalyear.account_stock_method:
                continue
            journal = Configuration(1).get_multivalue(
                'stock_journal', company=move.company.id)
            entry, layer = cls._value_adjustment(move, amount,
                move._valuation_account(name), stock, location,
                journal, period, today, 'restatement', gettext(
                    'perpetual_inventory.msg_cost_restatement',
                    move=move.rec_name, old=old, new=move.cost_price))
            entries.append(entry)
            layers.append(layer)
            restated[move.product.id] -= amount
        AccountMove.save(entries)
        AccountMove.post(entries)
        Layer.save(layers)
        return restated

    @classmethod
    def _value_adjustment(cls, move, amount, counterpart, stock, location,
            journal, period, date, kind, description):
        """Return the entry moving amount from the inventory account stock
        to counterpart for the move, and its valuation layer (no quantity).
        """
        pool = Pool()
        AccountMove = pool.get('account.move')
        AccountMoveLine = pool.get('account.move.line')
        Layer = pool.get('stock.valuation.layer')
        entry = AccountMove(
            journal=journal, period=period, date=date, origin=move,
            description=description,
            lines=[
                AccountMoveLine(account=counterpart,
                    debit=max(amount, 0), credit=max(-amount, 0)),
                AccountMoveLine(account=stock,
                    debit=max(-amount, 0), credit=max(amount, 0)),
                ])
        layer = Layer(
            move=move, company=move.company, product=move.product,
            date=date, location=location, warehouse=location.warehouse,
            quantity=0, value=-amount, currency=move.company.currency,
            account=stock, account_move=entry, kind=kind)
        return entry, layer

    @classmethod
    def _correct_negative_stock(cls, layers):
        """Post the correction of goods sold before they were received.

        The shortfall was valued at the last known cost; when the goods
        arrive the difference with their actual cost moves from the
        inventory account to cost of goods sold, so that the goods on hand
        are valued at what they cost.
        """
        pool = Pool()
        AccountMove = pool.get('account.move')
        Layer = pool.get('stock.valuation.layer')
        incoming = [l for l in layers
            if l.quantity > 0 and l.move.from_location.type != 'storage'
            and l.move.product.get_multivalue(
                'cost_price_method', **l.move._cost_price_pattern) != 'fixed']
        if not incoming:
            return
        before = Layer.on_hand_before(incoming)
        corrections, entries, to_save = [], [], []
        for layer in incoming:
            quantity, value = before[layer.id]
            if quantity >= 0:
                continue
            move = layer.move
            currency = move.company.currency
            shortfall = min(-quantity, layer.quantity)
            provisional = value / Decimal(str(quantity))
            actual = layer.value / Decimal(str(layer.quantity))
            amount = currency.round(
                Decimal(str(shortfall)) * (actual - provisional))
            if move.product.get_multivalue(
                    'cost_price_method',
                    **move._cost_price_pattern) in {'fifo', 'lifo'}:
                # The shortfall was delivered already: its layer is spent.
                move.fifo_quantity = min(
                    move.quantity, (move.fifo_quantity or 0) + shortfall)
                to_save.append(move)
            if not amount:
                continue
            stock = layer.account
            cogs = move._valuation_account('account_cogs')
            journal, period, date = move._valuation_period()
            if not period:
                continue
            entry, layer = cls._value_adjustment(move, amount, cogs, stock,
                layer.location, journal, period, date, 'correction',
                gettext('perpetual_inventory.msg_negative_stock_correction',
                    quantity=shortfall, product=move.product.rec_name))
            entries.append(entry)
            corrections.append(layer)
        cls.save(to_save)
        AccountMove.save(entries)
        AccountMove.post(entries)
        Layer.save(corrections)

    @classmethod
    def cancel(cls, moves):
        pool = Pool()
        Layer = pool.get('stock.valuation.layer')
        done = [m for m in moves if m.state == 'done']
        super().cancel(moves)
        Layer.save(Layer.reversals(done))

    @classmethod
    def copy(cls, moves, default=None):
        default = default.copy() if default is not None else {}
        default.setdefault('valuation_layers', None)
        default.setdefault('valuation_consumptions', None)
        default.setdefault('returned_move', None)
        return super().copy(moves, default=default)


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
    unit_cost = fields.Function(fields.Numeric(
            "Unit Cost", digits=(16, 4)), 'get_unit_cost')
    remaining_quantity = fields.Function(fields.Float(
            "Remaining Quantity",
            help="Of a receipt under FIFO or LIFO cost: the quantity not yet "
            "consumed by the goods leaving."), 'get_remaining')
    remaining_value = fields.Function(fields.Numeric(
            "Remaining Value", digits=(16, 4),
            help="The remaining quantity at the unit cost of the layer."),
        'get_remaining')

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
                })

    @classmethod
    def get_remaining(cls, layers, names):
        pool = Pool()
        Uom = pool.get('product.uom')
        result = {n: {l.id: None for l in layers} for n in names}
        for layer in layers:
            move = layer.move
            if (layer.kind != 'move' or not move or layer.quantity <= 0
                    or move.product.get_multivalue(
                        'cost_price_method', **move._cost_price_pattern)
                    not in {'fifo', 'lifo'}):
                continue
            quantity = Uom.compute_qty(
                move.unit, max(move.quantity - (move.fifo_quantity or 0), 0),
                move.product.default_uom, round=False)
            if 'remaining_quantity' in names:
                result['remaining_quantity'][layer.id] = quantity
            if 'remaining_value' in names:
                result['remaining_value'][layer.id] = (
                    layer.value * Decimal(str(quantity))
                    / Decimal(str(layer.quantity))).quantize(
                    Decimal('0.0001'))
        return result

    def get_unit_cost(self, name):
        if self.quantity:
            return (self.value / Decimal(str(self.quantity))).quantize(
                Decimal('0.0001'))

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
    def from_moves(cls, moves):
        "Return the unsaved layers of the done moves"
        layers = []
        transfers = []
        for move in moves:
            if move.product.type != 'goods':
                continue
            if (move.from_location.type == 'storage'
                    and move.to_location.type == 'storage'):
                transfers.append(move)
                continue
            location, sign = cls._storage_side(move)
            if not sign:
                continue
            account = move._inventory_account(location)
            account_move = None
            value = Decimal(0)
            for entry in move.account_moves:
                if entry.state != 'posted':
                    continue
                account_move = entry
                value += sum(
                    (l.debit - l.credit for l in entry.lines
                        if l.account == account), Decimal(0))
            layers.append(cls(
                    move=move, company=move.company, product=move.product,
                    date=account_move.date if account_move else (
                        move.effective_date),
                    location=location, warehouse=location.warehouse,
                    quantity=sign * move.internal_quantity, value=value,
                    currency=move.company.currency, account=account,
                    account_move=account_move, kind='move'))
        if transfers:
            layers.extend(cls._transfer_layers(transfers, layers))
        return layers

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
            total = sum(q for _, q in holdings)
            if total <= 0:
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
        "Return the storage locations holding the product with quantities"
        pool = Pool()
        Location = pool.get('stock.location')
        layer = cls.__table__()
        cursor = Transaction().connection.cursor()
        cursor.execute(*layer.select(
                layer.location, Sum(layer.quantity),
                where=(layer.product == product.id)
                & (layer.company == company.id),
                group_by=[layer.location]))
        return [(Location(l), q) for l, q in sorted(cursor) if q and q > 0]

    @classmethod
    def on_hand_before(cls, layers):
        """Return per layer id the quantity and value of its product before
        it, for the company (the sum of the earlier layers)."""
        layer = cls.__table__()
        cursor = Transaction().connection.cursor()
        result = {}
        for record in layers:
            cursor.execute(*layer.select(
                    Sum(layer.quantity), Sum(layer.value),
                    where=(layer.product == record.product.id)
                    & (layer.company == record.company.id)
                    & (layer.id < record.id)))
            quantity, value = cursor.fetchone()
            result[record.id] = (
                quantity or 0, Decimal(str(value or 0)))
        return result

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
    def _layered_cost(cls, move):
        """Return the unit cost of the layers the goods come from.

        Under FIFO and LIFO the goods moved are those that will leave next,
        so they carry the cost of those layers; None for pooled methods.
        """
        method = move.product.get_multivalue(
            'cost_price_method', **move._cost_price_pattern)
        if method not in {'fifo', 'lifo'}:
            return
        with Transaction().set_context(company=move.company.id):
            picks = move.product.get_fifo_move(move.internal_quantity)
        quantity = sum(q for _, q in picks)
        if not quantity:
            return
        return round_price(sum(
                (m.get_cost_price() * Decimal(str(q)) for m, q in picks),
                Decimal(0)) / Decimal(str(quantity)))

    @classmethod
    def _transfer_layers(cls, moves, pending):
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
            layered = cls._layered_cost(move)
            if available > 0 and quantity >= available:
                # all of the value left, in the currency like the entries
                value = currency.round(value_available)
            elif layered is not None:
                value = currency.round(Decimal(str(quantity)) * layered)
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
