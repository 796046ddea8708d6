import pytest
from hypothesis import given
from hypothesis import strategies as st

from core import gs1


@pytest.mark.parametrize('code', [
        '4006381333931',  # EAN-13
        '036000291452',  # UPC-A
        '96385074',  # EAN-8
        '10614141000415',  # GTIN-14
        ])
def test_known_codes_are_valid(code):
    assert gs1.is_gtin(code)
    assert gs1.validate_gtin(code) == code


@pytest.mark.parametrize('code, reason', [
        ('4006381333932', 'check digit is 2, expected 1'),
        ('400638133393', 'check digit'),
        ('12345', 'not 5'),
        ('40063813339A1', 'only digits'),
        ('', 'only digits'),
        ])
def test_invalid_codes_say_why(code, reason):
    with pytest.raises(gs1.BarcodeError, match=reason):
        gs1.validate_gtin(code)


@given(st.text(alphabet='0123456789', min_size=7, max_size=13))
def test_check_digit_makes_a_valid_code(payload):
    code = payload + gs1.check_digit(payload)
    if len(code) in gs1.GTIN_LENGTHS:
        assert gs1.is_gtin(code)


@given(st.text(alphabet='0123456789', min_size=12, max_size=12),
    st.integers(1, 9))
def test_any_single_digit_error_is_detected(payload, delta):
    code = payload + gs1.check_digit(payload)
    for position in range(13):
        wrong = (code[:position]
            + str((int(code[position]) + delta) % 10)
            + code[position + 1:])
        assert not gs1.is_gtin(wrong)


@given(st.integers(0, 99999))
def test_make_ean13(number):
    code = gs1.make_ean13('5412345', number)
    assert len(code) == 13
    assert gs1.is_gtin(code)
    assert code.startswith('5412345')


# GS1 element strings: the examples of the GS1 General Specifications
# (section 4.15, 5.4.7 and figure 2.1-1) and the bad inputs a scanner sends.

import datetime as dt  # noqa: E402
from decimal import Decimal  # noqa: E402

from core import barcodes  # noqa: E402

GS = '\x1d'
TODAY = dt.date(2026, 12, 8)


def test_gs1_128_with_separator():
    data = gs1.parse(
        ']C101095011010209171719050810ABCD1234' + GS + '2110', today=TODAY)
    assert data.gtin == '09501101020917'
    assert data.expiry == dt.date(2019, 5, 8)
    assert data.lot == 'ABCD1234'
    assert data.serial == '10'
    assert [ai for ai, _ in data.elements] == ['01', '17', '10', '21']


def test_human_readable_form_is_the_same():
    raw = gs1.parse(
        ']C101095011010209171719050810ABCD1234' + GS + '2110', today=TODAY)
    text = gs1.parse('(01)09501101020917(17)190508(10)ABCD1234(21)10',
        today=TODAY)
    assert raw == text
    assert gs1.to_human_readable(raw) == (
        '(01)09501101020917(17)190508(10)ABCD1234(21)10')


@pytest.mark.parametrize('symbology', [']C1', ']d2', ']Q3', ']e0', '', GS])
def test_symbology_identifiers(symbology):
    data = gs1.parse(symbology + '0109501101020917' + '3103001525'
        + '15210531', today=TODAY)
    assert data.gtin == '09501101020917'
    assert data.net_weight == Decimal('1.525')
    assert data.best_before == dt.date(2021, 5, 31)


def test_sscc_count_order_and_gln():
    # a logistic unit: SSCC, content, count, order number, ship-to GLN
    sscc = '106141411234567897'
    data = gs1.parse(']C100' + sscc + '0209501101020917' + '3720' + GS
        + '400PO-1234' + GS + '4145412345000006', today=TODAY)
    assert data.sscc == sscc
    assert data.content == '09501101020917'
    assert data.item == '09501101020917'
    assert data.count == 20
    assert data.quantity == 20
    assert data.order_number == 'PO-1234'
    assert data.location_gln == '5412345000006'


def test_variable_count_and_production_date():
    data = gs1.parse('(01)09501101020917(11)260101(30)7', today=TODAY)
    assert data.variable_count == 7
    assert data.quantity == 7
    assert data.production_date == dt.date(2026, 1, 1)


@pytest.mark.parametrize('digits, decimals, value', [
        ('3100', 0, Decimal('1525')), ('3102', 2, Decimal('15.25')),
        ('3105', 5, Decimal('0.01525'))])
def test_net_weight_decimals(digits, decimals, value):
    data = gs1.parse(
        '0109501101020917' + digits + '001525', today=TODAY)
    assert data.net_weight == value
    assert -data.net_weight.as_tuple().exponent == decimals


@pytest.mark.parametrize('text, date', [
        ('260200', dt.date(2026, 2, 28)),  # DD=00: the last day
        ('240200', dt.date(2024, 2, 29)),  # of a leap year's February
        ('261231', dt.date(2026, 12, 31)),
        ('761231', dt.date(2076, 12, 31)),  # 50 years ahead
        ('771231', dt.date(1977, 12, 31)),  # 49 years back
        ])
def test_dates(text, date):
    assert gs1.parse_date(text, today=TODAY) == date


@pytest.mark.parametrize('text, reason, position', [
        ('', 'empty', None),
        (']C10109501101020918', 'check digit is 8, expected 7', 19),
        (']C1011234', 'needs 14 characters, the barcode ends after 4', 6),
        (']C10109501101020917' + '17261302', 'month 13', 22),
        (']C10109501101020917' + '17270231', 'date 270231 does not exist', 22),
        (']C1990001', "starting '9900' is not supported", 4),
        (']X10109501101020917', 'symbology identifier ]X1', 1),
        (']C1010950110102091710ABC' + GS + '10DEF', 'appears twice', 28),
        (']C1010950110102091710' + 'A' * 21, 'at most 20 characters', 22),
        (']C110AB\u00e9', "does not allow the character", 8),
        (']C137A', 'allows only digits', 6),
        (']C110' + GS, 'has no data', 6),
        ('(01)09501101020917(99)1', '(99) is not supported', 20),
        ('(01)0950110102091', 'needs 14 characters, not 13', 5),
        ('(01', 'not closed', 1),
        ])
def test_bad_element_strings_say_what_and_where(text, reason, position):
    with pytest.raises(gs1.BarcodeError) as info:
        gs1.parse(text, today=TODAY)
    assert reason in str(info.value)
    if position is not None:
        assert info.value.position + 1 == position
        assert 'at character %d' % position in str(info.value)


def test_gtin_forms():
    assert gs1.gtin_forms('05412345000013') == (
        '05412345000013', '5412345000013')
    assert gs1.gtin_forms('00036000291452') == (
        '00036000291452', '0036000291452', '036000291452')
    assert gs1.gtin_forms('96385074')[-1] == '96385074'
    assert gs1.gtin_forms('10614141000415') == ('10614141000415',)


@pytest.mark.parametrize('text, kind, gtin', [
        ('5412345000013', 'gtin', '5412345000013'),
        (']E05412345000013', 'gtin', '5412345000013'),
        (']E496385074', 'gtin', '96385074'),
        (' 036000291452\r\n', 'gtin', '036000291452'),
        (']C10105412345000013' + '3712', 'gs1', '05412345000013'),
        ('(01)05412345000013(10)L1', 'gs1', '05412345000013'),
        ('LOC-A01', 'code', None),
        ('HW0001', 'code', None),
        ('P00012', 'code', None),
        ])
def test_read_classifies_a_scan(text, kind, gtin):
    scan = barcodes.read(text, today=TODAY)
    assert (scan.kind, scan.gtin) == (kind, gtin)


def test_read_quantity():
    assert barcodes.read(']C10105412345000013' + '3712').quantity == 12
    assert barcodes.read('5412345000013').quantity is None


@pytest.mark.parametrize('text, reason', [
        ('5412345000014', 'check digit'),
        ('', 'empty'),
        ('A' * 600, 'at most 512'),
        ])
def test_read_refuses(text, reason):
    with pytest.raises(gs1.BarcodeError, match=reason):
        barcodes.read(text)


@given(st.text(alphabet='0123456789', min_size=13, max_size=13),
    st.text(alphabet=sorted(gs1.CHARSET_82), min_size=1, max_size=20),
    st.integers(1, 99999999))
def test_element_string_round_trip(payload, lot, count):
    gtin = payload + gs1.check_digit(payload)
    text = ']C101' + gtin + '10' + lot + GS + '37' + str(count)
    data = gs1.parse(text, today=TODAY)
    assert (data.gtin, data.lot, data.count) == (gtin, lot, count)
    again = gs1.parse(gs1.to_human_readable(data), today=TODAY) \
        if '(' not in lot else data
    assert again == data
