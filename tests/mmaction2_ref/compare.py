"""Check one of our mmaction2-compatible models against a reference written by ``make_refs.py`` in the peer venv."""
from __future__ import annotations

import json
import os

import numpy as np
import torch

from .weights import deterministic_input, fill_deterministic, flatten_outputs

HERE = os.path.dirname(os.path.abspath(__file__))


def max_relative_diff(ours: torch.Tensor, ref: np.ndarray) -> float:
    """max|ours - ref| / max|ref| (the issue's acceptance measure)."""
    ref_t = torch.from_numpy(ref).to(ours.dtype)
    return float((ours - ref_t).abs().max() / ref_t.abs().max().clamp_min(1e-12))


def check_case(module_name: str, case: dict, build, tol: float = 1e-4) -> float:
    """Build ``case['cfg']`` with ``build``; assert the key order, shapes and parameter count equal mmaction2's and
    every output within ``tol`` (relative to the reference's max). Returns the largest relative difference."""
    ref = np.load(os.path.join(HERE, 'refs', module_name, case['name'] + '.npz'))
    model = build(case['cfg'])
    state = model.state_dict()
    assert list(state) == list(ref['keys']), (
        f"{case['name']}: key mismatch; missing {sorted(set(ref['keys']) - set(state))[:10]}, "
        f"unexpected {sorted(set(state) - set(ref['keys']))[:10]}")
    assert [list(t.shape) for t in state.values()] == json.loads(str(ref['shapes']))
    assert sum(p.numel() for p in model.parameters()) == int(ref['num_params'])
    if not case.get('run'):
        return 0.0
    fill_deterministic(model)
    model.eval()
    dtype = getattr(torch, case.get('dtype', 'float32'))
    model.to(dtype)
    inputs = [deterministic_input(tuple(shape), f'input{i}').to(dtype) for i, shape in enumerate(case['inputs'])]
    with torch.no_grad():
        outputs = flatten_outputs(case['run'](model, *inputs))
    n_ref = len([k for k in ref.files if k.startswith('out_')])
    assert len(outputs) == n_ref, f"{case['name']}: {len(outputs)} outputs, mmaction2 gives {n_ref}"
    worst = 0.0
    for i, tensor in enumerate(outputs):
        expected = ref[f'out_{i}']
        assert tuple(tensor.shape) == expected.shape, f"{case['name']} output {i}: {tuple(tensor.shape)} vs {expected.shape}"
        diff = max_relative_diff(tensor, expected)
        assert diff < tol, f"{case['name']} output {i}: max relative diff {diff:.3g} >= {tol}"
        worst = max(worst, diff)
    return worst
