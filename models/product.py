# This file is part of perpetual_inventory.  The COPYRIGHT file at the top
# level of this repository contains the full copyright notices and license
# terms.
"""Stock accounts beyond continental's, following its pattern.

Each account is a company-dependent value of the accounting category
(``account_<name>``), read through ``account_<name>_used`` on the category,
the template and the product, which raises a user error naming the account
and the category when it is missing.
"""
from trytond.model import fields
from trytond.modules.account_product.product import (
    account_used, template_property)
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval

account_names = [
    'account_cogs', 'account_stock_over_short', 'account_price_variance']


def _account_field(string, help):
    return fields.MultiValue(fields.Many2One(
            'account.account', string,
            domain=[
                ('closed', '!=', True),
                ('type.statement', '=', 'income'),
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
    account_stock_over_short = _account_field(
        "Account Inventory Over/Short",
        "The counterpart of count differences and lost and found.")
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
            ('type.statement', '=', 'income'),
            ('company', '=', Eval('company', -1)),
            ])
    account_price_variance = fields.Many2One(
        'account.account', "Account Purchase Price Variance",
        domain=[
            ('closed', '!=', True),
            ('type.statement', '=', 'income'),
            ('company', '=', Eval('company', -1)),
            ])


class Template(metaclass=PoolMeta):
    __name__ = 'product.template'

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
