"""Open every screen the module adds or extends in sao, as two users.

As admin: each menu entry (its list, the form of its first record, its
graph and calendar views), each relate or form action of the module on the
first record of its model, the first step of each wizard and each button
the module adds. Nothing may log an error, and nothing may stay
"Processing" for more than 10 s. As a user in Stock and the scanner group
only: the same entries show no cost or value field. A screenshot of each
screen goes to the test output.
"""
import os
import re
import time

import pytest
from playwright.sync_api import Error as PageError

from sweep import (
    CLOSE_TABS, CURRENT, IDLE, IDLE_TIMEOUT, IGNORED_CONSOLE, INSTRUMENT,
    OPEN_ACTION, OPEN_MENU, RPC, SHOWS, SWITCH, VIEW_TYPES, buttons,
    keyword_actions, menus, module_models, records_of_module)

# Cost and value fields by name and type: what a Stock user must not see
COST_NAME = re.compile(r'(cost|unit_price$|(^|_)value$)')
AMOUNT_TYPES = {'numeric', 'float'}
STOCK_DOCUMENTS = {
    'product.template', 'product.product', 'stock.move', 'stock.shipment.in',
    'stock.shipment.in.return', 'stock.shipment.out',
    'stock.shipment.out.return', 'stock.shipment.internal', 'stock.inventory'}
STOCK_LOGIN, STOCK_PASSWORD = 'stock-clerk', 'stock-clerk-password'


def login(page, server, user, password):
    page.goto(server['url'])
    page.fill('#login', user)
    page.click('.modal button.btn-primary')
    field = page.locator('input[type="password"]:visible')
    field.wait_for()
    field.fill(password)
    field.press('Enter')
    page.locator('#menu').get_by_text('Products', exact=True).first.wait_for()
    page.evaluate(INSTRUMENT)


class Sweep:
    "Open screens in one logged-in page and record what went wrong"

    def __init__(self, page, directory):
        self.page = page
        self.directory = directory
        os.makedirs(directory, exist_ok=True)
        self.problems = []
        self.opened = []
        self.console = []
        page.on('console', self._on_console)
        self.shots = 0

    def _on_console(self, message):
        if message.type == 'error' and not IGNORED_CONSOLE.search(
                message.text):
            self.console.append(message.text)

    def run(self, what, script, argument=None):
        """Run script in the page; an exception it raises is a problem of
        what (sao failing to build a view raises at once)"""
        try:
            return self.page.evaluate(script, argument)
        except PageError as exception:
            self.problems.append('%s: %s' % (
                    what, str(exception).splitlines()[0]))

    def idle(self, what):
        "Wait until no RPC is in flight and sao shows no Processing"
        deadline = time.monotonic() + IDLE_TIMEOUT
        quiet = 0
        while time.monotonic() < deadline:
            # An error or warning sao shows holds its request until the
            # user answers: it is a problem, not a slow screen.
            message = self.page.locator(
                '.modal:visible .alert-warning, .modal:visible .alert-danger')
            if message.count():
                self.problems.append('%s: sao says %r' % (
                        what, message.first.inner_text()))
                self.shot(what + ' (message)')
                self.page.locator('.modal:visible .modal-footer button'
                    ).last.click()
                continue
            if self.page.evaluate(IDLE):
                quiet += 1
                if quiet >= 5:
                    return True
            else:
                quiet = 0
            time.sleep(0.1)
        self.problems.append('%s: still processing after %ss' % (
                what, IDLE_TIMEOUT))
        return False

    def check(self, what):
        "Record the errors raised since the last check"
        failures = self.page.evaluate(
            '() => window.__sweep.failures.splice(0)')
        errors = self.page.errors[:] + self.console[:]
        del self.page.errors[:]
        del self.console[:]
        for error in failures + errors:
            self.problems.append('%s: %s' % (what, error))

    def shot(self, what):
        self.shots += 1
        name = '%03d-%s.png' % (
            self.shots, re.sub(r'[^A-Za-z0-9]+', '-', what).strip('-'))
        self.page.screenshot(path=os.path.join(self.directory, name))

    def close(self, what):
        "Close the dialogs and tabs left open"
        for _ in range(3):
            cancel = self.page.locator(
                '.modal:visible .modal-footer button', has_text='Cancel')
            if not cancel.count():
                break
            cancel.first.click()
            self.idle(what + ' (cancel)')
        if not self.page.evaluate(CLOSE_TABS):
            self.problems.append('%s: its tab did not close' % what)
            self.shot(what + ' (close)')
            # start again from a new page; what leaving the old one logs
            # is not about the next screen
            self.page.reload()
            self.page.locator('#menu').get_by_text(
                'Products', exact=True).first.wait_for()
            self.page.evaluate(INSTRUMENT)
            del self.page.errors[:]
            del self.console[:]
            return
        self.idle(what + ' (close)')
        self.check(what + ' (close)')

    def screen(self, what, form=True):
        """Check the current tab shows a view, then its other views and the
        form of its first record; return what each view showed"""
        states = []
        if not self.idle(what):
            self.shot(what)
            return states
        self.check(what)
        state = self.page.evaluate(CURRENT)
        self.shot(what)
        if state.get('kind') != 'screen':
            # a wizard or another dialog
            if not self.page.locator('.modal:visible').count():
                self.problems.append('%s: opened nothing' % what)
            return states
        if not state['view_type']:
            self.problems.append('%s: no view shown' % what)
            return states
        states.append(state)
        self.opened.append(what)
        types = self.run(what, VIEW_TYPES) or []
        for view_type in types:
            if view_type == state['view_type']:
                continue
            if view_type == 'form' and (not form or not state['records']):
                continue
            label = '%s [%s]' % (what, view_type)
            self.run(label, SWITCH, [view_type])
            # sao switches after its promises settle, not only its RPCs
            try:
                self.page.wait_for_function(SHOWS, arg=[view_type],
                    timeout=IDLE_TIMEOUT * 1000)
            except PageError:
                pass
            if self.idle(label):
                self.check(label)
                shown = self.page.evaluate(CURRENT)
                if shown['view_type'] != view_type:
                    self.problems.append('%s: shows %s after %ss' % (
                            label, shown['view_type'], IDLE_TIMEOUT))
                states.append(shown)
            self.shot(label)
        return states


@pytest.fixture(scope='module')
def admin_rpc(server):
    return RPC(server['url'], server['database'], 'admin', 'admin')


@pytest.fixture(scope='module')
def artifacts(server):
    directory = os.environ.get('BROWSER_ARTIFACTS') or os.path.join(
        server['data_dir'], 'screenshots')
    return directory


def first_id(rpc, model):
    ids = rpc('model.%s.search' % model, [], 0, 1, None)
    return ids[0] if ids else None


def test_sweep_admin(server, page, admin_rpc, artifacts):
    "Every screen the module adds or extends opens for admin"
    rpc = admin_rpc
    models = module_models()
    data_dir = server['data_dir']
    entries = menus(rpc, models, set(
            records_of_module(data_dir, 'ir.ui.menu').values()))
    actions = keyword_actions(rpc, set(
            records_of_module(data_dir, 'ir.action.keyword').values()))
    own_buttons = buttons(rpc, set(
            records_of_module(data_dir, 'ir.model.button').values()))
    assert len(entries) >= 8, entries
    assert actions, "no relate or form action found"
    login(page, server, 'admin', 'admin')
    sweep = Sweep(page, os.path.join(artifacts, 'admin'))

    for entry in entries:
        start = time.monotonic()
        sweep.run(entry['name'], OPEN_MENU, entry['id'])
        sweep.screen(entry['name'])
        sweep.close(entry['name'])
        print('%5.1fs %s' % (time.monotonic() - start, entry['name']))

    for action in actions:
        record = first_id(rpc, action['model'])
        what = '%s > %s' % (action['model'], action['name'])
        if record is None:
            sweep.problems.append('%s: no %s in the demo to open it on' % (
                    what, action['model']))
            continue
        sweep.run(what, OPEN_ACTION, [action['action'], action['model'],
                record])
        sweep.screen(what)
        sweep.close(what)

    for model, name in own_buttons:
        record = first_id(rpc, model)
        what = '%s button %s' % (model, name)
        if record is None:
            sweep.problems.append('%s: no record in the demo' % what)
            continue
        page.evaluate('''([model, id, name]) => {
            const tab = Sao.Tab.create({model: model, res_id: id,
                mode: ['form'], context: jQuery.extend(
                    {}, Sao.Session.current_session.context)});
        }''', [model, record, name])
        if sweep.idle(what + ' (form)'):
            page.evaluate('''([name]) => Sao.Tab.tabs.get_current()
                .screen.button({name: name})''', [name])
            sweep.screen(what, form=False)
        sweep.close(what)

    print('\nAdmin sweep: %d menu entries, %d actions, %d buttons, '
        '%d screens, %d screenshots in %s' % (len(entries), len(actions),
            len(own_buttons), len(sweep.opened), sweep.shots,
            sweep.directory))
    assert not sweep.problems, '\n'.join(sweep.problems)


def _group(rpc, name):
    group, = rpc.search_read('res.group', [('name', '=', name)], ['id'])
    return group['id']


def _stock_user(rpc):
    "Create (once) a user in the groups Stock and scanner only"
    users = rpc.search_read('res.user', [('login', '=', STOCK_LOGIN)], ['id'])
    if not users:
        company = rpc.context['company']
        rpc('model.res.user.create', [{
                    'login': STOCK_LOGIN, 'name': "Stock Clerk",
                    'password': STOCK_PASSWORD,
                    'companies': [['add', [company]]], 'company': company,
                    'groups': [['add', [
                                _group(rpc, "Stock"),
                                _group(rpc, "Perpetual Inventory Scanner"),
                                ]]],
                    }])


def test_sweep_stock_user_sees_no_cost(server, page, admin_rpc, artifacts):
    "A user in Stock and the scanner group sees no cost or value"
    _stock_user(admin_rpc)
    rpc = RPC(server['url'], server['database'], STOCK_LOGIN, STOCK_PASSWORD)
    # and Tryton's own screens of the goods, moves, shipments and counts
    models = module_models() | STOCK_DOCUMENTS
    entries = menus(rpc, models, set(records_of_module(
                server['data_dir'], 'ir.ui.menu').values()))
    assert entries, "the Stock user sees none of the module's entries"
    # The cost fields' labels as Tryton gives them, to look for in the page
    labels = set()
    for model in ['product.product', 'stock.move',
            'perpetual_inventory.order_point.alert',
            'perpetual_inventory.tuning.log']:
        for name, field in admin_rpc(
                'model.%s.fields_get' % model, None).items():
            if COST_NAME.search(name) and field['type'] in AMOUNT_TYPES:
                labels.add(field['string'])
    assert {'Cost Price', 'Unit Price'} <= labels, labels
    login(page, server, STOCK_LOGIN, STOCK_PASSWORD)
    sweep = Sweep(page, os.path.join(artifacts, 'stock-user'))
    seen = []
    for entry in entries:
        sweep.run(entry['name'], OPEN_MENU, entry['id'])
        for state in sweep.screen(entry['name']):
            costs = sorted(name for name, type_ in state['fields'].items()
                if COST_NAME.search(name) and type_ in AMOUNT_TYPES)
            if costs:
                sweep.problems.append('%s [%s]: shows %s' % (
                        entry['name'], state['view_type'], ', '.join(costs)))
            texts = page.evaluate('''() => jQuery('#tabcontent')
                .find('th:visible, label:visible').map(
                    (i, e) => jQuery(e).text().trim()).get()''')
            shown = sorted(labels & {t.rstrip(':').strip() for t in texts})
            if shown:
                sweep.problems.append('%s [%s]: labels %s' % (
                        entry['name'], state['view_type'], ', '.join(shown)))
            seen.append(entry['name'])
        sweep.close(entry['name'])
    print('\nStock user sweep: %d menu entries, %d views checked, '
        '%d screenshots in %s' % (len(entries), len(seen), sweep.shots,
            sweep.directory))
    assert seen
    assert not sweep.problems, '\n'.join(sweep.problems)
