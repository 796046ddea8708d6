#!/usr/bin/env python3
# This file is part of perpetual_inventory.  The COPYRIGHT file at the top
# level of this repository contains the full copyright notices and license
# terms.
"""Benchmark: a receive scan through the scanner API vs plain JSON-RPC.

One database (the tests' set-up: a company with continental stock
accounting, goods, a supplier), one purchase being processed. In the same
run, alternating chunks so that the load of a shared machine hits both
alike, in-process through Tryton's WSGI application (werkzeug's test
client, one request = one transaction):

- api: ``POST api/v1/receive/scan`` (validation, idempotency key, the
  purchase's lock, the barcode's look-up, the scan logged, the counts of
  the answer);
- rpc: ``model.perpetual_inventory.scanner.scan.create`` through
  ``POST /<db>/rpc/``: the record the scan writes, with Tryton's access
  checks and nothing else: the floor any scan through Tryton pays.

Both authenticate with a Tryton session (``Authorization: Session``).
Printed: scans/s, p50 and p99 latency of each, and the ratio api/rpc.
A single process: the figures of two server processes on PostgreSQL are
not measured here.

Usage (the environment of the tests)::

    TEST_NETWORK=0 DB_NAME=':memory:' DB_CACHE=/tmp/bench-scanner \\
        .venv/bin/python bench/scanner.py --scans 200
    TRYTOND_DATABASE__URI=postgresql://postgres@127.0.0.1:5432/ \\
        DB_NAME=bench_scanner .venv/bin/python bench/scanner.py
"""
import argparse
import base64
import json
import statistics
import time
import uuid

from trytond.pool import Pool
from trytond.protocols.wrappers import Response
from trytond.tests.test_tryton import DB_NAME, activate_module
from trytond.wsgi import app
from werkzeug.test import Client

HEADERS = {'Content-Type': 'application/json'}


def _login(client):
    "Authenticate the next calls with a Tryton session"
    response = client.post('/%s/rpc/' % DB_NAME, data=json.dumps({
                'id': 0, 'method': 'common.db.login',
                'params': ['admin', {'password': 'password'}, 'en']}),
        headers=HEADERS)
    user_id, session = response.json['result'][:2]
    # A session, not Basic: Basic hashes the password on every call.
    HEADERS['Authorization'] = 'Session ' + base64.b64encode(
        ('admin:%s:%s' % (user_id, session)).encode()).decode()


def _setup():
    from trytond.modules.perpetual_inventory.tests.scanner_setup import (
        new_purchase, run, setup_database)
    activate_module(['perpetual_inventory'])
    company = run(setup_database)

    def purchase():
        purchase = new_purchase([('HW0001', 1000000, '4.5')])
        product, = Pool().get('product.product').search(
            [('code', '=', 'HW0001')])
        return purchase.id, product.id
    purchase_id, product_id = run(purchase)
    return company, purchase_id, product_id


def _api(client, purchase_id):
    body = {'idempotency_key': str(uuid.uuid4()),
        'document': {'type': 'purchase', 'id': purchase_id},
        'barcode': '5412345000013'}
    response = client.post(
        '/%s/perpetual_inventory/api/v1/receive/scan' % DB_NAME,
        data=json.dumps(body), headers=HEADERS)
    assert response.status_code == 200, response.data


def _rpc(client, purchase_id, product_id, company):
    body = {'id': 1, 'method': 'model.perpetual_inventory.scanner.scan.create',
        'params': [[{
                    'document': 'purchase.purchase,%d' % purchase_id,
                    'operation': 'receive', 'product': product_id,
                    'quantity': 1, 'barcode': '5412345000013'}],
            {'company': company}]}
    response = client.post('/%s/rpc/' % DB_NAME, data=json.dumps(body),
        headers=HEADERS)
    assert 'result' in response.get_data(as_text=True), response.data


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--scans', type=int, default=200)
    parser.add_argument('--chunk', type=int, default=20)
    parser.add_argument('--warmup', type=int, default=10)
    args = parser.parse_args()
    company, purchase_id, product_id = _setup()
    client = Client(app, Response)
    _login(client)
    calls = {
        'api': lambda: _api(client, purchase_id),
        'rpc': lambda: _rpc(client, purchase_id, product_id, company),
        }
    for call in calls.values():
        for _ in range(args.warmup):
            call()
    timings = {name: [] for name in calls}
    while len(timings['api']) < args.scans:
        for name, call in calls.items():
            for _ in range(args.chunk):
                start = time.perf_counter()
                call()
                timings[name].append(time.perf_counter() - start)
    for name, values in timings.items():
        values.sort()
        print("%s: %d scans, %.1f scans/s, p50 %.1f ms, p99 %.1f ms" % (
                name, len(values), len(values) / sum(values),
                1000 * statistics.median(values),
                1000 * values[int(0.99 * (len(values) - 1))]))
    ratio = (statistics.median(timings['api'])
        / statistics.median(timings['rpc']))
    print("ratio api/rpc (p50): %.2f" % ratio)


if __name__ == '__main__':
    main()
