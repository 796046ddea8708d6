import os
import sys

# core/ is importable on its own, without trytond: put the repository root
# on the path and import it as the top-level package "core".
sys.path.insert(
    0, os.path.dirname(os.path.dirname(os.path.dirname(
            os.path.abspath(__file__)))))

# CI needs the same verdict on every run: hypothesis draws its examples
# from a fixed seed (HYPOTHESIS_PROFILE=explore draws new ones).
from hypothesis import HealthCheck, settings  # noqa: E402

settings.register_profile('ci', derandomize=True, deadline=None,
    suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow])
settings.register_profile('explore', deadline=None)
settings.load_profile(os.environ.get('HYPOTHESIS_PROFILE', 'ci'))
