"""What the simulator's oracle knows (bench/replenishment_sim.py)."""
import importlib.util
import os

import numpy as np
import pytest

_PATH = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
                os.path.abspath(__file__)))), 'bench', 'replenishment_sim.py')


@pytest.fixture(scope='module')
def sim():
    spec = importlib.util.spec_from_file_location('replenishment_sim', _PATH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _item(sim, family, seed=3):
    return sim.make_items(seed, 1, (family,))[0]


@pytest.mark.parametrize('family', ['decline', 'step_up', 'ramp_to_zero'])
def test_a_random_change_is_known_from_its_day(sim, family):
    item = _item(sim, family)
    m = item['m']
    change = int(np.flatnonzero(np.abs(m - m[0]) > 1e-9 * m[0])[0])
    before = sim.known_path(item, change - 1)
    # the day before: the level of the day, held, nothing of the change
    assert np.allclose(before, m[0])
    assert not np.allclose(before, m)
    # from the day it happens: the true path
    assert np.array_equal(sim.known_path(item, change), m)


def test_a_ramp_is_known_from_its_start(sim):
    item = _item(sim, 'ramp_up')
    m = item['m']
    (_, before), (start, path) = item['known']
    assert before is None and path is m
    assert np.array_equal(sim.known_path(item, start), m)
    # before: what the days so far showed, held; nothing of the coming rise
    for day in (start - 40, start - 1):
        known = sim.known_path(item, day)
        assert np.array_equal(known[:day + 1], m[:day + 1])
        assert np.all(known[day + 1:] == m[day])
        assert m[day + 1:day + 30].max() > m[day]


def test_promotions_are_known_one_by_one(sim):
    item = _item(sim, 'promo')
    m = item['m']
    base = m.min()
    starts = [day for day, _ in item['known'][1:]]
    assert len(starts) >= 2
    # the last promotion's path is the true one; before the first, none
    assert np.allclose(sim.known_path(item, starts[-1]), m)
    assert np.allclose(sim.known_path(item, starts[0] - 1), base)
    # between the first two: the first promotion, not the second
    known = sim.known_path(item, starts[0])
    assert known[starts[0]] > base
    if starts[1] > starts[0] + 15:
        assert np.isclose(known[starts[1]], base)


def test_large_orders_are_known_by_their_distribution(sim):
    item = _item(sim, 'bulk')
    chance, size = item['burst']
    m = item['m']
    known = sim.known_path(item, m.size)
    assert np.allclose(known, m.min())
    assert 0.01 <= chance <= 0.04
    assert np.allclose(m[m > known + 1e-9] - known[m > known + 1e-9], size)


def test_rules_are_known_from_the_start(sim):
    for family in ('trending', 'yearly', 'new_product'):
        item = _item(sim, family)
        assert sim.known_path(item, 0) is item['m']


def test_oracle_draws_of_an_item_do_not_depend_on_the_others(sim):
    # one generator per item: the oracle of the steady items is the same
    # with or without declining items beside them
    alone = sim.make_items(9, 3, ('steady',))
    both = sim.make_items(9, 3, ('steady', 'decline'))
    for item in both[3:]:
        item['known'] = [(0, item['m'])]   # clairvoyant on the others
    rngs = [np.random.default_rng([9, 3000, i]) for i in range(6)]
    day = np.full(6, alone[0]['h0'] + 10)
    s1, big1 = sim.oracle_points(alone, day[:3], np.full(3, 0.95),
        rngs[:3], 200)
    rngs = [np.random.default_rng([9, 3000, i]) for i in range(6)]
    s2, big2 = sim.oracle_points(both, day, np.full(6, 0.95), rngs, 200)
    assert np.array_equal(s1, s2[:3]) and np.array_equal(big1, big2[:3])


def test_clairvoyant_oracle_is_not_the_default(sim):
    # the same seed, the oracle with and without foresight of the drop:
    # the clairvoyant one holds less stock on a declining item
    args = (5, 4, True, 300, ('decline',), 365)
    _, fair = sim.run_seed(args + (False,))
    _, seer = sim.run_seed(args + (True,))
    assert fair['decline']['inv'][2] > seer['decline']['inv'][2]
    # the tuned and static policies do not depend on the oracle
    assert fair['decline']['inv'][0] == seer['decline']['inv'][0]
    assert fair['decline']['inv'][1] == seer['decline']['inv'][1]
