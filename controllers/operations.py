# This file is part of perpetual_inventory.  The COPYRIGHT file at the top
# level of this repository contains the full copyright notices and license
# terms.
"""The scanner API's operations: each declared once, then its handler.

A handler receives the validated parameters and returns the answer; it
calls a model classmethod (models/scanner*.py) and does no more.
"""
from trytond.transaction import Transaction

from ..models.scanner import DOCUMENTS
from .api import IDEMPOTENCY_KEY, register
from .schema import (
    MAX_QUANTITY, Operation, array, boolean, integer, nullable, number, obj,
    string)

BARCODE = string(
    "The scanned text: a GTIN, a GS1 element string (with <GS> as \\u001d, "
    "a symbology identifier such as ]C1, or the AIs in parentheses), a "
    "product or location code, a document number", min_length=1)
DOCUMENT = obj({
        'type': string("The kind of document",
            enum=['purchase', 'shipment_in']),
        'id': integer("The document's id", minimum=1, maximum=2 ** 31 - 1),
        }, ['type', 'id'], description="The document being received")


def lock_document(parameters):
    "Return the document a receive operation locks"
    document = parameters['document']
    return DOCUMENTS[document['type']], document['id']


CONFIRM = boolean(
    "Confirm a scan or a finish that differs from the order (more than "
    "ordered, not on the order, short lines)")

PRODUCT = obj({
        'id': integer("Id"),
        'code': nullable(string("Code")),
        'name': string("Name"),
        'barcodes': array(string("Barcode")),
        'unit': string("Unit symbol"),
        }, ['id', 'name', 'unit'], closed=False)
DOCUMENT_VALUES = obj({
        'type': string("Kind", enum=['purchase', 'shipment_in']),
        'id': integer("Id"),
        'number': nullable(string("Number")),
        'reference': nullable(string("Supplier's reference")),
        'supplier': nullable(string("Supplier")),
        'state': string("State"),
        }, ['type', 'id', 'number', 'state'], closed=False)
LINE = obj({
        'product': nullable(string("Product code")),
        'name': string("Product"),
        'unit': string("Unit symbol"),
        'expected': number("Quantity ordered and not received yet"),
        'counted': number("Quantity scanned"),
        'status': string("Against the order",
            enum=['complete', 'short', 'over', 'not_ordered']),
        }, ['name', 'expected', 'counted', 'status'], closed=False)
RECEIPT = obj({
        'document': DOCUMENT_VALUES,
        'lines': array(LINE),
        'complete': boolean("Every line counted as ordered"),
        'next': string("What to do next, in plain words"),
        'understood': obj({}, closed=False,
            description="What the scan was understood as: product, "
            "quantity, lot, expiry"),
        'line': LINE,
        'undone': obj({}, closed=False, description="The scan undone"),
        }, ['document', 'lines', 'complete', 'next'], closed=False)

SESSION = Operation(
    name='session', method='GET',
    summary="Who is logged in",
    description="The user, company and warehouse the scans apply to.",
    parameters=obj({}),
    answer=obj({
            'user': obj({
                    'id': integer("Id"), 'login': string("Login"),
                    'name': string("Name")}, closed=False),
            'company': nullable(string("Company")),
            'warehouse': nullable(obj({}, closed=False)),
            }, ['user'], closed=False))


@register(SESSION)
def session(pool):
    User = pool.get('res.user')
    user = User(Transaction().user)
    warehouse = getattr(user, 'warehouse', None)
    return {
        'user': {'id': user.id, 'login': user.login, 'name': user.name},
        'company': user.company.rec_name if user.company else None,
        'warehouse': ({
                'id': warehouse.id, 'code': warehouse.code,
                'name': warehouse.name} if warehouse else None),
        }


LOOKUP = Operation(
    name='lookup', method='GET',
    summary="What a barcode is",
    description=(
        "A product (on hand per warehouse and per bin, reorder point and "
        "order-up-to, incoming quantity and date; what a GS1 string adds: "
        "lot, expiry, quantity), a bin (what it holds), a purchase or a "
        "supplier shipment. Never a cost."),
    parameters=obj({'barcode': BARCODE}, ['barcode']),
    answer=obj({
            'type': string("What the barcode names",
                enum=['product', 'location', 'purchase', 'shipment_in',
                    'shipment_out']),
            'product': PRODUCT,
            'barcode': obj({}, closed=False),
            'stock': array(obj({}, closed=False)),
            'bins': array(obj({}, closed=False)),
            'order_points': array(obj({}, closed=False)),
            'incoming': obj({}, closed=False),
            'location': obj({}, closed=False),
            'contents': array(obj({}, closed=False)),
            'document': obj({}, closed=False),
            }, ['type'], closed=False),
    errors=((404, 'barcode_unknown'), (409, 'barcode_ambiguous'),
        (422, 'barcode_invalid')))


@register(LOOKUP)
def lookup(pool, barcode):
    return pool.get('perpetual_inventory.scanner').lookup(barcode)


RECEIVE_ERRORS = (
    (404, 'document_unknown'), (400, 'document_other_company'),
    (409, 'document_closed'), (404, 'barcode_unknown'),
    (409, 'barcode_ambiguous'), (422, 'barcode_invalid'))

RECEIVE_OPEN = Operation(
    name='receive_open', method='GET', path='receive/open',
    summary="Start receiving a purchase or a supplier shipment",
    description=(
        "The barcode is the number of a purchase being processed or of a "
        "draft supplier shipment. Answers its lines: ordered and counted."),
    parameters=obj({'barcode': BARCODE}, ['barcode']),
    answer=RECEIPT, errors=RECEIVE_ERRORS)


@register(RECEIVE_OPEN)
def receive_open(pool, barcode):
    return pool.get('perpetual_inventory.scanner.receive').open(barcode)


RECEIVE_SCAN = Operation(
    name='receive_scan', method='POST', path='receive/scan',
    summary="Count an item on the document",
    description=(
        "One scan: the product by any of its barcodes; the quantity is the "
        "one sent, else the GS1 count (AI 30 or 37), else 1. More than "
        "ordered or a product not on the order needs confirm; a product "
        "not on the order needs the group \"Scanner: Receive Unexpected "
        "Products\"."),
    parameters=obj({
            'idempotency_key': IDEMPOTENCY_KEY,
            'document': DOCUMENT,
            'barcode': BARCODE,
            'quantity': number("How many were scanned, in the product's "
                "unit", exclusive_minimum=0, maximum=MAX_QUANTITY),
            'confirm': CONFIRM,
            }, ['idempotency_key', 'document', 'barcode']),
    answer=RECEIPT, mutating=True, lock=lock_document,
    errors=RECEIVE_ERRORS + (
        (409, 'product_not_on_order'), (409, 'over_ordered'),
        (400, 'unexpected_not_allowed'), (422, 'quantity_invalid'),
        (422, 'idempotency_key_reused'), (409, 'idempotency_in_progress')))


@register(RECEIVE_SCAN)
def receive_scan(pool, document, barcode, quantity=None, confirm=False):
    return pool.get('perpetual_inventory.scanner.receive').scan(
        document['type'], document['id'], barcode, quantity=quantity,
        confirm=bool(confirm))


RECEIVE_UNDO = Operation(
    name='receive_undo', method='POST', path='receive/undo',
    summary="Undo the last scan of the document",
    description="The document must still be open (not done).",
    parameters=obj({
            'idempotency_key': IDEMPOTENCY_KEY,
            'document': DOCUMENT,
            }, ['idempotency_key', 'document']),
    answer=RECEIPT, mutating=True, lock=lock_document,
    errors=RECEIVE_ERRORS + ((409, 'nothing_to_undo'),
        (422, 'idempotency_key_reused')))


@register(RECEIVE_UNDO)
def receive_undo(pool, document):
    return pool.get('perpetual_inventory.scanner.receive').undo(
        document['type'], document['id'])


RECEIVE_DONE = Operation(
    name='receive_done', method='POST', path='receive/done',
    summary="Finish: the supplier shipment received and done",
    description=(
        "Creates the supplier shipment from the purchase's waiting moves "
        "(or takes the scanned shipment), sets each move to the counted "
        "quantity, receives and finishes it: the moves are valued and "
        "posted. Short, over or unexpected lines need confirm; what is "
        "short stays waiting on the purchase."),
    parameters=obj({
            'idempotency_key': IDEMPOTENCY_KEY,
            'document': DOCUMENT,
            'confirm': CONFIRM,
            }, ['idempotency_key', 'document']),
    answer=obj({
            'document': DOCUMENT_VALUES,
            'shipment': obj({
                    'id': integer("Id"), 'number': nullable(string("Number")),
                    'state': string("State")}, closed=False),
            'lines': array(LINE),
            'moves_done': integer("Moves received"),
            'next': string("What to do next"),
            }, ['document', 'shipment', 'lines', 'next'], closed=False),
    mutating=True, lock=lock_document,
    errors=RECEIVE_ERRORS + (
        (409, 'confirmation_required'), (409, 'nothing_counted'),
        (400, 'unexpected_not_allowed'), (422, 'idempotency_key_reused')))


@register(RECEIVE_DONE)
def receive_done(pool, document, confirm=False):
    return pool.get('perpetual_inventory.scanner.receive').done(
        document['type'], document['id'], confirm=bool(confirm))
