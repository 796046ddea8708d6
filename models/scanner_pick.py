# This file is part of perpetual_inventory.  The COPYRIGHT file at the top
# level of this repository contains the full copyright notices and license
# terms.
"""Pick and ship from the scanner: a customer shipment, bin by bin.

Opening a shipment assigns it as a clerk's "Assign" button does; the moves
to pick are then its inventory moves (or its outgoing moves in a warehouse
whose storage is its output), each from the bin Tryton assigned it from.
Scans are logged (perpetual_inventory.scanner.scan) with their bin;
nothing else changes until "done", which sets each move to what was picked
and runs Tryton's own pick, pack and done: the valuation values and posts
the outgoing moves.

Every operation locks the shipment first: two scanners on one shipment are
applied one after the other and never lose a count.
"""
from collections import OrderedDict

from sql.aggregate import Min, Sum

from trytond.i18n import gettext
from trytond.model import Model
from trytond.pool import Pool
from trytond.transaction import Transaction, without_check_access

from ..exceptions import (
    ScannerConflict, ScannerError, ScannerInvalid, ScannerNotFound)

MODEL = 'stock.shipment.out'
PICKABLE = {'draft', 'waiting', 'assigned'}


class Pick(Model):
    "Scanner Pick"
    __name__ = 'perpetual_inventory.scanner.pick'

    @classmethod
    def get_document(cls, id_, lock=False):
        "Return the customer shipment that can be picked"
        ShipmentOut = Pool().get(MODEL)
        shipments = ShipmentOut.search([('id', '=', id_)])
        if not shipments:
            raise ScannerNotFound('document_unknown', gettext(
                    'perpetual_inventory.msg_scanner_document_unknown'))
        shipment, = shipments
        if lock:
            ShipmentOut.lock([shipment])
        company = Transaction().context.get('company')
        if shipment.company.id != company:
            raise ScannerError('document_other_company', gettext(
                    'perpetual_inventory.msg_scanner_document_company',
                    document=shipment.rec_name))
        if shipment.state not in PICKABLE:
            raise ScannerConflict('document_closed', gettext(
                    'perpetual_inventory.msg_scanner_shipment_closed',
                    document=shipment.rec_name, state=shipment.state))
        return shipment

    @classmethod
    def open(cls, barcode):
        "Return the picking of the shipment the barcode names, assigned"
        pool = Pool()
        Scanner = pool.get('perpetual_inventory.scanner')
        ShipmentOut = pool.get(MODEL)
        _, shipment = Scanner.find(barcode, kinds={MODEL},
            usable=lambda s: s.state in PICKABLE)
        shipment = cls.get_document(shipment.id, lock=True)
        # The shipment was made by a clerk or a sale, who answered its
        # warnings (such as moves without origin, which Tryton asks again
        # when they are assigned); a picker cannot answer them.
        with Transaction().set_context(_skip_warnings=True):
            if shipment.state == 'draft':
                ShipmentOut.wait([shipment])
            if shipment.state == 'waiting':
                ShipmentOut.assign_try([shipment])
        return cls.answer(ShipmentOut(shipment.id))

    @classmethod
    def document_values(cls, shipment):
        "Return the public values of a customer shipment"
        return {
            'type': 'shipment_out',
            'id': shipment.id,
            'number': shipment.number,
            'reference': shipment.reference,
            'customer': shipment.customer.rec_name,
            'state': shipment.state,
            }

    @classmethod
    def _pick_moves(cls, shipment):
        "Return the moves a picker takes from the bins"
        if shipment.warehouse_storage != shipment.warehouse_output:
            return list(shipment.inventory_moves)
        return list(shipment.outgoing_moves)

    @classmethod
    def _missing(cls, shipment):
        "Return what could not be assigned: product and quantity"
        return [{
                'product': m.product.code,
                'name': m.product.rec_name,
                'unit': m.unit.symbol,
                'quantity': m.quantity,
                } for m in cls._pick_moves(shipment)
            if m.state in {'draft', 'staging'}]

    @classmethod
    def _counts(cls, shipment):
        """Return (product, location, quantity) of the open scans.

        One grouped query, as the receipt counts."""
        pool = Pool()
        Scan = pool.get('perpetual_inventory.scanner.scan')
        Product = pool.get('product.product')
        Location = pool.get('stock.location')
        scan = Scan.__table__()
        cursor = Transaction().connection.cursor()
        cursor.execute(*scan.select(
                scan.product, scan.location, Sum(scan.quantity),
                where=(scan.document == str(shipment))
                & (scan.operation == 'pick')
                & (scan.state == 'open'),
                group_by=[scan.product, scan.location],
                order_by=[Min(scan.id)]))
        return [(Product(p), Location(l), q)
            for p, l, q in cursor.fetchall()]

    @classmethod
    def lines(cls, shipment):
        """Return the expected and picked quantity per product and bin.

        An OrderedDict (product, bin): {'product', 'location', 'expected',
        'counted', 'moves'} in the order of the assigned moves.
        """
        Uom = Pool().get('product.uom')
        lines = OrderedDict()
        for move in cls._pick_moves(shipment):
            if move.state != 'assigned':
                continue
            line = lines.setdefault((move.product, move.from_location), {
                    'product': move.product, 'location': move.from_location,
                    'expected': 0, 'counted': 0, 'moves': []})
            line['expected'] += Uom.compute_qty(
                move.unit, move.quantity, move.product.default_uom)
            line['moves'].append(move)
        for product, location, quantity in cls._counts(shipment):
            line = lines.setdefault((product, location), {
                    'product': product, 'location': location,
                    'expected': 0, 'counted': 0, 'moves': []})
            line['counted'] += quantity
        for line in lines.values():
            unit = line['product'].default_uom
            line['expected'] = unit.round(line['expected'])
            line['counted'] = unit.round(line['counted'])
        return lines

    @classmethod
    def _line_values(cls, line):
        product, location = line['product'], line['location']
        if line['counted'] < line['expected']:
            status = 'short'
        elif line['counted'] > line['expected']:
            status = 'over'
        else:
            status = 'complete'
        return {
            'product': product.code,
            'name': product.rec_name,
            'unit': product.default_uom.symbol,
            'location': location.code,
            'location_name': location.rec_name,
            'expected': line['expected'],
            'counted': line['counted'],
            'status': status,
            }

    @classmethod
    def _next(cls, shipment, lines):
        "Return the line to pick next and what to do, in plain words"
        for line in lines.values():
            if line['counted'] < line['expected']:
                unit = line['product'].default_uom
                return line, gettext(
                    'perpetual_inventory.msg_scanner_next_pick',
                    quantity=unit.round(line['expected'] - line['counted']),
                    unit=unit.symbol, product=line['product'].rec_name,
                    location=line['location'].rec_name)
        if shipment.state != 'assigned':
            return None, gettext(
                'perpetual_inventory.msg_scanner_next_not_assigned',
                document=shipment.rec_name)
        return None, gettext('perpetual_inventory.msg_scanner_next_packed')

    @classmethod
    def answer(cls, shipment, lines=None, **values):
        "Return the state of the picking for the page"
        if lines is None:
            lines = cls.lines(shipment)
        line, next_ = cls._next(shipment, lines)
        values_ = [cls._line_values(l) for l in lines.values()]
        answer = {
            'document': cls.document_values(shipment),
            'lines': values_,
            'missing': cls._missing(shipment),
            'complete': bool(values_) and shipment.state == 'assigned'
            and all(l['status'] == 'complete' for l in values_),
            'next_bin': (line['location'].code if line else None),
            'next': next_,
            }
        answer.update(values)
        return answer

    @classmethod
    def scan(cls, id_, barcode, location=None, quantity=None,
            confirm=False):
        """Count an item taken from a bin of the shipment.

        location: the barcode of the bin it was taken from, None for the
        next bin of the product.
        """
        pool = Pool()
        Scanner = pool.get('perpetual_inventory.scanner')
        Scan = pool.get('perpetual_inventory.scanner.scan')
        shipment = cls.get_document(id_, lock=True)
        scan, product = Scanner.find(barcode, kinds={'product.product'})
        if quantity is None:
            quantity = scan.quantity or 1
        unit = product.default_uom
        quantity = unit.round(quantity)
        if quantity <= 0:
            raise ScannerInvalid('quantity_invalid', gettext(
                    'perpetual_inventory.msg_scanner_quantity_rounded',
                    unit=unit.rec_name))
        lines = cls.lines(shipment)
        candidates = [l for l in lines.values()
            if l['product'] == product and l['moves']]
        if not candidates:
            raise ScannerConflict('product_not_on_shipment', gettext(
                    'perpetual_inventory.msg_scanner_product_not_shipped',
                    product=product.rec_name, document=shipment.rec_name))
        if location is not None:
            _, bin_ = Scanner.find(location, kinds={'stock.location'})
            chosen = [l for l in candidates if l['location'] == bin_]
            if not chosen:
                raise ScannerConflict('wrong_bin', gettext(
                        'perpetual_inventory.msg_scanner_wrong_bin',
                        product=product.rec_name, location=bin_.rec_name,
                        locations=', '.join(
                            l['location'].rec_name for l in candidates)),
                    details=[cls._line_values(l) for l in candidates])
            line = chosen[0]
        else:
            # the next bin of the product with something left to take
            line = next((l for l in candidates
                    if l['counted'] < l['expected']), candidates[-1])
        if line['counted'] + quantity > line['expected'] and not confirm:
            raise ScannerConflict('over_picked', gettext(
                    'perpetual_inventory.msg_scanner_over_picked',
                    product=product.rec_name,
                    counted=unit.round(line['counted'] + quantity),
                    expected=line['expected'], unit=unit.symbol,
                    location=line['location'].rec_name),
                details=cls._line_values(line))
        data = scan.data
        record = Scan(document=shipment, operation='pick',
            barcode=scan.text, product=product, quantity=quantity,
            location=line['location'],
            lot=data.lot if data else None,
            expiry=(data.expiry or data.best_before) if data else None)
        record.save()
        # The counts read under the lock plus this scan: no second read
        line['counted'] = unit.round(line['counted'] + quantity)
        understood = dict(Scanner.scan_values(scan),
            product=Scanner.product_values(product), quantity=quantity,
            location=line['location'].code, scan=record.id)
        return cls.answer(shipment, lines, understood=understood,
            line=cls._line_values(line))

    @classmethod
    def _scans(cls, shipment, state='open'):
        Scan = Pool().get('perpetual_inventory.scanner.scan')
        return Scan.search([
                ('document', '=', str(shipment)),
                ('operation', '=', 'pick'),
                ('state', '=', state),
                ], order=[('id', 'ASC')])

    @classmethod
    def undo(cls, id_):
        "Undo the last scan of the shipment"
        pool = Pool()
        Scan = pool.get('perpetual_inventory.scanner.scan')
        Scanner = pool.get('perpetual_inventory.scanner')
        shipment = cls.get_document(id_, lock=True)
        scans = cls._scans(shipment)
        if not scans:
            raise ScannerConflict('nothing_to_undo', gettext(
                    'perpetual_inventory.msg_scanner_nothing_to_undo',
                    document=shipment.rec_name))
        last = scans[-1]
        Scan.write([last], {'state': 'undone'})
        return cls.answer(shipment, undone={
                'scan': last.id,
                'product': Scanner.product_values(last.product),
                'location': last.location.code if last.location else None,
                'quantity': last.quantity,
                })

    @classmethod
    def done(cls, id_, confirm=False):
        "Pick, pack and finish the shipment with the picked quantities"
        pool = Pool()
        Scan = pool.get('perpetual_inventory.scanner.scan')
        ShipmentOut = pool.get(MODEL)
        shipment = cls.get_document(id_, lock=True)
        if shipment.state != 'assigned':
            raise ScannerConflict('shipment_not_assigned', gettext(
                    'perpetual_inventory.msg_scanner_shipment_not_assigned',
                    document=shipment.rec_name),
                details=cls._missing(shipment))
        lines = cls.lines(shipment)
        values = [cls._line_values(l) for l in lines.values()]
        if not any(l['counted'] for l in lines.values()):
            raise ScannerConflict('nothing_counted', gettext(
                    'perpetual_inventory.msg_scanner_nothing_counted',
                    document=shipment.rec_name))
        differences = [v for v in values if v['status'] != 'complete']
        if differences and not confirm:
            raise ScannerConflict('confirmation_required', gettext(
                    'perpetual_inventory.msg_scanner_confirm_picked',
                    count=len(differences)), details=differences)
        # Confirmed above: Tryton's warnings are answered by it.
        with Transaction().set_context(_skip_warnings=True):
            cls._set_quantities(lines)
            if shipment.warehouse_storage != shipment.warehouse_output:
                ShipmentOut.pick([shipment])
            # else Tryton packs straight from the bins (one step)
            ShipmentOut.pack([shipment])
            ShipmentOut.do([shipment])
        Scan.write(cls._scans(shipment), {'state': 'done'})
        shipment = ShipmentOut(shipment.id)
        return {
            'document': cls.document_values(shipment),
            'lines': values,
            'moves_done': sum(
                1 for m in shipment.outgoing_moves if m.state == 'done'),
            'next': gettext('perpetual_inventory.msg_scanner_next_shipped',
                shipment=shipment.rec_name),
            }

    @classmethod
    def _set_quantities(cls, lines):
        """Set each move to the quantity picked from its bin.

        The count of a bin fills its moves in order; the last one takes what
        is over. A move nothing was picked for is set to zero: Tryton's pick
        and pack delete the moves of no quantity (a cancelled one would be
        set back to draft by pick and shipped).
        """
        pool = Pool()
        Move = pool.get('stock.move')
        Uom = pool.get('product.uom')
        to_save = []
        for line in lines.values():
            remaining = line['counted']
            product = line['product']
            for i, move in enumerate(line['moves']):
                last = i == len(line['moves']) - 1
                expected = Uom.compute_qty(
                    move.unit, move.quantity, product.default_uom)
                taken = remaining if last else min(remaining, expected)
                remaining -= taken
                quantity = Uom.compute_qty(
                    product.default_uom, max(taken, 0), move.unit)
                if quantity != move.quantity:
                    to_save.append((move, quantity))
        # Tryton changes the quantity of a draft move only; pick does it
        # from draft as from assigned. The moves' buttons are the
        # shipment's inner steps (as its own assign calls them): the user's
        # rights are checked by the shipment's pick, pack and done.
        with without_check_access():
            Move.draft([m for m, _ in to_save])
            for move, quantity in to_save:
                move.quantity = quantity
            Move.save([m for m, _ in to_save])
