# This file is part of perpetual_inventory.  The COPYRIGHT file at the top
# level of this repository contains the full copyright notices and license
# terms.
"""Pick and ship through the scanner API, down to Tryton's customer
shipment done, its moves valued and posted."""
import json
from decimal import Decimal

from trytond.modules.company.tests import set_company
from trytond.pool import Pool
from trytond.protocols.wrappers import HTTPStatus
from trytond.tests import test_tryton
from trytond.tests.test_tryton import RouteTestCase
from trytond.transaction import Transaction

from .scanner_setup import (
    BIN, BIN_2, EAN, EAN_2, EAN_3, basic, key, new_shipment, run,
    setup_database, stock_bins)


class ScannerPickTestCase(RouteTestCase):
    "Test picking and shipping with the scanner"
    module = 'perpetual_inventory'

    @classmethod
    def setUpClass(cls):
        super(test_tryton.RouteTestCase, cls).setUpClass()
        run(setup_database)
        run(stock_bins)

    def url(self, path):
        return '/%s/perpetual_inventory/api/v1/%s' % (self.db_name, path)

    def post(self, path, login='admin', **data):
        data.setdefault('idempotency_key', key())
        return self.client().post(self.url(path), data=json.dumps(data),
            headers=dict(basic(login), **{
                    'Content-Type': 'application/json'}))

    def shipment(self, lines):
        number, id_ = run(new_shipment, lines)
        return number, {'type': 'shipment_out', 'id': id_}

    def assertError(self, response, status, code):
        self.assertEqual(response.status_code, status, response.data)
        self.assertEqual(response.json['error']['code'], code)

    def test_pick_and_ship(self):
        "Test a shipment picked bin by bin, refusals, undo, then done"
        number, document = self.shipment([('HW0001', 7), ('HW0002', 2)])
        response = self.post('pick/open', barcode=number)
        self.assertEqual(response.status_code, HTTPStatus.OK, response.data)
        data = response.json
        self.assertEqual(data['document']['state'], 'assigned')
        self.assertEqual(data['missing'], [])
        hammers = [l for l in data['lines'] if l['product'] == 'HW0001']
        self.assertEqual(sum(l['expected'] for l in hammers), 7)
        self.assertEqual({l['location'] for l in data['lines']} <= {
                BIN, BIN_2}, True)
        self.assertIn(data['next_bin'], {BIN, BIN_2})
        self.assertIn('Take', data['next'])

        # screws are only in the first bin
        response = self.post('pick/scan', document=document, barcode=EAN_2,
            location=BIN_2)
        self.assertError(response, HTTPStatus.CONFLICT, 'wrong_bin')
        self.assertIn(BIN, response.json['error']['message'])
        response = self.post('pick/scan', document=document, barcode=EAN_3)
        self.assertError(
            response, HTTPStatus.CONFLICT, 'product_not_on_shipment')
        response = self.post('pick/scan', document=document, barcode=EAN_2,
            quantity=3)
        self.assertError(response, HTTPStatus.CONFLICT, 'over_picked')
        response = self.post('pick/scan', document=document, barcode=EAN_2,
            quantity=-1)
        self.assertEqual(response.status_code, 400, response.data)

        response = self.post('pick/scan', document=document, barcode=EAN_2,
            location=BIN, quantity=2)
        self.assertEqual(response.status_code, HTTPStatus.OK, response.data)
        self.assertEqual(response.json['line']['counted'], 2)
        self.assertEqual(response.json['line']['status'], 'complete')
        self.assertEqual(response.json['understood']['location'], BIN)

        # each scan of a hammer goes to the next bin with some left
        for _ in range(6):
            data = self.post('pick/scan', document=document,
                barcode=EAN).json
            self.assertIn('line', data, data)
        self.assertEqual(data['complete'], False)
        response = self.post('pick/done', document=document)
        self.assertError(
            response, HTTPStatus.CONFLICT, 'confirmation_required')
        self.assertEqual(response.json['error']['details'][0]['status'],
            'short')
        data = self.post('pick/scan', document=document, barcode=EAN).json
        self.assertEqual(data['complete'], True)
        self.assertIsNone(data['next_bin'])
        data = self.post('pick/undo', document=document).json
        self.assertEqual(data['undone']['quantity'], 1)
        self.assertEqual(data['complete'], False)
        data = self.post('pick/scan', document=document, barcode=EAN).json
        self.assertEqual(data['complete'], True)

        response = self.post('pick/done', document=document)
        self.assertEqual(response.status_code, HTTPStatus.OK, response.data)
        self.assertEqual(response.json['document']['state'], 'done')
        self.assertEqual(response.json['moves_done'], 2)

        def check():
            pool = Pool()
            ShipmentOut = pool.get('stock.shipment.out')
            AccountMove = pool.get('account.move')
            shipment = ShipmentOut(document['id'])
            quantities = {}
            for move in shipment.outgoing_moves:
                self.assertEqual(move.state, 'done')
                quantities[move.product.code] = move.quantity
                entries = AccountMove.search(
                    [('origin', '=', str(move))])
                self.assertEqual([e.state for e in entries], ['posted'])
            self.assertEqual(quantities, {'HW0001': 7, 'HW0002': 2})
            self.assertTrue(all(m.state == 'done'
                    for m in shipment.inventory_moves))
        run(check)

        response = self.post('pick/scan', document=document, barcode=EAN)
        self.assertError(response, HTTPStatus.CONFLICT, 'document_closed')
        response = self.post('pick/undo', document=document)
        self.assertError(response, HTTPStatus.CONFLICT, 'document_closed')

    def test_pick_one_step(self):
        """Test a warehouse shipping from its storage zone, a product not
        picked at all left out"""
        def setup(output):
            pool = Pool()
            Location = pool.get('stock.location')
            Move = pool.get('stock.move')
            Product = pool.get('product.product')
            Company = pool.get('company.company')
            warehouse, = Location.search([('type', '=', 'warehouse')])
            previous = warehouse.output_location.code
            output, = Location.search([('code', '=', output)])
            Location.write([warehouse], {'output_location': output.id})
            if output.code != 'STO':
                return previous
            company, = Company.search([])
            bin_, = Location.search([('code', '=', BIN)])
            supplier, = Location.search([('code', '=', 'SUP')])
            with set_company(company), Transaction().set_context(
                    _skip_warnings=True):
                moves = [Move(product=product, unit=product.default_uom,
                        quantity=quantity, from_location=supplier,
                        to_location=bin_, company=company,
                        currency=company.currency, unit_price=Decimal(3))
                    for code, quantity in [('HW0002', 3), ('HW0003', 1)]
                    for product in Product.search([('code', '=', code)])]
                Move.save(moves)
                Move.do(moves)
            return previous
        previous = run(setup, 'STO')
        try:
            number, document = self.shipment([('HW0002', 2), ('HW0003', 1)])
            response = self.post('pick/open', barcode=number)
            self.assertEqual(
                response.status_code, HTTPStatus.OK, response.data)
            data = response.json
            self.assertEqual(data['document']['state'], 'assigned')
            self.assertEqual({l['location'] for l in data['lines']}, {BIN})
            data = self.post('pick/scan', document=document, barcode=EAN_2,
                location=BIN, quantity=2).json
            self.assertEqual(data['line']['status'], 'complete')
            response = self.post('pick/done', document=document,
                confirm=True)
            self.assertEqual(
                response.status_code, HTTPStatus.OK, response.data)
            self.assertEqual(response.json['moves_done'], 1)

            def shipped():
                ShipmentOut = Pool().get('stock.shipment.out')
                shipment = ShipmentOut(document['id'])
                return shipment.state, [(m.product.code, m.quantity, m.state)
                    for m in shipment.outgoing_moves]
            self.assertEqual(run(shipped),
                ('done', [('HW0002', 2, 'done')]))
        finally:
            run(setup, previous)

    def test_pick_over_confirmed(self):
        """Test a Stock user finishing over with confirm ships what was
        picked"""
        number, document = self.shipment([('HW0001', 1)])

        def stocker(path, **data):
            return self.post(path, login='stocker', **data)
        stocker('pick/open', barcode=number)
        response = stocker('pick/done', document=document)
        self.assertError(response, HTTPStatus.CONFLICT, 'nothing_counted')
        response = stocker('pick/undo', document=document)
        self.assertError(response, HTTPStatus.CONFLICT, 'nothing_to_undo')
        data = stocker('pick/scan', document=document, barcode=EAN,
            quantity=2, confirm=True).json
        self.assertEqual(data['line']['status'], 'over')
        response = stocker('pick/done', document=document, confirm=True)
        self.assertEqual(response.status_code, HTTPStatus.OK, response.data)

        def quantity():
            ShipmentOut = Pool().get('stock.shipment.out')
            return [m.quantity
                for m in ShipmentOut(document['id']).outgoing_moves]
        self.assertEqual(run(quantity), [2])

    def test_pick_not_in_stock(self):
        "Test a shipment without stock says what is missing, cannot finish"
        number, document = self.shipment([('HW0003', 4)])
        key_ = key()
        response = self.post('pick/open', barcode=number,
            idempotency_key=key_)
        self.assertEqual(response.status_code, HTTPStatus.OK, response.data)
        data = response.json
        self.assertEqual(data['document']['state'], 'waiting')
        self.assertEqual(data['missing'][0]['product'], 'HW0003')
        self.assertEqual(data['missing'][0]['quantity'], 4)
        self.assertIn('not in stock', data['next'])
        replay = self.post('pick/open', barcode=number, idempotency_key=key_)
        self.assertEqual(replay.json, data)
        response = self.post('pick/scan', document=document, barcode=EAN_3)
        self.assertError(
            response, HTTPStatus.CONFLICT, 'product_not_on_shipment')
        response = self.post('pick/done', document=document)
        self.assertError(
            response, HTTPStatus.CONFLICT, 'shipment_not_assigned')

    def test_pick_unknown(self):
        "Test an unknown shipment number or id is refused"
        response = self.post('pick/open', barcode='NO-SUCH-SHIPMENT')
        self.assertError(response, HTTPStatus.NOT_FOUND, 'barcode_unknown')
        response = self.post('pick/scan', barcode=EAN,
            document={'type': 'shipment_out', 'id': 999999})
        self.assertError(response, HTTPStatus.NOT_FOUND, 'document_unknown')
        response = self.post('pick/scan', barcode=EAN,
            document={'type': 'purchase', 'id': 1})
        self.assertEqual(response.status_code, 400, response.data)
        response = self.post('pick/open', barcode=BIN)
        self.assertError(response, HTTPStatus.NOT_FOUND, 'barcode_unknown')

    def test_pick_no_rights(self):
        "Test a user in no group cannot pick"
        number, _ = self.shipment([('HW0001', 1)])
        response = self.post('pick/open', login='nobody', barcode=number)
        self.assertIn(response.status_code, {401, 403}, response.data)
