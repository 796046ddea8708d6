"""Log into the real web client and the scanner page in headless Chromium."""
import base64
import json
import os
import re
import urllib.request

import pytest

from playwright.sync_api import expect

from trytond.modules.perpetual_inventory.core import gs1
from trytond.modules.perpetual_inventory.scripts.demo_data import GS1_PREFIX


def test_sao_login_opens_products(server, page):
    page.goto(server['url'])
    page.fill('#login', 'admin')
    page.click('.modal button.btn-primary')
    password = page.locator('input[type="password"]:visible')
    password.wait_for()
    password.fill('admin')
    password.press('Enter')
    menu = page.locator('#menu')
    entry = menu.get_by_text('Products', exact=True).first
    entry.wait_for()
    # The top entry "Products" only folds its children; its child
    # "Products" opens the list on activation (double click).
    entry.dblclick()
    child = menu.get_by_text('Products', exact=True).nth(1)
    child.wait_for()
    child.dblclick()
    expect(page.locator('#tablist')).to_contain_text(
        'Products', timeout=30000)
    # The list shows the demo goods.
    expect(page.locator('#tabcontent')).to_contain_text(
        'HW0001', timeout=30000)
    assert not page.errors


def test_scanner_login_and_lookup(server, page):
    page.goto('%s%s/perpetual_inventory/scanner' % (
            server['url'], server['database']))
    expect(page.locator('#login-form')).to_be_visible()
    page.fill('#login', 'admin')
    page.fill('#password', 'wrong')
    page.click('#login-form button[type=submit]')
    expect(page.locator('#message')).to_contain_text('Wrong user name')

    page.fill('#password', 'admin')
    page.click('#login-form button[type=submit]')
    expect(page.locator('#scan-form')).to_be_visible()
    expect(page.locator('#who')).to_contain_text('Administrator')

    barcode = gs1.make_ean13(GS1_PREFIX, 1)
    page.fill('#barcode', barcode)
    page.press('#barcode', 'Enter')
    card = page.locator('#result .card')
    expect(card).to_contain_text(barcode)
    expect(card).to_contain_text('Main Warehouse')
    assert 'cost' not in card.inner_text().lower()

    page.fill('#barcode', barcode[:-1] + str((int(barcode[-1]) + 1) % 10))
    page.press('#barcode', 'Enter')
    expect(page.locator('#message')).to_contain_text('check digit')

    page.fill('#barcode', 'LOC-A01')
    page.press('#barcode', 'Enter')
    expect(page.locator('#result .card')).to_contain_text(
        re.compile('A-01'))
    assert not page.errors


def _rpc(server, method, *params):
    "Return the result of a JSON-RPC call as admin (Basic auth)"
    request = urllib.request.Request(
        '%s%s/rpc/' % (server['url'], server['database']),
        data=json.dumps({'id': 1, 'method': method,
                'params': list(params)}).encode(),
        headers={'Content-Type': 'application/json',
            'Authorization': 'Basic ' + base64.b64encode(
                b'admin:admin').decode()})
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read())['result']


def _waiting_purchase(server):
    "Return the number and first product code of a purchase to receive"
    context = {'company': _rpc(server, 'model.company.company.search',
            [], 0, 1, None, {})[0]}
    for purchase in _rpc(server, 'model.purchase.purchase.search_read',
            [('state', '=', 'processing'),
                ('shipment_state', '=', 'waiting')],
            0, 20, [('id', 'DESC')], ['number', 'lines'], context):
        lines = _rpc(server, 'model.purchase.line.read', purchase['lines'],
            ['product', 'moves', 'quantity'], context)
        moves = _rpc(server, 'model.stock.move.read',
            [m for l in lines for m in l['moves']], ['state', 'shipment'],
            context)
        # more than the 3 units scanned: finishing asks a confirmation
        if lines and lines[0]['quantity'] > 3 and all(
                m['state'] == 'draft' and not m['shipment'] for m in moves):
            product, = _rpc(server, 'model.product.product.read',
                [lines[0]['product']], ['code'], context)
            return purchase['number'], product['code']
    pytest.fail("the demo has no purchase waiting for its goods")


def test_scanner_receive_offline(server, browser):
    "Receive a purchase by typed scans, some of them offline, at 360 px"
    number, code = _waiting_purchase(server)
    context = browser.new_context(viewport={'width': 360, 'height': 740})
    page = context.new_page()
    page.set_default_timeout(30000)
    errors = []
    page.on('pageerror', lambda error: errors.append(str(error)))
    artifacts = os.environ.get('BROWSER_ARTIFACTS')
    if artifacts:
        os.makedirs(artifacts, exist_ok=True)

    def shot(name):
        if artifacts:
            page.screenshot(path=os.path.join(
                    artifacts, 'scanner-%s.png' % name), full_page=True)

    page.goto('%s%s/perpetual_inventory/scanner' % (
            server['url'], server['database']))
    page.fill('#login', 'admin')
    page.fill('#password', 'admin')
    page.click('#login-form button[type=submit]')
    expect(page.locator('#scan-form')).to_be_visible()
    page.click('#mode-receive')
    page.fill('#barcode', number)
    page.press('#barcode', 'Enter')
    expect(page.locator('#result .card')).to_contain_text(number)
    expect(page.locator('#actions')).to_be_visible()
    shot('receive-open')

    page.fill('#barcode', code)
    page.press('#barcode', 'Enter')
    expect(page.locator('#message')).to_contain_text(': 1 / ')
    shot('receive-scan')

    # Offline: the scans wait in the queue, then count once each
    context.set_offline(True)
    for _ in range(2):
        page.fill('#barcode', code)
        page.press('#barcode', 'Enter')
    expect(page.locator('#queue')).to_contain_text('2 scan(s) waiting')
    shot('receive-offline')
    context.set_offline(False)
    # A reload keeps the queue (IndexedDB) and sends it
    page.reload()
    expect(page.locator('#scan-form')).to_be_visible()
    expect(page.locator('#queue')).to_be_hidden()
    page.click('#mode-receive')
    page.fill('#barcode', number)
    page.press('#barcode', 'Enter')
    expect(page.locator('#result .card')).to_contain_text('3 /')

    # Unknown barcode: red, in plain words
    page.fill('#barcode', 'NO-SUCH-CODE')
    page.press('#barcode', 'Enter')
    expect(page.locator('#message.error')).to_contain_text('NO-SUCH-CODE')
    shot('receive-unknown')

    # 3 of the first line and nothing of the others: a confirmation
    page.click('#done')
    expect(page.locator('#message.error')).to_contain_text('confirm')
    page.click('#confirm')
    expect(page.locator('#message.ok')).to_contain_text('Received on')
    shot('receive-done')
    assert not errors
    context.close()
