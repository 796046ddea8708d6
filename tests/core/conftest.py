import os
import sys

# core/ is importable on its own, without trytond: put the repository root
# on the path and import it as the top-level package "core".
sys.path.insert(
    0, os.path.dirname(os.path.dirname(os.path.dirname(
            os.path.abspath(__file__)))))
