# This file is part of perpetual_inventory.  The COPYRIGHT file at the top
# level of this repository contains the full copyright notices and license
# terms.
"""The audit of a company's valuation: its done moves replayed by the
engine (core/audit.py) and compared with its layers and entries.

The facts are read with a few python-sql queries (the done moves, the
layers per move, the posted lines per origin and account); the ORM only
for what is per category, per product with a cost change, or per landed
cost. The wizard and ``perpetual-inventory audit`` show the same report.
"""
import datetime as dt
import io
from collections import defaultdict
from decimal import Decimal

from sql import Null
from sql.aggregate import Min, Sum
from sql.conditionals import Coalesce
from sql.operators import Like, NotLike

from trytond.model import ModelView, fields
from trytond.modules.account_product.exceptions import AccountError
from trytond.modules.product import round_price
from trytond.pool import Pool
from trytond.transaction import Transaction
from trytond.wizard import Button, StateView, Wizard

from ..core import audit as core_audit
from ..core.moves import COUNTERPART_ACCOUNTS, MoveFact
from .valuation import inventory_accounts

# The category accounts a replayed amount may be posted on.
ACCOUNT_NAMES = sorted(
    set(COUNTERPART_ACCOUNTS.values())
    | {'account_cogs', 'account_price_variance'})
# So many lines at most in the wizard and in the spreadsheet.
SHOWN_LINES = 1000
SPREADSHEET_LINES = 100000


def _date(value):
    "A date from the database (a string on SQLite)"
    if isinstance(value, str):
        return dt.date.fromisoformat(value[:10])
    return value


# The digits of the layers' values and of the sums compared.
FOUR = Decimal('0.0001')


def _decimal(value):
    """Return a Decimal of a database number: SQLite sums decimals as
    floats, rounded back to the 4 digits of the columns"""
    if isinstance(value, Decimal):
        return value
    if value is None:
        return Decimal(0)
    return Decimal(str(value)).quantize(FOUR)


def _origin_id(origin):
    return int(origin.split(',', 1)[1])


def read_moves(company_id):
    """Return per product the done moves of goods of the company, as rows
    (id, product, date, from type, to type, internal quantity, quantity,
    unit price, unit landed cost, currency, unit, returned move,
    cost price), by product, effective date and id."""
    pool = Pool()
    Move = pool.get('stock.move')
    Location = pool.get('stock.location')
    Product = pool.get('product.product')
    Template = pool.get('product.template')
    move = Move.__table__()
    source = Location.__table__()
    target = Location.__table__()
    product = Product.__table__()
    template = Template.__table__()
    cursor = Transaction().connection.cursor()
    cursor.execute(*move
        .join(source, condition=move.from_location == source.id)
        .join(target, condition=move.to_location == target.id)
        .join(product, condition=move.product == product.id)
        .join(template, condition=product.template == template.id)
        .select(
            move.id, move.product, move.effective_date, source.type,
            target.type, move.internal_quantity, move.quantity,
            move.unit_price, move.unit_landed_cost, move.currency,
            move.unit, move.returned_move, move.cost_price,
            template.default_uom,
            where=(move.company == company_id) & (move.state == 'done')
            & (template.type == 'goods'),
            order_by=[move.product, move.effective_date, move.id]))
    # fetchall: a row at a time costs more than the query itself
    return cursor.fetchall()


def read_layers(company_id):
    "Return move id -> (quantity, value), the sums of its layers"
    pool = Pool()
    Layer = pool.get('stock.valuation.layer')
    layer = Layer.__table__()
    cursor = Transaction().connection.cursor()
    cursor.execute(*layer.select(
            layer.move, Sum(layer.quantity), Sum(layer.value),
            where=(layer.company == company_id) & (layer.move != Null),
            group_by=[layer.move]))
    return {m: (q or 0, _decimal(v)) for m, q, v in cursor.fetchall()}


def read_posted(company_id, inventory):
    """Return the posted amounts per origin and account, and the product
    revaluation entries.

    The entries of a move or a landed cost are summed per origin (a move
    may have several: its own, a correction, a restatement); a
    revaluation of a product and an entry with any other origin or none
    are keyed by the entry ('account.move,<id>'), the latter only on the
    inventory accounts. Moves are keyed by their id.
    """
    pool = Pool()
    AccountMove = pool.get('account.move')
    Line = pool.get('account.move.line')
    entry = AccountMove.__table__()
    line = Line.__table__()
    cursor = Transaction().connection.cursor()
    amount = Sum(Coalesce(line.debit, 0) - Coalesce(line.credit, 0))
    join = line.join(entry, condition=line.move == entry.id)
    posted = defaultdict(dict)
    where = (entry.company == company_id) & (entry.state == 'posted')
    # The lines one by one, summed here: an entry has a line or two per
    # account, and grouping a million origins in the database costs more
    # (PostgreSQL spills the hash to disk).
    cursor.execute(*join.select(
            entry.origin, line.account,
            Coalesce(line.debit, 0) - Coalesce(line.credit, 0),
            where=where & (Like(entry.origin, 'stock.move,%')
                | Like(entry.origin, 'account.landed_cost,%'))))
    keys = {}
    for origin, account, value in cursor.fetchall():
        key = keys.get(origin)
        if key is None:
            key = keys[origin] = (_origin_id(origin)
                if origin.startswith('stock.move,') else origin)
        amounts = posted[key]
        amounts[account] = amounts.get(account, 0) + _decimal(value)
    del keys
    revaluations = []
    others = (NotLike(Coalesce(entry.origin, ''), 'stock.move,%')
        & NotLike(Coalesce(entry.origin, ''), 'account.landed_cost,%'))
    cursor.execute(*join.select(
            entry.id, entry.origin, entry.date, line.account, amount,
            where=where & others & (
                Like(entry.origin, 'product.product,%')
                | line.account.in_(list(inventory) or [-1])),
            group_by=[entry.id, entry.origin, entry.date, line.account]))
    seen = set()
    for id_, origin, date, account, value in cursor:
        key = 'account.move,%d' % id_
        posted[key][account] = _decimal(value)
        if (origin and origin.startswith('product.product,')
                and key not in seen):
            seen.add(key)
            revaluations.append((_origin_id(origin), key, _date(date), id_))
    return posted, revaluations


def category_accounts(company_id, category_ids):
    "Return category id -> {account name: account id or None}"
    pool = Pool()
    Category = pool.get('product.category')
    result = {}
    with Transaction().set_context(company=company_id):
        for category in Category.browse(
                [c for c in category_ids if c is not None]):
            accounts = {}
            for name in ACCOUNT_NAMES + ['account_stock']:
                try:
                    account = getattr(category, name + '_used')
                except AccountError:
                    account = None
                accounts[name] = account.id if account else None
            result[category.id] = accounts
    result[None] = {n: None for n in ACCOUNT_NAMES + ['account_stock']}
    return result


def landed_cost_facts(company_id):
    """Return per product the LandedCostFacts of the posted landed costs:
    each receipt's share, as account_stock_landed_cost allocated it."""
    pool = Pool()
    LandedCost = pool.get('account.landed_cost')
    facts = defaultdict(list)
    with Transaction().set_context(company=company_id):
        for landed_cost in LandedCost.search([
                    ('company', '=', company_id),
                    ('state', '=', 'posted'),
                    ]):
            currency = landed_cost.company.currency
            moves = [m for m in landed_cost.stock_moves()
                if m.quantity and m.state == 'done']
            if not moves:
                continue
            factors = landed_cost.factors or landed_cost._get_factors()
            for cost in landed_cost._costs_to_allocate(moves, factors):
                move = cost['move']
                amount = currency.round(
                    cost['unit_landed_cost'] * Decimal(str(move.quantity)))
                if amount:
                    facts[move.product.id].append(
                        core_audit.LandedCostFact(
                            str(landed_cost), landed_cost.posted_date,
                            move.id, amount))
    return facts


def cost_price_methods(company_id, template_ids):
    """Return template id -> costing method in the company (one query; the
    configuration's default for a template without a value)"""
    pool = Pool()
    Method = pool.get('product.cost_price_method')
    Template = pool.get('product.template')
    table = Method.__table__()
    cursor = Transaction().connection.cursor()
    cursor.execute(*table.select(table.template, table.cost_price_method,
            where=(table.company == company_id)
            & (table.cost_price_method != Null)))
    methods = dict(cursor)
    default = Template.default_cost_price_method(company=company_id)
    return {t: methods.get(t) or default for t in template_ids}


class _Prices:
    "The unit price of a move in the company's currency and default unit"

    def __init__(self, company):
        pool = Pool()
        self.Currency = pool.get('currency.currency')
        self.Uom = pool.get('product.uom')
        self.company = company
        self.currency = company.currency.id
        self.rates = {}
        self.prices = {}

    def __call__(self, row):
        (_, _, date, _, _, _, _, unit_price, landed, currency, unit, _, _,
            default_uom) = row
        if unit_price is None:
            return None
        if currency == self.currency:
            # the same prices come back: computed once
            key = (unit_price, landed, unit, default_uom)
            price = self.prices.get(key)
            if price is None:
                price = self.prices[key] = self._price(row)
            return price
        return self._price(row)

    def _price(self, row):
        Currency, Uom = self.Currency, self.Uom
        (_, _, date, _, _, _, _, unit_price, landed, currency, unit, _, _,
            default_uom) = row
        # The purchase price: landed costs are events of their own.
        price = _decimal(unit_price) - _decimal(landed)
        if currency != self.currency:
            key = (currency, date)
            if key not in self.rates:
                with Transaction().set_context(date=_date(date)):
                    self.rates[key] = Currency.compute(
                        Currency(currency), Decimal(1), self.company.currency,
                        round=False)
            price *= self.rates[key]
        if unit != default_uom:
            price = Uom.compute_price(Uom(unit), price, Uom(default_uom))
        return round_price(price)


def histories(company_id):
    """Return the core_audit.History of every product of the company, the
    stored layers and the posted amounts, and the inventory accounts."""
    pool = Pool()
    Company = pool.get('company.company')
    FiscalYear = pool.get('account.fiscalyear')
    Product = pool.get('product.product')
    Location = pool.get('stock.location')
    company = Company(company_id)
    precision = Decimal(1).scaleb(-company.currency.digits)
    prices = _Prices(company)
    # Continental posts the moves dated in a fiscal year of its method.
    years = [(y.start_date, y.end_date) for y in FiscalYear.search([
                ('company', '=', company_id),
                ('account_stock_method', '!=', None),
                ])]

    postings = {}

    def posting(date):
        if date not in postings:
            postings[date] = any(s <= date <= e for s, e in years)
        return postings[date]

    rows = defaultdict(list)
    for row in read_moves(company_id):
        rows[row[1]].append(row)
    products = Product.browse(sorted(rows))
    methods = cost_price_methods(
        company_id, {p.template.id for p in products})
    categories = category_accounts(company_id, {
            p.template.account_category.id
            if p.template.account_category else None for p in products})
    inventory = set(inventory_accounts(company_id))
    inventory.update(
        a['account_stock'] for a in categories.values() if a['account_stock'])
    inventory.update(w.account_stock.id for w in Location.search([
                ('type', '=', 'warehouse'),
                ('account_stock', '!=', None),
                ]) if w.account_stock.company.id == company_id)
    posted, revaluations = read_posted(company_id, inventory)
    landed = landed_cost_facts(company_id)
    changes = defaultdict(list)
    for product_id, key, date, id_ in revaluations:
        changes[product_id].append((date, id_, key))

    quantities = {}  # float -> Decimal: few distinct quantities
    result = []
    for product in products:
        product_rows = rows[product.id]
        method = methods[product.template.id]
        category = product.template.account_category
        accounts = categories[category.id if category else None]
        facts, unposted = [], set()
        for row in product_rows:
            (id_, _, date, from_type, to_type, internal_quantity, _, _, _,
                _, _, returned, _, _) = row
            date = _date(date)
            unit_price = None
            if (from_type in {'supplier', 'production', 'lost_found'}
                    and to_type == 'storage'):
                unit_price = prices(row)
            quantity = quantities.get(internal_quantity)
            if quantity is None:
                quantity = quantities[internal_quantity] = Decimal(
                    str(internal_quantity))
            facts.append(MoveFact(
                    id_, date, from_type, to_type, quantity, unit_price,
                    returned))
            if not posting(date):
                unposted.add(id_)
        extra = list(landed.get(product.id, []))
        extra.extend(_cost_changes(
                product, company_id, changes.get(product.id, []),
                product_rows))
        if extra:
            facts = sorted(facts + extra, key=core_audit.booking_key)
        # The cost the first move was done at: the standard in force, or
        # the product's cost an opening count is valued at.
        initial_cost = next((_decimal(r[12]) for r in product_rows
                if r[12] is not None), Decimal(0))
        result.append(core_audit.History(
                product.id, method, tuple(facts), accounts,
                initial_cost=initial_cost, precision=precision,
                unposted=frozenset(unposted)))
    return result, read_layers(company_id), posted, inventory


def _cost_changes(product, company_id, entries, rows):
    """Return the CostChangeFacts of a product's revaluation entries.

    The new cost is the one the next move of the product was done at (the
    cost in force after the change), or the product's cost today.
    """
    facts = []
    for date, id_, key in sorted(entries):
        cost = next((_decimal(r[12]) for r in rows
                if _date(r[2]) > date and r[12] is not None), None)
        if cost is None:
            with Transaction().set_context(company=company_id):
                cost = product.get_multivalue('cost_price') or Decimal(0)
        facts.append(core_audit.CostChangeFact(key, date, cost))
    return facts


def run(company_id):
    "Return the core_audit.Report of the company"
    histories_, stored, posted, inventory = histories(company_id)
    return core_audit.audit(histories_, stored, posted, inventory)


def first_lines(report):
    "Return the lines of each product's first differing event, then the rest"
    firsts = [l for l in report.lines
        if l.product is None or report.first.get(l.product) == l.ref]
    return firsts


ACCOUNT_LABELS = {
    core_audit.STOCK: "Inventory accounts",
    core_audit.OTHER: "Other accounts",
    core_audit.LAYER_QUANTITY: "Layer quantity",
    core_audit.LAYER_VALUE: "Layer value",
    }


def line_values(line):
    "Return the values of an audit line as the wizard shows it"
    move = line.ref if isinstance(line.ref, int) else None
    account = line.account if isinstance(line.account, int) else None
    return {
        'kind': line.kind,
        'product': line.product,
        'move': move,
        'origin': '' if move else str(line.ref),
        'account': account,
        'account_key': ACCOUNT_LABELS.get(line.account, ''),
        'expected': line.expected,
        'posted': line.posted,
        'difference': line.difference,
        'message': line.message,
        }


class AuditStart(ModelView):
    "Audit Stock Valuation Start"
    __name__ = 'stock.valuation.audit.start'

    company = fields.Many2One('company.company', "Company", required=True)

    @classmethod
    def default_company(cls):
        return Transaction().context.get('company')


class AuditResult(ModelView):
    "Audit Stock Valuation Result"
    __name__ = 'stock.valuation.audit.result'

    company = fields.Many2One('company.company', "Company", readonly=True)
    currency = fields.Many2One('currency.currency', "Currency",
        readonly=True)
    events = fields.Integer("Replayed Events", readonly=True)
    products = fields.Integer("Products with Differences", readonly=True)
    difference = fields.Numeric("Total Difference", digits=(16, 2),
        readonly=True,
        help="The sum of the differences in absolute value.")
    ok = fields.Boolean("No Difference", readonly=True)
    lines = fields.One2Many('stock.valuation.audit.line', None,
        "Differences", readonly=True,
        help="Per product, the first move where the replay and the books "
        "differ; and the entries on an inventory account without move.")
    file = fields.Binary("Spreadsheet", filename='filename', readonly=True)
    filename = fields.Char("File Name", readonly=True)


class AuditLine(ModelView):
    "Audit Stock Valuation Line"
    __name__ = 'stock.valuation.audit.line'

    kind = fields.Selection([
            (core_audit.AMOUNT, "Posted amount differs"),
            (core_audit.LAYER, "Stored layer differs"),
            (core_audit.MOVE_WITHOUT_ENTRY, "Stock move without entry"),
            (core_audit.ENTRY_WITHOUT_MOVE,
                "Entry on an inventory account without move"),
            (core_audit.REPLAY_ERROR, "The engine refuses the move"),
            ], "Kind", readonly=True)
    product = fields.Many2One('product.product', "Product", readonly=True)
    move = fields.Many2One('stock.move', "Stock Move", readonly=True)
    origin = fields.Char("Origin", readonly=True,
        help="The landed cost or journal entry when it is not a move.")
    account = fields.Many2One('account.account', "Account", readonly=True)
    account_key = fields.Char("Accounts", readonly=True)
    expected = fields.Numeric("Replayed", digits=(16, 4), readonly=True)
    posted = fields.Numeric("Books", digits=(16, 4), readonly=True)
    difference = fields.Numeric("Difference", digits=(16, 4),
        readonly=True)
    message = fields.Char("Message", readonly=True)


class Audit(Wizard):
    "Audit Stock Valuation"
    __name__ = 'stock.valuation.audit'

    start = StateView(
        'stock.valuation.audit.start',
        'perpetual_inventory.valuation_audit_start_view_form', [
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("Audit", 'result', 'tryton-ok', default=True),
            ])
    result = StateView(
        'stock.valuation.audit.result',
        'perpetual_inventory.valuation_audit_result_view_form', [
            Button("Close", 'end', 'tryton-close', default=True),
            ])

    def default_result(self, fields):
        company = self.start.company
        report = run(company.id)
        lines = first_lines(report)
        return {
            'company': company.id,
            'currency': company.currency.id,
            'events': report.events,
            'products': len(report.first),
            'difference': company.currency.round(report.difference),
            'ok': report.ok,
            'lines': [line_values(l) for l in lines[:SHOWN_LINES]],
            'file': spreadsheet(company, report),
            'filename': 'stock-valuation-audit.xlsx',
            }


def spreadsheet(company, report):
    "Return the report as XLSX bytes: every difference, then the totals"
    from openpyxl import Workbook
    from openpyxl.styles import Font
    pool = Pool()
    Account = pool.get('account.account')
    Move = pool.get('stock.move')
    Product = pool.get('product.product')
    kinds = dict(AuditLine.kind.selection)
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Differences"
    bold = Font(bold=True)
    sheet.append(["Stock valuation audit", company.rec_name])
    sheet.append([])
    sheet.append(["Kind", "Product", "Stock Move", "Origin", "Account",
            "Replayed", "Books", "Difference", "First", "Message"])
    for cell in sheet[3]:
        cell.font = bold
    names = {}

    def name(Model, id_):
        if not id_:
            return ''
        key = (Model.__name__, id_)
        if key not in names:
            names[key] = Model(id_).rec_name
        return names[key]
    for line in report.lines[:SPREADSHEET_LINES]:
        values = line_values(line)
        sheet.append([kinds[line.kind], name(Product, values['product']),
                name(Move, values['move']), values['origin'],
                name(Account, values['account']) or values['account_key'],
                line.expected, line.posted, line.difference,
                report.first.get(line.product) == line.ref, line.message])
    totals = workbook.create_sheet("Totals")
    totals.append(["Account", "Replayed", "Books", "Difference"])
    for cell in totals[1]:
        cell.font = bold
    for total in report.totals:
        totals.append([
                name(Account, total.account)
                if isinstance(total.account, int)
                else ACCOUNT_LABELS.get(total.account, str(total.account)),
                total.expected, total.posted, total.difference])
    for worksheet in (sheet, totals):
        for row in worksheet.iter_rows():
            for cell in row:
                if isinstance(cell.value, Decimal):
                    cell.number_format = '#,##0.00'
    output = io.BytesIO()
    workbook.save(output)
    return output.getvalue()
