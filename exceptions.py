# This file is part of perpetual_inventory.  The COPYRIGHT file at the top
# level of this repository contains the full copyright notices and license
# terms.
from trytond.exceptions import UserError
from trytond.model.exceptions import ValidationError


class ScannerError(UserError):
    pass


class ValuationAccountError(ValidationError):
    pass


class ValuationCostingError(UserError):
    "The costing engine refuses a stock event (e.g. more returned than held)"


class TuningConfigurationError(UserError):
    "The order point tuning configuration is not valid"


class TuningError(UserError):
    "An order point cannot be tuned"
