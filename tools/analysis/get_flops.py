"""Parameters and FLOPs of a recognizer's backbone + head for one view (clip), counted by ``torch.utils.flop_counter``.

    python tools/analysis/get_flops.py CONFIG [--shape T H W] [--modality-channels C] [--device meta|cpu]

Default shape: ``new_length`` frames of ``input_size`` pixels from ``data.test`` (one crop of one clip). The model
is built on the ``meta`` device by default, so counting costs no memory or compute. FLOPs are multiply-adds x 2
as ``FlopCounterMode`` reports them; the table in ``modelzoo/README.md`` lists GFLOPs = that number / 1e9.
"""
from __future__ import annotations

import argparse


def count(cfg, shape: tuple[int, ...] | None = None, device: str = 'meta') -> dict:
    """Return ``dict(params, flops, shape)`` for one view of ``cfg``'s model (pretrained weights are not loaded)."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from mmaction.models import build_recognizer
    from mmaction.models.builder import is_mmaction2_model, without_pretrained

    from mmaction.apis.test import apply_three_crop_override
    cfg = cfg.copy()
    if shape is None:  # default = the test view; 256-pixel three-crop views: a fixed 7x7 pool becomes 8x8
        apply_three_crop_override(cfg)
    model_cfg = without_pretrained(cfg.model.copy())
    mmaction2 = is_mmaction2_model(model_cfg)
    try:
        with torch.device(device):
            model = build_recognizer(model_cfg).eval()
    except (NotImplementedError, RuntimeError):
        # some constructors read values off tensors (drop-path rates via .tolist()), which the meta device has not
        device = 'cpu'
        model = build_recognizer(model_cfg).eval()
    params = sum(p.numel() for p in model.parameters())
    if shape is None:
        test = cfg.data.test
        size = test.get('input_size') or 224
        channels = 2 if test.get('modality') == 'Flow' else 3
        shape = (channels, test.get('new_length', 1), size, size)
    clip = torch.zeros((1, 1) + tuple(shape), device=device)
    counter = FlopCounterMode(display=False)
    if mmaction2:
        # one view through backbone (+ neck) and head; 2D recognizers take the frames as segments. Not under
        # no_grad: some attention paths need the autograd state that FlopCounterMode's formulas look at.
        views = clip if type(model).__name__ != 'Recognizer2D' else clip[:, 0].transpose(1, 2)
        with counter:
            model.extract_feat(views, stage='head')
    else:
        with counter, torch.no_grad():
            # the parts, not model(...): the test path ends in a numpy conversion a meta tensor cannot do
            frames = clip[0]
            if getattr(model, 'input_ndim', 6) == 5:  # 2D recognizers: (N, C * new_length, H, W) snippets
                frames = frames.flatten(1, 2)
            x = model.spatial_temporal_module(model.backbone(frames))
            model.cls_head(x)
    return dict(params=params, flops=counter.get_total_flops(), shape=tuple(shape))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description='Parameters and FLOPs of a recognizer (one view)')
    parser.add_argument('config')
    parser.add_argument('--shape', type=int, nargs=3, metavar=('T', 'H', 'W'), help='clip size (default from data.test)')
    parser.add_argument('--channels', type=int, default=None, help='input channels (default 3, Flow 2)')
    parser.add_argument('--device', default='meta', help="'meta' (no compute) or a real device")
    args = parser.parse_args(argv)
    from mmaction.utils.config import load_config
    cfg = load_config(args.config)
    shape = None
    if args.shape:
        channels = args.channels or (2 if cfg.data.test.get('modality') == 'Flow' else 3)
        shape = (channels,) + tuple(args.shape)
    res = count(cfg, shape, args.device)
    print(f"Input shape: {res['shape']} (C, T, H, W), one view")
    print(f"Params: {res['params'] / 1e6:.2f} M")
    print(f"FLOPs: {res['flops'] / 1e9:.2f} GFLOPs")


if __name__ == '__main__':
    from mmaction.apis.cli import run_tool
    run_tool(main)
