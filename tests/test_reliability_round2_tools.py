"""Issue 17 through the test tool and the evaluators: NaN scores are an error (4), checkpoints load strictly unless
--non-strict (5), --out pointing at a directory fails before the test pass (8). A tiny TSN2D and generated frames."""
import pickle

import cv2
import numpy as np
import pytest
import torch

from test_tools_recognizer import CONFIG, _load_tool  # noqa: E402

from mmaction.evaluation.accuracy import mean_class_accuracy, top_k_accuracy  # noqa: E402
from mmaction.utils.checkpoint import CheckpointError, save_checkpoint  # noqa: E402
from _dist_test_helpers import load_script  # noqa: E402 (tests/ helper)

NUM_VIDEOS, NUM_FRAMES = 3, 3


@pytest.fixture(scope='module')
def tiny(tmp_path_factory):
    from mmaction.models import build_recognizer
    from mmaction.utils.config import load_config
    root = tmp_path_factory.mktemp('round2_tools')
    rng = np.random.default_rng(0)
    lines = []
    for v in range(NUM_VIDEOS):
        folder = root / 'frames' / f'video_{v}'
        folder.mkdir(parents=True)
        for f in range(1, NUM_FRAMES + 1):
            cv2.imwrite(str(folder / f'img_{f:05d}.jpg'), rng.integers(0, 256, size=(40, 48, 3), dtype=np.uint8))
        lines.append(f'video_{v} {NUM_FRAMES} {v}')
    (root / 'list.txt').write_text('\n'.join(lines) + '\n')
    configs = {}
    for classes in (3, 4):
        configs[classes] = root / f'tsn_{classes}.py'
        configs[classes].write_text(CONFIG.format(root=root, num_classes=classes))
        torch.manual_seed(0)
        model = build_recognizer(load_config(str(configs[classes])).model)
        save_checkpoint(model, str(root / f'tsn_{classes}.pth'))
    return root, configs


def test_nan_scores_are_an_error_in_evaluators():
    scores = np.array([[0.1, 0.9], [np.nan, np.nan], [np.nan, 0.2]])
    for fn in (lambda: top_k_accuracy(scores, [1, 0, 1]), lambda: mean_class_accuracy(scores, [1, 0, 1])):
        with pytest.raises(ValueError, match=r'2 of 3 videos have non-finite scores \(NaN/inf\); first: video 1'):
            fn()


def test_eval_metric_refuses_all_nan_result_pickle(tmp_path):
    (tmp_path / 'list.txt').write_text('a 3 0\nb 3 1\n')
    path = tmp_path / 'nan.pkl'
    path.write_bytes(pickle.dumps([np.full((1, 4), np.nan, np.float32)] * 2))
    tool = _load_tool_any('tools/analysis/eval_metric.py')
    with pytest.raises(ValueError, match=r'nan.pkl: 2 of 2 videos have non-finite scores'):
        tool.main(['cfg.py', str(path), '--ann-file', str(tmp_path / 'list.txt')])


def _load_tool_any(rel):
    return load_script(rel)


@pytest.mark.filterwarnings('ignore:.*encountered in divide:RuntimeWarning')
def test_test_tool_nan_scores_name_first_video_and_write_nothing(tiny, tmp_path):
    root, configs = tiny
    out = tmp_path / 'r.pkl'
    # std 0 in the normalisation: every clip becomes inf/NaN, as a broken preprocessing config would make it
    with pytest.raises(ValueError, match=r'tsn_3.pth on .*list.txt: 3 of 3 videos have non-finite scores.*'
                                         r'first: video 0 \(video_0\)'):
        _load_tool('test_recognizer').main([str(configs[3]), str(root / 'tsn_3.pth'), '--out', str(out),
                                            '--cfg-options', 'data.test.img_norm_cfg.std=[0,0,0]'])
    assert not out.exists()


def test_test_tool_loads_strictly_unless_non_strict(tiny, tmp_path, capsys):
    root, configs = tiny
    out = tmp_path / 'r.pkl'
    with pytest.raises(CheckpointError, match=r'tsn_4.pth does not match the model:\n  size mismatch: '
                                              r'cls_head.fc_cls.weight: checkpoint \(4, 128\) vs model \(3, 128\)'):
        _load_tool('test_recognizer').main([str(configs[3]), str(root / 'tsn_4.pth'), '--out', str(out)])
    assert not out.exists()
    # a checkpoint of another architecture: the unexpected and missing keys are listed
    torch.save({'state_dict': {'fc.weight': torch.zeros(2, 2)}}, tmp_path / 'other.pth')
    with pytest.raises(CheckpointError, match=r'missing keys in checkpoint \(\d+\): backbone.conv1.weight.*\n'
                                              r'  unexpected keys in checkpoint \(1\): fc.weight'):
        _load_tool('test_recognizer').main([str(configs[3]), str(tmp_path / 'other.pth'), '--out', str(out)])
    _load_tool('test_recognizer').main([str(configs[3]), str(root / 'tsn_4.pth'), '--out', str(out), '--non-strict'])
    assert 'Top-1 Accuracy' in capsys.readouterr().out and out.exists()


def test_test_tool_checks_out_directory_before_testing(tiny, tmp_path, monkeypatch):
    root, configs = tiny
    import mmaction.apis.test as test_api

    def never(*args, **kwargs):
        raise AssertionError('the test pass ran before --out was checked')
    monkeypatch.setattr(test_api, 'inference', never)
    (tmp_path / 'results.pkl').mkdir()
    with pytest.raises(IsADirectoryError, match=r'--out .*results.pkl is an existing directory'):
        _load_tool('test_recognizer').main([str(configs[3]), str(root / 'tsn_3.pth'),
                                            '--out', str(tmp_path / 'results.pkl')])


def test_inference_api_loads_strictly(tiny):
    from mmaction.apis import init_recognizer
    root, configs = tiny
    with pytest.raises(CheckpointError, match='size mismatch'):
        init_recognizer(str(configs[3]), str(root / 'tsn_4.pth'))
    model = init_recognizer(str(configs[3]), str(root / 'tsn_4.pth'), strict=False)
    assert model.cls_head.fc_cls.weight.shape == (3, 128)


def test_nan_detection_scores_are_an_error():
    from mmaction.evaluation.ava import average_precision
    from mmaction.evaluation.temporal import average_precision_at_temporal_iou
    with pytest.raises(ValueError, match=r'1 of 2 detection scores are NaN/inf \(first: detection 1\)'):
        average_precision(np.array([0.5, np.nan]), np.array([1, 0]), 1)
    prediction = np.array([[0.0, 1.0, np.nan]])  # (t_start, t_end, score)
    with pytest.raises(ValueError, match=r'1 of 1 detection/proposal scores are NaN/inf'):
        average_precision_at_temporal_iou({'v': np.array([[0.0, 1.0]])}, prediction, ['v'], [0.5])


def test_test_tool_and_inference_refuse_a_crafted_checkpoint(tiny, tmp_path):
    from test_reliability_round2_pickles import structured_object_array

    from mmaction.apis import init_recognizer
    root, configs = tiny
    ckpt = torch.load(root / 'tsn_3.pth', weights_only=True)
    ckpt['meta']['note'] = structured_object_array()
    torch.save(ckpt, tmp_path / 'crafted.pth')
    with pytest.raises(CheckpointError, match=r'crafted.pth: refusing to unpickle a numpy array of dtype'):
        _load_tool('test_recognizer').main([str(configs[3]), str(tmp_path / 'crafted.pth'),
                                            '--out', str(tmp_path / 'r.pkl')])
    with pytest.raises(CheckpointError, match=r'crafted.pth: refusing'):
        init_recognizer(str(configs[3]), str(tmp_path / 'crafted.pth'))
