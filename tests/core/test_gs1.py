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
