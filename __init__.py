# This file is part of perpetual_inventory.  The COPYRIGHT file at the top
# level of this repository contains the full copyright notices and license
# terms.

# Importing the routes registers them on trytond.wsgi.app when the server
# imports every activated module.
from .controllers import routes  # noqa: F401
