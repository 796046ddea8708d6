# This file is part of perpetual_inventory.  The COPYRIGHT file at the top
# level of this repository contains the full copyright notices and license
# terms.
"""Order point alerts: below safety stock, overstock and obsolete stock."""
import datetime as dt

from sql import Literal, Null
from sql.aggregate import Max, Min, Sum
from sql.conditionals import Case, Coalesce

from trytond.model import ModelSQL, ModelView, fields
from trytond.pool import Pool
from trytond.pyson import Eval

from .history import STOCK_TYPES


class OrderPointAlert(ModelSQL, ModelView):
    "Order Point Alert"
    __name__ = 'perpetual_inventory.order_point.alert'

    order_point = fields.Many2One('stock.order_point', "Order Point")
    product = fields.Many2One(
        'product.product', "Product",
        context={
            'company': Eval('company', -1),
            },
        depends={'company'})
    warehouse = fields.Many2One('stock.location', "Warehouse")
    company = fields.Many2One('company.company', "Company")
    on_hand = fields.Float("On Hand")
    safety_stock = fields.Float("Safety Stock", digits=(16, 2))
    min_quantity = fields.Float("Minimal Quantity")
    target_quantity = fields.Float("Target Quantity")
    last_outgoing = fields.Date(
        "Last Outgoing", help="The last day the product left the warehouse "
        "to a customer or production.")
    value = fields.Float("Value", digits=(16, 2),
        help="The quantity on hand at its cost price.")
    below_safety_stock = fields.Boolean(
        "Below Safety Stock",
        help="Less on hand than the safety stock of the last tuning (when "
        "it kept one).")
    out_of_stock = fields.Boolean(
        "Out of Stock",
        help="Nothing on hand while the order point has a minimal "
        "quantity.")
    overstock = fields.Boolean(
        "Overstock", help="On hand above the target quantity by more than "
        "the overstock margin of the configuration.")
    obsolete = fields.Boolean(
        "Obsolete", help="Stock on hand without outgoing move for the "
        "days of the configuration.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('value', 'DESC'), ('id', 'ASC')]

    @classmethod
    def search(cls, domain, offset=0, limit=None, order=None, count=False,
            query=False):
        pool = Pool()
        FieldAccess = pool.get('ir.model.field.access')
        # The value is for "Stock Valuation": the others may not sort by
        # it either (sao asks for the model's order, value first), so
        # their order leaves it out.
        if not FieldAccess.check(
                cls.__name__, ['value'], 'read', raise_exception=False):
            order = [o for o in (cls._order if order is None else order)
                if o[0].split('.')[0] != 'value'] or [('product', 'ASC')]
        return super().search(domain, offset=offset, limit=limit,
            order=order, count=count, query=query)

    @classmethod
    def _on_hand_query(cls):
        "Return the on-hand and last outgoing date of each order point"
        pool = Pool()
        OrderPoint = pool.get('stock.order_point')
        Location = pool.get('stock.location')
        Move = pool.get('stock.move')
        point = OrderPoint.__table__()
        warehouse = Location.__table__()
        move = Move.__table__()
        from_ = Location.__table__()
        to = Location.__table__()

        def inside(location):
            return ((location.left >= warehouse.left)
                & (location.right <= warehouse.right)
                & location.type.in_(STOCK_TYPES))
        entering = inside(to) & ~inside(from_)
        leaving = inside(from_) & ~inside(to)
        qty = move.internal_quantity
        return (point
            .join(warehouse, condition=point.location == warehouse.id)
            .join(move, 'LEFT', condition=(move.product == point.product)
                & (move.company == point.company)
                & (move.state == 'done'))
            .join(from_, 'LEFT', condition=move.from_location == from_.id)
            .join(to, 'LEFT', condition=move.to_location == to.id)
            .select(
                point.id.as_('id'),
                point.product.as_('product'),
                point.location.as_('warehouse'),
                point.company.as_('company'),
                point.safety_stock.as_('safety_stock'),
                point.min_quantity.as_('min_quantity'),
                point.target_quantity.as_('target_quantity'),
                Sum(Case((entering, qty), (leaving, -qty),
                        else_=Literal(0.0))).as_('on_hand'),
                Max(Case((leaving & to.type.in_(['customer', 'production']),
                            move.effective_date),
                        else_=Null)).as_('last_outgoing'),
                where=point.type == 'purchase',
                group_by=[point.id, point.product, point.location,
                    point.company, point.safety_stock, point.min_quantity,
                    point.target_quantity]))

    @classmethod
    def table_query(cls):
        pool = Pool()
        Configuration = pool.get('perpetual_inventory.configuration')
        CostPrice = pool.get('product.cost_price')
        Date = pool.get('ir.date')
        config = Configuration(1)
        limit = Date.today() - dt.timedelta(days=config.obsolete_days)
        stock = cls._on_hand_query()
        cost = CostPrice.__table__()
        on_hand = Coalesce(stock.on_hand, 0)
        # only a positive safety stock can be eaten into (the tuning
        # stores none below 0; earlier versions stored the computed one,
        # negative when the order quantity allows it); a stockout without
        # safety stock is an alert of its own
        below = ((stock.min_quantity > 0)
            & (stock.safety_stock != Null) & (stock.safety_stock > 0)
            & (on_hand < stock.safety_stock))
        out = (stock.min_quantity > 0) & (on_hand <= 0)
        over = on_hand > stock.target_quantity * (
            1 + config.overstock_margin)
        obsolete = (on_hand > 0) & (
            (stock.last_outgoing == Null) | (stock.last_outgoing < limit))

        def flag(condition):
            return Case((condition, Literal(True)), else_=Literal(False))
        return (stock
            .join(cost, 'LEFT', condition=(cost.product == stock.product)
                & (cost.company == stock.company))
            .select(
                stock.id.as_('id'),
                stock.id.as_('order_point'),
                stock.product.as_('product'),
                stock.warehouse.as_('warehouse'),
                stock.company.as_('company'),
                on_hand.as_('on_hand'),
                stock.safety_stock.as_('safety_stock'),
                stock.min_quantity.as_('min_quantity'),
                stock.target_quantity.as_('target_quantity'),
                cls.last_outgoing.sql_cast(stock.last_outgoing).as_(
                    'last_outgoing'),
                (on_hand * cls.value.sql_cast(
                        Coalesce(cost.cost_price, 0))).as_('value'),
                flag(below).as_('below_safety_stock'),
                flag(out).as_('out_of_stock'),
                flag(over).as_('overstock'),
                flag(obsolete).as_('obsolete'),
                where=below | out | over | obsolete))


class OrderPointDemand(ModelSQL, ModelView):
    "Order Point Daily Demand"
    __name__ = 'perpetual_inventory.order_point.demand'

    order_point = fields.Many2One('stock.order_point', "Order Point")
    company = fields.Many2One('company.company', "Company")
    date = fields.Date("Date")
    quantity = fields.Float(
        "Demand", help="Deliveries and consumption net of customer "
        "returns.")
    min_quantity = fields.Float("Minimal Quantity",
        help="The minimal quantity in force at the end of the day: that "
        "of the last tuning log of the order point on or before the day "
        "(before its first log, the value that log started from; without "
        "log, the current one).")
    target_quantity = fields.Float("Target Quantity",
        help="The target quantity in force at the end of the day, read "
        "like the minimal quantity.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('date', 'ASC'), ('id', 'ASC')]

    @classmethod
    def _levels_in_force(cls, days, point):
        """Return the minimal and target quantity columns in force on each
        of the ``days`` (a query with order_point and date), from the
        tuning logs.

        A value is in force from the day its log was written: the last log
        on or before the day gives it; before the first log, the value
        that log started from; without any log, the order point's current
        value.  Values set by hand are not logged: they show from the
        next tuning on.
        """
        pool = Pool()
        Log = pool.get('perpetual_inventory.tuning.log')
        last, first, log = Log.__table__(), Log.__table__(), Log.__table__()
        last_id = last.select(Max(last.id),
            where=(last.order_point == days.order_point)
            & (last.date <= days.date))
        first_id = first.select(Min(first.id),
            where=first.order_point == days.order_point)

        def in_force(name, current):
            return Coalesce(
                log.select(getattr(log, name), where=log.id == last_id),
                log.select(getattr(log, 'old_' + name),
                    where=log.id == first_id),
                current)
        return (in_force('min_quantity', point.min_quantity),
            in_force('target_quantity', point.target_quantity))

    @classmethod
    def table_query(cls):
        pool = Pool()
        OrderPoint = pool.get('stock.order_point')
        Location = pool.get('stock.location')
        Move = pool.get('stock.move')
        Configuration = pool.get('perpetual_inventory.configuration')
        Date = pool.get('ir.date')
        start = Date.today() - dt.timedelta(
            days=Configuration(1).history_days)
        point = OrderPoint.__table__()
        warehouse = Location.__table__()
        move = Move.__table__()
        from_ = Location.__table__()
        to = Location.__table__()

        def inside(location):
            return ((location.left >= warehouse.left)
                & (location.right <= warehouse.right)
                & location.type.in_(STOCK_TYPES))
        outgoing = inside(from_) & to.type.in_(['customer', 'production'])
        returned = (from_.type == 'customer') & inside(to)
        qty = move.internal_quantity
        # a move leaves or enters one warehouse: the smallest move id is a
        # unique id of the (order point, day) row
        days = (point
            .join(warehouse, condition=point.location == warehouse.id)
            .join(move, condition=(move.product == point.product)
                & (move.company == point.company))
            .join(from_, condition=move.from_location == from_.id)
            .join(to, condition=move.to_location == to.id)
            .select(
                Min(move.id).as_('id'),
                point.id.as_('order_point'),
                point.company.as_('company'),
                cls.date.sql_cast(move.effective_date).as_('date'),
                Sum(Case((returned, -qty), else_=qty)).as_('quantity'),
                where=(point.type == 'purchase')
                & (move.state == 'done')
                & (move.effective_date >= start)
                & (outgoing | returned),
                group_by=[point.id, point.company, move.effective_date]))
        current = OrderPoint.__table__()
        min_quantity, target_quantity = cls._levels_in_force(days, current)
        return (days
            .join(current, condition=days.order_point == current.id)
            .select(
                days.id.as_('id'),
                days.order_point.as_('order_point'),
                days.company.as_('company'),
                days.date.as_('date'),
                days.quantity.as_('quantity'),
                min_quantity.as_('min_quantity'),
                target_quantity.as_('target_quantity')))
