"""CPU benchmarks run on one thread: with several, OpenMP's spinning threads turn any other
load on a shared machine into large, uneven slowdowns, and ratios stop meaning anything."""

import pytest
import torch


@pytest.fixture(autouse=True, scope="session")
def one_cpu_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
