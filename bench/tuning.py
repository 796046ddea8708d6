#!/usr/bin/env python3
# This file is part of perpetual_inventory.  The COPYRIGHT file at the top
# level of this repository contains the full copyright notices and license
# terms.
"""Benchmark the order point tuning on PostgreSQL.

Creates a database with N purchase order points and two years of daily
history (sales, periodic purchases received after a variable lead time)
written in bulk SQL (generate_series, server side), vacuums and analyses
it, then times one tuning run of every order point: the queued batches
run in a trytond-worker with ``--workers`` processes, or one after the
other in this process as trytond does without a worker.  Prints the time
spent in SQL (gathering the history), in the math (core), in the writes,
and the order points per second.

    .venv/bin/python bench/tuning.py --start-postgresql            # N=1000
    .venv/bin/python bench/tuning.py \\
        --database-uri postgresql://postgres@127.0.0.1:5432/ --points 2000
    .venv/bin/python bench/tuning.py --start-postgresql --points 100000 \\
        --batch-size 1000                                  # see docs/tuning.md

``--reuse`` times again on the database of a previous run (same name)
without rebuilding it (the module is updated first, not timed);
``--build-only`` builds the database and stops
(time first runs on copies of it, ``createdb --template``).
"""
import argparse
import datetime as dt
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from decimal import Decimal


# The daily sales rate of the copy i (h in [0, 1) spreads the items):
# 'dense' sells most items every day (about 590 moves an item over two
# years); 'wide' is a large catalogue, 3 % fast movers (1 to 31 a day) and a
# long tail of slow ones (0.2 % to 5.6 % of the days), about 45 moves an item.
_H = '(((i * 7919) %% 1000) / 1000.0)'
RATES = {
    'dense': '(0.05 + 30 * power(%s, 3))' % _H,
    'wide': ('(CASE WHEN %(h)s < 0.03 THEN 1 + 30 * power(%(h)s / 0.03, 2) '
        'ELSE 0.002 + 0.054 * power((%(h)s - 0.03) / 0.97, 2) END)'
        % {'h': _H}),
    }


def start_postgresql(port):
    "Start a throw-away PostgreSQL cluster (as ./run does); return a stop"
    bindir = sorted(
        os.path.join('/usr/lib/postgresql', v, 'bin')
        for v in os.listdir('/usr/lib/postgresql'))[-1]
    directory = tempfile.mkdtemp(prefix='perpetual-inventory-bench-pg.')
    run = []
    if os.getuid() == 0:
        shutil.chown(directory, 'postgres')
        run = ['runuser', '-u', 'postgres', '--']
    subprocess.run(run + [os.path.join(bindir, 'initdb'), '-D',
            os.path.join(directory, 'data'), '-U', 'postgres',
            '--auth=trust', '-E', 'UTF8'], check=True,
        stdout=subprocess.DEVNULL)
    subprocess.run(run + [os.path.join(bindir, 'pg_ctl'), '-D',
            os.path.join(directory, 'data'), '-l',
            os.path.join(directory, 'log'), '-w', '-o',
            '-h 127.0.0.1 -p %d -k %s -c fsync=off -c synchronous_commit=off'
            ' -c full_page_writes=off -c shared_buffers=1GB -c work_mem=64MB'
            ' -c max_wal_size=4GB' % (port, directory), 'start'],
        check=True, stdout=subprocess.DEVNULL)

    def stop():
        subprocess.run(run + [os.path.join(bindir, 'pg_ctl'), '-D',
                os.path.join(directory, 'data'), '-m', 'fast', 'stop'],
            stdout=subprocess.DEVNULL)
        shutil.rmtree(directory, ignore_errors=True)
    return 'postgresql://postgres@127.0.0.1:%d/' % port, stop


def prepare(database_uri, name, rebuild):
    "Create and activate the database; return the trytond config file"
    from trytond.modules.perpetual_inventory.scripts import cli
    directory = tempfile.mkdtemp(prefix='perpetual-inventory-bench.')
    config_file = os.path.join(directory, 'trytond.conf')
    cli.write_config(config_file, database_uri, directory,
        '127.0.0.1:0', None)
    os.environ['TRYTOND_CONFIG'] = config_file
    if rebuild or not cli.database_exists(database_uri, directory, name):
        start = time.monotonic()
        cli.create_database(database_uri, directory, name)
        cli.activate(config_file, name)
        print("database %s activated in %.0fs" % (
                name, time.monotonic() - start), flush=True)
        return config_file, True
    return config_file, False


def _columns(cursor, table):
    cursor.execute(
        "SELECT column_name FROM information_schema.columns "
        "WHERE table_name = %s AND table_schema = current_schema() "
        "ORDER BY ordinal_position", (table,))
    return [c for c, in cursor]


def clone(cursor, table, base_id, source, overrides):
    """Insert one copy of the row base_id of table per row of source.

    ``source`` is a SQL FROM item (e.g. ``generate_series(0, 9) AS i``),
    ``overrides`` maps a column to the SQL expression of its value (the
    other columns are copied from the base row as ``t.<column>``).
    """
    columns = _columns(cursor, table)
    values = [overrides.get(c, 't."%s"' % c) for c in columns]
    cursor.execute(
        'INSERT INTO "%s" (%s) SELECT %s FROM "%s" AS t, %s WHERE t.id = %%s'
        % (table, ', '.join('"%s"' % c for c in columns), ', '.join(values),
            table, source), (base_id,))
    return cursor.rowcount


def _max_id(cursor, table):
    cursor.execute('SELECT COALESCE(MAX(id), 0) FROM "%s"' % table)
    return cursor.fetchone()[0]


def build(name, points, days, seed, catalogue='wide'):
    """Write the company, products, order points and history in bulk.

    One product of each kind is created with the ORM (so every NOT NULL
    column gets its value), then copied N times by SQL.
    """
    from trytond.pool import Pool
    from trytond.transaction import Transaction

    today = dt.date.today()
    start = today - dt.timedelta(days=days)
    with Transaction().start(name, 0, context={}) as transaction:
        pool = Pool()
        Party = pool.get('party.party')
        Currency = pool.get('currency.currency')
        Company = pool.get('company.company')
        User = pool.get('res.user')
        Location = pool.get('stock.location')
        Template = pool.get('product.template')
        Uom = pool.get('product.uom')
        ProductSupplier = pool.get('purchase.product_supplier')
        Purchase = pool.get('purchase.purchase')
        Move = pool.get('stock.move')
        OrderPoint = pool.get('stock.order_point')
        cursor = transaction.connection.cursor()

        currency, = Currency.create([{
                    'name': "U.S. Dollar", 'code': 'USD', 'symbol': '$'}])
        party, supplier = Party.create([
                {'name': "Bench Company"}, {'name': "Bench Supplier"}])
        company, = Company.create([{
                    'party': party.id, 'currency': currency.id}])
        User.write(User.search([]), {
                'companies': [('add', [company.id])],
                'company': company.id})
        warehouse, = Location.search([('type', '=', 'warehouse')])
        storage = warehouse.storage_location
        customer, = Location.search([('type', '=', 'customer')])
        vendor, = Location.search([('type', '=', 'supplier')])
        lost, = Location.search([('type', '=', 'lost_found')])
        unit, = Uom.search([('name', '=', 'Unit')])
        with transaction.set_context(company=company.id):
            template, = Template.create([{
                        'name': "Bench", 'type': 'goods',
                        'default_uom': unit.id, 'purchasable': True,
                        'purchase_uom': unit.id, 'list_price': Decimal(10),
                        'products': [('create', [{}])],
                        }])
            product = template.products[0]
            product.cost_price = Decimal(5)
            product.save()
            product_supplier, = ProductSupplier.create([{
                        'template': template.id, 'party': supplier.id,
                        'lead_time': dt.timedelta(days=7),
                        'quantity_rounding': 6, 'quantity_minimal': 12,
                        }])
            purchase, = Purchase.create([{
                        'party': supplier.id, 'company': company.id,
                        'currency': currency.id, 'purchase_date': start,
                        'lines': [('create', [{
                                        'product': product.id,
                                        'quantity': 1, 'unit': unit.id,
                                        'unit_price': Decimal(5)}])],
                        }])
            line, = purchase.lines
            sale_move, receipt, opening = Move.create([{
                        'product': product.id, 'unit': unit.id,
                        'quantity': 1, 'from_location': storage.id,
                        'to_location': customer.id, 'company': company.id,
                        'unit_price': Decimal(10),
                        'currency': currency.id,
                        }, {
                        'product': product.id, 'unit': unit.id,
                        'quantity': 1, 'from_location': vendor.id,
                        'to_location': storage.id, 'company': company.id,
                        'unit_price': Decimal(5), 'currency': currency.id,
                        'origin': str(line),
                        }, {
                        'product': product.id, 'unit': unit.id,
                        'quantity': 1, 'from_location': lost.id,
                        'to_location': storage.id, 'company': company.id,
                        }])
            point, = OrderPoint.create([{
                        'product': product.id, 'location': warehouse.id,
                        'type': 'purchase', 'min_quantity': 0,
                        'target_quantity': 0, 'company': company.id,
                        }])

        # the copies: i in 0..N-1 with a daily rate spread like real
        # catalogues (a few fast movers, many slow ones)
        offsets = {t: _max_id(cursor, t) + 1 for t in [
                'product_template', 'product_product', 'product_cost_price',
                'purchase_product_supplier', 'stock_order_point',
                'purchase_purchase', 'purchase_line']}
        series = 'generate_series(0, %d) AS i' % (points - 1)
        rate = RATES[catalogue]
        cursor.execute('SELECT setseed(%s)', (seed / 1000.0,))
        clone(cursor, 'product_template', template.id, series, {
                'id': '%d + i' % offsets['product_template'],
                'name': "'Bench ' || i",
                'code': 'NULL'})
        clone(cursor, 'product_product', product.id, series, {
                'id': '%d + i' % offsets['product_product'],
                'template': '%d + i' % offsets['product_template'],
                'code': 'NULL', 'suffix_code': 'NULL'})
        cursor.execute('SELECT id FROM product_cost_price WHERE product = %s',
            (product.id,))
        cost_id, = cursor.fetchone()
        clone(cursor, 'product_cost_price', cost_id, series, {
                'id': '%d + i' % offsets['product_cost_price'],
                'product': '%d + i' % offsets['product_product'],
                'cost_price': '(1 + (i * 31) %% 97)::numeric'})
        clone(cursor, 'purchase_product_supplier', product_supplier.id,
            series, {
                'id': '%d + i' % offsets['purchase_product_supplier'],
                'template': '%d + i' % offsets['product_template'],
                'lead_time': "make_interval(days => 3 + (i %% 20))"})
        clone(cursor, 'stock_order_point', point.id, series, {
                'id': '%d + i' % offsets['stock_order_point'],
                'product': '%d + i' % offsets['product_product'],
                'min_quantity': 'ceil(%s * 10)' % rate,
                'target_quantity': 'ceil(%s * 40)' % rate})

        first_product = offsets['product_product']
        moves = 0
        # opening stock the day before the history
        moves += clone(cursor, 'stock_move', opening.id, series, {
                'id': "nextval('stock_move_id_seq')",
                'product': '%d + i' % first_product,
                'quantity': 'ceil(%s * 40)' % rate,
                'internal_quantity': 'ceil(%s * 40)' % rate,
                'state': "'done'",
                'effective_date': "'%s'::date" % start,
                'planned_date': "'%s'::date" % start,
                })
        # daily sales: every day for fast movers, some days for slow ones
        cursor.execute(
            'CREATE TEMPORARY TABLE bench_day AS SELECT i, d, rate, v '
            'FROM (SELECT s.i, d, s.rate, random() AS u, random() AS v '
            'FROM (SELECT i, %s AS rate FROM %s) AS s, '
            'generate_series(1, %d) AS d) AS x '
            'WHERE u < LEAST(1, rate)' % (rate, series, days - 1), ())
        quantity = (
            'GREATEST(1, round(GREATEST(b.rate, 1) * (0.4 + 1.2 * b.v)))')
        moves += clone(cursor, 'stock_move', sale_move.id,
            'bench_day AS b', {
                'id': "nextval('stock_move_id_seq')",
                'product': '%d + b.i' % first_product,
                'quantity': quantity,
                'internal_quantity': quantity,
                'state': "'done'",
                'effective_date': "'%s'::date + b.d" % start,
                'planned_date': "'%s'::date + b.d" % start,
                })
        # a purchase every 30 days, received after the quoted lead time
        # give or take 3 days
        cycles = days // 30
        cursor.execute(
            'CREATE TEMPORARY TABLE bench_order AS SELECT i, k, '
            '%d + i * %d + k AS id, %s AS rate, '
            "'%s'::date + 30 * k + (i %%%% 30) AS ordered, "
            "'%s'::date + 30 * k + (i %%%% 30) + GREATEST(1, 3 + (i %%%% 20) "
            '+ floor(random() * 7)::int - 3) AS received '
            'FROM %s, generate_series(0, %d) AS k' % (
                offsets['purchase_purchase'], cycles, rate, start, start,
                series, cycles - 1), ())
        cursor.execute("DELETE FROM bench_order WHERE received >= %s",
            (today,))
        if catalogue == 'wide':
            # slow movers are bought every 90 days
            cursor.execute(
                "DELETE FROM bench_order WHERE rate < 1 AND k %% 3 <> 0", ())
            cursor.execute(
                "UPDATE bench_order SET rate = rate * 3 WHERE rate < 1", ())
        clone(cursor, 'purchase_purchase', purchase.id, 'bench_order AS o', {
                'id': 'o.id', 'purchase_date': 'o.ordered',
                'state': "'done'", 'number': "'B' || o.id"})
        line_id = '%d + o.id - %d' % (
            offsets['purchase_line'], offsets['purchase_purchase'])
        clone(cursor, 'purchase_line', line.id, 'bench_order AS o', {
                'id': line_id,
                'purchase': 'o.id',
                'product': '%d + o.i' % first_product,
                'quantity': 'ceil(o.rate * 30)'})
        moves += clone(cursor, 'stock_move', receipt.id, 'bench_order AS o', {
                'id': "nextval('stock_move_id_seq')",
                'product': '%d + o.i' % first_product,
                'quantity': 'ceil(o.rate * 30)',
                'internal_quantity': 'ceil(o.rate * 30)',
                'state': "'done'",
                'origin': "'purchase.line,' || (%s)" % line_id,
                'effective_date': 'o.received',
                'planned_date': 'o.received'})
        # the base records are not part of the benchmark
        Move.delete([sale_move, receipt, opening])
        OrderPoint.delete([point])
        database = transaction.database
        for table in offsets:
            database.setnextid(transaction.connection, table,
                _max_id(cursor, table) + 1)
    return company.id, moves


def vacuum(database_uri, name):
    """VACUUM (ANALYZE) the new database, as autovacuum does after a bulk
    load: the statistics for the planner and the visibility map for the
    index-only scans.  Left to autovacuum, it would run during the timed
    run."""
    import psycopg
    from trytond.modules.perpetual_inventory.scripts import cli
    with psycopg.connect(cli._postgres_dsn(database_uri, name),
            autocommit=True) as conn:
        conn.execute('VACUUM (ANALYZE)')


def _set_batch_size(name, company_id, batch_size):
    from trytond.pool import Pool
    from trytond.transaction import Transaction, TransactionError
    extras = {}
    while True:
        # creating the singleton locks its table: retry with the lock
        with Transaction().start(name, 0, context={'company': company_id},
                **extras) as transaction:
            try:
                Configuration = Pool().get(
                    'perpetual_inventory.configuration')
                config = Configuration(1)
                config.batch_size = batch_size
                config.save()
                return
            except TransactionError as exception:
                transaction.rollback()
                exception.fix(extras)


def _launch(name, company_id, points=None):
    """Launch a tuning run (of every order point without ``points``) and
    return its id and its tasks."""
    from trytond.pool import Pool
    from trytond.transaction import Transaction
    with Transaction().start(name, 0, context={'company': company_id}) \
            as transaction:
        pool = Pool()
        Run = pool.get('perpetual_inventory.tuning.run')
        if points is None:
            run = Run.launch(origin='cron', propose=True)
        else:
            OrderPoint = pool.get('stock.order_point')
            run = Run.launch(OrderPoint.search(
                    [('type', '=', 'purchase')], order=[('id', 'ASC')],
                    limit=points), origin='manual')
        # with a worker the tasks are in the queue; without, they are run
        # below, one after the other
        tasks = list(transaction.tasks)
        transaction.tasks.clear()
    return run.id, tasks


def _wait(name, run_id, worker):
    "Wait until the worker has run every batch of the run"
    from trytond.pool import Pool
    from trytond.transaction import Transaction
    while True:
        time.sleep(0.2)
        with Transaction().start(name, 0, readonly=True):
            run = Pool().get('perpetual_inventory.tuning.run')(run_id)
            if run.state == 'done':
                return
        if worker.poll() is not None:
            raise RuntimeError("trytond-worker stopped")


def tune(name, company_id, batch_size, workers=0, config_file=None):
    """Time one tuning run of every order point; return the figures.

    With ``workers``, the batches are left in Tryton's task queue and a
    ``trytond-worker`` with that many processes runs them (as in
    production); without, they run one after the other in this process,
    as trytond does when no worker is configured.

    The worker runs as a service does in production: it is started, and
    each of its processes has loaded the pool and run one small batch,
    before the timed run is launched (the ``warm_up`` figure, not in the
    total).
    """
    from trytond.pool import Pool
    from trytond.transaction import Transaction
    from trytond.worker import run_task

    worker = None
    warm_up = 0.0
    if workers:
        clock = time.perf_counter()
        worker = subprocess.Popen([
                os.path.join(os.path.dirname(sys.executable),
                    'trytond-worker'),
                '-c', config_file, '-d', name, '-n', str(workers)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True)
    try:
        if workers:
            # batches of one point, two per process: every process starts
            _set_batch_size(name, company_id, 1)
            warm_id, _ = _launch(name, company_id, points=2 * workers)
            _wait(name, warm_id, worker)
            warm_up = time.perf_counter() - clock
        _set_batch_size(name, company_id, batch_size)
        start = time.perf_counter()
        run_id, tasks = _launch(name, company_id)
        launched = time.perf_counter()
        if workers:
            _wait(name, run_id, worker)
        else:
            for task_id in tasks:
                run_task(name, task_id)
    finally:
        if worker is not None:
            # the worker and its processes
            os.killpg(worker.pid, signal.SIGTERM)
            worker.wait()
    end = time.perf_counter()
    with Transaction().start(name, 0, context={'company': company_id}):
        Run = Pool().get('perpetual_inventory.tuning.run')
        run = Run(run_id)
        return {
            'points': run.points_tuned,
            'changed': run.points_changed,
            'failed': run.points_failed,
            'batches': run.batches_done,
            'state': run.state,
            'warm_up': warm_up,
            'launch': launched - start,
            'batches_time': end - launched,
            'total': end - start,
            'sql': run.sql_time,
            'math': run.math_time,
            'write': run.write_time,
            }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--database-uri',
        default=os.environ.get('TRYTOND_DATABASE__URI'),
        help="postgresql://user@host:port/ (or TRYTOND_DATABASE__URI)")
    parser.add_argument('--start-postgresql', action='store_true',
        help="start a throw-away PostgreSQL cluster for the run")
    parser.add_argument('--port', type=int, default=55499,
        help="port of the throw-away cluster")
    parser.add_argument('--database', default='bench_tuning')
    parser.add_argument('--points', type=int, default=1000)
    parser.add_argument('--days', type=int, default=730)
    parser.add_argument('--batch-size', type=int, default=500)
    parser.add_argument('--seed', type=int, default=42)
    parser.add_argument('--catalogue', choices=sorted(RATES),
        default='wide', help="how the sales are spread over the items")
    parser.add_argument('--workers', type=int, default=0,
        help="run the batches in a trytond-worker with this many "
        "processes (0: in this process, as without a worker)")
    parser.add_argument('--reuse', action='store_true',
        help="time again on an existing benchmark database")
    parser.add_argument('--build-only', action='store_true',
        help="build the database and stop without tuning (copy it with "
        "createdb --template to time first runs again)")
    args = parser.parse_args(argv)

    stop = None
    config_file = None
    if args.start_postgresql:
        args.database_uri, stop = start_postgresql(args.port)
    if not args.database_uri or not args.database_uri.startswith(
            'postgresql'):
        parser.error("a PostgreSQL --database-uri or --start-postgresql "
            "is needed")
    try:
        os.environ['TRYTOND_DATABASE__URI'] = args.database_uri
        config_file, created = prepare(
            args.database_uri, args.database, not args.reuse)
        from trytond import config
        config.update_etc(config_file)
        from trytond.pool import Pool
        Pool.start()
        pool = Pool(args.database)
        from trytond.transaction import Transaction
        if created:
            with Transaction().start(args.database, 0, readonly=True):
                pool.init()
        else:
            # a database built by an older version gets what the module
            # adds (as ``trytond-admin -u perpetual_inventory``)
            start = time.monotonic()
            pool.init(update=['perpetual_inventory'], lang=['en'])
            print("module updated in %.0fs (not timed)" % (
                    time.monotonic() - start), flush=True)
        if created:
            start = time.monotonic()
            company_id, moves = build(
                args.database, args.points, args.days, args.seed,
                args.catalogue)
            print("history: %d order points, %d days, %d done moves "
                "written in %.0fs" % (args.points, args.days, moves,
                    time.monotonic() - start), flush=True)
            start = time.monotonic()
            vacuum(args.database_uri, args.database)
            print("database vacuumed and analysed in %.0fs" % (
                    time.monotonic() - start), flush=True)
            if args.build_only:
                return 0
        else:
            with Transaction().start(args.database, 0):
                company, = Pool().get('company.company').search([])
                company_id = company.id
        if args.workers:
            with open(config_file, 'a') as fp:
                fp.write('\n[queue]\nworker = True\n')
            config.update_etc(config_file)
        figures = tune(args.database, company_id, args.batch_size,
            args.workers, config_file)
        print("run: %(state)s, %(points)d points in %(batches)d batches, "
            "%(changed)d changed, %(failed)d failed" % figures)
        if args.workers:
            print("worker: started and warmed up in %.1fs (not timed: "
                "trytond-worker runs as a service)" % figures['warm_up'])
        print("time: %.1fs total = %.1fs launch (ABC, proposals, queue) "
            "+ %.1fs batches" % (figures['total'], figures['launch'],
                figures['batches_time']))
        busy = figures['batches_time'] * max(args.workers, 1)
        other = busy - figures['sql'] - figures['math'] - figures['write']
        print("batches%s: SQL %.1fs (%.0f%%), math %.1fs (%.0f%%), "
            "order points, logs and writes %.1fs (%.0f%%), queue and idle "
            "%.1fs (%.0f%%)" % (
                ' (summed over %d worker processes)' % args.workers
                if args.workers else '',
                figures['sql'], 100 * figures['sql'] / busy,
                figures['math'], 100 * figures['math'] / busy,
                figures['write'], 100 * figures['write'] / busy,
                other, 100 * other / busy))
        batches = max(figures['batches'], 1)
        print("per batch: SQL %.3fs, math %.3fs, order points, logs and "
            "writes %.3fs, queue and idle %.3fs" % (
                figures['sql'] / batches, figures['math'] / batches,
                figures['write'] / batches, other / batches))
        print("throughput: %.1f order points/s (%.1f ms a point)" % (
                figures['points'] / figures['total'],
                1000 * figures['total'] / max(figures['points'], 1)))
    finally:
        if config_file:
            # the configuration's directory (the database is kept)
            shutil.rmtree(os.path.dirname(config_file), ignore_errors=True)
        if stop:
            stop()
    return 0


if __name__ == '__main__':
    sys.exit(main())
