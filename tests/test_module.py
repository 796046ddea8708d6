# This file is part of perpetual_inventory.  The COPYRIGHT file at the top
# level of this repository contains the full copyright notices and license
# terms.
from lxml import etree

from trytond.modules.company.tests import CompanyTestMixin
from trytond.pool import Pool
from trytond.tests.test_tryton import ModuleTestCase, with_transaction

# The list columns of sao 8.0 (Sao.View.TreeXMLViewParser.WIDGETS): a list
# with a field of another type (datetime, timestamp) never opens; Tryton's
# own lists show such a field twice, with widget="date" and widget="time".
SAO_LIST_WIDGETS = {
    'binary', 'boolean', 'callto', 'char', 'date', 'dict', 'email', 'float',
    'image', 'integer', 'many2many', 'many2one', 'numeric', 'one2many',
    'one2one', 'progressbar', 'reference', 'selection', 'multiselection',
    'sip', 'text', 'time', 'timedelta', 'url'}


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
    def test_list_columns_drawable(self):
        "Test every column of the module's lists is one sao 8.0 can draw"
        pool = Pool()
        View = pool.get('ir.ui.view')
        found = []
        # The lists the module adds or extends: Tryton's own lists are not
        # ours to mend.
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
            for element in etree.fromstring(arch['arch']).iter('field'):
                field = arch['fields'][element.get('name')]
                widget = element.get('widget') or field['type']
                if widget not in SAO_LIST_WIDGETS:
                    found.append('%s (%s): %s as %s' % (
                            view.model, view.name, element.get('name'),
                            widget))
        self.assertEqual(found, [])

del ModuleTestCase
