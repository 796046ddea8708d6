# This file is part of perpetual_inventory.  The COPYRIGHT file at the top
# level of this repository contains the full copyright notices and license
# terms.
"""What a barcode is in the database: product, bin or document.

The look-up every scanner operation starts from. A code that matches two
records is refused with both names, never resolved by a guess. Costs are
never part of an answer.
"""
import datetime as dt

from trytond.i18n import gettext
from trytond.model import Model
from trytond.pool import Pool
from trytond.transaction import Transaction

from ..core import barcodes, gs1
from ..exceptions import ScannerConflict, ScannerInvalid, ScannerNotFound

# The document kinds a scan may name, with their model
DOCUMENTS = {
    'purchase': 'purchase.purchase',
    'shipment_in': 'stock.shipment.in',
    }
# The documents a scan may open besides those received
OTHER_DOCUMENTS = {
    'shipment_out': 'stock.shipment.out',
    }


class Scanner(Model):
    "Perpetual Inventory Scanner"
    __name__ = 'perpetual_inventory.scanner'

    @classmethod
    def read_barcode(cls, barcode):
        "Return the barcodes.Scan of barcode or raise ScannerInvalid"
        try:
            return barcodes.read(barcode)
        except gs1.BarcodeError as exception:
            raise ScannerInvalid('barcode_invalid', gettext(
                    'perpetual_inventory.msg_scanner_barcode_invalid',
                    barcode=barcode, reason=str(exception)))

    @classmethod
    def match(cls, scan):
        """Return the records the scan names: products, locations and
        documents."""
        pool = Pool()
        Product = pool.get('product.product')
        Location = pool.get('stock.location')
        if scan.gtin:
            codes = list(gs1.gtin_forms(scan.gtin))
            return Product.search([
                    ('identifiers.code', 'in', codes),
                    ('type', 'in', ['goods', 'assets']),
                    ], limit=3)
        text = scan.text
        records = Product.search([
                ['OR',
                    ('identifiers.code', '=', text),
                    ('code', '=', text),
                    ],
                ('type', 'in', ['goods', 'assets']),
                ], limit=3)
        records += Location.search([('code', '=', text)], limit=3)
        ModelAccess = pool.get('ir.model.access')
        for model in list(DOCUMENTS.values()) + list(
                OTHER_DOCUMENTS.values()):
            # A user who may not read purchases scans no purchase.
            if ModelAccess.check(model, 'read', raise_exception=False):
                records += pool.get(model).search(
                    [('number', '=', text)], limit=3)
        return records

    @classmethod
    def find(cls, barcode, kinds=None, usable=None):
        """Return (scan, record) of the one record the barcode names.

        kinds: the model names the record may be of, None for any.
        usable: a test the record must pass (e.g. a document that can be
            received), None for any.
        Raises ScannerNotFound when none does, ScannerConflict naming them
        when two do.
        """
        scan = cls.read_barcode(barcode)
        records = cls.match(scan)
        if kinds is not None:
            records = [r for r in records if r.__name__ in kinds]
        if usable is not None and len(records) > 1:
            # Purchases and shipments are numbered by sequences of their
            # own: a done shipment may bear the number of an open purchase.
            records = [r for r in records if usable(r)] or records
        if not records:
            raise ScannerNotFound('barcode_unknown', gettext(
                    'perpetual_inventory.msg_scanner_barcode_unknown',
                    barcode=barcode))
        if len(records) > 1:
            raise ScannerConflict('barcode_ambiguous', gettext(
                    'perpetual_inventory.msg_scanner_barcode_ambiguous',
                    barcode=barcode,
                    records=', '.join('%s "%s"' % (
                            r.__names__()['model'], r.rec_name)
                        for r in records)))
        record, = records
        return scan, record

    @classmethod
    def lookup(cls, barcode):
        "Return what the barcode identifies as a dict"
        scan, record = cls.find(barcode)
        if record.__name__ == 'product.product':
            return {
                'type': 'product',
                'product': cls.product_values(record),
                'barcode': cls.scan_values(scan),
                'stock': cls._product_stock(record),
                'bins': cls._product_bins(record),
                'order_points': cls._order_points(record),
                'incoming': cls._incoming(record),
                }
        if record.__name__ == 'stock.location':
            return {
                'type': 'location',
                'location': cls._location_values(record),
                'contents': cls._location_contents(record),
                }
        if record.__name__ == 'stock.shipment.out':
            Pick = Pool().get('perpetual_inventory.scanner.pick')
            return {
                'type': 'shipment_out',
                'document': Pick.document_values(record),
                }
        kind = {v: k for k, v in DOCUMENTS.items()}[record.__name__]
        return {
            'type': kind,
            'document': cls.document_values(record),
            }

    @classmethod
    def scan_values(cls, scan):
        "Return what the scan says beyond the product, for the answer"
        data = scan.data
        return {
            'text': scan.text,
            'kind': scan.kind,
            'gtin': scan.gtin,
            'lot': data.lot if data else None,
            'expiry': (
                (data.expiry or data.best_before).isoformat()
                if data and (data.expiry or data.best_before) else None),
            'serial': data.serial if data else None,
            'quantity': scan.quantity,
            }

    @classmethod
    def product_values(cls, product):
        "Return the public values of a product"
        barcodes = [i.code for i in product.identifiers
            if i.type in {'ean', 'upc', 'gtin'}]
        return {
            'id': product.id,
            'code': product.code,
            'name': product.rec_name,
            'barcodes': barcodes,
            'unit': product.default_uom.symbol,
            }

    @classmethod
    def document_values(cls, document):
        "Return the public values of a purchase or supplier shipment"
        kind = {v: k for k, v in DOCUMENTS.items()}[document.__name__]
        party = getattr(document, 'party', None) or getattr(
            document, 'supplier', None)
        return {
            'type': kind,
            'id': document.id,
            'number': document.number,
            'reference': document.reference,
            'supplier': party.rec_name if party else None,
            'state': document.state,
            }

    @classmethod
    def _location_values(cls, location):
        return {
            'id': location.id,
            'code': location.code,
            'name': location.rec_name,
            'kind': location.type,
            'warehouse': (
                location.warehouse.rec_name if location.warehouse else None),
            }

    @classmethod
    def _warehouses(cls):
        Location = Pool().get('stock.location')
        return [w for w in Location.search([('type', '=', 'warehouse')])
            if w.storage_location]

    @classmethod
    def _product_stock(cls, product):
        "Return the quantity on hand in the storage zone of each warehouse"
        pool = Pool()
        Location = pool.get('stock.location')
        Product = pool.get('product.product')
        storages = {w.storage_location.id: w for w in cls._warehouses()}
        if not storages:
            return []
        with Transaction().set_context(
                stock_date_end=dt.date.today(), with_childs=True):
            quantities = Product.products_by_location(
                list(storages), with_childs=True,
                grouping_filter=([product.id],))
        return [{
                'warehouse': storages[location_id].rec_name,
                'location': Location(location_id).rec_name,
                'quantity': quantities.get((location_id, product.id), 0),
                }
            for location_id in storages]

    @classmethod
    def _product_bins(cls, product):
        "Return the quantity on hand in each bin that holds the product"
        pool = Pool()
        Location = pool.get('stock.location')
        Product = pool.get('product.product')
        storages = [w.storage_location.id for w in cls._warehouses()]
        if not storages:
            return []
        locations = Location.search([
                ('parent', 'child_of', storages),
                ('type', '=', 'storage'),
                ])
        with Transaction().set_context(stock_date_end=dt.date.today()):
            quantities = Product.products_by_location(
                [l.id for l in locations], with_childs=False,
                grouping_filter=([product.id],))
        return [{
                'code': l.code,
                'name': l.rec_name,
                'quantity': quantities[(l.id, product.id)],
                }
            for l in locations
            if quantities.get((l.id, product.id))]

    @classmethod
    def _order_points(cls, product):
        "Return the reorder point and order-up-to level per warehouse"
        OrderPoint = Pool().get('stock.order_point')
        points = OrderPoint.search([
                ('product', '=', product.id),
                ('type', '=', 'purchase'),
                ])
        return [{
                'warehouse': p.location.rec_name if p.location else None,
                'reorder_point': p.min_quantity,
                'order_up_to': p.target_quantity,
                } for p in points]

    @classmethod
    def _incoming(cls, product):
        "Return the quantity expected from suppliers and its first date"
        Move = Pool().get('stock.move')
        moves = Move.search([
                ('product', '=', product.id),
                ('from_location.type', '=', 'supplier'),
                ('to_location.type', 'in', ['storage', 'warehouse']),
                ('state', 'in', ['draft', 'assigned']),
                ], order=[('planned_date', 'ASC NULLS LAST')])
        dates = [m.planned_date for m in moves if m.planned_date]
        return {
            'quantity': sum(m.internal_quantity or 0 for m in moves),
            'date': min(dates).isoformat() if dates else None,
            }

    @classmethod
    def _location_contents(cls, location):
        "Return what a location holds, product by product"
        pool = Pool()
        Product = pool.get('product.product')
        with Transaction().set_context(stock_date_end=dt.date.today()):
            quantities = Product.products_by_location(
                [location.id], with_childs=True)
        ids = [p for (_, p), q in quantities.items() if q]
        products = {p.id: p for p in Product.browse(ids)}
        return sorted(({
                    'product': products[p].code,
                    'name': products[p].rec_name,
                    'quantity': q,
                    'unit': products[p].default_uom.symbol,
                    } for (_, p), q in quantities.items() if q),
            key=lambda line: line['product'] or '')
