# This file is part of perpetual_inventory.  The COPYRIGHT file at the top
# level of this repository contains the full copyright notices and license
# terms.
"""The demo's income statement and balance sheet, from the posted entries.

    python -m trytond.modules.perpetual_inventory.scripts.books DATABASE

(with ``TRYTOND_CONFIG`` set, e.g. ``demo/trytond.conf``) prints them; the
demo builder prints them at the end of the build.
"""
import sys
from decimal import Decimal


def balances(database_name):
    """Return [(code, name, statement, balance)] of every account with
    posted entries; balance is debit minus credit."""
    from sql.aggregate import Sum
    from trytond.pool import Pool
    from trytond.transaction import Transaction

    with Transaction().start(database_name, 0, readonly=True):
        pool = Pool()
        Account = pool.get('account.account')
        Line = pool.get('account.move.line')
        Move = pool.get('account.move')
        line, move = Line.__table__(), Move.__table__()
        cursor = Transaction().connection.cursor()
        cursor.execute(*line.join(move, condition=line.move == move.id
                ).select(line.account, Sum(line.debit - line.credit),
                where=move.state == 'posted', group_by=[line.account]))
        sums = dict(cursor)
        result = []
        for account in Account.browse(list(sums)):
            result.append((account.code, account.name,
                    account.type.statement if account.type else None,
                    Decimal(str(sums[account.id] or 0)).quantize(
                        Decimal('0.01'))))
    return sorted(result, key=lambda r: [int(p) for p in r[0].split('.')])


def statements(database_name):
    "Return the lines of the income statement and the balance sheet"
    rows = balances(database_name)
    lines = ["", "Income statement (all posted entries)"]
    income = Decimal(0)
    for code, name, statement, balance in rows:
        if statement == 'income' and balance:
            lines.append("  %-7s %-36s %14s" % (code, name[:36],
                    '{:,.2f}'.format(-balance)))
            income -= balance
    lines.append("  %-44s %14s" % ("Net income", '{:,.2f}'.format(income)))
    lines += ["", "Balance sheet"]
    totals = {'assets': Decimal(0), 'other': Decimal(0)}
    for code, name, statement, balance in rows:
        if statement == 'balance' and balance:
            shown = balance if code.startswith('1.') else -balance
            lines.append("  %-7s %-36s %14s" % (code, name[:36],
                    '{:,.2f}'.format(shown)))
            totals['assets' if code.startswith('1.') else 'other'] += shown
    lines.append("  %-44s %14s" % ("Net income (current earnings)",
            '{:,.2f}'.format(income)))
    lines.append("  %-44s %14s" % ("Total assets",
            '{:,.2f}'.format(totals['assets'])))
    lines.append("  %-44s %14s" % ("Total liabilities and equity",
            '{:,.2f}'.format(totals['other'] + income)))
    return lines


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    from trytond.pool import Pool
    from trytond.transaction import Transaction
    database_name = argv[0] if argv else 'demo'
    with Transaction().start(database_name, 0, readonly=True):
        Pool(database_name).init()
    for line in statements(database_name):
        print(line)
    return 0


if __name__ == '__main__':
    sys.exit(main())
