# This file is part of perpetual_inventory.  The COPYRIGHT file at the top
# level of this repository contains the full copyright notices and license
# terms.
from sql.aggregate import Max

from trytond.model import ModelView, fields
from trytond.model.fields import SQL_OPERATORS
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval
from trytond.transaction import Transaction
from trytond.wizard import StateAction, StateTransition, Wizard

from .tuning import ABC_CLASSES, tune


class OrderPoint(metaclass=PoolMeta):
    __name__ = 'stock.order_point'

    auto_tune = fields.Boolean(
        "Auto Tune",
        states={
            'invisible': Eval('type') != 'purchase',
            },
        help="Let the daily tuning set the minimal and target quantities.")
    abc_class = fields.Selection(
        ABC_CLASSES, "ABC Class", readonly=True,
        help="Class by consumption value in the warehouse, "
        "set by the tuning.")
    fill_rate = fields.Float(
        "Fill Rate", digits=(16, 4),
        domain=['OR',
            ('fill_rate', '=', None),
            [('fill_rate', '>', 0), ('fill_rate', '<', 1)],
            ],
        states={
            'invisible': Eval('type') != 'purchase',
            },
        help="Target share of the demanded units served from stock, "
        "set for this order point.\n"
        "Leave empty to use the target of the ABC class.")
    fill_rate_target = fields.Function(fields.Float(
            "Fill Rate Target", digits=(16, 4),
            states={
                'invisible': Eval('type') != 'purchase',
                },
            help="The target fill rate the tuning uses: the fill rate of "
            "the order point, or the target of its ABC class "
            "(Inventory > Configuration > Order Point Tuning)."),
        'on_change_with_fill_rate_target')
    tuned_at = fields.Timestamp("Tuned at", readonly=True)
    safety_stock = fields.Float(
        "Safety Stock", digits=(16, 2), readonly=True,
        help="The part of the minimal quantity above the demand expected "
        "over lead time and review, at the last tuning (0 when the "
        "minimal quantity does not exceed that demand: a large order "
        "quantity lets the fill rate target be met without safety stock).")
    # The values in force before the first tuning of the day: every run of
    # that day dampens from them, so that tuning again on the same data
    # changes nothing (dampening from the values the first run wrote
    # would move them again at every click).
    dampening_date = fields.Date("Dampening Date", readonly=True)
    dampening_min_quantity = fields.Float(
        "Dampening Minimal Quantity", readonly=True)
    dampening_target_quantity = fields.Float(
        "Dampening Target Quantity", readonly=True)
    dampening_seasonal_index = fields.Float(
        "Dampening Seasonal Index", digits=(16, 4), readonly=True)
    mean_daily_demand = fields.Float(
        "Forecast Daily Demand", digits=(16, 4), readonly=True)
    seasonal_index = fields.Float(
        "Seasonal Index", digits=(16, 4), readonly=True,
        help="The yearly seasonal index of the demand the minimal and "
        "target quantities were set for (1 without a yearly season).\n"
        "The next tuning carries them along the season by the change of "
        "this index before it dampens them; cleared when they are set "
        "by hand.")
    tuning_explanation = fields.Function(fields.Text(
            "Tuning Explanation",
            states={
                'invisible': Eval('type') != 'purchase',
                }),
        'get_tuning_explanation')
    tuning_logs = fields.One2Many(
        'perpetual_inventory.tuning.log', 'order_point', "Tuning Logs",
        readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._buttons.update({
                'tune': {
                    'invisible': Eval('type') != 'purchase',
                    'depends': ['type'],
                    },
                })

    @classmethod
    def preprocess_values(cls, mode, values):
        values = super().preprocess_values(mode, values)
        if (mode == 'write'
                and {'min_quantity', 'target_quantity'} & values.keys()
                and 'seasonal_index' not in values):
            # quantities set by hand are set for the season of now (the
            # tuning writes its own in SQL, with their index), and the
            # next run of the day dampens from them
            values['seasonal_index'] = None
            values['dampening_date'] = None
        return values

    @classmethod
    def default_auto_tune(cls):
        return True

    @fields.depends('type', 'fill_rate', 'abc_class')
    def on_change_with_fill_rate_target(self, name=None):
        "Return the fill rate the tuning uses"
        pool = Pool()
        Configuration = pool.get('perpetual_inventory.configuration')
        if self.type != 'purchase':
            return None
        if self.fill_rate:
            return self.fill_rate
        # the tuning takes an order point not classified yet as C
        return Configuration(1).class_fill_rates().get(
            self.abc_class or 'C')

    @classmethod
    def get_tuning_explanation(cls, points, name):
        "Return the explanation of the last tuning of each order point"
        pool = Pool()
        Log = pool.get('perpetual_inventory.tuning.log')
        log = Log.__table__()
        cursor = Transaction().connection.cursor()
        result = dict.fromkeys(map(int, points))
        last = log.select(Max(log.id),
            where=SQL_OPERATORS['in'](log.order_point, list(result)),
            group_by=[log.order_point])
        cursor.execute(*log.select(log.order_point, log.explanation,
                where=log.id.in_(last)))
        result.update(cursor)
        return result

    @classmethod
    def copy(cls, points, default=None):
        default = default.copy() if default is not None else {}
        default.setdefault('tuning_logs')
        default.setdefault('tuned_at')
        default.setdefault('seasonal_index')
        default.setdefault('dampening_date')
        default.setdefault('dampening_min_quantity')
        default.setdefault('dampening_target_quantity')
        default.setdefault('dampening_seasonal_index')
        return super().copy(points, default=default)

    @classmethod
    @ModelView.button
    def tune(cls, points):
        "Tune the order points now"
        pool = Pool()
        Run = pool.get('perpetual_inventory.tuning.run')
        Run.launch(points, origin='manual')

    @classmethod
    def tune_batch(cls, points, run_id, batch_id=None):
        "Tune one batch of a run (order points or their ids)"
        pool = Pool()
        Batch = pool.get('perpetual_inventory.tuning.batch')
        counts = tune(points, run_id)
        if batch_id is not None:
            Batch.record(batch_id, *counts)

    @classmethod
    def tune_order_points(cls):
        "Tune every order point and propose new ones (cron)"
        pool = Pool()
        Run = pool.get('perpetual_inventory.tuning.run')
        Company = pool.get('company.company')
        if Transaction().context.get('company'):
            companies = [Transaction().context['company']]
        else:
            # a cron registered for no company tunes them all
            companies = list(map(int, Company.search([])))
        for company in companies:
            with Transaction().set_context(company=company):
                Run.purge(company)
                Run.launch(origin='cron', propose=True)


class TuneOrderPoints(Wizard):
    "Tune Order Points"
    __name__ = 'perpetual_inventory.order_point.tune'
    start_state = 'tune'
    tune = StateTransition()
    open_ = StateAction('perpetual_inventory.act_tuning_run_form')

    def transition_tune(self):
        pool = Pool()
        Run = pool.get('perpetual_inventory.tuning.run')
        self.run = Run.launch(list(self.records), origin='manual')
        return 'open_'

    def do_open_(self, action):
        return action, {'res_id': [self.run.id]}

    def transition_open_(self):
        return 'end'


class Cron(metaclass=PoolMeta):
    __name__ = 'ir.cron'

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.method.selection.append(
            ('stock.order_point|tune_order_points', "Tune Order Points"))
