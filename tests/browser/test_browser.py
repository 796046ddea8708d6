"""Log into the real web client and the scanner page in headless Chromium."""
import re

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
