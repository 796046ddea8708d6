# This file is part of perpetual_inventory.  The COPYRIGHT file at the top
# level of this repository contains the full copyright notices and license
# terms.
"""The demo business: master data through proteus, history in bulk.

A small hardware shop: one company with a chart of accounts, continental
stock accounting on open fiscal years, five accounting product categories,
about fifty goods with EAN-13 barcodes, suppliers with prices, lead times,
minimum quantities and pack sizes, one warehouse with storage bins that have
their own barcodes, the opening stock from a physical count, then about a
year of purchases and sales (trend, weekly and yearly seasonality, slow
movers) written in bulk with the same journal entries continental posts.

Everything is seeded: the same seed builds the same business.
"""
import random
from decimal import Decimal

from ..core import gs1

CENT = Decimal('0.01')

CATEGORIES = [
    # name, yearly phase (day of year of the peak), yearly amplitude
    ("Fasteners", 0, 0.05),
    ("Hand Tools", 340, 0.25),  # gifts at the end of the year
    ("Electrical", 15, 0.20),  # winter
    ("Paint", 150, 0.35),  # spring and summer
    ("Garden", 160, 0.60),  # summer
    ]

ITEMS = {
    "Fasteners": [
        "Wood Screws 4x40 (box of 200)", "Wood Screws 5x60 (box of 100)",
        "Drywall Screws 3.5x35 (box of 500)", "Hex Bolts M8x50 (box of 50)",
        "Nuts M8 (box of 100)", "Washers M8 (box of 200)",
        "Wall Plugs 6 mm (box of 100)", "Anchor Bolts M10 (box of 25)",
        "Nails 60 mm (1 kg)", "Cable Ties 200 mm (bag of 100)",
        ],
    "Hand Tools": [
        "Claw Hammer 450 g", "Screwdriver Set 6 pieces",
        "Combination Pliers 200 mm", "Adjustable Wrench 250 mm",
        "Tape Measure 5 m", "Spirit Level 60 cm", "Utility Knife",
        "Hacksaw 300 mm", "Socket Set 1/2\" 24 pieces",
        "Torque Wrench 40-200 Nm",
        ],
    "Electrical": [
        "LED Bulb E27 9 W", "LED Bulb GU10 5 W", "Extension Cord 10 m",
        "Power Strip 6 Outlets", "Cable 3G1.5 (50 m)", "Wall Switch",
        "Wall Socket", "Junction Box", "Electrical Tape (roll)",
        "Outdoor Floodlight 30 W",
        ],
    "Paint": [
        "Wall Paint White 10 l", "Wall Paint White 2.5 l",
        "Wood Stain Oak 750 ml", "Primer 5 l", "Masking Tape 50 m",
        "Paint Roller 25 cm", "Brush Set 3 pieces", "Paint Tray",
        "Sandpaper Assortment", "Exterior Varnish 2.5 l",
        ],
    "Garden": [
        "Garden Hose 25 m", "Hose Connector Set", "Pruning Shears",
        "Lawn Fertilizer 10 kg", "Potting Soil 40 l", "Garden Gloves",
        "Watering Can 10 l", "Rake", "Spade", "Lawn Mower Blade 46 cm",
        ],
    }

SUPPLIERS = [
    # name, categories supplied, lead time days (quoted), spread of the
    # actual lead time in days
    ("Nordic Fasteners Ltd", ["Fasteners"], 5, 1.0),
    ("Toolmaster Supply", ["Hand Tools"], 12, 3.0),
    ("Brightline Electric", ["Electrical"], 7, 2.0),
    ("Colorworks Paints", ["Paint"], 10, 2.0),
    ("GreenThumb Wholesale", ["Garden"], 14, 4.0),
    ("General Hardware Distribution",
        ["Fasteners", "Hand Tools", "Electrical"], 3, 1.0),
    ]

CUSTOMERS = [
    "Walk-in Customer", "Oakridge Builders", "Lakeside Property Services",
    "Maple Street Renovations", "City Facilities Department",
    "Harbor Marine Repairs", "Summit Landscaping",
    ]

BINS = [
    ("A-01", "Aisle A, shelf 1"), ("A-02", "Aisle A, shelf 2"),
    ("B-01", "Aisle B, shelf 1"), ("B-02", "Aisle B, shelf 2"),
    ("C-01", "Aisle C, pallet rack"),
    ]

GS1_PREFIX = '5412345'


def location_barcode(code):
    "Return the barcode printed on a storage bin (Code 128 text)"
    return 'LOC-' + code.replace('-', '')


class Item:
    "The demand and supply profile of one demo product"

    def __init__(self, rng, index, category, name, phase, amplitude):
        self.index = index
        self.category = category
        self.name = name
        self.code = 'HW%04d' % (index + 1)
        self.barcode = gs1.make_ean13(GS1_PREFIX, index + 1)
        self.phase = phase
        self.amplitude = amplitude * rng.uniform(0.7, 1.3)
        kind = rng.random()
        if kind < 0.15:
            # Slow mover: a few sales a month, sometimes in lots.
            self.pattern = 'intermittent'
            self.rate = rng.uniform(0.05, 0.3)
            self.lot = rng.choice([1, 1, 2, 3, 5])
        elif kind < 0.25:
            self.pattern = 'lumpy'
            self.rate = rng.uniform(0.1, 0.25)
            self.lot = rng.choice([4, 6, 10])
        else:
            self.pattern = 'regular'
            self.rate = rng.lognormvariate(1.0, 0.8)
            self.lot = 1
        # Yearly growth or decline.
        self.trend = rng.choice([0, 0, 0.1, 0.25, 0.5, -0.2])
        self.cost = Decimal(str(round(rng.lognormvariate(2.0, 0.9), 2))
            ).quantize(CENT) + Decimal('0.5')
        self.list_price = (self.cost * Decimal(str(
                    round(rng.uniform(1.4, 2.2), 2)))).quantize(CENT)
        self.cost_price_method = rng.choice(
            ['average', 'average', 'average', 'fifo', 'fifo', 'fixed'])
        self.pack = rng.choice([1, 1, 1, 5, 6, 10, 12])
        self.minimum = self.pack * rng.choice([1, 2, 5])

    def demand(self, rng, day_of_history, date, history_days):
        "Return the quantity customers ask for on date"
        progress = day_of_history / history_days
        level = self.rate * (1 + self.trend * progress)
        level *= 1 + self.amplitude * _cos_days(date, self.phase)
        # Weekly profile of a shop open on Saturday, closed on Sunday.
        level *= (1.0, 0.9, 0.9, 1.0, 1.2, 1.6, 0.0)[date.weekday()]
        if self.pattern == 'regular':
            return _poisson(rng, level)
        if rng.random() < min(level, 1.0):
            return self.lot * max(1, _poisson(rng, 1.0))
        return 0


def _cos_days(date, phase):
    import math
    return math.cos(2 * math.pi * (date.timetuple().tm_yday - phase) / 365.25)


def _poisson(rng, lam):
    import math
    if lam <= 0:
        return 0
    if lam > 30:
        return max(0, int(round(rng.gauss(lam, math.sqrt(lam)))))
    limit, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def make_items(seed, count):
    rng = random.Random(seed)
    items = []
    names = [(c, n, phase, amplitude)
        for c, phase, amplitude in CATEGORIES for n in ITEMS[c]]
    for index in range(count):
        category, name, phase, amplitude = names[index % len(names)]
        if index >= len(names):
            name = '%s (%s)' % (name, chr(ord('B') + index // len(names) - 1))
        items.append(Item(rng, index, category, name, phase, amplitude))
    return items


class Progress:
    "Print the steps of the build with the elapsed time"

    def __init__(self, out=print, total=7):
        import time
        self._time = time.monotonic
        self.start = self._time()
        self.out = out
        self.total = total
        self.step = 0

    def __call__(self, text):
        self.step += 1
        self.out('[%d/%d %5.1fs] %s' % (
                self.step, self.total, self._time() - self.start, text),
            flush=True)
