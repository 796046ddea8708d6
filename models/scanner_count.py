# This file is part of perpetual_inventory.  The COPYRIGHT file at the top
# level of this repository contains the full copyright notices and license
# terms.
"""Count a bin from the scanner: every item in it, then an inventory.

Scans are logged (perpetual_inventory.scanner.scan) against the bin;
nothing else changes until "done", which makes Tryton's own inventory
(stock.inventory) of the bin with the counted quantities and confirms it:
its moves to and from lost and found are valued and post to over/short.
A product the bin holds but that was not scanned counts as zero only when
the user confirms it.

Every operation locks the bin first: two scanners counting one bin are
applied one after the other and never lose a count.
"""
import datetime as dt
from collections import OrderedDict

from sql.aggregate import Min, Sum

from trytond.i18n import gettext
from trytond.model import Model
from trytond.pool import Pool
from trytond.transaction import Transaction

from ..exceptions import ScannerConflict, ScannerInvalid, ScannerNotFound

MODEL = 'stock.location'


class Count(Model):
    "Scanner Count"
    __name__ = 'perpetual_inventory.scanner.count'

    @classmethod
    def get_location(cls, id_, lock=False):
        "Return the bin that can be counted"
        Location = Pool().get(MODEL)
        locations = Location.search([('id', '=', id_)])
        if not locations:
            raise ScannerNotFound('document_unknown', gettext(
                    'perpetual_inventory.msg_scanner_document_unknown'))
        location, = locations
        if lock:
            Location.lock([location])
        if location.type != 'storage':
            raise ScannerConflict('location_not_countable', gettext(
                    'perpetual_inventory.msg_scanner_location_not_storage',
                    location=location.rec_name))
        return location

    @classmethod
    def open(cls, barcode):
        "Return the count of the bin the barcode names"
        Scanner = Pool().get('perpetual_inventory.scanner')
        _, location = Scanner.find(barcode, kinds={MODEL})
        return cls.answer(cls.get_location(location.id))

    @classmethod
    def location_values(cls, location):
        "Return the public values of a bin"
        return {
            'type': 'location',
            'id': location.id,
            'code': location.code,
            'name': location.rec_name,
            'warehouse': (
                location.warehouse.rec_name if location.warehouse else None),
            }

    @classmethod
    def _expected(cls, location):
        "Return product id: quantity on hand in the bin itself today"
        Product = Pool().get('product.product')
        # as the inventory of the bin computes its expected quantities
        with Transaction().set_context(stock_date_end=dt.date.today()):
            quantities = Product.products_by_location(
                [location.id], grouping=('product',))
        return {p: q for (_, p), q in quantities.items() if q}

    @classmethod
    def _counts(cls, location):
        "Return (product id, quantity) of the open scans, one query"
        Scan = Pool().get('perpetual_inventory.scanner.scan')
        scan = Scan.__table__()
        cursor = Transaction().connection.cursor()
        cursor.execute(*scan.select(scan.product, Sum(scan.quantity),
                where=(scan.document == str(location))
                & (scan.operation == 'count')
                & (scan.state == 'open'),
                group_by=[scan.product], order_by=[Min(scan.id)]))
        return cursor.fetchall()

    @classmethod
    def lines(cls, location):
        """Return the quantity on hand and counted of each product.

        An OrderedDict product: {'product', 'expected', 'counted',
        'scanned'}: what was scanned in scan order, then what was not.
        """
        Product = Pool().get('product.product')
        expected = cls._expected(location)
        lines = OrderedDict()
        for product_id, quantity in cls._counts(location):
            lines[product_id] = {'expected': expected.pop(product_id, 0),
                'counted': quantity, 'scanned': True}
        for product_id, quantity in expected.items():
            lines[product_id] = {
                'expected': quantity, 'counted': 0, 'scanned': False}
        result = OrderedDict()
        for product in Product.browse(list(lines)):
            line = lines[product.id]
            unit = product.default_uom
            result[product] = dict(line, product=product,
                expected=unit.round(line['expected']),
                counted=unit.round(line['counted']))
        return result

    @classmethod
    def _line_values(cls, line):
        product = line['product']
        if not line['scanned']:
            status = 'not_scanned'
        elif line['counted'] < line['expected']:
            status = 'short'
        elif line['counted'] > line['expected']:
            status = 'over'
        else:
            status = 'complete'
        return {
            'product': product.code,
            'name': product.rec_name,
            'unit': product.default_uom.symbol,
            'expected': line['expected'],
            'counted': line['counted'],
            'status': status,
            }

    @classmethod
    def answer(cls, location, lines=None, **values):
        "Return the state of the count for the page"
        if lines is None:
            lines = cls.lines(location)
        lines = [cls._line_values(l) for l in lines.values()]
        answer = {
            'location': cls.location_values(location),
            'lines': lines,
            'not_scanned': sum(
                1 for l in lines if l['status'] == 'not_scanned'),
            'next': gettext('perpetual_inventory.msg_scanner_next_count'),
            }
        answer.update(values)
        return answer

    @classmethod
    def scan(cls, id_, barcode, quantity=None):
        "Count the item the barcode names in the bin"
        pool = Pool()
        Scanner = pool.get('perpetual_inventory.scanner')
        Scan = pool.get('perpetual_inventory.scanner.scan')
        location = cls.get_location(id_, lock=True)
        scan, product = Scanner.find(barcode, kinds={'product.product'})
        if quantity is None:
            quantity = scan.quantity or 1
        unit = product.default_uom
        quantity = unit.round(quantity)
        if quantity <= 0:
            raise ScannerInvalid('quantity_invalid', gettext(
                    'perpetual_inventory.msg_scanner_quantity_rounded',
                    unit=unit.rec_name))
        data = scan.data
        record = Scan(document=location, operation='count',
            barcode=scan.text, product=product, quantity=quantity,
            location=location,
            lot=data.lot if data else None,
            expiry=(data.expiry or data.best_before) if data else None)
        record.save()
        lines = cls.lines(location)
        understood = dict(Scanner.scan_values(scan),
            product=Scanner.product_values(product), quantity=quantity,
            scan=record.id)
        return cls.answer(location, lines, understood=understood,
            line=cls._line_values(lines[product]))

    @classmethod
    def _scans(cls, location, state='open'):
        Scan = Pool().get('perpetual_inventory.scanner.scan')
        return Scan.search([
                ('document', '=', str(location)),
                ('operation', '=', 'count'),
                ('state', '=', state),
                ], order=[('id', 'ASC')])

    @classmethod
    def undo(cls, id_):
        "Undo the last scan of the count"
        pool = Pool()
        Scan = pool.get('perpetual_inventory.scanner.scan')
        Scanner = pool.get('perpetual_inventory.scanner')
        location = cls.get_location(id_, lock=True)
        scans = cls._scans(location)
        if not scans:
            raise ScannerConflict('nothing_to_undo', gettext(
                    'perpetual_inventory.msg_scanner_nothing_to_undo',
                    document=location.rec_name))
        last = scans[-1]
        Scan.write([last], {'state': 'undone'})
        return cls.answer(location, undone={
                'scan': last.id,
                'product': Scanner.product_values(last.product),
                'quantity': last.quantity,
                })

    @classmethod
    def done(cls, id_, confirm=False):
        "Make and confirm the inventory of the bin with the counts"
        pool = Pool()
        Scan = pool.get('perpetual_inventory.scanner.scan')
        Inventory = pool.get('stock.inventory')
        Line = pool.get('stock.inventory.line')
        Date = pool.get('ir.date')
        location = cls.get_location(id_, lock=True)
        lines = cls.lines(location)
        values = [cls._line_values(l) for l in lines.values()]
        if not any(l['scanned'] for l in lines.values()):
            raise ScannerConflict('nothing_counted', gettext(
                    'perpetual_inventory.msg_scanner_nothing_counted',
                    document=location.rec_name))
        missing = [v for v in values if v['status'] == 'not_scanned']
        if missing and not confirm:
            raise ScannerConflict('confirmation_required', gettext(
                    'perpetual_inventory.msg_scanner_confirm_not_scanned',
                    count=len(missing), location=location.rec_name),
                details=missing)
        company = Transaction().context.get('company')
        inventory = Inventory(location=location, date=Date.today(),
            company=company, empty_quantity='empty')
        inventory.lines = [Line(product=l['product'], quantity=l['counted'])
            for l in lines.values()]
        inventory.save()
        Inventory.confirm([inventory])
        Scan.write(cls._scans(location), {'state': 'done'})
        inventory = Inventory(inventory.id)
        return {
            'location': cls.location_values(location),
            'inventory': {
                'id': inventory.id,
                'number': inventory.number,
                'state': inventory.state,
                },
            'lines': values,
            'differences': sum(1 for l in inventory.lines if l.moves),
            'next': gettext('perpetual_inventory.msg_scanner_next_counted',
                inventory=inventory.rec_name),
            }
