"""RoIAlign / RoIPool / NMS against direct restatements of their formulas."""
import math

import numpy as np
import pytest
import torch

from mmaction.ops.nms import box_iou, multiclass_nms, nms, nms_indices, singleclass_nms
from mmaction.ops.roi_align import RoIAlign, roi_align, roi_align_reference
from mmaction.ops.roi_pool import RoIPool, roi_pool


def _feat(b=2, c=3, h=7, w=9, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(b, c, h, w, generator=g, dtype=torch.float64)


ROIS = torch.tensor([
    [0, 0.0, 0.0, 15.0, 15.0],      # top-left corner
    [1, 3.2, 5.7, 40.1, 30.3],      # interior
    [0, 100.0, 80.0, 143.0, 111.0],  # extends past the right/bottom border
    [1, -20.0, -10.0, 8.0, 6.0],    # starts outside (negative)
    [0, 30.0, 30.0, 30.0, 30.0],    # degenerate point box
    [1, 50.0, 40.0, 20.0, 10.0],    # inverted (empty) box
], dtype=torch.float64)


@pytest.mark.parametrize('aligned', [False, True])
@pytest.mark.parametrize('sample_num', [2, 0, 1])
def test_roi_align_matches_reference(aligned, sample_num):
    feat = _feat()
    got = roi_align(feat, ROIS, 4, spatial_scale=1 / 16, sample_num=sample_num, aligned=aligned)
    ref = roi_align_reference(feat, ROIS, 4, 1 / 16, sample_num, aligned)
    assert got.shape == (6, 3, 4, 4)
    torch.testing.assert_close(got, ref, rtol=1e-10, atol=1e-10)


def test_roi_align_legacy_hand_computed():
    # 1 channel, value = x coordinate -> bilinear is exact on a linear ramp inside the map.
    h, w = 4, 6
    feat = torch.arange(w, dtype=torch.float64).repeat(h, 1).view(1, 1, h, w)
    # Legacy: box [0, 0, 1, 1] at scale 1 spans [0, 2) -> out 1x1, 2x2 samples at x = 0.5, 1.5 -> mean 1.0.
    got = roi_align(feat, torch.tensor([[0, 0.0, 0.0, 1.0, 1.0]]), 1, 1.0, 2, aligned=False)
    assert got.item() == pytest.approx(1.0)
    # Aligned: same box spans [-0.5, 0.5) -> samples at x = -0.25 (clamped to 0), 0.25 -> mean 0.125.
    got = roi_align(feat, torch.tensor([[0, 0.0, 0.0, 1.0, 1.0]]), 1, 1.0, 2, aligned=True)
    assert got.item() == pytest.approx(0.125)
    # Samples beyond x > w contribute 0: box [6, 0, 9, 1] legacy spans x in [6, 10): samples at 7, 9 -> 0,
    # sample x = 6 + 0.25*4 ... use 2 samples: x = 7.0 and 9.0, both > w=6 -> 0.
    got = roi_align(feat, torch.tensor([[0, 6.0, 0.0, 9.0, 1.0]]), 1, 1.0, 2, aligned=False)
    assert got.item() == 0.0
    # A sample in (w-1, w] is clamped to the last column: box [4.5, 0, 5.5, 0] legacy spans [4.5, 6.5);
    # samples at 5.0 and 6.0 -> 5 and 5 (clamped) -> 5.
    got = roi_align(feat, torch.tensor([[0, 4.5, 0.0, 5.5, 0.0]]), 1, 1.0, 2, aligned=False)
    assert got.item() == pytest.approx(5.0)


def test_roi_align_gradient_and_module():
    feat = _feat(1, 2, 5, 5).float().requires_grad_(True)
    m = RoIAlign(out_size=2, spatial_scale=0.5, sample_num=2)
    out = m(feat, torch.tensor([[0, 1.0, 1.0, 6.0, 7.0]]))
    out.sum().backward()
    # Every bin averages 4 samples whose bilinear weights sum to 1 -> total gradient = 4 bins * 2 channels.
    assert feat.grad.sum().item() == pytest.approx(8.0, rel=1e-5)
    assert 'aligned=False' in repr(m)


def test_roi_align_empty_and_bad_input():
    feat = _feat()
    assert roi_align(feat, torch.zeros(0, 5, dtype=torch.float64), 3).shape == (0, 3, 3, 3)
    with pytest.raises(ValueError, match=r'\(N, 5\)'):
        roi_align(feat, torch.zeros(2, 4), 3)
    with pytest.raises(ValueError, match='batch indices'):
        roi_align(feat, torch.tensor([[5, 0.0, 0.0, 1.0, 1.0]], dtype=torch.float64), 3)


def test_roi_align_torchvision_parity():
    try:
        from torchvision.ops import roi_align as tv
        tv(torch.zeros(1, 1, 2, 2), torch.zeros(1, 5), 1)
    except Exception:
        pytest.skip('torchvision.ops not usable here')
    feat = _feat().float()
    torch.testing.assert_close(roi_align(feat, ROIS.float(), 4, 1 / 16, 2, aligned=True),
                               tv(feat, ROIS.float(), 4, 1 / 16, 2, aligned=True), rtol=1e-4, atol=1e-5)


def _roi_pool_reference(feat, rois, out, scale):
    n = rois.shape[0]
    _, c, h, w = feat.shape
    res = torch.zeros(n, c, out, out, dtype=feat.dtype)
    for k, (bi, x1, y1, x2, y2) in enumerate(rois.tolist()):
        r = [math.floor(v * scale + 0.5) if v >= 0 else -math.floor(-v * scale + 0.5) for v in (x1, y1, x2, y2)]
        rw, rh = max(r[2] - r[0] + 1, 1), max(r[3] - r[1] + 1, 1)
        for ph in range(out):
            hs = min(max(math.floor(ph * rh / out) + r[1], 0), h)
            he = min(max(math.ceil((ph + 1) * rh / out) + r[1], 0), h)
            for pw in range(out):
                ws = min(max(math.floor(pw * rw / out) + r[0], 0), w)
                we = min(max(math.ceil((pw + 1) * rw / out) + r[0], 0), w)
                if he > hs and we > ws:
                    res[k, :, ph, pw] = feat[int(bi), :, hs:he, ws:we].amax((-1, -2))
    return res


def test_roi_pool_matches_reference():
    feat = _feat()
    got = roi_pool(feat, ROIS, 3, 1 / 8, chunk=4)
    torch.testing.assert_close(got, _roi_pool_reference(feat, ROIS, 3, 1 / 8))
    assert RoIPool(3, 1 / 8)(feat, ROIS).shape == (6, 3, 3, 3)
    # Hand case: 1x1 output over the whole map is the global max.
    whole = roi_pool(feat, torch.tensor([[1, 0.0, 0.0, 8.0, 6.0]], dtype=torch.float64), 1)
    torch.testing.assert_close(whole[0, :, 0, 0], feat[1].amax((-1, -2)))


def test_box_iou_and_nms_hand_cases():
    boxes = torch.tensor([[0, 0, 10, 10], [0, 0, 10, 5], [20, 20, 30, 30], [1, 1, 11, 11]], dtype=torch.float64)
    iou = box_iou(boxes, boxes)
    assert iou[0, 1].item() == pytest.approx(0.5)
    assert iou[0, 3].item() == pytest.approx(81 / 119)
    assert box_iou(boxes[:1], boxes[:1], offset=1).item() == 1.0
    assert box_iou(boxes[:1], boxes[1:2], offset=1).item() == pytest.approx(66 / 121)
    scores = torch.tensor([0.9, 0.8, 0.7, 0.95], dtype=torch.float64)
    # Order 3 (0.95), 0 (0.9, IoU .68 with 3), 1, 2.
    assert nms_indices(boxes, scores, 0.6).tolist() == [3, 1, 2]
    assert nms_indices(boxes, scores, 0.3).tolist() == [3, 2]
    assert nms_indices(boxes, scores, 1.0).tolist() == [3, 0, 1, 2]  # iou_thr 1.0 keeps all
    dets = np.concatenate([boxes.numpy(), scores.numpy()[:, None]], 1).astype(np.float32)
    kept, inds = nms(dets, 0.6, offset=0)
    assert inds.tolist() == [3, 1, 2] and isinstance(kept, np.ndarray) and kept.shape == (3, 5)


def test_nms_torchvision_parity():
    try:
        from torchvision.ops import nms as tv_nms
        tv_nms(torch.zeros(1, 4), torch.zeros(1), 0.5)
    except Exception:
        pytest.skip('torchvision.ops not usable here')
    g = torch.Generator().manual_seed(1)
    xy = torch.rand(200, 2, generator=g) * 50
    boxes = torch.cat([xy, xy + torch.rand(200, 2, generator=g) * 30 + 1], 1)
    scores = torch.rand(200, generator=g)
    assert nms_indices(boxes, scores, 0.5).tolist() == tv_nms(boxes, scores, 0.5).tolist()


def test_multiclass_and_singleclass_nms():
    boxes = torch.tensor([[0, 0, 10, 10], [1, 1, 10, 10], [50, 50, 60, 60]], dtype=torch.float32)
    scores = torch.tensor([[0.1, 0.9, 0.2], [0.1, 0.8, 0.7], [0.1, 0.05, 0.6]])
    dets, labels = multiclass_nms(boxes, scores, 0.1, dict(type='nms', iou_thr=0.5), max_num=10)
    # class 0 (col 1): boxes 0 (0.9) and 1 (0.8) overlap -> keep 0; box 2 below thr.
    # class 1 (col 2): boxes 1 (0.7), 2 (0.6), 0 (0.2, overlaps 1) -> keep 1, 2.
    assert labels.tolist() == [0, 1, 1]
    torch.testing.assert_close(dets[:, 4], torch.tensor([0.9, 0.7, 0.6]))
    dets, labels = multiclass_nms(boxes, scores, 0.1, dict(type='nms', iou_thr=0.5), max_num=2)
    assert dets.shape == (2, 5)
    sdets, sscores = singleclass_nms(boxes, scores, 0.0, dict(type='nms', iou_thr=1.0), max_num=2)
    assert sdets.shape == (2, 5) and sscores.shape == (2, 3)
    with pytest.raises(ValueError, match='not supported'):
        multiclass_nms(boxes, scores, 0.1, dict(type='soft_nms'))
