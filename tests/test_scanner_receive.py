# This file is part of perpetual_inventory.  The COPYRIGHT file at the top
# level of this repository contains the full copyright notices and license
# terms.
"""Look up and receive through the scanner API, down to Tryton's supplier
shipment, its done moves and their posted entries."""
import datetime as dt
import json
from decimal import Decimal

from trytond.pool import Pool
from trytond.protocols.wrappers import HTTPStatus
from trytond.tests import test_tryton
from trytond.tests.test_tryton import DB_NAME, RouteTestCase
from trytond.transaction import Transaction

from .scanner_setup import (
    BIN, EAN, EAN_2, EAN_3, basic, key, new_purchase, run, setup_database)

GS = '\x1d'


class ScannerReceiveTestCase(RouteTestCase):
    "Test looking up and receiving with the scanner"
    module = 'perpetual_inventory'

    @classmethod
    def setUpClass(cls):
        super(test_tryton.RouteTestCase, cls).setUpClass()
        run(setup_database)

    def url(self, path):
        return '/%s/perpetual_inventory/api/v1/%s' % (self.db_name, path)

    def get(self, path, login='admin', **args):
        return self.client().get(self.url(path), query_string=args,
            headers=basic(login))

    def post(self, path, login='admin', **data):
        data.setdefault('idempotency_key', key())
        return self.client().post(self.url(path), data=json.dumps(data),
            headers=dict(basic(login), **{
                    'Content-Type': 'application/json'}))

    def purchase(self, lines):
        "Return the (number, document) of a new purchase"
        def create():
            purchase = new_purchase(lines)
            return purchase.number, purchase.id
        number, id_ = run(create)
        return number, {'type': 'purchase', 'id': id_}

    def scan(self, document, barcode, login='admin', **values):
        return self.post('receive/scan', login=login, document=document,
            barcode=barcode, **values)

    def test_lookup_gs1_string(self):
        "Test a GS1 string finds the product by its GTIN-14, with lot"
        response = self.get('lookup',
            barcode=']C101' + EAN.zfill(14) + '17271231' + '10LOT-7' + GS
            + '3712')
        self.assertEqual(response.status_code, HTTPStatus.OK, response.data)
        data = response.json
        self.assertEqual(data['product']['code'], 'HW0001')
        self.assertEqual(data['barcode']['lot'], 'LOT-7')
        self.assertEqual(data['barcode']['expiry'], '2027-12-31')
        self.assertEqual(data['barcode']['quantity'], 12)
        response = self.get('lookup', barcode=']C101' + EAN.zfill(14)[:-1]
            + '9')
        self.assertEqual(
            response.status_code, HTTPStatus.UNPROCESSABLE_ENTITY)
        self.assertIn('check digit', response.json['error']['message'])
        self.assertIn('at character', response.json['error']['message'])

    def test_lookup_order_point_and_incoming(self):
        "Test the look-up shows reorder point, order-up-to and incoming"
        def order_point():
            pool = Pool()
            OrderPoint = pool.get('stock.order_point')
            Product = pool.get('product.product')
            Location = pool.get('stock.location')
            product, = Product.search([('code', '=', 'HW0002')])
            warehouse, = Location.search([('type', '=', 'warehouse')])
            OrderPoint(product=product, location=warehouse,
                company=Pool().get('company.company').search([])[0],
                type='purchase', min_quantity=4, target_quantity=20).save()
        run(order_point)
        _, document = self.purchase([('HW0002', 7, '3')])
        due = dt.date.today() + dt.timedelta(days=3)

        def plan():
            pool = Pool()
            Move = pool.get('stock.move')
            Purchase = pool.get('purchase.purchase')
            Move.write([m for l in Purchase(document['id']).lines
                    for m in l.moves], {'planned_date': due})
        run(plan)
        data = self.get('lookup', barcode=EAN_2).json
        self.assertEqual(data['order_points'], [{
                    'warehouse': '[WH] Warehouse', 'reorder_point': 4,
                    'order_up_to': 20}])
        self.assertGreaterEqual(data['incoming']['quantity'], 7)
        self.assertLessEqual(data['incoming']['date'], due.isoformat())
        self.assertIsNotNone(data['incoming']['date'])
        self.assertNotIn('cost', json.dumps(data))

    def test_lookup_bin_and_document(self):
        "Test a bin answers what it holds; a number answers its purchase"
        number, document = self.purchase([('HW0001', 3, '4.5')])
        data = self.get('lookup', barcode=number).json
        self.assertEqual(data['type'], 'purchase')
        self.assertEqual(data['document']['id'], document['id'])
        self.assertEqual(data['document']['supplier'], 'Supplier')
        data = self.get('lookup', barcode=BIN).json
        self.assertEqual(data['type'], 'location')
        self.assertEqual(data['contents'], [])

    def test_lookup_ambiguous(self):
        "Test a code of two records is refused, naming both"
        def clash():
            Location = Pool().get('stock.location')
            storage, = Location.search([('code', '=', 'STO')])
            Location(name="Hammer shelf", code='HW0001', type='storage',
                parent=storage).save()
        run(clash)
        try:
            response = self.get('lookup', barcode='HW0001')
            self.assertEqual(response.status_code, HTTPStatus.CONFLICT)
            message = response.json['error']['message']
            self.assertIn('Claw Hammer', message)
            self.assertIn('Hammer shelf', message)
        finally:
            def remove():
                Location = Pool().get('stock.location')
                Location.delete(Location.search([('code', '=', 'HW0001')]))
            run(remove)

    def test_receive_purchase(self):
        "Test receiving a purchase: scans, over, unexpected, undo, done"
        number, document = self.purchase([
                ('HW0001', 5, '4.5'), ('HW0002', 10, '2.25')])
        opened = self.get('receive/open', barcode=number)
        self.assertEqual(opened.status_code, HTTPStatus.OK, opened.data)
        self.assertEqual(
            [(l['product'], l['expected'], l['counted'])
                for l in opened.json['lines']],
            [('HW0001', 5, 0), ('HW0002', 10, 0)])

        # A GS1 string: the product, its count, lot and expiry
        answer = self.scan(document, ']C101' + EAN.zfill(14) + '17271231'
            + '10L1' + GS + '373')
        self.assertEqual(answer.status_code, HTTPStatus.OK, answer.data)
        data = answer.json
        self.assertEqual(data['understood']['product']['code'], 'HW0001')
        self.assertEqual(data['understood']['quantity'], 3)
        self.assertEqual(data['understood']['lot'], 'L1')
        self.assertEqual(data['understood']['expiry'], '2027-12-31')
        self.assertEqual((data['line']['counted'], data['line']['expected']),
            (3, 5))
        self.assertEqual(data['line']['status'], 'short')

        # More than ordered needs a confirmation
        answer = self.scan(document, EAN, quantity=3)
        self.assertEqual(answer.status_code, HTTPStatus.CONFLICT)
        self.assertEqual(answer.json['error']['code'], 'over_ordered')
        self.assertIn('more than the 5', answer.json['error']['message'])
        answer = self.scan(document, EAN, quantity=3, confirm=True)
        self.assertEqual(answer.status_code, HTTPStatus.OK)
        self.assertEqual(answer.json['line']['status'], 'over')
        # Undo takes the last scan back
        answer = self.post('receive/undo', document=document)
        self.assertEqual(answer.status_code, HTTPStatus.OK, answer.data)
        self.assertEqual(answer.json['undone']['quantity'], 3)
        answer = self.scan(document, EAN, quantity=2)
        self.assertEqual(answer.json['line']['status'], 'complete')

        # A product not on the order: refused, then refused to a user
        # outside the group, then added with a confirmation
        answer = self.scan(document, EAN_3)
        self.assertEqual(answer.status_code, HTTPStatus.CONFLICT)
        self.assertEqual(
            answer.json['error']['code'], 'product_not_on_order')
        answer = self.scan(document, EAN_3, login='scanner', confirm=True)
        self.assertEqual(answer.status_code, HTTPStatus.BAD_REQUEST)
        self.assertEqual(
            answer.json['error']['code'], 'unexpected_not_allowed')
        answer = self.scan(document, EAN_3, confirm=True)
        self.assertEqual(answer.status_code, HTTPStatus.OK, answer.data)
        self.assertEqual(answer.json['line']['status'], 'not_ordered')

        # HW0002 is short (4 of 10): done needs a confirmation
        answer = self.scan(document, EAN_2, quantity=4, login='scanner')
        self.assertEqual(answer.status_code, HTTPStatus.OK, answer.data)
        answer = self.post('receive/done', document=document)
        self.assertEqual(answer.status_code, HTTPStatus.CONFLICT)
        self.assertEqual(
            answer.json['error']['code'], 'confirmation_required')
        self.assertEqual(
            sorted(d['product'] for d in answer.json['error']['details']),
            ['HW0002', 'HW0003'])
        answer = self.post('receive/done', document=document, confirm=True)
        self.assertEqual(answer.status_code, HTTPStatus.OK, answer.data)
        self.assertEqual(answer.json['shipment']['state'], 'done')
        self.assertEqual(answer.json['moves_done'], 3)

        with Transaction().start(DB_NAME, 1):
            pool = Pool()
            ShipmentIn = pool.get('stock.shipment.in')
            Purchase = pool.get('purchase.purchase')
            shipment = ShipmentIn(answer.json['shipment']['id'])
            received = {(m.product.code, m.quantity, m.state)
                for m in shipment.incoming_moves}
            self.assertEqual(received, {
                    ('HW0001', 5, 'done'), ('HW0002', 4, 'done'),
                    ('HW0003', 1, 'done')})
            # Each move is valued and posted by the valuation
            for move in shipment.incoming_moves:
                self.assertEqual(
                    [e.state for e in move.account_moves], ['posted'],
                    move.rec_name)
            hw2 = [m for m in shipment.incoming_moves
                if m.product.code == 'HW0002'][0]
            entry, = hw2.account_moves
            self.assertEqual(
                sum(l.debit for l in entry.lines), Decimal('9.00'))
            # The 6 screws not received wait on the purchase
            purchase = Purchase(document['id'])
            waiting = [(m.product.code, m.quantity)
                for l in purchase.lines for m in l.moves
                if m.state == 'draft']
            self.assertEqual(waiting, [('HW0002', 6)])

        # Nothing scanned since: done again is refused, the scans are done
        answer = self.post('receive/done', document=document, confirm=True)
        self.assertEqual(answer.status_code, HTTPStatus.CONFLICT)
        self.assertEqual(answer.json['error']['code'], 'nothing_counted')
        answer = self.post('receive/undo', document=document)
        self.assertEqual(answer.json['error']['code'], 'nothing_to_undo')

    def test_receive_shipment(self):
        "Test receiving a draft supplier shipment by its number"
        _, document = self.purchase([('HW0001', 2, '4.5')])

        def shipment():
            pool = Pool()
            ShipmentIn = pool.get('stock.shipment.in')
            Purchase = pool.get('purchase.purchase')
            purchase = Purchase(document['id'])
            moves = [m for l in purchase.lines for m in l.moves]
            shipment = ShipmentIn(supplier=purchase.party,
                warehouse=purchase.warehouse, company=purchase.company,
                incoming_moves=moves)
            shipment.on_change_warehouse()
            shipment.save()
            # The sequences of the test database number purchases and
            # shipments alike: give this one a number of its own.
            ShipmentIn.write([shipment], {'number': 'SI%d' % shipment.id})
            return shipment.number, shipment.id
        number, shipment_id = run(shipment)
        opened = self.get('receive/open', barcode=number)
        self.assertEqual(opened.status_code, HTTPStatus.OK, opened.data)
        self.assertEqual(opened.json['document']['type'], 'shipment_in')
        target = {'type': 'shipment_in', 'id': shipment_id}
        for _ in range(2):
            answer = self.scan(target, EAN, login='stocker')
            self.assertEqual(answer.status_code, HTTPStatus.OK, answer.data)
        self.assertTrue(answer.json['complete'])
        answer = self.post('receive/done', document=target, login='stocker')
        self.assertEqual(answer.status_code, HTTPStatus.OK, answer.data)
        self.assertEqual(answer.json['shipment']['id'], shipment_id)
        self.assertEqual(answer.json['shipment']['state'], 'done')
        # A done shipment cannot be scanned again
        answer = self.scan(target, EAN)
        self.assertEqual(answer.status_code, HTTPStatus.CONFLICT)
        self.assertEqual(answer.json['error']['code'], 'document_closed')

        # A done shipment bearing an open purchase's number: the look-up
        # names both, receiving opens the one that can be received
        other_number, other = self.purchase([('HW0001', 1, '4.5')])

        def renumber():
            ShipmentIn = Pool().get('stock.shipment.in')
            ShipmentIn.write([ShipmentIn(shipment_id)],
                {'number': other_number})
        run(renumber)
        answer = self.get('lookup', barcode=other_number)
        self.assertEqual(answer.status_code, HTTPStatus.CONFLICT)
        self.assertIn('Shipment In "%s"' % other_number,
            answer.json['error']['message'])
        self.assertIn('Purchase "%s"' % other_number,
            answer.json['error']['message'])
        answer = self.get('receive/open', barcode=other_number)
        self.assertEqual(answer.status_code, HTTPStatus.OK, answer.data)
        self.assertEqual(answer.json['document']['id'], other['id'])

    def test_receive_other_company(self):
        "Test a document of another company is refused and left alone"
        number, document = self.purchase([('HW0001', 1, '4.5')])

        def other_company():
            pool = Pool()
            Company = pool.get('company.company')
            Party = pool.get('party.party')
            other = Company(party=Party(name="Other Co"),
                currency=Company.search([])[0].currency)
            other.save()
            return other.id

        def move_purchase(company_id):
            cursor = Transaction().connection.cursor()
            table = Pool().get('purchase.purchase').__table__()
            cursor.execute(*table.update([table.company], [company_id],
                    where=table.id == document['id']))
        run(move_purchase, run(other_company))
        for login in ['admin', 'scanner']:
            with self.subTest(login=login):
                answer = self.scan(document, EAN, login=login)
                self.assertIn(answer.status_code, {
                        HTTPStatus.BAD_REQUEST, HTTPStatus.FORBIDDEN,
                        HTTPStatus.NOT_FOUND})
                self.assertIn(answer.json['error']['code'], {
                        'document_other_company', 'access_denied',
                        'document_unknown'})
        with Transaction().start(DB_NAME, 1):
            Scan = Pool().get('perpetual_inventory.scanner.scan')
            self.assertEqual(Scan.search_count([('document', '=',
                            'purchase.purchase,%d' % document['id'])]), 0)


del RouteTestCase
