"""mmaction2 models in this project's APIs and tools (issue 14): init_recognizer/inference_recognizer with an
mmaction2-style config (test_dataloader pipeline, model data_preprocessor), demo, tools/test_recognizer with an
original data.test, export, feature extraction. Normalisation must happen exactly once.

The configs use the tiny ``CoreTestBackbone2D`` of ``tests/mmaction2_ref/cases_core.py`` (registered on import), so
every tool runs in this process.
"""
import os

import numpy as np
import pytest
import torch

import tests.mmaction2_ref.cases_core  # noqa: F401  (registers the tiny test backbones)
from mmaction.apis.inference import inference_recognizer, init_recognizer, pipeline_normalizes, inference_data_cfg
from mmaction.models import build_model
from mmaction.registry import ConfigError
from mmaction.utils.config import load_config

MEAN, STD = [123.675, 116.28, 103.53], [58.395, 57.12, 57.375]
MODEL = dict(type='Recognizer2D', backbone=dict(type='CoreTestBackbone2D'),
             cls_head=dict(type='TSNHead', num_classes=5, in_channels=16, spatial_type='avg',
                           consensus=dict(type='AvgConsensus', dim=1), dropout_ratio=0.4, init_std=0.01,
                           average_clips='prob'),
             data_preprocessor=dict(type='ActionDataPreprocessor', mean=MEAN, std=STD, format_shape='NCHW'))
PIPELINE = [dict(type='DecordInit', io_backend='disk'),
            dict(type='SampleFrames', clip_len=1, frame_interval=1, num_clips=3, test_mode=True),
            dict(type='DecordDecode'), dict(type='Resize', scale=(-1, 40)), dict(type='CenterCrop', crop_size=32),
            dict(type='FormatShape', input_format='NCHW'), dict(type='PackActionInputs')]
NORMALIZE = dict(type='Normalize', mean=MEAN, std=STD, to_rgb=False)


def _write_config(path, **entries):
    text = ''.join(f'{key} = {value!r}\n' for key, value in entries.items())
    path.write_text(text)
    return str(path)


@pytest.fixture(scope='module')
def checkpoint(tmp_path_factory):
    """An mmaction2-layout checkpoint (``state_dict`` with ``backbone.*`` / ``cls_head.*`` keys, plus ``meta``)."""
    torch.manual_seed(0)
    model = build_model(MODEL)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn_like(p) * 0.5)
    path = tmp_path_factory.mktemp('ckpt') / 'tiny_mm2.pth'
    torch.save(dict(meta=dict(mmengine_version='0.10.7', epoch=1), state_dict=model.state_dict()), path)
    return str(path), model.state_dict()


@pytest.fixture(scope='module')
def video(samples_dir):
    return os.path.join(samples_dir, 'demo', 'demo.mp4')


def _expected_probs(video, checkpoint):
    """The pipeline's raw frames, normalised by hand, through the model's predict."""
    from mmaction.apis.inference import _SingleInput
    cfg = load_config_from(dict(model=MODEL, test_pipeline=PIPELINE))
    single = _SingleInput(cfg, video)
    try:
        frames = single.dataset[0]['img_group_0'].float()            # (3, 3, 32, 32), 0-255
    finally:
        single.close()
    x = (frames - torch.tensor(MEAN).view(3, 1, 1)) / torch.tensor(STD).view(3, 1, 1)
    model = build_model(MODEL).eval()
    model.load_state_dict(checkpoint[1])
    with torch.no_grad():
        return model(x[None], mode='predict')[0].pred_score.numpy()


def load_config_from(entries):
    from mmengine.config import Config
    return Config(entries)


def test_mmaction2_config_inference_normalizes_once(tmp_path, checkpoint, video):
    expected = _expected_probs(video, checkpoint)
    assert expected.sum() == pytest.approx(1.0, abs=1e-5)
    # mmaction2 layout: the test pipeline leaves 0-255 frames, the model's data preprocessor normalises
    cfg = _write_config(tmp_path / 'mm2.py', model=MODEL, test_dataloader=dict(
        batch_size=1, dataset=dict(type='VideoDataset', ann_file='x.txt', data_prefix=dict(video='.'),
                                   pipeline=PIPELINE, test_mode=True)), test_cfg=dict(type='TestLoop'))
    model = init_recognizer(cfg, checkpoint[0])
    assert model.data_preprocessor.normalizes and model.test_cfg is None  # the TestLoop is not the model's
    top, probs = inference_recognizer(model, video, topk=5, label_map=list('abcde'), return_scores=True)
    assert np.allclose(probs, expected, atol=1e-5)
    assert [name for name, _ in top] == [list('abcde')[i] for i in np.argsort(-expected, kind='stable')]
    # the same frames normalised by the pipeline: the preprocessor must not normalise again
    normalizing = PIPELINE[:-2] + [NORMALIZE] + PIPELINE[-2:]
    cfg2 = _write_config(tmp_path / 'mm2_norm.py', model=MODEL, test_pipeline=normalizing)
    model2 = init_recognizer(cfg2, checkpoint[0])
    assert not model2.data_preprocessor.normalizes
    assert np.allclose(inference_recognizer(model2, video, return_scores=True)[1], expected, atol=1e-5)


def test_demo_and_feature_extraction(tmp_path, checkpoint, video, capsys):
    import importlib.util
    spec = importlib.util.spec_from_file_location('mm2_demo', os.path.join(os.path.dirname(__file__), '..', 'demo',
                                                                          'demo.py'))
    demo = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(demo)
    cfg = _write_config(tmp_path / 'mm2.py', model=MODEL, test_pipeline=PIPELINE)
    labels = tmp_path / 'labels.txt'
    labels.write_text('walk\nrun\njump\nsit\nwave\n')
    results = demo.main([cfg, checkpoint[0], video, str(labels), '--topk', '2'])
    expected = _expected_probs(video, checkpoint)
    names = ['walk', 'run', 'jump', 'sit', 'wave']
    assert [r[0] for r in results] == [names[i] for i in np.argsort(-expected, kind='stable')[:2]]
    assert 'The top-2 labels' in capsys.readouterr().out
    # feature extraction: the pooled features the head sees, one row per window
    from mmaction.apis.feature_extraction import extract_video_features
    model = init_recognizer(cfg, checkpoint[0])
    feats, info = extract_video_features(model, video, window=32, stride=150)
    assert feats.shape == (info['num_windows'], 16) and feats.dtype == np.float32
    with torch.no_grad():
        x = torch.rand(2, 3, 3, 32, 32) * 255
        pooled = model.video_features(x)
        inputs = model.data_preprocessor(dict(inputs=x, data_samples=None))['inputs']
        manual = model.backbone(inputs.view(6, 3, 32, 32)).mean(dim=(2, 3)).view(2, 3, 16).mean(1)
        assert torch.allclose(pooled, manual, atol=1e-5)
        head = model.cls_head.fc_cls(manual).softmax(1)
        assert np.allclose(model(img_group_0=x, return_loss=False), head.numpy(), atol=1e-5)


def test_tools_test_recognizer_with_original_data_test(tmp_path, checkpoint, video, capsys):
    """An original-style config (``data.test`` with a pipeline that normalises) around an mmaction2 model."""
    from mmaction.utils.io import load_pickle
    import importlib.util
    spec = importlib.util.spec_from_file_location('mm2_test_tool', os.path.join(
        os.path.dirname(__file__), '..', 'tools', 'test_recognizer.py'))
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    ann = tmp_path / 'list.txt'
    ann.write_text('demo 1\ndemo 3\n')
    pipeline = [dict(type='DecordInit')] + PIPELINE[1:-2] + [NORMALIZE, dict(type='FormatShape', input_format='NCHW')]
    cfg = _write_config(tmp_path / 'v0_mm2.py', model=MODEL, data=dict(workers_per_gpu=0, test=dict(
        type='VideoDataset', ann_file=str(ann), img_prefix=os.path.dirname(video), video_ext='mp4',
        pipeline=pipeline, test_mode=True)))
    assert pipeline_normalizes(load_config(cfg).data.test)
    out = tmp_path / 'out.pkl'
    tool.main([cfg, checkpoint[0], '--out', str(out)])
    outputs = load_pickle(str(out))
    expected = _expected_probs(video, checkpoint)
    assert len(outputs) == 2 and all(np.allclose(o.reshape(-1), expected, atol=1e-5) for o in outputs)
    assert 'Top-1 Accuracy' in capsys.readouterr().out


def test_export_traces_the_test_path(tmp_path, checkpoint):
    import importlib.util
    spec = importlib.util.spec_from_file_location('mm2_export', os.path.join(
        os.path.dirname(__file__), '..', 'tools', 'deployment', 'export.py'))
    export = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(export)
    cfg = _write_config(tmp_path / 'mm2.py', model=MODEL, test_pipeline=PIPELINE)
    result = export.main([cfg, checkpoint[0], '--format', 'torchscript', '--shape', '1', '3', '3', '32', '32',
                          '--out', str(tmp_path / 'tiny.pt')])
    assert result['output_shape'] == (1, 5) and result['max_abs_diff'] <= 1e-4


def test_missing_test_pipeline_is_named():
    with pytest.raises(ConfigError, match="no 'data.test' and no mmaction2 'test_dataloader.dataset.pipeline'"):
        inference_data_cfg(load_config_from(dict(model=MODEL)))
    with pytest.raises(ConfigError, match=r"'test_pipeline\[0\]': io_backend='petrel'"):
        inference_data_cfg(load_config_from(dict(model=MODEL, test_pipeline=[dict(type='DecordInit',
                                                                                io_backend='petrel')])))


def test_checkpoint_loads_strict_and_original_training_step(checkpoint):
    from mmaction.utils.checkpoint import load_checkpoint
    model = build_model(MODEL)
    load_checkpoint(model, checkpoint[0], map_location='cpu', strict=True)
    assert all(torch.equal(model.state_dict()[k], v) for k, v in checkpoint[1].items())
    # the original trainer's call: raw batch + gt_label -> loss dict; an SGD step lowers the loss
    model.train()
    model.cls_head.dropout.p = 0.0
    model.backbone.bn.eval()  # keep BN statistics fixed so the two losses are comparable
    raw = torch.rand(2, 3, 3, 16, 16) * 255
    labels = torch.tensor([[1], [4]])
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
    losses = model(img_group_0=raw, gt_label=labels, return_loss=True)
    assert set(losses) == {'loss_cls', 'top1_acc', 'top5_acc'}
    losses['loss_cls'].backward()
    assert model.backbone.conv.weight.grad is not None and model.cls_head.fc_cls.weight.grad.abs().sum() > 0
    optimizer.step()
    with torch.no_grad():
        after = model(img_group_0=raw, gt_label=labels, return_loss=True)['loss_cls']
    assert float(after) < float(losses['loss_cls'])


def test_inference_matches_mmaction2_end_to_end(tmp_path, video):
    """The same mmaction2 config and weights through mmaction2's inference_recognizer (reference made by
    ``tests/mmaction2_ref/make_refs_core_e2e.py`` in the peer venv) and ours: decoding, sampling, resize, crop,
    data preprocessor and model."""
    from tests.mmaction2_ref.compare import HERE, max_relative_diff
    from tests.mmaction2_ref.make_refs_core_e2e import E2E_CONFIG
    from tests.mmaction2_ref.weights import fill_deterministic
    model = init_recognizer(_write_config(tmp_path / 'e2e.py', **E2E_CONFIG), None)
    fill_deterministic(model)
    probs = inference_recognizer(model, video, return_scores=True)[1]
    ref = np.load(os.path.join(HERE, 'refs', 'cases_core', 'e2e_demo_tiny.npz'))['probs']
    assert max_relative_diff(torch.from_numpy(probs), ref) < 1e-4
