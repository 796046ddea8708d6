# This file is part of perpetual_inventory.  The COPYRIGHT file at the top
# level of this repository contains the full copyright notices and license
# terms.
"""The scanner API's machinery: declarations ↔ routes ↔ OpenAPI, the
validation of every request, the error answers, idempotency keys."""
import json

from trytond.pool import Pool
from trytond.protocols.wrappers import HTTPStatus
from trytond.tests import test_tryton
from trytond.tests.test_tryton import DB_NAME, RouteTestCase
from trytond.transaction import Transaction
from trytond.wsgi import app

from ..controllers import schema
from ..controllers.api import API_PREFIX, MAX_BODY, OPERATIONS
from .scanner_setup import (
    EAN, basic, key, new_purchase, run, setup_database)


class ScannerAPITestCase(RouteTestCase):
    "Test the scanner API's machinery"
    module = 'perpetual_inventory'

    @classmethod
    def setUpClass(cls):
        # The set-up meets locks (the chart's singletons): it runs as
        # Tryton runs a request, not in RouteTestCase's one transaction.
        super(test_tryton.RouteTestCase, cls).setUpClass()
        run(setup_database)

    def url(self, path):
        return '/%s/perpetual_inventory/api/v1/%s' % (self.db_name, path)

    def post(self, path, data, login='admin', raw=None, headers=None):
        body = raw if raw is not None else json.dumps(data)
        return self.client().post(self.url(path), data=body,
            headers=dict(basic(login), **{
                    'Content-Type': 'application/json'}, **(headers or {})))

    def purchase(self, lines=(('HW0001', 5, '4.5'),)):
        return {'type': 'purchase', 'id': run(
                lambda: new_purchase(lines).id)}

    def count_scans(self, document):
        "Return the number of scans of the document"
        with Transaction().start(DB_NAME, 1):
            Scan = Pool().get('perpetual_inventory.scanner.scan')
            return Scan.search_count([('document', '=',
                        'purchase.purchase,%d' % document['id'])])

    def test_openapi_covers_every_route(self):
        "Test the OpenAPI document has every route and only them"
        response = self.client().get(self.url('openapi.json'))
        self.assertEqual(response.status_code, HTTPStatus.OK)
        document = response.json
        self.assertEqual(document['openapi'], '3.1.0')
        documented = {(path, method.upper())
            for path, item in document['paths'].items()
            for method in item}
        routes = set()
        for rule in app.url_map.iter_rules():
            if (rule.rule.startswith(API_PREFIX)
                    and '<path:' not in rule.rule
                    and not rule.rule.endswith('openapi.json')):
                for method in rule.methods - {'HEAD', 'OPTIONS'}:
                    routes.add(
                        ('/' + rule.rule[len(API_PREFIX):], method))
        self.assertEqual(documented, routes)
        declared = {('/' + o.route, o.method)
            for o, _ in OPERATIONS.values()}
        self.assertEqual(declared, routes)
        for path, item in document['paths'].items():
            for method, operation in item.items():
                with self.subTest(path=path):
                    self.assertIn('200', operation['responses'])
                    self.assertIn('400', operation['responses'])
                    if method == 'post':
                        body = operation['requestBody']['content'][
                            'application/json']['schema']
                        if 'idempotency_key' in body['properties']:
                            self.assertIn(
                                'idempotency_key', body['required'])

    def test_documented_schema_is_the_validator(self):
        "Test a request against the published schema is refused"
        document = self.client().get(self.url('openapi.json')).json
        body = document['paths']['/receive/scan']['post']['requestBody'][
            'content']['application/json']['schema']
        document_ = self.purchase()
        request = {'idempotency_key': key(), 'document': document_,
            'barcode': EAN}
        for field, value in [
                ('quantity', 0),
                ('quantity', body['properties']['quantity']['maximum'] + 1),
                ('barcode', 'x' * (
                        body['properties']['barcode']['maxLength'] + 1)),
                ('colour', 'red'),
                ]:
            with self.subTest(field=field, value=value):
                self.assertRaises(schema.Invalid, schema.validate, body,
                    dict(request, **{field: value}))
                response = self.post('receive/scan',
                    dict(request, **{field: value}, idempotency_key=key()))
                self.assertEqual(response.status_code, HTTPStatus.BAD_REQUEST)
        self.assertEqual(self.count_scans(document_), 0)

    def test_answers_follow_the_declared_schema(self):
        "Test each answer validates against its declaration"
        document_ = self.purchase()
        for name, answer in [
                ('session', self.client().get(
                        self.url('session'), headers=basic('admin')).json),
                ('lookup', self.client().get(self.url('lookup'),
                        query_string={'barcode': EAN},
                        headers=basic('admin')).json),
                ('receive_scan', self.post('receive/scan', {
                            'idempotency_key': key(), 'document': document_,
                            'barcode': EAN}).json),
                ]:
            with self.subTest(operation=name):
                schema.validate(OPERATIONS[name][0].answer, answer)
        self.assertRaises(schema.Invalid, schema.validate,
            OPERATIONS['lookup'][0].answer, {'type': 'colour'})

    def test_bad_requests(self):
        "Test every kind of bad request gets a 4xx JSON error"
        document_ = self.purchase()
        good = {'idempotency_key': key(), 'document': document_,
            'barcode': EAN}
        cases = [
            ('malformed JSON', None, '{"barcode": ', 400, 'json_malformed',
                'not valid JSON'),
            ('not an object', None, '[1, 2]', 400, 'json_malformed',
                'JSON object'),
            ('not UTF-8', None, b'\xff\xfe', 400, 'json_malformed', 'JSON'),
            ('missing field', {'document': document_, 'barcode': EAN},
                None, 400, 'field_missing', '"idempotency_key"'),
            ('extra field', dict(good, price=1), None, 400,
                'field_unknown', '"price"'),
            ('text for a number', dict(good, quantity='two'), None, 400,
                'field_invalid', 'must be a number'),
            ('true for a number', dict(good, quantity=True), None, 400,
                'field_invalid', 'must be a number'),
            ('negative', dict(good, quantity=-1), None, 400,
                'field_invalid', 'more than 0'),
            ('zero', dict(good, quantity=0), None, 400, 'field_invalid',
                'more than 0'),
            ('absurd', dict(good, quantity=1e12), None, 400,
                'field_invalid', 'cannot be more than'),
            ('text for an id', dict(good, document={
                        'type': 'purchase', 'id': 'x'}), None, 400,
                'field_invalid', 'whole number'),
            ('unknown kind', dict(good, document={
                        'type': 'sale', 'id': 1}), None, 400,
                'field_invalid', 'one of'),
            ('short key', dict(good, idempotency_key='k'), None, 400,
                'field_invalid', 'fewer than 8'),
            ('huge payload', dict(good, barcode='1' * (MAX_BODY + 10)),
                None, 413, 'payload_too_large', 'larger than'),
            ]
        for name, data, raw, status, code, text in cases:
            with self.subTest(case=name):
                response = self.post('receive/scan', data, raw=raw)
                self.assertEqual(response.status_code, status, response.data)
                self.assertEqual(response.content_type, 'application/json')
                error = response.json['error']
                self.assertEqual(error['code'], code)
                self.assertIn(text, error['message'])
        self.assertEqual(self.count_scans(document_), 0)

    def test_unknown_operation_and_method(self):
        "Test an unknown operation or a wrong method answers JSON"
        client = self.client()
        response = client.post(self.url('receive/teleport'),
            headers=basic('admin'))
        self.assertEqual(response.status_code, HTTPStatus.NOT_FOUND)
        self.assertEqual(response.json['error']['code'], 'operation_unknown')
        self.assertIn('receive/teleport', response.json['error']['message'])
        response = client.post(self.url('lookup'), headers=basic('admin'))
        self.assertEqual(
            response.status_code, HTTPStatus.METHOD_NOT_ALLOWED)
        self.assertIn('GET', response.json['error']['message'])

    def test_sql_and_html_are_text(self):
        "Test SQL or HTML in a field is looked up as text, nothing more"
        for barcode in ["' OR 1=1; DROP TABLE product_product; --",
                '<script>alert(1)</script>']:
            with self.subTest(barcode=barcode):
                response = self.client().get(self.url('lookup'),
                    query_string={'barcode': barcode},
                    headers=basic('admin'))
                self.assertEqual(response.status_code, HTTPStatus.NOT_FOUND)
                self.assertIn(barcode, response.json['error']['message'])
                self.assertEqual(response.content_type, 'application/json')
        response = self.client().get(self.url('lookup'),
            query_string={'barcode': EAN}, headers=basic('admin'))
        self.assertEqual(response.status_code, HTTPStatus.OK)

    def test_no_rights(self):
        "Test a user outside the scanner group changes nothing"
        document_ = self.purchase()
        response = self.post('receive/scan', {'idempotency_key': key(),
                'document': document_, 'barcode': EAN}, login='nobody')
        self.assertEqual(response.status_code, HTTPStatus.FORBIDDEN)
        self.assertEqual(self.count_scans(document_), 0)

    def test_replay_returns_the_first_answer(self):
        "Test a replayed key answers the stored answer and counts once"
        document_ = self.purchase()
        request = {'idempotency_key': key(), 'document': document_,
            'barcode': EAN, 'quantity': 2}
        first = self.post('receive/scan', request)
        self.assertEqual(first.status_code, HTTPStatus.OK, first.data)
        self.assertEqual(first.json['line']['counted'], 2)
        second = self.post('receive/scan', request)
        self.assertEqual(second.status_code, HTTPStatus.OK)
        self.assertEqual(second.json, first.json)
        self.assertEqual(self.count_scans(document_), 1)
        # The same key with another body is refused
        other = self.post('receive/scan', dict(request, quantity=3))
        self.assertEqual(
            other.status_code, HTTPStatus.UNPROCESSABLE_ENTITY)
        self.assertEqual(
            other.json['error']['code'], 'idempotency_key_reused')
        self.assertEqual(self.count_scans(document_), 1)
        # Another user's same key is their own
        third = self.post('receive/scan', request, login='stocker')
        self.assertEqual(third.status_code, HTTPStatus.OK, third.data)
        self.assertEqual(third.json['line']['counted'], 4)

    def test_refused_scan_can_be_sent_again(self):
        "Test a refused request stores nothing: its key stays free"
        document_ = self.purchase()
        request = {'idempotency_key': key(), 'document': document_,
            'barcode': EAN, 'quantity': 50}
        response = self.post('receive/scan', request)
        self.assertEqual(response.status_code, HTTPStatus.CONFLICT)
        self.assertEqual(response.json['error']['code'], 'over_ordered')
        response = self.post('receive/scan', dict(request, quantity=5))
        self.assertEqual(response.status_code, HTTPStatus.OK, response.data)
        with Transaction().start(DB_NAME, 1):
            Request = Pool().get('perpetual_inventory.scanner.request')
            requests = Request.search(
                [('key', '=', request['idempotency_key'])])
            self.assertEqual(len(requests), 1)
            self.assertEqual(requests[0].status, 200)


del RouteTestCase
