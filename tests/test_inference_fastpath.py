"""Inference fast path: BatchNorm folding (exact up to rounding, only direct conv->BN pairs), channels-last,
precision policy, bf16 agreement."""
import copy

import pytest
import torch
import torch.nn as nn

from mmaction.models.inference_fastpath import (FastPath, fold_batchnorm, prepare_inference, resolve_precision,
                                                to_channels_last)


class Net(nn.Module):
    """conv->bn (foldable), conv whose output also feeds a residual add before its BN (not foldable), bn->conv."""

    def __init__(self):
        super().__init__()
        self.conv1, self.bn1 = nn.Conv3d(3, 4, 3, padding=1), nn.BatchNorm3d(4)
        self.conv2, self.bn2 = nn.Conv3d(4, 4, 3, padding=1, bias=False), nn.BatchNorm3d(4)
        self.bn3, self.conv3 = nn.BatchNorm3d(4), nn.Conv3d(4, 2, 1)

    def forward(self, x):
        x = torch.relu(self.bn1(self.conv1(x)))
        y = self.conv2(x)
        x = self.bn2(y) + y  # y is read twice: folding bn2 into conv2 would change the second read
        return self.conv3(self.bn3(x))


def _randomise_bn(model):
    torch.manual_seed(0)
    for m in model.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            m.running_mean.uniform_(-1, 1)
            m.running_var.uniform_(0.5, 2)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.5, 0.5)
    return model.eval()


def test_fold_batchnorm_folds_only_direct_pairs_and_keeps_outputs():
    model = _randomise_bn(Net())
    x = torch.randn(2, 3, 4, 8, 8)
    folded, count = fold_batchnorm(model, dict(x=x))
    assert count == 1 and isinstance(folded.bn1, nn.Identity)
    assert isinstance(folded.bn2, nn.BatchNorm3d) and isinstance(folded.bn3, nn.BatchNorm3d)
    assert isinstance(model.bn1, nn.BatchNorm3d)  # the original is untouched
    torch.testing.assert_close(folded(x), model(x), rtol=1e-5, atol=1e-6)
    # the formula: w' = w * g / sqrt(v + eps), b' = (b - m) * g / sqrt(v + eps) + beta
    scale = model.bn1.weight / torch.sqrt(model.bn1.running_var + model.bn1.eps)
    torch.testing.assert_close(folded.conv1.weight, model.conv1.weight * scale.reshape(-1, 1, 1, 1, 1))
    torch.testing.assert_close(folded.conv1.bias, (model.conv1.bias - model.bn1.running_mean) * scale
                               + model.bn1.bias)


def test_fold_every_bn_of_a_toy_recognizer_with_the_same_scores():
    from mmaction.models import build_recognizer
    from mmaction.utils.config import load_config
    cfg = load_config('configs/I3D_RGB/toy/i3d_r18_toy_8x3.py')
    model = _randomise_bn(build_recognizer(cfg.model, test_cfg=cfg.get('test_cfg')))
    inputs = dict(img_group_0=torch.randn(1, 1, 3, 8, 56, 56), return_loss=False,
                  num_modalities=torch.tensor([1]), img_meta=[{}])
    folded, count = fold_batchnorm(model, inputs)
    assert count == sum(isinstance(m, nn.BatchNorm3d) for m in model.modules()) == 20
    assert abs(folded(**inputs) - model(**inputs)).max() < 1e-4


def test_precision_policy():
    cpu = torch.device('cpu')
    assert resolve_precision('fp32', cpu) == 'fp32' and resolve_precision('bf16', cpu) == 'bf16'
    assert resolve_precision('auto', cpu) in ('fp32', 'bf16')
    with pytest.raises(ValueError, match="'fp16' needs a GPU"):
        resolve_precision('fp16', cpu)
    with pytest.raises(ValueError, match='precision must be one of'):
        resolve_precision('half', cpu)


def test_channels_last_and_bf16_agree_with_fp32():
    model = _randomise_bn(Net())
    x = torch.randn(2, 3, 4, 8, 8)
    reference = model(x)
    fast_model, fast = prepare_inference(model, dict(x=x), torch.device('cpu'), precision='bf16')
    assert fast.folded_bn == 1 and fast.channels_last and fast.precision == 'bf16'
    assert fast_model.conv1.weight.is_contiguous(memory_format=torch.channels_last_3d)
    with fast.autocast(torch.device('cpu')):
        out = fast_model(x)
    assert out.dtype == torch.bfloat16
    assert (out.float() - reference).abs().max() <= 2e-2 * reference.abs().max()  # 8-bit mantissa
    assert 'precision bf16, 1 BatchNorms folded' in fast.describe()
    plain = to_channels_last(copy.deepcopy(model))  # layout only: the same numbers as the original
    assert plain.conv3.weight.is_contiguous(memory_format=torch.channels_last_3d)
    with FastPath('fp32', 0, True, False).autocast(torch.device('cpu')):
        same = plain(x)
    assert same.dtype == torch.float32 and torch.allclose(same, reference, rtol=1e-5, atol=1e-6)
