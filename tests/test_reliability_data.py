"""Issue 9, bad data: ``--check-data`` (missing folder, short folder, truncated videos), ``skip_bad_samples``
accounting per epoch (through DataLoader workers), a worker's exception naming the sample, out-of-memory in the
test loop. Generated tiny rawframes (cv2 JPEGs) and H.264 videos (PyAV)."""
import os
import sys

import cv2
import numpy as np
import pytest
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)

from test_tools_recognizer import CONFIG, NUM_CLASSES, _load_tool  # noqa: E402

from mmaction.datasets import build_dataloader, build_dataset  # noqa: E402
from mmaction.datasets.base import BadSampleError  # noqa: E402
from mmaction.engine.test_loop import InferenceOOMError, inference  # noqa: E402


def write_frames(folder, count, seed):
    folder.mkdir(parents=True)
    rng = np.random.default_rng(seed)
    for f in range(1, count + 1):
        cv2.imwrite(str(folder / f'img_{f:05d}.jpg'), rng.integers(0, 256, size=(40, 48, 3), dtype=np.uint8))


def write_video(path, frames=20, faststart=False):
    import av
    t = np.arange(frames)[:, None, None, None]
    x = np.arange(64)[None, None, :, None]
    clip = ((x * 4 + t * 8 + np.zeros((frames, 48, 64, 3))) % 256).astype(np.uint8)
    with av.open(str(path), 'w', options={'movflags': 'faststart'} if faststart else {}) as c:
        s = c.add_stream('libx264', rate=25)
        s.width, s.height, s.pix_fmt = 64, 48, 'yuv420p'
        s.options = {'g': '5'}
        for frame in clip:
            for p in s.encode(av.VideoFrame.from_ndarray(frame, format='rgb24')):
                c.mux(p)
        for p in s.encode():
            c.mux(p)


def truncate(path, fraction):
    data = path.read_bytes()
    path.write_bytes(data[:int(len(data) * fraction)])


@pytest.fixture
def rawframes(tmp_path):
    """5 folders listed with 6 frames each: video_0..2 fine, video_3 missing, video_4 has only 4 frames."""
    for v in (0, 1, 2):
        write_frames(tmp_path / 'frames' / f'video_{v}', 6, v)
    write_frames(tmp_path / 'frames' / 'video_4', 4, 4)
    (tmp_path / 'list.txt').write_text(''.join(f'video_{v} 6 {v % NUM_CLASSES}\n' for v in range(5)))
    config = tmp_path / 'tiny.py'
    config.write_text(CONFIG.format(root=tmp_path, num_classes=NUM_CLASSES))
    return tmp_path, config


def test_check_data_reports_missing_short_and_truncated_videos(rawframes, capsys):
    root, config = rawframes
    videos = root / 'videos'
    videos.mkdir()
    write_video(videos / 'good.mp4')
    write_video(videos / 'cut_end.mp4')  # moov atom at the end: the cut file does not open
    truncate(videos / 'cut_end.mp4', 0.5)
    write_video(videos / 'cut_fast.mp4', frames=40, faststart=True)  # index survives, the frames past the cut don't
    truncate(videos / 'cut_fast.mp4', 0.5)
    (root / 'videos.txt').write_text('good 0\n\ncut_end 1\ncut_fast 2\nabsent 0\n')
    val = (f"data.val=dict(type='VideoDataset', ann_file='{root}/videos.txt', img_prefix='{videos}', "
           f"img_norm_cfg=img_norm_cfg, num_segments=2, img_scale=40, input_size=32, test_mode=True)")
    config.write_text(config.read_text() + '\n' + val.replace('data.val=', 'data["val"] = ') + '\n')
    tool = _load_tool('train_recognizer')
    with pytest.raises(SystemExit) as info:
        tool.main([str(config), '--check-data', '--work_dir', str(root / 'work')])
    assert info.value.code == 1
    out = capsys.readouterr().out
    assert f'data.train (RawFramesDataset, {root}/list.txt): 5 samples: 3 OK, 1 missing, 1 short, 0 undecodable' \
        in out, out
    assert f'missing     {root}/list.txt:4  {root}/frames/video_3: frame folder not found' in out
    assert (f'short       {root}/list.txt:5  {root}/frames/video_4: 4 of 6 RGB frame files the list promises '
            f'(num_frames 6); first missing: img_00005.jpg') in out
    assert f'data.val (VideoDataset, {root}/videos.txt): 4 samples: 1 OK, 1 missing, 0 short, 2 undecodable' in out
    lines = {line.split()[1]: line for line in out.splitlines() if line.startswith('  ')}
    assert lines[f'{root}/videos.txt:3'].split()[0] == 'undecodable' and 'cut_end.mp4' in lines[f'{root}/videos.txt:3']
    assert lines[f'{root}/videos.txt:4'].split()[0] == 'undecodable' and 'cut_fast.mp4' in lines[f'{root}/videos.txt:4']
    assert lines[f'{root}/videos.txt:5'].split()[0] == 'missing'
    assert 'check-data: 5 bad sample(s)' in out
    assert not (root / 'work').exists()  # nothing trained


def test_check_data_clean_dataset_exits_zero(rawframes, capsys):
    root, config = rawframes
    (root / 'list.txt').write_text(''.join(f'video_{v} 6 {v % NUM_CLASSES}\n' for v in range(3)) + 'video_4 4 1\n')
    tool = _load_tool('train_recognizer')
    with pytest.raises(SystemExit) as info:
        tool.main([str(config), '--check-data'])
    out = capsys.readouterr().out
    assert info.value.code == 0, out
    assert '4 samples: 4 OK, 0 missing, 0 short, 0 undecodable' in out and 'check-data: all samples OK' in out


def corrupt_folder(folder):
    for name in os.listdir(folder):
        (folder / name).write_bytes(b'not a jpeg at all')


def test_skip_bad_samples_counted_per_epoch_through_workers(rawframes):
    root, config = rawframes
    write_frames(root / 'frames' / 'video_3', 6, 3)
    (root / 'list.txt').write_text(''.join(f'video_{v} 6 {v % NUM_CLASSES}\n' for v in range(4)))
    corrupt_folder(root / 'frames' / 'video_1')  # every frame of list line 2 is undecodable
    work = root / 'work'
    tool = _load_tool('train_recognizer')
    runner = tool.main([str(config), '--work_dir', str(work), '--seed', '0', '--cfg-options', 'total_epochs=2',
                        'data.workers_per_gpu=2', 'data.train.skip_bad_samples=True'])
    assert runner.epoch == 2 and runner.bad_samples_replaced == 1
    from test_engine_runner import read_json_log
    records = [r for r in read_json_log(work) if r['mode'] == 'train']
    ends = [r for r in records if 'bad_samples_replaced' in r]
    # One record per epoch carries the count: video_1 is drawn once per epoch and replaced (workers included).
    assert [(r['epoch'], r['iter'], r['bad_samples_replaced']) for r in ends] == [(1, 2, 1), (2, 2, 1)]
    (log,) = [f for f in os.listdir(work) if f.endswith('.log')]
    text = (work / log).read_text()
    assert text.count('1 bad samples replaced this epoch') == 2
    assert f"RawFramesDataset[1] ({root}/list.txt:2 'video_1 6 1')" in text


def test_worker_exception_names_the_sample(rawframes):
    root, _ = rawframes
    corrupt_folder(root / 'frames' / 'video_2')
    (root / 'list.txt').write_text(''.join(f'video_{v} 6 {v % NUM_CLASSES}\n' for v in range(3)))
    dataset = build_dataset(dict(type='RawFramesDataset', ann_file=str(root / 'list.txt'),
                                 img_prefix=str(root / 'frames'), image_tmpl='img_{:05d}.jpg', num_segments=2,
                                 img_scale=40, input_size=32, test_mode=True,
                                 img_norm_cfg=dict(mean=[0, 0, 0], std=[1, 1, 1], to_rgb=False)))
    loader = build_dataloader(dataset, 1, 2, shuffle=False)
    with pytest.raises(BadSampleError) as info:
        for _ in loader:
            pass
    text = str(info.value)
    assert 'DataLoader worker process' in text  # raised in a worker, re-raised here with its traceback text
    assert f"RawFramesDataset[2] ({root}/list.txt:3 'video_2 6 2')" in text
    assert f'{root}/frames/video_2/img_0000' in text  # the undecodable file itself


class OomModel(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(2, 3)

    def forward(self, return_loss=False, img_group_0=None, **kwargs):
        if img_group_0.shape[0] > 1:
            raise torch.OutOfMemoryError('CUDA out of memory. Tried to allocate 1.50 GiB')
        return self.fc(img_group_0.flatten(1)[:, :2])


def test_out_of_memory_in_test_loop_explained():
    from mmaction.datasets.builder import collate
    items = [dict(img_group_0=torch.zeros(10, 3, 8, 8), gt_label=torch.tensor([0]), img_meta={},
                  num_modalities=torch.tensor([1])) for _ in range(3)]
    loader = torch.utils.data.DataLoader(items, batch_size=2, collate_fn=collate)
    with pytest.raises(InferenceOOMError) as info:
        inference(OomModel(), loader, device=torch.device('cpu'), progress=False)
    text = str(info.value)
    for expected in ('batch 1: 2 video(s)', 'img_group_0 (2, 10, 3, 8, 8)', 'Tried to allocate 1.50 GiB',
                     'data.test.videos_per_gpu=1', 'test_recognizer_heavy.py with --batch_size N', 'autocast'):
        assert expected in text, expected
    assert info.value.__cause__ is None
    one = torch.utils.data.DataLoader(items, batch_size=1, collate_fn=collate)
    assert len(inference(OomModel(), one, device=torch.device('cpu'), progress=False)) == 3
