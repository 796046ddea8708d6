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

    @with_transaction()
    def test_no_timestamp_in_list_views(self):
        "Test no list view shows a Timestamp field (sao 8.0 cannot)"
        pool = Pool()
        View = pool.get('ir.ui.view')
        found = []
        # The lists the module adds or extends: Tryton's own ir.error and
        # ir.model.log lists show create_date and are not ours to mend.
        views = View.search([
                ('type', '=', 'tree'),
                ['OR',
                    ('module', '=', self.module),
                    ('extensions.module', '=', self.module),
                    ],
                ])
        self.assertTrue(views)
        for view in views:
            Model = pool.get(view.model)
            arch = Model.fields_view_get(view.id, 'tree')
            for name, field in arch['fields'].items():
                if field['type'] == 'timestamp':
                    found.append('%s (%s): %s' % (
                            view.model, view.name, name))
        self.assertEqual(found, [])

del ModuleTestCase
