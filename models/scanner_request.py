# This file is part of perpetual_inventory.  The COPYRIGHT file at the top
# level of this repository contains the full copyright notices and license
# terms.
"""Idempotency keys of the scanner API and the log of scans.

A mutating API call first claims its (user, key) pair by inserting a
request row. The pair is unique in the database, so that of two server
processes receiving the same key at once, the second one's insert waits
for the first one's transaction and then fails: it starts again and
answers the first one's stored answer. A request that fails is rolled back
with its row, so the client may send it again.
"""
import json

from trytond.i18n import gettext
from trytond.model import Index, ModelSQL, ModelView, Unique, fields
from trytond.model.exceptions import SQLConstraintError
from trytond.transaction import Transaction, without_check_access

from ..exceptions import ScannerInvalid


class Request(ModelSQL, ModelView):
    "Scanner Request"
    __name__ = 'perpetual_inventory.scanner.request'

    user = fields.Many2One(
        'res.user', "User", required=True, readonly=True,
        ondelete='CASCADE')
    key = fields.Char("Idempotency Key", required=True, readonly=True,
        strip=False)
    operation = fields.Char("Operation", required=True, readonly=True)
    digest = fields.Char("Digest", required=True, readonly=True,
        help="The SHA-256 of the request without its key.")
    status = fields.Integer("HTTP Status", readonly=True)
    answer = fields.Text("Answer", readonly=True)

    class Taken(Exception):
        "The key was committed by another transaction meanwhile"

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('user_key_unique', Unique(t, t.user, t.key),
                'perpetual_inventory.msg_scanner_request_unique'),
            ]
        cls._order = [('create_date', 'DESC'), ('id', 'DESC')]

    @classmethod
    def claim(cls, operation, key, digest):
        """Return the request of the current user's key.

        A new key is inserted with no answer; a known one is returned with
        the answer stored when it was first run. The same key with another
        request raises ScannerInvalid; a key inserted meanwhile by a
        transaction not visible to this one raises Taken.
        """
        user = Transaction().user
        with without_check_access():
            requests = cls.search([
                    ('user', '=', user),
                    ('key', '=', key),
                    ], limit=1)
            if requests:
                request, = requests
                if (request.digest != digest
                        or request.operation != operation):
                    raise ScannerInvalid('idempotency_key_reused', gettext(
                            'perpetual_inventory.msg_scanner_request_reused',
                            key=key, operation=request.operation))
                return request
            try:
                request, = cls.create([{
                            'user': user,
                            'key': key,
                            'operation': operation,
                            'digest': digest,
                            }])
            except SQLConstraintError:
                raise cls.Taken()
        return request

    @classmethod
    def store(cls, request, status, answer):
        "Store the answer of the request"
        with without_check_access():
            cls.write([request], {
                    'status': int(status),
                    'answer': json.dumps(
                        answer, separators=(',', ':'), default=str),
                    })


class Scan(ModelSQL, ModelView):
    """Scanner Scan

    One scan of an open document (a receipt, ...): what was understood and
    how many. The count of a document is the sum of its scans not undone.
    """
    __name__ = 'perpetual_inventory.scanner.scan'

    document = fields.Reference("Document", selection=[
            ('purchase.purchase', "Purchase"),
            ('stock.shipment.in', "Supplier Shipment"),
            ('stock.shipment.out', "Customer Shipment"),
            ('stock.location', "Location"),
            ], required=True, readonly=True)
    operation = fields.Selection([
            ('receive', "Receive"),
            ('pick', "Pick"),
            ('count', "Count"),
            ], "Operation", required=True, readonly=True)
    barcode = fields.Char("Barcode", readonly=True)
    product = fields.Many2One('product.product', "Product", required=True,
        readonly=True, ondelete='RESTRICT')
    quantity = fields.Float("Quantity", required=True, readonly=True)
    location = fields.Many2One('stock.location', "Location", readonly=True,
        ondelete='RESTRICT', help="The bin the item was taken from.")
    lot = fields.Char("Lot", readonly=True)
    expiry = fields.Date("Expiry", readonly=True)
    state = fields.Selection([
            ('open', "Open"),
            ('undone', "Undone"),
            ('done', "Done"),
            ], "State", required=True, readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        # every scan sums the open scans of its document
        cls._sql_indexes.add(Index(t,
                (t.document, Index.Equality()),
                (t.state, Index.Equality())))
        cls._order = [('id', 'DESC')]

    @staticmethod
    def default_state():
        return 'open'
