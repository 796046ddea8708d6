# This file is part of perpetual_inventory.  The COPYRIGHT file at the top
# level of this repository contains the full copyright notices and license
# terms.
"""Build the demo database on an activated perpetual_inventory database.

``build(database_name, config_file)`` is called by ``perpetual-inventory
demo`` once the modules are activated, and by the scenario tests on a
smaller business.
"""
import datetime as dt
import random
from decimal import Decimal

from .demo_data import (
    BINS, CATEGORIES, CUSTOMERS, SUPPLIERS, Progress, location_barcode,
    make_items)
from .history import write_history

ADMIN_PASSWORD = 'admin'


def build(database_name, config_file=None, products=50, days=365, seed=42,
        today=None, out=print):
    """Fill the activated database with the demo business.

    Args:
        database_name: the database, its modules already activated.
        config_file: the trytond configuration file (None: environment).
        products: how many goods to create.
        days: the length of the history before today.
        seed: the seed of every random choice.
        today: the last day of the history (default: today).
        out: the function that prints progress.

    Returns:
        A dict of the main figures (products, moves, purchases, sales).
    """
    from proteus import config as pconfig

    progress = Progress(out=out, total=7)
    today = today or dt.date.today()
    start = today - dt.timedelta(days=days)
    config = pconfig.set_trytond(database_name, config_file=config_file)
    items = make_items(seed, products)

    progress("Company, chart of accounts and fiscal years")
    company = _setup_company(config)
    accounts = _setup_accounting(config, company, start, today)
    progress("Warehouse bins, suppliers, customers and %d products"
        % len(items))
    bins = _setup_locations(config)
    suppliers, customers = _setup_parties(config)
    categories = _setup_categories(config, accounts)
    products = _setup_products(config, company, items, categories, suppliers)
    progress("Opening balances and stock from a physical count on %s"
        % start)
    rng = random.Random(seed + 1)
    opening = _opening(config, company, accounts, categories, items,
        products, bins, start, rng)
    progress("%d days of purchases, receipts, sales, deliveries, invoices "
        "and payments" % days)
    figures = write_history(
        database_name, company.id, items, products, bins, suppliers,
        customers, opening, start, today, seed,
        _ledger(config, accounts, suppliers, customers), out=out)
    progress("Today's returns and cycle count, order points")
    _todays_events(config, items, products, bins, suppliers, customers,
        today, random.Random(seed + 3))
    _setup_order_points(config, items, products, figures)
    _close_config_wizard(config)
    progress("Done: %(products)d products, %(moves)d stock moves, "
        "%(purchases)d purchases, %(shipments_in)d supplier shipments, "
        "%(sales)d sales, %(shipments_out)d customer shipments, "
        "%(invoices)d posted invoices, %(payments)d payments" % figures)
    from .books import statements
    for line in statements(database_name):
        out(line)
    figures['audit_differences'] = _audit(config, out)
    return figures


def _audit(config, out):
    """Run the audit on the demo as a user would and print its verdict;
    return the number of differences (none: the history is valued by the
    engine the audit replays)"""
    from proteus import Wizard
    audit = Wizard('stock.valuation.audit')
    audit.execute('result')
    result = audit.form
    if result.ok:
        out("Audit: %d moves replayed, no difference" % result.events)
    else:
        out("Audit: %d moves replayed, differences on %d products "
            "(Financial > Reporting > Audit Stock Valuation)" % (
                result.events, result.products))
        for line in result.lines[:10]:
            out("  %s %s %s: %s" % (line.product.rec_name
                    if line.product else '', line.move.rec_name
                    if line.move else line.origin, line.kind,
                    line.message or line.difference))
    return len(result.lines)


def _setup_company(config):
    from proteus import Model, Wizard
    Party = Model.get('party.party')
    Currency = Model.get('currency.currency')
    CurrencyRate = Model.get('currency.currency.rate')
    User = Model.get('res.user')

    currencies = Currency.find([('code', '=', 'USD')])
    if currencies:
        currency, = currencies
    else:
        currency = Currency(name="U.S. Dollar", symbol='$', code='USD',
            rounding=Decimal('0.01'))
        currency.save()
        CurrencyRate(date=dt.date.min, rate=Decimal(1),
            currency=currency).save()
    party = Party(name="Harbor Hardware & Supply")
    address, = party.addresses
    address.street = "12 Quay Road"
    address.postal_code = "04101"
    address.city = "Portland"
    party.save()
    company_config = Wizard('company.company.config')
    company_config.execute('company')
    company = company_config.form
    company.party = party
    company.currency = currency
    company_config.execute('add')
    config._context = User.get_preferences(True, {})
    Company = Model.get('company.company')
    company, = Company.find()
    return company


def _setup_accounting(config, company, start, today):
    from proteus import Model, Wizard
    AccountTemplate = Model.get('account.account.template')
    Account = Model.get('account.account')
    ModelData = Model.get('ir.model.data')
    FiscalYear = Model.get('account.fiscalyear')
    Sequence = Model.get('ir.sequence.strict')
    SequenceType = Model.get('ir.sequence.type')

    template = AccountTemplate(ModelData.get_id(
            'account', 'account_template_root_en', config.context))
    create_chart = Wizard('account.create_chart')
    create_chart.execute('account')
    create_chart.form.account_template = template
    create_chart.form.company = company
    create_chart.execute('create_account')

    def account(code):
        result, = Account.find([
                ('code', '=', code), ('company', '=', company.id)])
        return result

    receivable = Account.find([
            ('type.receivable', '=', True), ('company', '=', company.id),
            ('closed', '!=', True)], limit=1)[0]
    payable = Account.find([
            ('type.payable', '=', True), ('company', '=', company.id),
            ('closed', '!=', True)], limit=1)[0]
    create_chart.form.account_receivable = receivable
    create_chart.form.account_payable = payable
    create_chart.form.category_account_expense = account('5.1.1')
    create_chart.form.category_account_revenue = account('4.1.1')
    create_chart.execute('create_properties')

    # Stock counterparts need an account type flagged "stock": the type of
    # the chart's change in inventories is one. Goods received not invoiced
    # is a liability (the supplier invoices clear it) of its own type,
    # flagged "debt" so that supplier invoice lines may book on it.
    AccountType = Model.get('account.account.type')
    stock_change = account('5.1.5')
    cost_of_sales = account('5.1.1')
    payables = account('2.1.1')
    grni_type = AccountType(name="Goods Received Not Invoiced",
        parent=payables.type.parent, statement='balance', stock=True,
        debt=True, company=company)
    grni_type.save()
    # An accrued liability (the chart's 2.2.0 has no type of its own).
    grni = Account(
        name="Goods Received Not Invoiced", code='2.2.5',
        parent=account('2.2.1').parent, type=grni_type)
    opening_equity = Account(
        name="Opening Balance Equity", code='3.4.5',
        parent=account('3.4.4').parent, type=account('3.4.4').type)
    cogs = Account(
        name="Cost of Goods Sold", code='5.1.8',
        parent=cost_of_sales.parent, type=cost_of_sales.type)
    over_short = Account(
        name="Inventory Over/Short", code='5.1.9',
        parent=cost_of_sales.parent, type=cost_of_sales.type)
    variance = Account(
        name="Purchase Price Variance", code='5.1.10',
        parent=cost_of_sales.parent, type=cost_of_sales.type)
    Account.save([grni, opening_equity, cogs, over_short, variance])

    sequence_type, = SequenceType.find(
        [('name', '=', "Account Move")], limit=1)
    for year in range(start.year, today.year + 1):
        sequence = Sequence(name="Account Moves %s" % year,
            prefix='%s/' % year, sequence_type=sequence_type, company=company)
        sequence.save()
        fiscalyear = FiscalYear(name=str(year),
            start_date=dt.date(year, 1, 1), end_date=dt.date(year, 12, 31),
            company=company, move_sequence=sequence,
            account_stock_method='continental')
        invoice_type, = SequenceType.find([('name', '=', "Invoice")], limit=1)
        customer_sequence = Sequence(name="Customer Invoices %s" % year,
            prefix='INV/%s/' % year, sequence_type=invoice_type,
            company=company)
        supplier_sequence = Sequence(name="Supplier Invoices %s" % year,
            prefix='SUP/%s/' % year, sequence_type=invoice_type,
            company=company)
        Sequence.save([customer_sequence, supplier_sequence])
        sequences, = fiscalyear.invoice_sequences
        for kind in ['out_invoice', 'out_credit_note']:
            setattr(sequences, kind + '_sequence', customer_sequence)
        for kind in ['in_invoice', 'in_credit_note']:
            setattr(sequences, kind + '_sequence', supplier_sequence)
        fiscalyear.save()
        fiscalyear.click('create_period')
    return {
        'stock': account('1.3.1'),
        'grni': grni,
        'opening_equity': opening_equity,
        'cash': account('1.1.1'),
        'cogs': cogs,
        'over_short': over_short,
        'stock_change': stock_change,
        'variance': variance,
        'expense': account('5.1.1'),
        'revenue': account('4.1.1'),
        'receivable': receivable,
        'payable': payable,
        }


def _setup_locations(config):
    from proteus import Model
    Location = Model.get('stock.location')
    warehouse, = Location.find([('type', '=', 'warehouse')])
    warehouse.name = "Main Warehouse"
    # A small shop receives into the bins and picks from them: one-step
    # supplier and customer shipments (no input or output moves).
    warehouse.input_location = warehouse.storage_location
    warehouse.output_location = warehouse.storage_location
    warehouse.save()
    storage = warehouse.storage_location
    storage.code = location_barcode('STO')
    storage.save()
    bins = []
    for code, name in BINS:
        location = Location(name="%s (%s)" % (code, name),
            code=location_barcode(code), type='storage', parent=storage)
        bins.append(location)
    Location.save(bins)
    return bins


def _setup_parties(config):
    from proteus import Model
    Party = Model.get('party.party')
    suppliers = [Party(name=name) for name, *_ in SUPPLIERS]
    customers = [Party(name=name) for name in CUSTOMERS]
    Party.save(suppliers + customers)
    return suppliers, customers


def _setup_categories(config, accounts):
    from proteus import Model
    Category = Model.get('product.category')
    categories = {}
    for name, *_ in CATEGORIES:
        categories[name] = Category(
            name=name, accounting=True,
            account_expense=accounts['expense'],
            account_revenue=accounts['revenue'],
            account_stock=accounts['stock'],
            account_stock_in=accounts['grni'],
            account_stock_out=accounts['stock_change'],
            account_cogs=accounts['cogs'],
            account_stock_over_short=accounts['over_short'],
            account_price_variance=accounts['variance'])
    Category.save(list(categories.values()))
    return categories


def _setup_products(config, company, items, categories, suppliers):
    from proteus import Model
    Template = Model.get('product.template')
    Uom = Model.get('product.uom')
    unit, = Uom.find([('name', '=', 'Unit')])
    templates = []
    for item in items:
        template = Template(
            name=item.name, type='goods', default_uom=unit,
            purchasable=True, salable=True, list_price=item.list_price,
            cost_price_method=item.cost_price_method,
            account_category=categories[item.category],
            code=item.code)
        product, = template.products
        product.suffix_code = None
        product.cost_price = item.cost
        identifier = product.identifiers.new()
        identifier.type = 'ean'
        identifier.code = item.barcode
        for index, (name, supplied, lead_time, spread) in enumerate(
                SUPPLIERS):
            if item.category not in supplied:
                continue
            # The specialist is the main supplier, the distributor is
            # quicker but dearer.
            general = len(supplied) > 1
            product_supplier = template.product_suppliers.new()
            product_supplier.party = suppliers[index]
            product_supplier.lead_time = dt.timedelta(days=lead_time)
            product_supplier.sequence = 20 if general else 10
            product_supplier.quantity_minimal = (
                item.pack if general else item.minimum)
            product_supplier.quantity_rounding = item.pack
            price = product_supplier.prices.new()
            price.quantity = 0
            price.unit_price = (
                item.cost * (Decimal('1.12') if general else Decimal(1))
                ).quantize(Decimal('0.0001'))
        templates.append(template)
    Template.save(templates)
    return [t.products[0] for t in templates]


def _opening(config, company, accounts, categories, items, products, bins,
        date, rng):
    """Book the opening balances: the cash at the bank and the stock of a
    physical count, both against opening-balance equity.

    The counterpart of a count is the categories' over/short account (the
    module's account matrix): for the opening count it is the opening
    balance equity account, then the over/short account for the counts
    that follow.
    """
    from proteus import Model
    Category = Model.get('product.category')
    Journal = Model.get('account.journal')
    AccountMove = Model.get('account.move')
    Period = Model.get('account.period')

    def counterpart(account):
        for category in categories.values():
            category.account_stock_over_short = account
        Category.save(list(categories.values()))
    counterpart(accounts['opening_equity'])
    opening = _opening_count(config, items, products, bins, date, rng)
    counterpart(accounts['over_short'])

    journal, = Journal.find([('code', '=', 'MISC')])
    period, = Period.find([('start_date', '<=', date),
            ('end_date', '>=', date), ('type', '=', 'standard')])
    entry = AccountMove(journal=journal, period=period, date=date,
        description="Opening balance: cash at bank")
    amount = Decimal(20000)
    entry.lines.new(account=accounts['cash'], debit=amount, credit=Decimal(0))
    entry.lines.new(
        account=accounts['opening_equity'], debit=Decimal(0), credit=amount)
    entry.save()
    entry.click('post')
    return opening


def _ledger(config, accounts, suppliers, customers):
    """Return the accounts and payment terms the history posts with; the
    parties get their terms (walk-in customers pay at once, trade
    customers and suppliers at 30 days, fasteners at 15)"""
    from proteus import Model
    Party = Model.get('party.party')
    Term = Model.get('account.invoice.payment_term')
    terms = {t.name: t for t in Term.find([])}
    days = {"Upon Receipt": 0, "Net 15 days": 15, "Net 30 days": 30}
    chosen = {}
    for party in suppliers:
        name = "Net 15 days" if 'Fasteners' in party.name else "Net 30 days"
        party.supplier_payment_term = terms[name]
        chosen[party.id] = name
    for party in customers:
        name = "Upon Receipt" if party.name.startswith('Walk-in') else (
            "Net 30 days")
        party.customer_payment_term = terms[name]
        chosen[party.id] = name
    Party.save(suppliers + customers)
    return {
        'receivable': accounts['receivable'].id,
        'payable': accounts['payable'].id,
        'cash': accounts['cash'].id,
        'variance': accounts['variance'].id,
        'terms': {p: terms[n].id for p, n in chosen.items()},
        'term_days': {p: days[n] for p, n in chosen.items()},
        }


def _opening_count(config, items, products, bins, date, rng):
    "Count every bin on the first day and return the quantities counted"
    from proteus import Model
    Inventory = Model.get('stock.inventory')
    opening = {}
    inventories = []
    for index, location in enumerate(bins):
        inventory = Inventory(location=location, date=date)
        for item, product in zip(items, products):
            if item.index % len(bins) != index:
                continue
            quantity = max(
                item.minimum, round(item.rate * rng.uniform(20, 45)))
            line = inventory.lines.new()
            line.product = product
            line.quantity = quantity
            opening[item.index] = quantity
        inventories.append(inventory)
    Inventory.save(inventories)
    Inventory.click(inventories, 'confirm')
    return opening


def _todays_events(config, items, products, bins, suppliers, customers,
        date, rng):
    """Post today's events through Tryton's documents: a customer return,
    a return to a supplier and a cycle count of one bin with differences"""
    from proteus import Model
    Location = Model.get('stock.location')
    Inventory = Model.get('stock.inventory')
    customer_location, = Location.find([('type', '=', 'customer')])
    supplier_location, = Location.find([('type', '=', 'supplier')])
    warehouse, = Location.find([('type', '=', 'warehouse')])
    # Returns without an order: the clerk acknowledges the warning.
    skip_warning, config.skip_warning = config.skip_warning, True
    try:
        _returns(config, products, bins, customer_location,
            supplier_location, warehouse, date, rng)
    finally:
        config.skip_warning = skip_warning

    # Lines not counted keep their expected quantity.
    inventory = Inventory(location=bins[0], date=date, empty_quantity='keep')
    inventory.save()
    inventory.click('complete_lines')
    counted = [l for l in inventory.lines if l.expected_quantity]
    for line in rng.sample(counted, k=min(3, len(counted))):
        line.quantity = max(0, line.expected_quantity + rng.choice(
                [-2, -1, 1]))
    inventory.save()
    inventory.click('confirm')


def _returns(config, products, bins, customer_location, supplier_location,
        warehouse, date, rng):
    """A customer brings back one unit of the last delivery (a return sale:
    customer return shipment and credit note) and one unit goes back to its
    supplier (a return purchase: supplier return shipment and credit
    note)"""
    from proteus import Model
    Move = Model.get('stock.move')
    Product = Model.get('product.product')
    Sale = Model.get('sale.sale')
    Purchase = Model.get('purchase.purchase')

    sold = Move.find([
            ('to_location.type', '=', 'customer'),
            ('state', '=', 'done'),
            ], order=[('effective_date', 'DESC'), ('id', 'DESC')], limit=1)
    if sold:
        delivery, = sold
        sale = Sale(party=delivery.origin.sale.party, sale_date=date,
            invoice_method='order', shipment_method='order')
        sale.lines.new(product=delivery.product, quantity=-1,
            unit_price=delivery.origin.unit_price)
        sale.click('quote')
        sale.click('confirm')
        shipment, = sale.shipment_returns
        shipment.effective_date = date
        shipment.click('receive')
        if shipment.state != 'done':
            # with inventory moves from an input location
            shipment.click('do')
        credit_note, = sale.invoices
        credit_note.invoice_date = date
        credit_note.click('post')

    with config.set_context(locations=[warehouse.id], stock_date_end=date):
        stocked = [p for p in Product.find([]) if p.quantity >= 2]
    if stocked:
        product = rng.choice(stocked)
        supplier = product.template.product_suppliers[0]
        purchase = Purchase(party=supplier.party, purchase_date=date,
            invoice_method='order')
        line = purchase.lines.new(product=product, quantity=-1)
        line.unit_price = product.cost_price
        purchase.click('quote')
        purchase.click('confirm')
        shipment, = purchase.shipment_returns
        shipment.effective_date = date
        # The clerk picks it from its bin.
        index = [p.id for p in products].index(product.id)
        for move in shipment.moves:
            move.from_location = bins[index % len(bins)]
        shipment.save()
        if shipment.state == 'draft':
            shipment.click('wait')
        shipment.click('assign_try')
        assert shipment.state == 'assigned', (shipment.state, [
                (m.from_location.rec_name, m.quantity, m.state)
                for m in shipment.moves])
        shipment.click('do')
        credit_note, = purchase.invoices
        credit_note.invoice_date = date
        # The goods went back at their purchase value against goods
        # received not invoiced: the credit note clears it there.
        for invoice_line in credit_note.lines:
            invoice_line.account = (
                product.template.account_category.account_stock_in)
        credit_note.click('post')


def _setup_order_points(config, items, products, figures):
    "Create the hand-set order points a user would start from"
    from proteus import Model
    Location = Model.get('stock.location')
    OrderPoint = Model.get('stock.order_point')
    warehouse, = Location.find([('type', '=', 'warehouse')])
    points = []
    for item, product in zip(items, products):
        daily = figures['daily_demand'].get(item.index, 0)
        minimum = max(item.pack, round(daily * 14))
        points.append(OrderPoint(
                product=product, location=warehouse,
                type='purchase', min_quantity=minimum,
                target_quantity=minimum + max(item.pack, round(daily * 30))))
    OrderPoint.save(points)


def _close_config_wizard(config):
    "Mark the module configuration wizard done so the first login is clean"
    from proteus import Model
    Item = Model.get('ir.module.config_wizard.item')
    items = Item.find([('state', '!=', 'done')])
    for item in items:
        item.state = 'done'
    Item.save(items)
