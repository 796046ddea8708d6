# This file is part of perpetual_inventory.  The COPYRIGHT file at the top
# level of this repository contains the full copyright notices and license
# terms.
"""Landed costs restate their receipts through the costing engine.

account_stock_landed_cost adds the freight or duty of a supplier invoice to
the unit price of the received moves.  Here posting (or cancelling) a
landed cost restates their products at once, in the same transaction
(`models/costing.py`): the engine replays the product's done moves as
booked and with the new prices, and

- the difference of the receipts (their landed cost) debits Inventory for
  the goods still on hand and credits the landed-cost account (the account
  of the invoice lines), in an entry whose origin is the landed cost
  (under standard cost the inventory does not move: the purchase price
  variance takes it);
- the deliveries, counts and returns made since then are restated (cost of
  goods sold, ... against Inventory) with the move as origin.

Cancelling restates them back through the same path.
"""
from collections import defaultdict
from decimal import Decimal

from trytond.i18n import gettext
from trytond.model import ModelView, Workflow
from trytond.modules.account_product.exceptions import AccountError
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval
from trytond.transaction import Transaction

from ..exceptions import ValuationAccountError
from . import costing as costing_models
from .stock import lock_now

class AccountMove(metaclass=PoolMeta):
    __name__ = 'account.move'

    @classmethod
    def _get_origin(cls):
        return super()._get_origin() + ['account.landed_cost']


class LandedCost(metaclass=PoolMeta):
    __name__ = 'account.landed_cost'

    @classmethod
    def __setup__(cls):
        super().__setup__()
        # the categories and products carry company-dependent accounts
        for field in (cls.categories, cls.products):
            field.context = dict(field.context or {})
            field.context.setdefault('company', Eval('company', -1))
            field.depends = set(field.depends or ()) | {'company'}

    @classmethod
    @ModelView.button
    @Workflow.transition('cancelled')
    def cancel(cls, landed_costs):
        for landed_cost in landed_costs:
            posted = landed_cost.state == 'posted'
            super().cancel([landed_cost])
            if posted:
                landed_cost._post_landed_cost_entries(
                    landed_cost._landed_moves(), cancel=True)

    @classmethod
    @Workflow.transition('posted')
    def post(cls, landed_costs):
        # One at a time: each restates from the prices the one before left.
        for landed_cost in landed_costs:
            super().post([landed_cost])
            landed_cost._post_landed_cost_entries(landed_cost._landed_moves())

    def _landed_moves(self):
        "Return the done moves whose unit price the landed cost changes"
        return [m for m in self.stock_moves()
            if m.quantity and m.state == 'done']

    def _landed_cost_accounts(self, total):
        """Return [(account, amount)] sharing total between the accounts of
        the invoice lines by their amount (the first takes the rest)."""
        pool = Pool()
        Currency = pool.get('currency.currency')
        currency = self.company.currency
        shares = defaultdict(Decimal)
        for line in self.invoice_lines:
            with Transaction().set_context(date=line.invoice.currency_date):
                shares[line.account] += Currency.compute(
                    line.invoice.currency, line.amount, currency,
                    round=False)
        accounts = sorted(shares, key=lambda a: (-abs(shares[a]), a.id))
        weight = sum(shares.values(), Decimal(0))
        result = []
        rest = total
        for account in accounts[1:]:
            amount = currency.round(total * shares[account] / weight) \
                if weight else Decimal(0)
            result.append((account, amount))
            rest -= amount
        if accounts:
            result.insert(0, (accounts[0], rest))
        return result

    def _landed_cost_account(self, product, name):
        "Return the account of the product's category or a clear error"
        pool = Pool()
        Category = pool.get('product.category')
        try:
            return getattr(product, name + '_used')
        except AccountError:
            category = product.template.account_category
            raise ValuationAccountError(gettext(
                    'perpetual_inventory.msg_landed_cost_account_missing',
                    landed_cost=self.rec_name, product=product.rec_name,
                    category=category.rec_name if category else '',
                    account=Category.fields_get([name])[name]['string'],
                    company=self.company.rec_name))

    def _post_landed_cost_entries(self, moves, cancel=False):
        "Restate the products of the moves through the engine"
        pool = Pool()
        Move = pool.get('stock.move')
        Product = pool.get('product.product')
        Restatement = costing_models.Restatement
        products = sorted({m.product for m in moves}, key=lambda p: p.id)
        if not products:
            return
        lock_now(Product, products)
        for product in products:
            # fail early, with a message naming the category and account
            self._landed_cost_account(product, 'account_stock')
            method = product.get_multivalue(
                'cost_price_method', company=self.company.id)
            self._landed_cost_account(product, 'account_price_variance'
                if method == 'fixed' else 'account_cogs')

        def counterparts(value):
            return [(account, -amount)
                for account, amount in self._landed_cost_accounts(value)]
        restatement = Restatement(
            origin=self, counterparts=counterparts,
            repriced=[m.id for m in moves],
            description=gettext(
                'perpetual_inventory.msg_landed_cost_cancel_entry'
                if cancel else 'perpetual_inventory.msg_landed_cost_entry',
                landed_cost=self.rec_name))
        Move.restate(products, self.company, restatement=restatement)
        Move.prices_restated(products)
