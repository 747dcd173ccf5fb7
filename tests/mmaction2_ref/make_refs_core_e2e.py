"""Reference for the end-to-end check of tests/test_mmaction2_core_apis.py: mmaction2's own ``init_recognizer`` +
``inference_recognizer`` on the shared demo video, with the tiny Recognizer2D of ``cases_core`` and deterministic
weights. Run with the PEER venv's python, from outside the repo:

    cd /tmp && /tmp/mma2/bin/python /path/to/repo/tests/mmaction2_ref/make_refs_core_e2e.py /path/to/demo.mp4
"""
from __future__ import annotations

import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))

# The config both sides use (an mmaction2 1.x config: model with data_preprocessor, test_dataloader pipeline).
E2E_MODEL = dict(type='Recognizer2D', backbone=dict(type='CoreTestBackbone2D'),
                 cls_head=dict(type='TSNHead', num_classes=5, in_channels=16, spatial_type='avg',
                               consensus=dict(type='AvgConsensus', dim=1), dropout_ratio=0.4, init_std=0.01,
                               average_clips='prob'),
                 data_preprocessor=dict(type='ActionDataPreprocessor', mean=[123.675, 116.28, 103.53],
                                        std=[58.395, 57.12, 57.375], format_shape='NCHW'))
E2E_PIPELINE = [dict(type='DecordInit', io_backend='disk'),
                dict(type='SampleFrames', clip_len=1, frame_interval=1, num_clips=3, test_mode=True),
                dict(type='DecordDecode'), dict(type='Resize', scale=(-1, 40)),
                dict(type='CenterCrop', crop_size=32), dict(type='FormatShape', input_format='NCHW'),
                dict(type='PackActionInputs')]
E2E_CONFIG = dict(model=E2E_MODEL, test_pipeline=E2E_PIPELINE,
                  test_dataloader=dict(batch_size=1, dataset=dict(type='VideoDataset', ann_file='',
                                                                  pipeline=E2E_PIPELINE, test_mode=True)))


def main(video: str) -> None:
    sys.path.insert(0, HERE)
    import cases_core  # noqa: F401  (registers the tiny backbone in the peer's MODELS)
    from mmengine.config import Config
    from mmaction.apis import inference_recognizer, init_recognizer
    from mmaction.utils import register_all_modules
    from weights import fill_deterministic
    register_all_modules()
    model = init_recognizer(Config(E2E_CONFIG), None, device='cpu')
    fill_deterministic(model)
    scores = inference_recognizer(model, video).pred_score.numpy()
    out = os.path.join(HERE, 'refs', 'cases_core', 'e2e_demo_tiny.npz')
    np.savez_compressed(out, probs=scores)
    print(out, scores)


if __name__ == '__main__':
    main(sys.argv[1])
