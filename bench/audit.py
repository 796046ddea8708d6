#!/usr/bin/env python3
# This file is part of perpetual_inventory.  The COPYRIGHT file at the top
# level of this repository contains the full copyright notices and license
# terms.
"""Benchmark: the audit replay over 1,000,000 done moves on PostgreSQL.

The database is the one of bench/valuation.py's part 2, built the same
way (``INSERT ... SELECT generate_series``, not through the ORM): a
company with three continental fiscal years, ``--products`` products
(average, FIFO and fixed cost in turn) in ``--locations`` bins, and
``--moves`` done moves over ``--days`` days, receipts and deliveries in
turn, each with its posted entry (two lines) and its valuation layer, to
the cent. VACUUM ANALYZE; then the audit of the company
(``models/audit_facts.py``: its SQL reads, the replay of every move
through the costing engine and the comparison) is timed ``--runs`` times.

Printed: moves, seconds (reading and replaying apart), moves/s, the CPU
seconds of the audit's process and the load average (the machine may be
shared), and whether the audit found the books as the engine computes
them (it must: the data agree with the engine).

Usage::

    bench/audit.py --start-postgresql                 # 1,000,000 moves
    bench/audit.py --start-postgresql --moves 100000
    bench/audit.py --database-uri postgresql://user@host:port/

Run it with the Python of a virtual environment that has trytond 8.0 and
the module installed. The exit status is 0 when the audit found no
difference.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import valuation as bench  # noqa: E402

RESULT_MARK = bench.RESULT_MARK


def phase_audit(name, runs):
    "Time the audit of the company of the database (in a child process)"
    from trytond.pool import Pool
    from trytond.transaction import Transaction
    pool = Pool(name)
    pool.init()
    from trytond.modules.perpetual_inventory.core import audit as core_audit
    from trytond.modules.perpetual_inventory.models import (
        audit_facts as audit)
    timings = []
    with Transaction().start(name, 0, readonly=True):
        Company = pool.get('company.company')
        company, = Company.search([])
        with Transaction().set_context(company=company.id):
            for run in range(runs):
                started = time.perf_counter()
                cpu = time.process_time()
                histories, stored, posted, inventory = audit.histories(
                    company.id)
                read = time.perf_counter() - started
                report = core_audit.audit(
                    histories, stored, posted, inventory)
                total = time.perf_counter() - started
                cpu = time.process_time() - cpu
                del histories, stored, posted
                timings.append({'read_s': read, 'replay_s': total - read,
                        'total_s': total, 'cpu_s': cpu,
                        'load': os.getloadavg()[0]})
                bench.log("audit run %d: %.1f s (read %.1f s, replay and "
                    "compare %.1f s; %.1f s of this process's CPU; load "
                    "%.1f), %d events, %d differences" % (
                        run + 1, total, read, total - read, cpu,
                        os.getloadavg()[0], report.events,
                        len(report.lines)))
    return {'events': report.events, 'lines': len(report.lines),
        'ok': report.ok, 'runs': timings}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--database-uri', help="postgresql://user@host:port/")
    parser.add_argument('--start-postgresql', action='store_true',
        help="start a throw-away PostgreSQL cluster on --pg-port")
    parser.add_argument('--pg-port', type=int, default=55442)
    parser.add_argument('--moves', type=int, default=1000000)
    parser.add_argument('--products', type=int, default=1000)
    parser.add_argument('--locations', type=int, default=10)
    parser.add_argument('--days', type=int, default=730)
    parser.add_argument('--runs', type=int, default=2)
    parser.add_argument('--db-cache', help="directory of activated databases")
    parser.add_argument('--db-prefix', default='pi_bench_audit')
    parser.add_argument('--timeout', type=float, default=60,
        help="minutes per phase")
    parser.add_argument('--phase', help=argparse.SUPPRESS)
    parser.add_argument('--name', help=argparse.SUPPRESS)
    options = parser.parse_args(argv)
    if options.phase == 'audit':
        result = phase_audit(options.name, options.runs)
        print(RESULT_MARK + json.dumps(result), flush=True)
        return 0

    if not (options.database_uri or options.start_postgresql):
        raise SystemExit("the audit benchmark needs PostgreSQL: "
            "--database-uri or --start-postgresql")
    workdir = tempfile.mkdtemp(prefix='pi-bench-audit.')
    if options.db_cache:
        options.db_cache = os.path.abspath(options.db_cache)
        os.makedirs(options.db_cache, exist_ok=True)
    # bench/valuation.py's load phase reads its own option names
    load_options = argparse.Namespace(
        key=bench.cache_key(), db_cache=options.db_cache,
        db_prefix=options.db_prefix, layers=options.moves,
        layer_products=options.products, layer_locations=options.locations,
        layer_days=options.days)
    pg = None
    result = None
    timeout = options.timeout * 60
    try:
        uri = options.database_uri
        if options.start_postgresql:
            pg = bench.PostgreSQL(options.pg_port)
            uri = pg.uri
            bench.log("PostgreSQL started on %s" % uri)
        bench.log("== %d moves with their entries and layers"
            % options.moves)
        load = bench.run_phase('load', load_options, uri, workdir, timeout)
        if load:
            with open(os.path.join(workdir, 'valuation-ids.json')) as file:
                name = json.load(file)['name']
            env = dict(os.environ, TRYTOND_DATABASE__URI=uri,
                TEST_NETWORK='0')
            env.pop('TRYTOND_CONFIG', None)
            bench.log("== audit")
            process = subprocess.run([sys.executable,
                    os.path.abspath(__file__), '--phase', 'audit',
                    '--name', name, '--runs', str(options.runs)],
                env=env, stdout=subprocess.PIPE, text=True,
                timeout=timeout)
            for line in reversed(process.stdout.splitlines()):
                if line.startswith(RESULT_MARK):
                    result = json.loads(line[len(RESULT_MARK):])
                    break
    finally:
        if pg:
            pg.remove()
        shutil.rmtree(workdir, ignore_errors=True)
    print()
    print("=" * 78)
    if not result:
        print("audit benchmark failed")
        return 1
    best = min(result['runs'], key=lambda r: r['total_s'])
    print("audit: %d moves (%d events replayed), best of %d runs: %.1f s "
        "(read %.1f s, replay and compare %.1f s), %.0f moves/s; "
        "%.1f s of the audit process's CPU, load average %.1f" % (
            options.moves, result['events'], len(result['runs']),
            best['total_s'], best['read_s'], best['replay_s'],
            options.moves / best['total_s'], best['cpu_s'], best['load']))
    print("differences: %d (%s)" % (
            result['lines'], "ok" if result['ok'] else "NOT OK"))
    return 0 if result['ok'] else 1


if __name__ == '__main__':
    sys.exit(main())
