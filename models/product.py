# This file is part of perpetual_inventory.  The COPYRIGHT file at the top
# level of this repository contains the full copyright notices and license
# terms.
"""Stock accounts beyond continental's, following its pattern.

Each account is a company-dependent value of the accounting category
(``account_<name>``), read through ``account_<name>_used`` on the category,
the template and the product, which raises a user error naming the account
and the category when it is missing.
"""
import datetime as dt
from decimal import Decimal

from trytond import backend
from trytond.i18n import gettext
from trytond.model import fields
from trytond.modules.account_product.product import (
    account_used, template_property)
from trytond.modules.product import round_price
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval
from trytond.tools import grouped_slice
from trytond.transaction import Transaction, without_check_access

from ..core import costing

RESTATE_KEY = '_perpetual_inventory_restate'

account_names = [
    'account_cogs', 'account_stock_over_short', 'account_price_variance']


def _account_field(string, help, statements=('income',)):
    return fields.MultiValue(fields.Many2One(
            'account.account', string,
            domain=[
                ('closed', '!=', True),
                ('type.statement', 'in', list(statements)),
                ('company', '=', Eval('context', {}).get('company', -1)),
                ],
            states={
                'invisible': (~Eval('context', {}).get('company')
                    | Eval('account_parent')
                    | ~Eval('accounting', False)),
                },
            help=help))


class Category(metaclass=PoolMeta):
    __name__ = 'product.category'
    account_cogs = _account_field(
        "Account Cost of Goods Sold",
        "Debited with the cost of the goods delivered to customers, "
        "credited at the original cost when they return.")
    # An opening count is booked against an opening-balance equity
    # account: set it here for the opening inventory, then the over/short
    # account for the counts that follow.
    account_stock_over_short = _account_field(
        "Account Inventory Over/Short",
        "The counterpart of count differences and lost and found "
        "(an opening-balance equity account for the opening count).",
        statements=('income', 'balance'))
    account_price_variance = _account_field(
        "Account Purchase Price Variance",
        "The difference between the purchase price and the standard cost "
        "of goods received under fixed cost.")

    @classmethod
    def multivalue_model(cls, field):
        pool = Pool()
        if field in account_names:
            return pool.get('product.category.account')
        return super().multivalue_model(field)

    @property
    @account_used('account_cogs')
    def account_cogs_used(self):
        pass

    @property
    @account_used('account_stock_over_short')
    def account_stock_over_short_used(self):
        pass

    @property
    @account_used('account_price_variance')
    def account_price_variance_used(self):
        pass

    @fields.depends('accounting', *account_names)
    def on_change_accounting(self):
        super().on_change_accounting()
        if not self.accounting:
            for name in account_names:
                setattr(self, name, None)


class CategoryAccount(metaclass=PoolMeta):
    __name__ = 'product.category.account'
    account_cogs = fields.Many2One(
        'account.account', "Account Cost of Goods Sold",
        domain=[
            ('closed', '!=', True),
            ('type.statement', '=', 'income'),
            ('company', '=', Eval('company', -1)),
            ])
    account_stock_over_short = fields.Many2One(
        'account.account', "Account Inventory Over/Short",
        domain=[
            ('closed', '!=', True),
            ('type.statement', 'in', ['income', 'balance']),
            ('company', '=', Eval('company', -1)),
            ])
    account_price_variance = fields.Many2One(
        'account.account', "Account Purchase Price Variance",
        domain=[
            ('closed', '!=', True),
            ('type.statement', '=', 'income'),
            ('company', '=', Eval('company', -1)),
            ])

    @classmethod
    def get_account_stock_type_statements(cls):
        # Goods received not invoiced (account_stock_in) is a liability
        # cleared by the supplier invoices, not an income statement account.
        return super().get_account_stock_type_statements() + ['balance']


class Template(metaclass=PoolMeta):
    __name__ = 'product.template'

    @classmethod
    def __setup__(cls):
        super().__setup__()
        lifo = ('lifo', "LIFO")
        if lifo not in cls.cost_price_method.selection:
            cls.cost_price_method._field.selection.append(lifo)

    @property
    @account_used('account_cogs', 'account_category')
    def account_cogs_used(self):
        pass

    @property
    @account_used('account_stock_over_short', 'account_category')
    def account_stock_over_short_used(self):
        pass

    @property
    @account_used('account_price_variance', 'account_category')
    def account_price_variance_used(self):
        pass


class Product(metaclass=PoolMeta):
    __name__ = 'product.product'
    account_cogs_used = template_property('account_cogs_used')
    account_stock_over_short_used = template_property(
        'account_stock_over_short_used')
    account_price_variance_used = template_property(
        'account_price_variance_used')

    def _cost_layers_state(self, method):
        """Return the core costing state of the goods on hand.

        The layers are the incoming moves with quantity not yet consumed
        (product_cost_fifo's fifo_quantity), oldest first.
        """
        pool = Pool()
        Company = pool.get('company.company')
        Uom = pool.get('product.uom')
        company = Company(Transaction().context['company'])
        precision = company.currency.digits and Decimal(1).scaleb(
            -company.currency.digits) or Decimal('0.01')
        moves = list(reversed(self._get_available_fifo_moves()))
        layers = []
        for move in moves:
            quantity = Decimal(str(Uom.compute_qty(
                        move.unit, move.fifo_quantity_available,
                        self.default_uom, round=False)))
            if quantity <= 0:
                continue
            unit_cost = move.get_cost_price()
            value = (quantity * unit_cost).quantize(precision)
            layers.append(costing.Layer(
                    ref=move.id, date=move.effective_date, kind='receipt',
                    quantity=quantity, unit_cost=unit_cost, value=value,
                    remaining_quantity=quantity, remaining_value=value))
        return costing.State(
            method=method, precision=precision,
            quantity=sum((l.remaining_quantity for l in layers), Decimal(0)),
            value=sum((l.remaining_value for l in layers), Decimal(0)),
            layers=tuple(layers),
            last_cost=self.get_multivalue('cost_price') or Decimal(0))

    @classmethod
    def recompute_cost_price(cls, products, start=None):
        """Recompute as Tryton does, then restate the outgoing moves.

        Tryton rewrites the cost price of the moves from ``start``; the
        entries of the outgoing ones are restated by the difference (see
        ``update_cost_price``), and the goods on hand are revalued by what
        is left.
        """
        pool = Pool()
        Move = pool.get('stock.move')
        goods = [p for p in products if p.type == 'goods']
        before = {}
        in_max = backend.MAX_QUERY_PARAMS // 2
        for sub in grouped_slice(goods, count=in_max):
            domain = [
                ('product', 'in', [p.id for p in sub]),
                cls._domain_moves_cost(),
                cls._domain_out_moves_cost(),
                ]
            if start:
                domain.append(('effective_date', '>=', start))
            for move in Move.search(domain, order=[]):
                before[move.id] = move.cost_price
        with Transaction().set_context(**{RESTATE_KEY: before}):
            super().recompute_cost_price(products, start=start)

    @classmethod
    def update_cost_price(cls, costs):
        """Post the restatements and the revaluation of the goods on hand.

        Within a recomputation, the outgoing moves whose cost changed are
        restated first (their event account against Inventory); the goods
        on hand are then revalued as continental does (new minus old cost,
        times the quantity on hand) less what the restatements already
        moved, so that the inventory account is not adjusted twice.
        Every entry on an inventory account gets its valuation layer.
        """
        pool = Pool()
        AccountMove = pool.get('account.move')
        Layer = pool.get('stock.valuation.layer')
        Move = pool.get('stock.move')
        products = [p for ps in costs.values() for p in ps]
        origins = [str(p) for p in products]
        known = {e.id for e in AccountMove.search([
                    ('origin', 'in', origins)])}
        before = Transaction().context.get(RESTATE_KEY)
        if before:
            restated = Move.restate_costs(before)
            cls._revalue_on_hand(costs, restated)
        super().update_cost_price(costs)
        entries = [e for e in AccountMove.search([
                    ('origin', 'in', origins),
                    ('state', '=', 'posted'),
                    ]) if e.id not in known]
        Layer.save(Layer.revaluations(entries))

    @classmethod
    @without_check_access
    def _revalue_on_hand(cls, costs, restated):
        """Revalue the goods on hand of the products less what was restated
        and store their new cost (continental then finds no difference)."""
        pool = Pool()
        AccountMove = pool.get('account.move')
        Company = pool.get('company.company')
        Date = pool.get('ir.date')
        Location = pool.get('stock.location')
        Period = pool.get('account.period')
        company = Company(Transaction().context['company'])
        with Transaction().set_context(company=company.id):
            today = Date.today()
        period = Period.find(company, date=today)
        valued = bool(period.fiscalyear.account_stock_method)
        locations = Location.search([('type', '=', 'storage')])
        entries, to_write = [], []
        with Transaction().set_context(
                locations=[l.id for l in locations], stock_date_end=today):
            for cost, products in costs.items():
                products = cls.browse(products)
                for product in products:
                    amount = company.currency.round(
                        Decimal(str(product.quantity))
                        * (cost - product.cost_price))
                    amount -= restated.get(product.id, Decimal(0))
                    if amount and valued:
                        entries.append(product._update_cost_price_move(
                                amount, company, period, today))
                to_write.extend((products, {'cost_price': cost}))
        if to_write:
            cls.write(*to_write)
        AccountMove.save(entries)
        AccountMove.post(entries)

    def _update_cost_price_move(self, amount, company, period, date):
        pool = Pool()
        Account = pool.get('account.account')
        move = super()._update_cost_price_move(amount, company, period, date)
        # A landed cost revalues the goods on hand against its own account
        # (see models/landed_cost.py), not goods received not invoiced.
        landed_cost = Transaction().context.get(
            '_perpetual_inventory_landed_cost')
        if landed_cost:
            counterpart = Account(landed_cost['account'])
            stock = self.account_stock_used
            for line in move.lines:
                if line.account != stock:
                    line.account = counterpart
            move.description = gettext(
                'perpetual_inventory.msg_landed_cost_revaluation',
                landed_cost=landed_cost['landed_cost'],
                product=self.rec_name)
        return move

    def get_fifo_move(self, quantity=0.0, date=None):
        "Return (move, quantity) to consume, newest first under LIFO"
        pool = Pool()
        Move = pool.get('stock.move')
        method = self.get_multivalue('cost_price_method')
        if method != 'lifo' or date:
            return super().get_fifo_move(quantity=quantity, date=date)
        state = self._cost_layers_state(method)
        if not quantity or not state.layers:
            return []
        _, result = costing.apply(state, costing.Delivery(
                ref='issue', date=dt.date.today(),
                quantity=Decimal(str(quantity))))
        return [(Move(c.layer_ref), float(c.quantity))
            for c in result.consumptions if not c.provisional]

    def recompute_cost_price_lifo(self, start=None):
        "Return the cost of the goods on hand under LIFO"
        state = self._cost_layers_state('lifo')
        if state.quantity > 0:
            return round_price(state.value / state.quantity)
        return self.get_multivalue('cost_price') or Decimal(0)
