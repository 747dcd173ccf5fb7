"""Write mmaction2 reference outputs for a case module; run it with the PEER venv's python, from outside the repo.

    cd /tmp && /tmp/mma2/bin/python /path/to/repo/tests/mmaction2_ref/make_refs.py cases_2d [case_name ...]

A case module (``tests/mmaction2_ref/cases_*.py``) defines ``CASES``: a list of dicts with
``name``, ``cfg`` (an mmaction2 ``model`` dict, unchanged from mmaction2's configs where there is one),
``inputs`` (a tuple of shapes, one per positional input), optionally ``dtype`` ('float64' for deep real-size
models, where float32 rounding alone reaches 1e-4), and ``run(model, *inputs)`` (what to call; torch only, the
same code runs on both sides; ``run=None``: keys, shapes and the parameter count only). Each case gives
``refs/<module>/<name>.npz``: the state-dict key order, shapes, the parameter count and every output tensor, for
``compare.py`` to check our build against.
"""
from __future__ import annotations

import importlib
import json
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))


def build_peer(cfg: dict) -> torch.nn.Module:
    from mmaction.registry import MODELS
    from mmaction.utils import register_all_modules
    register_all_modules()
    return MODELS.build(cfg)


def main() -> None:
    module_name, only = sys.argv[1], set(sys.argv[2:])
    cases = importlib.import_module(module_name).CASES
    from weights import deterministic_input, fill_deterministic, flatten_outputs
    out_dir = os.path.join(HERE, 'refs', module_name)
    os.makedirs(out_dir, exist_ok=True)
    torch.set_num_threads(1)
    for case in cases:
        if only and case['name'] not in only:
            continue
        model = build_peer(case['cfg'])
        fill_deterministic(model)
        model.eval()
        dtype = getattr(torch, case.get('dtype', 'float32'))
        model.to(dtype)
        state = model.state_dict()
        # Counted before running: some mmaction2 modules add parameters lazily in forward (TPNHead's fcn_test conv).
        num_params = sum(p.numel() for p in model.parameters())
        inputs = [deterministic_input(tuple(shape), f'input{i}').to(dtype) for i, shape in enumerate(case['inputs'])]
        with torch.no_grad():
            outputs = flatten_outputs(case['run'](model, *inputs)) if case.get('run') else []
        arrays = {f'out_{i}': t.detach().numpy() for i, t in enumerate(outputs)}
        np.savez_compressed(
            os.path.join(out_dir, case['name'] + '.npz'),
            keys=np.array(list(state)), shapes=np.array(json.dumps([list(t.shape) for t in state.values()])),
            num_params=np.array(num_params), **arrays)
        print(f"{case['name']}: {len(state)} keys, {num_params} params, "
              f"outputs {[tuple(t.shape) for t in outputs]}")


if __name__ == '__main__':
    sys.path.insert(0, HERE)  # the peer venv runs this file by path; its case modules sit beside it
    main()
