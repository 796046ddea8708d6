# This file is part of perpetual_inventory.  The COPYRIGHT file at the top
# level of this repository contains the full copyright notices and license
# terms.
import os

# The core multiplies many small matrices: BLAS threads only compete with
# the other worker processes and the database for the cores.  Set before
# numpy is imported; an explicit setting in the environment wins.
for _name in ('OPENBLAS_NUM_THREADS', 'OMP_NUM_THREADS', 'MKL_NUM_THREADS'):
    os.environ.setdefault(_name, '1')
