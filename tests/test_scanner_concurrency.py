# This file is part of perpetual_inventory.  The COPYRIGHT file at the top
# level of this repository contains the full copyright notices and license
# terms.
"""Scans at the same time: the same idempotency key twice, two scanners on
one document.

PostgreSQL only: SQLite has one writer at a time, so nothing races. The
test suite runs it in its PostgreSQL pass (./run test).
"""
import json
import threading
import time
import unittest

from trytond import backend
from trytond.pool import Pool
from trytond.protocols.wrappers import HTTPStatus
from trytond.tests import test_tryton
from trytond.tests.test_tryton import DB_NAME, RouteTestCase
from trytond.transaction import Transaction

from .scanner_setup import (
    BIN, EAN, basic, key, new_purchase, new_shipment, run, setup_database,
    stock_bins)


def together(*funcs):
    "Return the results of funcs run each in its own thread at once"
    results = [None] * len(funcs)

    def call(i, func):
        try:
            results[i] = func()
        except Exception as exception:  # reported by the caller
            results[i] = exception
    threads = [threading.Thread(target=call, args=(i, f))
        for i, f in enumerate(funcs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    return results


class ScannerConcurrencyTestCase(RouteTestCase):
    "Test concurrent scans on PostgreSQL"
    module = 'perpetual_inventory'

    @classmethod
    def setUpClass(cls):
        super(test_tryton.RouteTestCase, cls).setUpClass()
        run(setup_database)
        run(stock_bins)

    def url(self, path):
        return '/%s/perpetual_inventory/api/v1/%s' % (self.db_name, path)

    def post(self, path, data, login='admin'):
        return self.client().post(self.url(path), data=json.dumps(data),
            headers=dict(basic(login), **{
                    'Content-Type': 'application/json'}))

    def purchase(self, quantity=10):
        return {'type': 'purchase', 'id': run(
                lambda: new_purchase([('HW0001', quantity, '4.5')]).id)}

    def scans(self, document):
        with Transaction().start(DB_NAME, 1):
            Scan = Pool().get('perpetual_inventory.scanner.scan')
            return [(s.quantity, s.state) for s in Scan.search([
                        ('document', '=',
                            'purchase.purchase,%d' % document['id'])])]

    def test_same_key_claimed_at_once(self):
        "Test two transactions claiming one key: the constraint decides"
        barrier = threading.Barrier(2)
        the_key = key()

        def claim():
            with Transaction().start(DB_NAME, 1) as transaction:
                Request = Pool().get('perpetual_inventory.scanner.request')
                barrier.wait(timeout=30)
                try:
                    request = Request.claim('receive_scan', the_key, 'abc')
                except Request.Taken:
                    return 'taken'
                # holds the key uncommitted while the other one inserts
                time.sleep(0.5)
                Request.store(request, 200, {'counted': 1})
                transaction.commit()
                return 'claimed'
        results = together(claim, claim)
        self.assertEqual(sorted(map(str, results)), ['claimed', 'taken'])
        with Transaction().start(DB_NAME, 1):
            Request = Pool().get('perpetual_inventory.scanner.request')
            request = Request.claim('receive_scan', the_key, 'abc')
            self.assertEqual(json.loads(request.answer), {'counted': 1})

    def test_same_scan_sent_twice_at_once(self):
        "Test a scan sent by two processes at once counts once"
        document = self.purchase()
        data = {'idempotency_key': key(), 'document': document,
            'barcode': EAN, 'quantity': 2}
        results = together(
            lambda: self.post('receive/scan', data),
            lambda: self.post('receive/scan', data))
        for response in results:
            self.assertNotIsInstance(response, Exception)
            self.assertEqual(
                response.status_code, HTTPStatus.OK, response.data)
        self.assertEqual(results[0].json, results[1].json)
        self.assertEqual(self.scans(document), [(2, 'open')])

    def test_two_scanners_on_one_document(self):
        "Test many scans of two scanners on one document all count"
        document = self.purchase(quantity=20)

        def scanner(login):
            def scan():
                statuses = []
                for _ in range(5):
                    response = self.post('receive/scan', {
                            'idempotency_key': key(), 'document': document,
                            'barcode': EAN}, login=login)
                    statuses.append(response.status_code)
                    if response.status_code != HTTPStatus.OK:
                        statuses.append(response.data)
                return statuses
            return scan
        results = together(scanner('admin'), scanner('stocker'))
        self.assertEqual(results, [[HTTPStatus.OK] * 5] * 2)
        self.assertEqual(self.scans(document), [(1, 'open')] * 10)
        opened = self.client().get(self.url('receive/open'),
            query_string={'barcode': run(
                    lambda: Pool().get('purchase.purchase')(
                        document['id']).number)},
            headers=basic('admin'))
        self.assertEqual(opened.json['lines'][0]['counted'], 10)

    def scanners(self, path, parameters):
        "Return the statuses of 5 scans by each of two scanners at once"
        def scanner(login):
            def scan():
                statuses = []
                for _ in range(5):
                    response = self.post(path, dict(parameters,
                            idempotency_key=key()), login=login)
                    statuses.append(response.status_code)
                    if response.status_code != HTTPStatus.OK:
                        statuses.append(response.data)
                return statuses
            return scan
        return together(scanner('admin'), scanner('stocker'))

    def test_two_pickers_on_one_shipment(self):
        "Test two scanners picking one shipment: every scan counts"
        number, id_ = run(new_shipment, [('HW0001', 8)])
        document = {'type': 'shipment_out', 'id': id_}
        opened = self.post('pick/open', {'idempotency_key': key(),
                'barcode': number})
        self.assertEqual(opened.json['document']['state'], 'assigned')
        # 10 scans for 8 to pick: the last two over, confirmed
        results = self.scanners('pick/scan', {'document': document,
                'barcode': EAN, 'confirm': True})
        self.assertEqual(results, [[HTTPStatus.OK] * 5] * 2)
        undone = self.post('pick/undo', {'idempotency_key': key(),
                'document': document})
        self.assertEqual(
            sum(l['counted'] for l in undone.json['lines']), 9)

    def test_two_counters_on_one_bin(self):
        "Test two scanners counting one bin: every scan counts"
        opened = self.client().get(self.url('count/open'),
            query_string={'barcode': BIN}, headers=basic('admin')).json
        location = {'type': 'location', 'id': opened['location']['id']}
        results = self.scanners('count/scan', {'location': location,
                'barcode': EAN})
        self.assertEqual(results, [[HTTPStatus.OK] * 5] * 2)
        counted = self.client().get(self.url('count/open'),
            query_string={'barcode': BIN}, headers=basic('admin')).json
        self.assertEqual({l['product']: l['counted']
                for l in counted['lines']}['HW0001'], 10)

    def test_scan_waits_for_a_locked_document(self):
        "Test a scan on a document locked for a while waits, then counts"
        document = self.purchase()
        locked = threading.Event()

        def hold():
            with Transaction().start(DB_NAME, 1) as transaction:
                cursor = transaction.connection.cursor()
                cursor.execute('SELECT id FROM purchase_purchase '
                    'WHERE id = %s FOR UPDATE', (document['id'],))
                locked.set()
                # longer than Tryton's own retries of the lock
                time.sleep(2)
                transaction.commit()
            return 'released'

        def scan():
            locked.wait(30)
            return self.post('receive/scan', {'idempotency_key': key(),
                    'document': document, 'barcode': EAN})
        released, response = together(hold, scan)
        self.assertEqual(released, 'released')
        self.assertNotIsInstance(response, Exception)
        self.assertEqual(response.status_code, HTTPStatus.OK, response.data)
        self.assertEqual(self.scans(document), [(1, 'open')])


del RouteTestCase


def load_tests(loader, tests, pattern):
    suite = unittest.TestSuite()
    if backend.name == 'postgresql':
        suite.addTests(loader.loadTestsFromTestCase(
                ScannerConcurrencyTestCase))
    return suite
