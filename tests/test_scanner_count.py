# This file is part of perpetual_inventory.  The COPYRIGHT file at the top
# level of this repository contains the full copyright notices and license
# terms.
"""Count a bin through the scanner API, down to Tryton's inventory
confirmed, its differences valued and posted."""
import datetime as dt
import json

from trytond.pool import Pool
from trytond.protocols.wrappers import HTTPStatus
from trytond.tests import test_tryton
from trytond.tests.test_tryton import RouteTestCase
from trytond.transaction import Transaction

from .scanner_setup import (
    BIN, BIN_2, EAN, EAN_2, EAN_3, basic, key, run, setup_database,
    stock_bins)


def on_hand(code):
    "Return the quantity of each product in the bin of that code"
    pool = Pool()
    Location = pool.get('stock.location')
    Product = pool.get('product.product')
    location, = Location.search([('code', '=', code)])
    with Transaction().set_context(stock_date_end=dt.date.today()):
        quantities = Product.products_by_location([location.id])
    return {Product(p).code: q for (_, p), q in quantities.items() if q}


class ScannerCountTestCase(RouteTestCase):
    "Test counting a bin with the scanner"
    module = 'perpetual_inventory'

    @classmethod
    def setUpClass(cls):
        super(test_tryton.RouteTestCase, cls).setUpClass()
        run(setup_database)
        run(stock_bins)

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

    def assertError(self, response, status, code):
        self.assertEqual(response.status_code, status, response.data)
        self.assertEqual(response.json['error']['code'], code)

    def test_count_bin(self):
        "Test a bin counted with a difference, confirmed, posted"
        response = self.get('count/open', barcode=BIN)
        self.assertEqual(response.status_code, HTTPStatus.OK, response.data)
        data = response.json
        location = {'type': 'location', 'id': data['location']['id']}
        self.assertEqual({l['product']: l['expected'] for l in data['lines']},
            {'HW0001': 5, 'HW0002': 2})
        self.assertEqual(data['not_scanned'], 2)

        data = self.post('count/scan', location=location, barcode=EAN,
            quantity=4).json
        self.assertEqual(data['line']['status'], 'short')
        self.assertEqual(data['not_scanned'], 1)
        data = self.post('count/scan', location=location, barcode=EAN_3).json
        self.assertEqual(data['line']['status'], 'over')
        self.assertEqual(data['line']['expected'], 0)
        data = self.post('count/undo', location=location).json
        self.assertEqual(data['undone']['product']['code'], 'HW0003')
        self.assertNotIn('HW0003', [l['product'] for l in data['lines']])
        key_ = key()
        first = self.post('count/scan', location=location, barcode=EAN_3,
            idempotency_key=key_).json
        replay = self.post('count/scan', location=location, barcode=EAN_3,
            idempotency_key=key_).json
        self.assertEqual(replay, first)
        response = self.post('count/scan', location=location, barcode=EAN,
            quantity=0)
        self.assertEqual(response.status_code, 400, response.data)

        # the screws were not scanned: zero only when confirmed
        response = self.post('count/done', location=location)
        self.assertError(
            response, HTTPStatus.CONFLICT, 'confirmation_required')
        self.assertEqual(
            [d['product'] for d in response.json['error']['details']],
            ['HW0002'])
        self.assertEqual(run(on_hand, BIN), {'HW0001': 5, 'HW0002': 2})
        response = self.post('count/done', location=location, confirm=True)
        self.assertEqual(response.status_code, HTTPStatus.OK, response.data)
        data = response.json
        self.assertEqual(data['inventory']['state'], 'done')
        self.assertEqual(data['differences'], 3)
        self.assertEqual(run(on_hand, BIN), {'HW0001': 4, 'HW0003': 1})

        def check():
            pool = Pool()
            Inventory = pool.get('stock.inventory')
            AccountMove = pool.get('account.move')
            inventory = Inventory(data['inventory']['id'])
            moves = [m for l in inventory.lines for m in l.moves]
            self.assertEqual(len(moves), 3)
            for move in moves:
                self.assertEqual(move.state, 'done')
                entries = AccountMove.search([('origin', '=', str(move))])
                self.assertEqual([e.state for e in entries], ['posted'])
        run(check)

        # a new count of the bin starts from what the inventory left
        data = self.get('count/open', barcode=BIN).json
        self.assertEqual({l['product']: l['counted'] for l in data['lines']},
            {'HW0001': 0, 'HW0003': 0})

    def test_count_errors(self):
        "Test what a count refuses"
        response = self.get('count/open', barcode='WH')
        self.assertError(
            response, HTTPStatus.CONFLICT, 'location_not_countable')
        response = self.get('count/open', barcode='NO-SUCH-BIN')
        self.assertError(response, HTTPStatus.NOT_FOUND, 'barcode_unknown')
        response = self.get('count/open', barcode=EAN)
        self.assertError(response, HTTPStatus.NOT_FOUND, 'barcode_unknown')
        location = {'type': 'location',
            'id': self.get('count/open', barcode=BIN_2).json[
                'location']['id']}
        response = self.post('count/done', location=location)
        self.assertError(response, HTTPStatus.CONFLICT, 'nothing_counted')
        response = self.post('count/undo', location=location)
        self.assertError(response, HTTPStatus.CONFLICT, 'nothing_to_undo')
        response = self.post('count/scan', barcode=EAN,
            location={'type': 'location', 'id': 999999})
        self.assertError(response, HTTPStatus.NOT_FOUND, 'document_unknown')
        response = self.post('count/scan', location=location,
            barcode='NO-SUCH-ITEM')
        self.assertError(response, HTTPStatus.NOT_FOUND, 'barcode_unknown')
        response = self.post('count/scan', location=location, barcode=EAN_2,
            login='nobody')
        self.assertIn(response.status_code, {401, 403}, response.data)
        self.assertEqual(run(on_hand, BIN_2), {'HW0001': 3})
