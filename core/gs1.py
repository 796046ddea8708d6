# This file is part of perpetual_inventory.  The COPYRIGHT file at the top
# level of this repository contains the full copyright notices and license
# terms.
"""GS1 identifiers: GTIN check digits and GS1 element strings.

A GS1-128, GS1 DataMatrix, GS1 QR Code or GS1 DataBar symbol carries an
element string: application identifiers (AIs), each followed by its data.
An AI of predefined length (GS1 General Specifications, figure 5.10.1-2) is
followed directly by the next one; after a variable-length field the
scanner transmits FNC1 as the group separator <GS> (\\x1d), unless the field
ends the string. The string may start with a symbology identifier (``]C1``
GS1-128, ``]d2`` GS1 DataMatrix, ``]Q3`` GS1 QR Code, ``]e0`` GS1 DataBar),
or be written in the human-readable form ``(01)...(17)...``.

Pure functions, no Tryton import.
"""
import calendar
import datetime as dt
from decimal import Decimal
from typing import NamedTuple, Optional, Tuple

GTIN_LENGTHS = (8, 12, 13, 14)
GS = '\x1d'
# Keyboard-wedge scanners that cannot type <GS> are often set to send the
# "symbol for group separator" instead.
SEPARATORS = (GS, '\u241d')
# Symbology identifiers (ISO/IEC 15424) of the GS1 symbols whose data is an
# element string, and of the EAN/UPC symbols whose data is a bare GTIN
GS1_SYMBOLOGIES = (']C1', ']d2', ']Q3', ']e0')
GTIN_SYMBOLOGIES = (']E0', ']E4')


class BarcodeError(ValueError):
    "A barcode that is not a valid GTIN or GS1 element string."

    def __init__(self, message, position=None):
        if position is not None:
            message = "%s (at character %d)" % (message, position + 1)
        super().__init__(message)
        self.position = position


class AI(NamedTuple):
    "An application identifier of the GS1 General Specifications"
    code: str
    title: str
    kind: str  # 'n' digits, 'x' GS1 character set 82
    length: int  # the exact length when fixed, else the maximum
    fixed: bool
    field: str  # the field of GS1Data it fills
    check_digit: bool = False
    date: bool = False
    decimals: Optional[int] = None


APPLICATION_IDENTIFIERS = {ai.code: ai for ai in [
        AI('00', 'SSCC', 'n', 18, True, 'sscc', check_digit=True),
        AI('01', 'GTIN', 'n', 14, True, 'gtin', check_digit=True),
        AI('02', 'CONTENT', 'n', 14, True, 'content', check_digit=True),
        AI('10', 'BATCH/LOT', 'x', 20, False, 'lot'),
        AI('11', 'PROD DATE', 'n', 6, True, 'production_date', date=True),
        AI('15', 'BEST BEFORE or BEST BY', 'n', 6, True, 'best_before',
            date=True),
        AI('17', 'USE BY OR EXPIRY', 'n', 6, True, 'expiry', date=True),
        AI('21', 'SERIAL', 'x', 20, False, 'serial'),
        AI('30', 'VAR. COUNT', 'n', 8, False, 'variable_count'),
        AI('37', 'COUNT', 'n', 8, False, 'count'),
        AI('400', 'ORDER NUMBER', 'x', 30, False, 'order_number'),
        AI('414', 'LOC No', 'n', 13, True, 'location_gln',
            check_digit=True),
        ] + [
        AI('310%d' % n, 'NET WEIGHT (kg)', 'n', 6, True, 'net_weight',
            decimals=n)
        for n in range(6)]}
# The GS1 character set 82: the characters allowed in alphanumeric data
CHARSET_82 = frozenset(
    '!"%&\'()*+,-./0123456789:;<=>?ABCDEFGHIJKLMNOPQRSTUVWXYZ_'
    'abcdefghijklmnopqrstuvwxyz')


class GS1Data(NamedTuple):
    "What an element string says, one field per application identifier"
    gtin: Optional[str] = None
    content: Optional[str] = None
    lot: Optional[str] = None
    production_date: Optional[dt.date] = None
    best_before: Optional[dt.date] = None
    expiry: Optional[dt.date] = None
    serial: Optional[str] = None
    variable_count: Optional[int] = None
    count: Optional[int] = None
    net_weight: Optional[Decimal] = None
    sscc: Optional[str] = None
    order_number: Optional[str] = None
    location_gln: Optional[str] = None
    # every (AI, data) pair in the order of the string
    elements: Tuple[Tuple[str, str], ...] = ()

    @property
    def item(self):
        "Return the GTIN of the trade item: (01), else the content (02)"
        return self.gtin or self.content

    @property
    def quantity(self):
        "Return the count of items the string states, or None"
        if self.count is not None:
            return self.count
        return self.variable_count


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
    _check(compact)
    return compact


def _check(digits, position=None):
    expected = check_digit(digits[:-1])
    if digits[-1] != expected:
        raise BarcodeError(
            "the check digit is %s, expected %s" % (digits[-1], expected),
            position)


def is_gtin(code):
    "Return True when code is a valid GTIN-8, 12, 13 or 14."
    try:
        validate_gtin(code)
    except BarcodeError:
        return False
    return True


def gtin_forms(gtin):
    """Return the forms a GTIN may be stored in, longest first.

    A GTIN-14 whose leading digits are zeros is the same item as the
    GTIN-13, UPC-A (GTIN-12) or EAN-8 that those zeros pad.

    Args:
        gtin: a valid GTIN of 8, 12, 13 or 14 digits.
    """
    full = gtin.zfill(14)
    return tuple(full[14 - n:] for n in (14, 13, 12, 8)
        if full[:14 - n].strip('0') == '')


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


def parse_date(text, today=None, position=None):
    """Return the date of a GS1 YYMMDD field.

    The century is the one that puts the year within 49 years back and 50
    years ahead of today (GS1 General Specifications 7.12); a day 00 means
    the last day of the month.
    """
    if len(text) != 6 or not text.isdigit():
        raise BarcodeError("a date is 6 digits YYMMDD, not %r" % text,
            position)
    today = today or dt.date.today()
    yy, month, day = int(text[:2]), int(text[2:4]), int(text[4:])
    difference = yy - today.year % 100
    century = today.year // 100
    if difference >= 51:
        century -= 1
    elif difference <= -50:
        century += 1
    year = century * 100 + yy
    if not 1 <= month <= 12:
        raise BarcodeError("the month %02d of %s does not exist"
            % (month, text), position)
    if day == 0:
        day = calendar.monthrange(year, month)[1]
    try:
        return dt.date(year, month, day)
    except ValueError:
        raise BarcodeError("the date %s does not exist" % text, position)


def is_element_string(text):
    "Return True when text looks like a GS1 element string, not a GTIN."
    text = text or ''
    return (text.startswith(GS1_SYMBOLOGIES)
        or text.startswith(SEPARATORS)
        or text.startswith('(')
        or any(s in text for s in SEPARATORS))


def parse(text, today=None):
    """Return the GS1Data of an element string, or raise BarcodeError.

    Args:
        text: the scanner's output: an optional symbology identifier, then
            AIs and their data with <GS> after variable-length fields; or
            the human-readable form with the AIs in parentheses.
        today: the date that sets the century of YYMMDD dates.

    Returns:
        GS1Data with one field per AI found and every element in order.
    """
    if not text:
        raise BarcodeError("the barcode is empty")
    start = 0
    for symbology in GS1_SYMBOLOGIES:
        if text.startswith(symbology):
            start = len(symbology)
            break
    else:
        if text.startswith(']'):
            raise BarcodeError(
                "the symbology identifier %s is not one of a GS1 symbol"
                % text[:3], 0)
    if text[start:].startswith('('):
        pairs = _split_human_readable(text, start)
    else:
        pairs = _split_element_string(text, start)
    if not pairs:
        raise BarcodeError("the barcode has no application identifier",
            start)
    values = {}
    elements = []
    for position, code, data in pairs:
        ai = APPLICATION_IDENTIFIERS[code]
        if ai.field in values:
            raise BarcodeError(
                "the application identifier (%s) appears twice" % code,
                position)
        values[ai.field] = _value(ai, data, position, today)
        elements.append((code, data))
    return GS1Data(elements=tuple(elements), **values)


def _identifier_at(text, position):
    "Return the AI that starts at position, or raise BarcodeError"
    for size in (2, 3, 4):
        code = text[position:position + size]
        if code in APPLICATION_IDENTIFIERS:
            return APPLICATION_IDENTIFIERS[code]
    code = text[position:position + 4]
    if not code[:2].isdigit():
        raise BarcodeError(
            "an application identifier was expected, not %r" % code[:2],
            position)
    raise BarcodeError(
        "the application identifier starting %r is not supported" % code,
        position)


def _split_element_string(text, position):
    "Return (position, AI, data) triples of a string with <GS> separators"
    pairs = []
    end = len(text)
    while position < end:
        if text[position] in SEPARATORS:
            # A leading FNC1, or two in a row: nothing to read.
            position += 1
            continue
        ai = _identifier_at(text, position)
        data_start = position + len(ai.code)
        if ai.fixed:
            data_end = data_start + ai.length
            if data_end > end:
                raise BarcodeError(
                    "(%s) needs %d characters, the barcode ends after %d"
                    % (ai.code, ai.length, end - data_start), data_start)
            data = text[data_start:data_end]
        else:
            data_end = data_start
            while data_end < end and text[data_end] not in SEPARATORS:
                data_end += 1
            data = text[data_start:data_end]
        pairs.append((data_start, ai.code, data))
        position = data_end
    return pairs


def _split_human_readable(text, position):
    "Return (position, AI, data) triples of the form (01)...(10)..."
    pairs = []
    end = len(text)
    while position < end:
        if text[position] != '(':
            raise BarcodeError("\"(\" was expected", position)
        close = text.find(')', position)
        if close < 0:
            raise BarcodeError("the \"(\" is not closed", position)
        code = text[position + 1:close]
        if code not in APPLICATION_IDENTIFIERS:
            raise BarcodeError(
                "the application identifier (%s) is not supported" % code,
                position + 1)
        data_start = close + 1
        data_end = text.find('(', data_start)
        if data_end < 0:
            data_end = end
        pairs.append((data_start, code, text[data_start:data_end]))
        position = data_end
    return pairs


def _value(ai, data, position, today):
    "Return the value of the AI's data, or raise BarcodeError"
    name = '(%s) %s' % (ai.code, ai.title)
    if not data:
        raise BarcodeError("%s has no data" % name, position)
    if ai.fixed and len(data) != ai.length:
        raise BarcodeError("%s needs %d characters, not %d"
            % (name, ai.length, len(data)), position)
    if len(data) > ai.length:
        raise BarcodeError("%s has at most %d characters, not %d"
            % (name, ai.length, len(data)), position)
    if ai.kind == 'n':
        for i, char in enumerate(data):
            if not char.isdigit() or not char.isascii():
                raise BarcodeError("%s allows only digits, not %r"
                    % (name, char), position + i)
    else:
        for i, char in enumerate(data):
            if char not in CHARSET_82:
                raise BarcodeError("%s does not allow the character %r"
                    % (name, char), position + i)
    if ai.check_digit:
        _check(data, position + len(data) - 1)
    if ai.date:
        return parse_date(data, today, position)
    if ai.decimals is not None:
        return Decimal(data).scaleb(-ai.decimals)
    if ai.field in {'count', 'variable_count'}:
        return int(data)
    return data


def to_human_readable(data):
    "Return the element string of a GS1Data with its AIs in parentheses"
    return ''.join('(%s)%s' % pair for pair in data.elements)
