# This file is part of perpetual_inventory.  The COPYRIGHT file at the top
# level of this repository contains the full copyright notices and license
# terms.
"""Write a year of purchases and sales in bulk.

The ORM posts one move at a time (about three a second here), so a year of
history goes in with batched SQL inserts instead, as the documents Tryton
itself writes:

- purchase orders (invoiced on order), their supplier shipment
  (``stock.shipment.in``, one step: received into the bins) and the
  supplier invoice, posted when it arrives a few days after the goods and
  paid at its term;
- sales orders, their customer shipment (``stock.shipment.out``, picked
  from the bins) and the customer invoice posted on the day, paid at once
  over the counter or at the customer's term.

Each stock move is valued by the costing engine (core/costing through
core/moves, as the models value a done move, so that the audit finds the
same figures) and gets the journal entry account_stock_continental posts
for it (Inventory vs Goods received not invoiced on receipt, Cost of goods
sold vs Inventory on delivery) with its valuation layer and, for a
delivery, its trail of consumptions; each invoice
its entry (Goods received not invoiced vs Payable, Receivable vs Revenue)
and each payment its entry reconciled with the invoice's. Entries are
numbered by the fiscal year's sequence in date order, invoices, shipments,
purchases and sales by their own sequences, so that the stock valuation
equals the inventory account, to the cent, and Goods received not invoiced
holds the goods received and not invoiced yet.
"""
import datetime as dt
import random
import re
from collections import defaultdict
from decimal import ROUND_HALF_EVEN, Decimal

from ..core import costing, moves
from ..models.costing import product_cost
from .demo_data import SUPPLIERS

CENT = Decimal('0.01')
PRICE = Decimal('0.0001')
CHUNK = 500


def _round(amount):
    return amount.quantize(CENT, rounding=ROUND_HALF_EVEN)


class CostState:
    """Running cost of one product: the costing engine's state.

    Each move of the history goes through the one rule of core/moves and
    the engine of core/costing, as the models value a done move, so that
    the history's entries and layers are what the audit replays.
    """

    def __init__(self, method, cost, quantity, opening_move, date=None):
        method = costing.normalize_method(method)
        self.state = costing.initial_state(method,
            standard_cost=cost if method == costing.STANDARD else None,
            last_cost=cost)
        self.consumed = defaultdict(Decimal)
        self.trails = {}
        if quantity:
            # The opening count, valued as posted (at the product's cost).
            self.apply(moves.MoveFact(opening_move, date, 'lost_found',
                    'storage', Decimal(quantity), cost))

    def apply(self, fact):
        "Return the engine's Result of the done move"
        event = moves.event(fact, self.trails.get(fact.returned, ()))
        self.state, result = costing.apply(self.state, event)
        if result.consumptions:
            self.trails[fact.ref] = result.consumptions
            for consumption in result.consumptions:
                if not consumption.provisional:
                    self.consumed[consumption.layer_ref] += (
                        consumption.quantity)
        return result

    @property
    def cost(self):
        "Return the product's cost price as Tryton stores it"
        return product_cost(self.state)

    def receive(self, move_id, date, quantity, unit_price):
        "Return the Result of a receipt"
        return self.apply(moves.MoveFact(
                move_id, date, 'supplier', 'storage', quantity, unit_price))

    def issue(self, move_id, date, quantity):
        "Return the Result of a delivery"
        return self.apply(moves.MoveFact(
                move_id, date, 'storage', 'customer', quantity))


class Writer:
    "Collect rows per table and insert them in chunks with explicit ids"

    # Tables referenced by others go first (PostgreSQL checks foreign keys
    # at once).
    ORDER = [
        'account.move', 'account.move.reconciliation', 'account.move.line',
        'purchase.purchase', 'purchase.line', 'sale.sale', 'sale.line',
        'stock.shipment.in', 'stock.shipment.out', 'stock.move',
        'stock.valuation.layer', 'stock.valuation.consumption', 'account.invoice', 'account.invoice.line',
        'account.invoice.line-stock.move',
        'account.invoice-account.move.line',
        ]

    def __init__(self, pool, transaction):
        self.pool = pool
        self.transaction = transaction
        self.cursor = transaction.connection.cursor()
        self.rows = defaultdict(dict)  # model -> {id: values}
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
        self.rows[model][values['id']] = values
        return values['id']

    def set(self, model, id_, **values):
        "Change columns of a row not written yet"
        self.rows[model][id_].update(values)

    def flush(self):
        database = self.transaction.database
        models = sorted(self.rows, key=lambda m: (
                self.ORDER.index(m) if m in self.ORDER else len(self.ORDER)))
        for model in models:
            table = self.pool.get(model).__table__()
            groups = defaultdict(list)
            for row in self.rows[model].values():
                groups[tuple(sorted(row))].append(row)
            for columns, rows in groups.items():
                sql_columns = [getattr(table, c) for c in columns]
                for i in range(0, len(rows), CHUNK):
                    chunk = rows[i:i + CHUNK]
                    self.cursor.execute(*table.insert(sql_columns,
                            [[r[c] for c in columns] for r in chunk]))
        for name, value in self.next_ids.items():
            database.setnextid(self.transaction.connection, name, value)
        self.rows.clear()


def write_history(database_name, company_id, items, products, bins,
        suppliers, customers, opening, start, today, seed, ledger,
        out=print):
    """Simulate the shop from start to the day before today and store it.

    Args:
        ledger: the ids of the accounts the documents post to (receivable,
            payable, cash, grni, revenue, variance) and of the payment
            terms of the suppliers and customers (terms: party id -> days).

    Returns:
        A dict of figures: products, moves, purchases, sales, shipments,
        invoices, payments and the average daily demand of the last 90
        days per item index.
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
                    opening, start, today, seed, ledger, out)
            except TransactionError as exception:
                transaction.rollback()
                exception.fix(extras)
                continue
            transaction.commit()
        return figures


class Books:
    """The entries, invoices and payments of the history.

    Entries are written as they happen and numbered at the end in date
    order (one strict sequence per fiscal year, as Tryton posts them day
    after day); documents get their numbers the same way.
    """

    def __init__(self, pool, writer, company_id, ledger, today, counts):
        Journal = pool.get('account.journal')
        self.pool = pool
        self.writer = writer
        self.company = company_id
        self.ledger = ledger
        self.today = today
        self.counts = counts
        self.journals = {j.code: j.id for j in Journal.search([])}
        self.periods = {}
        self.fiscal_years = {}
        # sequence key -> [(date, model, row id)]
        self.to_number = defaultdict(list)
        self.currency = None

    def period_of(self, date):
        "Return the period, its entry sequence and invoice sequences"
        Period = self.pool.get('account.period')
        if date not in self.periods:
            period = Period.find(self.company, date=date)
            invoice_sequences, = period.fiscalyear.invoice_sequences
            self.periods[date] = (period.id, period.move_sequence_used.id, {
                    'out': invoice_sequences.out_invoice_sequence.id,
                    'in': invoice_sequences.in_invoice_sequence.id,
                    })
        return self.periods[date]

    def number(self, sequence, date, model, row_id):
        self.to_number[sequence].append((date, model, row_id))

    def entry(self, journal, date, origin, description, lines):
        """Write a posted entry and return its id and its lines' ids.

        lines: (account, debit, credit, party, maturity date, origin)
        """
        period, sequence, _ = self.period_of(date)
        move = self.writer.add('account.move', {
                'company': self.company, 'journal': journal,
                'period': period, 'date': date, 'post_date': date,
                'state': 'posted', 'origin': origin,
                'description': description,
                })
        self.number(('ir.sequence.strict', sequence), date, 'account.move',
            move)
        ids = []
        for account, debit, credit, party, maturity, line_origin in lines:
            ids.append(self.writer.add('account.move.line', {
                        'move': move, 'account': account,
                        'debit': debit, 'credit': credit, 'state': 'valid',
                        'party': party, 'maturity_date': maturity,
                        'origin': line_origin, 'reconciliation': None,
                        }))
        return move, ids

    def invoice(self, type_, party, address, date, lines, term_days,
            reference=None, post=True):
        """Write an invoice and, when posted, its entry.

        lines: (values of the line, account, amount); return the invoice
        id, the ids of its lines and the id of the line to pay (None for a
        draft).
        """
        writer = self.writer
        total = sum((a for _, _, a in lines), Decimal(0))
        invoice = writer.add('account.invoice', {
                'company': self.company, 'type': type_, 'party': party,
                'invoice_address': address, 'currency': self.currency,
                'journal': self.journals['REV' if type_ == 'out' else 'EXP'],
                'account': self.ledger[
                    'receivable' if type_ == 'out' else 'payable'],
                'payment_term': self.ledger['terms'].get(party),
                'invoice_date': date if post else None,
                'accounting_date': None, 'reference': reference,
                'state': 'posted' if post else 'draft',
                'untaxed_amount_cache': total if post else None,
                'tax_amount_cache': Decimal(0) if post else None,
                'total_amount_cache': total if post else None,
                'sequence_type_cache': 'invoice' if post else None,
                'move': None, 'number': None,
                'number_alnum': None, 'number_digit': None,
                'description': None, 'comment': None,
                })
        line_ids = []
        for sequence, (values, account, amount) in enumerate(lines, 1):
            values = dict(values, invoice=invoice, type='line',
                sequence=sequence, account=account, currency=self.currency,
                company=self.company, invoice_type=None, party=None)
            line_ids.append(writer.add('account.invoice.line', values))
        if not post:
            return invoice, line_ids, None
        _, _, invoice_sequences = self.period_of(date)
        self.number(('ir.sequence.strict', invoice_sequences[type_]), date,
            'account.invoice', invoice)
        sign = 1 if type_ == 'out' else -1
        maturity = date + dt.timedelta(
            days=self.ledger['term_days'].get(party, 0))
        move_lines = []
        for line_id, (_, account, amount) in zip(line_ids, lines):
            move_lines.append((account,
                    max(-sign * amount, Decimal(0)),
                    max(sign * amount, Decimal(0)), None, None,
                    'account.invoice.line,%d' % line_id))
        move_lines.append((
                self.ledger['receivable' if type_ == 'out' else 'payable'],
                max(sign * total, Decimal(0)),
                max(-sign * total, Decimal(0)), party, maturity, None))
        move, ids = self.entry(
            self.journals['REV' if type_ == 'out' else 'EXP'], date,
            'account.invoice,%d' % invoice, None, move_lines)
        writer.set('account.invoice', invoice, move=move)
        self.counts['invoices'] += 1
        return invoice, line_ids, (ids[-1], total, maturity)

    def pay(self, invoice, type_, party, to_pay, date):
        "Write the payment of the invoice, reconciled with its entry"
        line, amount, _ = to_pay
        sign = 1 if type_ == 'out' else -1
        account = self.ledger['receivable' if type_ == 'out' else 'payable']
        _, (paid, _) = self.entry(self.journals['CASH'], date, None,
            "Payment", [
                (account, max(-sign * amount, Decimal(0)),
                    max(sign * amount, Decimal(0)), party, None, None),
                (self.ledger['cash'], max(sign * amount, Decimal(0)),
                    max(-sign * amount, Decimal(0)), None, None, None),
                ])
        reconciliation = self.writer.add('account.move.reconciliation', {
                'company': self.company, 'date': date,
                'delegate_to': None,
                })
        self.number(('ir.sequence', self.ledger['reconciliation_sequence']),
            date, 'account.move.reconciliation', reconciliation)
        self.writer.set('account.move.line', line,
            reconciliation=reconciliation)
        self.writer.set('account.move.line', paid,
            reconciliation=reconciliation)
        self.writer.add('account.invoice-account.move.line', {
                'invoice': invoice, 'line': paid})
        self.writer.set('account.invoice', invoice, state='paid')
        self.counts['payments'] += 1

    def assign_numbers(self):
        "Number the entries and documents in date order"
        pool = self.pool
        Strict = pool.get('ir.sequence.strict')
        Sequence = pool.get('ir.sequence')
        for (model, sequence_id), rows in sorted(self.to_number.items()):
            sequence = (Strict if model == 'ir.sequence.strict'
                else Sequence)(sequence_id)
            rows.sort(key=lambda r: (r[0], r[2]))
            for (date, row_model, row_id), number in zip(
                    rows, sequence.get_many(len(rows))):
                values = {'number': number}
                if row_model == 'account.invoice':
                    values['number_alnum'] = re.sub(r'[\W_]', '', number)
                    digits = re.sub(r'\D', '', number)[-18:]
                    values['number_digit'] = int(digits) if digits else None
                self.writer.set(row_model, row_id, **values)


def _write(pool, transaction, company_id, items, product_ids, bin_ids,
        supplier_ids, customer_ids, opening, start, today, seed, ledger,
        out):
    Company = pool.get('company.company')
    Location = pool.get('stock.location')
    Move = pool.get('stock.move')
    Product = pool.get('product.product')
    Party = pool.get('party.party')
    Configuration = pool.get('account.configuration')
    ProductSupplier = pool.get('purchase.product_supplier')
    PurchaseConfig = pool.get('purchase.configuration')
    SaleConfig = pool.get('sale.configuration')
    StockConfig = pool.get('stock.configuration')

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
    stock_config = StockConfig(1)
    sequences = {
        'purchase': PurchaseConfig(1).get_multivalue(
            'purchase_sequence').id,
        'sale': SaleConfig(1).get_multivalue('sale_sequence').id,
        'shipment_in': stock_config.get_multivalue(
            'shipment_in_sequence', company=company_id).id,
        'shipment_out': stock_config.get_multivalue(
            'shipment_out_sequence', company=company_id).id,
        }

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
            opening_moves.get(product.id), start)
        supplier = min(
            ProductSupplier.search([('template', '=', product.template.id)]),
            key=lambda s: s.sequence or 0)
        main_supplier[item.index] = supplier
    accounts = {}
    for product in products:
        accounts[product.id] = (
            product.account_stock_used.id,
            product.account_stock_in_used.id,
            product.account_cogs_used.id,
            product.account_revenue_used.id)
    unit = products[0].default_uom.id

    writer = Writer(pool, transaction)
    counts = defaultdict(int)
    ledger = dict(ledger, reconciliation_sequence=Configuration(
            1).get_multivalue('reconciliation_sequence',
            company=company_id).id)
    books = Books(pool, writer, company_id, ledger, today, counts)
    books.currency = currency
    context = {
        'writer': writer, 'books': books, 'rng': rng, 'items': items,
        'products': products, 'states': states, 'accounts': accounts,
        'addresses': addresses, 'company': company_id, 'currency': currency,
        'warehouse': warehouse.id, 'bins': bin_ids, 'unit': unit,
        'storage': warehouse.storage_location.id,
        'customer_location': customer_location.id,
        'supplier_location': supplier_location.id, 'counts': counts,
        'sequences': sequences, 'today': today, 'ledger': ledger,
        }
    on_hand = {i.index: Decimal(opening.get(i.index, 0)) for i in items}
    on_order = defaultdict(Decimal)
    arrivals = defaultdict(list)  # date -> [purchase]
    invoicing = defaultdict(list)  # date -> [purchase]
    payments = defaultdict(list)  # date -> [(invoice, type, party, line)]
    demand_log = defaultdict(Decimal)
    days = (today - start).days

    def post(move_id, date, debit_account, credit_account, amount, text,
            product, location, quantity, variance=Decimal(0)):
        """Write the entry and the layer of a done move; variance: the
        purchase price less the standard cost of a receipt under fixed
        cost, on the price variance account (as models/stock.py books it)"""
        stock = accounts[product][0]
        layer = {
            'move': move_id, 'company': company_id, 'product': product,
            'date': date, 'location': location, 'warehouse': warehouse.id,
            'quantity': float(quantity), 'currency': currency,
            'account': stock, 'kind': 'move', 'account_move': None,
            'value': amount if debit_account == stock else -amount,
            }
        if amount or variance:
            lines = [
                (debit_account, amount, Decimal(0), None, None, None),
                (credit_account, Decimal(0), amount + variance, None, None,
                    None),
                ]
            if variance:
                lines.append((ledger['variance'],
                        max(variance, Decimal(0)), max(-variance, Decimal(0)),
                        None, None, None))
            account_move, _ = books.entry(
                journal.id, date, 'stock.move,%d' % move_id, text, lines)
            layer['account_move'] = account_move
        writer.add('stock.valuation.layer', layer)
    context['post'] = post

    def consumptions(move_id, product, result):
        "Write the trail of a delivery: which receipt its units came from"
        for consumption in result.consumptions:
            if consumption.provisional or not consumption.layer_ref:
                continue
            writer.add('stock.valuation.consumption', {
                    'company': company_id, 'product': product,
                    'outgoing': move_id, 'incoming': consumption.layer_ref,
                    'quantity': float(consumption.quantity),
                    'unit_cost': consumption.unit_cost.quantize(PRICE),
                    'value': consumption.value,
                    })
    context['consumptions'] = consumptions

    for offset in range(1, days):
        date = start + dt.timedelta(days=offset)
        # Goods arrive in the morning.
        for purchase in arrivals.pop(date, []):
            _receive(context, purchase, date)
            for index, quantity in purchase['quantities']:
                on_hand[index] += quantity
                on_order[index] -= quantity
            invoicing[purchase['invoice_date']].append(purchase)
        # The supplier invoices of the day are posted.
        for purchase in invoicing.pop(date, []):
            _invoice_purchase(context, purchase, date, payments)

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
            _write_sales(context, date, sold, customer_ids, payments)

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
                purchase = _write_purchase(context, date, supplier, lines)
                arrivals[purchase['arrival']].append(purchase)

        # The payments of the day: bills due, customers paying.
        for invoice, type_, party, to_pay in payments.pop(date, []):
            books.pay(invoice, type_, party, to_pay, date)

    # Orders still on their way stay open: their moves wait for the goods
    # and their invoices, created on order, are drafts.
    for date, purchases in sorted(arrivals.items()):
        for purchase in purchases:
            _waiting(context, purchase)
    for date, purchases in sorted(invoicing.items()):
        for purchase in purchases:
            _invoice_purchase(context, purchase, None, payments)
    books.assign_numbers()
    writer.flush()
    _write_costs(pool, transaction, items, products, states, company_id)
    counts['products'] = len(items)
    counts['daily_demand'] = {
        index: float(quantity) / 90 for index, quantity in demand_log.items()}
    return dict(counts)


def _write_sales(ctx, date, sold, customer_ids, payments):
    """Split the day's sales into a few customer orders, each shipped from
    the bins and invoiced on the day"""
    writer, books, rng = ctx['writer'], ctx['books'], ctx['rng']
    items, products, states = ctx['items'], ctx['products'], ctx['states']
    company, currency, unit = ctx['company'], ctx['currency'], ctx['unit']
    bin_ids, counts = ctx['bins'], ctx['counts']
    orders = defaultdict(list)
    customers = rng.sample(customer_ids, k=min(
            len(customer_ids), rng.randint(1, 3)))
    for index, quantity in sold:
        orders[rng.choice(customers)].append((index, quantity))
    for customer, lines in orders.items():
        address = ctx['addresses'][customer]
        total = sum((_round(q * items[i].list_price) for i, q in lines),
            Decimal(0))
        term = ctx['ledger']['term_days'].get(customer, 0)
        # Customers pay at the term, some a little late.
        paid_on = date + dt.timedelta(
            days=term + (rng.randint(0, 10) if term else 0))
        paid = paid_on < ctx['today']
        sale = writer.add('sale.sale', {
                'company': company, 'party': customer,
                'invoice_party': None, 'shipment_party': None,
                'invoice_address': address, 'shipment_address': address,
                'currency': currency, 'warehouse': ctx['warehouse'],
                'sale_date': date, 'quotation_date': date,
                'state': 'done' if paid else 'processing',
                'invoice_method': 'order', 'shipment_method': 'order',
                'invoice_state': 'paid' if paid else 'awaiting payment',
                'shipment_state': 'sent',
                'payment_term': ctx['ledger']['terms'].get(customer),
                'untaxed_amount_cache': total, 'tax_amount_cache': 0,
                'total_amount_cache': total,
                'to_invoice': False, 'to_ship': False,
                'shipping_date': date,
                })
        books.number(('ir.sequence', ctx['sequences']['sale']), date,
            'sale.sale', sale)
        shipment = writer.add('stock.shipment.out', {
                'company': company, 'customer': customer,
                'delivery_address': address, 'warehouse': ctx['warehouse'],
                'warehouse_storage': ctx['storage'],
                'warehouse_output': ctx['storage'],
                'planned_date': date, 'origin_planned_date': date,
                'effective_date': date, 'state': 'done',
                'reference': None,
                })
        books.number(('ir.sequence', ctx['sequences']['shipment_out']),
            date, 'stock.shipment.out', shipment)
        counts['sales'] += 1
        counts['shipments_out'] += 1
        invoice_lines = []
        for sequence, (index, quantity) in enumerate(lines, 1):
            item = items[index]
            product = products[index]
            location = bin_ids[index % len(bin_ids)]
            line = writer.add('sale.line', {
                    'sale': sale, 'type': 'line', 'sequence': sequence,
                    'product': product.id, 'quantity': float(quantity),
                    'unit': unit, 'unit_price': item.list_price,
                    'description': item.name,
                    'actual_quantity': float(quantity),
                    'quantity_to_invoice': 0.0, 'quantity_to_ship': 0.0,
                    })
            move_id = writer.next_id('stock.move')
            result = states[index].issue(move_id, date, quantity)
            cost = (result.cost / quantity).quantize(PRICE)
            writer.add('stock.move', {
                    'id': move_id,
                    'product': product.id, 'quantity': float(quantity),
                    'internal_quantity': float(quantity), 'unit': unit,
                    'from_location': location,
                    'to_location': ctx['customer_location'],
                    'planned_date': date, 'origin_planned_date': date,
                    'effective_date': date,
                    'state': 'done', 'company': company,
                    'currency': currency, 'unit_price': item.list_price,
                    'cost_price': cost, 'product_cost_price': None,
                    'origin': 'sale.line,%d' % line,
                    'shipment': 'stock.shipment.out,%d' % shipment,
                    'unit_price_updated': False, 'fifo_quantity': 0.0,
                    })
            stock, _, cogs, _ = ctx['accounts'][product.id]
            ctx['post'](move_id, date, cogs, stock, result.cost,
                "Delivery: %s u %s" % (quantity, item.name), product.id,
                location, -quantity)
            ctx['consumptions'](move_id, product.id, result)
            counts['moves'] += 1
            invoice_lines.append(({
                        'product': product.id, 'quantity': float(quantity),
                        'unit': unit, 'unit_price': item.list_price,
                        'description': item.name,
                        'origin': 'sale.line,%d' % line,
                        'taxes_deductible_rate': Decimal(1),
                        }, ctx['accounts'][product.id][3],
                    _round(quantity * item.list_price), move_id))
        invoice, line_ids, to_pay = books.invoice('out', customer, address,
            date, [l[:3] for l in invoice_lines], None)
        for line_id, (*_, move_id) in zip(line_ids, invoice_lines):
            writer.add('account.invoice.line-stock.move', {
                    'invoice_line': line_id, 'stock_move': move_id})
        if paid:
            payments[paid_on].append((invoice, 'out', customer, to_pay))


def _write_purchase(ctx, date, supplier, lines):
    "Order from the supplier; the goods arrive after a random lead time"
    writer, books, rng = ctx['writer'], ctx['books'], ctx['rng']
    items, products = ctx['items'], ctx['products']
    spread = dict((s[0], s[3]) for s in SUPPLIERS)[supplier.party.name]
    quoted = supplier.lead_time.days
    lead_time = max(1, round(rng.gauss(quoted, spread)))
    arrival = date + dt.timedelta(days=lead_time)
    # Goods arriving on Sunday are received on Monday.
    if arrival.weekday() == 6:
        arrival += dt.timedelta(days=1)
    party = supplier.party.id
    drift = Decimal(1) + Decimal(
        (date - dt.date(2000, 1, 1)).days % 365) / Decimal(10000)
    purchase_lines = []
    for sequence, (index, quantity) in enumerate(lines, 1):
        item = items[index]
        unit_price = (item.cost * drift * Decimal(str(
                    round(rng.uniform(0.97, 1.03), 3)))).quantize(PRICE)
        purchase_lines.append((sequence, index, quantity, unit_price))
    total = sum((_round(q * p) for _, _, q, p in purchase_lines), Decimal(0))
    purchase = writer.add('purchase.purchase', {
            'company': ctx['company'], 'party': party,
            'invoice_party': None, 'invoice_address': ctx['addresses'][party],
            'currency': ctx['currency'], 'warehouse': ctx['warehouse'],
            'purchase_date': date, 'state': 'processing',
            'invoice_method': 'order', 'invoice_state': 'pending',
            'shipment_state': 'waiting',
            'payment_term': ctx['ledger']['terms'].get(party),
            'untaxed_amount_cache': total, 'tax_amount_cache': 0,
            'total_amount_cache': total, 'to_invoice': False,
            })
    books.number(('ir.sequence', ctx['sequences']['purchase']), date,
        'purchase.purchase', purchase)
    ctx['counts']['purchases'] += 1
    result = {
        'id': purchase, 'party': party, 'date': date, 'arrival': arrival,
        'planned': date + dt.timedelta(days=quoted), 'lines': [],
        'quantities': [(i, q) for _, i, q, _ in purchase_lines],
        # The supplier's invoice comes with the goods or a few days after.
        'invoice_date': arrival + dt.timedelta(days=rng.choice(
                [0, 0, 1, 2, 3, 5, 7])),
        }
    for sequence, index, quantity, unit_price in purchase_lines:
        line = writer.add('purchase.line', {
                'purchase': purchase, 'type': 'line', 'sequence': sequence,
                'product': products[index].id, 'quantity': float(quantity),
                'unit': ctx['unit'], 'unit_price': unit_price,
                'description': items[index].name,
                'product_supplier': supplier.id,
                'actual_quantity': float(quantity),
                'quantity_to_invoice': 0.0,
                })
        result['lines'].append((line, index, quantity, unit_price))
    return result


def _receive(ctx, purchase, date):
    "Receive the goods of the purchase into the bins (one shipment)"
    writer, books, items = ctx['writer'], ctx['books'], ctx['items']
    products, states = ctx['products'], ctx['states']
    company, currency, unit = ctx['company'], ctx['currency'], ctx['unit']
    bin_ids = ctx['bins']
    party = purchase['party']
    shipment = writer.add('stock.shipment.in', {
            'company': company, 'supplier': party,
            'contact_address': ctx['addresses'][party],
            'warehouse': ctx['warehouse'],
            'warehouse_input': ctx['storage'],
            'warehouse_storage': ctx['storage'],
            'planned_date': purchase['planned'],
            'origin_planned_date': purchase['planned'],
            'effective_date': date, 'state': 'done',
            'reference': 'DN-%d' % purchase['id'],
            })
    books.number(('ir.sequence', ctx['sequences']['shipment_in']), date,
        'stock.shipment.in', shipment)
    ctx['counts']['shipments_in'] += 1
    purchase['moves'] = []
    for line, index, quantity, unit_price in purchase['lines']:
        item = items[index]
        product = products[index]
        location = bin_ids[index % len(bin_ids)]
        move_id = writer.next_id('stock.move')
        result = states[index].receive(move_id, date, quantity, unit_price)
        cost = states[index].cost
        writer.add('stock.move', {
                'id': move_id, 'product': product.id,
                'quantity': float(quantity),
                'internal_quantity': float(quantity), 'unit': unit,
                'from_location': ctx['supplier_location'],
                'to_location': location,
                'planned_date': purchase['planned'],
                'origin_planned_date': purchase['planned'],
                'effective_date': date,
                'state': 'done', 'company': company,
                'currency': currency, 'unit_price': unit_price,
                'cost_price': cost, 'product_cost_price': None,
                'origin': 'purchase.line,%d' % line,
                'shipment': 'stock.shipment.in,%d' % shipment,
                'unit_price_updated': False, 'fifo_quantity': 0.0,
                })
        purchase['moves'].append(move_id)
        stock, stock_in, _, _ = ctx['accounts'][product.id]
        # inventory at the engine's value (the standard under fixed cost),
        # goods received not invoiced at the purchase price
        ctx['post'](move_id, date, stock, stock_in, result.inventory,
            "Receipt: %s u %s" % (quantity, item.name), product.id,
            location, quantity, variance=result.variance)
        ctx['counts']['moves'] += 1
    if purchase['invoice_date'] >= ctx['today']:
        # Received, the invoice still to come.
        writer.set('purchase.purchase', purchase['id'],
            shipment_state='received')


def _waiting(ctx, purchase):
    "Write the moves of a purchase whose goods have not arrived yet"
    bin_ids = ctx['bins']
    purchase['moves'] = []
    for line, index, quantity, unit_price in purchase['lines']:
        purchase['moves'].append(ctx['writer'].add('stock.move', {
                    'product': ctx['products'][index].id,
                    'quantity': float(quantity),
                    'internal_quantity': float(quantity),
                    'unit': ctx['unit'],
                    'from_location': ctx['supplier_location'],
                    'to_location': bin_ids[index % len(bin_ids)],
                    'planned_date': purchase['planned'],
                    'origin_planned_date': purchase['planned'],
                    'state': 'draft',
                    'company': ctx['company'], 'currency': ctx['currency'],
                    'unit_price': unit_price,
                    'origin': 'purchase.line,%d' % line,
                    'unit_price_updated': False, 'fifo_quantity': 0.0,
                    }))
    _invoice_purchase(ctx, purchase, None, None)


def _invoice_purchase(ctx, purchase, date, payments):
    """Write the supplier invoice of the purchase (created on order),
    posted on date (None: still a draft).

    Now and then the supplier bills a line at another price than ordered:
    the line is booked at the received value against goods received not
    invoiced, the difference on the purchase price variance account, as
    the accountant corrects the invoice Tryton proposes.
    """
    writer, books, rng = ctx['writer'], ctx['books'], ctx['rng']
    items, products = ctx['items'], ctx['products']
    party = purchase['party']
    lines = []
    for (line, index, quantity, unit_price), move_id in zip(
            purchase['lines'], purchase['moves']):
        lines.append(({
                    'product': products[index].id,
                    'quantity': float(quantity), 'unit': ctx['unit'],
                    'unit_price': unit_price,
                    'description': items[index].name,
                    'origin': 'purchase.line,%d' % line,
                    'taxes_deductible_rate': Decimal(1),
                    }, ctx['accounts'][products[index].id][1],
                _round(quantity * unit_price), move_id))
        if date and rng.random() < 0.08:
            difference = _round(quantity * unit_price * Decimal(str(
                        round(rng.uniform(-0.03, 0.03), 3))))
            if difference:
                lines.append(({
                            'product': None, 'quantity': 1.0, 'unit': None,
                            'unit_price': difference,
                            'description': "Price difference: %s" % (
                                items[index].name),
                            'origin': None,
                            'taxes_deductible_rate': Decimal(1),
                            }, ctx['ledger']['variance'], difference, None))
                ctx['counts']['price_differences'] += 1
    invoice, line_ids, to_pay = books.invoice('in', party,
        ctx['addresses'][party], date, [l[:3] for l in lines],
        None, reference='INV-%05d' % purchase['id'], post=bool(date))
    for line_id, (*_, move_id) in zip(line_ids, lines):
        if move_id:
            writer.add('account.invoice.line-stock.move', {
                    'invoice_line': line_id, 'stock_move': move_id})
    if not date:
        return
    term = ctx['ledger']['term_days'].get(party, 0)
    paid_on = date + dt.timedelta(days=term)
    if paid_on < ctx['today']:
        payments[paid_on].append((invoice, 'in', party, to_pay))
        writer.set('purchase.purchase', purchase['id'], state='done',
            invoice_state='paid', shipment_state='received')
    else:
        writer.set('purchase.purchase', purchase['id'],
            invoice_state='awaiting payment', shipment_state='received')


def _write_costs(pool, transaction, items, products, states, company_id):
    "Store the cost price each product ends with and the FIFO consumption"
    Product = pool.get('product.product')
    Move = pool.get('stock.move')
    cursor = transaction.connection.cursor()
    move = Move.__table__()
    for item, product in zip(items, products):
        state = states[item.index]
        if item.cost_price_method not in {'fifo', 'lifo'}:
            continue
        for move_id, quantity in state.consumed.items():
            if move_id:
                cursor.execute(*move.update(
                        [move.fifo_quantity], [float(quantity)],
                        where=move.id == move_id))
    Product.write(*sum((
                [[p], {'cost_price': states[i.index].cost}]
                for i, p in zip(items, products)), []))
