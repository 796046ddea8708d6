# This file is part of perpetual_inventory.  The COPYRIGHT file at the top
# level of this repository contains the full copyright notices and license
# terms.
"""Stock events through the Tryton documents a clerk would use.

One function per document kind, for the random valuation tests: a
purchase received on a supplier shipment, a sale shipped on a customer
shipment (or a customer shipment alone), a return sale and a customer
return shipment linked to the delivery they bring back, a return to the
supplier of the goods of a receipt, a count, a new standard cost and a
landed cost posted with its invoice line. Each runs in the caller's
transaction, with the company in the context.

Each product gets its own accounts (``new_book``), so the balance of an
account is the figure of that product alone.
"""
import datetime as dt
from decimal import Decimal

from trytond.modules.account.tests import create_chart, get_fiscalyear
from trytond.modules.company.tests import create_company, set_company
from trytond.pool import Pool
from trytond.transaction import Transaction

ROLES = ('inventory', 'stock_in', 'stock_out', 'cogs', 'over_short',
    'variance', 'landed')
SALE_PRICE = Decimal(20)


class Site:
    "The records every example shares (ids, read again in each transaction)."

    def __init__(self, **ids):
        self.__dict__.update(ids)

    def get(self, model, name):
        return Pool().get(model)(getattr(self, name))


class Book:
    "A product and its own accounts."

    def __init__(self, product, accounts, freight):
        self.product = product
        self.accounts = accounts   # role -> account
        self.freight = freight


def _fiscal_year(company, date):
    pool = Pool()
    FiscalYear = pool.get('account.fiscalyear')
    SequenceStrict = pool.get('ir.sequence.strict')
    SequenceType = pool.get('ir.sequence.type')
    InvoiceSequence = pool.get('account.fiscalyear.invoice_sequence')
    if FiscalYear.search([('start_date', '<=', date),
                ('end_date', '>=', date)]):
        return
    fiscalyear = get_fiscalyear(company, today=date)
    fiscalyear.account_stock_method = 'continental'
    invoice_type, = SequenceType.search([('name', '=', "Invoice")], limit=1)
    sequence = SequenceStrict(name="Invoices %s" % date.year,
        sequence_type=invoice_type, company=company)
    sequence.save()
    fiscalyear.invoice_sequences = [InvoiceSequence(company=company,
            out_invoice_sequence=sequence, in_invoice_sequence=sequence,
            out_credit_note_sequence=sequence,
            in_credit_note_sequence=sequence)]
    fiscalyear.save()
    fiscalyear.create_period([fiscalyear])


def create_site(days_back=30):
    """Create the company, its chart, fiscal years covering the last
    days_back days, the parties and a payment term; return a Site."""
    pool = Pool()
    Location = pool.get('stock.location')
    Party = pool.get('party.party')
    Address = pool.get('party.address')
    PaymentTerm = pool.get('account.invoice.payment_term')
    PaymentTermLine = pool.get('account.invoice.payment_term.line')
    Uom = pool.get('product.uom')
    Account = pool.get('account.account')

    company = create_company()
    with set_company(company):
        create_chart(company)
        today = dt.date.today()
        _fiscal_year(company, today)
        _fiscal_year(company, today - dt.timedelta(days=days_back))
        warehouse, = Location.search([('type', '=', 'warehouse')])
        supplier_loc, = Location.search([('code', '=', 'SUP')])
        customer_loc, = Location.search([('code', '=', 'CUS')])
        storage, = Location.search([('code', '=', 'STO')])
        parties = []
        for name in ["Supplier", "Customer", "Carrier"]:
            party = Party(name=name, addresses=[Address()])
            parties.append(party)
        Party.save(parties)
        term = PaymentTerm(name="Cash",
            lines=[PaymentTermLine(type='remainder')])
        term.save()
        supplier, customer, carrier = parties
        payable, = Account.search([('type.payable', '=', True),
                ('closed', '!=', True)], limit=1)
        receivable, = Account.search([('type.receivable', '=', True),
                ('closed', '!=', True)], limit=1)
        for party in parties:
            party.customer_payment_term = term
            party.supplier_payment_term = term
            party.account_payable = payable
            party.account_receivable = receivable
        Party.save(parties)
        unit, = Uom.search([('name', '=', 'Unit')])
        templates = {}
        for role, code in [('inventory', '1.3.1'), ('stock_in', '5.1.5'),
                ('expense', '5.1.1'), ('revenue', '4.1.1')]:
            templates[role], = Account.search([('code', '=', code)])
        return Site(company=company.id, warehouse=warehouse.id,
            supplier_location=supplier_loc.id,
            customer_location=customer_loc.id, storage=storage.id,
            supplier=supplier.id, customer=customer.id, carrier=carrier.id,
            payment_term=term.id, unit=unit.id,
            account_templates={k: v.id for k, v in templates.items()})


def new_book(site, name, method, cost):
    """Create a product under method at cost, with accounts of its own and
    a freight service whose expense account is its landed-cost account."""
    pool = Pool()
    Account = pool.get('account.account')
    Category = pool.get('product.category')
    Template = pool.get('product.template')
    Product = pool.get('product.product')
    like = {k: Account(v) for k, v in site.account_templates.items()}
    kinds = {'inventory': 'inventory', 'stock_in': 'stock_in',
        'stock_out': 'stock_in', 'cogs': 'expense', 'over_short': 'expense',
        'variance': 'expense', 'landed': 'expense'}
    accounts = {}
    for role in ROLES:
        model = like[kinds[role]]
        accounts[role] = Account(name="%s %s" % (name, role),
            code='%s-%s' % (name, role), parent=model.parent,
            type=model.type)
    Account.save(list(accounts.values()))
    category = Category(name=name, accounting=True,
        account_expense=like['expense'], account_revenue=like['revenue'],
        account_stock=accounts['inventory'],
        account_stock_in=accounts['stock_in'],
        account_stock_out=accounts['stock_out'],
        account_cogs=accounts['cogs'],
        account_stock_over_short=accounts['over_short'],
        account_price_variance=accounts['variance'])
    freight_category = Category(name="%s freight" % name, accounting=True,
        account_expense=accounts['landed'],
        account_revenue=like['revenue'])
    Category.save([category, freight_category])
    template = Template(name=name, type='goods', default_uom=site.unit,
        list_price=SALE_PRICE, cost_price_method=method,
        account_category=category, purchasable=True, salable=True,
        purchase_uom=site.unit, sale_uom=site.unit, products=[{}])
    freight = Template(name="%s freight" % name, type='service',
        default_uom=site.unit, list_price=Decimal(0), landed_cost=True,
        purchasable=True, purchase_uom=site.unit,
        account_category=freight_category, products=[{}])
    Template.save([template, freight])
    product, = template.products
    product.cost_price = cost
    product.save()
    return Book(Product(product.id), accounts, freight.products[0])


def _changed(record, *names):
    "Apply the on_change methods a client calls when names are filled."
    for name in names:
        getattr(record, 'on_change_' + name)()
    return record


def _done_date(shipment, date):
    if date is not None:
        shipment.effective_date = date
        shipment.save()


def receive(site, book, quantity, price, date=None):
    """A purchase of quantity at price received on a supplier shipment;
    return (shipment, purchase line, incoming move)."""
    pool = Pool()
    Purchase = pool.get('purchase.purchase')
    PurchaseLine = pool.get('purchase.line')
    ShipmentIn = pool.get('stock.shipment.in')
    supplier = Pool().get('party.party')(site.supplier)
    purchase = Purchase(party=supplier, invoice_method='manual',
        invoice_address=supplier.addresses[0],
        warehouse=site.warehouse, purchase_date=date or dt.date.today(),
        payment_term=site.payment_term,
        lines=[PurchaseLine(product=book.product, quantity=quantity,
                unit=site.unit, unit_price=price)])
    purchase.save()
    Purchase.quote([purchase])
    Purchase.confirm([purchase])
    Purchase.process([purchase])
    line, = purchase.lines
    move, = line.moves
    shipment = _changed(ShipmentIn(supplier=supplier,
            warehouse=site.warehouse), 'warehouse', 'supplier')
    shipment.incoming_moves = [move]
    shipment.save()
    _done_date(shipment, date)
    ShipmentIn.receive([shipment])
    ShipmentIn.do([shipment])
    return shipment, line, type(move)(move.id)


def _ship(shipment, force):
    ShipmentOut = Pool().get('stock.shipment.out')
    ShipmentOut.wait([shipment])
    ShipmentOut.assign_try([shipment])
    if shipment.state != 'assigned':
        if not force:
            raise AssertionError("not enough stock for %s" % shipment)
        ShipmentOut.assign_force([shipment])
    ShipmentOut.pick([shipment])
    ShipmentOut.pack([shipment])
    ShipmentOut.do([shipment])


def deliver_sale(site, book, quantity, date=None, force=True):
    """A sale of quantity shipped on its customer shipment; return
    (sale, outgoing move)."""
    pool = Pool()
    Sale = pool.get('sale.sale')
    SaleLine = pool.get('sale.line')
    Party = pool.get('party.party')
    customer = Party(site.customer)
    sale = Sale(party=customer, invoice_method='manual',
        shipment_method='order', warehouse=site.warehouse,
        sale_date=date or dt.date.today(),
        invoice_address=customer.addresses[0],
        shipment_address=customer.addresses[0],
        payment_term=site.payment_term,
        lines=[SaleLine(product=book.product, quantity=quantity,
                unit=site.unit, unit_price=SALE_PRICE)])
    sale.save()
    Sale.quote([sale])
    Sale.confirm([sale])
    Sale.process([sale])
    shipment, = sale.shipments
    _done_date(shipment, date)
    _ship(shipment, force)
    line, = sale.lines
    move, = [m for m in line.moves if m.state == 'done']
    return sale, move


def deliver_shipment(site, book, quantity, date=None, force=True):
    "A customer shipment without sale; return its outgoing move."
    pool = Pool()
    ShipmentOut = pool.get('stock.shipment.out')
    Move = pool.get('stock.move')
    Location = pool.get('stock.location')
    Company = pool.get('company.company')
    warehouse = Location(site.warehouse)
    shipment = _changed(ShipmentOut(customer=site.customer,
            warehouse=warehouse), 'warehouse', 'customer')
    shipment.outgoing_moves = [Move(product=book.product, quantity=quantity,
                unit=site.unit, from_location=warehouse.output_location,
                to_location=site.customer_location, unit_price=SALE_PRICE,
                currency=Company(site.company).currency)]
    shipment.save()
    _done_date(shipment, date)
    _ship(shipment, force)
    move, = shipment.outgoing_moves
    return Move(move.id)


def _receive_return(shipment):
    ShipmentOutReturn = Pool().get('stock.shipment.out.return')
    ShipmentOutReturn.receive([shipment])
    ShipmentOutReturn.do([shipment])
    move, = shipment.incoming_moves
    return type(move)(move.id)


def return_sale(site, sale, quantity):
    """Return quantity of a sale through the "Return Sale" wizard (a sale
    of negative quantity) and its customer return shipment; return the
    incoming move."""
    pool = Pool()
    Sale = pool.get('sale.sale')
    ReturnSale = pool.get('sale.return_sale', type='wizard')
    session_id, _, _ = ReturnSale.create()
    with Transaction().set_context(active_model='sale.sale',
            active_id=sale.id, active_ids=[sale.id]):
        _, data = ReturnSale.execute(session_id, {}, 'return_')['actions'][0]
    ReturnSale.delete(session_id)
    return_, = Sale.browse(data['res_id'])
    line, = return_.lines
    line.quantity = -quantity
    line.save()
    Sale.quote([return_])
    Sale.confirm([return_])
    Sale.process([return_])
    shipment, = return_.shipment_returns
    return _receive_return(shipment)


def return_shipment(site, delivery, quantity):
    """A customer return shipment of quantity of a delivery, its move's
    origin the delivered move; return the incoming move."""
    pool = Pool()
    ShipmentOutReturn = pool.get('stock.shipment.out.return')
    Move = pool.get('stock.move')
    Location = pool.get('stock.location')
    warehouse = Location(site.warehouse)
    shipment = _changed(ShipmentOutReturn(customer=site.customer,
            warehouse=warehouse), 'warehouse', 'customer')
    shipment.incoming_moves = [Move(product=delivery.product, quantity=quantity,
                unit=site.unit, from_location=site.customer_location,
                to_location=warehouse.input_location,
                unit_price=SALE_PRICE, currency=delivery.currency,
                origin=delivery)]
    shipment.save()
    return _receive_return(shipment)


def return_to_supplier(site, purchase_line, quantity):
    """A supplier return shipment of quantity of the goods of a receipt,
    its move's origin the purchase line; return the move."""
    pool = Pool()
    ShipmentInReturn = pool.get('stock.shipment.in.return')
    Move = pool.get('stock.move')
    shipment = _changed(ShipmentInReturn(supplier=site.supplier,
            from_location=site.storage, to_location=site.supplier_location),
        'supplier')
    shipment.moves = [Move(product=purchase_line.product, quantity=quantity,
                unit=site.unit, from_location=site.storage,
                to_location=site.supplier_location,
                unit_price=purchase_line.unit_price,
                currency=purchase_line.purchase.currency,
                origin=purchase_line)]
    shipment.save()
    ShipmentInReturn.wait([shipment])
    ShipmentInReturn.assign_try([shipment])
    if shipment.state != 'assigned':
        raise AssertionError("not enough stock to return %s" % quantity)
    ShipmentInReturn.do([shipment])
    move, = shipment.moves
    return Move(move.id)


def count(site, book, quantity):
    """A count of the storage location finding quantity; return its move
    (None when nothing differs)."""
    pool = Pool()
    Inventory = pool.get('stock.inventory')
    InventoryLine = pool.get('stock.inventory.line')
    inventory = Inventory(location=site.storage, date=dt.date.today(),
        lines=[InventoryLine(product=book.product, quantity=quantity)])
    inventory.save()
    Inventory.confirm([inventory])
    line, = inventory.lines
    return line.moves[0] if line.moves else None


def modify_cost_price(site, book, cost):
    "A new cost through the product's Modify Cost Price wizard, today."
    pool = Pool()
    Modify = pool.get('product.modify_cost_price', type='wizard')
    session_id, _, _ = Modify.create()
    with Transaction().set_context(active_model='product.product',
            active_id=book.product.id, active_ids=[book.product.id]):
        Modify.execute(session_id, {'start': {
                    'date': dt.date.today(), 'cost_price': str(cost)}},
            'modify')
    Modify.delete(session_id)


def landed_cost(site, book, shipment, amount):
    """A carrier's invoice of amount posted, allocated by value to the
    supplier shipment as a posted landed cost; return the landed cost."""
    pool = Pool()
    Invoice = pool.get('account.invoice')
    InvoiceLine = pool.get('account.invoice.line')
    LandedCost = pool.get('account.landed_cost')
    line = InvoiceLine(product=book.freight, quantity=1, unit=site.unit,
        unit_price=amount, account=book.accounts['landed'])
    defaults = Invoice.default_get(['company', 'currency'],
        with_rec_name=False)
    invoice = _changed(Invoice(type='in', party=site.carrier, **defaults),
        'type', 'party')
    invoice.payment_term = site.payment_term
    invoice.invoice_date = dt.date.today()
    invoice.lines = [line]
    invoice.save()
    Invoice.post([invoice])
    line, = invoice.lines
    cost = LandedCost(allocation_method='value', shipments=[shipment],
        invoice_lines=[line])
    cost.save()
    LandedCost.post([cost])
    return cost


# Figures --------------------------------------------------------------

def balances(book):
    "Return the balance of each account of the product (debit positive)."
    Line = Pool().get('account.move.line')
    result = {}
    for role, account in book.accounts.items():
        lines = Line.search([('account', '=', account.id)])
        result[role] = sum((l.debit - l.credit for l in lines), Decimal(0))
    return result


def layers_value(book):
    "Return the sum of the product's valuation layers."
    Layer = Pool().get('stock.valuation.layer')
    layers = Layer.search([('product', '=', book.product.id)])
    return sum((l.value for l in layers), Decimal(0))


def quantity(site, book):
    "Return the quantity of the product in the warehouse (done moves)."
    Product = Pool().get('product.product')
    with Transaction().set_context(locations=[site.warehouse],
            stock_date_end=dt.date.max):
        return Decimal(str(Product(book.product.id).quantity))
