# This file is part of perpetual_inventory.  The COPYRIGHT file at the top
# level of this repository contains the full copyright notices and license
# terms.
from trytond.model import fields
from trytond.pool import PoolMeta
from trytond.pyson import Eval


class Location(metaclass=PoolMeta):
    __name__ = 'stock.location'

    account_stock = fields.Many2One(
        'account.account', "Inventory Account",
        domain=[
            ('closed', '!=', True),
            ('type.stock', '=', True),
            ('type.statement', '=', 'balance'),
            ],
        states={
            'invisible': Eval('type') != 'warehouse',
            },
        help="The inventory account of the goods in this warehouse, "
        "instead of the one of their accounting category.\n"
        "Transfers to a warehouse with another account move the value "
        "between the accounts.")
