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
