# This file is part of perpetual_inventory.  The COPYRIGHT file at the top
# level of this repository contains the full copyright notices and license
# terms.
from trytond.i18n import gettext
from trytond.model import ModelSingleton, ModelSQL, ModelView, fields

from ..exceptions import TuningConfigurationError

# Defaults of the order point tuning (see docs/tuning.md).
DEFAULTS = {
    'history_days': 730,
    'review_period': 1.0,
    'ordering_cost': 25.0,
    'holding_rate': 0.25,
    'default_lead_time': 7,
    'abc_a_share': 0.80,
    'abc_b_share': 0.15,
    'abc_c_share': 0.05,
    'fill_rate_a': 0.98,
    'fill_rate_b': 0.95,
    'fill_rate_c': 0.90,
    'dampen_threshold': 0.05,
    'dampen_max_change': 0.5,
    'batch_size': 500,
    'propose_min_days': 28,
    'overstock_margin': 0.5,
    'obsolete_days': 180,
    'log_days': 400,
    }


class Configuration(ModelSingleton, ModelSQL, ModelView):
    "Perpetual Inventory Configuration"
    __name__ = 'perpetual_inventory.configuration'

    history_days = fields.Integer(
        "History Days", required=True,
        help="Days of done moves read to learn the demand.")
    review_period = fields.Float(
        "Review Period", required=True, digits=(16, 2),
        help="Days between two checks of the order points "
        "(1 for the daily purchase request cron).")
    ordering_cost = fields.Float(
        "Ordering Cost", required=True, digits=(16, 2),
        help="Cost of placing one purchase order line, "
        "in the company currency (EOQ).")
    holding_rate = fields.Float(
        "Holding Rate", required=True, digits=(16, 4),
        help="Yearly holding cost as a fraction of the unit cost (EOQ).")
    default_lead_time = fields.Integer(
        "Default Lead Time", required=True,
        help="Days used when the product supplier has no lead time.")
    abc_a_share = fields.Float(
        "A Share", required=True, digits=(16, 4),
        help="Share of the consumption value of the A items.")
    abc_b_share = fields.Float(
        "B Share", required=True, digits=(16, 4),
        help="Share of the consumption value of the B items.")
    abc_c_share = fields.Float(
        "C Share", required=True, digits=(16, 4),
        help="Share of the consumption value of the C items.")
    fill_rate_a = fields.Float(
        "A Fill Rate", required=True, digits=(16, 4),
        help="Target share of the demanded units served from stock.")
    fill_rate_b = fields.Float("B Fill Rate", required=True, digits=(16, 4))
    fill_rate_c = fields.Float("C Fill Rate", required=True, digits=(16, 4))
    dampen_threshold = fields.Float(
        "Dampening Threshold", required=True, digits=(16, 4),
        help="Relative change below which an order point is kept.")
    dampen_max_change = fields.Float(
        "Maximal Change", required=True, digits=(16, 4),
        help="Largest change of an order point in one day, however many "
        "runs, relative to the larger of the value in force at the start "
        "of the day and the computed one (for the minimal quantity, also "
        "of the order quantity).")
    batch_size = fields.Integer(
        "Batch Size", required=True,
        help="Order points tuned by one queued task.")
    propose_min_days = fields.Integer(
        "Days Before Proposal", required=True,
        help="A product without order point gets one proposed when its "
        "first sale is at least this many days old.")
    overstock_margin = fields.Float(
        "Overstock Margin", required=True, digits=(16, 4),
        help="Stock above the target quantity by more than this fraction "
        "is an overstock.")
    obsolete_days = fields.Integer(
        "Obsolete After", required=True,
        help="Days without outgoing move after which stock on hand is "
        "obsolete.")
    log_days = fields.Integer(
        "Keep Runs", required=True,
        help="Days the tuning runs, their batches and logs are kept; the "
        "daily tuning deletes the older ones (0 keeps them all).")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        for name in DEFAULTS:
            setattr(cls, 'default_%s' % name,
                classmethod(lambda cls, name=name: DEFAULTS[name]))

    @classmethod
    def validate_fields(cls, records, field_names):
        super().validate_fields(records, field_names)
        for record in records:
            record.check_values()

    def check_values(self):
        shares = (self.abc_a_share, self.abc_b_share, self.abc_c_share)
        if (any(s < 0 for s in shares) or abs(sum(shares) - 1) > 1e-6):
            raise TuningConfigurationError(gettext(
                    'perpetual_inventory.msg_configuration_abc_shares',
                    total=sum(shares)))
        for name in ['fill_rate_a', 'fill_rate_b', 'fill_rate_c']:
            value = getattr(self, name)
            if not 0 < value < 1:
                raise TuningConfigurationError(gettext(
                        'perpetual_inventory.msg_configuration_fill_rate',
                        field=getattr(self.__class__, name).string,
                        value=value))
        for name in ['history_days', 'batch_size', 'propose_min_days',
                'obsolete_days', 'log_days', 'default_lead_time',
                'review_period',
                'ordering_cost', 'holding_rate', 'dampen_threshold',
                'dampen_max_change', 'overstock_margin']:
            if getattr(self, name) < 0:
                raise TuningConfigurationError(gettext(
                        'perpetual_inventory.msg_configuration_negative',
                        field=getattr(self.__class__, name).string))
        if self.history_days < 28 or self.batch_size < 1:
            raise TuningConfigurationError(gettext(
                    'perpetual_inventory.msg_configuration_history_batch'))

    def class_fill_rates(self):
        "Return the target fill rate of each ABC class"
        return {
            'A': self.fill_rate_a,
            'B': self.fill_rate_b,
            'C': self.fill_rate_c,
            }

    def abc_thresholds(self):
        "Return the (A, B, C) shares of the consumption value"
        return (self.abc_a_share, self.abc_b_share, self.abc_c_share)
