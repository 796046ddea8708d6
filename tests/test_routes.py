# This file is part of perpetual_inventory.  The COPYRIGHT file at the top
# level of this repository contains the full copyright notices and license
# terms.
import base64

from trytond.modules.company.tests import create_company, set_company
from trytond.pool import Pool
from trytond.protocols.wrappers import HTTPStatus
from trytond.tests.test_tryton import RouteTestCase

EAN = '5412345000013'
BIN = 'LOC-A01'
APP_KEY = 'k' * 32


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
        template = Template(name="Claw Hammer", type='goods',
            default_uom=unit, list_price=10, code='HW0001')
        template.products = [{'identifiers': [{'type': 'ean', 'code': EAN}]}]
        template.save()
        storage, = Location.search([('code', '=', 'STO')])
        Location(name="A-01", code=BIN, type='storage', parent=storage).save()
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
                ('', HTTPStatus.BAD_REQUEST, 'barcode_required', 'Scan'),
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


del RouteTestCase
