#!/usr/bin/env python3
# This file is part of perpetual_inventory.  The COPYRIGHT file at the top
# level of this repository contains the full copyright notices and license
# terms.
"""Benchmark: cost of the module on done moves, valuation over 1M layers.

Part 1, throughput. Two databases built in the same run on the same
backend: "plain" has the Tryton modules perpetual_inventory depends on
(account_stock_continental, product_cost_fifo, purchase, purchase_request,
purchase_product_quantity, stock_supply, sale, account_invoice, ...)
without perpetual_inventory, "module" has perpetual_inventory as well.
Both get the same company, chart, continental fiscal years, accounting
category and products, and the same sequence of moves (receipts
supplier -> storage, deliveries storage -> customer, alternating; the
deliveries assigned first). The moves are created beforehand (not timed);
the timed part is ``Move.do`` through the server-side API, one
transaction per call, retried on ``TransactionError`` with
``exception.fix(extras)`` as Tryton's dispatcher does, and committed:

- mode "single": one move per transaction;
- mode "batch": 100 moves per transaction.

The two databases take turns (a chunk of transactions each) so that the
load of a shared machine hits both alike. Printed per database and mode:
moves/s, mean and p95 latency per move, transactions retried; and the
ratio module/plain. Then the checks: every done move has its posted
journal entry, (module) its valuation layer, and ``reconcile()`` is
balanced.

Part 2, valuation at date (PostgreSQL only). A module database gets
``--layers`` (default 1,000,000) done stock moves written in bulk with SQL
(``INSERT ... SELECT generate_series``): ~1000 products in 10 bins over
two years, each move with its posted journal entry (two lines) and its
valuation layer, consistent to the cent. ANALYZE, then (PostgreSQL
restarted first when the script started it, so the first run is cold on
PostgreSQL's buffers) each query ``--runs`` times:

- ``ValuationLayer.valuation_query(company, date, group_by)`` executed
  raw (by product at mid-period and at the end, by account at the end);
- ``stock.valuation.line`` ``search_read`` (the table_query with its
  HAVING) at mid-period and at the end;
- ``reconcile(company, date)`` at the end.

Usage::

    bench/valuation.py                                   # SQLite, no part 2
    bench/valuation.py --start-postgresql                # PG, both parts
    bench/valuation.py --start-postgresql --throughput sqlite postgresql
    bench/valuation.py --database-uri postgresql://user@host:port/ \\
        --throughput none --layers 100000

Options: ``--single N`` (200), ``--batch N`` (500), ``--batch-size``
(100), ``--warmup`` (10), ``--products`` (20), ``--layers`` (1,000,000,
0 = skip part 2), ``--runs`` (3), ``--db-cache DIR`` (keeps the activated
databases between runs, keyed by the module's sources), ``--timeout``
(minutes per phase, 60). Run it with the Python of a virtual environment
that has trytond 8.0 and the module installed.
"""
import argparse
import datetime as dt
import glob
import hashlib
import json
import math
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODULE = 'perpetual_inventory'
# perpetual_inventory's own dependencies (tryton.cfg) without ir and res.
PLAIN_MODULES = [
    'account', 'account_invoice', 'account_product',
    'account_stock_continental', 'account_stock_landed_cost', 'company',
    'product', 'product_cost_fifo',
    'purchase', 'purchase_product_quantity', 'purchase_request', 'sale',
    'stock', 'stock_supply',
    ]
KINDS = {'plain': PLAIN_MODULES, 'module': [MODULE]}
RESULT_MARK = 'RESULT-JSON: '


def log(*args):
    print(time.strftime('%H:%M:%S'), *args, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------
# Orchestration (no trytond import: each phase runs in a child process
# whose environment selects the backend).
# ---------------------------------------------------------------------------

def cache_key():
    "Return a key of the sources the activated schema depends on"
    digest = hashlib.sha1()
    files = sorted(
        glob.glob(os.path.join(ROOT, '*.py'))
        + glob.glob(os.path.join(ROOT, '*.cfg'))
        + glob.glob(os.path.join(ROOT, '*.xml'))
        + glob.glob(os.path.join(ROOT, 'models', '*.py'))
        + glob.glob(os.path.join(ROOT, 'models', '*.xml'))
        + glob.glob(os.path.join(ROOT, 'view', '*.xml')))
    for name in files:
        digest.update(name[len(ROOT):].encode())
        with open(name, 'rb') as file:
            digest.update(file.read())
    try:
        from importlib.metadata import version
        digest.update(version('trytond').encode())
    except Exception:
        pass
    return digest.hexdigest()[:10]


class PostgreSQL:
    "A throw-away cluster on 127.0.0.1, as ./run test starts it"

    def __init__(self, port):
        bins = sorted(glob.glob('/usr/lib/postgresql/*/bin'),
            key=lambda p: [int(x) for x in p.split('/')[-2].split('.')
                if x.isdigit()])
        if not bins:
            raise SystemExit("PostgreSQL binaries not found")
        self.bindir = bins[-1]
        self.port = port
        self.directory = tempfile.mkdtemp(prefix='pi-bench-pg.')
        self.run = []
        if os.getuid() == 0:
            shutil.chown(self.directory, 'postgres')
            self.run = ['runuser', '-u', 'postgres', '--']
        self.data = os.path.join(self.directory, 'data')
        subprocess.run(self.run + [
                os.path.join(self.bindir, 'initdb'), '-D', self.data,
                '-U', 'postgres', '--auth=trust', '-E', 'UTF8'],
            check=True, stdout=subprocess.DEVNULL)
        self.started = False
        self.start()

    @property
    def uri(self):
        return 'postgresql://postgres@127.0.0.1:%d/' % self.port

    def start(self):
        subprocess.run(self.run + [
                os.path.join(self.bindir, 'pg_ctl'), '-D', self.data,
                '-l', os.path.join(self.directory, 'log'), '-w', '-o',
                '-h 127.0.0.1 -p %d -k %s -c fsync=off '
                '-c synchronous_commit=off -c full_page_writes=off '
                '-c shared_buffers=256MB -c work_mem=64MB '
                '-c maintenance_work_mem=256MB -c max_wal_size=4GB'
                % (self.port, self.directory), 'start'],
            check=True, stdout=subprocess.DEVNULL)
        self.started = True

    def stop(self):
        if self.started:
            subprocess.run(self.run + [
                    os.path.join(self.bindir, 'pg_ctl'), '-D', self.data,
                    '-m', 'fast', 'stop'],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            self.started = False

    def restart(self):
        self.stop()
        self.start()

    def remove(self):
        self.stop()
        shutil.rmtree(self.directory, ignore_errors=True)


def run_phase(phase, options, uri, workdir, timeout):
    "Run a phase in a child process and return the JSON it prints"
    env = dict(os.environ)
    for key in list(env):
        if key.startswith('TRYTOND_') or key in {'TRYTOND_CONFIG', 'DB_NAME'}:
            del env[key]
    env['TRYTOND_DATABASE__URI'] = uri
    env['TRYTOND_DATABASE__PATH'] = os.path.join(workdir, 'sqlite')
    env['PYTHONDONTWRITEBYTECODE'] = '1'
    env['TEST_NETWORK'] = '0'
    os.makedirs(env['TRYTOND_DATABASE__PATH'], exist_ok=True)
    config = os.path.join(workdir, 'phase-%s.json' % phase)
    with open(config, 'w') as file:
        json.dump(dict(vars(options), uri=uri, workdir=workdir), file)
    command = [sys.executable, os.path.abspath(__file__), '--phase', phase,
        '--phase-config', config]
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE,
        text=True, start_new_session=True)
    try:
        out, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGTERM)
        process.communicate()
        log("phase %s: stopped after %d s" % (phase, timeout))
        return None
    for line in reversed(out.splitlines()):
        if line.startswith(RESULT_MARK):
            return json.loads(line[len(RESULT_MARK):])
    log("phase %s: failed (exit %s)" % (phase, process.returncode))
    return None


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--database-uri', help="postgresql://user@host:port/")
    parser.add_argument('--start-postgresql', action='store_true',
        help="start a throw-away PostgreSQL cluster (removed at the end)")
    parser.add_argument('--pg-port', type=int, default=56543)
    parser.add_argument('--throughput', nargs='+', default=None,
        choices=['sqlite', 'postgresql', 'none'],
        help="backends of part 1 (default: sqlite)")
    parser.add_argument('--single', type=int, default=200,
        help="moves done one per transaction (default 200)")
    parser.add_argument('--batch', type=int, default=500,
        help="moves done in batches (default 500)")
    parser.add_argument('--batch-size', type=int, default=100)
    parser.add_argument('--warmup', type=int, default=10,
        help="single moves done first and not counted")
    parser.add_argument('--products', type=int, default=20)
    parser.add_argument('--layers', type=int, default=None,
        help="layers of part 2 (default 1,000,000 with PostgreSQL; 0 skips)")
    parser.add_argument('--layer-products', type=int, default=1000)
    parser.add_argument('--layer-locations', type=int, default=10)
    parser.add_argument('--layer-days', type=int, default=730)
    parser.add_argument('--runs', type=int, default=3)
    parser.add_argument('--db-cache', help="directory of activated databases")
    parser.add_argument('--db-prefix', default='pi_bench')
    parser.add_argument('--timeout', type=float, default=60,
        help="minutes per phase (default 60)")
    parser.add_argument('--phase', help=argparse.SUPPRESS)
    parser.add_argument('--phase-config', help=argparse.SUPPRESS)
    options = parser.parse_args(argv)

    if options.phase:
        return child(options.phase, options.phase_config)

    throughput = options.throughput or ['sqlite']
    throughput = [b for b in throughput if b != 'none']
    pg = None
    uri = options.database_uri
    workdir = tempfile.mkdtemp(prefix='pi-bench.')
    if options.db_cache:
        options.db_cache = os.path.abspath(options.db_cache)
        os.makedirs(options.db_cache, exist_ok=True)
    options.key = cache_key()
    results = {'throughput': {}, 'valuation': None}
    timeout = options.timeout * 60
    started = time.time()
    try:
        if options.start_postgresql:
            pg = PostgreSQL(options.pg_port)
            uri = pg.uri
            log("PostgreSQL started on %s (%s)" % (uri, pg.directory))
        if 'postgresql' in throughput and not uri:
            raise SystemExit("--throughput postgresql needs --database-uri "
                "or --start-postgresql")
        layers = options.layers
        if layers is None:
            layers = 1000000 if uri else 0
        options.layers = layers
        for backend in throughput:
            log("== throughput on %s" % backend)
            results['throughput'][backend] = run_phase('throughput', options,
                'sqlite://' if backend == 'sqlite' else uri, workdir,
                timeout)
        if layers and uri:
            log("== valuation over %d layers on PostgreSQL" % layers)
            load = run_phase('load', options, uri, workdir, timeout)
            if load:
                if pg:
                    log("restarting PostgreSQL (cold buffers)")
                    pg.restart()
                query = run_phase('query', options, uri, workdir, timeout)
                results['valuation'] = {'load': load, 'query': query}
        elif layers:
            log("valuation part skipped: it needs PostgreSQL")
    finally:
        if pg:
            pg.remove()
        shutil.rmtree(workdir, ignore_errors=True)
    summary(results, options, time.time() - started)
    ok = all(r and r.get('ok') for r in results['throughput'].values())
    if results['valuation'] is not None:
        query = results['valuation'].get('query')
        ok = ok and bool(query and query.get('ok'))
    return 0 if ok else 1


def summary(results, options, elapsed):
    print()
    print("=" * 78)
    print("perpetual_inventory benchmark  (%s, %d s in all)" % (
            dt.datetime.now(dt.timezone.utc).strftime('%Y-%m-%d %H:%M UTC'),
            elapsed))
    print("=" * 78)
    for backend, result in results['throughput'].items():
        print()
        if not result:
            print("Throughput on %s: FAILED (see the log above)" % backend)
            continue
        print("Throughput of done moves on %s (%d products, receipts and "
            "deliveries alternating)" % (backend, options.products))
        print("  modules plain : %s" % ' '.join(result['modules']['plain']))
        print("  module adds   : %s" % (' '.join(
                result['modules']['difference']) or '-'))
        print()
        header = ("  %-7s %-7s %6s %9s %10s %10s %10s %8s"
            % ("mode", "db", "moves", "moves/s", "mean ms", "p95 ms",
                "do() ms", "retried"))
        print(header)
        print("  " + "-" * (len(header) - 2))
        for mode in ['single', 'batch']:
            for kind in ['plain', 'module']:
                r = result['runs'].get(mode, {}).get(kind)
                if not r:
                    continue
                print("  %-7s %-7s %6d %9.2f %10.1f %10.1f %10.1f %8s"
                    % (mode, kind, r['moves'], r['moves_per_s'],
                        r['mean_ms'], r['p95_ms'], r['do_ms'],
                        "%d/%d" % (r['retried'], r['transactions'])))
        print()
        for mode in ['single', 'batch']:
            runs = result['runs'].get(mode, {})
            if 'plain' in runs and 'module' in runs:
                ratio = runs['module']['mean_ms'] / runs['plain']['mean_ms']
                ratio95 = runs['module']['p95_ms'] / runs['plain']['p95_ms']
                print("  ratio module/plain, %-6s: %.2fx mean latency "
                    "(%.2fx p95)  [aim <= 1.3x: %s]" % (mode, ratio, ratio95,
                        'ok' if ratio <= 1.3 else 'MISSED'))
        print()
        print("  checks:")
        for line in result['checks']:
            print("    " + line)
    valuation = results['valuation']
    if valuation is not None:
        print()
        load, query = valuation.get('load'), valuation.get('query')
        if not load or not query:
            print("Valuation on PostgreSQL: FAILED (see the log above)")
            return
        print("Valuation at date on PostgreSQL: %d layers (%d stock moves, "
            "%d entries, %d entry lines), %d products, %d bins, %s .. %s"
            % (load['layers'], load['moves'], load['entries'],
                load['lines'], load['products'], load['locations'],
                load['start'], load['end']))
        print("  bulk load %.1f s, ANALYZE %.1f s; table sizes: %s" % (
                load['load_s'], load['analyze_s'], ', '.join(
                    '%s %s' % kv for kv in load['sizes'].items())))
        print()
        runs = options.runs
        header = "  %-46s %7s " % ("query", "rows") + ' '.join(
            "%8s" % ("run %d s" % (i + 1)) for i in range(runs))
        print(header)
        print("  " + "-" * (len(header) - 2))
        for item in query['timings']:
            print("  %-46s %7s " % (item['name'], item['rows']) + ' '.join(
                    "%8.3f" % s for s in item['seconds']))
        print("  (run 1 follows a restart of PostgreSQL when the script "
            "started it: cold shared buffers, warm OS cache)")
        print()
        print("  aim: valuation at date under 5 s: %s (slowest valuation "
            "query %.3f s)" % ('ok' if query['worst_valuation'] < 5
                else 'MISSED', query['worst_valuation']))
        print("  checks:")
        for line in query['checks']:
            print("    " + line)


# ---------------------------------------------------------------------------
# Child phases (trytond imported here, backend from the environment).
# ---------------------------------------------------------------------------

def child(phase, config_path):
    with open(config_path) as file:
        config = json.load(file)
    functions = {
        'throughput': phase_throughput,
        'load': phase_load,
        'query': phase_query,
        }
    result = functions[phase](config)
    print(RESULT_MARK + json.dumps(result, default=str), flush=True)
    return 0


def run_in_transaction(database, func, user=1, context=None, stats=None):
    """Run func() in a transaction, retried as Tryton's dispatcher does.

    Returns func's result; stats (a dict) gets the attempts.
    """
    from trytond.transaction import Transaction, TransactionError
    extras = {}
    attempts = 0
    while True:
        attempts += 1
        with Transaction().start(database, user, context=context or {},
                **extras) as transaction:
            try:
                result = func()
            except TransactionError as exception:
                transaction.rollback()
                exception.fix(extras)
                continue
            transaction.commit()
        if stats is not None:
            stats['attempts'] = attempts
        return result


class Databases:
    "Activated template databases and their copies"

    def __init__(self, config):
        from trytond import backend
        self.config = config
        self.backend = backend.name
        self.key = config['key']
        self.cache = config.get('db_cache')
        self.prefix = config['db_prefix']
        self.sqlite_dir = os.environ['TRYTOND_DATABASE__PATH']
        self.uri = config['uri']

    # PostgreSQL helpers
    def _pg(self, dbname='postgres'):
        import psycopg
        from urllib.parse import urlparse
        url = urlparse(self.uri)
        return psycopg.connect(host=url.hostname, port=url.port or 5432,
            user=url.username or None, password=url.password or None,
            dbname=dbname, autocommit=True)

    def _pg_exists(self, name):
        with self._pg() as conn:
            return bool(conn.execute(
                    "SELECT 1 FROM pg_database WHERE datname = %s",
                    (name,)).fetchone())

    def _pg_env(self):
        from urllib.parse import urlparse
        url = urlparse(self.uri)
        env = dict(os.environ, PGHOST=url.hostname,
            PGPORT=str(url.port or 5432))
        if url.username:
            env['PGUSER'] = url.username
        if url.password:
            env['PGPASSWORD'] = url.password
        return env

    def _pg_tool(self, name):
        bins = sorted(glob.glob('/usr/lib/postgresql/*/bin/' + name))
        return bins[-1] if bins else name

    def drop(self, name):
        if self.backend == 'postgresql':
            with self._pg() as conn:
                conn.execute('DROP DATABASE IF EXISTS "%s" WITH (FORCE)'
                    % name)
        else:
            path = os.path.join(self.sqlite_dir, name + '.sqlite')
            if os.path.exists(path):
                os.remove(path)

    def template(self, kind):
        "Return the name of the activated database of the kind"
        name = '%s_tpl_%s_%s' % (self.prefix, kind, self.key)
        if self.backend == 'postgresql':
            if self._pg_exists(name):
                return name
            dump = self.cache and os.path.join(
                self.cache, '%s.pgdump' % name)
            if dump and os.path.exists(dump):
                log("restoring %s from %s" % (name, dump))
                with self._pg() as conn:
                    conn.execute('CREATE DATABASE "%s"' % name)
                subprocess.run([self._pg_tool('pg_restore'), '-d', name,
                        '-j', '2', dump], env=self._pg_env(), check=True)
                return name
            with self._pg() as conn:
                conn.execute('CREATE DATABASE "%s"' % name)
            self.activate(name, kind)
            if self.cache:
                subprocess.run([self._pg_tool('pg_dump'), '-F', 'c', '-f',
                        dump, name], env=self._pg_env(), check=True)
            return name
        path = os.path.join(self.sqlite_dir, name + '.sqlite')
        cached = self.cache and os.path.join(self.cache, name + '.sqlite')
        if not os.path.exists(path):
            if cached and os.path.exists(cached):
                shutil.copyfile(cached, path)
            else:
                open(path, 'w').close()
                self.activate(name, kind)
                if cached:
                    shutil.copyfile(path, cached)
        return name

    def activate(self, name, kind):
        started = time.time()
        log("activating %s in %s (takes a minute or two)" % (
                ' '.join(KINDS[kind]), name))
        passfile = os.path.join(self.config['workdir'], 'admin.pass')
        with open(passfile, 'w') as file:
            file.write('admin\n')
        admin = os.path.join(os.path.dirname(sys.executable), 'trytond-admin')
        env = dict(os.environ, TRYTONPASSFILE=passfile)
        logfile = os.path.join(self.config['workdir'], name + '.admin.log')
        with open(logfile, 'w') as out:
            process = subprocess.run([admin, '-d', name, '-u', *KINDS[kind],
                    '--activate-dependencies', '--email',
                    'admin@example.com'], env=env, stdout=out,
                stderr=subprocess.STDOUT)
        if process.returncode:
            with open(logfile) as file:
                sys.stderr.write(file.read()[-4000:])
            raise SystemExit("trytond-admin failed on %s" % name)
        log("activated %s in %.0f s" % (name, time.time() - started))

    def templates(self, kinds):
        "Activate the templates missing, two at a time"
        from concurrent.futures import ThreadPoolExecutor
        with ThreadPoolExecutor(max_workers=2) as executor:
            return dict(zip(kinds, executor.map(self.template, kinds)))

    def clone(self, kind, name):
        template = self.template(kind)
        self.drop(name)
        if self.backend == 'postgresql':
            with self._pg() as conn:
                conn.execute('CREATE DATABASE "%s" TEMPLATE "%s"'
                    % (name, template))
        else:
            shutil.copyfile(
                os.path.join(self.sqlite_dir, template + '.sqlite'),
                os.path.join(self.sqlite_dir, name + '.sqlite'))
        return name


def setup_business(database, with_module, n_products, n_locations=0,
        years=(0,)):
    """Create the company, chart, fiscal years, category and products.

    Returns a dict of ids and the transaction context to use.
    """
    from decimal import Decimal
    from trytond.pool import Pool

    def setup():
        from trytond.modules.company.tests.test_module import (
            create_company, set_company)
        from trytond.modules.account.tests.test_module import (
            create_chart, get_fiscalyear)
        from trytond.modules.account_invoice.tests.test_module import (
            set_invoice_sequences)
        pool = Pool()
        Account = pool.get('account.account')
        FiscalYear = pool.get('account.fiscalyear')
        Category = pool.get('product.category')
        Template = pool.get('product.template')
        Uom = pool.get('product.uom')
        Location = pool.get('stock.location')
        User = pool.get('res.user')

        company = create_company()
        with set_company(company):
            create_chart(company)
            today = dt.date.today()
            for back in years:
                fiscalyear = get_fiscalyear(company,
                    today=today.replace(year=today.year - back, day=1))
                fiscalyear.account_stock_method = 'continental'
                set_invoice_sequences(fiscalyear)
                fiscalyear.save()
                FiscalYear.create_period([fiscalyear])

            def account(code):
                result, = Account.search([
                        ('code', '=', code), ('company', '=', company.id)])
                return result
            stock = account('1.3.1')
            stock_change = account('5.1.5')
            expense = account('5.1.1')
            revenue = account('4.1.1')
            grni, cogs, over_short, variance = Account.create([{
                        'name': "Goods Received Not Invoiced",
                        'code': '5.1.7', 'parent': stock_change.parent.id,
                        'type': stock_change.type.id,
                        'company': company.id,
                        }] + [{
                        'name': name, 'code': code,
                        'parent': expense.parent.id,
                        'type': expense.type.id, 'company': company.id,
                        } for name, code in [
                        ("Cost of Goods Sold", '5.1.8'),
                        ("Inventory Over/Short", '5.1.9'),
                        ("Purchase Price Variance", '5.1.10')]])
            values = {
                'name': "Bench", 'accounting': True,
                'account_expense': expense.id,
                'account_revenue': revenue.id,
                'account_stock': stock.id,
                'account_stock_in': grni.id,
                'account_stock_out': stock_change.id,
                }
            if with_module:
                values.update({
                        'account_cogs': cogs.id,
                        'account_stock_over_short': over_short.id,
                        'account_price_variance': variance.id,
                        })
            category, = Category.create([values])
            unit, = Uom.search([('name', '=', 'Unit')])
            methods = ['average', 'fifo', 'fixed']
            templates = Template.create([{
                        'name': "Bench product %04d" % i,
                        'code': 'B%04d' % i,
                        'type': 'goods', 'default_uom': unit.id,
                        'purchase_uom': unit.id, 'sale_uom': unit.id,
                        'purchasable': True, 'salable': True,
                        'list_price': Decimal(20 + i % 50),
                        'cost_price_method': methods[i % 3],
                        'account_category': category.id,
                        'products': [('create', [{
                                        'cost_price': Decimal(
                                            '%d.50' % (5 + i % 40)),
                                        }])],
                        } for i in range(n_products)])
            warehouse, = Location.search([('type', '=', 'warehouse')])
            supplier, = Location.search([('type', '=', 'supplier')])
            customer, = Location.search([('type', '=', 'customer')])
            bins = Location.create([{
                        'name': "Bin %02d" % i, 'code': 'BIN%02d' % i,
                        'type': 'storage',
                        'parent': warehouse.storage_location.id,
                        } for i in range(n_locations)])
            context = User.get_preferences(context_only=True)
            return {
                'company': company.id,
                'currency': company.currency.id,
                'products': [t.products[0].id for t in templates],
                'costs': [str(t.products[0].cost_price) for t in templates],
                'list_prices': [str(t.list_price) for t in templates],
                'unit': unit.id,
                'warehouse': warehouse.id,
                'storage': warehouse.storage_location.id,
                'supplier': supplier.id,
                'customer': customer.id,
                'bins': [b.id for b in bins],
                'stock_account': stock.id,
                'grni': grni.id,
                'cogs': cogs.id,
                'stock_change': stock_change.id,
                'context': {k: v for k, v in context.items()
                    if isinstance(v, (int, str, list, type(None)))},
                }
    init_pool(database)
    return run_in_transaction(database, setup, user=1)


_POOLS = set()


def init_pool(database):
    "Load the pool of the database once, as the server does at start"
    from trytond.pool import Pool
    from trytond.transaction import Transaction
    if database not in _POOLS:
        with Transaction().start(database, 0, readonly=True):
            Pool(database).init()
        _POOLS.add(database)


def activated_modules(database):
    from trytond.pool import Pool
    from trytond.transaction import Transaction
    init_pool(database)
    with Transaction().start(database, 0):
        Module = Pool().get('ir.module')
        return sorted(m.name for m in Module.search(
                [('state', '=', 'activated')]))


def create_moves(database, ids, plan):
    """Create the moves of the plan (draft receipts, assigned deliveries).

    plan: list of (product index, 'in' | 'out'). Returns the move ids.
    """
    from decimal import Decimal
    from trytond.pool import Pool

    def create():
        Move = Pool().get('stock.move')
        today = dt.date.today()
        values = []
        for index, direction in plan:
            cost = Decimal(ids['costs'][index])
            common = {
                'product': ids['products'][index], 'unit': ids['unit'],
                'company': ids['company'], 'currency': ids['currency'],
                'planned_date': today, 'effective_date': today,
                }
            if direction == 'in':
                # The purchase price differs from the cost: average and
                # FIFO costs move, fixed cost posts a price variance.
                common.update({'quantity': 10.0,
                        'from_location': ids['supplier'],
                        'to_location': ids['storage'],
                        'unit_price': (cost * Decimal('1.03')).quantize(
                            Decimal('0.0001'))})
            else:
                common.update({'quantity': 4.0,
                        'from_location': ids['storage'],
                        'to_location': ids['customer'],
                        'unit_price': Decimal(ids['list_prices'][index])})
            values.append(common)
        moves = Move.create(values)
        Move.assign([m for m, (_, d) in zip(moves, plan) if d == 'out'])
        return [m.id for m in moves]
    return run_in_transaction(database, create,
        context=dict(ids['context'], _skip_warnings=True))


def percentile(values, fraction):
    values = sorted(values)
    if not values:
        return 0.0
    index = max(0, math.ceil(fraction * len(values)) - 1)
    return values[index]


def phase_throughput(config):
    from trytond.pool import Pool

    databases = Databases(config)
    log("backend %s" % databases.backend)
    databases.templates(['plain', 'module'])
    names = {}
    ids = {}
    for kind in ['plain', 'module']:
        names[kind] = databases.clone(
            kind, '%s_%s' % (config['db_prefix'], kind))
    modules = {k: activated_modules(n) for k, n in names.items()}
    difference = sorted(set(modules['module']) - set(modules['plain']))
    missing = sorted(set(modules['plain']) - set(modules['module']))
    log("modules only in the module database: %s; only in plain: %s"
        % (difference, missing))
    for kind in ['plain', 'module']:
        started = time.time()
        ids[kind] = setup_business(names[kind], kind == 'module',
            config['products'])
        log("%s: company, chart, fiscal year, %d products in %.1f s" % (
                kind, config['products'], time.time() - started))

    n_products = config['products']
    warmup, single, batch = (
        config['warmup'], config['single'], config['batch'])
    size = config['batch_size']

    def plan_of(count, offset):
        "Receipt then delivery of the same product, products in turn"
        plan = []
        for k in range(count):
            pair = (offset + k) // 2
            plan.append((pair % n_products, 'in' if k % 2 == 0 else 'out'))
        return plan

    plans = {
        'warmup': plan_of(warmup, 0),
        'single': plan_of(single, warmup),
        'batch': plan_of(batch, warmup + single),
        }
    moves = {}
    for kind in ['plain', 'module']:
        moves[kind] = {}
        for mode, plan in plans.items():
            moves[kind][mode] = create_moves(names[kind], ids[kind], plan) \
                if plan else []
    log("created %d moves in each database" % sum(
            len(p) for p in plans.values()))

    def do(kind, move_ids):
        timing = {}

        def func():
            Move = Pool().get('stock.move')
            records = Move.browse(move_ids)
            start = time.perf_counter()
            Move.do(records)
            timing['do'] = time.perf_counter() - start
        stats = {}
        start = time.perf_counter()
        run_in_transaction(names[kind], func, context=dict(
                ids[kind]['context'], _skip_warnings=True), stats=stats)
        return time.perf_counter() - start, timing['do'], stats['attempts']

    # Warm-up: caches, first loads of the pools.
    for kind in ['plain', 'module']:
        for move_id in moves[kind]['warmup']:
            do(kind, [move_id])
    log("warm-up done (%d moves each)" % warmup)

    runs = {}
    for mode, per_transaction, turn in [
            ('single', 1, 10), ('batch', size, 1)]:
        chunks = {
            kind: [moves[kind][mode][i:i + per_transaction]
                for i in range(0, len(moves[kind][mode]), per_transaction)]
            for kind in ['plain', 'module']}
        samples = {'plain': [], 'module': []}
        count = len(chunks['plain'])
        started = time.time()
        for first in range(0, count, turn):
            # Take turns, the first database changing each round.
            order = ['plain', 'module']
            if (first // turn) % 2:
                order.reverse()
            for kind in order:
                for chunk in chunks[kind][first:first + turn]:
                    wall, do_s, attempts = do(kind, chunk)
                    samples[kind].append((len(chunk), wall, do_s, attempts))
            if time.time() - started > 30 and first + turn < count:
                started = time.time()
                log("%s: %d/%d transactions per database" % (
                        mode, first + turn, count))
        runs[mode] = {}
        for kind, rows in samples.items():
            if not rows:
                continue
            total_moves = sum(r[0] for r in rows)
            total = sum(r[1] for r in rows)
            per_move = [r[1] / r[0] for r in rows]
            runs[mode][kind] = {
                'moves': total_moves,
                'transactions': len(rows),
                'seconds': total,
                'moves_per_s': total_moves / total,
                'mean_ms': 1000 * total / total_moves,
                'p95_ms': 1000 * percentile(per_move, 0.95),
                'median_ms': 1000 * statistics.median(per_move),
                'do_ms': 1000 * sum(r[2] for r in rows) / total_moves,
                'transaction_p95_ms': 1000 * percentile(
                    [r[1] for r in rows], 0.95),
                'retried': sum(1 for r in rows if r[3] > 1),
                'attempts': sum(r[3] for r in rows),
                }
            r = runs[mode][kind]
            log("%s %s: %.2f moves/s, mean %.1f ms, p95 %.1f ms, "
                "%d attempts for %d transactions" % (mode, kind,
                    r['moves_per_s'], r['mean_ms'], r['p95_ms'],
                    r['attempts'], r['transactions']))

    checks, ok = check_databases(names, ids, moves)
    return {
        'ok': ok,
        'backend': databases.backend,
        'modules': {'plain': modules['plain'], 'difference': difference,
            'missing': missing},
        'runs': runs,
        'checks': checks,
        }


def check_databases(names, ids, moves):
    "Return the lines of the checks and whether all passed"
    from trytond.pool import Pool
    from trytond.transaction import Transaction

    lines = []
    ok = True
    for kind in ['plain', 'module']:
        database = names[kind]
        move_ids = sorted(i for ms in moves[kind].values() for i in ms)
        with Transaction().start(database, 1,
                context=ids[kind]['context']):
            pool = Pool()
            Move = pool.get('stock.move')
            AccountMove = pool.get('account.move')
            done = Move.search([('id', 'in', move_ids),
                    ('state', '=', 'done')], count=True)
            wanted = set(move_ids)
            entries = [e for e in AccountMove.search([
                        ('origin', 'like', 'stock.move,%'),
                        ('state', '=', 'posted'),
                        ]) if e.origin.id in wanted]
            with_entry = {e.origin.id for e in entries}
            unbalanced = [e for e in entries
                if sum(l.debit - l.credit for l in e.lines)]
            line = ("%-6s: %d/%d moves done, %d with a posted entry, "
                "%d entries unbalanced" % (kind, done, len(move_ids),
                    len(with_entry & set(move_ids)), len(unbalanced)))
            good = (done == len(move_ids)
                and with_entry >= set(move_ids) and not unbalanced)
            if kind == 'module':
                from trytond.modules.perpetual_inventory.models.valuation \
                    import reconcile
                Layer = pool.get('stock.valuation.layer')
                layers = Layer.search([('move', 'in', move_ids)])
                layered = {l.move.id for l in layers}
                totals, differences = reconcile(
                    ids[kind]['company'], dt.date.today())
                balanced = (not differences
                    and all(t['difference'] == 0 for t in totals))
                line += (", %d layers for %d moves; reconcile(): %s "
                    "(valuation %s, ledger %s, %d differences)" % (
                        len(layers), len(layered),
                        'balanced' if balanced else 'NOT BALANCED',
                        sum(t['valuation'] for t in totals),
                        sum(t['ledger'] for t in totals),
                        len(differences)))
                good = good and layered >= set(move_ids) and balanced
            lines.append(line + ('' if good else '  <-- FAILED'))
            ok = ok and good
    return lines, ok


# ---------------------------------------------------------------------------
# Part 2: bulk load and valuation queries on PostgreSQL
# ---------------------------------------------------------------------------

def phase_load(config):
    from trytond.pool import Pool
    from trytond.transaction import Transaction

    databases = Databases(config)
    if databases.backend != 'postgresql':
        raise SystemExit("the valuation part needs PostgreSQL")
    name = databases.clone('module', '%s_valuation' % config['db_prefix'])
    started = time.time()
    ids = setup_business(name, True, config['layer_products'],
        config['layer_locations'], years=(0, 1, 2))
    log("valuation db: company, 3 fiscal years, %d products, %d bins in "
        "%.1f s" % (config['layer_products'], config['layer_locations'],
            time.time() - started))
    total = config['layers']
    days = config['layer_days']
    end = dt.date.today()
    start = end - dt.timedelta(days=days - 1)
    chunk = 100000

    def load():
        transaction = Transaction()
        pool = Pool()
        Configuration = pool.get('account.configuration')
        cursor = transaction.connection.cursor()
        journal = Configuration(1).get_multivalue(
            'stock_journal', company=ids['company'])
        base = {}
        for table in ['stock_move', 'account_move', 'account_move_line',
                'stock_valuation_layer']:
            cursor.execute('SELECT COALESCE(MAX(id), 0) FROM "%s"' % table)
            base[table] = cursor.fetchone()[0]
        params = {
            'products': ids['products'],
            'bins': ids['bins'],
            'np': len(ids['products']),
            'nl': len(ids['bins']),
            'n': total, 'days': days, 'start': start,
            'company': ids['company'], 'currency': ids['currency'],
            'unit': ids['unit'], 'supplier': ids['supplier'],
            'customer': ids['customer'], 'warehouse': ids['warehouse'],
            'stock': ids['stock_account'], 'grni': ids['grni'],
            'cogs': ids['cogs'], 'journal': journal.id,
            'uid': transaction.user,
            'bm': base['stock_move'], 'ba': base['account_move'],
            'bl': base['account_move_line'],
            'bv': base['stock_valuation_layer'],
            }
        # One row per i: the pair i // 2 is a receipt (even i, 2..10 u)
        # then a delivery (odd i, 1..5 u) of the same product in the same
        # bin (each product lives in two bins, in turn every np pairs),
        # at its cost 0.50 + (p mod 97) / 4; dates spread over the days.
        gen = """
            SELECT i,
                (%(products)s::int[])[(1 + ((i / 2) * 7919) %% %(np)s)::int]
                    AS product,
                (%(bins)s::int[])[(1 + ((((i / 2) * 7919) %% %(np)s)
                    + (i / 2 / %(np)s) %% 2) %% %(nl)s)::int] AS bin,
                (%(start)s::date + ((i - 1)::bigint * %(days)s / %(n)s)::int)
                    AS day,
                (i %% 2 = 0) AS receipt,
                CASE WHEN i %% 2 = 0 THEN 2 + (i / 2) %% 9
                    ELSE 1 + (i / 2) %% 5 END AS qty,
                (0.50 + ((((i / 2) * 7919) %% %(np)s) %% 97) / 4.0)::numeric
                    AS cost
            FROM generate_series(%(lo)s::bigint, %(hi)s::bigint) AS i
            """
        statements = [
            """INSERT INTO stock_move (id, product, quantity,
                internal_quantity, unit, from_location, to_location,
                planned_date, effective_date, state, company, currency,
                unit_price, cost_price, origin, unit_price_updated,
                fifo_quantity, create_uid, create_date)
            SELECT %(bm)s + i, product, qty, qty, %(unit)s,
                CASE WHEN receipt THEN %(supplier)s ELSE bin END,
                CASE WHEN receipt THEN bin ELSE %(customer)s END,
                day, day, 'done', %(company)s, %(currency)s,
                CASE WHEN receipt THEN cost ELSE cost * 2 END, cost, NULL,
                false, 0, %(uid)s, now()
            FROM (""" + gen + """) AS g""",
            """INSERT INTO account_move (id, company, journal, period, date,
                post_date, state, origin, number, description, create_uid,
                create_date)
            SELECT %(ba)s + i, %(company)s, %(journal)s, p.id, day, day,
                'posted', 'stock.move,' || (%(bm)s + i), 'B' || i,
                CASE WHEN receipt THEN 'Receipt' ELSE 'Delivery' END,
                %(uid)s, now()
            FROM (""" + gen + """) AS g
            JOIN account_period AS p ON p.type = 'standard'
                AND g.day BETWEEN p.start_date AND p.end_date
                AND p.fiscalyear IN (SELECT id FROM account_fiscalyear
                    WHERE company = %(company)s)""",
            """INSERT INTO account_move_line (id, move, account, debit,
                credit, state, create_uid, create_date)
            SELECT %(bl)s + 2 * i - side, %(ba)s + i,
                CASE WHEN receipt = (side = 1) THEN %(stock)s
                    WHEN receipt THEN %(grni)s ELSE %(cogs)s END,
                CASE WHEN side = 1 THEN qty * cost ELSE 0 END,
                CASE WHEN side = 0 THEN qty * cost ELSE 0 END,
                'valid', %(uid)s, now()
            FROM (""" + gen + """) AS g
            CROSS JOIN (VALUES (0), (1)) AS s (side)""",
            """INSERT INTO stock_valuation_layer (id, move, company, product,
                date, location, warehouse, quantity, value, currency,
                account, account_move, kind, create_uid, create_date)
            SELECT %(bv)s + i, %(bm)s + i, %(company)s, product, day, bin,
                %(warehouse)s,
                CASE WHEN receipt THEN qty ELSE -qty END,
                CASE WHEN receipt THEN qty * cost ELSE -qty * cost END,
                %(currency)s, %(stock)s, %(ba)s + i, 'move', %(uid)s, now()
            FROM (""" + gen + """) AS g""",
            ]
        for lo in range(1, total + 1, chunk):
            hi = min(total, lo + chunk - 1)
            for statement in statements:
                cursor.execute(statement, dict(params, lo=lo, hi=hi))
            log("  loaded %d/%d moves, entries and layers" % (hi, total))
        database = transaction.database
        for table, count in [('stock_move', total), ('account_move', total),
                ('account_move_line', 2 * total),
                ('stock_valuation_layer', total)]:
            database.setnextid(
                transaction.connection, table, base[table] + count + 1)
        return base

    started = time.time()
    run_in_transaction(name, load, context=ids['context'])
    load_s = time.time() - started
    log("bulk load in %.1f s" % load_s)
    started = time.time()
    sizes = {}
    with databases._pg(name) as conn:
        conn.execute('VACUUM ANALYZE stock_move, account_move, '
            'account_move_line, stock_valuation_layer')
        for table in ['stock_valuation_layer', 'stock_move', 'account_move',
                'account_move_line']:
            sizes[table] = conn.execute(
                "SELECT pg_size_pretty(pg_total_relation_size(%s))",
                (table,)).fetchone()[0]
    analyze_s = time.time() - started
    log("VACUUM ANALYZE in %.1f s" % analyze_s)
    config_out = os.path.join(config['workdir'], 'valuation-ids.json')
    with open(config_out, 'w') as file:
        json.dump({'name': name, 'ids': ids, 'start': str(start),
                'end': str(end)}, file)
    return {
        'layers': total, 'moves': total, 'entries': total,
        'lines': 2 * total, 'products': len(ids['products']),
        'locations': len(ids['bins']), 'start': str(start), 'end': str(end),
        'load_s': load_s, 'analyze_s': analyze_s, 'sizes': sizes,
        }


def phase_query(config):
    from decimal import Decimal
    from trytond.pool import Pool
    from trytond.transaction import Transaction

    with open(os.path.join(config['workdir'], 'valuation-ids.json')) as file:
        saved = json.load(file)
    name, ids = saved['name'], saved['ids']
    start = dt.date.fromisoformat(saved['start'])
    end = dt.date.fromisoformat(saved['end'])
    mid = start + (end - start) / 2
    company = ids['company']
    runs = config['runs']

    init_pool(name)
    from trytond.modules.perpetual_inventory.models.valuation import (
        reconcile)

    def raw(date, group_by):
        def func():
            Layer = Pool().get('stock.valuation.layer')
            cursor = Transaction().connection.cursor()
            cursor.execute(*Layer.valuation_query(company, date, group_by))
            return cursor.fetchall()
        return func

    def lines(date):
        def func():
            Line = Pool().get('stock.valuation.line')
            with Transaction().set_context(company=company, date=date):
                return Line.search_read([], fields_names=[
                        'product', 'location', 'warehouse', 'account',
                        'quantity', 'value'])
        return func

    def rec(date):
        def func():
            return reconcile(company, date)
        return func

    items = [
        ("valuation_query by product at %s" % mid, raw(mid, ('product',)),
            True),
        ("valuation_query by product at %s" % end, raw(end, ('product',)),
            True),
        ("valuation_query by product,location %s" % end,
            raw(end, ('product', 'location')), True),
        ("valuation_query by account at %s" % end, raw(end, ('account',)),
            True),
        ("stock.valuation.line search_read %s" % mid, lines(mid), True),
        ("stock.valuation.line search_read %s" % end, lines(end), True),
        ("reconcile() at %s" % end, rec(end), False),
        ]
    timings = []
    results = {}
    for label, func, is_valuation in items:
        seconds = []
        for run in range(runs):
            started = time.perf_counter()
            result = run_in_transaction(name, func,
                context=ids['context'])
            seconds.append(time.perf_counter() - started)
        results[label] = result
        rows = ('%d diff' % len(result[1]) if label.startswith('reconcile')
            else len(result))
        timings.append({'name': label, 'rows': rows, 'seconds': seconds,
                'valuation': is_valuation})
        log("%s: %s rows, %s s" % (label, rows,
                ' '.join('%.3f' % s for s in seconds)))

    checks = []
    ok = True
    by_account = results["valuation_query by account at %s" % end]
    valuation = sum(Decimal(str(v or 0)) for _, _, v in by_account)
    by_product = results["valuation_query by product at %s" % end]
    valuation_products = sum(Decimal(str(v or 0)) for _, _, v in by_product)
    line_total = sum(Decimal(str(r['value'] or 0)) for r in
        results["stock.valuation.line search_read %s" % end])
    totals, differences = results["reconcile() at %s" % end]
    ledger = sum(t['ledger'] for t in totals)
    balanced = not differences and all(t['difference'] == 0 for t in totals)
    cent = Decimal('0.01')
    checks.append("valuation at %s: %s by account, %s by product, %s "
        "by stock.valuation.line" % (end, valuation.quantize(cent),
            valuation_products.quantize(cent), line_total.quantize(cent)))
    checks.append("reconcile() at %s: ledger %s, valuation %s, %d "
        "differences: %s" % (end, ledger,
            sum(t['valuation'] for t in totals), len(differences),
            'balanced' if balanced else 'NOT BALANCED'))
    ok = balanced and valuation == valuation_products == ledger
    if not ok:
        checks.append("  <-- FAILED")

    # The plan of the main query, for the record.
    with Transaction().start(name, 0, context=ids['context']) as transaction:
        Layer = Pool().get('stock.valuation.layer')
        cursor = transaction.connection.cursor()
        query, params = tuple(Layer.valuation_query(
                company, mid, ('product',)))
        cursor.execute('EXPLAIN (ANALYZE, BUFFERS) ' + query, params)
        plan = [r[0] for r in cursor.fetchall()]
    log("plan of valuation_query by product at %s:\n    %s"
        % (mid, '\n    '.join(plan)))
    return {
        'ok': ok,
        'timings': timings,
        'checks': checks,
        'worst_valuation': max(max(t['seconds']) for t in timings
            if t['valuation']),
        'plan': plan,
        }


if __name__ == '__main__':
    sys.exit(main())
