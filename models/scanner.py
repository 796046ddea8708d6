# This file is part of perpetual_inventory.  The COPYRIGHT file at the top
# level of this repository contains the full copyright notices and license
# terms.
import datetime as dt

from trytond.model import Model
from trytond.pool import Pool
from trytond.transaction import Transaction


class Scanner(Model):
    "Perpetual Inventory Scanner"
    __name__ = 'perpetual_inventory.scanner'

    @classmethod
    def lookup(cls, barcode):
        """Return what the barcode identifies as a dict, or None.

        A product is found by an identifier (EAN, UPC, ...) or its code, a
        location by its code. Costs are never part of the answer.
        """
        pool = Pool()
        Product = pool.get('product.product')
        Location = pool.get('stock.location')

        products = Product.search([
                ['OR',
                    ('identifiers.code', '=', barcode),
                    ('code', '=', barcode),
                    ],
                ('type', 'in', ['goods', 'assets']),
                ], limit=2)
        if len(products) == 1:
            product, = products
            return {
                'type': 'product',
                'product': cls._product_values(product),
                'stock': cls._product_stock(product),
                }
        locations = Location.search([('code', '=', barcode)], limit=2)
        if len(locations) == 1:
            location, = locations
            return {
                'type': 'location',
                'location': {
                    'id': location.id,
                    'code': location.code,
                    'name': location.rec_name,
                    'kind': location.type,
                    'warehouse': (
                        location.warehouse.rec_name
                        if location.warehouse else None),
                    },
                }

    @classmethod
    def _product_values(cls, product):
        "Return the public values of a product"
        barcodes = [i.code for i in product.identifiers
            if i.type in {'ean', 'upc'}]
        return {
            'id': product.id,
            'code': product.code,
            'name': product.rec_name,
            'barcodes': barcodes,
            'unit': product.default_uom.symbol,
            }

    @classmethod
    def _product_stock(cls, product):
        "Return the quantity on hand per storage location of each warehouse"
        pool = Pool()
        Location = pool.get('stock.location')
        Product = pool.get('product.product')
        warehouses = Location.search([('type', '=', 'warehouse')])
        storages = {w.storage_location.id: w for w in warehouses
            if w.storage_location}
        if not storages:
            return []
        with Transaction().set_context(
                stock_date_end=dt.date.today(), with_childs=True):
            quantities = Product.products_by_location(
                list(storages), with_childs=True,
                grouping_filter=([product.id],))
        return [{
                'warehouse': storages[location_id].rec_name,
                'location': Location(location_id).rec_name,
                'quantity': quantities.get((location_id, product.id), 0),
                }
            for location_id in storages]
