# This file is part of perpetual_inventory.  The COPYRIGHT file at the top
# level of this repository contains the full copyright notices and license
# terms.
"""Stock accounts beyond continental's, following its pattern.

Each account is a company-dependent value of the accounting category
(``account_<name>``), read through ``account_<name>_used`` on the category,
the template and the product, which raises a user error naming the account
and the category when it is missing.
"""

from trytond import backend
from trytond.model import fields
from trytond.modules.account_product.product import (
    account_used, template_property)
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval
from trytond.tools import grouped_slice
from trytond.transaction import Transaction


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

    @classmethod
    def recompute_cost_price(cls, products, start=None):
        """Recompute the cost through the costing engine.

        Tryton's own recomputation is replaced: each product is restated
        by the engine's replay of its done moves (the moves whose cost
        changed get a restatement entry, see models/costing.py); ``start``
        is not needed, the replay starts at the first move.
        """
        pool = Pool()
        Company = pool.get('company.company')
        Move = pool.get('stock.move')
        company = Transaction().context.get('company')
        goods = [p for p in products if p.type == 'goods']
        if company and goods:
            Move.restate(goods, Company(company))
        in_max = backend.MAX_QUERY_PARAMS // 2
        for sub in grouped_slice(goods, count=in_max):
            Move.prices_restated(list(sub), start=start)

    @classmethod
    def update_cost_price(cls, costs):
        """Record the revaluations continental posts on a new cost price
        (Modify Cost Price) as valuation layers."""
        pool = Pool()
        AccountMove = pool.get('account.move')
        Layer = pool.get('stock.valuation.layer')
        products = [p for ps in costs.values() for p in ps]
        origins = [str(p) for p in products]
        known = {e.id for e in AccountMove.search([
                    ('origin', 'in', origins)])}
        super().update_cost_price(costs)
        entries = [e for e in AccountMove.search([
                    ('origin', 'in', origins),
                    ('state', '=', 'posted'),
                    ]) if e.id not in known]
        Layer.save(Layer.revaluations(entries))
