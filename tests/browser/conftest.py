"""A demo server for the browser tests: small SQLite demo, real sao."""
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

import pytest

# The sweep's helpers sit beside the tests (pytest imports in importlib mode)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

DATABASE = 'demo'
CHROMIUM = os.environ.get('CHROMIUM', '/usr/bin/chromium')


def _free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


@pytest.fixture(scope='session')
def server():
    if os.environ.get('BROWSER_SERVER_URL'):
        # A demo server already running (database "demo" in
        # BROWSER_DATA_DIR), to work on the browser tests without building
        # one each time
        yield {'url': os.environ['BROWSER_SERVER_URL'], 'database': DATABASE,
            'data_dir': os.environ['BROWSER_DATA_DIR']}
        return
    sao_root = os.environ.get('SAO_ROOT')
    assert sao_root and os.path.exists(os.path.join(sao_root, 'index.html')), (
        "SAO_ROOT must point at the installed tryton-sao (./run test sets it)")
    port = _free_port()
    data_dir = tempfile.mkdtemp(prefix='perpetual-inventory-browser-')
    log = open(os.path.join(data_dir, 'server.log'), 'w')
    command = [
        os.path.join(os.path.dirname(sys.executable), 'perpetual-inventory'),
        'demo', '--data-dir', data_dir, '--listen', '127.0.0.1:%d' % port,
        '--web-root', sao_root, '--products', '10', '--days', '60']
    process = subprocess.Popen(
        command, stdout=log, stderr=subprocess.STDOUT,
        env=dict(os.environ, PYTHONUNBUFFERED='1'))
    url = 'http://127.0.0.1:%d/' % port
    deadline = time.monotonic() + 300
    while True:
        if process.poll() is not None:
            log.flush()
            raise RuntimeError("The demo server stopped:\n" + open(
                    os.path.join(data_dir, 'server.log')).read()[-3000:])
        try:
            urllib.request.urlopen(
                url + DATABASE + '/perpetual_inventory/scanner', timeout=2)
            break
        except OSError:
            if time.monotonic() > deadline:
                process.terminate()
                raise
            time.sleep(1)
    yield {'url': url, 'database': DATABASE, 'data_dir': data_dir}
    process.terminate()
    try:
        process.wait(20)
    except subprocess.TimeoutExpired:
        process.kill()


@pytest.fixture(scope='session')
def browser():
    from playwright.sync_api import sync_playwright
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=[
                '--no-sandbox', '--disable-gpu', '--disable-quic',
                '--no-first-run', '--disable-background-networking',
                '--disable-component-update', '--disable-sync'])
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={'width': 1280, 'height': 900})
    page = context.new_page()
    page.set_default_timeout(30000)
    errors = []
    page.on('pageerror', lambda error: errors.append(str(error)))
    page.errors = errors
    yield page
    context.close()
