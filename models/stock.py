# This file is part of perpetual_inventory.  The COPYRIGHT file at the top
# level of this repository contains the full copyright notices and license
# terms.
"""The stock.move hooks: a done move values itself and posts its entry.

When moves are done, their products and the entry sequences are locked,
each return is linked to the move it comes back from (`returned_move`),
and the costing engine values them (`models/costing.py`): one entry per
move from the engine's result, on the accounts of the category's
event -> account matrix (`core/moves.py`), and a valuation layer.
Transfers between storage locations move the value between locations
(and inventory accounts).  Cancelling reverses the entries (continental)
and restates the product without the move.
"""

from trytond import backend
from trytond.i18n import gettext
from trytond.model import ModelView, Workflow, fields
from trytond.modules.account.exceptions import PeriodNotFoundError
from trytond.modules.account_product.exceptions import AccountError
from trytond.pool import Pool, PoolMeta
from trytond.transaction import Transaction

from ..core import moves as core_moves
from ..core.moves import COUNTERPART_ACCOUNTS
from ..exceptions import ValuationAccountError


def valuation_period(company, date):
    """Return the period and date of the entries of a stock event dated
    date, continental's rule: the period of the date, or of today when that
    period is closed; None when there is no period (a date before today) or
    its fiscal year does not use continental stock accounting."""
    pool = Pool()
    Date = pool.get('ir.date')
    Period = pool.get('account.period')
    with Transaction().set_context(company=company.id):
        today = Date.today()
    for date in [date or today, today]:
        try:
            period = Period.find(company, date=date, test_state=False)
        except PeriodNotFoundError:
            if date < today:
                return None, None
            continue
        break
    else:
        return None, None
    if not period.fiscalyear.account_stock_method:
        return None, None
    if period.state != 'open':
        date = today
        period = Period.find(company, date=date)
    return period, date


def lock_now(Model, records):
    """Lock the rows of the records now, inside the running transaction.

    Tryton's ``Model.lock()`` restarts the whole transaction to take its
    lock at the start: one more run per lock, even when nobody holds it.
    Here the rows are updated in place (a no-op UPDATE): that waits for a
    transaction holding them, and PostgreSQL refuses it (a serialization
    failure, which Tryton's dispatcher retries) when another transaction
    changed them since this one's snapshot, so what is computed under the
    lock is never read from a stale snapshot.  SQLite has one writer at a
    time.  The transaction then knows the rows as locked, so Tryton's own
    ``lock()`` of them (posting's sequence lock) passes.
    """
    transaction = Transaction()
    table = Model._table
    if table in transaction._locked_tables:
        return
    new = set(transaction.create_records[Model.__name__])
    ids = sorted({int(r) for r in records} - new
        - transaction._locked_records[table])
    if not ids:
        return
    if backend.name == 'postgresql':
        sql_table = Model.__table__()
        cursor = transaction.connection.cursor()
        cursor.execute(*sql_table.update(
                [sql_table.id], [sql_table.id],
                where=sql_table.id.in_(ids)))
    transaction._locked_records[table].update(ids)


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
        lines = super()._get_account_stock_move_lines(type_)
        name = COUNTERPART_ACCOUNTS.get(type_)
        if name:
            account = self._valuation_account(name)
            for line in lines:
                line.account = account
        return lines

    def _get_account_stock_move(self):
        # The moves the engine values post the entry of its result
        # (models/costing.py); continental's stays for the others (goods
        # shipped from the supplier straight to the customer).
        if self._costing_type() is not None:
            return
        account_move = super()._get_account_stock_move()
        if account_move:
            account_move.description = self._valuation_description()
        return account_move

    def _do(self):
        # The engine computes every cost and writes Tryton's cost prices
        # from its result after the moves are done.
        return None, []

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
        "Return the journal, period and date of the move's entries"
        pool = Pool()
        Configuration = pool.get('account.configuration')
        period, date = valuation_period(self.company, self.effective_date)
        if not period:
            return None, None, None
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

    def _link_returned_move(self):
        """Return the move this return comes back from, through Tryton's
        links first: for a customer return the delivery, for a return to
        the supplier the receipt; None when nothing links it."""
        type_ = self._costing_type()
        if type_ == core_moves.IN_CUSTOMER:
            candidates = self._linked_moves('customer')
            if candidates is None:
                return self._original_delivery()
        elif type_ == core_moves.OUT_SUPPLIER:
            candidates = self._linked_moves('supplier') or []
        else:
            return
        candidates = [m for m in candidates if m.state == 'done'
            and m.product == self.product and m.company == self.company
            and m.id != self.id
            and (not self.effective_date or not m.effective_date
                or m.effective_date <= self.effective_date)]
        if not candidates:
            return
        return max(candidates, key=lambda m: (m.effective_date, m.id))

    def _linked_moves(self, party_type):
        """Return the moves the documents of this return link it to, or
        None when no document links it.

        ``party_type`` is 'customer' (a delivery: to a customer location) or
        'supplier' (a receipt: from a supplier location).  The links: the
        move's origin when it is a move; a return sale or purchase line
        (negative quantity) leads to the original order's lines of the
        product; a line of the same order leads to its other moves.
        """
        pool = Pool()
        try:
            SaleLine = pool.get('sale.line')
        except KeyError:
            SaleLine = None
        try:
            PurchaseLine = pool.get('purchase.line')
        except KeyError:
            PurchaseLine = None
        origin = self.origin

        def valued(moves):
            if party_type == 'customer':
                return [m for m in moves
                    if m.from_location.type == 'storage'
                    and m.to_location.type == 'customer']
            return [m for m in moves
                if m.from_location.type == 'supplier'
                and m.to_location.type == 'storage']

        if isinstance(origin, self.__class__):
            return valued([origin])
        lines = []
        if SaleLine and isinstance(origin, SaleLine):
            lines = self._original_lines(origin, origin.sale)
        elif PurchaseLine and isinstance(origin, PurchaseLine):
            lines = self._original_lines(origin, origin.purchase)
        else:
            return None
        return valued([m for l in lines for m in l.moves])

    def _original_lines(self, line, order):
        "Return the lines whose moves a return line's move may come from"
        original = getattr(order, 'origin', None)
        if (line.quantity or 0) < 0 and original is not None and (
                original.__name__ == order.__name__):
            return [l for l in original.lines
                if getattr(l, 'product', None) == self.product]
        return [line]

    def _original_delivery(self):
        """Return the done delivery a customer return without a document
        link comes back from: the latest delivery of the product to the
        same customer (of the return's sale or shipment) on or before the
        return; None when the customer is unknown or had none."""
        pool = Pool()
        SaleLine = pool.get('sale.line')
        party = None
        if isinstance(self.origin, SaleLine):
            party = self.origin.sale.party
        elif getattr(self.shipment, 'customer', None):
            party = self.shipment.customer
        if not party:
            return
        domain = [
            ('product', '=', self.product.id),
            ('state', '=', 'done'),
            ('from_location.type', '=', 'storage'),
            ('to_location.type', '=', 'customer'),
            ('company', '=', self.company.id),
            ('id', '!=', self.id),
            ['OR',
                ('origin.sale.party', '=', party.id, 'sale.line'),
                ('shipment.customer', '=', party.id, 'stock.shipment.out'),
                ],
            ]
        if self.effective_date:
            domain.append(('effective_date', '<=', self.effective_date))
        moves = self.search(domain,
            order=[('effective_date', 'DESC'), ('id', 'DESC')], limit=1)
        return moves[0] if moves else None

    @classmethod
    @ModelView.button
    @Workflow.transition('done')
    def do(cls, moves):
        pool = Pool()
        Layer = pool.get('stock.valuation.layer')
        Product = pool.get('product.product')
        # The costs of a product are computed from its previous moves: no
        # other transaction may change them until this one commits.
        lock_now(Product, {m.product.id for m in moves})
        cls._lock_entry_sequences(moves)
        super().do(moves)
        moves = cls.browse(moves)
        returns = []
        for move in moves:
            if move.returned_move is None:
                returned = move._link_returned_move()
                if returned:
                    move.returned_move = returned
                    returns.append(move)
        cls.save(returns)
        cls._value_moves(moves)
        transfers = [m for m in moves if m.product.type == 'goods'
            and m._costing_type() == core_moves.TRANSFER]
        if transfers:
            layers = Layer.transfer_layers(transfers)
            Layer.save(layers)
            Layer.save(Layer.spread_emptied(layers))

    @classmethod
    def _lock_entry_sequences(cls, moves):
        """Take now the lock of the strict sequences that will number the
        entries of the moves.

        Posting takes it at the end of the work; a lock met there restarts
        the whole transaction (Tryton's lock retry) after all of it; taken
        here (`lock_now`) it restarts nothing.
        """
        keys = {(m.company, m.effective_date) for m in moves}
        sequences = set()
        for company, date in keys:
            period, _ = valuation_period(company, date)
            if not period:
                continue
            sequence = period.move_sequence_used
            if sequence and getattr(sequence, '_strict', False):
                sequences.add(sequence)
        by_model = {}
        for sequence in sequences:
            by_model.setdefault(sequence.__class__, []).append(sequence)
        for Sequence, records in by_model.items():
            lock_now(Sequence, records)

    @classmethod
    @ModelView.button
    @Workflow.transition('cancelled')
    def cancel(cls, moves):
        pool = Pool()
        Layer = pool.get('stock.valuation.layer')
        Product = pool.get('product.product')
        done = [m for m in moves if m.state == 'done']
        lock_now(Product, {m.product.id for m in done})
        super().cancel(moves)
        Layer.save(Layer.reversals(done))
        valued = [m for m in done if m._costing_type() not in {
                None, core_moves.TRANSFER}]
        by_company = {}
        for move in valued:
            by_company.setdefault(move.company, []).append(move)
        for company, removed in by_company.items():
            cls.restate({m.product for m in removed}, company,
                removed=cls.browse(removed))

    @classmethod
    def copy(cls, moves, default=None):
        default = default.copy() if default is not None else {}
        default.setdefault('valuation_layers', None)
        default.setdefault('valuation_consumptions', None)
        default.setdefault('returned_move', None)
        return super().copy(moves, default=default)
