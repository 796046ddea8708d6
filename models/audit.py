# This file is part of perpetual_inventory.  The COPYRIGHT file at the top
# level of this repository contains the full copyright notices and license
# terms.
"""The audit of a company's valuation: its done moves replayed by the
engine (core/audit.py) and compared with its layers and entries.

The wizard (Financial > Reporting > Audit Stock Valuation) and
``perpetual-inventory audit`` show the same report; the facts are read by
models/audit_facts.py.
"""
import io
from decimal import Decimal

from trytond.model import ModelView, fields
from trytond.pool import Pool
from trytond.transaction import Transaction
from trytond.wizard import Button, StateView, Wizard

from ..core import audit as core_audit
from .audit_facts import run

# So many lines at most in the wizard and in the spreadsheet.
SHOWN_LINES = 1000
SPREADSHEET_LINES = 100000


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
