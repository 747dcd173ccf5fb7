"""Issue 17, data and config side: labels out of range and empty lists (6), head/labels mismatch and
--cfg-options mistakes (7), a 0-byte JPEG, --cfg-options values with spaces, videos shorter than the sampled span
counted once per epoch (8). Generated tiny rawframes."""
import argparse
import logging
import os
import sys

import cv2
import numpy as np
import pytest
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from test_tools_recognizer import CONFIG  # noqa: E402

from mmaction.apis.data_check import check_data, check_labels_against_head  # noqa: E402
from mmaction.datasets import build_dataset  # noqa: E402
from mmaction.datasets.annotations import AnnotationError  # noqa: E402
from mmaction.utils.config import DictAction, load_config  # noqa: E402


@pytest.fixture
def frames(tmp_path):
    rng = np.random.default_rng(0)
    for v in range(3):
        folder = tmp_path / 'frames' / f'video_{v}'
        folder.mkdir(parents=True)
        for f in range(1, 4):
            cv2.imwrite(str(folder / f'img_{f:05d}.jpg'), rng.integers(0, 256, size=(40, 48, 3), dtype=np.uint8))
    (tmp_path / 'list.txt').write_text('video_0 3 0\nvideo_1 3 8\nvideo_2 3 1\n')
    config = tmp_path / 'tiny.py'
    config.write_text(CONFIG.format(root=tmp_path, num_classes=3))
    return tmp_path, config


def test_labels_out_of_range_at_dataset_build_and_in_check_data(frames):
    root, config = frames
    cfg = load_config(str(config))
    with pytest.raises(AnnotationError, match=r'list.txt:2: label 8 outside \[0, 2\] \(num_classes=3\)'):
        build_dataset(dict(cfg.data.train, num_classes=3))
    with pytest.raises(AnnotationError, match=r"data.train: 1 label\(s\) out of range for the model's 3 classes:"
                                              r"\n  .*list.txt:2: label 8 outside"):
        check_labels_against_head(build_dataset(cfg.data.train), cfg.model, logging.getLogger('t'))
    report = check_data(cfg)
    assert not report.ok
    text = report.format()
    assert 'label       ' in text and 'list.txt:2  ' in text and 'label 8 outside [0, 2]' in text
    assert '1 label' in text.splitlines()[0]


def test_empty_list_is_named(frames):
    root, config = frames
    (root / 'list.txt').write_text('\n\n')
    with pytest.raises(AnnotationError, match=r'empty list: .*list.txt'):
        check_data(load_config(str(config)))


def test_head_class_count_differs_from_labels_warns(frames, caplog):
    root, config = frames
    (root / 'list.txt').write_text('video_0 3 0\nvideo_1 3 1\nvideo_2 3 1\n')
    cfg = load_config(str(config), {'model.cls_head.num_classes': 101})
    with caplog.at_level(logging.WARNING):
        check_labels_against_head(build_dataset(cfg.data.train), cfg.model, logging.getLogger('mmaction'))
    assert 'cls_head.num_classes=101 but the labels of data.train' in caplog.text and 'span 0..1 (2 classes)' \
        in caplog.text
    # a config without cls_head.num_classes: the built head's 101-way default is what counts
    from mmaction.models import build_recognizer
    cfg = load_config(str(config))
    del cfg.model.cls_head['num_classes']
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        check_labels_against_head(build_dataset(cfg.data.train), cfg.model, logging.getLogger('mmaction'),
                                  model=build_recognizer(cfg.model))
    assert 'cls_head.num_classes=101 but the labels' in caplog.text


def test_cfg_options_typos_missing_equals_and_spaces(frames, caplog, capsys):
    root, config = frames
    with caplog.at_level(logging.WARNING):
        cfg = load_config(str(config), {'totl_epochs': 1, 'data.videos_per_gpux': 3, 'total_epochs': 5,
                                        'seed': 1, 'optimizer.lr': 0.5})
    assert "has no key 'totl_epochs'" in caplog.text and 'closest: total_epochs' in caplog.text
    assert "data has no key 'videos_per_gpux'" in caplog.text and 'closest: data.videos_per_gpu' in caplog.text
    assert 'seed' not in caplog.text and 'optimizer.lr' not in caplog.text and cfg.total_epochs == 5
    parser = argparse.ArgumentParser()
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    with pytest.raises(SystemExit):
        parser.parse_args(['--cfg-options', 'data.videos_per_gpu'])
    assert "expects KEY=VALUE items (e.g. data.videos_per_gpu=8" in capsys.readouterr().err
    args = parser.parse_args(['--cfg-options', "data.train.img_prefix=/a/dír ü", 'x=[1, 2]', 'y=a,b', 'z=1e-3'])
    assert args.cfg_options == {'data.train.img_prefix': '/a/dír ü', 'x': [1, 2], 'y': ['a', 'b'], 'z': 0.001}


def test_zero_byte_jpeg_names_the_file(frames):
    root, config = frames
    (root / 'list.txt').write_text('video_0 3 0\n')
    (root / 'frames' / 'video_0' / 'img_00002.jpg').write_bytes(b'')
    dataset = build_dataset(load_config(str(config), {'data.test.num_segments': 3}).data.test)  # every frame
    with pytest.raises(Exception, match=r'video_0/img_00002.jpg: empty file \(0 bytes\)'):
        dataset[0]


class MeanModel(torch.nn.Module):
    """One weight and a loss on the clip's mean: the trainer's bookkeeping without a network's cost."""

    def __init__(self):
        super().__init__()
        self.w = torch.nn.Parameter(torch.zeros(1))

    def forward(self, img_group_0=None, gt_label=None, return_loss=True, **kwargs):
        return dict(loss_x=(self.w * img_group_0.mean() - 1).pow(2).sum())


def test_short_videos_counted_once_per_epoch(frames, tmp_path, caplog):
    from mmaction.datasets import build_dataloader
    from mmaction.engine import Runner, build_lr_scheduler, build_optimizer
    root, config = frames
    # both videos have 3 frames; 5 segments per clip repeat frames in every clip
    (root / 'list.txt').write_text('video_0 3 0\nvideo_1 3 1\n')
    cfg = load_config(str(config), {'data.train.num_segments': 5})
    dataset = build_dataset(cfg.data.train)
    model = MeanModel()
    optimizer = build_optimizer(model, dict(type='SGD', lr=0.01))
    runner = Runner(model, optimizer, build_lr_scheduler(optimizer, dict(policy='step', step=[5])),
                    str(tmp_path / 'work'), max_epochs=2, log_interval=1)
    with caplog.at_level(logging.WARNING, logger='mmaction'):
        runner.run([build_dataloader(dataset, 1, 0, num_gpus=1, dist=False, shuffle=True)], [('train', 1)])
    lines = [r.getMessage() for r in caplog.records if 'shorter than the sampled span' in r.getMessage()]
    assert len(lines) == 2  # once per epoch, not once per sample
    assert lines[0].startswith('Epoch [1]: 2 video(s) shorter than the sampled span') and 'video_1' in lines[0]
    assert 'list.txt:2): 3 frames, the clip samples 5' in lines[0]
    # a long enough video is not reported
    assert dataset._short_video(0, dict(frame_inds=np.array([1, 2, 3]), total_frames=3)) is None
