# This file is part of perpetual_inventory.  The COPYRIGHT file at the top
# level of this repository contains the full copyright notices and license
# terms.
"""Run the Tryton tests of the module (unit tests and scenario doctests).

``python -m unittest`` on the package runs no test at all and exits 0, and
pytest skips the scenario_*.rst doctests; this runner loads every
``tests/test_*.py`` through unittest's load_tests protocol, prints
``N passed, N failed`` and fails when nothing ran.

    python -m trytond.modules.perpetual_inventory.scripts.run_tests [NAME...]

NAME filters the test modules (e.g. ``test_routes``).
"""
import importlib
import pkgutil
import sys
import time
import unittest


def main(names=None):
    from trytond.modules.perpetual_inventory import tests
    loader = unittest.TestLoader()
    suite = unittest.TestSuite()
    for info in sorted(pkgutil.iter_modules(tests.__path__),
            key=lambda i: i.name):
        if not info.name.startswith('test_'):
            continue
        if names and info.name not in names:
            continue
        module = importlib.import_module(tests.__name__ + '.' + info.name)
        suite.addTests(loader.loadTestsFromModule(module))
    start = time.monotonic()
    result = unittest.TextTestRunner(verbosity=2).run(suite)
    failed = len(result.failures) + len(result.errors) + len(
        result.unexpectedSuccesses)
    passed = max(0, result.testsRun - failed - len(result.skipped))
    print("Tryton tests ran in %.0fs" % (time.monotonic() - start))
    line = "%d passed, %d failed" % (passed, failed)
    if result.skipped:
        line += ", %d skipped" % len(result.skipped)
    print(line)
    if failed or not result.testsRun:
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
