# This file is part of perpetual_inventory.  The COPYRIGHT file at the top
# level of this repository contains the full copyright notices and license
# terms.
"""The scanner API's count operations: a bin counted item by item, then
its inventory confirmed (models/scanner_count.py)."""
from .api import IDEMPOTENCY_KEY, register
from .operations import BARCODE
from .schema import (
    MAX_QUANTITY, Operation, array, boolean, integer, nullable, number, obj,
    string)

MODEL = 'stock.location'

LOCATION = obj({
        'type': string("The kind of document", enum=['location']),
        'id': integer("The bin's id", minimum=1, maximum=2 ** 31 - 1),
        }, ['type', 'id'], description="The bin being counted")


def lock_location(parameters):
    "Return the bin a count operation locks"
    return MODEL, parameters['location']['id']


LOCATION_VALUES = obj({
        'type': string("Kind", enum=['location']),
        'id': integer("Id"),
        'code': nullable(string("Code")),
        'name': string("Name"),
        'warehouse': nullable(string("Warehouse")),
        }, ['type', 'id', 'name'], closed=False)
LINE = obj({
        'product': nullable(string("Product code")),
        'name': string("Product"),
        'unit': string("Unit symbol"),
        'expected': number("Quantity on hand in the bin"),
        'counted': number("Quantity counted"),
        'status': string("Against the quantity on hand",
            enum=['complete', 'short', 'over', 'not_scanned']),
        }, ['name', 'expected', 'counted', 'status'], closed=False)
COUNTING = obj({
        'location': LOCATION_VALUES,
        'lines': array(LINE),
        'not_scanned': integer("Products on hand not scanned yet"),
        'next': string("What to do next, in plain words"),
        'understood': obj({}, closed=False,
            description="What the scan was understood as: product, "
            "quantity, lot, expiry"),
        'line': LINE,
        'undone': obj({}, closed=False, description="The scan undone"),
        }, ['location', 'lines', 'not_scanned', 'next'], closed=False)

COUNT_ERRORS = (
    (404, 'document_unknown'), (409, 'location_not_countable'),
    (404, 'barcode_unknown'), (409, 'barcode_ambiguous'),
    (422, 'barcode_invalid'))
MUTATING_ERRORS = COUNT_ERRORS + (
    (422, 'idempotency_key_reused'), (409, 'idempotency_in_progress'))

COUNT_OPEN = Operation(
    name='count_open', method='GET', path='count/open',
    summary="Start counting a bin",
    description=(
        "The barcode is the code of a storage location. Answers what it "
        "holds and what was counted."),
    parameters=obj({'barcode': BARCODE}, ['barcode']),
    answer=COUNTING, errors=COUNT_ERRORS)


@register(COUNT_OPEN)
def count_open(pool, barcode):
    return pool.get('perpetual_inventory.scanner.count').open(barcode)


COUNT_SCAN = Operation(
    name='count_scan', method='POST', path='count/scan',
    summary="Count an item in the bin",
    description=(
        "One scan: the product by any of its barcodes; the quantity is the "
        "one sent, else the GS1 count (AI 30 or 37), else 1."),
    parameters=obj({
            'idempotency_key': IDEMPOTENCY_KEY,
            'location': LOCATION,
            'barcode': BARCODE,
            'quantity': number("How many were counted, in the product's "
                "unit", exclusive_minimum=0, maximum=MAX_QUANTITY),
            }, ['idempotency_key', 'location', 'barcode']),
    answer=COUNTING, mutating=True, lock=lock_location,
    errors=MUTATING_ERRORS + ((422, 'quantity_invalid'),))


@register(COUNT_SCAN)
def count_scan(pool, location, barcode, quantity=None):
    return pool.get('perpetual_inventory.scanner.count').scan(
        location['id'], barcode, quantity=quantity)


COUNT_UNDO = Operation(
    name='count_undo', method='POST', path='count/undo',
    summary="Undo the last scan of the count",
    description="The count must still be open (not done).",
    parameters=obj({
            'idempotency_key': IDEMPOTENCY_KEY,
            'location': LOCATION,
            }, ['idempotency_key', 'location']),
    answer=COUNTING, mutating=True, lock=lock_location,
    errors=MUTATING_ERRORS + ((409, 'nothing_to_undo'),))


@register(COUNT_UNDO)
def count_undo(pool, location):
    return pool.get('perpetual_inventory.scanner.count').undo(location['id'])


COUNT_DONE = Operation(
    name='count_done', method='POST', path='count/done',
    summary="Finish: the inventory of the bin confirmed",
    description=(
        "Makes a stock inventory of the bin with the counted quantities "
        "and confirms it: the differences are valued and post to "
        "over/short. A product on hand but not scanned counts as zero "
        "only with confirm."),
    parameters=obj({
            'idempotency_key': IDEMPOTENCY_KEY,
            'location': LOCATION,
            'confirm': boolean(
                "Confirm that the products on hand but not scanned are "
                "not in the bin"),
            }, ['idempotency_key', 'location']),
    answer=obj({
            'location': LOCATION_VALUES,
            'inventory': obj({
                    'id': integer("Id"), 'number': nullable(string("Number")),
                    'state': string("State")}, closed=False),
            'lines': array(LINE),
            'differences': integer("Lines that moved stock"),
            'next': string("What to do next"),
            }, ['location', 'inventory', 'lines', 'next'], closed=False),
    mutating=True, lock=lock_location,
    errors=MUTATING_ERRORS + (
        (409, 'confirmation_required'), (409, 'nothing_counted')))


@register(COUNT_DONE)
def count_done(pool, location, confirm=False):
    return pool.get('perpetual_inventory.scanner.count').done(
        location['id'], confirm=bool(confirm))
