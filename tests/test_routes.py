# This file is part of perpetual_inventory.  The COPYRIGHT file at the top
# level of this repository contains the full copyright notices and license
# terms.
import base64
import json
from decimal import Decimal

from trytond.modules.company.tests import create_company, set_company
from trytond.pool import Pool
from trytond.protocols.wrappers import HTTPStatus
from trytond.tests.test_tryton import RouteTestCase
from trytond.transaction import Transaction

EAN = '5412345000013'
BIN = 'LOC-A01'
APP_KEY = 'k' * 32
COST = Decimal('23.8237')
# The cost and value fields only "Stock Valuation" and accounting may read
COST_FIELDS = [
    ('product.template', 'cost_price'),
    ('product.template', 'cost_value'),
    ('product.product', 'cost_price'),
    ('product.product', 'cost_value'),
    ('stock.location', 'cost_value'),
    ('stock.move', 'unit_price'),
    ('stock.move', 'cost_price'),
    ('stock.move', 'product_cost_price'),
    ('perpetual_inventory.tuning.log', 'unit_cost'),
    ('perpetual_inventory.order_point.alert', 'value'),
    ]


def basic(login, password):
    return {'Authorization': 'Basic ' + base64.b64encode(
            ('%s:%s' % (login, password)).encode()).decode()}


class ScannerRouteTestCase(RouteTestCase):
    "Test the scanner routes"
    module = 'perpetual_inventory'

    @classmethod
    def setUpDatabase(cls):
        pool = Pool()
        User = pool.get('res.user')

        admin, = User.search([('login', '=', 'admin')])
        admin.password = 'password'
        admin.save()
        clerk = User(login='clerk', name="Clerk", password='password')
        clerk.save()
        company = create_company()
        with set_company(company):
            cls._setup_data()
        cls._setup_users(company)

    @classmethod
    def _setup_users(cls, company):
        "Create the users of the README's set-up and a Stock user"
        pool = Pool()
        User = pool.get('res.user')
        ModelData = pool.get('ir.model.data')
        scanner = ModelData.get_id(
            'perpetual_inventory', 'group_warehouse_scanner')
        stock = ModelData.get_id('stock', 'group_stock')
        for login, groups in [
                ('scanner', [scanner]),
                ('stocker', [stock, scanner]),
                ('nobody', []),
                ]:
            User(login=login, name=login.title(), password='password',
                companies=[company], company=company,
                groups=groups).save()

    @classmethod
    def _setup_data(cls):
        pool = Pool()
        User = pool.get('res.user')
        Template = pool.get('product.template')
        Uom = pool.get('product.uom')
        Location = pool.get('stock.location')
        Application = pool.get('res.user.application')
        admin, = User.search([('login', '=', 'admin')])
        unit, = Uom.search([('name', '=', 'Unit')])
        Move = pool.get('stock.move')
        template = Template(name="Claw Hammer", type='goods',
            default_uom=unit, list_price=10, code='HW0001')
        template.products = [{'identifiers': [{'type': 'ean', 'code': EAN}],
                'cost_price': COST}]
        template.save()
        product, = template.products
        storage, = Location.search([('code', '=', 'STO')])
        supplier, = Location.search([('code', '=', 'SUP')])
        Location(name="A-01", code=BIN, type='storage', parent=storage).save()
        company = Pool().get('company.company')(
            Transaction().context['company'])
        Move(product=product, unit=unit, quantity=5, from_location=supplier,
            to_location=storage, unit_price=COST, cost_price=COST,
            currency=company.currency, company=company).save()
        Application(key=APP_KEY, user=admin,
            application='perpetual_inventory', state='validated').save()

    def url(self, path):
        return '/%s/perpetual_inventory/%s' % (self.db_name, path)

    def test_page_is_public(self):
        "Test the page is served without data to anyone"
        response = self.client().get(self.url('scanner'))
        self.assertEqual(response.status_code, HTTPStatus.OK)
        self.assertIn(b'Scan a barcode', response.data)
        self.assertTrue(response.content_type.startswith('text/html'))

    def test_static_files_whitelisted(self):
        "Test only the files of the page are served"
        client = self.client()
        response = client.get(self.url('static/scanner.js'))
        self.assertEqual(response.status_code, HTTPStatus.OK)
        for name in ['tryton.cfg', 'missing.js']:
            response = client.get(self.url('static/' + name))
            self.assertEqual(response.status_code, HTTPStatus.NOT_FOUND)
        response = client.get(self.url('static/..%2Ftryton.cfg'))
        self.assertNotEqual(response.status_code, HTTPStatus.OK)
        self.assertNotIn(b'[tryton]', response.data)

    def test_api_requires_authentication(self):
        "Test the API answers 401 in JSON without credentials"
        client = self.client()
        for path in ['api/v1/session', 'api/v1/lookup?barcode=' + EAN]:
            response = client.get(self.url(path), headers={
                    'X-Requested-With': 'XMLHttpRequest'})
            self.assertEqual(response.status_code, HTTPStatus.UNAUTHORIZED)
            self.assertEqual(response.json['error']['code'], 'unauthorized')

    def test_wrong_password(self):
        "Test a wrong password is refused"
        response = self.client().get(
            self.url('api/v1/session'), headers=basic('admin', 'wrong'))
        self.assertEqual(response.status_code, HTTPStatus.UNAUTHORIZED)

    def test_session(self):
        "Test the session tells who is logged in"
        response = self.client().get(
            self.url('api/v1/session'), headers=basic('admin', 'password'))
        self.assertEqual(response.status_code, HTTPStatus.OK)
        self.assertEqual(response.json['user']['login'], 'admin')

    def test_user_outside_group(self):
        "Test a user outside the scanner group is refused"
        response = self.client().get(
            self.url('api/v1/session'), headers=basic('clerk', 'password'))
        self.assertEqual(response.status_code, HTTPStatus.FORBIDDEN)
        self.assertIn('Perpetual Inventory Scanner',
            response.json['error']['message'])

    def test_application_key(self):
        "Test a device authenticates with a user application key"
        client = self.client()
        response = client.get(self.url('api/v1/session'),
            headers={'Authorization': 'Bearer ' + APP_KEY})
        self.assertEqual(response.status_code, HTTPStatus.OK)
        self.assertEqual(response.json['user']['login'], 'admin')
        response = client.get(self.url('api/v1/session'),
            headers={'Authorization': 'Bearer ' + 'x' * 32})
        self.assertEqual(response.status_code, HTTPStatus.UNAUTHORIZED)

    def test_lookup_product(self):
        "Test scanning an EAN-13 finds the product without its cost"
        response = self.client().get(
            self.url('api/v1/lookup'), query_string={'barcode': EAN},
            headers=basic('admin', 'password'))
        self.assertEqual(response.status_code, HTTPStatus.OK)
        data = response.json
        self.assertEqual(data['type'], 'product')
        self.assertEqual(data['product']['code'], 'HW0001')
        self.assertEqual(data['product']['barcodes'], [EAN])
        self.assertNotIn('cost', str(data).lower())
        self.assertEqual(data['stock'][0]['quantity'], 0)

    def test_lookup_location(self):
        "Test scanning a bin finds the location"
        response = self.client().get(
            self.url('api/v1/lookup'), query_string={'barcode': BIN},
            headers=basic('admin', 'password'))
        self.assertEqual(response.status_code, HTTPStatus.OK)
        self.assertEqual(response.json['type'], 'location')
        self.assertEqual(response.json['location']['code'], BIN)

    def test_lookup_bad_input(self):
        "Test bad barcodes get a clear error"
        client = self.client()
        for barcode, status, code, text in [
                ('', HTTPStatus.BAD_REQUEST, 'field_missing', 'barcode'),
                (EAN[:-1] + '9', HTTPStatus.UNPROCESSABLE_ENTITY,
                    'barcode_invalid', 'check digit'),
                ('4006381333931', HTTPStatus.NOT_FOUND, 'barcode_unknown',
                    '4006381333931'),
                ]:
            with self.subTest(barcode=barcode):
                response = client.get(
                    self.url('api/v1/lookup'),
                    query_string={'barcode': barcode},
                    headers=basic('admin', 'password'))
                self.assertEqual(response.status_code, status)
                self.assertEqual(response.json['error']['code'], code)
                self.assertIn(text, response.json['error']['message'])

    def rpc(self, login, method, *params):
        "Return the JSON-RPC answer of method called by login"
        response = self.client().post('/%s/rpc/' % self.db_name,
            data=json.dumps({'id': 1, 'method': method, 'params': params}),
            headers=dict(basic(login, 'password'),
                **{'Content-Type': 'application/json'}))
        return response.get_data(as_text=True)

    def test_scanner_only_user(self):
        "Test the scanner works for a user in its group only (the README)"
        client = self.client()
        for barcode, kind in [(EAN, 'product'), (BIN, 'location')]:
            with self.subTest(barcode=barcode):
                response = client.get(
                    self.url('api/v1/lookup'),
                    query_string={'barcode': barcode},
                    headers=basic('scanner', 'password'))
                self.assertEqual(response.content_type, 'application/json')
                self.assertEqual(
                    response.status_code, HTTPStatus.OK, response.data)
                self.assertEqual(response.json['type'], kind)
        response = client.get(self.url('api/v1/lookup'),
            query_string={'barcode': EAN},
            headers=basic('scanner', 'password'))
        self.assertEqual(response.json['stock'][0]['quantity'], 0)

    def test_scanner_answers_no_cost(self):
        "Test the scanner answers no cost, whoever asks"
        for login in ['scanner', 'stocker', 'admin']:
            with self.subTest(login=login):
                response = self.client().get(
                    self.url('api/v1/lookup'),
                    query_string={'barcode': EAN},
                    headers=basic(login, 'password'))
                self.assertEqual(response.status_code, HTTPStatus.OK)
                self.assertNotIn('cost', response.get_data(as_text=True))
                self.assertNotIn(str(COST), response.get_data(as_text=True))

    def test_rpc_costs_private(self):
        "Test no cost is read through JSON-RPC outside Stock Valuation"
        company = self.company_id()
        context = {'company': company}
        product = self.product_id()
        move = self.move_id()
        # The check can fail: a Stock Valuation user reads the cost
        answer = self.rpc('admin', 'model.product.product.read',
            [product], ['cost_price'], context)
        self.assertIn(str(COST), answer)
        answer = self.rpc('admin', 'model.stock.move.read',
            [move], ['unit_price'], context)
        self.assertIn(str(COST), answer)
        records = {'product.product': product, 'stock.move': move}
        for login in ['nobody', 'stocker', 'scanner']:
            for model, field in COST_FIELDS:
                if model not in records:
                    continue
                with self.subTest(login=login, model=model, field=field):
                    answer = self.rpc(login, 'model.%s.read' % model,
                        [records[model]], [field], context)
                    self.assertNotIn(str(COST), answer)
                    self.assertNotIn('"result"', answer)

    def test_views_show_no_cost(self):
        "Test the lists and forms of a Stock user show no cost or value"
        for login in ['stocker', 'scanner']:
            for model, field in COST_FIELDS:
                for view_type in ['tree', 'form']:
                    with self.subTest(
                            login=login, model=model, view=view_type):
                        answer = json.loads(self.rpc(login,
                                'model.%s.fields_view_get' % model,
                                None, view_type, {}))
                        self.assertIn('result', answer)
                        self.assertNotIn(field, answer['result']['fields'])
                        self.assertNotIn(
                            'name="%s"' % field, answer['result']['arch'])
        # The check can fail: the Stock Valuation user sees the cost
        answer = json.loads(self.rpc('admin',
                'model.product.product.fields_view_get', None, 'tree', {}))
        self.assertIn('cost_price', answer['result']['fields'])

    def company_id(self):
        return self._search_id('company.company', [])

    def product_id(self):
        return self._search_id('product.product', [('code', '=', 'HW0001')])

    def move_id(self):
        return self._search_id('stock.move', [])

    def _search_id(self, model, domain):
        answer = json.loads(self.rpc(
                'admin', 'model.%s.search' % model, domain, 0, 1, None, {}))
        return answer['result'][0]


del RouteTestCase
