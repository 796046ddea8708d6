# This file is part of perpetual_inventory.  The COPYRIGHT file at the top
# level of this repository contains the full copyright notices and license
# terms.
"""Order point tuning: the history gathered by SQL and a tuning run, on a
tiny hand-made history whose figures are known."""
import datetime as dt
import unittest
from decimal import Decimal

from trytond.exceptions import UserError
from trytond.modules.company.tests import create_company, set_company
from trytond.pool import Pool
from trytond.tests.test_tryton import (
    activate_module, drop_db, with_transaction)
from trytond.transaction import Transaction

from ..core.replenishment import quantity_text
from ..models.tuning import apply_levels


def run_tasks():
    "Run the queued tasks as trytond does after a commit without worker"
    pool = Pool()
    Queue = pool.get('ir.queue')
    transaction = Transaction()
    while transaction.tasks:
        task = Queue(transaction.tasks.pop(0))
        task.run()


class History:
    "A warehouse, two products and their done moves"

    def __init__(self, today):
        pool = Pool()
        Location = pool.get('stock.location')
        Template = pool.get('product.template')
        Uom = pool.get('product.uom')
        Party = pool.get('party.party')
        ProductSupplier = pool.get('purchase.product_supplier')
        Purchase = pool.get('purchase.purchase')
        ModelData = pool.get('ir.model.data')

        def ref(name):
            return Location(ModelData.get_id('stock', name))
        self.today = today
        self.d0 = today - dt.timedelta(days=10)
        self.warehouse = ref('location_warehouse')
        self.storage = ref('location_storage')
        self.output = ref('location_output')
        self.customer = ref('location_customer')
        self.supplier = ref('location_supplier')
        self.lost = ref('location_lost_found')
        self.production, = Location.create([{
                    'name': "Workshop", 'type': 'production'}])
        self.company = Pool().get('company.company')(
            Transaction().context['company'])
        unit, = Uom.search([('name', '=', 'Unit')])
        self.unit = unit
        templates = Template.create([{
                    'name': name, 'type': 'goods', 'default_uom': unit.id,
                    'purchasable': True, 'purchase_uom': unit.id,
                    'list_price': Decimal(10),
                    'products': [('create', [{}])],
                    } for name in ["Hammer", "Saw"]])
        self.hammer, self.saw = [t.products[0] for t in templates]
        Product = pool.get('product.product')
        Product.write([self.hammer], {'cost_price': Decimal('2.5')})
        Product.write([self.saw], {'cost_price': Decimal('0.1')})
        party, = Party.create([{'name': "Supplier"}])
        ProductSupplier.create([{
                    'template': self.hammer.template.id, 'party': party.id,
                    'lead_time': dt.timedelta(days=5), 'sequence': 1,
                    'quantity_rounding': 10, 'quantity_minimal': 20,
                    }, {
                    'template': self.hammer.template.id, 'party': party.id,
                    'lead_time': dt.timedelta(days=30), 'sequence': 2,
                    'quantity_rounding': 3, 'quantity_minimal': 3,
                    }])
        purchases = Purchase.create([{
                    'party': party.id, 'company': self.company.id,
                    'currency': self.company.currency.id,
                    'purchase_date': date,
                    'lines': [('create', [{
                                    'product': self.hammer.id,
                                    'quantity': quantity,
                                    'unit': unit.id,
                                    'unit_price': Decimal(2),
                                    }])],
                    } for date, quantity in [
                    (self.day(-12), 10), (self.day(-3), 20)]])
        self.lines = [p.lines[0] for p in purchases]

    def day(self, offset):
        return self.d0 + dt.timedelta(days=offset)

    def points(self, *products, **values):
        "Create purchase order points (0 / 0 unless given) in the warehouse"
        OrderPoint = Pool().get('stock.order_point')
        defaults = {'type': 'purchase', 'min_quantity': 0,
            'target_quantity': 0}
        return OrderPoint.create([dict(defaults, product=p.id,
                    location=self.warehouse.id, **values)
                for p in products])

    def moves(self, moves, state='done'):
        "Create moves (product, day, from, to, quantity[, origin])"
        pool = Pool()
        Move = pool.get('stock.move')
        table = Move.__table__()
        cursor = Transaction().connection.cursor()
        values = []
        for move in moves:
            product, _, from_, to, quantity, *origin = move
            value = {
                'product': product.id,
                'unit': self.unit.id,
                'quantity': quantity,
                'from_location': from_.id,
                'to_location': to.id,
                'company': self.company.id,
                'origin': str(origin[0]) if origin else None,
                }
            if Move(**value).on_change_with_unit_price_required():
                value['unit_price'] = Decimal(2)
                value['currency'] = self.company.currency.id
            values.append(value)
        records = Move.create(values)
        for record, move in zip(records, moves):
            cursor.execute(*table.update(
                    [table.state, table.effective_date],
                    [state, self.day(move[1])],
                    where=table.id == record.id))
        return records

    def build(self):
        "The hand-made history of docs/tuning.md"
        h, s = self.hammer, self.saw
        self.moves([
                # received before the history: the opening stock (10)
                (h, -5, self.supplier, self.storage, 10, self.lines[0]),
                (h, 1, self.storage, self.customer, 4),
                (h, 2, self.storage, self.customer, 6),   # ends at 0
                (h, 4, self.supplier, self.storage, 20, self.lines[1]),
                (h, 4, self.storage, self.production, 2),
                (h, 5, self.storage, self.customer, 5),
                (h, 5, self.customer, self.storage, 2),
                (h, 6, self.customer, self.storage, 3),   # return only
                (h, 7, self.storage, self.output, 5),     # internal
                (h, 7, self.output, self.customer, 5),
                (h, 8, self.storage, self.lost, 13),      # ends at 0
                (s, 3, self.lost, self.storage, 50),
                (s, 4, self.storage, self.customer, 1),
                ])
        # not done: ignored
        self.moves([(h, 9, self.storage, self.customer, 99)],
            state='draft')


class TuningTestCase(unittest.TestCase):
    "Test order point tuning"

    @classmethod
    def setUpClass(cls):
        drop_db()
        activate_module('perpetual_inventory')
        super().setUpClass()

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        drop_db()

    @with_transaction()
    def test_gather(self):
        "Test the daily demand, stockouts and receipts gathered by SQL"
        from ..models.history import gather
        company = create_company()
        with set_company(company):
            history = History(dt.date.today())
            history.build()
            start, end = history.day(0), history.day(9)

            result = gather(history.warehouse.id,
                [history.hammer.id, history.saw.id], start, end, company.id)

            hammer = result[history.hammer.id]
            self.assertEqual(hammer.first_day, start)
            self.assertEqual(tuple(hammer.sales.tolist()),
                (0, 4, 6, 0, 2, 3, 0, 5, 0, 0))
            self.assertEqual(tuple(hammer.stockout.tolist()),
                (False, False, True, True, False, False, False, False,
                    True, True))
            self.assertEqual(hammer.on_hand, 0)
            self.assertEqual(hammer.last_outgoing, history.day(7))
            self.assertEqual(hammer.first_outgoing, history.day(1))
            self.assertEqual(hammer.received_orders, [
                    (history.day(-12), history.day(-5)),
                    (history.day(-3), history.day(4)),
                    ])
            self.assertEqual(hammer.quoted_lead_time, 5)
            self.assertEqual(hammer.pack_multiple, 10)
            self.assertEqual(hammer.minimum_order_quantity, 20)
            self.assertEqual(hammer.unit_cost, 2.5)

            saw = result[history.saw.id]
            self.assertEqual(saw.first_day, history.day(3))
            self.assertEqual(tuple(saw.sales.tolist()), (0, 1, 0, 0, 0, 0, 0))
            self.assertEqual(tuple(saw.stockout.tolist()), (False,) * 7)
            self.assertEqual(saw.on_hand, 49)
            self.assertEqual(saw.received_orders, [])
            self.assertIsNone(saw.quoted_lead_time)
            self.assertEqual(saw.pack_multiple, 1)

    @with_transaction()
    def test_consumption_values(self):
        "Test consumption value and ABC class"
        from ..models.history import consumption_values
        pool = Pool()
        Run = pool.get('perpetual_inventory.tuning.run')
        OrderPoint = pool.get('stock.order_point')
        company = create_company()
        with set_company(company):
            history = History(dt.date.today())
            history.build()
            values = consumption_values(history.warehouse.id,
                history.day(0), history.day(9), company.id)
            # hammer: 4 + 6 + 2 + 5 + 5 - 2 - 3 = 17 units at 2.5
            self.assertEqual(values, {
                    history.hammer.id: 17 * 2.5,
                    history.saw.id: 1 * 0.1,
                    })
            points = OrderPoint.create([{
                        'product': p.id, 'location': history.warehouse.id,
                        'type': 'purchase', 'min_quantity': 1,
                        'target_quantity': 2,
                        } for p in [history.hammer, history.saw]])
            Run.classify([history.warehouse.id], company.id,
                history.today)
            self.assertEqual(
                [p.abc_class for p in OrderPoint.browse(points)],
                ['A', 'C'])

    @with_transaction()
    def test_tune_run(self):
        "Test a tuning run writes the order points and logs the change"
        pool = Pool()
        Run = pool.get('perpetual_inventory.tuning.run')
        OrderPoint = pool.get('stock.order_point')
        Log = pool.get('perpetual_inventory.tuning.log')
        Configuration = pool.get('perpetual_inventory.configuration')
        company = create_company()
        with set_company(company):
            history = History(dt.date.today())
            history.build()
            config = Configuration(1)
            config.batch_size = 1
            config.save()
            points = history.points(history.hammer, history.saw)

            run = Run.launch(points)
            self.assertEqual(run.batches_total, 2)
            self.assertEqual(run.batches_done, 0)
            self.assertEqual(run.state, 'running')
            run_tasks()

            run = Run(run.id)
            self.assertEqual(run.state, 'done')
            self.assertEqual(run.batches_done, 2)
            self.assertEqual(run.points_tuned, 2)
            self.assertEqual(run.points_failed, 0)
            self.assertEqual(run.progress, 1)
            # every batch recorded its times; the run sums them
            self.assertTrue(all(b.write_time is not None and b.write_time >= 0
                    and b.math_time > 0 for b in run.batches))
            self.assertAlmostEqual(run.write_time,
                sum(b.write_time for b in run.batches), places=3)
            hammer = OrderPoint(points[0].id)
            self.assertEqual(hammer.abc_class, 'A')
            self.assertTrue(0 < hammer.min_quantity < hammer.target_quantity)
            # the order quantity is a multiple of the pack, at least the MOQ
            gap = hammer.target_quantity - hammer.min_quantity
            self.assertEqual(gap % 10, 0)
            self.assertGreaterEqual(gap, 20)
            log, = Log.search([('order_point', '=', hammer.id)])
            self.assertEqual(log.run, run)
            self.assertEqual(log.state, 'changed')
            self.assertEqual(
                (log.old_min_quantity, log.old_target_quantity), (0, 0))
            self.assertEqual(
                (log.min_quantity, log.target_quantity),
                (hammer.min_quantity, hammer.target_quantity))
            self.assertEqual(log.censored_days, 4)
            # from the first receipt (5 days before day 0) to yesterday
            self.assertEqual(log.history_days, 15)
            self.assertEqual(log.lead_time_observations, 2)
            self.assertEqual(log.lead_time_source, 'blend')
            self.assertEqual(log.fill_rate, 0.98)
            self.assertIn('Computed reorder point %s, order-up-to %s.' % (
                    quantity_text(log.computed_min_quantity),
                    quantity_text(log.computed_target_quantity)),
                log.explanation)
            # the explanation ends with the values written
            self.assertIn('minimal %s, target %s.' % (
                    quantity_text(hammer.min_quantity),
                    quantity_text(hammer.target_quantity)), log.explanation)
            self.assertEqual(hammer.tuning_explanation, log.explanation)
            # the safety stock in force is the part of the minimal quantity
            # written above the demand expected over lead time + review
            # (from figures rounded to two decimals)
            self.assertAlmostEqual(hammer.safety_stock, max(0,
                    hammer.min_quantity - log.protection_demand), delta=0.011)
            self.assertGreaterEqual(hammer.safety_stock, 0)
            self.assertEqual(log.safety_stock, hammer.safety_stock)
            self.assertAlmostEqual(log.computed_safety_stock,
                log.computed_min_quantity - log.protection_demand,
                delta=0.011)
            # a short history has no yearly season: the values in force
            # are set for an index of 1
            self.assertEqual(hammer.seasonal_index, 1)
            # product, warehouse and company are the order point's: read,
            # searched and sorted through it
            self.assertEqual(
                (log.product, log.warehouse, log.company),
                (hammer.product, hammer.location, company))
            saw = OrderPoint(points[1].id)
            self.assertEqual(Log.search([
                        ('run', '=', run.id),
                        ('product', '=', saw.product.id),
                        ]), Log.search([('order_point', '=', saw.id)]))
            self.assertEqual(Log.search([
                        ('run', '=', run.id),
                        ('product.name', '=', saw.product.name),
                        ]), Log.search([('order_point', '=', saw.id)]))
            self.assertEqual(Log.search([
                        ('run', '=', run.id),
                        ('warehouse', '=', hammer.location.id),
                        ('company', '=', company.id),
                        ], count=True), 2)
            self.assertEqual(Log.search([
                        ('company', '!=', company.id),
                        ]), [])
            by_product = Log.search(
                [('run', '=', run.id)], order=[('product', 'ASC')])
            self.assertEqual([l.product.rec_name for l in by_product],
                sorted(l.product.rec_name for l in by_product))
            self.assertEqual([l.product.rec_name for l in Log.search(
                            [('run', '=', run.id)],
                            order=[('product', 'DESC')])],
                [l.product.rec_name for l in reversed(by_product)])

            # A second run changes nothing: same history, same result; only
            # the statistics are refreshed
            tuned_at = hammer.tuned_at
            run = Run.launch(points)
            run_tasks()
            self.assertEqual(Run(run.id).points_changed, 0)
            self.assertGreaterEqual(OrderPoint(hammer.id).tuned_at, tuned_at)
            self.assertEqual(
                OrderPoint(hammer.id).safety_stock, hammer.safety_stock)
            self.assertEqual(
                {l.state for l in Log.search([('run', '=', run.id)])},
                {'kept'})
            log2, = Log.search(
                [('run', '=', run.id), ('order_point', '=', hammer.id)])
            self.assertEqual(log2.explanation, log.explanation)
            self.assertEqual(
                Log.search([('run', '=', run.id)], count=True), 2)
            self.assertEqual(
                (OrderPoint(hammer.id).min_quantity,
                    OrderPoint(hammer.id).target_quantity),
                (hammer.min_quantity, hammer.target_quantity))

            # quantities set by hand are set for the season of now: the
            # index the tuning had stored with its own is cleared
            self.assertEqual(OrderPoint(hammer.id).seasonal_index, 1)
            OrderPoint.write([OrderPoint(hammer.id)], {
                    'min_quantity': hammer.min_quantity})
            self.assertIsNone(OrderPoint(hammer.id).seasonal_index)
            OrderPoint.write([OrderPoint(saw.id)], {'fill_rate': 0.97})
            self.assertEqual(OrderPoint(saw.id).seasonal_index, 1)

    @with_transaction()
    def test_tune_again_same_day(self):
        "Test tuning again the same day dampens from the same values"
        pool = Pool()
        Run = pool.get('perpetual_inventory.tuning.run')
        OrderPoint = pool.get('stock.order_point')
        Log = pool.get('perpetual_inventory.tuning.log')
        company = create_company()
        with set_company(company):
            history = History(dt.date.today())
            history.build()
            # hand-set far from the computed values (about 12 / 252)
            point, = history.points(history.hammer, min_quantity=40,
                target_quantity=60)
            Run.launch([point])
            run_tasks()
            first = OrderPoint(point.id)
            log1, = Log.search([('order_point', '=', point.id)])
            self.assertEqual(log1.state, 'changed')
            # dampened: half way at most
            self.assertEqual(first.min_quantity, 20)
            self.assertLess(first.target_quantity, 252)
            # Tune Now again, twice: nothing moves, the same explanation
            for _ in range(2):
                run = Run.launch([point])
                run_tasks()
                self.assertEqual(Run(run.id).points_changed, 0)
                again = OrderPoint(point.id)
                self.assertEqual(
                    (again.min_quantity, again.target_quantity),
                    (first.min_quantity, first.target_quantity))
                log, = Log.search([('run', '=', run.id)])
                self.assertEqual(log.state, 'kept')
                self.assertEqual(
                    (log.old_min_quantity, log.old_target_quantity),
                    (first.min_quantity, first.target_quantity))
                self.assertEqual(log.explanation, log1.explanation)
                self.assertEqual(again.tuning_explanation, log1.explanation)
                # both dampened from the values of the start of the day
                for log in [log1, log]:
                    self.assertEqual(
                        (log.base_min_quantity, log.base_target_quantity),
                        (40, 60))

            # the explanation says so
            self.assertIn("Dampening from the values in force before "
                "today's tuning, minimal 40 and target 60", log1.explanation)
            self.assertIn("the reorder point %s is not reached: it moves "
                "from 40 to 20" % quantity_text(log1.computed_min_quantity),
                log1.explanation)
            self.assertIn('minimal 20, target %s.' % quantity_text(
                    first.target_quantity), log1.explanation)

            # values set by hand are dampened from by the next run
            OrderPoint.write([OrderPoint(point.id)], {
                    'min_quantity': 30, 'target_quantity': 50})
            run = Run.launch([point])
            run_tasks()
            log, = Log.search([('run', '=', run.id)])
            self.assertEqual(
                (log.base_min_quantity, log.base_target_quantity), (30, 50))
            self.assertEqual(OrderPoint(point.id).min_quantity, 15)
            self.assertIn('minimal 30 and target 50', log.explanation)

    @with_transaction()
    def test_fill_rate_target(self):
        "Test the order point shows the fill rate the tuning uses"
        pool = Pool()
        Run = pool.get('perpetual_inventory.tuning.run')
        OrderPoint = pool.get('stock.order_point')
        Log = pool.get('perpetual_inventory.tuning.log')
        company = create_company()
        with set_company(company):
            history = History(dt.date.today())
            history.build()
            hammer, saw = history.points(history.hammer, history.saw)
            # not classified yet: the tuning would take class C's
            self.assertIsNone(hammer.fill_rate)
            self.assertEqual(hammer.fill_rate_target, 0.90)
            Run.launch([hammer, saw])
            run_tasks()
            hammer, saw = OrderPoint.browse([hammer, saw])
            self.assertEqual((hammer.abc_class, saw.abc_class), ('A', 'C'))
            self.assertIsNone(hammer.fill_rate)
            self.assertEqual(
                (hammer.fill_rate_target, saw.fill_rate_target),
                (0.98, 0.90))
            log, = Log.search([('order_point', '=', hammer.id)])
            self.assertEqual(log.fill_rate, hammer.fill_rate_target)
            # an override is the target, also while it is typed
            OrderPoint.write([saw], {'fill_rate': 0.97})
            self.assertEqual(OrderPoint(saw.id).fill_rate_target, 0.97)
            hammer.fill_rate = 0.99
            self.assertEqual(hammer.on_change_with_fill_rate_target(), 0.99)

    @with_transaction()
    def test_propose(self):
        "Test an order point is proposed once a product sold long enough"
        pool = Pool()
        Run = pool.get('perpetual_inventory.tuning.run')
        OrderPoint = pool.get('stock.order_point')
        Configuration = pool.get('perpetual_inventory.configuration')
        company = create_company()
        with set_company(company):
            history = History(dt.date.today())
            history.build()
            config = Configuration(1)
            config.propose_min_days = 9
            config.save()
            # hammer sold first 9 days ago, saw 6 days ago
            run = Run.launch(origin='cron', propose=True)
            self.assertEqual(run.points_proposed, 1)
            point, = OrderPoint.search([])
            self.assertEqual(point.product, history.hammer)
            self.assertEqual(point.location, history.warehouse)
            run_tasks()
            point = OrderPoint(point.id)
            self.assertGreater(point.target_quantity, 0)

            run = Run.launch(origin='cron', propose=True)
            self.assertEqual(run.points_proposed, 0)

    @with_transaction()
    def test_purge_runs(self):
        "Test the daily tuning deletes the old runs with batches and logs"
        pool = Pool()
        Run = pool.get('perpetual_inventory.tuning.run')
        Batch = pool.get('perpetual_inventory.tuning.batch')
        Log = pool.get('perpetual_inventory.tuning.log')
        OrderPoint = pool.get('stock.order_point')
        Configuration = pool.get('perpetual_inventory.configuration')
        company = create_company()
        with set_company(company):
            history = History(dt.date.today())
            history.build()
            config = Configuration(1)
            self.assertEqual(config.log_days, 400)
            point, = history.points(history.hammer)
            old = Run.launch([point])
            recent = Run.launch([point])
            run_tasks()
            today = dt.date.today()
            Run.write([old], {'date': today - dt.timedelta(days=401)})
            Run.write([recent], {'date': today - dt.timedelta(days=400)})

            OrderPoint.tune_order_points()

            runs = Run.search([])
            self.assertNotIn(old, runs)
            self.assertIn(recent, runs)
            self.assertEqual(len(runs), 2)  # and the cron's own run
            self.assertEqual(Log.search([('run', '=', old.id)]), [])
            self.assertEqual(Batch.search([('run', '=', old.id)]), [])
            self.assertEqual(
                Log.search([('run', '=', recent.id)], count=True), 1)
            self.assertEqual(
                Batch.search([('run', '=', recent.id)], count=True), 1)

            # 0 keeps every run
            config.log_days = 0
            config.save()
            Run.write([recent], {'date': today - dt.timedelta(days=4000)})
            self.assertEqual(Run.purge(company.id), 0)
            self.assertIn(recent, Run.search([]))

    def test_collector_paused(self):
        "Test the garbage collector is paused in a batch and restored"
        import gc
        from ..models.tuning import collector_paused
        self.assertTrue(gc.isenabled())
        with collector_paused():
            self.assertFalse(gc.isenabled())
        self.assertTrue(gc.isenabled())
        gc.disable()
        try:
            with collector_paused():
                self.assertFalse(gc.isenabled())
            self.assertFalse(gc.isenabled())
        finally:
            gc.enable()
        with self.assertRaises(ZeroDivisionError):
            with collector_paused():
                1 / 0
        self.assertTrue(gc.isenabled())

    @with_transaction()
    def test_configuration_check(self):
        "Test the ABC shares must sum to 1"
        pool = Pool()
        Configuration = pool.get('perpetual_inventory.configuration')
        config = Configuration(1)
        self.assertEqual(config.abc_thresholds(), (0.80, 0.15, 0.05))
        config.abc_a_share = 0.9
        with self.assertRaises(UserError):
            config.save()

    @with_transaction()
    def test_tune_internal_refused(self):
        "Test an internal order point cannot be tuned"
        pool = Pool()
        Run = pool.get('perpetual_inventory.tuning.run')
        OrderPoint = pool.get('stock.order_point')
        company = create_company()
        with set_company(company):
            history = History(dt.date.today())
            point, = OrderPoint.create([{
                        'product': history.hammer.id,
                        'location': history.storage.id,
                        'provisioning_location': history.output.id,
                        'type': 'internal', 'min_quantity': 1,
                        'target_quantity': 2,
                        }])
            with self.assertRaises(UserError):
                Run.launch([point])

    def test_apply_levels(self):
        "Test dampening then rounding of the levels"
        # no old value: taken as computed, min rounded up, gap to the pack
        self.assertEqual(
            apply_levels(0, 0, 4.2, 24.2, 1, 10, 0.05, 0.5), (5, 25))
        # below the threshold: kept exactly
        self.assertEqual(
            apply_levels(10, 30, 10.3, 30.5, 1, 10, 0.05, 0.5), (10, 30))
        # a rise moves by up to 50 % of the new value: 30 more for the
        # minimum (40 → 30, its order quantity of 20 is smaller), 50 for
        # the target (100 → 80), 30 for the gap (60 → 50)
        self.assertEqual(
            apply_levels(10, 30, 40, 100, 1, 10, 0.05, 0.5), (30, 80))
        # a fall by up to 50 % of the old value (of the order quantity in
        # force for the minimum)
        self.assertEqual(
            apply_levels(10, 30, 0, 0, 1, 1, 0.05, 0.5), (0, 15))
        # up to twice the old value at once
        self.assertEqual(
            apply_levels(10, 30, 14, 40, 1, 10, 0.05, 0.5), (14, 44))
        # the season doubled the demand: the minimum is carried to 20,
        # the order quantity of 20 kept (target 40); then capped: the
        # minimum by 30 (half of 60), the target by 60 (half of 120)
        self.assertEqual(
            apply_levels(10, 30, 60, 120, 1, 10, 0.05, 0.5, 2.0), (50, 100))
        # within the threshold of the values carried along the season
        self.assertEqual(
            apply_levels(10, 30, 20.5, 40.5, 1, 10, 0.05, 0.5, 2.0),
            (20, 40))

    def test_array_values(self):
        "Test the reading of PostgreSQL's binary arrays of the history"
        import struct
        from ..models.history import _array_values

        def send(values, code, nulls=0):
            size = struct.calcsize('>' + code)
            return struct.pack('>5i', 1, nulls, 23, len(values), 1) + b''.join(
                struct.pack('>i' + code, size, v) for v in values)
        self.assertEqual(
            _array_values(send([3, -2, 7], 'i'), '>i4').tolist(), [3, -2, 7])
        self.assertEqual(
            _array_values(send([1.5, 0.25], 'd'), '>f8').tolist(),
            [1.5, 0.25])
        # no row: array_agg gives NULL
        self.assertEqual(_array_values(None, '>i4').size, 0)
        # anything else is refused (the rows are then read the usual way)
        self.assertIsNone(_array_values(send([1, 2], 'i', nulls=1), '>i4'))
        self.assertIsNone(_array_values(send([1, 2], 'i')[:-2], '>i4'))
        self.assertIsNone(_array_values(send([1, 2], 'i'), '>f8'))
        self.assertIsNone(_array_values(b'\x00' * 8, '>i4'))

    @with_transaction()
    def test_alerts(self):
        "Test the below safety stock, overstock and obsolete alerts"
        pool = Pool()
        Run = pool.get('perpetual_inventory.tuning.run')
        OrderPoint = pool.get('stock.order_point')
        Alert = pool.get('perpetual_inventory.order_point.alert')
        Configuration = pool.get('perpetual_inventory.configuration')
        company = create_company()
        with set_company(company):
            history = History(dt.date.today())
            history.build()
            config = Configuration(1)
            config.obsolete_days = 5
            config.overstock_margin = 0.5
            config.save()
            hammer, = history.points(history.hammer)
            saw, = history.points(history.saw, min_quantity=10,
                target_quantity=32, auto_tune=False)
            Run.launch([hammer])
            run_tasks()
            self.assertGreater(OrderPoint(hammer.id).min_quantity, 0)

            alerts = {a.order_point: a for a in Alert.search([])}
            # hammer: nothing on hand; its minimal quantity is under the
            # demand of lead time + review (a large order quantity): no
            # safety stock to be below
            self.assertEqual(alerts[hammer].on_hand, 0)
            self.assertEqual(OrderPoint(hammer.id).safety_stock, 0)
            self.assertTrue(alerts[hammer].out_of_stock)
            self.assertFalse(alerts[hammer].below_safety_stock)
            self.assertFalse(alerts[hammer].overstock)
            self.assertFalse(alerts[hammer].obsolete)
            self.assertEqual(alerts[hammer].last_outgoing, history.day(7))
            # saw: 49 > 32 * 1.5 and its last sale is 6 days old
            self.assertEqual(alerts[saw].on_hand, 49)
            self.assertTrue(alerts[saw].overstock)
            self.assertTrue(alerts[saw].obsolete)
            self.assertFalse(alerts[saw].below_safety_stock)
            self.assertFalse(alerts[saw].out_of_stock)
            self.assertEqual(alerts[saw].value, 4.9)
            self.assertEqual(alerts[saw].last_outgoing, history.day(4))
            self.assertEqual(
                Alert.search([('obsolete', '=', True)]), [alerts[saw]])

            # below a positive safety stock only (earlier versions stored
            # negative ones)
            OrderPoint.write([OrderPoint(hammer.id)], {'safety_stock': -4.11})
            OrderPoint.write([OrderPoint(saw.id)], {'safety_stock': 60})
            alerts = {a.order_point: a for a in Alert.search([])}
            self.assertFalse(alerts[hammer].below_safety_stock)
            self.assertTrue(alerts[saw].below_safety_stock)
            self.assertEqual(
                Alert.search([('below_safety_stock', '=', True)]),
                [alerts[saw]])
            self.assertEqual(
                Alert.search([('out_of_stock', '=', True)]),
                [alerts[hammer]])
            OrderPoint.write([OrderPoint(saw.id)], {'safety_stock': 49})
            self.assertEqual(
                Alert.search([('below_safety_stock', '=', True)]), [])

            config.obsolete_days = 6
            config.overstock_margin = 0.6
            config.save()
            self.assertEqual(Alert.search([('id', '=', saw.id)]), [])

    @with_transaction()
    def test_demand_graph(self):
        "Test the daily demand of an order point for its graph"
        pool = Pool()
        OrderPoint = pool.get('stock.order_point')
        Demand = pool.get('perpetual_inventory.order_point.demand')
        company = create_company()
        with set_company(company):
            history = History(dt.date.today())
            history.build()
            point, = OrderPoint.create([{
                        'product': history.hammer.id,
                        'location': history.warehouse.id,
                        'type': 'purchase', 'min_quantity': 4,
                        'target_quantity': 9,
                        }])
            rows = Demand.search([('order_point', '=', point.id)])
            self.assertEqual(
                [(r.date, r.quantity) for r in rows],
                [(history.day(d), q) for d, q in [
                            (1, 4), (2, 6), (4, 2), (5, 3), (6, -3),
                            (7, 5)]])
            self.assertEqual(
                {(r.min_quantity, r.target_quantity) for r in rows},
                {(4, 9)})
            self.assertEqual(len({r.id for r in rows}), 6)

    @with_transaction()
    def test_levels_in_force(self):
        "Test the graphs show the levels in force at each date"
        pool = Pool()
        OrderPoint = pool.get('stock.order_point')
        Run = pool.get('perpetual_inventory.tuning.run')
        Log = pool.get('perpetual_inventory.tuning.log')
        Demand = pool.get('perpetual_inventory.order_point.demand')
        ModelData = pool.get('ir.model.data')
        ActWindow = pool.get('ir.action.act_window')
        company = create_company()
        with set_company(company):
            history = History(dt.date.today())
            history.build()
            point, other = history.points(history.hammer, history.saw)
            # set by hand after the last tuning (not logged)
            OrderPoint.write([point], {
                    'min_quantity': 7, 'target_quantity': 21})
            run, = Run.create([{'date': history.today, 'origin': 'manual'}])

            def log(order_point, day, old, new):
                return {
                    'run': run.id, 'order_point': order_point.id,
                    'date': history.day(day), 'state': 'changed',
                    'old_min_quantity': old[0],
                    'old_target_quantity': old[1],
                    'min_quantity': new[0], 'target_quantity': new[1],
                    }
            logs = Log.create([
                    log(point, 3, (4, 9), (6, 20)),
                    log(other, 2, (50, 90), (60, 99)),
                    log(point, 5, (6, 20), (3, 10)),
                    # tuned again the same day
                    log(point, 5, (3, 10), (5, 18)),
                    ])

            rows = Demand.search([('order_point', '=', point.id)])
            self.assertEqual(
                [(r.date, r.min_quantity, r.target_quantity) for r in rows],
                [(history.day(d), m, t) for d, m, t in [
                            (1, 4, 9), (2, 4, 9),  # before: the first's old
                            (4, 6, 20),
                            (5, 5, 18), (6, 5, 18), (7, 5, 18),
                            ]])

            # the levels graph: one order point, its last log of each day
            self.assertEqual(
                Log.search([
                        ('order_point', '=', point.id),
                        ('last_of_day', '=', True),
                        ], order=[('date', 'ASC')]),
                [logs[0], logs[3]])
            self.assertEqual(
                [l.last_of_day for l in Log.browse(logs)],
                [True, True, False, True])
            self.assertEqual(
                Log.search([('last_of_day', '=', False)]), [logs[2]])
            levels = ActWindow(ModelData.get_id(
                    'perpetual_inventory', 'act_order_point_tuning_levels'))
            self.assertEqual(
                [v.view.type for v in levels.act_window_views][0], 'graph')
            self.assertIn('last_of_day', levels.domain)
            self.assertIn('active_id', levels.domain)
            # the logs of every product together have no graph: it would
            # add up the levels of different products on one date
            all_logs = ActWindow(ModelData.get_id(
                    'perpetual_inventory', 'act_tuning_log_form'))
            self.assertNotIn('graph',
                [v.view.type for v in all_logs.act_window_views])

    @with_transaction()
    def test_queue_with_worker(self):
        "Test the batches wait in the queue for a worker when one is set"
        import trytond.config as config
        pool = Pool()
        Run = pool.get('perpetual_inventory.tuning.run')
        Queue = pool.get('ir.queue')
        Configuration = pool.get('perpetual_inventory.configuration')
        company = create_company()
        with set_company(company):
            history = History(dt.date.today())
            history.build()
            configuration = Configuration(1)
            configuration.batch_size = 1
            configuration.save()
            points = history.points(history.hammer, history.saw)
            worker = config.get('queue', 'worker', default='False')
            config.set('queue', 'worker', 'True')
            try:
                run = Run.launch(points)
            finally:
                config.set('queue', 'worker', worker)
            self.assertFalse(config.getboolean('queue', 'worker'))
            self.assertEqual(Transaction().tasks, [])
            tasks = [t for t in Queue.search([])
                if t.data['model'] == 'perpetual_inventory.tuning.batch'
                and t.data['method'] == 'tune']
            self.assertEqual(len(tasks), 2)
            self.assertEqual(
                sorted(list(t.data['args'][0]) for t in tasks),
                [[points[0].id], [points[1].id]])
            self.assertEqual(Run(run.id).state, 'running')

            # what trytond-worker does with each task
            for task in tasks:
                task.run()
            run = Run(run.id)
            self.assertEqual((run.state, run.batches_done), ('done', 2))
