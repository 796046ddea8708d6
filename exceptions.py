# This file is part of perpetual_inventory.  The COPYRIGHT file at the top
# level of this repository contains the full copyright notices and license
# terms.
from trytond.exceptions import UserError
from trytond.model.exceptions import ValidationError


class ScannerError(UserError):
    """A scan the API refuses: its HTTP status, code and plain words.

    details: what the page shows with the message (e.g. the lines that
    differ from the order), JSON-serializable.
    """
    status = 400

    def __init__(self, code, message, details=None):
        super().__init__(message)
        self.code = code
        self.details = details


class ScannerNotFound(ScannerError):
    status = 404


class ScannerConflict(ScannerError):
    status = 409


class ScannerInvalid(ScannerError):
    status = 422


class ValuationAccountError(ValidationError):
    pass


class ValuationCostingError(UserError):
    "The costing engine refuses a stock event (e.g. more returned than held)"


class TuningConfigurationError(UserError):
    "The order point tuning configuration is not valid"


class TuningError(UserError):
    "An order point cannot be tuned"
