# This file is part of perpetual_inventory.  The COPYRIGHT file at the top
# level of this repository contains the full copyright notices and license
# terms.
"""Landed costs post their own entry: Inventory against the landed-cost
account.

account_stock_landed_cost adds the freight or duty of a supplier invoice to
the unit price of the received moves.  Tryton then leaves the new cost to
the scheduled cost price recomputation, whose revaluation (from
account_stock_continental) credits goods received not invoiced, while the
invoice line has already debited the landed-cost account.

Here posting (or cancelling) a landed cost recomputes the cost of its
products at once, in the same transaction, so the scheduled recomputation
has nothing left to do (no double count), and:

- the revaluation of the goods still on hand debits Inventory and credits
  the landed-cost account (the account of the invoice lines);
- the part of the cost that belongs to goods already gone debits cost of
  goods sold (or the purchase price variance under standard cost, whose
  inventory value does not change) in one entry of the landed cost.

Cancelling posts the exact reverse amounts through the same path.
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

CONTEXT_KEY = '_perpetual_inventory_landed_cost'


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
            before = (landed_cost._landed_unit_prices()
                if landed_cost.state == 'posted' else {})
            super().cancel([landed_cost])
            if before:
                landed_cost._post_landed_cost_entries(before, cancel=True)

    @classmethod
    @Workflow.transition('posted')
    def post(cls, landed_costs):
        # One at a time: the cost each adds is read from the unit prices
        # before and after, which two landed costs of a shipment share.
        for landed_cost in landed_costs:
            before = landed_cost._landed_unit_prices()
            super().post([landed_cost])
            landed_cost._post_landed_cost_entries(before)

    def _landed_unit_prices(self):
        "Return the unit price of the moves the landed cost changes"
        return {m.id: m.unit_price for m in self.stock_moves()
            if m.quantity and m.state == 'done'}

    def _landed_amounts(self, before):
        """Return the amount added to each product (company currency)
        and the earliest date of its moves."""
        pool = Pool()
        Move = pool.get('stock.move')
        Currency = pool.get('currency.currency')
        currency = self.company.currency
        amounts = defaultdict(Decimal)
        start = {}
        for move in Move.browse(list(before)):
            difference = (move.unit_price - before[move.id]) * Decimal(
                str(move.quantity))
            with Transaction().set_context(date=move.effective_date):
                difference = Currency.compute(
                    move.currency, difference, currency, round=False)
            amounts[move.product] += difference
            start[move.product] = min(
                start.get(move.product, move.effective_date),
                move.effective_date)
        return {p: currency.round(a) for p, a in amounts.items()}, start

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

    def _post_landed_cost_entries(self, before, cancel=False):
        pool = Pool()
        AccountConfiguration = pool.get('account.configuration')
        AccountMove = pool.get('account.move')
        Line = pool.get('account.move.line')
        Period = pool.get('account.period')
        Product = pool.get('product.product')
        Date = pool.get('ir.date')
        company = self.company
        with Transaction().set_context(company=company.id):
            today = Date.today()
        period = Period.find(company, date=today)
        if not period.fiscalyear.account_stock_method:
            return
        amounts, start = self._landed_amounts(before)
        amounts = {p: a for p, a in amounts.items() if a}
        if not amounts:
            return
        total = sum(amounts.values(), Decimal(0))
        accounts = self._landed_cost_accounts(total)
        if not accounts:
            return
        clearing = accounts[0][0]
        products = sorted(amounts, key=lambda p: p.id)
        for product in products:
            # fail early, with a message naming the category and account
            self._landed_cost_account(product, 'account_stock')

        # The revaluation of the goods on hand, by continental, now and
        # against the landed-cost account.
        origins = [str(p) for p in products]
        known = {m.id for m in AccountMove.search(
                [('origin', 'in', origins)])}
        with Transaction().set_context(
                company=company.id, **{CONTEXT_KEY: {
                        'account': clearing.id,
                        'landed_cost': self.rec_name,
                        }}):
            Product.recompute_cost_price(
                Product.browse(products), start=min(start.values()))
        revalued = defaultdict(Decimal)
        for entry in AccountMove.search([
                    ('origin', 'in', origins),
                    ('state', '=', 'posted'),
                    ]):
            if entry.id in known:
                continue
            product = entry.origin
            account = product.account_stock_used
            revalued[product] += sum(
                (l.debit - l.credit for l in entry.lines
                    if l.account == account), Decimal(0))

        # What did not go to the goods on hand belongs to the goods gone.
        balances = defaultdict(Decimal)
        for product in products:
            # continental's revaluation credited the clearing account
            balances[clearing] += revalued[product]
            rest = amounts[product] - revalued[product]
            if rest:
                method = product.get_multivalue(
                    'cost_price_method', company=company.id)
                name = ('account_price_variance' if method == 'fixed'
                    else 'account_cogs')
                balances[self._landed_cost_account(product, name)] += rest
        for account, amount in accounts:
            balances[account] -= amount
        lines = [Line(
                account=account,
                debit=max(amount, Decimal(0)),
                credit=max(-amount, Decimal(0)))
            for account, amount in sorted(
                balances.items(), key=lambda i: i[0].id)
            if amount]
        if not lines:
            return
        config = AccountConfiguration(1)
        move = AccountMove(
            company=company, period=period, journal=config.stock_journal,
            date=today, origin=self,
            description=gettext(
                'perpetual_inventory.msg_landed_cost_cancel_entry'
                if cancel else 'perpetual_inventory.msg_landed_cost_entry',
                landed_cost=self.rec_name),
            lines=lines)
        move.save()
        AccountMove.post([move])
