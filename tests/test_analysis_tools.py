"""Analysis tools on recorded logs and hand-made result pickles: curves, timing, fusion, confusion matrix,
re-evaluation, label maps, the training monitor (ETA, starvation warning, TensorBoard) and print_config."""
import importlib.util
import json
import logging
import os
import struct
import sys

import numpy as np
import pytest

from mmaction.evaluation.accuracy import fuse_scores
from mmaction.utils.io import dump_pickle
from mmaction.utils.results import find_label_map, load_scores, read_label_map, read_labels, scores_from_results
from mmaction.utils.tb_logger import TrainingMonitor

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..'))


def load_tool(rel_path):
    path = os.path.join(ROOT, rel_path)
    sys.path.insert(0, os.path.dirname(path))
    try:
        spec = importlib.util.spec_from_file_location(os.path.splitext(os.path.basename(path))[0], path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(os.path.dirname(path))
    return module


def png_size(path):
    with open(path, 'rb') as f:
        head = f.read(24)
    assert head[:8] == b'\x89PNG\r\n\x1a\n', 'not a PNG file'
    return struct.unpack('>II', head[16:24])


@pytest.fixture()
def recorded_log(tmp_path):
    """2 epochs x 3 logged train iterations (interval 10, 30 iters/epoch) + one val line per epoch."""
    lines = [{'env_info': 'header without mode is skipped'}]
    for epoch in (1, 2):
        for k, it in enumerate((10, 20, 30)):
            lines.append({'mode': 'train', 'epoch': epoch, 'iter': it, 'lr': 0.01, 'time': 0.5 + 0.1 * k + epoch,
                          'data_time': 0.1 * epoch, 'loss_cls': 2.0 / (epoch * (k + 1)), 'loss': 2.0 / (epoch * (k + 1))})
        lines.append({'mode': 'val', 'epoch': epoch, 'iter': 30, 'lr': 0.01, 'top1 acc': 0.4 * epoch,
                      'top5 acc': 0.45 * epoch})
    path = tmp_path / '20240101_000000.log.json'
    path.write_text('\n'.join(json.dumps(line) for line in lines) + '\n{"mode": "tra')  # crash-cut last line
    return str(path)


def test_curve_values_and_axes(recorded_log):
    tool = load_tool('tools/analysis/analyze_logs.py')
    log = tool.load_json_log(recorded_log)
    assert list(log) == [1, 2]
    assert tool.iters_per_epoch(log) == 30
    mode, x, y = tool.curve(log, 'loss')
    assert mode == 'train'
    np.testing.assert_array_equal(x, [10, 20, 30, 40, 50, 60])  # global iteration = (epoch-1)*30 + iter
    np.testing.assert_allclose(y, [2.0, 1.0, 2 / 3, 1.0, 0.5, 1 / 3])
    mode, x, y = tool.curve(log, 'top1_acc')  # underscore matches the logged 'top1 acc'
    assert mode == 'val'
    np.testing.assert_array_equal(x, [1, 2])
    np.testing.assert_allclose(y, [0.4, 0.8])
    with pytest.raises(KeyError, match='top1_acc'):
        tool.curve(log, 'accuracy')


def test_plot_curve_writes_png(recorded_log, tmp_path):
    tool = load_tool('tools/analysis/analyze_logs.py')
    out = str(tmp_path / 'curves.png')
    assert tool.main(['plot_curve', recorded_log, '--keys', 'loss', 'top1_acc', '--out', out]) == 0
    width, height = png_size(out)
    assert os.path.getsize(out) > 5000
    assert width > height > 100  # two side-by-side panels


def test_cal_train_time(recorded_log, capsys):
    tool = load_tool('tools/analysis/analyze_logs.py')
    stats = tool.cal_train_time(recorded_log)
    # first logged iteration of each epoch dropped: epoch 1 -> mean(1.6, 1.7), epoch 2 -> mean(2.6, 2.7)
    assert stats['slowest_epoch'] == 2 and stats['fastest_epoch'] == 1
    assert stats['slowest_time'] == pytest.approx(2.65)
    assert stats['fastest_time'] == pytest.approx(1.65)
    assert stats['std_over_epochs'] == pytest.approx(0.5)
    assert stats['mean_data_time'] == pytest.approx(0.15)
    assert stats['data_fraction'] == pytest.approx(0.15 / 2.15)
    with_outliers = tool.cal_train_time(recorded_log, include_outliers=True)
    assert with_outliers['fastest_time'] == pytest.approx(1.6)
    tool.main(['cal_train_time', recorded_log])
    assert 'slowest epoch 2, average time is 2.6500 s/iter' in capsys.readouterr().out


def test_bad_log_line_names_file_and_line(tmp_path):
    tool = load_tool('tools/analysis/analyze_logs.py')
    path = tmp_path / 'bad.log.json'
    path.write_text('{"mode": "train", "epoch": 1, "iter": 1, "loss": 1}\nnot json\n{"mode": "val", "epoch": 1}\n')
    with pytest.raises(ValueError, match=r'bad.log.json:2'):
        tool.load_json_log(str(path))


@pytest.fixture()
def two_stream(tmp_path):
    """Hand-made RGB and Flow results for 4 videos, 3 classes, where fusion changes the answers."""
    rgb = [np.array([[3.0, 1.0, 0.0]]), np.array([[0.0, 2.0, 1.9]]), np.array([[1.0, 0.0, 2.0]]),
           np.array([[0.0, 1.0, 0.0]])]
    flow = [np.array([[0.0, 0.0, 1.0]]), np.array([[0.0, 0.0, 1.0]]), np.array([[2.0, 0.0, 0.0]]),
            np.array([[0.0, 0.0, 2.0]])]
    labels = [0, 2, 0, 2]
    ann = tmp_path / 'test_list.txt'
    ann.write_text(''.join(f'class/video_{i} 30 {lab}\n' for i, lab in enumerate(labels)))
    dump_pickle([a.astype(np.float32) for a in rgb], tmp_path / 'rgb.pkl')
    dump_pickle([a.astype(np.float32) for a in flow], tmp_path / 'flow.pkl')
    cfg = tmp_path / 'cfg.py'
    cfg.write_text(f"data = dict(test=dict(type='RawFramesDataset', ann_file={str(ann)!r}, img_prefix='x'))\n")
    (tmp_path / 'label_map.txt').write_text('jump\nrun\nwave\n')
    return tmp_path


def test_fusion_arithmetic(two_stream, capsys):
    tool = load_tool('tools/analysis/report_accuracy.py')
    d = two_stream
    # RGB alone: predictions 0, 1, 2, 1 -> 1 of 4 correct.
    rgb_only = tool.main(['--scores', str(d / 'rgb.pkl'), '--ann-file', str(d / 'test_list.txt')])
    assert rgb_only['top1_acc'] == pytest.approx(0.25)
    # RGB + 1.5 Flow: [3,1,1.5] [0,2,3.4] [4,0,2] [0,1,3] -> 0, 2, 0, 2: all correct.
    fused = tool.main(['--scores', str(d / 'rgb.pkl'), str(d / 'flow.pkl'), '--coefficients', '1', '1.5',
                       '--config', str(d / 'cfg.py')])
    assert fused['top1_acc'] == 1.0 and fused['mean_class_accuracy'] == 1.0
    assert 'Top-1 Accuracy = 100.00' in capsys.readouterr().out
    manual = fuse_scores([load_scores(str(d / 'rgb.pkl')), load_scores(str(d / 'flow.pkl'))], [1, 1.5])
    np.testing.assert_allclose(manual[1], [0.0, 2.0, 3.4])
    soft = fuse_scores([np.array([[0.0, 0.0]]), np.array([[np.log(3.0), 0.0]])], [1.0, 2.0], apply_softmax=True)
    np.testing.assert_allclose(soft, [[0.5 + 2 * 0.75, 0.5 + 2 * 0.25]])
    # equal weights: [3,1,1] [0,2,2.9] [3,0,2] [0,1,2] -> 0,2,0,2 as well; weights of the wrong count fail
    with pytest.raises(ValueError, match='2 weights given for 1'):
        fuse_scores([manual], [1, 2])


def test_eval_metric_recomputes(two_stream, capsys):
    tool = load_tool('tools/analysis/eval_metric.py')
    d = two_stream
    metrics = tool.main([str(d / 'cfg.py'), str(d / 'rgb.pkl')])
    assert metrics['top1_acc'] == pytest.approx(0.25)
    # mean class accuracy: class 0 -> 1/2 right, class 2 -> 0/2 right
    assert metrics['mean_class_accuracy'] == pytest.approx(0.25)
    assert metrics['top5_acc'] == 1.0  # top-k capped at 3 classes
    assert 'Mean Class Accuracy = 25.00' in capsys.readouterr().out
    dump_pickle([np.zeros((1, 3), np.float32)] * 3, d / 'short.pkl')
    with pytest.raises(ValueError, match='3 videos but the annotation list has 4'):
        tool.main([str(d / 'cfg.py'), str(d / 'short.pkl')])


def test_confusion_matrix_tool(two_stream, capsys):
    tool = load_tool('tools/analysis/confusion_matrix.py')
    d = two_stream
    out = str(d / 'cm.png')
    norm = tool.main([str(d / 'cfg.py'), str(d / 'rgb.pkl'), '--out', out])
    # truth 0: predicted 0 and 2 once each; truth 2: predicted 1 twice; class 1 has no videos
    np.testing.assert_allclose(norm, [[0.5, 0.0, 0.5], [0.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    assert png_size(out)[0] > 100 and os.path.getsize(out) > 3000
    printed = capsys.readouterr().out
    assert 'names from' in printed and 'confused: wave -> run: 2' in printed


def test_label_maps_and_labels(tmp_path):
    (tmp_path / 'classInd.txt').write_text('2 Run\n1 Apply Eye Makeup\n3 Wave\n')
    assert read_label_map(str(tmp_path / 'classInd.txt')) == ['Apply Eye Makeup', 'Run', 'Wave']
    (tmp_path / 'label_map.txt').write_text('jump\n\nrun\n')
    assert read_label_map(str(tmp_path / 'label_map.txt')) == ['jump', 'run']
    (tmp_path / 'list.txt').write_text('a/b 3\nc/d 10 1\n')
    np.testing.assert_array_equal(read_labels(str(tmp_path / 'list.txt')), [3, 1])
    (tmp_path / 'bad.txt').write_text('a/b 3\nc/d x\n')
    with pytest.raises(ValueError, match=r'bad.txt:2'):
        read_labels(str(tmp_path / 'bad.txt'))
    cfg = {'data': {'test': {'ann_file': str(tmp_path / 'list.txt')}}}
    assert find_label_map(cfg) == str(tmp_path / 'label_map.txt')
    with pytest.raises(ValueError, match='entry 1 has 2 classes'):
        scores_from_results([np.zeros((1, 3)), np.zeros((1, 2))], 'r.pkl')


def test_monitor_eta_split_and_starvation(caplog):
    monitor = TrainingMonitor(max_iters=100, warmup=2, window=4, starved_ratio=0.5, warn_interval=10)
    for _ in range(2):
        monitor.update(5.0, 5.0)  # start-up iterations are ignored
    for _ in range(4):
        monitor.update(0.4, 0.3)
    with caplog.at_level(logging.WARNING, logger='mmaction'):
        out = monitor.summary(global_iter=6)
    assert out['compute_time'] == pytest.approx(0.1)
    assert out['data_fraction'] == pytest.approx(0.75)
    assert out['eta'] == '0:00:37'  # 94 iterations left x 0.4 s
    assert 'GPU starved' in caplog.text and 'workers_per_gpu' in caplog.text and '75%' in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger='mmaction'):
        monitor.summary(global_iter=8)  # within warn_interval: not repeated
    assert 'GPU starved' not in caplog.text
    fast = TrainingMonitor(max_iters=10, warmup=0)
    fast.update(1.0, 0.1)
    with caplog.at_level(logging.WARNING, logger='mmaction'):
        assert fast.summary(1)['data_fraction'] == pytest.approx(0.1)
    assert 'GPU starved' not in caplog.text


def test_tensorboard_hook_writes_scalars(tmp_path):
    pytest.importorskip('tensorboard')
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    log_config = dict(interval=1, hooks=[dict(type='TextLoggerHook'), dict(type='TensorboardLoggerHook')])
    monitor = TrainingMonitor.from_config(log_config, str(tmp_path), max_iters=10)
    assert monitor.write('train', {'loss': 1.5, 'lr': 0.1, 'eta': '0:00:01', 'epoch': 1}, 3) == 2
    assert monitor.write('val', {'top1 acc': 0.75}, 10) == 1
    monitor.close()
    acc = EventAccumulator(str(tmp_path / 'tf_logs'))
    acc.Reload()
    assert sorted(acc.Tags()['scalars']) == ['train/loss', 'train/lr', 'val/top1_acc']
    event = acc.Scalars('val/top1_acc')[0]
    assert event.step == 10 and event.value == pytest.approx(0.75)
    assert TrainingMonitor.from_config(dict(hooks=[dict(type='TextLoggerHook')]), str(tmp_path)).tb is None


def test_print_config_applies_options(tmp_path, capsys):
    tool = load_tool('tools/misc/print_config.py')
    cfg = tmp_path / 'c.py'
    cfg.write_text("data = dict(videos_per_gpu=8, workers_per_gpu=2)\ntotal_epochs = 3\n")
    text = tool.main([str(cfg), '--cfg-options', 'data.videos_per_gpu=2'])
    assert 'videos_per_gpu=2' in text and 'total_epochs = 3' in text


def test_browse_dataset_writes_denormalised_gifs(tmp_path):
    import cv2
    from PIL import Image
    tool = load_tool('tools/misc/browse_dataset.py')
    frame_dir = tmp_path / 'frames' / 'vid'
    frame_dir.mkdir(parents=True)
    colour = (40, 160, 220)  # RGB
    for i in range(1, 9):
        img = np.zeros((32, 32, 3), np.uint8)
        img[:] = (colour[0] + 15 * i, colour[1], colour[2])  # distinct frames (GIF merges identical ones)
        cv2.imwrite(str(frame_dir / f'img_{i:05d}.png'), cv2.cvtColor(img, cv2.COLOR_RGB2BGR))
    (tmp_path / 'list.txt').write_text('vid 8 1\n')
    (tmp_path / 'label_map.txt').write_text('a\nb\n')
    (tmp_path / 'cfg.py').write_text(
        "data = dict(train=dict(type='RawFramesDataset', ann_file=%r, img_prefix=%r, num_segments=3, "
        "img_norm_cfg=dict(mean=[100, 110, 120], std=[50, 60, 70], to_rgb=True), image_tmpl='img_{:05d}.png', "
        "img_scale=32, input_size=24, flip_ratio=0.5, multiscale_crop=True, scales=[1, 0.875]))\n"
        % (str(tmp_path / 'list.txt'), str(tmp_path / 'frames')))
    out = tool.main([str(tmp_path / 'cfg.py'), '--out-dir', str(tmp_path / 'out'), '--num-samples', '3'])
    assert [os.path.basename(p) for p in out] == ['0000_b.gif']  # one sample in the list; named by class
    with Image.open(out[0]) as im:
        assert im.n_frames == 3 and im.size == (24, 24)
        rgb = np.asarray(im.convert('RGB'))
    mean = rgb.reshape(-1, 3).mean(axis=0)  # normalisation undone, RGB order kept
    assert abs(mean[1] - 160) < 3 and abs(mean[2] - 220) < 3 and 50 <= mean[0] <= 165
