"""Diagnostics tests run their small linear algebra on one BLAS thread.

On a loaded 2-core machine OpenBLAS's thread pool made the double-descent simulation 25x
slower in wall time (30 s instead of 1.2 s); these problems are too small to gain from
threads anyway.
"""

import pytest
from threadpoolctl import threadpool_limits


@pytest.fixture(autouse=True)
def _one_blas_thread():
    with threadpool_limits(limits=1, user_api="blas"):
        yield
