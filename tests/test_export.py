"""Export parity: ONNX (onnxruntime), TorchScript and torch.export outputs match eager mode within 1e-4 for
TSN (2D), I3D/SlowOnly-style TSN3D and two-pathway SlowFast."""
import importlib.util
import os

import numpy as np
import pytest
import torch
from mmengine.config import Config

from mmaction.apis import init_recognizer
from mmaction.utils.checkpoint import save_checkpoint

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..'))
NORM = dict(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], to_rgb=True)
HEAD = dict(type='ClsHead', with_avg_pool=False, temporal_feature_size=1, spatial_feature_size=1, dropout_ratio=0.5,
            init_std=0.5)

TSN = dict(type='TSN2D',
           backbone=dict(type='ResNet', depth=18, base_channels=8, pretrained=None, out_indices=(3,), bn_eval=False),
           spatial_temporal_module=dict(type='SimpleSpatialModule', spatial_type='avg', spatial_size=2),
           segmental_consensus=dict(type='SimpleConsensus', consensus_type='avg'),
           cls_head=dict(HEAD, in_channels=64, num_classes=4))
I3D = dict(type='TSN3D',
           backbone=dict(type='ResNet_I3D', depth=18, pretrained=None, num_stages=2, spatial_strides=(1, 2),
                         temporal_strides=(1, 1), dilations=(1, 1), out_indices=(1,), conv1_kernel_t=3,
                         conv1_stride_t=1, pool1_kernel_t=1, pool1_stride_t=1, inflate_freq=(1, 1), no_pool2=True),
           spatial_temporal_module=dict(type='SimpleSpatialTemporalModule', spatial_type='avg', temporal_size=-1,
                                        spatial_size=-1),
           segmental_consensus=dict(type='SimpleConsensus', consensus_type='avg'),
           cls_head=dict(HEAD, in_channels=128, num_classes=5))
SLOWFAST = dict(type='TSN3D',
                backbone=dict(type='ResNet_I3D_SlowFast', pretrained_slow=None, pretrained_fast=None, depth=18,
                              alpha=4, beta_inv=4, num_stages=4, out_indices=[3], slow_inflate_freq=(0, 0, 1, 1),
                              fast_inflate_freq=(1, 1, 1, 1), inflate_style='3x1x1', bn_eval=False),
                spatial_temporal_module=dict(type='SlowFastSpatialTemporalModule', adaptive_pool=True,
                                             spatial_type='avg', temporal_size=1, spatial_size=1),
                segmental_consensus=dict(type='SimpleConsensus', consensus_type='avg'),
                cls_head=dict(HEAD, in_channels=512 + 128, num_classes=3))


def load_export_tool():
    path = os.path.join(ROOT, 'tools', 'deployment', 'export.py')
    spec = importlib.util.spec_from_file_location('export_tool', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def make_checkpoint(tmp_path, model_cfg, test_cfg):
    cfg = Config(dict(model=model_cfg, data=dict(test=dict(type='RawFramesDataset', ann_file='x', img_prefix='x',
                                                            img_norm_cfg=NORM, **test_cfg))))
    path = str(tmp_path / 'cfg.py')
    cfg.dump(path)
    torch.manual_seed(0)
    model = init_recognizer(path)
    # non-trivial BN statistics, so that eval-mode BN folding in the exporters is exercised
    for m in model.modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            m.running_mean.uniform_(-0.2, 0.2)
            m.running_var.uniform_(0.5, 1.5)
    save_checkpoint(model, str(tmp_path / 'model.pth'))
    return path, str(tmp_path / 'model.pth')


def test_input_shape_from_config():
    tool = load_export_tool()
    cfg = Config(dict(data=dict(test=dict(num_segments=25, new_length=1, input_size=224, oversample='ten_crop'))))
    assert tool.input_shape_from_config(cfg) == (1, 250, 3, 224, 224)
    cfg = Config(dict(data=dict(test=dict(num_segments=3, new_length=5, input_size=224, modality='Flow'))))
    assert tool.input_shape_from_config(cfg, batch=2) == (2, 15, 2, 224, 224)
    cfg = Config(dict(data=dict(test=dict(num_segments=10, new_length=32, input_size=256, oversample='three_crop',
                                          input_format='NCTHW'))))
    assert tool.input_shape_from_config(cfg) == (1, 30, 3, 32, 256, 256)


@pytest.mark.parametrize('fmt', ['onnx', 'torchscript', 'export'])
def test_tsn_export_parity(tmp_path, fmt, capsys):
    if fmt == 'onnx':
        pytest.importorskip('onnxruntime', reason='onnxruntime is not installed: ONNX parity cannot be checked')
    tool = load_export_tool()
    config, ckpt = make_checkpoint(tmp_path, TSN, dict(num_segments=3, new_length=1, input_size=56, oversample=None))
    out = str(tmp_path / f'tsn.{tool.FORMATS[fmt].lstrip(".")}')
    info = tool.main([config, ckpt, '--format', fmt, '--out', out])
    assert info['shape'] == (1, 3, 3, 56, 56) and info['output_shape'] == (1, 4)
    assert info['max_abs_diff'] <= 1e-4 and os.path.getsize(out) > 10000
    assert 'OK' in capsys.readouterr().out
    if fmt == 'onnx':
        # the batch axis is dynamic: two videos at once give each video's own scores
        wrapper = tool.ExportWrapper(init_recognizer(config, ckpt)).eval()
        x = torch.randn(2, 3, 3, 56, 56)
        with torch.no_grad():
            eager = wrapper(x).numpy()
        np.testing.assert_allclose(tool.run_exported('onnx', out, x), eager, atol=1e-4)
        np.testing.assert_allclose(eager[1], wrapper(x[1:]).detach().numpy()[0], atol=1e-5)


@pytest.mark.parametrize('name,model_cfg,shape', [
    ('i3d', I3D, (1, 2, 3, 4, 32, 32)),
    ('slowfast', SLOWFAST, (1, 1, 3, 8, 32, 32)),
])
@pytest.mark.parametrize('fmt', ['onnx', 'torchscript'])
def test_3d_export_parity(tmp_path, name, model_cfg, shape, fmt):
    if fmt == 'onnx':
        pytest.importorskip('onnxruntime', reason='onnxruntime is not installed: ONNX parity cannot be checked')
    tool = load_export_tool()
    config, ckpt = make_checkpoint(tmp_path, model_cfg, dict(num_segments=1, new_length=8, input_size=32,
                                                             input_format='NCTHW'))
    out = str(tmp_path / f'{name}{tool.FORMATS[fmt]}')
    info = tool.main([config, ckpt, '--format', fmt, '--out', out, '--shape', *map(str, shape)])
    assert info['output_shape'] == (1, model_cfg['cls_head']['num_classes'])
    assert info['max_abs_diff'] <= 1e-4


def test_parity_failure_exits_nonzero(tmp_path, monkeypatch):
    tool = load_export_tool()
    config, ckpt = make_checkpoint(tmp_path, TSN, dict(num_segments=3, new_length=1, input_size=56, oversample=None))
    real = tool.run_exported
    monkeypatch.setattr(tool, 'run_exported', lambda fmt, path, x: real(fmt, path, x) + 1e-3)
    with pytest.raises(SystemExit) as exc:
        tool.main([config, ckpt, '--format', 'torchscript', '--out', str(tmp_path / 'm.pt')])
    assert exc.value.code == 1
