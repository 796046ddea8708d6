# This file is part of perpetual_inventory.  The COPYRIGHT file at the top
# level of this repository contains the full copyright notices and license
# terms.
"""Receive from the scanner: a purchase or a supplier shipment, scan by scan.

Scans are logged (perpetual_inventory.scanner.scan) against the open
document; nothing else changes until "done", which turns the counts into
Tryton's own supplier shipment (stock.shipment.in): created from the
purchase's waiting moves when the scan started from a purchase, each move's
quantity set to what was counted, then received and done, so that the
valuation values and posts each move. A line received short leaves its
remainder waiting on the purchase (Tryton's purchase recreates it).

Every operation locks the document first: two scanners on one document are
applied one after the other and never lose a count.
"""
from collections import OrderedDict

from sql.aggregate import Min, Sum

from trytond.i18n import gettext
from trytond.model import Model
from trytond.pool import Pool
from trytond.transaction import Transaction

from ..exceptions import (
    ScannerConflict, ScannerError, ScannerInvalid, ScannerNotFound)
from .scanner import DOCUMENTS

OPEN_MOVE_STATES = {'draft'}
RECEIVABLE = {
    'purchase.purchase': {'processing'},
    'stock.shipment.in': {'draft'},
    }


class Receive(Model):
    "Scanner Receive"
    __name__ = 'perpetual_inventory.scanner.receive'

    @classmethod
    def get_document(cls, kind, id_, lock=False):
        """Return the purchase or supplier shipment that can be received.

        lock: take the document's lock (Tryton takes it at the start of the
        transaction's next attempt, before anything is read).
        """
        pool = Pool()
        Model_ = pool.get(DOCUMENTS[kind])
        documents = Model_.search([('id', '=', id_)])
        if not documents:
            raise ScannerNotFound('document_unknown', gettext(
                    'perpetual_inventory.msg_scanner_document_unknown'))
        document, = documents
        if lock:
            Model_.lock([document])
        company = Transaction().context.get('company')
        if document.company.id != company:
            raise ScannerError('document_other_company', gettext(
                    'perpetual_inventory.msg_scanner_document_company',
                    document=document.rec_name))
        if not cls.receivable(document):
            raise ScannerConflict('document_closed', gettext(
                    'perpetual_inventory.msg_scanner_document_closed',
                    document=document.rec_name, state=document.state))
        return document

    @classmethod
    def receivable(cls, document):
        "Return whether the document is in a state to receive"
        return document.state in RECEIVABLE[document.__name__]

    @classmethod
    def open(cls, barcode):
        "Return the receipt of the document the barcode names"
        pool = Pool()
        Scanner = pool.get('perpetual_inventory.scanner')
        _, document = Scanner.find(barcode, kinds=set(DOCUMENTS.values()),
            usable=cls.receivable)
        kind = {v: k for k, v in DOCUMENTS.items()}[document.__name__]
        document = cls.get_document(kind, document.id)
        return cls.answer(document)

    @classmethod
    def _moves(cls, document):
        "Return the moves of the document that wait to be received"
        if document.__name__ == 'purchase.purchase':
            return [m for l in document.lines for m in l.moves
                if m.state in OPEN_MOVE_STATES and not m.shipment
                and m.from_location.type == 'supplier']
        return [m for m in document.incoming_moves
            if m.state in OPEN_MOVE_STATES]

    @classmethod
    def _scans(cls, document, state='open'):
        Scan = Pool().get('perpetual_inventory.scanner.scan')
        return Scan.search([
                ('document', '=', str(document)),
                ('operation', '=', 'receive'),
                ('state', '=', state),
                ], order=[('id', 'ASC')])

    @classmethod
    def _counts(cls, document):
        """Return (product, quantity) of the open scans of the document.

        One grouped query: a document scanned a thousand times is not read
        scan by scan on every scan."""
        pool = Pool()
        Scan = pool.get('perpetual_inventory.scanner.scan')
        Product = pool.get('product.product')
        scan = Scan.__table__()
        cursor = Transaction().connection.cursor()
        cursor.execute(*scan.select(scan.product, Sum(scan.quantity),
                where=(scan.document == str(document))
                & (scan.operation == 'receive')
                & (scan.state == 'open'),
                group_by=[scan.product], order_by=[Min(scan.id)]))
        rows = cursor.fetchall()
        products = Product.browse([r[0] for r in rows])
        return [(p, q) for p, (_, q) in zip(products, rows)]

    @classmethod
    def lines(cls, document):
        """Return the expected and counted quantity of each product.

        An OrderedDict product: {'product', 'expected', 'counted', 'moves'}
        in the order of the document, then the products not on it.
        """
        Uom = Pool().get('product.uom')
        lines = OrderedDict()
        for move in cls._moves(document):
            line = lines.setdefault(move.product, {
                    'product': move.product, 'expected': 0, 'counted': 0,
                    'moves': []})
            line['expected'] += Uom.compute_qty(
                move.unit, move.quantity, move.product.default_uom)
            line['moves'].append(move)
        for product, quantity in cls._counts(document):
            line = lines.setdefault(product, {
                    'product': product, 'expected': 0, 'counted': 0,
                    'moves': []})
            line['counted'] += quantity
        for line in lines.values():
            unit = line['product'].default_uom
            line['expected'] = unit.round(line['expected'])
            line['counted'] = unit.round(line['counted'])
        return lines

    @classmethod
    def _line_values(cls, line):
        product = line['product']
        if not line['moves']:
            status = 'not_ordered'
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
    def answer(cls, document, lines=None, **values):
        "Return the state of the receipt for the page"
        pool = Pool()
        Scanner = pool.get('perpetual_inventory.scanner')
        if lines is None:
            lines = cls.lines(document)
        lines = [cls._line_values(l) for l in lines.values()]
        complete = all(l['status'] == 'complete' for l in lines)
        if complete and lines:
            next_ = gettext('perpetual_inventory.msg_scanner_next_done')
        else:
            next_ = gettext('perpetual_inventory.msg_scanner_next_scan')
        answer = {
            'document': Scanner.document_values(document),
            'lines': lines,
            'complete': complete,
            'next': next_,
            }
        answer.update(values)
        return answer

    @classmethod
    def scan(cls, kind, id_, barcode, quantity=None, confirm=False):
        "Count the item the barcode names on the document"
        pool = Pool()
        Scanner = pool.get('perpetual_inventory.scanner')
        Scan = pool.get('perpetual_inventory.scanner.scan')
        document = cls.get_document(kind, id_, lock=True)
        scan, product = Scanner.find(barcode, kinds={'product.product'})
        if quantity is None:
            quantity = scan.quantity or 1
        unit = product.default_uom
        quantity = unit.round(quantity)
        if quantity <= 0:
            raise ScannerInvalid('quantity_invalid', gettext(
                    'perpetual_inventory.msg_scanner_quantity_rounded',
                    unit=unit.rec_name))
        lines = cls.lines(document)
        line = lines.get(product)
        if not line or not line['moves']:
            if not confirm:
                raise ScannerConflict('product_not_on_order', gettext(
                        'perpetual_inventory.msg_scanner_product_not_ordered',
                        product=product.rec_name,
                        document=document.rec_name))
            cls._check_unexpected()
        elif line['counted'] + quantity > line['expected'] and not confirm:
            raise ScannerConflict('over_ordered', gettext(
                    'perpetual_inventory.msg_scanner_over_ordered',
                    product=product.rec_name,
                    counted=line['counted'] + quantity,
                    expected=line['expected'], unit=unit.symbol),
                details=cls._line_values(line))
        values = Scanner.scan_values(scan)
        data = scan.data
        record = Scan(document=document, operation='receive',
            barcode=scan.text, product=product, quantity=quantity,
            lot=data.lot if data else None,
            expiry=(data.expiry or data.best_before) if data else None)
        record.save()
        # The counts read under the lock plus this scan: no second read
        line = lines.setdefault(product, {
                'product': product, 'expected': 0, 'counted': 0,
                'moves': []})
        line['counted'] = unit.round(line['counted'] + quantity)
        understood = dict(values, product=Scanner.product_values(product),
            quantity=quantity, scan=record.id)
        return cls.answer(document, lines, understood=understood,
            line=cls._line_values(lines[product]))

    @classmethod
    def _check_unexpected(cls):
        "Raise unless the user may receive products not on the order"
        pool = Pool()
        User = pool.get('res.user')
        ModelData = pool.get('ir.model.data')
        group = ModelData.get_id(
            'perpetual_inventory', 'group_scanner_receive_unexpected')
        if group not in User.get_groups():
            raise ScannerError('unexpected_not_allowed', gettext(
                    'perpetual_inventory.msg_scanner_unexpected_denied'))

    @classmethod
    def undo(cls, kind, id_):
        "Undo the last scan of the document"
        pool = Pool()
        Scan = pool.get('perpetual_inventory.scanner.scan')
        Scanner = pool.get('perpetual_inventory.scanner')
        document = cls.get_document(kind, id_, lock=True)
        scans = cls._scans(document)
        if not scans:
            raise ScannerConflict('nothing_to_undo', gettext(
                    'perpetual_inventory.msg_scanner_nothing_to_undo',
                    document=document.rec_name))
        last = scans[-1]
        Scan.write([last], {'state': 'undone'})
        return cls.answer(document, undone={
                'scan': last.id,
                'product': Scanner.product_values(last.product),
                'quantity': last.quantity,
                })

    @classmethod
    def done(cls, kind, id_, confirm=False):
        "Receive and finish the document with the counted quantities"
        pool = Pool()
        Scan = pool.get('perpetual_inventory.scanner.scan')
        ShipmentIn = pool.get('stock.shipment.in')
        document = cls.get_document(kind, id_, lock=True)
        lines = cls.lines(document)
        values = [cls._line_values(l) for l in lines.values()]
        differences = [v for v in values if v['status'] != 'complete']
        if not any(l['counted'] for l in lines.values()):
            raise ScannerConflict('nothing_counted', gettext(
                    'perpetual_inventory.msg_scanner_nothing_counted',
                    document=document.rec_name))
        if differences and not confirm:
            raise ScannerConflict('confirmation_required', gettext(
                    'perpetual_inventory.msg_scanner_confirm_differences',
                    count=len(differences)), details=differences)
        if any(not l['moves'] for l in lines.values() if l['counted']):
            cls._check_unexpected()
        if document.__name__ == 'purchase.purchase':
            shipment = ShipmentIn(
                company=document.company, supplier=document.party,
                warehouse=document.warehouse)
            # as the client fills them when a clerk picks the warehouse
            shipment.on_change_warehouse()
            shipment.on_change_supplier()
        else:
            shipment = document
        moves = cls._shipment_moves(document, shipment, lines)
        shipment.incoming_moves = moves
        # The counts were confirmed above: Tryton's warnings (more than
        # ordered) are answered by that confirmation.
        with Transaction().set_context(_skip_warnings=True):
            shipment.save()
            ShipmentIn.receive([shipment])
            if shipment.state == 'received':
                ShipmentIn.do([shipment])
        Scan.write(cls._scans(document), {'state': 'done'})
        shipment = ShipmentIn(shipment.id)
        return {
            'document': pool.get(
                'perpetual_inventory.scanner').document_values(document),
            'shipment': {
                'id': shipment.id,
                'number': shipment.number,
                'state': shipment.state,
                },
            'lines': values,
            'moves_done': sum(
                1 for m in shipment.incoming_moves if m.state == 'done'),
            'next': gettext('perpetual_inventory.msg_scanner_next_received',
                shipment=shipment.rec_name),
            }

    @classmethod
    def _shipment_moves(cls, document, shipment, lines):
        """Return the incoming moves of the shipment, quantities counted.

        The count of a product fills its moves in order; the last one takes
        what is over. Moves left at zero stay waiting on the purchase.
        """
        pool = Pool()
        Move = pool.get('stock.move')
        Uom = pool.get('product.uom')
        moves, detached = [], []
        for line in lines.values():
            remaining = line['counted']
            product = line['product']
            if not line['moves']:
                if remaining:
                    moves.append(cls._unexpected_move(
                            document, product, remaining))
                continue
            for i, move in enumerate(line['moves']):
                last = i == len(line['moves']) - 1
                expected = Uom.compute_qty(
                    move.unit, move.quantity, product.default_uom)
                taken = remaining if last else min(remaining, expected)
                remaining -= taken
                if taken <= 0:
                    detached.append(move)
                    continue
                move.quantity = Uom.compute_qty(
                    product.default_uom, taken, move.unit)
                moves.append(move)
        if detached and document.__name__ == 'stock.shipment.in':
            Move.write(detached, {'shipment': None})
        return moves

    @classmethod
    def _unexpected_move(cls, document, product, quantity):
        "Return a move of a product received though not ordered"
        pool = Pool()
        Move = pool.get('stock.move')
        Product = pool.get('product.product')
        supplier = (getattr(document, 'party', None)
            or getattr(document, 'supplier', None))
        currency = document.company.currency
        with Transaction().set_context(
                supplier=supplier.id, currency=currency.id,
                uom=product.default_uom.id, _check_access=False):
            price = Product.get_purchase_price(
                [product], quantity=quantity)[product.id]
            if price is None:
                price = Product(product.id).cost_price
        warehouse = document.warehouse
        return Move(
            product=product, unit=product.default_uom, quantity=quantity,
            from_location=supplier.supplier_location,
            to_location=warehouse.input_location,
            company=document.company, currency=currency,
            unit_price=currency.round(price) if price is not None else 0)
