"""tools/analysis/benchmark_data.py runs on a tiny rawframes config and prints its figures."""
import os
import runpy
import sys

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..'))


def test_benchmark_data_prints_figures(samples_dir, tmp_path, capsys):
    data = os.path.join(samples_dir, 'tests', 'data')
    (tmp_path / 'list.txt').write_text('imgs 10 0\n')
    cfg = tmp_path / 'cfg.py'
    cfg.write_text(
        "img_norm_cfg = dict(mean=[104, 117, 128], std=[1, 1, 1], to_rgb=False)\n"
        f"data = dict(videos_per_gpu=1, workers_per_gpu=0, train=dict(type='RawFramesDataset', "
        f"ann_file={str(tmp_path / 'list.txt')!r}, img_prefix={data!r}, img_norm_cfg=img_norm_cfg, "
        "image_tmpl='img_{:05d}.jpg', num_segments=2, input_size=112, img_scale=128))\n")
    argv = sys.argv
    sys.argv = ['benchmark_data.py', str(cfg), '--num-samples', '3']
    try:
        runpy.run_path(os.path.join(ROOT, 'tools', 'analysis', 'benchmark_data.py'), run_name='__main__')
    finally:
        sys.argv = argv
    out = capsys.readouterr().out
    assert 'samples: 3' in out and 'samples/s' in out and 'frames/s' in out
    for key in ('decode', 'augment', 'sampling'):
        assert key in out
    sys.argv = ['benchmark_data.py', str(cfg), '--split', 'test']
    with pytest.raises(SystemExit, match="no 'data.test'"):
        runpy.run_path(os.path.join(ROOT, 'tools', 'analysis', 'benchmark_data.py'), run_name='__main__')
    sys.argv = argv
