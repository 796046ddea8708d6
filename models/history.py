# This file is part of perpetual_inventory.  The COPYRIGHT file at the top
# level of this repository contains the full copyright notices and license
# terms.
"""Gather the history the order point tuning learns from.

A few python-sql queries over all the products of a batch, then numpy over
a daily grid: no per-record ORM access.  Everything is in the product's
default unit (``internal_quantity``).
"""
import datetime as dt
from dataclasses import dataclass, field
from typing import Optional

import numpy as np
from sql import Cast, Literal, Null
from sql.aggregate import Min, Sum
from sql.conditionals import Case, Coalesce
from sql.functions import Function

from trytond.pool import Pool
from trytond import backend
from trytond.model.fields import SQL_OPERATORS
from trytond.tools import grouped_slice
from trytond.transaction import Transaction

# Products per query (the ids and the fixed parameters must fit).
CHUNK = max(1, backend.MAX_QUERY_PARAMS // 2)
# Location types that hold stock inside a warehouse.
STOCK_TYPES = ('storage', 'view', 'warehouse')


@dataclass
class ProductHistory:
    "What the database knows of one product in one warehouse"
    product: int
    first_day: dt.date
    sales: np.ndarray
    stockout: np.ndarray
    on_hand: float = 0.0
    last_outgoing: Optional[dt.date] = None
    first_outgoing: Optional[dt.date] = None
    # the (order, first receipt) date ordinals (date.toordinal()) of the
    # received purchase lines: an integer array (m, 2), by order date
    receipt_ordinals: np.ndarray = field(
        default_factory=lambda: np.empty((0, 2), dtype=np.int64))
    quoted_lead_time: Optional[float] = None
    pack_multiple: float = 1.0
    minimum_order_quantity: float = 0.0
    unit_cost: float = 0.0

    @property
    def received_orders(self):
        "The (order date, first receipt date) of the received lines"
        return [(dt.date.fromordinal(o), dt.date.fromordinal(r))
            for o, r in self.receipt_ordinals.tolist()]


def _date(value):
    "Return value as a date (SQLite may answer strings)"
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, str):
        return dt.date.fromisoformat(value[:10])
    return value


def _days(value):
    "Return a TimeDelta column value in days"
    if value is None:
        return None
    if isinstance(value, dt.timedelta):
        return value.total_seconds() / 86400
    return float(value) / 86400


class _JulianDay(Function):
    "SQLite's day number of a date"
    __slots__ = ()
    _function = 'JULIANDAY'


def _day_number(column, origin):
    """Return the SQL expression of the days from ``origin`` (a date) to
    the date ``column``, an integer: numbers are read faster than dates."""
    if backend.name == 'sqlite':
        return Cast(_JulianDay(column) - _JulianDay(Literal(origin)),
            'INTEGER')
    return column - Cast(Literal(origin), 'DATE')


def _warehouse_bounds(warehouse_id):
    Location = Pool().get('stock.location')
    location = Location.__table__()
    cursor = Transaction().connection.cursor()
    cursor.execute(*location.select(location.left, location.right,
            where=location.id == warehouse_id))
    return cursor.fetchone()


def _inside(location, bounds):
    "Return the condition that location holds stock of the warehouse"
    left, right = bounds
    return ((location.left >= left) & (location.right <= right)
        & location.type.in_(STOCK_TYPES))


def _inside_query(bounds):
    "Return the query of the ids of the stock locations of the warehouse"
    Location = Pool().get('stock.location')
    location = Location.__table__()
    return location.select(location.id,
        where=_inside(location, bounds))


def _locations(bounds):
    """Return location id -> (inside, to/from customer, production) for
    the locations of the warehouse and the customer and production
    locations (any other location is outside and of no kind)."""
    Location = Pool().get('stock.location')
    location = Location.__table__()
    left, right = bounds
    cursor = Transaction().connection.cursor()
    cursor.execute(*location.select(
            location.id, location.left, location.right, location.type,
            where=((location.left >= left) & (location.right <= right))
            | location.type.in_(['customer', 'production'])))
    return {
        id_: (l >= left and r <= right and type_ in STOCK_TYPES,
            type_ == 'customer', type_ == 'production')
        for id_, l, r, type_ in cursor}


def _move_flows_query(product_ids, bounds, company_id, start, end):
    """Return the query of the done moves of the products that enter or
    leave the warehouse: product, day, from and to location, quantity.

    The day column is the number of days from ``start``; the moves are
    not summed in SQL (PostgreSQL's aggregation of a batch's moves took
    longer than sending them as numbers; numpy sums them).  With ``start``
    None, the moves before ``end`` are summed per product, from and to
    location (the opening balance) and the day column is the first day of
    a move, counted from ``end`` (negative).  The locations are classified
    in numpy.
    """
    pool = Pool()
    Move = pool.get('stock.move')
    move = Move.__table__()
    inside = _inside_query(bounds)
    where = ((move.state == 'done')
        & SQL_OPERATORS['in'](move.product, product_ids)
        & (move.company == company_id)
        & (move.from_location.in_(inside) | move.to_location.in_(inside)))
    if start is None:
        where &= move.effective_date < end
        day = Min(_day_number(move.effective_date, end))
        quantity = Sum(move.internal_quantity)
        group_by = [move.product, move.from_location, move.to_location]
    else:
        where &= (move.effective_date >= start) & (
            move.effective_date <= end)
        day = _day_number(move.effective_date, start)
        quantity = move.internal_quantity
        group_by = None
    # the types _numbers reads
    return move.select(
        Cast(move.product, 'INTEGER'), Cast(day, 'INTEGER'),
        Cast(move.from_location, 'INTEGER'),
        Cast(move.to_location, 'INTEGER'),
        Cast(Coalesce(quantity, 0), 'DOUBLE PRECISION'),
        where=where, group_by=group_by)


# The columns of a flows query (4 integers and a float) as PostgreSQL sends
# an array of them in binary (array_send): a header of 5 integers for one
# dimension, then the length and the value of each element (big-endian).
_FLOW_TYPES = ('>i4', '>i4', '>i4', '>i4', '>f8')
# product, order day and receipt day of the receipts query
_RECEIPT_TYPES = ('>i4', '>i4', '>i4')
_ARRAY_HEADER = np.dtype([('ndim', '>i4'), ('nulls', '>i4'), ('oid', '>i4'),
        ('size', '>i4'), ('lower', '>i4')])


def _array_values(data, type_):
    "Return the values of an array_send of a one-dimension array, or None"
    if data is None:
        return np.empty(0)
    data = bytes(data)
    if len(data) < _ARRAY_HEADER.itemsize:
        return None
    header = np.frombuffer(data, dtype=_ARRAY_HEADER, count=1)[0]
    element = np.dtype([('length', '>i4'), ('value', type_)])
    if (header['ndim'] != 1 or header['nulls'] != 0
            or len(data) != (_ARRAY_HEADER.itemsize
                + int(header['size']) * element.itemsize)):
        return None
    values = np.frombuffer(data, dtype=element,
        offset=_ARRAY_HEADER.itemsize)
    if (values['length'] != element['value'].itemsize).any():
        return None
    return values['value']


def _numbers(cursor, query, types=_FLOW_TYPES):
    """Return the rows of a query of numbers as a float array (rows,
    columns); ``types`` are the columns' binary types (by default the
    flows query's).

    On PostgreSQL each column comes as one binary array, read by numpy
    without a Python object per value; an answer in another layout (it
    should not happen) is read again the usual way.
    """
    if backend.name == 'postgresql':
        sql, params = tuple(query)
        columns = ', '.join('c%d' % c for c in range(len(types)))
        cursor.execute('SELECT %s FROM (%s) AS f(%s)' % (
                ', '.join('array_send(array_agg(c%d))' % c
                    for c in range(len(types))), sql, columns),
            params)
        arrays = [_array_values(data, type_)
            for data, type_ in zip(cursor.fetchone(), types)]
        if all(a is not None and a.size == arrays[0].size for a in arrays):
            out = np.empty((arrays[0].size, len(arrays)))
            for c, values in enumerate(arrays):
                out[:, c] = values
            return out
    cursor.execute(*query)
    return np.array(cursor.fetchall(), dtype=float).reshape(-1, len(types))


def _receipts(product_ids, bounds, end, company_id):
    """Return product id -> integer array ``(m, 2)`` of the date ordinals
    of the order and of the first receipt of the purchase lines of the
    products received in the warehouse, by order date.

    The purchase line is joined on the id part of the move's origin: the
    moves of the products come from their index, each line and purchase
    from its primary key.  The dates are read as day numbers.
    """
    pool = Pool()
    Move = pool.get('stock.move')
    Location = pool.get('stock.location')
    Line = pool.get('purchase.line')
    Purchase = pool.get('purchase.purchase')
    move = Move.__table__()
    to = Location.__table__()
    line = Line.__table__()
    purchase = Purchase.__table__()
    cursor = Transaction().connection.cursor()
    line_id = Move.origin.sql_id(move.origin, Line)
    parts = []
    for sub_ids in grouped_slice(product_ids, CHUNK):
        parts.append(_numbers(cursor, move
                .join(to, condition=move.to_location == to.id)
                .join(line, condition=line.id == line_id)
                .join(purchase, condition=line.purchase == purchase.id)
                .select(Cast(line.product, 'INTEGER'),
                    Cast(_day_number(purchase.purchase_date, end),
                        'INTEGER'),
                    Cast(Min(_day_number(move.effective_date, end)),
                        'INTEGER'),
                    where=(move.state == 'done')
                    & move.origin.like('purchase.line,%')
                    & SQL_OPERATORS['in'](move.product, list(sub_ids))
                    & (move.company == company_id)
                    & (move.effective_date <= end)
                    & _inside(to, bounds)
                    & (purchase.purchase_date != Null),
                    group_by=[line.id, line.product,
                        purchase.purchase_date]),
                _RECEIPT_TYPES))
    if not parts:
        return {}
    rows = np.concatenate(parts).astype(np.int64)
    rows = rows[rows[:, 2] >= rows[:, 1]]
    rows[:, 1:] += end.toordinal()
    rows = rows[np.lexsort((rows[:, 2], rows[:, 1], rows[:, 0]))]
    products, starts = np.unique(rows[:, 0], return_index=True)
    return dict(zip(products.tolist(),
            np.split(rows[:, 1:], starts[1:])))


def _suppliers(product_ids, company_id):
    """Return product id -> (lead time in days, pack, MOQ) of the first
    product supplier (by sequence)."""
    pool = Pool()
    Product = pool.get('product.product')
    ProductSupplier = pool.get('purchase.product_supplier')
    product = Product.__table__()
    supplier = ProductSupplier.__table__()
    cursor = Transaction().connection.cursor()
    result = {}
    for sub_ids in grouped_slice(product_ids, CHUNK):
        cursor.execute(*product
            .join(supplier,
                condition=(supplier.template == product.template)
                & ((supplier.product == Null)
                    | (supplier.product == product.id)))
            .select(
                product.id, supplier.lead_time,
                supplier.quantity_rounding, supplier.quantity_minimal,
                where=SQL_OPERATORS['in'](product.id, list(sub_ids))
                & (supplier.company == company_id)
                & (supplier.active == Literal(True)),
                order_by=[product.id,
                    Coalesce(supplier.sequence, 0).asc, supplier.id.asc]))
        for product_id, lead_time, rounding, minimal in cursor:
            if product_id not in result:
                result[product_id] = (
                    _days(lead_time), rounding or 1.0, minimal or 0.0)
    return result


def _costs(product_ids, company_id):
    "Return product id -> cost price (float) in the company"
    pool = Pool()
    CostPrice = pool.get('product.cost_price')
    cost = CostPrice.__table__()
    cursor = Transaction().connection.cursor()
    result = {}
    for sub_ids in grouped_slice(product_ids, CHUNK):
        cursor.execute(*cost.select(cost.product, cost.cost_price,
                where=SQL_OPERATORS['in'](cost.product, list(sub_ids))
                & (cost.company == company_id)))
        for product_id, value in cursor:
            result[product_id] = float(value or 0)
    return result


_NO_RECEIPTS = np.empty((0, 2), dtype=np.int64)
_NO_RECEIPTS.setflags(write=False)


def gather(warehouse_id, product_ids, start, end, company_id):
    """Return product id -> ProductHistory for the products in a warehouse.

    Args:
        warehouse_id: the warehouse location.
        product_ids: the products (ids).
        start: first day of the history.
        end: last day of the history (yesterday), inclusive.
        company_id: the company of the moves, suppliers and costs.

    The daily demand is the done moves from the warehouse's stock
    locations to customers and production, net of customer returns (a day
    whose returns exceed its sales counts 0).  The on-hand at the end of
    each day is the cumulative sum of the moves in and out of the
    warehouse; a day that ended at or below 0 is a stockout (censored).
    The series starts at the first move of the product (or ``start``).
    """
    product_ids = sorted(set(product_ids))
    if not product_ids:
        return {}
    bounds = _warehouse_bounds(warehouse_id)
    cursor = Transaction().connection.cursor()
    n_days = (end - start).days + 1
    size = (len(product_ids), n_days)
    outgoing = np.zeros(size)
    returns = np.zeros(size)
    consumption = np.zeros(size)
    net = np.zeros(size)
    opening = np.zeros(len(product_ids))

    queries = []
    for sub_ids in grouped_slice(product_ids, CHUNK):
        sub_ids = list(sub_ids)
        queries.append((True, _move_flows_query(
                    sub_ids, bounds, company_id, None, start)))
        queries.append((False, _move_flows_query(
                    sub_ids, bounds, company_id, start, end)))
    locations = _locations(bounds)
    outside = (False, False, False)
    ids = np.asarray(product_ids)
    # the first day of a move before start, counted from start (< 0), and
    # the first day of a move in the history (n_days: none)
    first_before = np.zeros(len(product_ids), dtype=np.int64)
    first_day = np.full(len(product_ids), n_days, dtype=np.int64)

    def flags(location_ids):
        # few distinct locations: classify each once
        unique, inverse = np.unique(location_ids, return_inverse=True)
        table = np.array(
            [locations.get(int(u), outside) for u in unique], dtype=bool)
        return table[inverse.ravel()].T
    for is_opening, query in queries:
        # all the columns are numbers: one array, converted in C
        rows = _numbers(cursor, query)
        if not rows.size:
            continue
        i = np.searchsorted(ids, rows[:, 0].astype(np.int64))
        d = rows[:, 1].astype(np.int64)
        quantity = rows[:, 4]
        src_in, from_customer, _ = flags(rows[:, 2].astype(np.int64))
        dst_in, to_customer, to_production = flags(
            rows[:, 3].astype(np.int64))
        rows = None
        entering = dst_in & ~src_in
        leaving = src_in & ~dst_in
        flow = np.where(entering, quantity, np.where(leaving, -quantity, 0))
        if is_opening:
            np.add.at(opening, i, flow)
            np.minimum.at(first_before, i, d)
            continue
        for array, mask in [(outgoing, leaving & to_customer),
                (returns, entering & from_customer),
                (consumption, leaving & to_production)]:
            np.add.at(array, (i[mask], d[mask]), quantity[mask])
        np.add.at(net, (i, d), flow)
        np.minimum.at(first_day, i, d)

    demand = np.maximum(outgoing + consumption - returns, 0.0)
    on_hand = opening[:, None] + np.cumsum(net, axis=1)
    stockout = on_hand <= 1e-9
    used = (outgoing + consumption) > 0
    any_used = used.any(axis=1)
    last_used = n_days - 1 - np.argmax(used[:, ::-1], axis=1)
    first_used = np.argmax(used, axis=1)

    receipts = _receipts(product_ids, bounds, end, company_id)
    suppliers = _suppliers(product_ids, company_id)
    costs = _costs(product_ids, company_id)

    result = {}
    # the series starts at the first move (or start)
    offsets = np.where(first_before < 0, 0, first_day).tolist()
    for i, product_id in enumerate(product_ids):
        offset = offsets[i]
        lead_time, pack, moq = suppliers.get(product_id, (None, 1.0, 0.0))
        result[product_id] = ProductHistory(
            product=product_id,
            first_day=start + dt.timedelta(days=offset),
            sales=demand[i, offset:],
            stockout=stockout[i, offset:],
            on_hand=float(on_hand[i, -1]) if n_days else float(opening[i]),
            last_outgoing=(start + dt.timedelta(days=int(last_used[i]))
                if any_used[i] else None),
            first_outgoing=(start + dt.timedelta(days=int(first_used[i]))
                if any_used[i] else None),
            receipt_ordinals=receipts.get(product_id, _NO_RECEIPTS),
            quoted_lead_time=lead_time,
            pack_multiple=pack,
            minimum_order_quantity=moq,
            unit_cost=costs.get(product_id, 0.0),
            )
    return result


def _no_jit(cursor):
    """Turn PostgreSQL's JIT compilation off for the rest of the
    transaction: on the aggregates over every move it costs more time than
    it saves."""
    transaction = Transaction()
    if (backend.name == 'postgresql'
            and transaction.database.get_version(
                transaction.connection) >= (11,)):
        cursor.execute('SET LOCAL jit = off')


def index_friendly(cursor):
    """Tell PostgreSQL's planner, for the rest of the transaction, that
    reading a row by its index costs little more than reading it in
    sequence (``random_page_cost``), as on SSDs and cached tables.

    A batch reads a thousand order points, products and product suppliers
    by their ids: with the default cost (4) the planner scans all the
    order points and product suppliers instead (about 40 ms each on
    100 000 of them; 5 ms by index).
    """
    if backend.name == 'postgresql':
        cursor.execute('SET LOCAL random_page_cost = 1.1')


def consumption_values(warehouse_id, start, end, company_id):
    """Return product id -> consumption value (net demand x cost price)
    of the products delivered from the warehouse between start and end."""
    pool = Pool()
    Move = pool.get('stock.move')
    CostPrice = pool.get('product.cost_price')
    move = Move.__table__()
    cost = CostPrice.__table__()
    bounds = _warehouse_bounds(warehouse_id)
    locations = _locations(bounds)
    # the conditions on location ids: no join with the locations
    inside = [i for i, (in_, _, _) in locations.items() if in_]
    sinks = [i for i, (_, c, p) in locations.items() if c or p]
    customers = [i for i, (_, c, _) in locations.items() if c]
    if not inside or not sinks:
        return {}
    qty = move.internal_quantity
    out = move.from_location.in_(inside) & move.to_location.in_(sinks)
    back = Literal(False)
    if customers:
        back = move.to_location.in_(inside) & move.from_location.in_(
            customers)
    quantities = move.select(move.product.as_('product'),
        Sum(Case((move.to_location.in_(sinks), qty), else_=-qty)
            ).as_('quantity'),
        where=(move.state == 'done')
        & (move.company == company_id)
        & (move.effective_date >= start)
        & (move.effective_date <= end)
        & (out | back),
        group_by=[move.product])
    cursor = Transaction().connection.cursor()
    _no_jit(cursor)
    # the last year of moves of every product: with the default page cost
    # PostgreSQL scans the whole table (1.0 to 1.9 s on 4.5 million moves)
    # rather than the range of the tuning's index (0.5 s)
    index_friendly(cursor)
    # the value in SQL: one number per product to read
    quantity = Cast(quantities.quantity, 'DOUBLE PRECISION')
    cursor.execute(*quantities
        .join(cost, 'LEFT',
            condition=(cost.product == quantities.product)
            & (cost.company == company_id))
        .select(quantities.product,
            Case((quantity > 0, quantity), else_=0.0)
            * Coalesce(Cast(cost.cost_price, 'DOUBLE PRECISION'), 0.0)))
    return {p: float(v or 0) for p, v in cursor.fetchall()}


def first_sales(warehouse_id, company_id, product_ids=None):
    """Return product id -> date of the first done delivery to a customer
    from the warehouse (of the ``product_ids`` only, when given)."""
    pool = Pool()
    Move = pool.get('stock.move')
    Location = pool.get('stock.location')
    move = Move.__table__()
    from_ = Location.__table__()
    to = Location.__table__()
    bounds = _warehouse_bounds(warehouse_id)
    cursor = Transaction().connection.cursor()
    where = ((move.state == 'done')
        & (move.company == company_id)
        & _inside(from_, bounds)
        & (to.type == 'customer'))
    if product_ids is None:
        slices = [None]
    else:
        slices = [list(s) for s in grouped_slice(sorted(product_ids), CHUNK)]
    result = {}
    for sub_ids in slices:
        cursor.execute(*move
            .join(from_, condition=move.from_location == from_.id)
            .join(to, condition=move.to_location == to.id)
            .select(move.product, Min(move.effective_date),
                where=where if sub_ids is None
                else where & SQL_OPERATORS['in'](move.product, sub_ids),
                group_by=[move.product]))
        result.update((p, _date(d)) for p, d in cursor)
    return result


def products_without_point(warehouse_id, company_id):
    """Return the ids of the active, purchasable goods that have no order
    point in the warehouse (those an order point can be proposed for)."""
    pool = Pool()
    Product = pool.get('product.product')
    Template = pool.get('product.template')
    OrderPoint = pool.get('stock.order_point')
    product = Product.__table__()
    template = Template.__table__()
    point = OrderPoint.__table__()
    cursor = Transaction().connection.cursor()
    cursor.execute(*product
        .join(template, condition=product.template == template.id)
        .select(product.id,
            where=(product.active == Literal(True))
            & (template.active == Literal(True))
            & (template.type == 'goods')
            & (template.consumable == Literal(False))
            & (template.purchasable == Literal(True))
            & ~product.id.in_(point.select(point.product,
                    where=(point.location == warehouse_id)
                    & (point.company == company_id)))))
    return [p for p, in cursor]
