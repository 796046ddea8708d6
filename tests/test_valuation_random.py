# This file is part of perpetual_inventory.  The COPYRIGHT file at the top
# level of this repository contains the full copyright notices and license
# terms.
"""Random stock event sequences through real Tryton documents, checked
after every event against an independent cents-exact model.

Hypothesis draws up to MAX_EVENTS events per example (receipts on supplier
shipments, deliveries on customer shipments from a sale or alone, customer
returns linked to their delivery by a return sale or by the return move's
origin, returns to the supplier of the goods of a receipt, counts,
back-dated receipts and deliveries, new standard costs, landed costs) for
each costing method; each example is a new product with accounts of its
own, in a transaction rolled back at its end. After each event the
product's accounts, its valuation layers and its quantity must equal the
model's (tests/valuation_oracle.py) to the cent.

The draw is derandomized: a failure comes back on every run, and
hypothesis prints the shrunk sequence with the figures that differ.
"""
import datetime as dt
import os
import unittest
from decimal import Decimal

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from trytond.pool import Pool
from trytond.tests.test_tryton import DB_NAME, activate_module, drop_db
from trytond.transaction import Transaction, TransactionError

from . import valuation_documents as documents
from . import valuation_oracle as oracle

MAX_EVENTS = 10
EXAMPLES = 10
BACK_DAYS = 9  # back-dated events are 1 to BACK_DAYS days before today
INITIAL_COST = Decimal(10)

# Shrinking replays the documents hundreds of times (minutes): the failure
# message already shows the events up to the first wrong figure. Set
# VALUATION_RANDOM_SHRINK=1 to shrink a failure further.
PHASES = [Phase.explicit, Phase.reuse, Phase.generate]
if os.environ.get('VALUATION_RANDOM_SHRINK'):
    PHASES.append(Phase.shrink)
SETTINGS = settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
    database=None, print_blob=False, phases=PHASES,
    report_multiple_bugs=False, suppress_health_check=list(HealthCheck))

_money = st.integers(min_value=100, max_value=2000).map(
    lambda c: Decimal(c) / 100)
_quantity = st.integers(min_value=1, max_value=10)
_pick = st.integers(min_value=0, max_value=99)
_fraction = st.integers(min_value=0, max_value=100)
_day = st.integers(min_value=1, max_value=BACK_DAYS)

STEPS = st.one_of(
    st.tuples(st.just('receive'), _quantity, _money),
    st.tuples(st.just('deliver'), _quantity,
        st.sampled_from(['sale', 'shipment'])),
    st.tuples(st.just('customer_return'), _pick, _fraction,
        st.sampled_from(['sale', 'shipment'])),
    st.tuples(st.just('supplier_return'), _pick, _fraction),
    st.tuples(st.just('count'), st.integers(min_value=-3, max_value=3)),
    st.tuples(st.just('back_receive'), _day, _quantity, _money),
    st.tuples(st.just('back_deliver'), _day, _quantity),
    st.tuples(st.just('cost_change'), _money),
    st.tuples(st.just('landed_cost'), _pick,
        st.integers(min_value=1, max_value=5000).map(
            lambda c: Decimal(c) / 100)),
    )
SEQUENCES = st.lists(STEPS, min_size=1, max_size=MAX_EVENTS)


def run_in_transaction(func, *args):
    """Run func in a transaction rolled back at the end, again from the
    start when Tryton asks for it (a lock to take first)."""
    extras = {}
    while True:
        with Transaction().start(DB_NAME, 1, **extras) as transaction:
            companies = Pool().get('company.company').search([])
            context = {'_skip_warnings': True}
            if companies:
                context['company'] = companies[0].id
            try:
                with transaction.set_context(context):
                    return func(*args)
            except TransactionError as exception:
                transaction.rollback()
                exception.fix(extras)
                continue
            finally:
                transaction.rollback()


class Story:
    "The events done so far, for the failure message."

    def __init__(self, method):
        self.method = method
        self.lines = []

    def add(self, text):
        self.lines.append(text)

    def __str__(self):
        return "%s product (cost %s):\n  %s" % (
            self.method, INITIAL_COST, "\n  ".join(
                "%d. %s" % (i + 1, l) for i, l in enumerate(self.lines)))


class Runner:
    "Turns drawn steps into documents and model events, checks figures."

    def __init__(self, test, site, method, number):
        self.test = test
        self.site = site
        self.method = method
        self.today = dt.date.today()
        self.book = documents.new_book(
            site, '%s%s' % (method[:2].upper(), number), method,
            INITIAL_COST)
        self.valuation = oracle.Valuation(method, INITIAL_COST)
        self.story = Story(method)
        self.receipts = []    # (ref, shipment, purchase line)
        self.deliveries = []  # (ref, sale or None, move)
        self.cost_changed = False
        self.invoiced = Decimal(0)  # the freight invoices' debits
        self.refs = 0

    def ref(self):
        self.refs += 1
        return self.refs

    def _accept(self, event):
        "Add event to the model; False when it is not valid or undecided."
        try:
            self.valuation.add(event)
        except oracle.OracleError:
            return False
        return True

    def step(self, step):
        kind = step[0]
        return getattr(self, 'do_' + kind)(*step[1:])

    def do_receive(self, quantity, price, date=None):
        ref = self.ref()
        quantity = Decimal(quantity)
        event = oracle.Receive(ref, date or self.today, quantity, price)
        if not self._accept(event):
            return False
        shipment, line, move = documents.receive(
            self.site, self.book, quantity, price, date)
        self.receipts.append((ref, shipment, line))
        self.story.add("receive %s @ %s (purchase, supplier shipment%s)"
            % (quantity, price, ", dated %s" % date if date else ''))
        return True

    def do_deliver(self, quantity, via, date=None):
        ref = self.ref()
        quantity = Decimal(quantity)
        event = oracle.Deliver(ref, date or self.today, quantity)
        if not self._accept(event):
            return False
        if via == 'sale':
            sale, move = documents.deliver_sale(
                self.site, self.book, quantity, date)
        else:
            sale, move = None, documents.deliver_shipment(
                self.site, self.book, quantity, date)
        self.deliveries.append((ref, sale, move))
        self.story.add("deliver %s (%s%s) [delivery #%s]" % (
                quantity, "sale, customer shipment" if sale
                else "customer shipment", ", dated %s" % date if date
                else '', len(self.deliveries)))
        return True

    def do_customer_return(self, pick, fraction, via):
        if not self.deliveries:
            return False
        ref = self.ref()
        number = pick % len(self.deliveries)
        delivery_ref, sale, move = self.deliveries[number]
        if via == 'sale' and sale is None:
            via = 'shipment'
        left = self.valuation.left_to_return(delivery_ref)
        if left < 1:
            return False
        quantity = 1 + (left - 1) * fraction // 100
        event = oracle.CustomerReturn(ref, self.today, quantity,
            delivery_ref)
        if not self._accept(event):
            return False
        if via == 'sale':
            documents.return_sale(self.site, sale, quantity)
        else:
            documents.return_shipment(self.site, move, quantity)
        self.story.add("customer return %s of delivery #%s (%s)" % (
                quantity, number + 1, "return sale" if via == 'sale'
                else "return shipment, origin the delivered move"))
        return True

    def do_supplier_return(self, pick, fraction):
        if not self.receipts:
            return False
        ref = self.ref()
        number = pick % len(self.receipts)
        receipt_ref, shipment, line = self.receipts[number]
        # Under FIFO/LIFO the return may take more than is left of the
        # receipt's layer: the rest comes in the method's order.
        left = self.valuation.left_to_return(receipt_ref)
        left = min(left, self.valuation.quantity())
        if left < 1:
            return False
        quantity = 1 + (left - 1) * fraction // 100
        event = oracle.SupplierReturn(ref, self.today, quantity,
            receipt_ref)
        if not self._accept(event):
            return False
        documents.return_to_supplier(self.site, line, quantity)
        self.story.add("return %s of receipt #%s to the supplier "
            "(supplier return shipment, origin the purchase line)"
            % (quantity, number + 1))
        return True

    def do_count(self, difference):
        on_hand = self.valuation.quantity()
        counted = on_hand + difference
        if not difference or on_hand < 0 or counted < 0:
            return False
        event = oracle.Count(self.ref(), self.today, Decimal(difference))
        if not self._accept(event):
            return False
        documents.count(self.site, self.book, counted)
        self.story.add("count %s where %s are expected (inventory)" % (
                counted, on_hand))
        return True

    def _may_back_date(self):
        # A back-dated move before a new standard cost: Tryton values it
        # at the standard of the day it is done, a replay in date order at
        # the standard of its date; the rule is not written, so the case
        # is not drawn.
        return not self.cost_changed

    def do_back_receive(self, days, quantity, price):
        if not self._may_back_date():
            return False
        return self.do_receive(quantity, price,
            self.today - dt.timedelta(days=days))

    def do_back_deliver(self, days, quantity):
        if not self._may_back_date():
            return False
        return self.do_deliver(quantity, 'shipment',
            self.today - dt.timedelta(days=days))

    def do_cost_change(self, cost):
        if self.method != 'fixed':
            return False
        event = oracle.CostChange(self.ref(), self.today, cost)
        if not self._accept(event):
            return False
        documents.modify_cost_price(self.site, self.book, cost)
        self.cost_changed = True
        self.story.add("new standard cost %s (Modify Cost Price)" % cost)
        return True

    def do_landed_cost(self, pick, amount):
        if not self.receipts:
            return False
        number = pick % len(self.receipts)
        receipt_ref, shipment, line = self.receipts[number]
        event = oracle.LandedCost(self.ref(), self.today, receipt_ref,
            amount)
        if not self._accept(event):
            return False
        documents.landed_cost(self.site, self.book, shipment, amount)
        self.invoiced += amount
        self.story.add("landed cost %s on receipt #%s (invoice line, "
            "posted)" % (amount, number + 1))
        return True

    def check(self):
        "Compare the product's figures with the model's."
        expected = self.valuation.totals()
        # The model credits the landed-cost account, the invoices debit it.
        expected['landed'] += self.invoiced
        actual = documents.balances(self.book)
        quantity = documents.quantity(self.site, self.book)
        layers = documents.layers_value(self.book)
        value = self.valuation.value()
        differences = []
        if quantity != self.valuation.quantity():
            differences.append("quantity %s, expected %s" % (
                    quantity, self.valuation.quantity()))
        if layers != value:
            differences.append("layers %s, expected %s" % (layers, value))
        for role in documents.ROLES:
            if actual[role] != expected[role]:
                differences.append("%s %s, expected %s" % (
                        role, actual[role], expected[role]))
        if not quantity and actual['inventory']:
            differences.append("inventory %s at quantity 0" % (
                    actual['inventory']))
        if differences:
            self.test.fail("%s\nafter event %d: %s" % (
                    self.story, len(self.story.lines),
                    "; ".join(differences)))


class ValuationRandomTestCase(unittest.TestCase):
    "Test random event sequences against the independent valuation model"

    @classmethod
    def setUpClass(cls):
        drop_db()
        activate_module(['perpetual_inventory'])
        cls.site = run_in_transaction(cls._create_site)
        cls.examples = 0

    @classmethod
    def _create_site(cls):
        site = documents.create_site(days_back=BACK_DAYS + 1)
        Transaction().commit()
        return site

    @classmethod
    def tearDownClass(cls):
        drop_db()

    def _example(self, method, steps):
        type(self).examples += 1
        number = type(self).examples

        def body():
            runner = Runner(self, self.site, method, number)
            for step in steps:
                if runner.step(step):
                    runner.check()
        run_in_transaction(body)

    def _sequences(self, method):
        @SETTINGS
        @given(SEQUENCES)
        def sequences(steps):
            self._example(method, steps)
        sequences()

    def test_fixed(self):
        "Test random sequences under fixed (standard) cost"
        self._sequences('fixed')

    def test_average(self):
        "Test random sequences under average cost"
        self._sequences('average')

    def test_fifo(self):
        "Test random sequences under FIFO cost"
        self._sequences('fifo')

    def test_lifo(self):
        "Test random sequences under LIFO cost"
        self._sequences('lifo')


class ValuationDocumentsTestCase(unittest.TestCase):
    "Test each document helper once, with its hand-computed figures"

    @classmethod
    def setUpClass(cls):
        drop_db()
        activate_module(['perpetual_inventory'])
        cls.site = run_in_transaction(ValuationRandomTestCase._create_site)

    @classmethod
    def tearDownClass(cls):
        drop_db()

    def _run(self, body):
        run_in_transaction(body)

    def test_receive_and_deliver(self):
        "Test a purchase received and a sale and a shipment delivered"
        def body():
            book = documents.new_book(self.site, 'RD', 'fifo', Decimal(10))
            shipment, line, move = documents.receive(
                self.site, book, Decimal(10), Decimal('4.50'))
            self.assertEqual(move.state, 'done')
            self.assertEqual(move.origin, line)
            sale, delivered = documents.deliver_sale(
                self.site, book, Decimal(3))
            self.assertEqual(delivered.origin.sale, sale)
            documents.deliver_shipment(self.site, book, Decimal(2))
            self.assertEqual(documents.quantity(self.site, book), 5)
            figures = documents.balances(book)
            self.assertEqual(figures['inventory'], Decimal('22.50'))
            self.assertEqual(figures['stock_in'], Decimal('-45.00'))
            self.assertEqual(figures['cogs'], Decimal('22.50'))
            self.assertEqual(documents.layers_value(book), Decimal('22.50'))
        self._run(body)

    def test_customer_returns(self):
        "Test a return sale and a return shipment from a delivered move"
        def body():
            book = documents.new_book(self.site, 'CR', 'fifo', Decimal(10))
            documents.receive(self.site, book, Decimal(10), Decimal(6))
            sale, delivered = documents.deliver_sale(
                self.site, book, Decimal(4))
            move = documents.return_sale(self.site, sale, Decimal(1))
            self.assertEqual(move.state, 'done')
            self.assertEqual(move.origin.sale.origin, sale)
            self.assertEqual(move.origin.quantity, -1)
            move = documents.return_shipment(self.site, delivered,
                Decimal(2))
            self.assertEqual(move.origin, delivered)
            self.assertEqual(documents.quantity(self.site, book), 9)
            self.assertEqual(documents.balances(book)['cogs'], Decimal(6))
        self._run(body)

    def test_return_to_supplier(self):
        "Test a supplier return shipment of the goods of a receipt"
        def body():
            book = documents.new_book(self.site, 'SR', 'average',
                Decimal(10))
            _, line, _ = documents.receive(
                self.site, book, Decimal(5), Decimal(8))
            move = documents.return_to_supplier(self.site, line, Decimal(2))
            self.assertEqual(move.state, 'done')
            self.assertEqual(move.origin, line)
            self.assertEqual(documents.quantity(self.site, book), 3)
            self.assertEqual(documents.balances(book)['stock_in'],
                Decimal(-24))
        self._run(body)

    def test_count(self):
        "Test a count over and a count short"
        def body():
            book = documents.new_book(self.site, 'CT', 'average',
                Decimal(10))
            documents.receive(self.site, book, Decimal(5), Decimal(8))
            move = documents.count(self.site, book, Decimal(7))
            self.assertEqual(move.quantity, 2)
            documents.count(self.site, book, Decimal(4))
            self.assertEqual(documents.quantity(self.site, book), 4)
            self.assertEqual(documents.balances(book)['over_short'],
                Decimal(8))  # 2 found at 8, 3 lost at 8
        self._run(body)

    def test_back_dated(self):
        "Test a supplier shipment and a customer shipment back-dated"
        def body():
            day = dt.date.today() - dt.timedelta(days=3)
            book = documents.new_book(self.site, 'BD', 'fifo', Decimal(10))
            _, _, move = documents.receive(
                self.site, book, Decimal(5), Decimal(8), day)
            self.assertEqual(move.effective_date, day)
            move = documents.deliver_shipment(
                self.site, book, Decimal(2), day)
            self.assertEqual(move.effective_date, day)
        self._run(body)

    def test_modify_cost_price(self):
        "Test a new standard cost revalues the goods on hand"
        def body():
            book = documents.new_book(self.site, 'MC', 'fixed', Decimal(10))
            documents.receive(self.site, book, Decimal(5), Decimal(10))
            documents.modify_cost_price(self.site, book, Decimal('12.5'))
            book.product = type(book.product)(book.product.id)
            self.assertEqual(book.product.cost_price, Decimal('12.5'))
            self.assertEqual(documents.balances(book)['inventory'],
                Decimal('62.50'))
        self._run(body)

    def test_landed_cost(self):
        "Test a landed cost posted with its invoice line"
        def body():
            book = documents.new_book(self.site, 'LC', 'fifo', Decimal(10))
            shipment, _, _ = documents.receive(
                self.site, book, Decimal(10), Decimal(10))
            cost = documents.landed_cost(self.site, book, shipment,
                Decimal(15))
            self.assertEqual(cost.state, 'posted')
            figures = documents.balances(book)
            self.assertEqual(figures['inventory'], Decimal(115))
            self.assertEqual(figures['landed'], 0)
        self._run(body)
