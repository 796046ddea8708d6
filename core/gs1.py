# This file is part of perpetual_inventory.  The COPYRIGHT file at the top
# level of this repository contains the full copyright notices and license
# terms.
"""GS1 identifiers: check digits of GTIN-8/12/13/14 (EAN/UPC).

Pure functions, no Tryton import.
"""

GTIN_LENGTHS = (8, 12, 13, 14)


class BarcodeError(ValueError):
    "A barcode that is not a valid GTIN."


def check_digit(digits):
    """Return the GS1 check digit of a string of digits without its check.

    Args:
        digits: the payload, e.g. the first 12 digits of an EAN-13.

    Returns:
        The check digit as a one-character string.
    """
    if not digits or not digits.isdigit():
        raise BarcodeError("only digits are allowed")
    # From the right, weights alternate 3, 1, 3, ... starting with the
    # digit next to the check digit.
    total = sum(
        int(d) * (3 if i % 2 == 0 else 1)
        for i, d in enumerate(reversed(digits)))
    return str((10 - total % 10) % 10)


def validate_gtin(code):
    """Return the compact GTIN or raise BarcodeError with the reason.

    Args:
        code: the scanned text; spaces and dashes are ignored.

    Returns:
        The digits of the GTIN.
    """
    compact = ''.join(c for c in (code or '') if c not in ' -')
    if not compact.isdigit():
        raise BarcodeError("only digits are allowed")
    if len(compact) not in GTIN_LENGTHS:
        raise BarcodeError(
            "a GTIN has 8, 12, 13 or 14 digits, not %d" % len(compact))
    expected = check_digit(compact[:-1])
    if compact[-1] != expected:
        raise BarcodeError(
            "the check digit is %s, expected %s" % (compact[-1], expected))
    return compact


def is_gtin(code):
    "Return True when code is a valid GTIN-8, 12, 13 or 14."
    try:
        validate_gtin(code)
    except BarcodeError:
        return False
    return True


def make_ean13(prefix, number):
    """Return a valid EAN-13 built from a company prefix and an item number.

    Args:
        prefix: the GS1 company prefix (digits).
        number: the item reference, padded with zeros to fill 12 digits.

    Returns:
        The 13-digit code with its check digit.
    """
    width = 12 - len(prefix)
    if width <= 0 or number < 0 or len(str(number)) > width:
        raise BarcodeError("the item number does not fit the prefix")
    payload = '%s%0*d' % (prefix, width, number)
    return payload + check_digit(payload)
