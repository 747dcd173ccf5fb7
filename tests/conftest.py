import os

import pytest
import torch

SHARED = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', 'shared'))
SAMPLES = os.path.join(SHARED, 'data', 'mmaction2_samples')
# The shared small toy dataset: 8 classes x 4 clips (3 train / 1 val each), 32x32, 8-12 frames, videos and rawframes.
TOY_DATASET_ARGS = dict(num_per_class=4, seed=3, workers=1, size=32, min_frames=8, max_frames=12, progress=False)

torch.set_num_threads(1)


@pytest.fixture(scope='session')
def samples_dir() -> str:
    if not os.path.isdir(SAMPLES):
        pytest.skip(f'shared samples not found at {SAMPLES}')
    return SAMPLES


@pytest.fixture(scope='session')
def toy_dataset(tmp_path_factory) -> str:
    """The toy dataset of :data:`TOY_DATASET_ARGS`, built once per test session; tests must not modify it."""
    from data_tools.toy.build_toy_dataset import build_toy_dataset
    root = str(tmp_path_factory.mktemp('toy_dataset') / 'toy')
    build_toy_dataset(root, **TOY_DATASET_ARGS)
    return root


@pytest.fixture(scope='session')
def default_toy_dataset(tmp_path_factory) -> str:
    """tools/quickstart.sh's toy dataset (the builder's defaults: 8 classes x 45 clips, 64x64) as rawframes, what the
    toy configs read, built once per session for the end-to-end runs, which link it as ``data/toy``; tests must not
    modify it. (The H.264 videos would add most of the build time and no test trains on them.)"""
    from data_tools.toy.build_toy_dataset import build_toy_dataset
    root = str(tmp_path_factory.mktemp('default_toy') / 'toy')
    build_toy_dataset(root, formats=('rawframes',), progress=False)
    return root


def link_toy_dataset(root, toy: str) -> None:
    """Make ``toy`` visible as ``<root>/data/toy`` (where the toy configs look, relative to the working folder)."""
    os.makedirs(os.path.join(root, 'data'), exist_ok=True)
    os.symlink(toy, os.path.join(root, 'data', 'toy'))


def pytest_collection_modifyitems(config, items):
    """Tests marked ``cuda`` (tests/test_cuda.py, docs/gpu.md) need a GPU: skipped where torch sees none."""
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason='needs CUDA (a GPU visible to torch)')
    for item in items:
        if item.get_closest_marker('cuda') is not None:
            item.add_marker(skip)
