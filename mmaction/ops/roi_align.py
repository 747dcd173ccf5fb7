"""RoIAlign in pure PyTorch, vectorised over boxes (no compiled extension).

Two sampling conventions:

* ``aligned=False`` (default) — the original MMAction / mmdet-v1 CUDA kernel that the released AVA
  checkpoint was trained with: box end is ``(x2 + 1) * spatial_scale`` (and ``y2``), the RoI size is
  ``max(end - start, 0)`` (no minimum of 1), every bin averages ``sample_num`` x ``sample_num`` points at
  ``start + (p + (i + 0.5) / sample_num) * bin_size`` (adaptive ``ceil(roi_size / out_size)`` points when
  ``sample_num <= 0``). This is *not* torchvision's ``aligned=False`` (no ``+1``, minimum size 1).
* ``aligned=True`` — the modern convention (Detectron2 / mmcv / torchvision ``aligned=True``): box
  corners are shifted by ``-0.5`` pixel after scaling and there is no ``+1``.

Both share the bilinear kernel: a sample outside ``[-1, size]`` contributes 0; otherwise coordinates are
clamped to ``[0, size - 1]``.

Bilinear interpolation on a Cartesian sample grid is separable, so each RoI's output is
``Wy @ F @ Wx^T`` with ``Wy (out_h, H)`` and ``Wx (out_w, W)`` interpolation matrices (the per-bin average
over samples folded in): two small matrix products per box instead of a loop over sample points.
"""
from __future__ import annotations

import math

import torch
import torch.nn as nn


def _interp_matrix(start: torch.Tensor, bin_size: torch.Tensor, grid: torch.Tensor, max_grid: int,
                   out_size: int, size: int) -> torch.Tensor:
    """Per-RoI 1-D interpolation weights.

    Args:
        start, bin_size: ``(N,)`` RoI start and bin size on the feature map (one axis).
        grid: ``(N,)`` number of samples per bin along this axis (may be 0: the bin is empty).
        max_grid: ``grid.max()`` (the padded sample count).
        out_size: number of output bins ``P``; size: feature-map length ``L``.

    Returns:
        ``(N, P, L)`` weights; row ``p`` averages the ``grid`` samples of bin ``p`` (divided by ``grid``).
    """
    n = start.shape[0]
    dev, dt = start.device, start.dtype
    p = torch.arange(out_size, device=dev, dtype=dt).view(1, out_size, 1)
    i = torch.arange(max_grid, device=dev, dtype=dt).view(1, 1, max_grid)
    g = grid.to(dt).clamp(min=1).view(n, 1, 1)
    coord = start.view(n, 1, 1) + p * bin_size.view(n, 1, 1) + (i + 0.5) * bin_size.view(n, 1, 1) / g
    valid = (i < grid.view(n, 1, 1).to(dt)) & (coord >= -1.0) & (coord <= size)
    c = coord.clamp(min=0.0)
    low = c.floor().clamp(max=size - 1)
    at_end = low >= size - 1
    # At the last row/column the kernel collapses both neighbours onto it (weight 1).
    c = torch.where(at_end, low, c)
    frac = c - low
    low_i = low.long()
    high_i = torch.where(at_end, low_i, low_i + 1)
    w_low = (1.0 - frac) * valid
    w_high = frac * valid
    weights = torch.zeros(n, out_size, max_grid, size, device=dev, dtype=dt)
    weights.scatter_add_(3, low_i.unsqueeze(-1), w_low.unsqueeze(-1))
    weights.scatter_add_(3, high_i.unsqueeze(-1), w_high.unsqueeze(-1))
    return weights.sum(2) / g


def roi_align(features: torch.Tensor, rois: torch.Tensor, out_size: int | tuple[int, int],
              spatial_scale: float = 1.0, sample_num: int = 0, aligned: bool = False) -> torch.Tensor:
    """RoIAlign of ``rois`` on ``features``.

    Args:
        features: ``(B, C, H, W)`` feature maps.
        rois: ``(N, 5)`` rows ``[batch_index, x1, y1, x2, y2]`` in input-image pixels.
        out_size: output ``(out_h, out_w)`` (an int means square).
        spatial_scale: feature stride reciprocal (1/16 for a stride-16 map).
        sample_num: samples per bin and axis; ``<= 0`` means adaptive ``ceil(roi_size / out_size)``.
        aligned: ``False`` = legacy mmdet-v1 kernel, ``True`` = half-pixel aligned (see module doc).

    Returns:
        ``(N, C, out_h, out_w)`` pooled features (differentiable w.r.t. ``features``).
    """
    if features.dim() != 4:
        raise ValueError(f'roi_align: features must be (B, C, H, W), got shape {tuple(features.shape)}')
    if rois.dim() != 2 or rois.shape[1] != 5:
        raise ValueError(f'roi_align: rois must be (N, 5) [batch_idx, x1, y1, x2, y2], got {tuple(rois.shape)}')
    out_h, out_w = (out_size, out_size) if isinstance(out_size, int) else tuple(out_size)
    num_rois = rois.shape[0]
    b, c, h, w = features.shape
    if num_rois == 0:
        return features.new_zeros(num_rois, c, out_h, out_w)
    r = rois.to(features.dtype)
    x1, y1, x2, y2 = (r[:, k] * spatial_scale for k in range(1, 5))
    if aligned:
        x1, y1, x2, y2 = x1 - 0.5, y1 - 0.5, x2 - 0.5, y2 - 0.5
        roi_w, roi_h = x2 - x1, y2 - y1
    else:
        # mmdet-v1 kernel: end = (x2 + 1) * scale, no minimum RoI size (released AVA weights depend on it).
        x2 = (r[:, 3] + 1) * spatial_scale
        y2 = (r[:, 4] + 1) * spatial_scale
        roi_w, roi_h = (x2 - x1).clamp(min=0), (y2 - y1).clamp(min=0)
    bin_h, bin_w = roi_h / out_h, roi_w / out_w
    if sample_num > 0:
        grid_h = torch.full((num_rois,), sample_num, dtype=torch.long, device=features.device)
        grid_w = grid_h
    else:
        grid_h = torch.ceil(roi_h / out_h).clamp(min=0).long()
        grid_w = torch.ceil(roi_w / out_w).clamp(min=0).long()
        if not aligned:
            # The legacy kernel would divide 0 by 0 for an empty RoI; one sample keeps it finite.
            grid_h, grid_w = grid_h.clamp(min=1), grid_w.clamp(min=1)
    max_gh = max(int(grid_h.max()), 1)
    max_gw = max(int(grid_w.max()), 1)
    wy = _interp_matrix(y1, bin_h, grid_h, max_gh, out_h, h)  # (N, out_h, H)
    wx = _interp_matrix(x1, bin_w, grid_w, max_gw, out_w, w)  # (N, out_w, W)
    batch_idx = rois[:, 0].long()
    if int(batch_idx.min()) < 0 or int(batch_idx.max()) >= b:
        raise ValueError(f'roi_align: batch indices must lie in [0, {b}), got range '
                         f'[{int(batch_idx.min())}, {int(batch_idx.max())}]')
    out = features.new_empty(num_rois, c, out_h, out_w)  # every row is written below
    # Per box, two GEMMs on an (H, C, W) copy of the feature maps: x first, then y. Each intermediate is one
    # box's (H*C, out_w) block, which stays in cache; batching all boxes of an image instead wrote, permuted
    # and re-read N*C*H*out_w floats through memory several times (about 4x slower at AVA sizes, see
    # tools/analysis/benchmark_roi_align.py).
    feat_hcw = features.permute(0, 2, 1, 3).reshape(b, h * c, w)
    wx_t = wx.transpose(1, 2)  # (N, W, out_w)
    for n, img in enumerate(batch_idx.tolist()):
        tmp = feat_hcw[img] @ wx_t[n]  # (H*C, out_w)
        res = wy[n] @ tmp.view(h, c * out_w)  # (out_h, C*out_w)
        out[n] = res.view(out_h, c, out_w).transpose(0, 1)
    return out


def _torchvision_roi_align():
    try:
        from torchvision.ops import roi_align as tv_roi_align  # noqa: WPS433 (optional dependency)
        return tv_roi_align
    except Exception:  # torchvision missing or its wheel does not import on this torch
        return None


class RoIAlign(nn.Module):
    """``RoIAlign(out_size, spatial_scale, sample_num, aligned)`` with the original constructor keys.

    ``use_torchvision=True`` runs torchvision's kernel on CUDA tensors in the aligned mode only (the
    legacy mode has no torchvision equivalent); CPU always uses the pure-PyTorch path.
    """

    def __init__(self, out_size: int | tuple[int, int], spatial_scale: float = 1.0, sample_num: int = 0,
                 aligned: bool = False, use_torchvision: bool = False):
        super().__init__()
        self.out_size = (out_size, out_size) if isinstance(out_size, int) else tuple(out_size)
        self.spatial_scale = float(spatial_scale)
        self.sample_num = int(sample_num)
        self.aligned = aligned
        self.use_torchvision = use_torchvision

    def forward(self, features: torch.Tensor, rois: torch.Tensor) -> torch.Tensor:
        if self.use_torchvision and self.aligned and features.is_cuda:
            tv = _torchvision_roi_align()
            if tv is not None:
                return tv(features, rois.to(features.dtype), self.out_size, self.spatial_scale,
                          self.sample_num, aligned=True)
        return roi_align(features, rois, self.out_size, self.spatial_scale, self.sample_num, self.aligned)

    def extra_repr(self) -> str:
        return (f'out_size={self.out_size}, spatial_scale={self.spatial_scale}, sample_num={self.sample_num}, '
                f'aligned={self.aligned}')


def roi_align_reference(features: torch.Tensor, rois: torch.Tensor, out_size: int, spatial_scale: float,
                        sample_num: int, aligned: bool) -> torch.Tensor:
    """Direct, loop-based restatement of the kernels (for tests and benchmarks only; slow)."""
    b, c, h, w = features.shape
    out = torch.zeros(rois.shape[0], c, out_size, out_size, dtype=torch.float64)
    feat = features.double()

    def bilinear(fm, y, x):
        if y < -1.0 or y > h or x < -1.0 or x > w:
            return torch.zeros(c, dtype=torch.float64)
        y, x = max(y, 0.0), max(x, 0.0)
        yl, xl = int(y), int(x)
        if yl >= h - 1:
            yl = yh = h - 1
            y = float(yl)
        else:
            yh = yl + 1
        if xl >= w - 1:
            xl = xh = w - 1
            x = float(xl)
        else:
            xh = xl + 1
        ly, lx = y - yl, x - xl
        return ((1 - ly) * (1 - lx) * fm[:, yl, xl] + (1 - ly) * lx * fm[:, yl, xh] +
                ly * (1 - lx) * fm[:, yh, xl] + ly * lx * fm[:, yh, xh])

    for n, roi in enumerate(rois.double().tolist()):
        bi, rx1, ry1, rx2, ry2 = roi
        fm = feat[int(bi)]
        if aligned:
            sx, sy = rx1 * spatial_scale - 0.5, ry1 * spatial_scale - 0.5
            rw, rh = rx2 * spatial_scale - 0.5 - sx, ry2 * spatial_scale - 0.5 - sy
        else:
            sx, sy = rx1 * spatial_scale, ry1 * spatial_scale
            rw = max((rx2 + 1) * spatial_scale - sx, 0.0)
            rh = max((ry2 + 1) * spatial_scale - sy, 0.0)
        bh, bw = rh / out_size, rw / out_size
        gh = sample_num if sample_num > 0 else max(math.ceil(rh / out_size), 0 if aligned else 1)
        gw = sample_num if sample_num > 0 else max(math.ceil(rw / out_size), 0 if aligned else 1)
        for ph in range(out_size):
            for pw in range(out_size):
                acc = torch.zeros(c, dtype=torch.float64)
                for iy in range(gh):
                    yy = sy + ph * bh + (iy + 0.5) * bh / gh
                    for ix in range(gw):
                        xx = sx + pw * bw + (ix + 0.5) * bw / gw
                        acc += bilinear(fm, yy, xx)
                out[n, :, ph, pw] = acc / max(gh * gw, 1)
    return out.to(features.dtype)
