"""RoIPool (max pooling over quantised bins) in pure PyTorch, vectorised over boxes.

Convention of the classic Fast R-CNN / Caffe kernel (also torchvision's ``roi_pool``): box corners are
rounded to feature cells, ``roi_size = max(round(x2 * s) - round(x1 * s) + 1, 1)``, bin ``p`` covers cells
``[floor(p * bin) + start, ceil((p + 1) * bin) + start)`` clipped to the map, and an empty bin gives 0.
"""
from __future__ import annotations

import torch
import torch.nn as nn


def _bin_masks(start: torch.Tensor, end: torch.Tensor, out_size: int, size: int) -> torch.Tensor:
    """``(N, P, L)`` boolean masks of the cells each bin covers along one axis."""
    roi_len = (end - start + 1).clamp(min=1).to(torch.float64)
    bin_len = roi_len / out_size
    p = torch.arange(out_size, device=start.device, dtype=torch.float64).view(1, -1)
    lo = (torch.floor(p * bin_len.view(-1, 1)) + start.view(-1, 1)).clamp(0, size)
    hi = (torch.ceil((p + 1) * bin_len.view(-1, 1)) + start.view(-1, 1)).clamp(0, size)
    cells = torch.arange(size, device=start.device, dtype=torch.float64).view(1, 1, -1)
    return (cells >= lo.unsqueeze(-1)) & (cells < hi.unsqueeze(-1))


def roi_pool(features: torch.Tensor, rois: torch.Tensor, out_size: int | tuple[int, int],
             spatial_scale: float = 1.0, chunk: int = 64) -> torch.Tensor:
    """Max-pool each RoI into ``out_size`` bins.

    Args:
        features: ``(B, C, H, W)``; rois: ``(N, 5)`` ``[batch_index, x1, y1, x2, y2]`` in pixels.
        chunk: RoIs processed together (bounds the ``(n, C, H, W)`` masked temporary).

    Returns:
        ``(N, C, out_h, out_w)``.
    """
    if features.dim() != 4 or rois.dim() != 2 or rois.shape[1] != 5:
        raise ValueError(f'roi_pool: expected features (B, C, H, W) and rois (N, 5), got '
                         f'{tuple(features.shape)} and {tuple(rois.shape)}')
    out_h, out_w = (out_size, out_size) if isinstance(out_size, int) else tuple(out_size)
    n = rois.shape[0]
    _, c, h, w = features.shape
    out = features.new_zeros(n, c, out_h, out_w)
    if n == 0:
        return out
    r = rois.to(torch.float64)
    # torch.round is half-to-even; the C kernels use round-half-away-from-zero.
    rnd = lambda v: torch.sign(v) * torch.floor(v.abs() * 1.0 + 0.5)  # noqa: E731
    x1, y1, x2, y2 = (rnd(r[:, k] * spatial_scale) for k in range(1, 5))
    my = _bin_masks(y1, y2, out_h, h)  # (N, out_h, H)
    mx = _bin_masks(x1, x2, out_w, w)  # (N, out_w, W)
    batch_idx = rois[:, 0].long()
    neg_inf = torch.finfo(features.dtype).min
    for s in range(0, n, chunk):
        idx = slice(s, min(s + chunk, n))
        feat = features[batch_idx[idx]]  # (n, C, H, W)
        # Max over W per column bin, then over H per row bin; the two masks are separable.
        mask_x = mx[idx].view(-1, 1, 1, out_w, w)
        col = torch.where(mask_x, feat.unsqueeze(3), feat.new_tensor(neg_inf)).amax(-1)  # (n, C, H, out_w)
        mask_y = my[idx].view(-1, 1, out_h, h, 1)
        pooled = torch.where(mask_y, col.unsqueeze(2), col.new_tensor(neg_inf)).amax(3)  # (n, C, out_h, out_w)
        empty = ~(my[idx].any(-1).view(-1, 1, out_h, 1) & mx[idx].any(-1).view(-1, 1, 1, out_w))
        out[idx] = pooled.masked_fill(empty, 0.0)
    return out


class RoIPool(nn.Module):
    """``RoIPool(out_size, spatial_scale)`` as in the original ops package."""

    def __init__(self, out_size: int | tuple[int, int], spatial_scale: float = 1.0):
        super().__init__()
        self.out_size = (out_size, out_size) if isinstance(out_size, int) else tuple(out_size)
        self.spatial_scale = float(spatial_scale)

    def forward(self, features: torch.Tensor, rois: torch.Tensor) -> torch.Tensor:
        return roi_pool(features, rois, self.out_size, self.spatial_scale)

    def extra_repr(self) -> str:
        return f'out_size={self.out_size}, spatial_scale={self.spatial_scale}'
