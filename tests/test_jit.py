"""The helpers that kernels call in their inner loops are compiled without reference
counting (:func:`araqne.jit.borrowing`), and that mode refuses what it cannot support."""

from __future__ import annotations

import importlib

import numpy as np
import pytest
from numba.core.errors import TypingError

from araqne.jit import borrowing


@pytest.mark.parametrize("module, name", [
    ("araqne.partitioner.detach", "_edge_moved"),
    ("araqne.partitioner.detach", "_best_cached"),
    ("araqne.partitioner.detach", "shift"),
    ("araqne.partitioner.tabu", "_rekey"),
    ("araqne.partitioner.refine", "_heap_push"),
    ("araqne.qasm2_reader", "_skip"),
])
def test_hot_helpers_count_no_references(module, name):
    """These run once per pin of every move (or per token): with numba's reference counts
    each call paid two atomic operations per array argument."""
    helper = getattr(importlib.import_module(module), name)
    assert helper.targetoptions.get("_nrt") is False


def test_borrowing_helper_reads_and_writes_its_caller_arrays():
    @borrowing
    def add_into(out, values, scale):
        for i in range(values.shape[0]):
            out[i] += scale * values[i]
        return out[0]

    out = np.arange(4, dtype=np.int64)
    assert add_into(out, np.ones(4, dtype=np.int64), 3) == 3
    assert out.tolist() == [3, 4, 5, 6]


def test_borrowing_helper_may_not_allocate():
    @borrowing
    def fresh(n):
        return np.zeros(n, dtype=np.int64)

    with pytest.raises(TypingError):
        fresh(3)
