"""The 3D test configs of §4.5 run through the multi-process test scripts with weights saved by our training.

Toy-sized: the shared sample rawframes (10 RGB frames of 320x240) listed five times, short clips at 64 pixels, two
clips per video, via ``--cfg-options``. The pickle must be the original format (a list, in annotation order, of
float32 ``(1, 400)`` arrays), and the 2-process run must give the same numbers as a 1-process run.
Marked slow (two short trainings of R50 3D networks plus three tests: about 30 s on 2 CPU cores). These two use
the matching ``configs/`` training configs; tests/test_all_test_configs.py covers every other test config.
"""
import sys

import numpy as np
import pytest

from _dist_test_helpers import check_metrics, check_weights_loaded, load_scores, run, sample_list, train

NUM_VIDEOS = 5
LABELS = [7, 0, 399, 3, 42]  # < 400: the Kinetics head


def _train(tmp_path, config: str, ann: str, prefix: str, clip: list[str]) -> str:
    """Two iterations of tools/train_recognizer.py on the sample clip; returns the saved checkpoint."""
    return train(tmp_path, config, [
        f'data.train.ann_file={ann}', f'data.train.img_prefix={prefix}', 'data.train.img_scale=64',
        'data.train.input_size=56', 'data.videos_per_gpu=2', 'model.backbone.pretrained=None',
        # the training configs pool a fixed 4x7x7 window (224 crops); adaptive pooling has no weights, so
        # the checkpoint is the same as with the original module
        'model.spatial_temporal_module.temporal_size=-1', 'model.spatial_temporal_module.spatial_size=-1',
        *[f'data.train.{c}' for c in clip]])


def _test_options(ann: str, prefix: str, clip: list[str]) -> list[str]:
    return ['--cfg-options', f'data.test.ann_file={ann}', f'data.test.img_prefix={prefix}',
            'data.test.num_segments=2', 'data.test.img_scale=64', 'data.test.input_size=64',
            'data.workers_per_gpu=0', *[f'data.test.{c}' for c in clip]]


@pytest.mark.slow
def test_slowonly_test_config_dist_and_single_agree(tmp_path, samples_dir):
    ann, prefix = sample_list(tmp_path, samples_dir, LABELS)
    clip = ['new_length=4', 'new_step=2']
    ckpt = _train(tmp_path, 'configs/SlowOnly/slowonly_kinetics400_se_rgb_r50_seg1_4x16_scratch.py', ann, prefix,
                  clip)
    config = 'test_configs/SlowOnly/slowonly_kinetics400_se_rgb_r50_seg1_4x16.py'
    dist_out, single_out = str(tmp_path / 'dist.pkl'), str(tmp_path / 'single.pkl')
    output = run(['bash', 'tools/dist_test_recognizer.sh', config, ckpt, '2', '--out', dist_out,
                  *_test_options(ann, prefix, clip)])
    check_weights_loaded(output, ckpt)
    dist_scores = load_scores(dist_out, NUM_VIDEOS, 400)
    check_metrics(output, dist_scores, LABELS)  # printed by rank 0 only
    run([sys.executable, 'tools/test_recognizer.py', config, ckpt, '--out', single_out,
         *_test_options(ann, prefix, clip)])
    single_scores = load_scores(single_out, NUM_VIDEOS, 400)
    # Same video -> same scores in both runs, so agreement row by row means dataset order was kept.
    for d, s in zip(dist_scores, single_scores):
        np.testing.assert_allclose(d, s, rtol=1e-4, atol=1e-5)


@pytest.mark.slow
def test_i3d_test_config_dist_heavy(tmp_path, samples_dir):
    ann, prefix = sample_list(tmp_path, samples_dir, LABELS)
    # 8 consecutive frames of the 10; I3D halves time three times (conv1, pool1, pool2): 8 -> 1.
    clip = ['new_length=8', 'new_step=1']
    ckpt = _train(tmp_path, 'configs/I3D_RGB/i3d_kinetics400_3d_rgb_r50_c3d_inflate3x1x1_seg1_f32s2.py', ann,
                  prefix, clip)
    out = str(tmp_path / 'heavy.pkl')
    output = run(['bash', 'tools/dist_test_recognizer_heavy.sh',
                  'test_configs/I3D_RGB/i3d_kinetics400_3d_rgb_r50_c3d_inflate3x1x1_seg1_f32s2.py', ckpt, '2',
                  '--out', out, *_test_options(ann, prefix, clip)])
    check_weights_loaded(output, ckpt)
    scores = load_scores(out, NUM_VIDEOS, 400)
    check_metrics(output, scores, LABELS)
    # The heavy tester averages FCN softmax probabilities: each row is a distribution.
    for s in scores:
        assert s.min() >= 0 and abs(float(s.sum()) - 1.0) < 1e-4
