"""mmaction2 1.x 3D backbones against the mmaction2 1.2.0 peer (keys, shapes, parameter counts, outputs)."""
import json
import os

import numpy as np
import pytest
import torch

from mmaction.models import mmaction2  # noqa: F401  (registration)
from mmaction.registry import MODELS

from mmaction2_ref import cases_3d
from mmaction2_ref.compare import check_case


def _build(cfg):
    return MODELS.build(dict(cfg))


@pytest.mark.parametrize('case', [pytest.param(c, id=c['name'], marks=[pytest.mark.slow] if c.get('slow') else [])
                                  for c in cases_3d.CASES])
def test_matches_mmaction2(case):
    torch.set_num_threads(1)
    check_case('cases_3d', case, _build)


def test_c3d_keys_and_counts_match_mmaction2():
    """The fast half of the slow ``c3d_sports1m`` case: key order, shapes and parameter count, no forward."""
    case = next(c for c in cases_3d.CASES if c['name'] == 'c3d_sports1m')
    ref = np.load(os.path.join(os.path.dirname(cases_3d.__file__), 'refs', 'cases_3d', 'c3d_sports1m.npz'))
    state = _build(case['cfg']).state_dict()
    assert list(state) == list(ref['keys'])
    assert [list(t.shape) for t in state.values()] == json.loads(str(ref['shapes']))
    assert sum(t.numel() for t in state.values()) == int(ref['num_params']) == 77995776
