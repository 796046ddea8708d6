# This file is part of perpetual_inventory.  The COPYRIGHT file at the top
# level of this repository contains the full copyright notices and license
# terms.
"""``perpetual-inventory audit``: the audit of a database, printed.

The same report as the wizard (models/audit.py): per product the first
move where the replay and the books differ, with the expected and posted
amounts per account, then the totals.
"""
from decimal import Decimal

from ..core import audit as core_audit


def _label(pool, key):
    from ..models.audit import ACCOUNT_LABELS
    if isinstance(key, int):
        return pool.get('account.account')(key).rec_name
    return ACCOUNT_LABELS.get(key, str(key))


def _amount(value, precision):
    "Return the amount as text, with the currency's digits when it has them"
    if value is None:
        return '-'
    if value == value.quantize(precision):
        value = value.quantize(precision)
    return str(value)


def print_report(pool, company, report, out=print, lines=20):
    "Print the report of a company; return whether nothing differs"
    from ..models.audit import first_lines
    Product = pool.get('product.product')
    precision = Decimal(1).scaleb(-company.currency.digits)
    out("Company %s: %d events replayed" % (company.rec_name, report.events))
    shown = first_lines(report)
    for line in shown[:lines]:
        product = (Product(line.product).rec_name
            if line.product is not None else "-")
        if isinstance(line.ref, int):
            ref = 'stock.move,%d' % line.ref
        else:
            ref = str(line.ref)
        if line.kind == core_audit.REPLAY_ERROR:
            out("  %s | %s | %s: %s" % (
                    product, ref, line.kind, line.message))
            continue
        out("  %s | %s | %s | %s: expected %s, posted %s, difference %s" % (
                product, ref, line.kind, _label(pool, line.account),
                _amount(line.expected, precision),
                _amount(line.posted, precision),
                _amount(line.difference, precision)))
    if len(shown) > lines:
        out("  ... %d more (the wizard's spreadsheet lists them all)"
            % (len(shown) - lines))
    currency = company.currency
    for total in report.totals:
        out("  total %s: expected %s, posted %s" % (
                _label(pool, total.account),
                _amount(total.expected, precision),
                _amount(total.posted, precision)))
    out("Difference: %s over %d products, %d lines" % (
            currency.round(report.difference) if report.difference
            else Decimal(0), len(report.first), len(report.lines)))
    return report.ok


def audit_database(database, company=None, out=print, lines=20):
    "Audit the companies of the database; return the exit status"
    from trytond.pool import Pool
    from trytond.transaction import Transaction
    from ..models.audit_facts import run
    pool = Pool(database)
    pool.init()
    ok = True
    with Transaction().start(database, 0, readonly=True):
        Company = pool.get('company.company')
        companies = (Company.browse([company]) if company
            else Company.search([]))
        for record in companies:
            with Transaction().set_context(company=record.id):
                report = run(record.id)
                ok &= print_report(pool, record, report, out=out,
                    lines=lines)
    out("Audit: %s" % ("no difference" if ok else "DIFFERENCES"))
    return 0 if ok else 1
