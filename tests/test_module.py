# This file is part of perpetual_inventory.  The COPYRIGHT file at the top
# level of this repository contains the full copyright notices and license
# terms.
from trytond.modules.company.tests import CompanyTestMixin
from trytond.pool import Pool
from trytond.tests.test_tryton import ModuleTestCase, with_transaction


class PerpetualInventoryTestCase(CompanyTestMixin, ModuleTestCase):
    "Test Perpetual Inventory module"
    module = 'perpetual_inventory'

    @with_transaction()
    def test_scanner_application_key(self):
        "Test the scanner is a user application"
        pool = Pool()
        UserApplication = pool.get('res.user.application')
        self.assertIn(
            'perpetual_inventory',
            dict(UserApplication.application.selection))


del ModuleTestCase
