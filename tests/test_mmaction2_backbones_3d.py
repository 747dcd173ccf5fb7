"""mmaction2 1.x 3D backbones against the mmaction2 1.2.0 peer (keys, shapes, parameter counts, outputs)."""
import pytest
import torch

from mmaction.models import mmaction2  # noqa: F401  (registration)
from mmaction.registry import MODELS

from mmaction2_ref import cases_3d
from mmaction2_ref.compare import check_case


def _build(cfg):
    return MODELS.build(dict(cfg))


@pytest.mark.parametrize('case', cases_3d.CASES, ids=[c['name'] for c in cases_3d.CASES])
def test_matches_mmaction2(case):
    torch.set_num_threads(1)
    check_case('cases_3d', case, _build)
