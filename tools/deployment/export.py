"""Export a recognizer to ONNX, TorchScript or a ``torch.export`` program, and check it against eager mode.

    python tools/deployment/export.py CONFIG CHECKPOINT --format onnx|torchscript|export [--out FILE]
        [--shape B M C H W | B M C T H W] [--tolerance 1e-4] [--opset 17] [--device cpu]

The exported graph takes one tensor ``img_group_0`` laid out like a test batch of the config
(``(B, M, C, H, W)`` for 2D models with ``M = crops x segments x new_length``; ``(B, M', C, T, H, W)`` for 3D
models incl. SlowFast, whose two pathways are split inside the backbone) and returns ``cls_score``
``(B, num_classes)``: the same numbers as ``model(return_loss=False, ...)`` (logits, or probabilities with
``fcn_testing``). After exporting, the file is loaded back and run on a random input; the script exits with
status 1 if the largest absolute difference to eager mode exceeds ``--tolerance``.
"""
from __future__ import annotations

import argparse
import os
import sys
import warnings
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # torch is imported after argument parsing (fast --help)
    import numpy as np
    import torch
    import torch.nn as nn

FORMATS = {'onnx': '.onnx', 'torchscript': '.pt', 'export': '.pt2'}


def _identity(x: torch.Tensor) -> torch.Tensor:
    return x


def _export_wrapper_class() -> type:
    import torch.nn as nn

    class ExportWrapper(nn.Module):
        """``img_group_0`` tensor in, ``cls_score`` tensor out, through the recognizer's own test path.

        Recognizers end ``forward_test`` with ``self.to_numpy(scores)``; an instance attribute overriding it with
        the identity keeps the result a tensor, so the exported graph is exactly the test path (no copy of it here).
        """

        def __init__(self, model: nn.Module):
            super().__init__()
            self.model = model
            self.model.to_numpy = _identity

        def forward(self, img_group_0: torch.Tensor) -> torch.Tensor:
            return self.model(num_modalities=None, img_meta=None, return_loss=False, img_group_0=img_group_0)

    return ExportWrapper


def __getattr__(name: str) -> Any:
    # ExportWrapper subclasses nn.Module: the class is made on first use, so that --help does not import torch
    if name == 'ExportWrapper':
        globals()[name] = _export_wrapper_class()
        return globals()[name]
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')


def input_shape_from_config(cfg: Any, batch: int = 1) -> tuple[int, ...]:
    """The test batch shape implied by ``data.test`` (original flag form)."""
    test = cfg.data.test
    crops = {None: 1, 'three_crop': 3, 'ten_crop': 10}.get(test.get('oversample'))
    if crops is None:
        raise ValueError(f"data.test.oversample={test.get('oversample')!r}: pass --shape")
    size = test.get('input_size', 224)
    h, w = (size, size) if isinstance(size, int) else (size[1], size[0])
    if test.get('pipeline') is not None or size is None:
        raise ValueError('the input shape cannot be read from a pipeline-style data.test; pass --shape')
    modality = test.get('modality', 'RGB')
    modality = modality[0] if isinstance(modality, (list, tuple)) else modality
    channels = 2 if modality == 'Flow' else 3
    segments, length = test.get('num_segments', 3), test.get('new_length', 1)
    if test.get('input_format', 'NCHW') == 'NCTHW':
        return (batch, crops * segments, channels, length, h, w)
    return (batch, crops * segments * length, channels, h, w)


def export_model(wrapper: nn.Module, example: torch.Tensor, fmt: str, out: str, opset: int = 17) -> str:
    import torch

    """Write ``wrapper`` traced on ``example`` to ``out`` (atomically) in ``fmt``; returns ``out``."""
    from mmaction.utils.io import atomic_path
    if fmt not in FORMATS:
        raise ValueError(f'unknown format {fmt!r}; use one of {sorted(FORMATS)}')
    with atomic_path(out, suffix=os.path.splitext(out)[1]) as tmp, torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter('ignore')  # tracer/deprecation chatter; the parity check below is the real test
        if fmt == 'onnx':
            # The TorchScript-based exporter: the dynamo one needs onnxscript, an extra dependency.
            torch.onnx.export(wrapper, (example,), tmp, dynamo=False, opset_version=opset,
                              input_names=['img_group_0'], output_names=['cls_score'],
                              dynamic_axes={'img_group_0': {0: 'batch'}, 'cls_score': {0: 'batch'}})
        elif fmt == 'torchscript':
            torch.jit.save(torch.jit.trace(wrapper, (example,), check_trace=False), tmp)
        else:
            torch.export.save(torch.export.export(wrapper, (example,)), tmp)
    return out


def run_exported(fmt: str, path: str, x: torch.Tensor) -> np.ndarray:
    import torch

    """Load an exported file and run it on ``x`` (ONNX with onnxruntime on CPU)."""
    if fmt == 'onnx':
        import onnxruntime as ort
        session = ort.InferenceSession(path, providers=['CPUExecutionProvider'])
        return session.run(['cls_score'], {'img_group_0': x.cpu().numpy()})[0]
    with torch.no_grad():
        if fmt == 'torchscript':
            return torch.jit.load(path, map_location=x.device)(x).cpu().numpy()
        return torch.export.load(path).module()(x).cpu().numpy()


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Export a recognizer and check parity with eager mode')
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('--format', choices=sorted(FORMATS), default='onnx')
    parser.add_argument('--out', default=None, help='output file (default: checkpoint name + format suffix)')
    parser.add_argument('--shape', type=int, nargs='+', default=None,
                        help='input shape B M C H W (2D) or B M C T H W (3D); default from data.test')
    parser.add_argument('--tolerance', type=float, default=1e-4, help='max abs difference allowed vs eager')
    parser.add_argument('--opset', type=int, default=17)
    parser.add_argument('--device', default='cpu', help='device the model is traced on')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--trust-checkpoint', action='store_true')
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    import numpy as np
    import torch

    from mmaction.apis.inference import init_recognizer
    model = init_recognizer(args.config, args.checkpoint, device=args.device, trust_checkpoint=args.trust_checkpoint)
    shape = tuple(args.shape) if args.shape else input_shape_from_config(model.cfg)
    if len(shape) not in (5, 6):
        raise ValueError(f'--shape must have 5 (B M C H W) or 6 (B M C T H W) numbers, got {shape}')
    out = args.out or os.path.splitext(args.checkpoint)[0] + FORMATS[args.format]
    generator = torch.Generator().manual_seed(args.seed)
    example = torch.randn(shape, generator=generator).to(args.device)
    wrapper = _export_wrapper_class()(model).eval()
    with torch.no_grad():
        eager = wrapper(example).float().cpu().numpy()
    export_model(wrapper, example, args.format, out, args.opset)
    exported = run_exported(args.format, out, example)
    diff = float(np.max(np.abs(exported - eager)))
    ok = exported.shape == eager.shape and diff <= args.tolerance
    print(f'exported {type(model).__name__} to {out} ({args.format}, input {list(shape)}, '
          f'output {list(eager.shape)}, {os.path.getsize(out) / 1e6:.2f} MB)')
    print(f'max abs difference vs eager: {diff:.3e} ({"OK" if ok else "FAILED"}, tolerance {args.tolerance:g})')
    if not ok:
        sys.exit(1)
    return dict(out=out, max_abs_diff=diff, shape=shape, output_shape=eager.shape)


if __name__ == '__main__':
    from mmaction.apis.cli import run_tool
    run_tool(main)
