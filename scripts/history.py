# This file is part of perpetual_inventory.  The COPYRIGHT file at the top
# level of this repository contains the full copyright notices and license
# terms.
"""Write a year of purchases and sales in bulk.

The ORM posts one move at a time (about three a second here), so a year of
history goes in with batched SQL inserts instead. Each stock move gets
exactly the journal entry account_stock_continental would post for it
(Inventory vs Goods received not invoiced on receipt, Cost of goods sold vs
Inventory on sale), numbered by the fiscal year's sequence, so that the
stock valuation still equals the inventory account, to the cent.
"""
import datetime as dt
import random
from collections import defaultdict
from decimal import ROUND_HALF_EVEN, Decimal

from .demo_data import SUPPLIERS

CENT = Decimal('0.01')
PRICE = Decimal('0.0001')
CHUNK = 500


def _round(amount):
    return amount.quantize(CENT, rounding=ROUND_HALF_EVEN)


class CostState:
    "Running cost of one product, as Tryton's cost methods compute it"

    def __init__(self, method, cost, quantity, opening_move):
        self.method = method
        self.cost = cost
        self.quantity = quantity
        # FIFO layers: [move id, quantity left, unit price]
        self.layers = [[opening_move, quantity, cost]] if quantity else []
        self.consumed = defaultdict(Decimal)

    def receive(self, move_id, quantity, unit_price):
        "Return the cost price stored on the incoming move"
        if self.method == 'average':
            total = self.quantity + quantity
            self.cost = ((self.cost * self.quantity + unit_price * quantity)
                / total).quantize(PRICE)
        elif self.method == 'fifo':
            self.layers.append([move_id, quantity, unit_price])
        self.quantity += quantity
        if self.method == 'fifo':
            self.cost = self._fifo_cost()
        return self.cost

    def issue(self, quantity):
        "Return the unit cost of the quantity leaving"
        self.quantity -= quantity
        if self.method != 'fifo':
            return self.cost
        value, left = Decimal(0), quantity
        while left and self.layers:
            layer = self.layers[0]
            taken = min(left, layer[1])
            value += taken * layer[2]
            layer[1] -= taken
            self.consumed[layer[0]] += taken
            left -= taken
            if not layer[1]:
                self.layers.pop(0)
        cost = (value / quantity).quantize(PRICE)
        self.cost = self._fifo_cost() if self.layers else cost
        return cost

    def _fifo_cost(self):
        quantity = sum(l[1] for l in self.layers)
        if not quantity:
            return self.cost
        return (sum(l[1] * l[2] for l in self.layers) / quantity).quantize(
            PRICE)


class Writer:
    "Collect rows per table and insert them in chunks with explicit ids"

    def __init__(self, pool, transaction):
        self.pool = pool
        self.transaction = transaction
        self.cursor = transaction.connection.cursor()
        self.rows = defaultdict(list)
        self.columns = {}
        self.next_ids = {}
        self.user = transaction.user
        self.now = dt.datetime.now()

    def next_id(self, model):
        table = self.pool.get(model).__table__()
        name = table._name
        if name not in self.next_ids:
            self.cursor.execute(*table.select(
                    table.id, order_by=table.id.desc, limit=1))
            row = self.cursor.fetchone()
            self.next_ids[name] = (row[0] if row else 0) + 1
        value = self.next_ids[name]
        self.next_ids[name] += 1
        return value

    def add(self, model, values):
        values = dict(values)
        values.setdefault('id', self.next_id(model))
        values['create_uid'] = self.user
        values['create_date'] = self.now
        key = (model, tuple(sorted(values)))
        self.rows[key].append(values)
        return values['id']

    def flush(self):
        database = self.transaction.database
        for (model, columns), rows in self.rows.items():
            table = self.pool.get(model).__table__()
            sql_columns = [getattr(table, c) for c in columns]
            for i in range(0, len(rows), CHUNK):
                chunk = rows[i:i + CHUNK]
                self.cursor.execute(*table.insert(
                        sql_columns, [[r[c] for c in columns] for r in chunk]))
        for name, value in self.next_ids.items():
            database.setnextid(self.transaction.connection, name, value)
        self.rows.clear()


def write_history(database_name, company_id, items, products, bins,
        suppliers, customers, opening, start, today, seed, out=print):
    """Simulate the shop from start to the day before today and store it.

    Returns:
        A dict of figures: products, moves, purchases, sales and the
        average daily demand of the last 90 days per item index.
    """
    from trytond.transaction import TransactionError
    from trytond.pool import Pool
    from trytond.transaction import Transaction

    # Numbering takes locks that Tryton wants taken at the start of the
    # transaction: run again with them, as Tryton's dispatcher does.
    extras = {}
    while True:
        with Transaction().start(database_name, 1, context={
                    'company': company_id}, **extras) as transaction:
            pool = Pool()
            try:
                figures = _write(pool, transaction, company_id, items,
                    [p.id for p in products], [b.id for b in bins],
                    [s.id for s in suppliers], [c.id for c in customers],
                    opening, start, today, seed, out)
            except TransactionError as exception:
                transaction.rollback()
                exception.fix(extras)
                continue
            transaction.commit()
        return figures


def _write(pool, transaction, company_id, items, product_ids, bin_ids,
        supplier_ids, customer_ids, opening, start, today, seed, out):
    Company = pool.get('company.company')
    Location = pool.get('stock.location')
    Move = pool.get('stock.move')
    Product = pool.get('product.product')
    Party = pool.get('party.party')
    Period = pool.get('account.period')
    Configuration = pool.get('account.configuration')
    ProductSupplier = pool.get('purchase.product_supplier')

    rng = random.Random(seed + 2)
    company = Company(company_id)
    currency = company.currency.id
    supplier_location, = Location.search([('type', '=', 'supplier')])
    customer_location, = Location.search([('type', '=', 'customer')])
    warehouse, = Location.search([('type', '=', 'warehouse')])
    journal = Configuration(1).get_multivalue(
        'stock_journal', company=company_id)
    products = Product.browse(product_ids)
    parties = {p.id: p for p in Party.browse(supplier_ids + customer_ids)}
    addresses = {p.id: p.addresses[0].id for p in parties.values()}

    # The opening count moves are the first FIFO layer of each product.
    opening_moves = {}
    for move in Move.search([
                ('product', 'in', product_ids),
                ('from_location.type', '=', 'lost_found'),
                ('state', '=', 'done')]):
        opening_moves[move.product.id] = move.id

    states = {}
    main_supplier = {}
    for item, product in zip(items, products):
        states[item.index] = CostState(
            item.cost_price_method, item.cost,
            Decimal(opening.get(item.index, 0)),
            opening_moves.get(product.id))
        supplier = min(
            ProductSupplier.search([('template', '=', product.template.id)]),
            key=lambda s: s.sequence or 0)
        main_supplier[item.index] = supplier
    accounts = {}
    for product in products:
        accounts[product.id] = (
            product.account_stock_used.id,
            product.account_stock_in_used.id,
            product.account_cogs_used.id)
    unit = products[0].default_uom.id

    writer = Writer(pool, transaction)
    on_hand = {i.index: Decimal(opening.get(i.index, 0)) for i in items}
    on_order = defaultdict(Decimal)
    arrivals = defaultdict(list)  # date -> [(item index, line id, qty...)]
    demand_log = defaultdict(Decimal)
    days = (today - start).days
    periods = {}
    account_moves = defaultdict(list)  # sequence id -> [account move id]
    counts = defaultdict(int)

    def period_of(date):
        if date not in periods:
            period = Period.find(company_id, date=date)
            periods[date] = (period.id, period.move_sequence_used.id)
        return periods[date]

    def post(move_id, date, debit_account, credit_account, amount, text,
            product, location, quantity):
        stock = accounts[product][0]
        layer = {
            'move': move_id, 'company': company_id, 'product': product,
            'date': date, 'location': location, 'warehouse': warehouse.id,
            'quantity': float(quantity), 'currency': currency,
            'account': stock, 'kind': 'move', 'account_move': None,
            'value': amount if debit_account == stock else -amount,
            }
        if not amount:
            writer.add('stock.valuation.layer', layer)
            return
        period, sequence = period_of(date)
        account_move = writer.add('account.move', {
                'company': company_id, 'journal': journal.id,
                'period': period, 'date': date, 'post_date': date,
                'state': 'posted', 'origin': 'stock.move,%d' % move_id,
                'description': text,
                })
        account_moves[sequence].append(account_move)
        layer['account_move'] = account_move
        writer.add('stock.valuation.layer', layer)
        for account, debit, credit in [
                (debit_account, amount, Decimal(0)),
                (credit_account, Decimal(0), amount)]:
            writer.add('account.move.line', {
                    'move': account_move, 'account': account,
                    'debit': debit, 'credit': credit, 'state': 'valid',
                    })

    for offset in range(1, days):
        date = start + dt.timedelta(days=offset)
        # Goods arrive in the morning.
        for index, line_id, quantity, unit_price, planned in arrivals.pop(
                date, []):
            item = items[index]
            product = products[index]
            move_id = writer.next_id('stock.move')
            cost = states[index].receive(move_id, quantity, unit_price)
            writer.add('stock.move', {
                    'id': move_id, 'product': product.id,
                    'quantity': float(quantity),
                    'internal_quantity': float(quantity), 'unit': unit,
                    'from_location': supplier_location.id,
                    'to_location': bin_ids[index % len(bin_ids)],
                    'planned_date': planned, 'effective_date': date,
                    'state': 'done', 'company': company_id,
                    'currency': currency, 'unit_price': unit_price,
                    'cost_price': cost, 'product_cost_price': None,
                    'origin': 'purchase.line,%d' % line_id,
                    'unit_price_updated': False, 'fifo_quantity': 0.0,
                    })
            stock, stock_in, _ = accounts[product.id]
            value = unit_price if item.cost_price_method != 'fixed' else (
                item.cost)
            post(move_id, date, stock, stock_in, _round(quantity * value),
                "Receipt: %s u %s" % (quantity, item.name), product.id,
                bin_ids[index % len(bin_ids)], quantity)
            on_hand[index] += quantity
            on_order[index] -= quantity
            counts['moves'] += 1

        # Customers.
        sold = []
        for item in items:
            wanted = Decimal(item.demand(rng, offset, date, days))
            served = min(wanted, on_hand[item.index])
            if served > 0:
                sold.append((item.index, served))
                on_hand[item.index] -= served
            if days - offset <= 90:
                demand_log[item.index] += served
        if sold:
            _write_sales(writer, rng, date, sold, items, products, states,
                accounts, customer_ids, addresses, company_id, currency,
                warehouse.id, bin_ids, customer_location.id, unit, post,
                counts)

        # The buyer reviews the stock in the evening, Monday to Friday.
        if date.weekday() < 5:
            orders = defaultdict(list)
            for item in items:
                index = item.index
                supplier = main_supplier[index]
                lead = supplier.lead_time.days
                minimum = Decimal(item.rate * (lead + 7) * 1.2).quantize(
                    Decimal(1))
                target = minimum + Decimal(item.rate * 30).quantize(
                    Decimal(1))
                position = on_hand[index] + on_order[index]
                if position > minimum:
                    continue
                quantity = max(target - position, Decimal(1))
                pack = Decimal(item.pack)
                quantity = max(
                    (quantity / pack).to_integral_value(
                        rounding='ROUND_CEILING') * pack,
                    Decimal(item.minimum))
                orders[supplier].append((index, quantity))
                on_order[index] += quantity
            for supplier, lines in orders.items():
                _write_purchase(writer, rng, date, today, supplier, lines,
                    items, products, company_id, currency, warehouse.id,
                    addresses, unit, arrivals, bin_ids, supplier_location.id,
                    counts)

    # Orders still on their way stay open: their moves wait for the goods.
    for date, lines in arrivals.items():
        for index, line_id, quantity, unit_price, planned in lines:
            writer.add('stock.move', {
                    'product': products[index].id,
                    'quantity': float(quantity),
                    'internal_quantity': float(quantity), 'unit': unit,
                    'from_location': supplier_location.id,
                    'to_location': bin_ids[index % len(bin_ids)],
                    'planned_date': planned, 'state': 'draft',
                    'company': company_id, 'currency': currency,
                    'unit_price': unit_price,
                    'origin': 'purchase.line,%d' % line_id,
                    'unit_price_updated': False, 'fifo_quantity': 0.0,
                    })
    _number_documents(pool, writer, account_moves, counts)
    writer.flush()
    _write_costs(pool, transaction, items, products, states, company_id)
    counts['products'] = len(items)
    counts['daily_demand'] = {
        index: float(quantity) / 90 for index, quantity in demand_log.items()}
    return dict(counts)


def _write_sales(writer, rng, date, sold, items, products, states,
        accounts, customer_ids, addresses, company_id, currency, warehouse,
        bin_ids, customer_location, unit, post, counts):
    "Split the day's sales into a few customer orders"
    orders = defaultdict(list)
    customers = rng.sample(customer_ids, k=min(
            len(customer_ids), rng.randint(1, 3)))
    for index, quantity in sold:
        orders[rng.choice(customers)].append((index, quantity))
    for customer, lines in orders.items():
        sale = writer.add('sale.sale', {
                'company': company_id, 'party': customer,
                'invoice_party': None, 'shipment_party': None,
                'invoice_address': addresses[customer],
                'shipment_address': addresses[customer],
                'currency': currency, 'warehouse': warehouse,
                'sale_date': date, 'state': 'done',
                'invoice_method': 'manual', 'shipment_method': 'order',
                'invoice_state': 'none', 'shipment_state': 'sent',
                })
        writer.rows_sale = getattr(writer, 'rows_sale', [])
        writer.rows_sale.append(sale)
        counts['sales'] += 1
        for sequence, (index, quantity) in enumerate(lines, 1):
            item = items[index]
            product = products[index]
            line = writer.add('sale.line', {
                    'sale': sale, 'type': 'line', 'sequence': sequence,
                    'product': product.id, 'quantity': float(quantity),
                    'unit': unit, 'unit_price': item.list_price,
                    'description': item.name,
                    })
            cost = states[index].issue(quantity)
            move_id = writer.add('stock.move', {
                    'product': product.id, 'quantity': float(quantity),
                    'internal_quantity': float(quantity), 'unit': unit,
                    'from_location': bin_ids[index % len(bin_ids)],
                    'to_location': customer_location,
                    'planned_date': date, 'effective_date': date,
                    'state': 'done', 'company': company_id,
                    'currency': currency, 'unit_price': item.list_price,
                    'cost_price': cost, 'product_cost_price': None,
                    'origin': 'sale.line,%d' % line,
                    'unit_price_updated': False, 'fifo_quantity': 0.0,
                    })
            stock, _, stock_out = accounts[product.id]
            post(move_id, date, stock_out, stock, _round(quantity * cost),
                "Delivery: %s u %s" % (quantity, item.name), product.id,
                bin_ids[index % len(bin_ids)], -quantity)
            counts['moves'] += 1


def _write_purchase(writer, rng, date, today, supplier, lines, items,
        products, company_id, currency, warehouse, addresses, unit,
        arrivals, bin_ids, supplier_location, counts):
    "Order from the supplier; the goods arrive after a random lead time"
    spread = dict((s[0], s[3]) for s in SUPPLIERS)[supplier.party.name]
    quoted = supplier.lead_time.days
    lead_time = max(1, round(rng.gauss(quoted, spread)))
    arrival = date + dt.timedelta(days=lead_time)
    # Goods arriving on Sunday are received on Monday.
    if arrival.weekday() == 6:
        arrival += dt.timedelta(days=1)
    received = arrival < today
    purchase = writer.add('purchase.purchase', {
            'company': company_id, 'party': supplier.party.id,
            'invoice_party': None,
            'invoice_address': addresses[supplier.party.id],
            'currency': currency, 'warehouse': warehouse,
            'purchase_date': date,
            'state': 'done' if received else 'processing',
            'invoice_method': 'manual', 'invoice_state': 'none',
            'shipment_state': 'received' if received else 'waiting',
            })
    writer.rows_purchase = getattr(writer, 'rows_purchase', [])
    writer.rows_purchase.append(purchase)
    counts['purchases'] += 1
    drift = Decimal(1) + Decimal(
        (date - dt.date(2000, 1, 1)).days % 365) / Decimal(10000)
    for sequence, (index, quantity) in enumerate(lines, 1):
        item = items[index]
        unit_price = (item.cost * drift * Decimal(str(
                    round(rng.uniform(0.97, 1.03), 3)))).quantize(PRICE)
        line = writer.add('purchase.line', {
                'purchase': purchase, 'type': 'line', 'sequence': sequence,
                'product': products[index].id, 'quantity': float(quantity),
                'unit': unit, 'unit_price': unit_price,
                'description': item.name, 'product_supplier': supplier.id,
                })
        arrivals[arrival].append((
                index, line, quantity, unit_price,
                date + dt.timedelta(days=quoted)))


def _number_documents(pool, writer, account_moves, counts):
    "Number the entries, purchases and sales with their own sequences"
    Sequence = pool.get('ir.sequence.strict')
    PurchaseConfig = pool.get('purchase.configuration')
    SaleConfig = pool.get('sale.configuration')

    numbers = {}
    for sequence_id, move_ids in account_moves.items():
        sequence = Sequence(sequence_id)
        for move_id, number in zip(
                move_ids, sequence.get_many(len(move_ids))):
            numbers[move_id] = number
    for (model, _), rows in writer.rows.items():
        if model == 'account.move':
            for row in rows:
                row['number'] = numbers[row['id']]
    purchase_sequence = PurchaseConfig(1).get_multivalue(
        'purchase_sequence')
    sale_sequence = SaleConfig(1).get_multivalue('sale_sequence')
    for model, ids, sequence in [
            ('purchase.purchase', getattr(writer, 'rows_purchase', []),
                purchase_sequence),
            ('sale.sale', getattr(writer, 'rows_sale', []), sale_sequence)]:
        numbers = dict(zip(ids, sequence.get_many(len(ids))))
        for (row_model, _), rows in writer.rows.items():
            if row_model == model:
                for row in rows:
                    row['number'] = numbers[row['id']]
    # The number column joins the key of these rows: regroup them.
    regrouped = defaultdict(list)
    for (model, _), rows in writer.rows.items():
        for row in rows:
            regrouped[(model, tuple(sorted(row)))].append(row)
    writer.rows = regrouped


def _write_costs(pool, transaction, items, products, states, company_id):
    "Store the cost price each product ends with and the FIFO consumption"
    Product = pool.get('product.product')
    Move = pool.get('stock.move')
    cursor = transaction.connection.cursor()
    move = Move.__table__()
    for item, product in zip(items, products):
        state = states[item.index]
        for move_id, quantity in state.consumed.items():
            if move_id:
                cursor.execute(*move.update(
                        [move.fifo_quantity], [float(quantity)],
                        where=move.id == move_id))
    Product.write(*sum((
                [[p], {'cost_price': states[i.index].cost}]
                for i, p in zip(items, products)), []))
