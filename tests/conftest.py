import os

import pytest
import torch

SHARED = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', 'shared'))
SAMPLES = os.path.join(SHARED, 'data', 'mmaction2_samples')

torch.set_num_threads(1)


@pytest.fixture(scope='session')
def samples_dir() -> str:
    if not os.path.isdir(SAMPLES):
        pytest.skip(f'shared samples not found at {SAMPLES}')
    return SAMPLES


def pytest_collection_modifyitems(config, items):
    """Tests marked ``cuda`` (tests/test_cuda.py, docs/gpu.md) need a GPU: skipped where torch sees none."""
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason='needs CUDA (a GPU visible to torch)')
    for item in items:
        if item.get_closest_marker('cuda') is not None:
            item.add_marker(skip)
