import numpy as np

from core.history import BoundedHistory


def fill(n, capacity=2048):
    h = BoundedHistory(("iteration", "value"), capacity)
    for i in range(1, n + 1):
        h.append((i, np.sin(i / 1000)))
    return h


def test_memory_is_flat_from_ten_thousand_to_a_million_iterations():
    short, long = fill(10_000), fill(1_000_000)
    assert long.nbytes == short.nbytes  # the buffer is allocated once
    assert len(long) <= 2048 and len(short) <= 2048


def test_thinning_keeps_the_whole_run_evenly_spaced():
    h = fill(100_000, capacity=256)
    its = h.arrays()["iteration"]
    assert its[0] == 1 and its[-1] > 100_000 - h.stride
    assert np.all(np.diff(its) == h.stride)
    assert np.allclose(h.arrays()["value"], np.sin(its / 1000))  # rows stay aligned with their iteration


def test_arrays_are_read_only_copies_and_rollback_forgets_the_future():
    h = fill(100, capacity=64)
    a = h.arrays()["iteration"]
    assert not a.flags.writeable
    h.rollback(50)
    assert h.arrays()["iteration"][-1] <= 50 and a[-1] > 50
