# This file is part of perpetual_inventory.  The COPYRIGHT file at the top
# level of this repository contains the full copyright notices and license
# terms.
"""Two transactions deliver the same product at the same time; a worker
pulls a task from the queue.

PostgreSQL only: SQLite has one writer at a time, so there is nothing to
race, and trytond-worker needs PostgreSQL. The test suite runs it in its
PostgreSQL pass (./run test).
"""
import datetime as dt
import threading
import time
import unittest
from decimal import Decimal

from trytond import backend
from trytond.modules.account.tests import create_chart, get_fiscalyear
from trytond.modules.company.tests import create_company, set_company
from trytond.pool import Pool
from trytond.tests.test_tryton import DB_NAME, activate_module, drop_db
from trytond.transaction import Transaction, TransactionError

RETRY = 30


def run_in_transaction(func, *args, company=True):
    """Run func in its own transaction as Tryton's dispatcher does.

    A lock met while working rolls back and starts again with the lock
    taken at the start; a lock held by the other transaction (NOWAIT) makes
    the start fail: wait and try again.
    """
    extras = {}
    for attempt in range(RETRY):
        try:
            with Transaction().start(DB_NAME, 1, **extras) as transaction:
                # The moves have no document: acknowledge that warning.
                context = {'_skip_warnings': True}
                if company:
                    company_, = Pool().get('company.company').search([])
                    context['company'] = company_.id
                try:
                    with transaction.set_context(context):
                        result = func(*args)
                except TransactionError as exception:
                    transaction.rollback()
                    exception.fix(extras)
                    continue
                transaction.commit()
                return result
        except backend.DatabaseOperationalError:
            time.sleep(0.1 * (attempt + 1))
    raise RuntimeError("no attempt succeeded")


class ConcurrentDeliveryTestCase(unittest.TestCase):
    "Test concurrent deliveries keep costs and layers consistent"

    @classmethod
    def setUpClass(cls):
        drop_db()
        activate_module(['perpetual_inventory'])
        cls.product_id, cls.average_id = run_in_transaction(
            cls._setup, company=False)

    @classmethod
    def tearDownClass(cls):
        drop_db()

    @classmethod
    def _setup(cls):
        pool = Pool()
        Account = pool.get('account.account')
        Category = pool.get('product.category')
        Template = pool.get('product.template')
        Uom = pool.get('product.uom')
        Location = pool.get('stock.location')
        Move = pool.get('stock.move')
        SequenceStrict = pool.get('ir.sequence.strict')
        SequenceType = pool.get('ir.sequence.type')
        InvoiceSequence = pool.get('account.fiscalyear.invoice_sequence')

        company = create_company()
        with set_company(company):
            create_chart(company)
            fiscalyear = get_fiscalyear(company)
            fiscalyear.account_stock_method = 'continental'
            invoice_type, = SequenceType.search(
                [('name', '=', "Invoice")], limit=1)
            invoice_sequence = SequenceStrict(name="Invoices",
                sequence_type=invoice_type, company=company)
            invoice_sequence.save()
            fiscalyear.invoice_sequences = [InvoiceSequence(
                    company=company,
                    out_invoice_sequence=invoice_sequence,
                    in_invoice_sequence=invoice_sequence,
                    out_credit_note_sequence=invoice_sequence,
                    in_credit_note_sequence=invoice_sequence)]
            fiscalyear.save()
            fiscalyear.create_period([fiscalyear])

            def account(code):
                result, = Account.search([('code', '=', code)])
                return result
            stock_type = account('5.1.5')
            expense = account('5.1.1')
            grni = Account(name="GRNI", code='GRNI',
                parent=stock_type.parent, type=stock_type.type)
            cogs = Account(name="COGS", code='COGS',
                parent=expense.parent, type=expense.type)
            Account.save([grni, cogs])
            category = Category(name="Goods", accounting=True,
                account_expense=expense, account_revenue=account('4.1.1'),
                account_stock=account('1.3.1'), account_stock_in=grni,
                account_stock_out=stock_type, account_cogs=cogs,
                account_stock_over_short=expense,
                account_price_variance=expense)
            category.save()
            unit, = Uom.search([('name', '=', 'Unit')])
            template = Template(name="FIFO Widget", type='goods',
                default_uom=unit, list_price=Decimal(20),
                cost_price_method='fifo', account_category=category)
            template.products = [{}]
            template.save()
            product, = template.products
            supplier, = Location.search([('code', '=', 'SUP')])
            storage, = Location.search([('code', '=', 'STO')])
            receipts = [Move(product=product, quantity=50, unit=unit,
                    from_location=supplier, to_location=storage,
                    unit_price=price, currency=company.currency,
                    effective_date=dt.date.today())
                for price in [Decimal(5), Decimal(7)]]
            Move.save(receipts)
            with Transaction().set_context(_skip_warnings=True):
                for receipt in receipts:
                    Move.do([receipt])

            # Ten units worth 55.01 in bin A: half of them is not worth
            # exactly half of the value.
            bin_a = Location(name="A", code='A', type='storage',
                parent=storage)
            bin_b = Location(name="B", code='B', type='storage',
                parent=storage)
            Location.save([bin_a, bin_b])
            template = Template(name="Average Widget", type='goods',
                default_uom=unit, list_price=Decimal(20),
                cost_price_method='average', account_category=category)
            template.products = [{}]
            template.save()
            average, = template.products
            receipts = [Move(product=average, quantity=5, unit=unit,
                    from_location=supplier, to_location=bin_a,
                    unit_price=price, currency=company.currency,
                    effective_date=dt.date.today())
                for price in [Decimal('5.5'), Decimal('5.502')]]
            Move.save(receipts)
            with Transaction().set_context(_skip_warnings=True):
                Move.do(receipts)
        return product.id, average.id

    def race(self, new_move):
        """Run two transactions that each create a move with new_move(pool)
        and do it, both reaching the costing at the same time.

        Returns the ids of the two moves.
        """
        barrier = threading.Barrier(2)
        results = []

        def run():
            waited = []

            def work():
                pool = Pool()
                Move = pool.get('stock.move')
                move = new_move(pool)
                move.save()
                Move.assign([move])
                # Only the first attempt waits: a retry runs on its own.
                if not waited:
                    waited.append(True)
                    barrier.wait(timeout=30)
                Move.do([move])
                return move.id
            try:
                results.append(run_in_transaction(work))
            except Exception as exception:  # reported below
                results.append(exception)

        threads = [threading.Thread(target=run) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
        self.assertEqual(
            [r for r in results if isinstance(r, Exception)], [])
        self.assertEqual(len(results), 2)
        return results

    def test_concurrent_fifo_deliveries(self):
        "Test two concurrent deliveries consume different FIFO layers"
        def delivery(pool):
            Move = pool.get('stock.move')
            Location = pool.get('stock.location')
            Product = pool.get('product.product')
            Company = pool.get('company.company')
            product = Product(self.product_id)
            storage, = Location.search([('code', '=', 'STO')])
            customer, = Location.search([('code', '=', 'CUS')])
            return Move(product=product, quantity=50,
                unit=product.default_uom, from_location=storage,
                to_location=customer, unit_price=Decimal(20),
                currency=Company(Transaction().context['company']).currency,
                effective_date=dt.date.today())
        results = self.race(delivery)

        with Transaction().start(DB_NAME, 1):
            pool = Pool()
            Move = pool.get('stock.move')
            Layer = pool.get('stock.valuation.layer')
            Line = pool.get('account.move.line')
            deliveries = Move.browse(results)
            self.assertEqual({m.state for m in deliveries}, {'done'})
            # One delivery took the goods at 5, the other those at 7.
            self.assertEqual(
                sorted(m.cost_price for m in deliveries),
                [Decimal(5), Decimal(7)])
            layers = Layer.search([('product', '=', self.product_id)])
            self.assertEqual(sum(l.quantity for l in layers), 0)
            self.assertEqual(sum(l.value for l in layers), Decimal(0))
            stock_lines = Line.search([('account.code', '=', '1.3.1')])
            self.assertEqual(
                sum(l.debit - l.credit for l in stock_lines),
                sum(l.value for l in Layer.search([])))
            cogs_lines = Line.search([('account.code', '=', 'COGS')])
            self.assertEqual(
                sum(l.debit - l.credit for l in cogs_lines), Decimal(600))

    def test_concurrent_transfers(self):
        "Test two concurrent transfers leave no value without quantity"
        def transfer(pool):
            Move = pool.get('stock.move')
            Location = pool.get('stock.location')
            Product = pool.get('product.product')
            product = Product(self.average_id)
            bin_a, = Location.search([('code', '=', 'A')])
            bin_b, = Location.search([('code', '=', 'B')])
            return Move(product=product, quantity=5,
                unit=product.default_uom, from_location=bin_a,
                to_location=bin_b, effective_date=dt.date.today())
        self.race(transfer)

        with Transaction().start(DB_NAME, 1):
            pool = Pool()
            Layer = pool.get('stock.valuation.layer')
            Location = pool.get('stock.location')
            bin_a, = Location.search([('code', '=', 'A')])
            bin_b, = Location.search([('code', '=', 'B')])
            for location, quantity, value in [
                    (bin_a, 0, Decimal('0')),
                    (bin_b, 10, Decimal('55.01'))]:
                layers = Layer.search([
                        ('product', '=', self.average_id),
                        ('location', '=', location.id)])
                self.assertEqual(sum(l.quantity for l in layers), quantity)
                self.assertEqual(sum(l.value for l in layers), value)

    def test_concurrent_tuning_batches(self):
        "Test two tuning batches of a run done at the same time both commit"
        def launch():
            pool = Pool()
            OrderPoint = pool.get('stock.order_point')
            Location = pool.get('stock.location')
            Configuration = pool.get('perpetual_inventory.configuration')
            Run = pool.get('perpetual_inventory.tuning.run')
            Batch = pool.get('perpetual_inventory.tuning.batch')
            warehouse, = Location.search([('type', '=', 'warehouse')])
            Product = pool.get('product.product')
            config = Configuration(1)
            config.batch_size = 1
            config.save()
            for product in Product.browse([self.product_id, self.average_id]):
                product.template.purchasable = True
                product.template.purchase_uom = product.default_uom
                product.template.save()
            points = OrderPoint.create([{
                        'product': p, 'location': warehouse.id,
                        'type': 'purchase', 'min_quantity': 0,
                        'target_quantity': 0,
                        } for p in [self.product_id, self.average_id]])
            run = Run.launch(points)
            # the test runs the queued batches itself
            Transaction().tasks.clear()
            return run.id, [(b.id, [p.id for p in points if p.id in ids])
                for b, ids in zip(
                    Batch.search([('run', '=', run.id)]),
                    [[i] for i in sorted(p.id for p in points)])]
        run_id, batches = run_in_transaction(launch)

        barrier = threading.Barrier(2)
        attempts = []

        def run(batch_id, point_ids):
            def work():
                attempts.append(batch_id)
                OrderPoint = Pool().get('stock.order_point')
                points = OrderPoint.browse(point_ids)
                barrier.wait(timeout=30)
                OrderPoint.tune_batch(points, run_id, batch_id)
                # both hold their changes until the other has made its own
                barrier.wait(timeout=30)
            run_in_transaction(work)

        threads = [threading.Thread(target=run, args=b) for b in batches]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
        # no serialization failure: each batch ran once
        self.assertEqual(sorted(attempts), sorted(b for b, _ in batches))
        with Transaction().start(DB_NAME, 1):
            Run = Pool().get('perpetual_inventory.tuning.run')
            run = Run(run_id)
            self.assertEqual(
                (run.state, run.batches_done, run.points_tuned),
                ('done', 2, 2))

    def test_worker_pull_one_task(self):
        "Test a worker's pull dequeues one task of a small queue"
        with Transaction().start(DB_NAME, 1) as transaction:
            Queue = Pool().get('ir.queue')
            cursor = transaction.connection.cursor()
            cursor.execute('DELETE FROM ir_queue')

            def push():
                return Queue.push('default', {
                        'model': 'res.user', 'method': 'x', 'instances': [],
                        'args': [], 'kwargs': {}, 'context': {}, 'user': 1})
            ids = [push()]
            # the statistics of a one-task table: the plan that ran the
            # task's subquery once per row and dequeued them all
            cursor.execute('ANALYZE ir_queue')
            ids += [push() for _ in range(4)]
            task_id, _ = Queue.pull(
                transaction.database, transaction.connection)
            self.assertIn(task_id, ids)
            dequeued = Queue.search([
                    ('id', 'in', ids), ('dequeued_at', '!=', None)])
            self.assertEqual([t.id for t in dequeued], [task_id])
            transaction.rollback()


def load_tests(loader, tests, pattern):
    suite = unittest.TestSuite()
    if backend.name == 'postgresql':
        suite.addTests(loader.loadTestsFromTestCase(
                ConcurrentDeliveryTestCase))
    return suite
