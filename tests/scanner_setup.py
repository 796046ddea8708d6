# This file is part of perpetual_inventory.  The COPYRIGHT file at the top
# level of this repository contains the full copyright notices and license
# terms.
"""The data of the scanner's tests: a company with continental stock
accounting, goods with barcodes, a supplier, users, purchases to receive.

Functions run inside a transaction the caller opened.
"""
import base64
import datetime as dt
import uuid
from decimal import Decimal

from trytond.modules.account.tests import create_chart, get_fiscalyear
from trytond.modules.company.tests import create_company, set_company
from trytond.pool import Pool
from trytond.tests.test_tryton import DB_NAME
from trytond.transaction import Transaction, TransactionError

EAN = '5412345000013'
EAN_2 = '5412345000020'
EAN_3 = '5412345000037'  # a product never ordered
BIN = 'LOC-A01'
BIN_2 = 'LOC-A02'
PASSWORD = 'password'


def basic(login, password=PASSWORD):
    return {'Authorization': 'Basic ' + base64.b64encode(
            ('%s:%s' % (login, password)).encode()).decode()}


def key():
    return str(uuid.uuid4())


def run(func, *args, user=1):
    """Return func(*args) run and committed in its own transaction.

    A lock met on the way (Model.lock) starts again with the lock taken at
    the start, as Tryton's dispatcher does.
    """
    extras = {}
    while True:
        with Transaction().start(DB_NAME, user, **extras) as transaction:
            try:
                result = func(*args)
            except TransactionError as exception:
                transaction.rollback()
                exception.fix(extras)
                continue
            transaction.commit()
            return result


def setup_database():
    "Create the company, its books, goods, supplier and users"
    pool = Pool()
    User = pool.get('res.user')
    admin, = User.search([('login', '=', 'admin')])
    admin.password = PASSWORD
    admin.save()
    company = create_company()
    with set_company(company):
        _setup_accounting(company)
        _setup_goods(company)
    _setup_users(company)
    admin = User(admin.id)
    admin.companies = [company]
    admin.company = company
    admin.save()
    return company.id


def _setup_accounting(company):
    pool = Pool()
    Account = pool.get('account.account')
    SequenceStrict = pool.get('ir.sequence.strict')
    SequenceType = pool.get('ir.sequence.type')
    InvoiceSequence = pool.get('account.fiscalyear.invoice_sequence')
    create_chart(company)
    fiscalyear = get_fiscalyear(company)
    fiscalyear.account_stock_method = 'continental'
    invoice_type, = SequenceType.search([('name', '=', "Invoice")], limit=1)
    sequence = SequenceStrict(name="Invoices", sequence_type=invoice_type,
        company=company)
    sequence.save()
    fiscalyear.invoice_sequences = [InvoiceSequence(company=company,
            out_invoice_sequence=sequence, in_invoice_sequence=sequence,
            out_credit_note_sequence=sequence,
            in_credit_note_sequence=sequence)]
    fiscalyear.save()
    fiscalyear.create_period([fiscalyear])
    stock_type, = Account.search([('code', '=', '5.1.5')])
    expense, = Account.search([('code', '=', '5.1.1')])
    Account.save([
            Account(name="GRNI", code='GRNI', parent=stock_type.parent,
                type=stock_type.type),
            Account(name="COGS", code='COGS', parent=expense.parent,
                type=expense.type)])


def _account(code):
    Account = Pool().get('account.account')
    account, = Account.search([('code', '=', code)])
    return account


def _setup_goods(company):
    pool = Pool()
    Category = pool.get('product.category')
    Template = pool.get('product.template')
    Uom = pool.get('product.uom')
    Location = pool.get('stock.location')
    Party = pool.get('party.party')
    category = Category(name="Goods", accounting=True,
        account_expense=_account('5.1.1'), account_revenue=_account('4.1.1'),
        account_stock=_account('1.3.1'), account_stock_in=_account('GRNI'),
        account_stock_out=_account('5.1.5'), account_cogs=_account('COGS'),
        account_stock_over_short=_account('5.1.1'),
        account_price_variance=_account('5.1.1'))
    category.save()
    unit, = Uom.search([('name', '=', 'Unit')])
    for code, name, ean in [
            ('HW0001', "Claw Hammer", EAN),
            ('HW0002', "Box of Screws", EAN_2),
            ('HW0003', "Tape Measure", EAN_3),
            ]:
        template = Template(name=name, type='goods', default_uom=unit,
            list_price=Decimal(10), code=code, purchasable=True,
            purchase_uom=unit, account_category=category,
            cost_price_method='average')
        template.products = [{'identifiers': [{'type': 'ean', 'code': ean}],
                'cost_price': Decimal('4.5')}]
        template.save()
    storage, = Location.search([('code', '=', 'STO')])
    Location(name="A-01", code=BIN, type='storage', parent=storage).save()
    Party.save([Party(name="Supplier", addresses=[{}]),
            Party(name="Other Supplier", addresses=[{}])])


def _setup_users(company):
    "Create a scanner-only user, a Stock user and a user in no group"
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
        User(login=login, name=login.title(), password=PASSWORD,
            companies=[company], company=company, groups=groups).save()


def new_purchase(lines, party="Supplier", company=None):
    """Create a purchase being processed with its moves waiting.

    lines: (product code, quantity, unit price) triples.
    Returns the purchase.
    """
    pool = Pool()
    Purchase = pool.get('purchase.purchase')
    Product = pool.get('product.product')
    Party = pool.get('party.party')
    Company = pool.get('company.company')
    Location = pool.get('stock.location')
    company = Company(company) if company else Company.search([])[0]
    supplier, = Party.search([('name', '=', party)])
    warehouse, = Location.search([('type', '=', 'warehouse')], limit=1)
    with set_company(company):
        purchase = Purchase(party=supplier, company=company,
            currency=company.currency, warehouse=warehouse,
            invoice_address=supplier.address_get(type='invoice'),
            invoice_method='manual', purchase_date=dt.date.today())
        purchase.lines = [{
                'product': Product.search([('code', '=', code)])[0],
                'quantity': quantity,
                'unit': Product.search([('code', '=', code)])[0].default_uom,
                'unit_price': Decimal(price),
                'description': code,
                } for code, quantity, price in lines]
        purchase.save()
        Purchase.quote([purchase])
        Purchase.confirm([purchase])
        Purchase.process([purchase])
        Transaction().tasks.clear()
    return Purchase(purchase.id)


def stock_bins():
    "Put 5 hammers in the first bin, 3 in a second one, 2 boxes of screws"
    pool = Pool()
    Location = pool.get('stock.location')
    Move = pool.get('stock.move')
    Product = pool.get('product.product')
    Party = pool.get('party.party')
    Company = pool.get('company.company')
    company, = Company.search([])
    storage, = Location.search([('code', '=', 'STO')])
    Location(name="A-02", code=BIN_2, type='storage', parent=storage).save()
    first, = Location.search([('code', '=', BIN)])
    second, = Location.search([('code', '=', BIN_2)])
    supplier, = Location.search([('code', '=', 'SUP')])
    hammer, = Product.search([('code', '=', 'HW0001')])
    screws, = Product.search([('code', '=', 'HW0002')])
    Party(name="Customer", addresses=[{}]).save()
    # Stock put straight in the bins: no supplier shipment is its origin.
    with set_company(company), Transaction().set_context(
            _skip_warnings=True):
        moves = [Move(product=product, unit=product.default_uom,
                quantity=quantity, from_location=supplier, to_location=bin_,
                company=company, currency=company.currency,
                unit_price=Decimal('4.5'))
            for product, quantity, bin_ in [
                (hammer, 5, first), (hammer, 3, second), (screws, 2, first)]]
        Move.save(moves)
        Move.do(moves)


def new_shipment(lines):
    """Create a waiting customer shipment.

    lines: (product code, quantity) pairs.
    Returns (number, id).
    """
    pool = Pool()
    ShipmentOut = pool.get('stock.shipment.out')
    Product = pool.get('product.product')
    Party = pool.get('party.party')
    Company = pool.get('company.company')
    Location = pool.get('stock.location')
    company, = Company.search([])
    customer, = Party.search([('name', '=', 'Customer')])
    warehouse, = Location.search([('type', '=', 'warehouse')], limit=1)
    with set_company(company):
        shipment = ShipmentOut(customer=customer, company=company,
            warehouse=warehouse)
        # as the client fills them when a clerk picks customer and warehouse
        shipment.on_change_warehouse()
        shipment.on_change_customer()
        shipment.customer_location = (
            shipment.on_change_with_customer_location())
        moves = []
        for code, quantity in lines:
            product, = Product.search([('code', '=', code)])
            moves.append({
                    'product': product, 'unit': product.default_uom,
                    'quantity': quantity,
                    'from_location': warehouse.output_location,
                    'to_location': customer.customer_location,
                    'company': company, 'currency': company.currency,
                    'unit_price': Decimal(10),
                    })
        shipment.outgoing_moves = moves
        shipment.save()
        ShipmentOut.wait([shipment])
    return shipment.number, shipment.id
