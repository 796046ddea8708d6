# This file is part of perpetual_inventory.  The COPYRIGHT file at the top
# level of this repository contains the full copyright notices and license
# terms.
"""The facts the audit replays, read from the database.

A few python-sql queries (the done moves, the layers per move, the posted
lines per origin and account, the other entries on inventory accounts);
the ORM only for what is per accounting category, per landed cost or per
product with a cost change. ``run`` hands them to core/audit.py.
"""
import datetime as dt
from collections import defaultdict
from decimal import Decimal

from sql import Null
from sql.aggregate import Min, Sum
from sql.conditionals import Coalesce
from sql.operators import Like, NotLike

from trytond.modules.account_product.exceptions import AccountError
from trytond.modules.product import round_price
from trytond.pool import Pool
from trytond.tools import grouped_slice
from trytond.transaction import Transaction

from ..core import audit as core_audit
from ..core.moves import COUNTERPART_ACCOUNTS, MoveFact
from .valuation import inventory_accounts

# The category accounts a replayed amount may be posted on.
ACCOUNT_NAMES = sorted(
    set(COUNTERPART_ACCOUNTS.values())
    | {'account_cogs', 'account_price_variance'})
def _date(value):
    "A date from the database (a string on SQLite)"
    if isinstance(value, str):
        return dt.date.fromisoformat(value[:10])
    return value


# The digits of the layers' values and of the sums compared.
FOUR = Decimal('0.0001')


def _decimal(value):
    """Return a Decimal of a database number: SQLite sums decimals as
    floats, rounded back to the 4 digits of the columns"""
    if isinstance(value, Decimal):
        return value
    if value is None:
        return Decimal(0)
    return Decimal(str(value)).quantize(FOUR)


def _origin_id(origin):
    return int(origin.split(',', 1)[1])


def read_moves(company_id):
    """Return per product the done moves of goods of the company, as rows
    (id, product, date, from type, to type, internal quantity, quantity,
    unit price, unit landed cost, currency, unit, returned move,
    cost price), by product, effective date and id."""
    pool = Pool()
    Move = pool.get('stock.move')
    Location = pool.get('stock.location')
    Product = pool.get('product.product')
    Template = pool.get('product.template')
    move = Move.__table__()
    source = Location.__table__()
    target = Location.__table__()
    product = Product.__table__()
    template = Template.__table__()
    cursor = Transaction().connection.cursor()
    cursor.execute(*move
        .join(source, condition=move.from_location == source.id)
        .join(target, condition=move.to_location == target.id)
        .join(product, condition=move.product == product.id)
        .join(template, condition=product.template == template.id)
        .select(
            move.id, move.product, move.effective_date, source.type,
            target.type, move.internal_quantity, move.quantity,
            move.unit_price, move.unit_landed_cost, move.currency,
            move.unit, move.returned_move, move.cost_price,
            template.default_uom,
            where=(move.company == company_id) & (move.state == 'done')
            & (template.type == 'goods'),
            order_by=[move.product, move.effective_date, move.id]))
    # fetchall: a row at a time costs more than the query itself
    return cursor.fetchall()


def read_layers(company_id):
    "Return move id -> (quantity, value), the sums of its layers"
    pool = Pool()
    Layer = pool.get('stock.valuation.layer')
    layer = Layer.__table__()
    cursor = Transaction().connection.cursor()
    cursor.execute(*layer.select(
            layer.move, Sum(layer.quantity), Sum(layer.value),
            where=(layer.company == company_id) & (layer.move != Null),
            group_by=[layer.move]))
    return {m: (q or 0, _decimal(v)) for m, q, v in cursor.fetchall()}


def read_posted(company_id, inventory):
    """Return the posted amounts per origin and account, and the product
    revaluation entries.

    The entries of a move or a landed cost are summed per origin (a move
    may have several: its own, a correction, a restatement); a
    revaluation of a product and an entry with any other origin or none
    are keyed by the entry ('account.move,<id>'), the latter only on the
    inventory accounts. Moves are keyed by their id.
    """
    pool = Pool()
    AccountMove = pool.get('account.move')
    Line = pool.get('account.move.line')
    entry = AccountMove.__table__()
    line = Line.__table__()
    cursor = Transaction().connection.cursor()
    amount = Sum(Coalesce(line.debit, 0) - Coalesce(line.credit, 0))
    join = line.join(entry, condition=line.move == entry.id)
    posted = defaultdict(dict)
    where = (entry.company == company_id) & (entry.state == 'posted')
    # The lines one by one, summed here: an entry has a line or two per
    # account, and grouping a million origins in the database costs more
    # (PostgreSQL spills the hash to disk).
    cursor.execute(*join.select(
            entry.origin, line.account,
            Coalesce(line.debit, 0) - Coalesce(line.credit, 0),
            where=where & (Like(entry.origin, 'stock.move,%')
                | Like(entry.origin, 'account.landed_cost,%'))))
    keys = {}
    for origin, account, value in cursor.fetchall():
        key = keys.get(origin)
        if key is None:
            key = keys[origin] = (_origin_id(origin)
                if origin.startswith('stock.move,') else origin)
        amounts = posted[key]
        amounts[account] = amounts.get(account, 0) + _decimal(value)
    del keys
    revaluations = []
    others = (NotLike(Coalesce(entry.origin, ''), 'stock.move,%')
        & NotLike(Coalesce(entry.origin, ''), 'account.landed_cost,%'))
    cursor.execute(*join.select(
            entry.id, entry.origin, entry.date, line.account, amount,
            where=where & others & (
                Like(entry.origin, 'product.product,%')
                | line.account.in_(list(inventory) or [-1])),
            group_by=[entry.id, entry.origin, entry.date, line.account]))
    seen = set()
    for id_, origin, date, account, value in cursor:
        key = 'account.move,%d' % id_
        posted[key][account] = _decimal(value)
        if (origin and origin.startswith('product.product,')
                and key not in seen):
            seen.add(key)
            revaluations.append((_origin_id(origin), key, _date(date), id_))
    return posted, revaluations


def category_accounts(company_id, category_ids):
    "Return category id -> {account name: account id or None}"
    pool = Pool()
    Category = pool.get('product.category')
    result = {}
    with Transaction().set_context(company=company_id):
        for category in Category.browse(
                [c for c in category_ids if c is not None]):
            accounts = {}
            for name in ACCOUNT_NAMES + ['account_stock']:
                try:
                    account = getattr(category, name + '_used')
                except AccountError:
                    account = None
                accounts[name] = account.id if account else None
            result[category.id] = accounts
    result[None] = {n: None for n in ACCOUNT_NAMES + ['account_stock']}
    return result


def landed_cost_facts(company_id):
    """Return per product the LandedCostFacts of the posted landed costs:
    each receipt's share, as account_stock_landed_cost allocated it."""
    pool = Pool()
    LandedCost = pool.get('account.landed_cost')
    facts = defaultdict(list)
    with Transaction().set_context(company=company_id):
        for landed_cost in LandedCost.search([
                    ('company', '=', company_id),
                    ('state', '=', 'posted'),
                    ]):
            currency = landed_cost.company.currency
            # the moves it was shared between, as _allocate_cost took them
            moves = [m for m in landed_cost.stock_moves() if m.quantity]
            if not moves:
                continue
            factors = landed_cost.factors or landed_cost._get_factors()
            for cost in landed_cost._costs_to_allocate(moves, factors):
                move = cost['move']
                if move.state != 'done':
                    continue
                amount = currency.round(
                    cost['unit_landed_cost'] * Decimal(str(move.quantity)))
                if amount:
                    facts[move.product.id].append(
                        core_audit.LandedCostFact(
                            str(landed_cost), landed_cost.posted_date,
                            move.id, amount))
    return facts


def cost_price_methods(company_id, template_ids):
    """Return template id -> costing method in the company (one query; the
    configuration's default for a template without a value)"""
    pool = Pool()
    Method = pool.get('product.cost_price_method')
    Template = pool.get('product.template')
    table = Method.__table__()
    cursor = Transaction().connection.cursor()
    cursor.execute(*table.select(table.template, table.cost_price_method,
            where=(table.company == company_id)
            & (table.cost_price_method != Null)))
    methods = dict(cursor)
    default = Template.default_cost_price_method(company=company_id)
    return {t: methods.get(t) or default for t in template_ids}


class _Prices:
    "The unit price of a move in the company's currency and default unit"

    def __init__(self, company):
        pool = Pool()
        self.Currency = pool.get('currency.currency')
        self.Uom = pool.get('product.uom')
        self.company = company
        self.currency = company.currency.id
        self.rates = {}
        self.prices = {}

    def __call__(self, row):
        (_, _, date, _, _, _, _, unit_price, landed, currency, unit, _, _,
            default_uom) = row
        if unit_price is None:
            return None
        if currency == self.currency:
            # the same prices come back: computed once
            key = (unit_price, landed, unit, default_uom)
            price = self.prices.get(key)
            if price is None:
                price = self.prices[key] = self._price(row)
            return price
        return self._price(row)

    def _price(self, row):
        Currency, Uom = self.Currency, self.Uom
        (_, _, date, _, _, _, _, unit_price, landed, currency, unit, _, _,
            default_uom) = row
        # The purchase price: landed costs are events of their own.
        price = _decimal(unit_price) - _decimal(landed)
        if currency != self.currency:
            key = (currency, date)
            if key not in self.rates:
                with Transaction().set_context(date=_date(date)):
                    self.rates[key] = Currency.compute(
                        Currency(currency), Decimal(1), self.company.currency,
                        round=False)
            price *= self.rates[key]
        if unit != default_uom:
            price = Uom.compute_price(Uom(unit), price, Uom(default_uom))
        return round_price(price)


def histories(company_id):
    """Return the core_audit.History of every product of the company, the
    stored layers and the posted amounts, and the inventory accounts."""
    pool = Pool()
    Company = pool.get('company.company')
    FiscalYear = pool.get('account.fiscalyear')
    Product = pool.get('product.product')
    Location = pool.get('stock.location')
    company = Company(company_id)
    precision = Decimal(1).scaleb(-company.currency.digits)
    prices = _Prices(company)
    # Continental posts the moves dated in a fiscal year of its method.
    years = [(y.start_date, y.end_date) for y in FiscalYear.search([
                ('company', '=', company_id),
                ('account_stock_method', '!=', None),
                ])]

    postings = {}

    def posting(date):
        if date not in postings:
            postings[date] = any(s <= date <= e for s, e in years)
        return postings[date]

    rows = defaultdict(list)
    for row in read_moves(company_id):
        rows[row[1]].append(row)
    products = Product.browse(sorted(rows))
    methods = cost_price_methods(
        company_id, {p.template.id for p in products})
    categories = category_accounts(company_id, {
            p.template.account_category.id
            if p.template.account_category else None for p in products})
    inventory = set(inventory_accounts(company_id))
    inventory.update(
        a['account_stock'] for a in categories.values() if a['account_stock'])
    inventory.update(w.account_stock.id for w in Location.search([
                ('type', '=', 'warehouse'),
                ('account_stock', '!=', None),
                ]) if w.account_stock.company.id == company_id)
    posted, revaluations = read_posted(company_id, inventory)
    landed = landed_cost_facts(company_id)
    changes = defaultdict(list)
    for product_id, key, date, id_ in revaluations:
        changes[product_id].append((date, id_, key))

    quantities = {}  # float -> Decimal: few distinct quantities
    result = []
    for product in products:
        product_rows = rows[product.id]
        method = methods[product.template.id]
        category = product.template.account_category
        accounts = categories[category.id if category else None]
        facts, unposted = [], set()
        by_id = {r[0]: r for r in product_rows}
        for row in product_rows:
            (id_, _, date, from_type, to_type, internal_quantity, _, _, _,
                _, _, returned, _, _) = row
            date = _date(date)
            unit_price = None
            if (from_type in {'supplier', 'production', 'lost_found'}
                    and to_type == 'storage'):
                unit_price = prices(row)
            elif from_type == 'storage' and to_type == 'supplier':
                # as the models: the price of the receipt it sends back,
                # else its own
                source = by_id.get(returned)
                unit_price = prices(source) if source else None
                if unit_price is None:
                    unit_price = prices(row)
            quantity = quantities.get(internal_quantity)
            if quantity is None:
                quantity = quantities[internal_quantity] = Decimal(
                    str(internal_quantity))
            facts.append(MoveFact(
                    id_, date, from_type, to_type, quantity, unit_price,
                    returned))
            if not posting(date):
                unposted.add(id_)
        extra = list(landed.get(product.id, []))
        if extra:
            facts = sorted(facts + extra, key=core_audit.booking_key)
        if changes.get(product.id):
            facts = _cost_changes(
                product, company_id, changes[product.id], product_rows,
                facts)
        # The cost the first move was done at: the standard in force, or
        # the product's cost an opening count is valued at.
        initial_cost = next((_decimal(r[12]) for r in product_rows
                if r[12] is not None), Decimal(0))
        if method == 'fixed':
            facts = _standard_changes(facts, product_rows, initial_cost)
        result.append(core_audit.History(
                product.id, method, tuple(facts), accounts,
                initial_cost=initial_cost, precision=precision,
                unposted=frozenset(unposted)))
    return result, read_layers(company_id), posted, inventory


def _standard_changes(facts, rows, standard):
    """Return the facts with a CostChangeFact before each move done at
    another standard cost than the one in force.

    A standard changed while nothing is on hand posts no entry, yet the
    moves after it are done at the new standard (a move of a fixed-cost
    product carries the standard as its cost price). Its ref is
    ('standard', move id).
    """
    costs = {r[0]: _decimal(r[12]) for r in rows if r[12] is not None}
    result = []
    for fact in facts:
        if isinstance(fact, core_audit.CostChangeFact):
            standard = fact.unit_cost
        elif isinstance(fact, MoveFact):
            cost = costs.get(fact.ref)
            if cost is not None and cost != standard:
                result.append(core_audit.CostChangeFact(
                        ('standard', fact.ref), fact.date, cost))
                standard = cost
        result.append(fact)
    return result


def _first_entries(move_ids):
    "Return move id -> the id of its first posted entry"
    pool = Pool()
    AccountMove = pool.get('account.move')
    entry = AccountMove.__table__()
    cursor = Transaction().connection.cursor()
    result = {}
    for sub in grouped_slice(sorted(move_ids)):
        cursor.execute(*entry.select(
                entry.origin, Min(entry.id),
                where=entry.origin.in_(['stock.move,%d' % i for i in sub])
                & (entry.state == 'posted'),
                group_by=[entry.origin]))
        for origin, id_ in cursor:
            result[_origin_id(origin)] = id_
    return result


def _cost_changes(product, company_id, entries, rows, facts):
    """Return the facts with the CostChangeFacts of a product's
    revaluation entries in place.

    A change comes before the moves of later days and before the moves of
    its day posted after it (their first entry is numbered after its
    entry): it happened between them. Its new cost is the one the next
    move was done at (the cost in force after the change), or the
    product's cost today.
    """
    costs = {r[0]: _decimal(r[12]) for r in rows if r[12] is not None}
    first = _first_entries(
        [f.ref for f in facts if isinstance(f, MoveFact)])
    facts = list(facts)
    for date, id_, key in sorted(entries, key=lambda e: e[1]):
        index = next((i for i, f in enumerate(facts)
                if isinstance(f, MoveFact) and (f.date > date
                    or (f.date == date
                        and first.get(f.ref, id_ + 1) > id_))),
            len(facts))
        # a change after another one of the same place goes after it
        while (index < len(facts)
                and isinstance(facts[index], core_audit.CostChangeFact)):
            index += 1
        cost = next((costs[f.ref] for f in facts[index:]
                if isinstance(f, MoveFact) and f.ref in costs), None)
        if cost is None:
            with Transaction().set_context(company=company_id):
                cost = product.get_multivalue('cost_price') or Decimal(0)
        facts.insert(index, core_audit.CostChangeFact(key, date, cost))
    return facts


def run(company_id):
    "Return the core_audit.Report of the company"
    histories_, stored, posted, inventory = histories(company_id)
    return core_audit.audit(histories_, stored, posted, inventory)
