# This file is part of perpetual_inventory.  The COPYRIGHT file at the top
# level of this repository contains the full copyright notices and license
# terms.
"""What a scan is: a GTIN, a GS1 element string or a plain code.

The scanner's first decision, before any database look-up: a code made of
8, 12, 13 or 14 digits is a GTIN and must carry a valid check digit; a GS1
element string is parsed; anything else (a Tryton product code, a location
code, a document number) is plain text to look up as it is.

Pure functions, no Tryton import.
"""
from typing import NamedTuple, Optional

from . import gs1

# A scan longer than this is not a barcode any symbol here carries (a GS1
# DataMatrix holds at most 2,335 characters; element strings are shorter).
MAX_LENGTH = 512


class Scan(NamedTuple):
    "A scanned text and what it was understood as"
    text: str
    kind: str  # 'gtin', 'gs1' or 'code'
    gtin: Optional[str] = None
    data: Optional[gs1.GS1Data] = None

    @property
    def quantity(self):
        "Return the quantity the barcode states, or None"
        return self.data.quantity if self.data else None


def read(text, today=None):
    """Return the Scan of a text, or raise gs1.BarcodeError.

    Args:
        text: what the scanner typed, without its final Enter.
        today: the date that sets the century of GS1 dates.
    """
    text = (text or '').strip(' \r\n\t')
    if not text:
        raise gs1.BarcodeError("the barcode is empty")
    if len(text) > MAX_LENGTH:
        raise gs1.BarcodeError(
            "a barcode has at most %d characters, not %d"
            % (MAX_LENGTH, len(text)))
    for symbology in gs1.GTIN_SYMBOLOGIES:
        if text.startswith(symbology):
            text = text[len(symbology):]
            return Scan(text, 'gtin', gtin=gs1.validate_gtin(text))
    if text.isdigit() and len(text) in gs1.GTIN_LENGTHS:
        return Scan(text, 'gtin', gtin=gs1.validate_gtin(text))
    if gs1.is_element_string(text):
        data = gs1.parse(text, today=today)
        return Scan(text, 'gs1', gtin=data.item, data=data)
    return Scan(text, 'code')
