# This file is part of perpetual_inventory.  The COPYRIGHT file at the top
# level of this repository contains the full copyright notices and license
# terms.
"""The scanner API's pick and ship operations: a customer shipment picked
bin by bin, then packed and done (models/scanner_pick.py)."""
from .api import IDEMPOTENCY_KEY, register
from .operations import BARCODE, CONFIRM
from .schema import (
    MAX_QUANTITY, Operation, array, boolean, integer, nullable, number, obj,
    string)

MODEL = 'stock.shipment.out'

SHIPMENT = obj({
        'type': string("The kind of document", enum=['shipment_out']),
        'id': integer("The shipment's id", minimum=1, maximum=2 ** 31 - 1),
        }, ['type', 'id'], description="The customer shipment being picked")


def lock_shipment(parameters):
    "Return the shipment a pick operation locks"
    return MODEL, parameters['document']['id']


SHIPMENT_VALUES = obj({
        'type': string("Kind", enum=['shipment_out']),
        'id': integer("Id"),
        'number': nullable(string("Number")),
        'reference': nullable(string("Customer's reference")),
        'customer': nullable(string("Customer")),
        'state': string("State"),
        }, ['type', 'id', 'number', 'state'], closed=False)
LINE = obj({
        'product': nullable(string("Product code")),
        'name': string("Product"),
        'unit': string("Unit symbol"),
        'location': nullable(string("Bin code")),
        'location_name': string("Bin"),
        'expected': number("Quantity to take from the bin"),
        'counted': number("Quantity picked"),
        'status': string("Against the shipment",
            enum=['complete', 'short', 'over']),
        }, ['name', 'location_name', 'expected', 'counted', 'status'],
    closed=False)
MISSING = obj({
        'product': nullable(string("Product code")),
        'name': string("Product"),
        'unit': string("Unit symbol"),
        'quantity': number("Quantity not in stock"),
        }, ['name', 'quantity'], closed=False)
PICKING = obj({
        'document': SHIPMENT_VALUES,
        'lines': array(LINE),
        'missing': array(MISSING),
        'complete': boolean("Every bin picked as assigned"),
        'next_bin': nullable(string("The bin to take from next")),
        'next': string("What to do next, in plain words"),
        'understood': obj({}, closed=False,
            description="What the scan was understood as: product, bin, "
            "quantity, lot, expiry"),
        'line': LINE,
        'undone': obj({}, closed=False, description="The scan undone"),
        }, ['document', 'lines', 'missing', 'complete', 'next'],
    closed=False)

PICK_ERRORS = (
    (404, 'document_unknown'), (400, 'document_other_company'),
    (409, 'document_closed'), (404, 'barcode_unknown'),
    (409, 'barcode_ambiguous'), (422, 'barcode_invalid'),
    (422, 'idempotency_key_reused'), (409, 'idempotency_in_progress'))

PICK_OPEN = Operation(
    name='pick_open', method='POST', path='pick/open',
    summary="Start picking a customer shipment",
    description=(
        "The barcode is the number of a customer shipment waiting or "
        "assigned. A waiting shipment is assigned as far as the stock "
        "allows; what is not in stock is answered under missing. Answers "
        "the bins to take from, in order."),
    parameters=obj({
            'idempotency_key': IDEMPOTENCY_KEY,
            'barcode': BARCODE,
            }, ['idempotency_key', 'barcode']),
    answer=PICKING, mutating=True, errors=PICK_ERRORS)


@register(PICK_OPEN)
def pick_open(pool, barcode):
    return pool.get('perpetual_inventory.scanner.pick').open(barcode)


PICK_SCAN = Operation(
    name='pick_scan', method='POST', path='pick/scan',
    summary="Count an item taken from a bin",
    description=(
        "One scan: the product by any of its barcodes, and the bin it was "
        "taken from (its code) when the page has it; without a bin, the "
        "next bin of the product. A product not on the shipment or a bin "
        "it is not assigned from is refused; more than assigned from the "
        "bin needs confirm."),
    parameters=obj({
            'idempotency_key': IDEMPOTENCY_KEY,
            'document': SHIPMENT,
            'barcode': BARCODE,
            'location': string("The bin's code", min_length=1),
            'quantity': number("How many were taken, in the product's "
                "unit", exclusive_minimum=0, maximum=MAX_QUANTITY),
            'confirm': CONFIRM,
            }, ['idempotency_key', 'document', 'barcode']),
    answer=PICKING, mutating=True, lock=lock_shipment,
    errors=PICK_ERRORS + (
        (409, 'product_not_on_shipment'), (409, 'wrong_bin'),
        (409, 'over_picked'), (422, 'quantity_invalid')))


@register(PICK_SCAN)
def pick_scan(pool, document, barcode, location=None, quantity=None,
        confirm=False):
    return pool.get('perpetual_inventory.scanner.pick').scan(
        document['id'], barcode, location=location, quantity=quantity,
        confirm=bool(confirm))


PICK_UNDO = Operation(
    name='pick_undo', method='POST', path='pick/undo',
    summary="Undo the last scan of the shipment",
    description="The shipment must still be open (not picked).",
    parameters=obj({
            'idempotency_key': IDEMPOTENCY_KEY,
            'document': SHIPMENT,
            }, ['idempotency_key', 'document']),
    answer=PICKING, mutating=True, lock=lock_shipment,
    errors=PICK_ERRORS + ((409, 'nothing_to_undo'),))


@register(PICK_UNDO)
def pick_undo(pool, document):
    return pool.get('perpetual_inventory.scanner.pick').undo(document['id'])


PICK_DONE = Operation(
    name='pick_done', method='POST', path='pick/done',
    summary="Finish: the shipment picked, packed and done",
    description=(
        "Sets each move to what was picked from its bin and runs Tryton's "
        "pick, pack and done: the outgoing moves are valued and posted. "
        "Short or over lines need confirm; a shipment not fully assigned "
        "cannot be finished."),
    parameters=obj({
            'idempotency_key': IDEMPOTENCY_KEY,
            'document': SHIPMENT,
            'confirm': CONFIRM,
            }, ['idempotency_key', 'document']),
    answer=obj({
            'document': SHIPMENT_VALUES,
            'lines': array(LINE),
            'moves_done': integer("Outgoing moves done"),
            'next': string("What to do next"),
            }, ['document', 'lines', 'next'], closed=False),
    mutating=True, lock=lock_shipment,
    errors=PICK_ERRORS + (
        (409, 'confirmation_required'), (409, 'nothing_counted'),
        (409, 'shipment_not_assigned')))


@register(PICK_DONE)
def pick_done(pool, document, confirm=False):
    return pool.get('perpetual_inventory.scanner.pick').done(
        document['id'], confirm=bool(confirm))
