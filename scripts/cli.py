# This file is part of perpetual_inventory.  The COPYRIGHT file at the top
# level of this repository contains the full copyright notices and license
# terms.
"""The ``perpetual-inventory`` command.

    perpetual-inventory demo [--rebuild] [--database-uri URI] ...

builds the demo database when it does not exist yet (``--rebuild`` builds
it again) and serves it with the Tryton server and Tryton's cron beside it.

    perpetual-inventory audit [--database-uri URI] [--database NAME] ...

replays the done moves of every company through the costing engine and
compares them with the stored layers and posted entries (docs/audit.md):
exit status 0 when nothing differs, 1 when something does.
"""
import argparse
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.parse

DEFAULT_DATABASE = 'demo'
ADMIN_LOGIN = 'admin'
ADMIN_PASSWORD = 'admin'
MODULE = 'perpetual_inventory'


def _bin(name):
    "Return the path of a script installed beside the Python running us"
    path = os.path.join(os.path.dirname(sys.executable), name)
    return path if os.path.exists(path) else shutil.which(name) or name


def write_config(path, database_uri, data_dir, listen, web_root):
    lines = ['[database]', 'uri = %s' % database_uri]
    if database_uri.startswith('sqlite'):
        lines.append('path = %s' % data_dir)
    lines += ['', '[web]', 'listen = %s' % listen]
    if web_root:
        lines.append('root = %s' % web_root)
    # The demo runs queued tasks inline: no trytond-worker is needed.
    lines += ['', '[session]', 'max_attempt = 10', '']
    with open(path, 'w') as fp:
        fp.write('\n'.join(lines))


def database_exists(database_uri, data_dir, name):
    if database_uri.startswith('sqlite'):
        return os.path.exists(os.path.join(data_dir, name + '.sqlite'))
    import psycopg
    with psycopg.connect(_postgres_dsn(database_uri, 'postgres'),
            autocommit=True) as conn:
        return bool(conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s",
                (name,)).fetchone())


def _postgres_dsn(database_uri, name):
    parts = urllib.parse.urlsplit(database_uri)
    return urllib.parse.urlunsplit(
        ('postgresql', parts.netloc, '/' + name, parts.query, ''))


def create_database(database_uri, data_dir, name):
    "Create an empty database, dropping the one of the same name"
    if database_uri.startswith('sqlite'):
        path = os.path.join(data_dir, name + '.sqlite')
        if os.path.exists(path):
            os.remove(path)
        open(path, 'w').close()
        return
    import psycopg
    from psycopg import sql
    with psycopg.connect(_postgres_dsn(database_uri, 'postgres'),
            autocommit=True) as conn:
        conn.execute(sql.SQL('DROP DATABASE IF EXISTS {}').format(
                sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {} ENCODING 'UTF8'").format(
                sql.Identifier(name)))


def activate(config_file, name, out=print):
    "Initialize the database and activate the module with its dependencies"
    env = dict(os.environ)
    passfile = os.path.join(os.path.dirname(config_file), '.admin-password')
    with open(passfile, 'w') as fp:
        fp.write(ADMIN_PASSWORD + '\n')
    env['TRYTONPASSFILE'] = passfile
    base = [_bin('trytond-admin'), '-c', config_file, '-d', name]
    for args in [
            ['--all', '--email', 'admin@example.com'],
            ['-u', MODULE, '--activate-dependencies']]:
        subprocess.run(base + args, env=env, check=True)
    os.remove(passfile)


def serve(config_file, name, listen, out=print):
    "Run the Tryton server and its cron until interrupted"
    env = dict(os.environ)
    # The server must load the database pool at start (see README).
    env['TRYTOND_DATABASE_NAMES'] = name
    # Each in a process group of its own, so that stopping it stops the
    # processes it forks (trytond-cron runs its jobs in children).
    server = subprocess.Popen(
        [_bin('trytond'), '-c', config_file, '-d', name], env=env,
        start_new_session=True)
    cron = subprocess.Popen(
        [_bin('trytond-cron'), '-c', config_file, '-d', name], env=env,
        start_new_session=True)
    url = 'http://%s/' % listen
    out("")
    out("Tryton web client:  %s" % url)
    out("Scanner page:       %s%s/perpetual_inventory/scanner" % (url, name))
    out("Login:              %s / %s" % (ADMIN_LOGIN, ADMIN_PASSWORD))
    out("Stop with Ctrl+C.", flush=True)

    def stop(*args):
        for process in (server, cron):
            _signal_group(process, signal.SIGTERM)
    signal.signal(signal.SIGTERM, stop)
    try:
        while server.poll() is None and cron.poll() is None:
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        stop()
        for process in (server, cron):
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                _signal_group(process, signal.SIGKILL)
                process.wait()
            # Children left in the group (cron jobs) go with it.
            _signal_group(process, signal.SIGKILL)
    return server.returncode or 0


def _signal_group(process, signum):
    try:
        os.killpg(process.pid, signum)
    except (ProcessLookupError, PermissionError):
        pass


def demo(args):
    data_dir = os.path.abspath(args.data_dir)
    os.makedirs(data_dir, exist_ok=True)
    database_uri = args.database_uri or 'sqlite://'
    config_file = os.path.join(data_dir, 'trytond.conf')
    write_config(config_file, database_uri, data_dir, args.listen,
        os.path.abspath(args.web_root) if args.web_root else None)
    os.environ['TRYTOND_CONFIG'] = config_file
    if args.rebuild or not database_exists(
            database_uri, data_dir, args.database):
        start = time.monotonic()
        print("Building the demo database %r (%s)" % (
                args.database, database_uri.split(':')[0]), flush=True)
        create_database(database_uri, data_dir, args.database)
        print("Activating the modules...", flush=True)
        activate(config_file, args.database)
        print("Modules activated in %.0fs" % (time.monotonic() - start),
            flush=True)
        from trytond.modules.perpetual_inventory.scripts.demo import build
        build(args.database, config_file, products=args.products,
            days=args.days, seed=args.seed)
        print("Demo database built in %.0fs" % (time.monotonic() - start),
            flush=True)
    else:
        print("Reusing the demo database %r (--rebuild builds it anew)"
            % args.database, flush=True)
    if args.no_serve:
        return 0
    return serve(config_file, args.database, args.listen)


def audit(args, out=print):
    "Print the audit of every company of the database; 1 when it differs"
    # trytond read its configuration when this package was imported:
    # update it in place.
    from trytond import config
    data_dir = os.path.abspath(args.data_dir)
    config_file = os.path.join(data_dir, 'trytond.conf')
    if not args.database_uri and os.path.exists(config_file):
        config.update_etc(config_file)
    else:
        config.set('database', 'uri', args.database_uri or 'sqlite://')
        config.set('database', 'path', data_dir)
    from trytond.modules.perpetual_inventory.scripts.audit import (
        audit_database)
    return audit_database(args.database, company=args.company, out=out,
        lines=args.lines)


def main(argv=None):
    parser = argparse.ArgumentParser(prog='perpetual-inventory')
    commands = parser.add_subparsers(dest='command', required=True)
    parser_demo = commands.add_parser(
        'demo', help="build (once) and serve the demo database")
    parser_demo.add_argument('--rebuild', action='store_true',
        help="drop the demo database and build it again")
    parser_demo.add_argument('--database-uri', default=None,
        help="trytond database URI (default: SQLite in the data directory),"
        " e.g. postgresql://user@127.0.0.1:5432/")
    parser_demo.add_argument('--database', default=DEFAULT_DATABASE,
        help="database name (default: %(default)s)")
    parser_demo.add_argument('--data-dir', default='demo',
        help="where the configuration and SQLite files go "
        "(default: %(default)s)")
    parser_demo.add_argument('--listen', default='127.0.0.1:8000',
        help="host:port of the server (default: %(default)s)")
    parser_demo.add_argument('--web-root', default=None,
        help="directory of the sao web client")
    parser_demo.add_argument('--products', type=int, default=50)
    parser_demo.add_argument('--days', type=int, default=365)
    parser_demo.add_argument('--seed', type=int, default=42)
    parser_demo.add_argument('--no-serve', action='store_true',
        help="build the database and exit")
    parser_audit = commands.add_parser(
        'audit', help="replay the done moves and compare them with the "
        "books (exit status 1 when they differ)")
    parser_audit.add_argument('--database-uri', default=None,
        help="trytond database URI (default: the demo's configuration in "
        "the data directory, else SQLite there)")
    parser_audit.add_argument('--database', default=DEFAULT_DATABASE,
        help="database name (default: %(default)s)")
    parser_audit.add_argument('--data-dir', default='demo',
        help="where the demo's configuration and SQLite files are "
        "(default: %(default)s)")
    parser_audit.add_argument('--company', type=int, default=None,
        help="the id of the company (default: every company)")
    parser_audit.add_argument('--lines', type=int, default=20,
        help="differences printed at most (default: %(default)s)")
    args = parser.parse_args(argv)
    if args.command == 'demo':
        return demo(args)
    if args.command == 'audit':
        return audit(args)


if __name__ == '__main__':
    sys.exit(main())
