# This file is part of perpetual_inventory.  The COPYRIGHT file at the top
# level of this repository contains the full copyright notices and license
# terms.
from trytond.pool import PoolMeta


class UserApplication(metaclass=PoolMeta):
    __name__ = 'res.user.application'

    @classmethod
    def __setup__(cls):
        super().__setup__()
        application = ('perpetual_inventory', "Perpetual Inventory Scanner")
        if application not in cls.application.selection:
            cls.application.selection.append(application)
