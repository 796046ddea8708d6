# This file is part of perpetual_inventory.  The COPYRIGHT file at the top
# level of this repository contains the full copyright notices and license
# terms.
"""Stock valuation at a date and its reconciliation with the ledger.

Both are SQL over the valuation layers and the journal lines: no Python
loop over moves.
"""
import datetime as dt
import io
from decimal import Decimal

from sql import Literal, Null, Union
from sql.aggregate import Max, Min, Sum
from sql.conditionals import Coalesce
from sql.functions import Abs, Round

from trytond.model import ModelSQL, ModelView, fields
from trytond.pool import Pool
from trytond.pyson import Eval
from trytond.transaction import Transaction
from trytond.wizard import Button, StateView, Wizard


# Below this, a sum of float quantities is zero: SQLite and PostgreSQL add
# up float quantities with residues such as 1e-16.
QUANTITY_RESIDUE = 1e-9


class ValuationContext(ModelView):
    "Stock Valuation Context"
    __name__ = 'stock.valuation.context'

    company = fields.Many2One('company.company', "Company", required=True)
    date = fields.Date("Date", required=True)

    @classmethod
    def default_company(cls):
        return Transaction().context.get('company')

    @classmethod
    def default_date(cls):
        return Pool().get('ir.date').today()


class ValuationLine(ModelSQL, ModelView):
    "Stock Valuation"
    __name__ = 'stock.valuation.line'

    company = fields.Many2One('company.company', "Company")
    product = fields.Many2One('product.product', "Product", context={
            'company': Eval('company', -1),
            }, depends={'company'})
    category = fields.Many2One(
        'product.category', "Accounting Category", context={
            'company': Eval('company', -1),
            }, depends={'company'})
    location = fields.Many2One('stock.location', "Location")
    warehouse = fields.Many2One('stock.location', "Warehouse")
    account = fields.Many2One('account.account', "Inventory Account")
    quantity = fields.Float("Quantity")
    value = fields.Numeric("Value", digits=(16, 2))
    currency = fields.Many2One('currency.currency', "Currency")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [
            ('product', 'ASC'), ('location', 'ASC'), ('id', 'ASC')]

    @classmethod
    def table_query(cls):
        pool = Pool()
        Layer = pool.get('stock.valuation.layer')
        Product = pool.get('product.product')
        Template = pool.get('product.template')
        context = Transaction().context
        layer = Layer.__table__()
        product = Product.__table__()
        template = Template.__table__()
        date = context.get('date') or dt.date.max
        company = context.get('company') or -1
        group = [layer.company, layer.product, template.account_category,
            layer.location, layer.warehouse, layer.account, layer.currency]
        return layer.join(product, condition=layer.product == product.id
            ).join(template, condition=product.template == template.id
            ).select(
                Min(layer.id).as_('id'),
                layer.company.as_('company'),
                layer.product.as_('product'),
                template.account_category.as_('category'),
                layer.location.as_('location'),
                layer.warehouse.as_('warehouse'),
                layer.account.as_('account'),
                layer.currency.as_('currency'),
                Sum(layer.quantity).as_('quantity'),
                # SQLite sums the decimals as floats (59.6800000000001):
                # the sum is rounded to the value's digits.
                cls.value.sql_cast(
                    Round(Sum(layer.value), cls.value.digits[1])).as_('value'),
                where=(layer.company == company) & (layer.date <= date),
                group_by=group,
                # a location emptied to a float's residue is not listed
                having=(Abs(Sum(layer.quantity)) > QUANTITY_RESIDUE)
                | (Round(Sum(layer.value), cls.value.digits[1]) != 0))


def ledger_by_entry(company_id, date, account_ids):
    "Return a query of the inventory accounts' amounts per journal entry"
    pool = Pool()
    Move = pool.get('account.move')
    Line = pool.get('account.move.line')
    move = Move.__table__()
    line = Line.__table__()
    return line.join(move, condition=line.move == move.id).select(
        line.move.as_('entry'),
        line.account.as_('account'),
        Sum(Coalesce(line.debit, 0) - Coalesce(line.credit, 0)).as_(
            'amount'),
        where=(move.company == company_id) & (move.date <= date)
        & line.account.in_(account_ids or [-1]),
        group_by=[line.move, line.account])


def layers_by_entry(company_id, date):
    "Return a query of the layers' values per journal entry and account"
    pool = Pool()
    Layer = pool.get('stock.valuation.layer')
    layer = Layer.__table__()
    return layer.select(
        layer.account_move.as_('entry'),
        layer.account.as_('account'),
        Sum(layer.value).as_('value'),
        Min(layer.move).as_('move'),
        where=(layer.company == company_id) & (layer.date <= date),
        group_by=[layer.account_move, layer.account])


def differences_union(company_id, date, account_ids):
    """Return the journal lines on inventory accounts and the layers as one
    union of (entry, account, amount, value, move) rows: grouped by entry
    and account, the groups whose amount and value differ are the
    differences"""
    pool = Pool()
    Move = pool.get('account.move')
    Line = pool.get('account.move.line')
    Layer = pool.get('stock.valuation.layer')
    move = Move.__table__()
    line = Line.__table__()
    layer = Layer.__table__()
    zero = Literal(0)
    lines = line.join(move, condition=line.move == move.id).select(
        line.move.as_('entry'),
        line.account.as_('account'),
        (Coalesce(line.debit, 0) - Coalesce(line.credit, 0)).as_('amount'),
        zero.as_('value'),
        zero.as_('move'),
        Literal(1).as_('ledger_rows'),
        zero.as_('layer_rows'),
        where=(move.company == company_id) & (move.date <= date)
        & line.account.in_(account_ids or [-1]))
    layers = layer.select(
        layer.account_move.as_('entry'),
        layer.account.as_('account'),
        zero.as_('amount'),
        layer.value.as_('value'),
        Coalesce(layer.move, 0).as_('move'),
        zero.as_('ledger_rows'),
        Literal(1).as_('layer_rows'),
        where=(layer.company == company_id) & (layer.date <= date))
    return Union(lines, layers, all_=True)


def inventory_accounts(company_id):
    "Return the ids of the inventory accounts: used by layers or of stock type"
    pool = Pool()
    Account = pool.get('account.account')
    Layer = pool.get('stock.valuation.layer')
    layer = Layer.__table__()
    cursor = Transaction().connection.cursor()
    cursor.execute(*layer.select(layer.account, distinct=True,
            where=(layer.company == company_id) & (layer.account != Null)))
    ids = {a for a, in cursor}
    # A liability of stock type (goods received not invoiced, which
    # supplier invoices may book on: "debt") holds no goods.
    ids.update(a.id for a in Account.search([
                ('company', '=', company_id),
                ('type.stock', '=', True),
                ('type.statement', '=', 'balance'),
                ('type.debt', '!=', True),
                ]))
    return sorted(ids)


def reconcile(company_id, date):
    """Compare the valuation with the inventory accounts at the date.

    Totals are two sums per account; the differences come from one full
    join of the ledger and the layers per journal entry and account, so
    that only the rows that differ reach Python.

    Returns:
        (totals, differences): totals per account as dicts with account,
        valuation, ledger, difference; differences as dicts with the kind,
        the journal entry or stock move it comes from and the amounts.
    """
    pool = Pool()
    Company = pool.get('company.company')
    cursor = Transaction().connection.cursor()
    currency = Company(company_id).currency
    accounts = inventory_accounts(company_id)
    ledger = ledger_by_entry(company_id, date, accounts)
    layers = layers_by_entry(company_id, date)

    def decimal(value):
        return currency.round(Decimal(str(value or 0)))

    totals = {}
    for query, key in [
            (ledger.select(ledger.account, Sum(ledger.amount),
                    group_by=[ledger.account]), 'ledger'),
            (layers.select(layers.account, Sum(layers.value),
                    group_by=[layers.account]), 'valuation')]:
        cursor.execute(*query)
        for account, amount in cursor:
            total = totals.setdefault(account, {
                    'account': account, 'valuation': Decimal(0),
                    'ledger': Decimal(0)})
            total[key] += decimal(amount)
    for total in totals.values():
        total['difference'] = total['ledger'] - total['valuation']

    union = differences_union(company_id, date, accounts)
    cursor.execute(*union.select(
            union.entry, union.account,
            Sum(union.amount), Sum(union.value), Max(union.move),
            Sum(union.ledger_rows), Sum(union.layer_rows),
            group_by=[union.entry, union.account],
            # Half a cent: robust to SQLite summing decimals as floats.
            having=Abs(Sum(union.amount) - Sum(union.value))
            >= 0.005))
    differences = []
    for (entry, account, amount, value, move, ledger_rows,
            layer_rows) in cursor:
        if entry is None:
            kind = 'move_without_entry'
        elif not layer_rows:
            kind = 'entry_without_layer'
        else:
            kind = 'amount_differs'
        amount, value = decimal(amount), decimal(value)
        differences.append({
                'kind': kind, 'entry': entry, 'move': move or None,
                'account': account, 'valuation': value, 'ledger': amount,
                'difference': amount - value,
                })
    differences.sort(key=lambda d: (d['account'] or 0, d['entry'] or 0))
    return [totals[a] for a in sorted(totals, key=lambda a: a or 0)], (
        differences)


class ReconcileStart(ValuationContext):
    "Reconcile Stock Valuation Start"
    __name__ = 'stock.valuation.reconcile.start'


class ReconcileResult(ModelView):
    "Reconcile Stock Valuation Result"
    __name__ = 'stock.valuation.reconcile.result'

    company = fields.Many2One('company.company', "Company", readonly=True)
    date = fields.Date("Date", readonly=True)
    currency = fields.Many2One('currency.currency', "Currency",
        readonly=True)
    valuation = fields.Numeric("Stock Valuation", digits=(16, 2),
        readonly=True)
    ledger = fields.Numeric("Inventory Accounts", digits=(16, 2),
        readonly=True)
    difference = fields.Numeric("Difference", digits=(16, 2), readonly=True)
    balanced = fields.Boolean("Balanced", readonly=True)
    accounts = fields.One2Many(
        'stock.valuation.reconcile.account', None, "Accounts",
        readonly=True)
    differences = fields.One2Many(
        'stock.valuation.reconcile.difference', None, "Differences",
        readonly=True)
    file = fields.Binary("Spreadsheet", filename='filename', readonly=True)
    filename = fields.Char("File Name", readonly=True)


class ReconcileAccount(ModelView):
    "Reconcile Stock Valuation Account"
    __name__ = 'stock.valuation.reconcile.account'

    account = fields.Many2One('account.account', "Account", readonly=True)
    valuation = fields.Numeric("Stock Valuation", digits=(16, 2),
        readonly=True)
    ledger = fields.Numeric("Ledger", digits=(16, 2), readonly=True)
    difference = fields.Numeric("Difference", digits=(16, 2), readonly=True)


class ReconcileDifference(ModelView):
    "Reconcile Stock Valuation Difference"
    __name__ = 'stock.valuation.reconcile.difference'

    kind = fields.Selection([
            ('entry_without_layer',
                "Entry on an inventory account without stock move"),
            ('move_without_entry', "Stock move without journal entry"),
            ('amount_differs', "Entry and valuation differ"),
            ], "Kind", readonly=True)
    entry = fields.Many2One('account.move', "Journal Entry", readonly=True)
    move = fields.Many2One('stock.move', "Stock Move", readonly=True)
    account = fields.Many2One('account.account', "Account", readonly=True)
    valuation = fields.Numeric("Stock Valuation", digits=(16, 2),
        readonly=True)
    ledger = fields.Numeric("Ledger", digits=(16, 2), readonly=True)
    difference = fields.Numeric("Difference", digits=(16, 2), readonly=True)


class Reconcile(Wizard):
    "Reconcile Stock Valuation"
    __name__ = 'stock.valuation.reconcile'

    start = StateView(
        'stock.valuation.reconcile.start',
        'perpetual_inventory.valuation_reconcile_start_view_form', [
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("Reconcile", 'result', 'tryton-ok', default=True),
            ])
    result = StateView(
        'stock.valuation.reconcile.result',
        'perpetual_inventory.valuation_reconcile_result_view_form', [
            Button("Close", 'end', 'tryton-close', default=True),
            ])

    def default_result(self, fields):
        pool = Pool()
        Company = pool.get('company.company')
        company = self.start.company
        totals, differences = reconcile(company.id, self.start.date)
        valuation = sum((t['valuation'] for t in totals), Decimal(0))
        ledger = sum((t['ledger'] for t in totals), Decimal(0))
        data = spreadsheet(
            Company(company.id), self.start.date, totals, differences)
        return {
            'company': company.id,
            'date': self.start.date,
            'currency': company.currency.id,
            'valuation': valuation,
            'ledger': ledger,
            'difference': ledger - valuation,
            'balanced': ledger == valuation and not differences,
            'accounts': [{k: v for k, v in t.items()} for t in totals],
            'differences': differences,
            'file': data,
            'filename': 'stock-valuation-%s.xlsx' % self.start.date,
            }


def spreadsheet(company, date, totals, differences):
    "Return the reconciliation as XLSX bytes, totals as on the screen"
    from openpyxl import Workbook
    from openpyxl.styles import Font
    pool = Pool()
    Account = pool.get('account.account')
    AccountMove = pool.get('account.move')
    Move = pool.get('stock.move')

    def name(Model, id_):
        return Model(id_).rec_name if id_ else ''

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Accounts"
    bold = Font(bold=True)
    sheet.append(["Stock valuation reconciliation", company.rec_name,
            date.isoformat()])
    sheet.append([])
    sheet.append(["Account", "Stock Valuation", "Ledger", "Difference"])
    for cell in sheet[3]:
        cell.font = bold
    for total in totals:
        sheet.append([name(Account, total['account']),
                total['valuation'], total['ledger'], total['difference']])
    sheet.append(["Total",
            sum((t['valuation'] for t in totals), Decimal(0)),
            sum((t['ledger'] for t in totals), Decimal(0)),
            sum((t['difference'] for t in totals), Decimal(0))])
    for cell in sheet[sheet.max_row]:
        cell.font = bold
    detail = workbook.create_sheet("Differences")
    detail.append(["Kind", "Journal Entry", "Stock Move", "Account",
            "Stock Valuation", "Ledger", "Difference"])
    kinds = dict(ReconcileDifference.kind.selection)
    for difference in differences:
        detail.append([kinds[difference['kind']],
                name(AccountMove, difference['entry']),
                name(Move, difference['move']),
                name(Account, difference['account']),
                difference['valuation'], difference['ledger'],
                difference['difference']])
    for worksheet in (sheet, detail):
        for row in worksheet.iter_rows():
            for cell in row:
                if isinstance(cell.value, Decimal):
                    cell.number_format = '#,##0.00'
    output = io.BytesIO()
    workbook.save(output)
    return output.getvalue()
