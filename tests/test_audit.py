# This file is part of perpetual_inventory.  The COPYRIGHT file at the top
# level of this repository contains the full copyright notices and license
# terms.
"""The audit on a history built through Tryton: zero difference, then a
difference for each way of tampering with the books."""
import datetime as dt
import unittest
from decimal import Decimal

from trytond.modules.account.tests import create_chart, get_fiscalyear
from trytond.modules.company.tests import create_company, set_company
from trytond.pool import Pool
from trytond.tests.test_tryton import (
    activate_module, drop_db, with_transaction)
from trytond.transaction import Transaction

from ..core import audit as core_audit
from ..scripts.audit import print_report


class Books:
    """A FIFO and an average product, each received twice, delivered,
    returned in part by the customer, counted short and delivered again."""

    def build(self):
        pool = Pool()
        Account = pool.get('account.account')
        Category = pool.get('product.category')
        Template = pool.get('product.template')
        Uom = pool.get('product.uom')
        Location = pool.get('stock.location')

        self.company = company = pool.get('company.company')(
            Transaction().context['company'])
        create_chart(company)
        fiscalyear = get_fiscalyear(company)
        fiscalyear.account_stock_method = 'continental'
        fiscalyear.save()
        fiscalyear.create_period([fiscalyear])
        today = pool.get('ir.date').today()
        self.start = max(fiscalyear.start_date, today - dt.timedelta(10))
        self.today = today

        def account(code):
            result, = Account.search([('code', '=', code)])
            return result
        stock_type = account('5.1.5')
        expense = account('5.1.1')
        self.stock = account('1.3.1')
        self.grni = Account(name="GRNI", code='GRNI',
            parent=stock_type.parent, type=stock_type.type)
        self.cogs = Account(name="COGS", code='COGS',
            parent=expense.parent, type=expense.type)
        self.over_short = Account(name="Over/Short", code='OS',
            parent=expense.parent, type=expense.type)
        Account.save([self.grni, self.cogs, self.over_short])
        category = Category(name="Goods", accounting=True,
            account_expense=expense, account_revenue=account('4.1.1'),
            account_stock=self.stock, account_stock_in=self.grni,
            account_stock_out=stock_type, account_cogs=self.cogs,
            account_stock_over_short=self.over_short,
            account_price_variance=expense)
        category.save()
        self.category = category
        self.unit, = Uom.search([('name', '=', 'Unit')])
        self.supplier, = Location.search([('code', '=', 'SUP')])
        self.customer, = Location.search([('code', '=', 'CUS')])
        self.storage, = Location.search([('code', '=', 'STO')])
        self.warehouse, = Location.search([('code', '=', 'WH')])
        self.products = {}
        self.moves = {}
        for method in ['fifo', 'average']:
            template = Template(name=method, type='goods',
                default_uom=self.unit, list_price=Decimal(20),
                cost_price_method=method, account_category=category)
            template.products = [{}]
            template.save()
            product, = template.products
            self.products[method] = product
            self.moves[method] = self.history(product)

    def product(self, method, cost):
        "Return a new product of the costing method at the cost"
        pool = Pool()
        Template = pool.get('product.template')
        template = Template(name=method, type='goods',
            default_uom=self.unit, list_price=Decimal(20),
            cost_price_method=method, account_category=self.category)
        template.products = [{}]
        template.save()
        product, = template.products
        product.cost_price = cost
        product.save()
        return product

    def day(self, n):
        return min(self.start + dt.timedelta(n), self.today)

    def move(self, product, quantity, from_, to, day, unit_price=None):
        pool = Pool()
        Move = pool.get('stock.move')
        move = Move(product=product, quantity=quantity, unit=self.unit,
            from_location=from_, to_location=to, effective_date=self.day(day),
            company=self.company)
        # the sale price of a delivery or a return, not its cost
        move.unit_price = unit_price if unit_price is not None else (
            Decimal(20))
        move.currency = self.company.currency
        move.save()
        with Transaction().set_context(_skip_warnings=True):
            Move.do([move])
        return move

    def count(self, product, quantity, day):
        "Count the product at the storage location: the count's move"
        pool = Pool()
        Inventory = pool.get('stock.inventory')
        inventory = Inventory(location=self.storage, date=self.day(day),
            company=self.company,
            lines=[{'product': product.id, 'quantity': quantity}])
        inventory.save()
        with Transaction().set_context(_skip_warnings=True):
            Inventory.confirm([inventory])
        line, = inventory.lines
        move, = line.moves
        return move

    def history(self, product):
        s, c = self.storage, self.customer
        moves = {}
        moves['receipt1'] = self.move(
            product, 10, self.supplier, s, 0, Decimal(10))
        moves['receipt2'] = self.move(
            product, 10, self.supplier, s, 1, Decimal(12))
        moves['delivery1'] = self.move(product, 6, s, c, 2)
        moves['return'] = self.move(product, 2, c, s, 3)
        # 16 on hand, 15 counted
        moves['count'] = self.count(product, 15, 4)
        moves['delivery2'] = self.move(product, 5, s, c, 5)
        return moves


class AuditTestCase(unittest.TestCase):
    "Test the audit of the valuation"

    @classmethod
    def setUpClass(cls):
        drop_db()
        activate_module('perpetual_inventory')
        super().setUpClass()

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        drop_db()

    def books(self):
        books = Books()
        books.build()
        return books

    def run_audit(self, books):
        from ..models.audit import run
        return run(books.company.id)

    def execute(self, query, *args):
        Transaction().connection.cursor().execute(query, args)

    def entry_of(self, move):
        entries = [e for e in move.account_moves if e.state == 'posted']
        entry, = entries
        return entry

    @with_transaction()
    def test_zero_difference(self):
        "Test the audit of books that agree with the engine"
        company = create_company()
        with set_company(company):
            books = self.books()
            report = self.run_audit(books)
            self.assertEqual(report.lines, ())
            self.assertTrue(report.ok)
            self.assertEqual(report.difference, 0)
            self.assertEqual(report.events, 12)
            totals = {t.account: t for t in report.totals}
            # FIFO: 100 + 120 - 60 + 20 - 10 - 54; average: 220 - 66 + 22
            # - 11 - 55
            self.assertEqual(
                totals[core_audit.STOCK].expected, Decimal(226))
            self.assertEqual(totals[core_audit.STOCK].posted, Decimal(226))
            self.assertEqual(
                totals[books.cogs.id].expected,
                Decimal(60 - 20 + 54 + 66 - 22 + 55))
            printed = []
            self.assertTrue(print_report(
                    Pool(), books.company, report, out=printed.append))
            self.assertIn("Difference: 0 over 0 products, 0 lines", printed)

    @with_transaction()
    def test_layer_value_edited(self):
        "Test a layer value edited in the database fails the audit"
        company = create_company()
        with set_company(company):
            books = self.books()
            move = books.moves['fifo']['delivery2']
            self.execute(
                'UPDATE stock_valuation_layer SET value = value + 1.5 '
                'WHERE move = %s' % move.id)
            report = self.run_audit(books)
            self.assertFalse(report.ok)
            line, = report.lines
            self.assertEqual(
                (line.kind, line.product, line.ref, line.account),
                (core_audit.LAYER, books.products['fifo'].id, move.id,
                    core_audit.LAYER_VALUE))
            self.assertEqual(line.expected, Decimal(-54))
            self.assertEqual(line.difference, Decimal('1.5'))
            self.assertEqual(
                report.first, {books.products['fifo'].id: move.id})

    @with_transaction()
    def test_entry_amount_edited(self):
        "Test an entry with a wrong amount on both sides fails the audit"
        company = create_company()
        with set_company(company):
            books = self.books()
            move = books.moves['average']['delivery1']
            entry = self.entry_of(move)
            # one more on each side (SQLite compares its numbers as text:
            # the lines are told apart here)
            for line in entry.lines:
                column = 'debit' if line.debit else 'credit'
                self.execute(
                    'UPDATE account_move_line SET %s = %s + 1 '
                    'WHERE id = %s' % (column, column, line.id))
            report = self.run_audit(books)
            product = books.products['average'].id
            self.assertEqual(report.first, {product: move.id})
            self.assertEqual(
                [(l.kind, l.product, l.ref, l.account, l.expected, l.posted)
                    for l in report.lines],
                [(core_audit.AMOUNT, product, move.id, core_audit.STOCK,
                        Decimal(-66), Decimal(-67)),
                    (core_audit.AMOUNT, product, move.id, books.cogs.id,
                        Decimal(66), Decimal(67))])
            self.assertEqual(report.difference, Decimal(2))

    @with_transaction()
    def test_entry_deleted(self):
        "Test a done move whose entry was deleted fails the audit"
        company = create_company()
        with set_company(company):
            books = self.books()
            move = books.moves['fifo']['receipt2']
            entry = self.entry_of(move)
            self.execute(
                'UPDATE stock_valuation_layer SET account_move = NULL '
                'WHERE account_move = %s' % entry.id)
            self.execute(
                'DELETE FROM account_move_line WHERE move = %s' % entry.id)
            self.execute('DELETE FROM account_move WHERE id = %s' % entry.id)
            report = self.run_audit(books)
            product = books.products['fifo'].id
            self.assertEqual(report.first, {product: move.id})
            self.assertEqual(
                [(l.kind, l.product, l.ref, l.account, l.expected, l.posted)
                    for l in report.lines],
                [(core_audit.MOVE_WITHOUT_ENTRY, product, move.id,
                        core_audit.STOCK, Decimal(120), Decimal(0)),
                    (core_audit.MOVE_WITHOUT_ENTRY, product, move.id,
                        books.grni.id, Decimal(-120), Decimal(0))])
            # the command prints the move, the amounts, and fails
            printed = []
            self.assertFalse(print_report(
                    Pool(), books.company, report, out=printed.append))
            self.assertIn(
                "  fifo | stock.move,%d | move_without_entry | Inventory "
                "accounts: expected 120.00, posted 0.00, difference -120.00"
                % move.id, printed)
            self.assertIn(
                "Difference: 240.00 over 1 products, 2 lines", printed)

    @with_transaction()
    def test_entry_without_move(self):
        "Test a posted entry on the inventory account without move"
        pool = Pool()
        AccountMove = pool.get('account.move')
        Configuration = pool.get('account.configuration')
        Line = pool.get('account.move.line')
        Period = pool.get('account.period')
        company = create_company()
        with set_company(company):
            books = self.books()
            entry = AccountMove(
                journal=Configuration(1).get_multivalue(
                    'stock_journal', company=company.id),
                period=Period.find(company, date=books.today),
                date=books.today,
                lines=[
                    Line(account=books.stock, debit=Decimal(7),
                        credit=Decimal(0)),
                    Line(account=books.over_short, debit=Decimal(0),
                        credit=Decimal(7)),
                    ])
            entry.save()
            AccountMove.post([entry])
            report = self.run_audit(books)
            line, = report.lines
            self.assertEqual(
                (line.kind, line.product, line.ref, line.account,
                    line.posted),
                (core_audit.ENTRY_WITHOUT_MOVE, None,
                    'account.move,%d' % entry.id, core_audit.STOCK,
                    Decimal(7)))
            self.assertEqual(report.first, {})
            self.assertEqual(report.difference, Decimal(7))

    @with_transaction()
    def test_wizard(self):
        "Test the wizard shows the differences and a spreadsheet"
        pool = Pool()
        Audit = pool.get('stock.valuation.audit', type='wizard')
        company = create_company()
        with set_company(company):
            books = self.books()
            move = books.moves['average']['delivery2']
            self.execute(
                'UPDATE stock_valuation_layer SET value = value - 2 '
                'WHERE move = %s' % move.id)
            session_id, _, _ = Audit.create()
            audit = Audit(session_id)
            audit.start.company = company
            result = audit.default_result(None)
            self.assertFalse(result['ok'])
            self.assertEqual(result['products'], 1)
            self.assertEqual(result['difference'], Decimal(2))
            line, = result['lines']
            self.assertEqual(line['move'], move.id)
            self.assertEqual(line['difference'], Decimal(-2))
            self.assertTrue(result['file'].startswith(b'PK'))

    @with_transaction()
    def test_standard_changed_with_nothing_on_hand(self):
        "Test a standard cost changed while nothing is on hand"
        company = create_company()
        with set_company(company):
            books = self.books()
            product = books.product('fixed', Decimal(11))
            s, c = books.storage, books.customer
            books.move(product, 10, books.supplier, s, 6, Decimal(10))
            books.move(product, 10, s, c, 6)
            # nothing on hand: no revaluation to post
            product.cost_price = Decimal(12)
            product.save()
            books.move(product, 5, books.supplier, s, 7, Decimal(13))
            delivery = books.move(product, 2, s, c, 7)
            report = self.run_audit(books)
            self.assertEqual(report.lines, ())
            # the delivery at the new standard, the receipt's variance 5
            totals = {t.account: t for t in report.totals}
            self.assertEqual(totals[core_audit.STOCK].expected,
                Decimal(226) + Decimal(36))
            self.assertEqual(self.entry_of(delivery).lines[0].debit
                + self.entry_of(delivery).lines[0].credit, Decimal(24))

    @with_transaction()
    def test_standard_changed_between_moves_of_a_day(self):
        "Test a standard cost changed between two moves of the same day"
        pool = Pool()
        Modify = pool.get('product.modify_cost_price', type='wizard')
        company = create_company()
        with set_company(company):
            books = self.books()
            product = books.product('fixed', Decimal(10))
            s = books.storage
            today = books.today
            books.move(product, 3, books.supplier, s, 30, Decimal('4.02'))
            session_id, _, _ = Modify.create()
            with Transaction().set_context(active_model='product.product',
                    active_id=product.id, active_ids=[product.id]):
                Modify.execute(session_id, {'start': {
                            'date': today, 'cost_price': '1.83'}}, 'modify')
            Modify.delete(session_id)
            back = books.move(product, 2, s, books.supplier, 30)
            report = self.run_audit(books)
            # the return after the change, at the new standard
            self.assertEqual(report.lines, ())
            stock = sum((l.debit - l.credit for l in self.entry_of(back).lines
                    if l.account == books.stock), Decimal(0))
            self.assertEqual(stock, Decimal('-3.66'))
