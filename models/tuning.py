# This file is part of perpetual_inventory.  The COPYRIGHT file at the top
# level of this repository contains the full copyright notices and license
# terms.
"""Order point tuning: runs, their batches and the log of every change."""
import datetime as dt
import gc
import math
import time
from collections import defaultdict
from contextlib import contextmanager
from typing import NamedTuple

import numpy as np
from sql import Literal
from sql.aggregate import Max, Sum
from sql.conditionals import Case

from trytond import backend
from trytond.i18n import gettext
from trytond.model import Index, ModelSQL, ModelView, fields
from trytond.model.fields import SQL_OPERATORS
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval
from trytond.tools import grouped_slice
from trytond.transaction import Transaction

from ..core import replenishment as core
from ..core.replenishment import (
    abc_classify, quantity_text, season_ratio, settle_levels)
from ..exceptions import TuningError
from . import history as history_

# Above this many products without an order point, their first sales are
# read with one aggregate over all the moves instead of product by product.
CHUNK_ALL = 20000

ABC_CLASSES = [
    (None, ""),
    ('A', "A"),
    ('B', "B"),
    ('C', "C"),
    ]


def compute_order_points(items, today):
    """Return the core result (or the ValueError) of each item.

    ``items`` are ``(history, fill_rate, parameters)``.  The items go to
    the vectorised core together; when the core refuses one, each item is
    computed alone so that only the bad ones fail.
    """
    if not items:
        return []
    histories = [h for h, _, _ in items]

    def per_item(name):
        return [p[name] for _, _, p in items]
    try:
        return core.compute_order_points(
            [h.sales for h in histories],
            [h.stockout for h in histories],
            [h.receipt_ordinals for h in histories],
            per_item('quoted_lead_time'),
            [h.unit_cost for h in histories],
            pack_multiple=[h.pack_multiple for h in histories],
            minimum_order_quantity=[
                h.minimum_order_quantity for h in histories],
            fill_rate=[f for _, f, _ in items],
            review_period=per_item('review_period'),
            ordering_cost=per_item('ordering_cost'),
            holding_rate=per_item('holding_rate'),
            today=today)
    except ValueError:
        if len(items) == 1:
            history, fill_rate, parameters = items[0]
            try:
                return [core.compute_order_point(
                        history.sales, history.stockout,
                        history.receipt_ordinals,
                        parameters['quoted_lead_time'],
                        history.unit_cost,
                        pack_multiple=history.pack_multiple,
                        minimum_order_quantity=(
                            history.minimum_order_quantity),
                        fill_rate=fill_rate,
                        review_period=parameters['review_period'],
                        ordering_cost=parameters['ordering_cost'],
                        holding_rate=parameters['holding_rate'],
                        today=today)]
            except ValueError as exception:
                return [exception]
        middle = len(items) // 2
        return (compute_order_points(items[:middle], today)
            + compute_order_points(items[middle:], today))


def _float_digits(Model):
    "Return field name -> decimal digits of the Float fields of Model"
    return {name: field.digits[1] for name, field in Model._fields.items()
        if isinstance(field, fields.Float)
        and isinstance(field.digits, tuple)}


def round_column(values, precision=None):
    """The numbers of a column rounded to ``precision`` decimals with numpy
    (it may differ from ``round`` in the last digit of a value halfway
    between two); None stays None.  Without ``precision`` (not a Float
    field) the column is returned as it is."""
    if precision is None:
        return values
    array = np.round(np.array(values, dtype=float), precision)
    rounded = array.tolist()
    if np.isnan(array).any():
        rounded = [None if v is None else r
            for v, r in zip(values, rounded)]
    return rounded


def apply_levels(old_min, old_target, new_min, new_target, rounding, pack,
        threshold, max_change, season=1.0):
    """Return the (min, target) to apply after dampening and rounding.

    The minimum is rounded up to the unit's rounding, the gap to the
    target up to the pack multiple; values kept by the dampening are kept
    exactly.  ``season``: see ``dampen_order_point``; the explanation of
    the steps: ``core.replenishment.settle_levels``.
    """
    levels = settle_levels(old_min, old_target, new_min, new_target,
        rounding, pack, threshold, max_change, season)
    return levels.min_quantity, levels.target_quantity


def safety_stock_in_force(min_quantity, protection_demand):
    """Return the safety stock of the minimal quantity written and its
    sentence.

    It is the part of the minimal quantity above the demand expected over
    lead time and review, at least 0: the core's safety stock is that of
    the computed reorder point, negative when a large order quantity meets
    the fill rate target with a reorder point under that demand, and the
    minimal quantity in force may differ from the computed one (dampening,
    rounding).
    """
    safety = max(0.0, min_quantity - protection_demand)

    def two(value):
        # the digits of the order point's field, so that the figures of
        # the sentence add up as shown
        return quantity_text(round(value, 2))
    if safety > 0:
        text = ("Safety stock in force %s: the minimal quantity %s less"
            " the demand %s expected over lead time + review." % (
                two(safety), two(min_quantity), two(protection_demand)))
    else:
        text = ("No safety stock in force: the minimal quantity %s does"
            " not exceed the demand %s expected over lead time + review."
            % (two(min_quantity), two(protection_demand)))
    return safety, text


class Move(metaclass=PoolMeta):
    __name__ = 'stock.move'

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        # The tuning reads the done moves of a batch of products over the
        # history: without it every batch scans all the moves.  The
        # included columns let PostgreSQL answer from the index alone.
        cls._sql_indexes.add(
            Index(t,
                (t.product, Index.Range()),
                (t.effective_date, Index.Range()),
                include=[t.from_location, t.to_location,
                    t.internal_quantity, t.company, t.origin],
                where=t.state == 'done'))


class Queue(metaclass=PoolMeta):
    __name__ = 'ir.queue'

    @classmethod
    def pull(cls, database, connection, name=None):
        """Pull one task, with PostgreSQL's nested loops off on the
        worker's queue connection.

        The pull marks the task chosen by a ``LIMIT 1 FOR UPDATE SKIP
        LOCKED`` subquery as dequeued.  On a small, freshly analysed queue
        table PostgreSQL runs that subquery inside a nested loop, once per
        row of the table: each run skips the rows the statement has just
        locked and picks the next one, so every waiting task is marked
        dequeued while only one is returned, and the others never run (a
        tuning run would wait for its batches forever).  With a hash join
        the subquery runs once.
        """
        if backend.name != 'postgresql':
            return super().pull(database, connection, name=name)
        cursor = connection.cursor()
        cursor.execute('SET enable_nestloop = off')
        try:
            return super().pull(database, connection, name=name)
        finally:
            cursor.execute('RESET enable_nestloop')


class Run(ModelSQL, ModelView):
    "Order Point Tuning Run"
    __name__ = 'perpetual_inventory.tuning.run'

    company = fields.Many2One(
        'company.company', "Company", required=True, readonly=True)
    date = fields.Date("Date", required=True, readonly=True)
    origin = fields.Selection([
            ('cron', "Scheduled"),
            ('manual', "Manual"),
            ], "Origin", readonly=True)
    state = fields.Function(fields.Selection([
            ('running', "Running"),
            ('done', "Done"),
            ], "State", sort=False), 'get_figures')
    batches_total = fields.Integer("Batches", readonly=True)
    batches_done = fields.Function(
        fields.Integer("Batches Done"), 'get_figures')
    points_total = fields.Integer("Order Points", readonly=True)
    points_tuned = fields.Function(fields.Integer("Tuned"), 'get_figures')
    points_changed = fields.Function(
        fields.Integer("Changed"), 'get_figures')
    points_failed = fields.Function(fields.Integer("Failed"), 'get_figures')
    points_proposed = fields.Integer("Proposed", readonly=True)
    progress = fields.Function(
        fields.Float("Progress", digits=(1, 4)), 'get_figures')
    sql_time = fields.Function(fields.Float(
            "SQL Time", digits=(16, 3), readonly=True,
            help="Seconds spent gathering the history (all batches)."),
        'get_figures')
    math_time = fields.Function(fields.Float(
            "Math Time", digits=(16, 3), readonly=True,
            help="Seconds spent computing the order points (all batches)."),
        'get_figures')
    write_time = fields.Function(fields.Float(
            "Write Time", digits=(16, 3), readonly=True,
            help="Seconds spent in the batches besides the history and the "
            "math: reading the order points, writing their new levels and "
            "the logs (all batches)."),
        'get_figures')
    finished_at = fields.Function(
        fields.Timestamp("Finished at"), 'get_figures')
    batches = fields.One2Many(
        'perpetual_inventory.tuning.batch', 'run', "Batches", readonly=True)
    logs = fields.One2Many(
        'perpetual_inventory.tuning.log', 'run', "Logs", readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('create_date', 'DESC'), ('id', 'DESC')]

    @classmethod
    def __register__(cls, module):
        super().__register__(module)
        table_h = cls.__table_handler__(module)
        # the figures are summed from the batches since each batch records
        # its own (concurrent workers never update the same row)
        table_h.not_null_action('state', 'remove')

    @classmethod
    def default_company(cls):
        return Transaction().context.get('company')

    @classmethod
    def get_figures(cls, runs, names):
        "Sum the figures of the batches of the runs"
        pool = Pool()
        Batch = pool.get('perpetual_inventory.tuning.batch')
        batch = Batch.__table__()
        cursor = Transaction().connection.cursor()
        figures = {}
        for sub in grouped_slice(
                [r.id for r in runs], count=backend.MAX_QUERY_PARAMS // 2):
            cursor.execute(*batch.select(
                    batch.run,
                    Sum(Case((batch.state == 'done', 1), else_=0)),
                    Sum(batch.tuned), Sum(batch.changed), Sum(batch.failed),
                    Sum(batch.sql_time), Sum(batch.math_time),
                    Sum(batch.write_time), Max(batch.finished_at),
                    where=SQL_OPERATORS['in'](batch.run, list(sub)),
                    group_by=[batch.run]))
            for row in cursor:
                figures[row[0]] = row[1:]
        result = {n: {} for n in names}
        for run in runs:
            (done, tuned, changed, failed, sql_time, math_time, write_time,
                finished) = figures.get(run.id, (0, 0, 0, 0, 0, 0, 0, None))
            total = run.batches_total or 0
            values = {
                'batches_done': int(done or 0),
                'points_tuned': int(tuned or 0),
                'points_changed': int(changed or 0),
                'points_failed': int(failed or 0),
                # at the fields' digits, so that a form showing them
                # does not take its rounding for a change
                'sql_time': round(float(sql_time or 0), 3),
                'math_time': round(float(math_time or 0), 3),
                'write_time': round(float(write_time or 0), 3),
                'finished_at': finished if (done or 0) >= total else None,
                'state': 'done' if (done or 0) >= total else 'running',
                'progress': (done or 0) / total if total else 1.0,
                }
            if isinstance(values['finished_at'], str):
                values['finished_at'] = dt.datetime.fromisoformat(
                    values['finished_at'])
            for name in names:
                result[name][run.id] = values[name]
        return result

    def get_rec_name(self, name):
        return '%s #%s' % (self.date, self.id)

    @classmethod
    def launch(cls, points=None, origin='manual', propose=False):
        """Classify, split in batches and queue the tuning of the points.

        Without points, every purchase order point of the company is tuned
        (and new ones are proposed when ``propose`` is set).  Return the run.
        """
        with collector_paused():
            return cls._launch(points, origin, propose)

    @classmethod
    def _launch(cls, points, origin, propose):
        pool = Pool()
        OrderPoint = pool.get('stock.order_point')
        Configuration = pool.get('perpetual_inventory.configuration')
        Date = pool.get('ir.date')
        config = Configuration(1)
        company_id = Transaction().context.get('company')
        if not company_id:
            raise TuningError(gettext(
                    'perpetual_inventory.msg_tuning_no_company'))
        today = Date.today()

        proposed = []
        if points is None:
            if propose:
                proposed = cls.propose_order_points(company_id, today)
            # in SQL: instantiating every order point costs minutes
            point = OrderPoint.__table__()
            cursor = Transaction().connection.cursor()
            cursor.execute(*point.select(point.id, point.location,
                    where=(point.type == 'purchase')
                    & (point.company == company_id)
                    & (point.auto_tune == Literal(True))))
            rows = cursor.fetchall()
        else:
            others = [p for p in points if p.type != 'purchase'
                or p.company.id != company_id]
            if others:
                raise TuningError(gettext(
                        'perpetual_inventory.msg_tuning_not_purchase',
                        order_point=others[0].rec_name))
            rows = [(p.id, p.location.id) for p in points]
        warehouses = {l for _, l in rows}
        cls.classify(warehouses, company_id, today)

        point_ids = sorted(i for i, _ in rows)
        batches = [list(b) for b in grouped_slice(
                point_ids, count=config.batch_size)]
        run = cls(
            company=company_id, date=today, origin=origin,
            batches_total=len(batches), points_total=len(point_ids),
            points_proposed=len(proposed))
        run.save()
        Batch = pool.get('perpetual_inventory.tuning.batch')
        bulk_insert(Batch, [{
                    'run': run.id, 'sequence': i, 'points': len(b),
                    'state': 'queued',
                    } for i, b in enumerate(batches, 1)])
        batch_records = Batch.search(
            [('run', '=', run.id)], order=[('sequence', 'ASC')])
        for point_ids, batch in zip(batches, batch_records):
            # the task's record is the batch, the order points are an
            # argument: the queue checks and instantiates its records, in
            # a time that grows with the square of their number
            Batch.__queue__.tune(batch, point_ids)
        return run

    @classmethod
    def purge(cls, company_id, today=None):
        """Delete the runs of the company older than the configured days,
        with their batches and logs.  Return the number of runs deleted."""
        pool = Pool()
        Configuration = pool.get('perpetual_inventory.configuration')
        Batch = pool.get('perpetual_inventory.tuning.batch')
        Log = pool.get('perpetual_inventory.tuning.log')
        Date = pool.get('ir.date')
        days = Configuration(1).log_days
        if not days:
            return 0
        if today is None:
            today = Date.today()
        runs = cls.search([
                ('company', '=', company_id),
                ('date', '<', today - dt.timedelta(days=days)),
                ])
        if not runs:
            return 0
        # the logs in SQL: a run has one per order point, deleting them
        # as records would instantiate every one
        log = Log.__table__()
        batch = Batch.__table__()
        cursor = Transaction().connection.cursor()
        for sub in grouped_slice(
                [r.id for r in runs], count=backend.MAX_QUERY_PARAMS // 2):
            sub = list(sub)
            cursor.execute(*log.delete(
                    where=SQL_OPERATORS['in'](log.run, sub)))
            cursor.execute(*batch.delete(
                    where=SQL_OPERATORS['in'](batch.run, sub)))
        Transaction().counter += 1
        cls.delete(runs)
        return len(runs)

    @classmethod
    def classify(cls, warehouse_ids, company_id, today):
        "Store the ABC class of every order point of the warehouses"
        pool = Pool()
        OrderPoint = pool.get('stock.order_point')
        Configuration = pool.get('perpetual_inventory.configuration')
        config = Configuration(1)
        point = OrderPoint.__table__()
        cursor = Transaction().connection.cursor()
        start = today - dt.timedelta(days=365)
        end = today - dt.timedelta(days=1)
        for warehouse_id in warehouse_ids:
            values = history_.consumption_values(
                warehouse_id, start, end, company_id)
            cursor.execute(*point.select(
                    point.id, point.product, point.abc_class,
                    where=(point.location == warehouse_id)
                    & (point.company == company_id)
                    & (point.type == 'purchase')))
            products = defaultdict(list)
            current = {}
            for point_id, product_id, abc in cursor.fetchall():
                products[product_id].append(point_id)
                current[point_id] = abc
            classes = abc_classify(
                {p: values.get(p, 0.0) for p in products},
                config.abc_thresholds())
            by_class = defaultdict(list)
            for product_id, abc in classes.items():
                by_class[abc].extend(
                    i for i in products[product_id] if current[i] != abc)
            updated = []
            for abc, ids in by_class.items():
                for sub in grouped_slice(
                        ids, count=backend.MAX_QUERY_PARAMS // 2):
                    sub = list(sub)
                    cursor.execute(*point.update(
                            [point.abc_class, point.write_uid,
                                point.write_date],
                            [abc, Transaction().user, dt.datetime.now()],
                            where=SQL_OPERATORS['in'](point.id, sub)))
                    updated.extend(sub)
            _drop_cached(OrderPoint, updated)

    @classmethod
    def propose_order_points(cls, company_id, today):
        """Create an order point for the goods sold for long enough from a
        warehouse that has none; return them."""
        pool = Pool()
        OrderPoint = pool.get('stock.order_point')
        Location = pool.get('stock.location')
        Configuration = pool.get('perpetual_inventory.configuration')
        config = Configuration(1)
        limit = today - dt.timedelta(days=config.propose_min_days)
        to_create = []
        for warehouse in Location.search([('type', '=', 'warehouse')]):
            # only the goods without an order point: once every product
            # has one, no move is read
            without = history_.products_without_point(
                warehouse.id, company_id)
            if not without:
                continue
            first = history_.first_sales(warehouse.id, company_id,
                None if len(without) > CHUNK_ALL else without)
            candidates = {p for p, d in first.items() if d and d <= limit}
            if not candidates:
                continue
            # the first sales were read for these goods only (all the
            # products when there were many)
            for product_id in sorted(candidates.intersection(without)):
                to_create.append({
                        'product': product_id,
                        'location': warehouse.id,
                        'company': company_id,
                        'type': 'purchase',
                        'min_quantity': 0,
                        'target_quantity': 0,
                        })
        return OrderPoint.create(to_create)


class Batch(ModelSQL, ModelView):
    "Order Point Tuning Batch"
    __name__ = 'perpetual_inventory.tuning.batch'

    run = fields.Many2One(
        'perpetual_inventory.tuning.run', "Run", required=True,
        ondelete='CASCADE', readonly=True)
    sequence = fields.Integer("Sequence", readonly=True)
    points = fields.Integer("Order Points", readonly=True)
    state = fields.Selection([
            ('queued', "Queued"),
            ('done', "Done"),
            ], "State", readonly=True)
    tuned = fields.Integer("Tuned", readonly=True)
    changed = fields.Integer("Changed", readonly=True)
    failed = fields.Integer("Failed", readonly=True)
    sql_time = fields.Float("SQL Time", digits=(16, 3), readonly=True)
    math_time = fields.Float("Math Time", digits=(16, 3), readonly=True)
    write_time = fields.Float("Write Time", digits=(16, 3), readonly=True,
        help="Seconds spent besides the history and the math: reading the "
        "order points, writing their new levels and the logs.")
    finished_at = fields.Timestamp("Finished at", readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('sequence', 'ASC'), ('id', 'ASC')]
        t = cls.__table__()
        cls._sql_indexes.add(Index(t, (t.run, Index.Equality())))

    @classmethod
    def tune(cls, batches, point_ids):
        "Tune the order points of the batch (queued task)"
        pool = Pool()
        OrderPoint = pool.get('stock.order_point')
        if not isinstance(batches, (list, tuple)):
            batches = [batches]
        for batch in batches:
            OrderPoint.tune_batch(point_ids, batch.run.id, batch.id)

    @classmethod
    def record(cls, batch_id, tuned, changed, failed, sql_time, math_time,
            write_time=None):
        "Store the figures of the finished batch (its own row only)"
        bulk_update(cls, [(batch_id, {
                        'state': 'done', 'tuned': tuned, 'changed': changed,
                        'failed': failed, 'sql_time': sql_time,
                        'math_time': math_time, 'write_time': write_time,
                        'finished_at': dt.datetime.now(),
                        })])


class Log(ModelSQL, ModelView):
    "Order Point Tuning Log"
    __name__ = 'perpetual_inventory.tuning.log'

    run = fields.Many2One(
        'perpetual_inventory.tuning.run', "Run", required=True,
        ondelete='CASCADE', readonly=True)
    order_point = fields.Many2One(
        'stock.order_point', "Order Point", required=True,
        ondelete='CASCADE', readonly=True)
    # the order point's own: not copied on every log (their foreign keys,
    # checked row by row, made a large part of writing the logs)
    product = fields.Function(fields.Many2One(
            'product.product', "Product",
            context={
                'company': Eval('company', -1),
                },
            depends={'company'}),
        'get_point_field', searcher='search_point_field')
    warehouse = fields.Function(fields.Many2One(
            'stock.location', "Warehouse"),
        'get_point_field', searcher='search_point_field')
    company = fields.Function(fields.Many2One(
            'company.company', "Company"),
        'get_point_field', searcher='search_point_field')
    date = fields.Date("Date", required=True, readonly=True)
    state = fields.Selection([
            ('changed', "Changed"),
            ('kept', "Kept"),
            ('failed', "Failed"),
            ], "State", required=True, readonly=True)
    old_min_quantity = fields.Float("Old Minimal", readonly=True)
    old_target_quantity = fields.Float("Old Target", readonly=True)
    computed_min_quantity = fields.Float(
        "Computed Minimal", readonly=True,
        help="The reorder point before dampening and rounding.")
    computed_target_quantity = fields.Float(
        "Computed Target", readonly=True,
        help="The order-up-to level before dampening and rounding.")
    base_min_quantity = fields.Float(
        "Minimal at Start of Day", readonly=True,
        help="The minimal quantity in force before the first tuning of "
        "the day: every run of the day dampens from it.")
    base_target_quantity = fields.Float(
        "Target at Start of Day", readonly=True,
        help="The target quantity in force before the first tuning of "
        "the day: every run of the day dampens from it.")
    min_quantity = fields.Float("Minimal", readonly=True)
    target_quantity = fields.Float("Target", readonly=True)
    last_of_day = fields.Function(fields.Boolean(
            "Last of the Day",
            help="The last log of the order point on its date: its "
            "values are those in force at the end of the day."),
        'get_last_of_day', searcher='search_last_of_day')
    abc_class = fields.Selection(ABC_CLASSES, "ABC Class", readonly=True)
    fill_rate = fields.Float("Fill Rate Target", readonly=True,
        digits=(16, 4))
    expected_fill_rate = fields.Float("Expected Fill Rate", readonly=True,
        digits=(16, 4))
    model = fields.Char("Demand Model", readonly=True)
    model_error = fields.Float("Model Error", readonly=True, digits=(16, 4),
        help="Relative out-of-sample error of the demand model.")
    demand_class = fields.Char("Demand Class", readonly=True)
    history_days = fields.Integer("History Days", readonly=True)
    censored_days = fields.Integer("Stockout Days", readonly=True)
    mean_daily_demand = fields.Float(
        "Forecast Daily Demand", readonly=True, digits=(16, 4))
    lead_time_mean = fields.Float("Lead Time", readonly=True, digits=(16, 2))
    lead_time_std = fields.Float(
        "Lead Time Deviation", readonly=True, digits=(16, 2))
    lead_time_source = fields.Char("Lead Time Source", readonly=True)
    lead_time_observations = fields.Integer("Receipts", readonly=True)
    safety_stock = fields.Float("Safety Stock", readonly=True, digits=(16, 2),
        help="The part of the minimal quantity written above the demand "
        "expected over lead time and review (at least 0).")
    computed_safety_stock = fields.Float(
        "Computed Safety Stock", readonly=True, digits=(16, 2),
        help="The computed reorder point less the demand expected over "
        "lead time and review: negative when a large order quantity "
        "meets the fill rate target with a reorder point under that "
        "demand.")
    protection_demand = fields.Float(
        "Protection Demand", readonly=True, digits=(16, 2),
        help="The demand expected over lead time and review (with the "
        "undershoot and the forecast's bias).")
    lead_time_demand = fields.Float(
        "Lead Time Demand", readonly=True, digits=(16, 2))
    eoq = fields.Float("EOQ", readonly=True, digits=(16, 2))
    order_quantity = fields.Float(
        "Order Quantity", readonly=True, digits=(16, 2))
    unit_cost = fields.Float("Unit Cost", readonly=True, digits=(16, 4))
    pack_multiple = fields.Float("Pack", readonly=True)
    minimum_order_quantity = fields.Float("MOQ", readonly=True)
    on_hand = fields.Float("On Hand", readonly=True)
    explanation = fields.Text("Explanation", readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('id', 'DESC')]

    @classmethod
    def __register__(cls, module):
        super().__register__(module)
        table_h = cls.__table_handler__(module)
        # Migration from 8.0.0: the order point's product, warehouse and
        # company are no longer stored on each log
        for name in _POINT_FIELDS:
            if table_h.column_exist(name):
                table_h.drop_column(name)

    def get_rec_name(self, name):
        return '%s @ %s' % (self.order_point.rec_name, self.date)

    @classmethod
    def _last_of_day_query(cls):
        "Return the query of the last log of each order point and date"
        log = cls.__table__()
        return log.select(Max(log.id),
            group_by=[log.order_point, log.date])

    @classmethod
    def get_last_of_day(cls, logs, name):
        log = cls.__table__()
        cursor = Transaction().connection.cursor()
        result = dict.fromkeys(map(int, logs), False)
        points = {l.order_point.id for l in logs}
        for sub in grouped_slice(
                list(points), count=backend.MAX_QUERY_PARAMS // 2):
            cursor.execute(*log.select(Max(log.id),
                    where=SQL_OPERATORS['in'](log.order_point, list(sub)),
                    group_by=[log.order_point, log.date]))
            for log_id, in cursor:
                if log_id in result:
                    result[log_id] = True
        return result

    @classmethod
    def search_last_of_day(cls, name, clause):
        _, operator, value = clause[:3]
        last = cls._last_of_day_query()
        if (operator == '=') == bool(value):
            return [('id', 'in', last)]
        return [('id', 'not in', last)]

    @classmethod
    def get_point_field(cls, logs, names):
        result = {name: {} for name in names}
        for log in logs:
            point = log.order_point
            for name in names:
                value = getattr(point, _POINT_FIELDS[name])
                result[name][log.id] = value.id if value else None
        return result

    @classmethod
    def search_point_field(cls, name, clause):
        nested = clause[0][len(name):]
        return [('order_point.%s%s' % (_POINT_FIELDS[name], nested),)
            + tuple(clause[1:])]

    @classmethod
    def _order_point_field(cls, name, tables):
        OrderPoint = Pool().get('stock.order_point')
        table, _ = tables[None]
        if 'order_point' not in tables:
            point = OrderPoint.__table__()
            tables['order_point'] = {
                None: (point, table.order_point == point.id),
                }
        column = _POINT_FIELDS[name]
        return OrderPoint._fields[column].convert_order(
            column, tables['order_point'], OrderPoint)

    @classmethod
    def order_product(cls, tables):
        return cls._order_point_field('product', tables)

    @classmethod
    def order_warehouse(cls, tables):
        return cls._order_point_field('warehouse', tables)

    @classmethod
    def order_company(cls, tables):
        return cls._order_point_field('company', tables)


# the log's fields read from its order point: log field -> order point field
_POINT_FIELDS = {
    'product': 'product',
    'warehouse': 'location',
    'company': 'company',
    }


def _drop_cached(Model, ids):
    "Drop the records from the caches after an update that bypassed the ORM"
    transaction = Transaction()
    transaction.counter += 1
    for cache in transaction.cache.values():
        if Model.__name__ in cache:
            for id_ in ids:
                cache[Model.__name__].pop(id_, None)


def bulk_update(Model, rows, digits=None):
    """Write ``rows`` of ``(id, values)``, the rows with the same columns
    together: on PostgreSQL one UPDATE from a VALUES list per slice of
    rows, else one prepared UPDATE run for every row (executemany).
    ``digits`` (name -> decimals, ``_float_digits``) rounds those columns.

    The tuning writes computed values of its own fields; an ORM write per
    order point, validating every field, costs more than the tuning.
    """
    table = Model.__table__()
    transaction = Transaction()
    cursor = transaction.connection.cursor()
    now = dt.datetime.now()
    digits = digits or {}
    groups = defaultdict(list)
    for id_, values in rows:
        groups[tuple(sorted(values))].append((id_, values))
    for names, members in groups.items():
        columns = [getattr(table, n) for n in names] + [
            table.write_uid, table.write_date]
        arrays = [[id_ for id_, _ in members]] + [
            round_column([v[n] for _, v in members], digits.get(n))
            for n in names]
        if backend.name == 'postgresql':
            # one array per column: a few parameters whatever the number
            # of rows (a VALUES list of thousands of parameters took
            # longer to convert and send than the update itself)
            types = ['INTEGER'] + [
                Model._fields[n].sql_type().base for n in names]
            cursor.execute(
                'UPDATE "%s" AS t SET %s, "write_uid" = %%s, '
                '"write_date" = %%s FROM (SELECT %s) AS d '
                'WHERE t."id" = d."id"' % (
                    Model._table,
                    ', '.join('"%s" = d."%s"' % (n, n) for n in names),
                    ', '.join('UNNEST(CAST(%%s AS %s[])) AS "%s"' % (t, n)
                        for t, n in zip(types, ['id'] + list(names)))),
                [transaction.user, now] + arrays)
            continue
        first_id, first = members[0]
        query, _ = tuple(table.update(columns,
                [first[n] for n in names] + [transaction.user, now],
                where=table.id == first_id))
        cursor.executemany(query, [
                tuple(values) + (transaction.user, now, id_)
                for id_, *values in zip(*arrays)])
    _drop_cached(Model, [i for i, _ in rows])


def bulk_insert(Model, rows, digits=None):
    """Insert the ``rows`` (dicts of column values); ``digits`` (name ->
    decimals, ``_float_digits``) rounds those columns.

    PostgreSQL: one COPY of all the rows; else one prepared INSERT run for
    every row (executemany).
    """
    if not rows:
        return
    table = Model.__table__()
    transaction = Transaction()
    cursor = transaction.connection.cursor()
    now = dt.datetime.now()
    digits = digits or {}
    names = sorted(set().union(*rows))
    columns = [getattr(table, n) for n in names] + [
        table.create_uid, table.create_date]
    count = len(rows)
    values = list(zip(*(
                round_column([r.get(n) for r in rows], digits.get(n))
                for n in names),
            [transaction.user] * count, [now] * count))
    if backend.name == 'postgresql' and hasattr(cursor, 'copy'):
        statement = 'COPY "%s" (%s) FROM STDIN' % (
            Model._table, ', '.join('"%s"' % c.name for c in columns))
        # binary: a third of the time of the text format (no number
        # written and parsed as text), when psycopg knows every type
        types = [Model._fields[n].sql_type().base.lower() for n in names
            ] + ['int4', 'timestamp']
        known = cursor.connection.adapters.types
        binary = all(known.get(t) is not None for t in types)
        if binary:
            statement += ' (FORMAT BINARY)'
        with cursor.copy(statement) as copy:
            if binary:
                copy.set_types(types)
            for row in values:
                copy.write_row(row)
    else:
        query, _ = tuple(table.insert(columns, [list(values[0])]))
        cursor.executemany(query, values)


class _Point(NamedTuple):
    id: int
    product: int
    location: int
    company: int
    min_quantity: float
    target_quantity: float
    abc_class: str
    fill_rate: float
    rounding: float
    seasonal_index: float
    dampening_date: dt.date
    dampening_min_quantity: float
    dampening_target_quantity: float
    dampening_seasonal_index: float


def _point_rows(point_ids):
    """Return the order points with what the tuning reads of them, in SQL:
    instantiating the records costs more than the tuning."""
    pool = Pool()
    OrderPoint = pool.get('stock.order_point')
    Product = pool.get('product.product')
    Template = pool.get('product.template')
    Uom = pool.get('product.uom')
    point = OrderPoint.__table__()
    product = Product.__table__()
    template = Template.__table__()
    uom = Uom.__table__()
    cursor = Transaction().connection.cursor()
    rows = []
    for sub in grouped_slice(
            point_ids, count=backend.MAX_QUERY_PARAMS // 2):
        cursor.execute(*point
            .join(product, condition=point.product == product.id)
            .join(template, condition=product.template == template.id)
            .join(uom, condition=template.default_uom == uom.id)
            .select(point.id, point.product, point.location, point.company,
                point.min_quantity, point.target_quantity, point.abc_class,
                point.fill_rate, uom.rounding, point.seasonal_index,
                point.dampening_date, point.dampening_min_quantity,
                point.dampening_target_quantity,
                point.dampening_seasonal_index,
                where=SQL_OPERATORS['in'](point.id, list(sub))
                & (point.type == 'purchase'),
                order_by=[point.id.asc]))
        for row in cursor:
            point = _Point(*row)
            if isinstance(point.dampening_date, str):
                point = point._replace(dampening_date=dt.date.fromisoformat(
                        point.dampening_date))
            rows.append(point)
    return rows


def _dampening_base(point, today):
    """Return the (min, target, seasonal index) the tuning of ``today``
    dampens from, and whether they are to be stored.

    The values in force before the day's first run: each run of the day
    dampens from them, so a second run on the same data writes the same
    levels and the same explanation (``max_change`` is then the largest
    change of a value in a day, whatever the number of runs).  Values set
    by hand since clear the date (``preprocess_values``): the runs after
    dampen from them.
    """
    if point.dampening_date == today:
        return (point.dampening_min_quantity,
            point.dampening_target_quantity,
            point.dampening_seasonal_index), False
    return (point.min_quantity, point.target_quantity,
        point.seasonal_index), True


@contextmanager
def collector_paused():
    """Pause Python's cyclic garbage collector (restored on exit).

    A batch makes hundreds of thousands of short-lived tuples, lists and
    small arrays, all freed by reference counting.  Each of them counts
    toward a collection, and every full collection walks all the objects
    of the process, most of them the pool's models and fields: about a
    quarter of a batch's time in a worker, for nothing.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def tune(points, run_id=None):
    """Tune the order points (one batch) and return the counts.

    Returns ``(tuned, changed, failed, sql_time, math_time, write_time)``:
    the write time is the rest of the batch's time (reading the order
    points, building and writing the logs and the new levels).
    """
    clock = time.perf_counter()
    with collector_paused():
        tuned, changed, failed, sql_time, math_time = _tune(points, run_id)
    write_time = max(
        time.perf_counter() - clock - sql_time - math_time, 0.0)
    return tuned, changed, failed, sql_time, math_time, write_time


def _tune(points, run_id):
    pool = Pool()
    OrderPoint = pool.get('stock.order_point')
    Log = pool.get('perpetual_inventory.tuning.log')
    Configuration = pool.get('perpetual_inventory.configuration')
    Date = pool.get('ir.date')
    config = Configuration(1)
    today = Date.today()
    start = today - dt.timedelta(days=config.history_days)
    end = today - dt.timedelta(days=1)
    class_rates = config.class_fill_rates()
    parameters = {
        'review_period': config.review_period,
        'ordering_cost': config.ordering_cost,
        'holding_rate': config.holding_rate,
        }
    default_lead_time = float(config.default_lead_time)
    threshold, max_change = config.dampen_threshold, config.dampen_max_change
    point_digits = _float_digits(OrderPoint)
    log_digits = _float_digits(Log)

    history_.index_friendly(Transaction().connection.cursor())
    groups = defaultdict(list)
    rows = _point_rows([int(p) for p in points])
    for point in rows:
        groups[(point.location, point.company)].append(point)

    sql_time = math_time = 0.0
    to_write, logs = [], []
    changed = failed = 0
    for (warehouse_id, company_id), group in groups.items():
        clock = time.perf_counter()
        histories = history_.gather(
            warehouse_id, [p.product for p in group], start, end,
            company_id)
        sql_time += time.perf_counter() - clock

        clock = time.perf_counter()
        items = []
        for point in group:
            history = histories[point.product]
            quoted = history.quoted_lead_time
            if quoted is None:
                quoted = default_lead_time
            fill_rate = point.fill_rate or class_rates.get(
                point.abc_class or 'C')
            items.append((history, fill_rate,
                    dict(parameters, quoted_lead_time=quoted)))
        results = compute_order_points(items, today)
        math_time += time.perf_counter() - clock

        for point, (history, fill_rate, _), result in zip(
                group, items, results):
            log = {
                'run': run_id,
                'order_point': point.id,
                'date': today,
                'old_min_quantity': point.min_quantity,
                'old_target_quantity': point.target_quantity,
                'abc_class': point.abc_class,
                'fill_rate': fill_rate,
                'unit_cost': history.unit_cost,
                'pack_multiple': history.pack_multiple,
                'minimum_order_quantity': history.minimum_order_quantity,
                'on_hand': history.on_hand,
                'history_days': len(history.sales),
                }
            if isinstance(result, Exception):
                failed += 1
                log.update({
                        'state': 'failed',
                        'min_quantity': point.min_quantity,
                        'target_quantity': point.target_quantity,
                        'explanation': str(result),
                        })
                logs.append(log)
                continue
            explanation = result.explanation
            (base_min, base_target, base_index), first = _dampening_base(
                point, today)
            levels = settle_levels(
                base_min, base_target,
                result.reorder_point, result.order_up_to, point.rounding,
                history.pack_multiple, threshold, max_change,
                season_ratio(base_index, explanation.seasonal_index))
            new_min, new_target = levels.min_quantity, levels.target_quantity
            if levels.dampened is None:
                # the values of the start of the day are kept as they are:
                # they stay set for the season they were set for
                new_min, new_target = base_min, base_target
            is_changed = (new_min != point.min_quantity
                or new_target != point.target_quantity)
            safety_stock, safety_text = safety_stock_in_force(
                new_min, explanation.protection_demand)
            values = {
                'tuned_at': dt.datetime.now(),
                'safety_stock': safety_stock,
                'mean_daily_demand': explanation.mean_daily_demand,
                }
            if first:
                values.update({
                        'dampening_date': today,
                        'dampening_min_quantity': point.min_quantity,
                        'dampening_target_quantity': point.target_quantity,
                        'dampening_seasonal_index': point.seasonal_index,
                        })
            # the index the values in force are set for: kept with the
            # values of the start of the day, else the new one
            index = explanation.seasonal_index
            if levels.dampened is None and base_index is not None:
                index = base_index
            if index != point.seasonal_index:
                values['seasonal_index'] = index
            if is_changed:
                changed += 1
                values['min_quantity'] = new_min
                values['target_quantity'] = new_target
            to_write.append((point.id, values))

            def finite(value):
                return value if math.isfinite(value) else None
            log.update({
                    'state': 'changed' if is_changed else 'kept',
                    'computed_min_quantity': result.reorder_point,
                    'computed_target_quantity': result.order_up_to,
                    'base_min_quantity': base_min,
                    'base_target_quantity': base_target,
                    'min_quantity': new_min,
                    'target_quantity': new_target,
                    'expected_fill_rate': explanation.expected_fill_rate,
                    'model': explanation.model,
                    'model_error': finite(explanation.model_error),
                    'demand_class': explanation.demand_class,
                    'history_days': explanation.history_days,
                    'censored_days': explanation.censored_days,
                    'mean_daily_demand': explanation.mean_daily_demand,
                    'lead_time_mean': explanation.lead_time_mean,
                    'lead_time_std': explanation.lead_time_std,
                    'lead_time_source': explanation.lead_time_source,
                    'lead_time_observations':
                    explanation.lead_time_observations,
                    'safety_stock': safety_stock,
                    'computed_safety_stock': explanation.safety_stock,
                    'protection_demand': explanation.protection_demand,
                    'lead_time_demand': explanation.lead_time_demand,
                    'eoq': finite(explanation.eoq),
                    'order_quantity': explanation.order_quantity,
                    'explanation': '\n\n'.join([
                            explanation.text, levels.text, safety_text]),
                    })
            logs.append(log)
    if to_write:
        bulk_update(OrderPoint, to_write, point_digits)
    if run_id is not None and logs:
        bulk_insert(Log, logs, log_digits)
    return len(rows), changed, failed, sql_time, math_time
