"""BSN stage files and the PEM dataset reading them (mmaction2's BSN layout).

The stages of BSN hand over through folders (``tools/bsn_tem_inference.py``, ``tools/bsn_pgm.py``):

* ``tem_results_dir/<video>.csv``: TEM output, header ``action,start,end,tmin,tmax``, one row per step (T rows);
* ``pgm_proposals_dir/<video>.csv``: proposals, header ``tmin,tmax,tmin_score,tmax_score,score,match_iou,match_ioa``
  (normalised times, best first);
* ``pgm_features_dir/<video>.npy``: ``(P, D)`` float32 boundary-sensitive features, row ``i`` for proposal ``i``.

:class:`BSNProposalDataset` (alias ``PGMFeatureDataset``) reads the last two for PEM training and testing.
"""
from __future__ import annotations

import os
from typing import Sequence

import numpy as np
import torch

from mmaction.ops.pgm import PROPOSAL_COLUMNS
from mmaction.registry import DATASETS
from mmaction.utils.io import atomic_open, open_text

from .activitynet_dataset import ActivityNetDataset

TEM_COLUMNS = ('action', 'start', 'end', 'tmin', 'tmax')


def write_table(path: str, array: np.ndarray, columns: Sequence[str]) -> None:
    """Write ``(N, len(columns))`` numbers as a CSV with a header row, atomically."""
    array = np.asarray(array, dtype=np.float64).reshape(-1, len(columns))
    with atomic_open(path, 'w') as f:
        f.write(','.join(columns) + '\n')
        np.savetxt(f, array, delimiter=',', fmt='%.8g')


def read_table(path: str, columns: Sequence[str]) -> np.ndarray:
    """Read a CSV written by :func:`write_table`; the header must name ``columns`` in order."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f'BSN stage file not found: {path}')
    with open_text(path) as f:
        header = f.readline().strip()
        if header.split(',') != list(columns):
            raise ValueError(f'{path}: line 1 must be the header {",".join(columns)!r}, got {header!r}')
        try:
            table = np.loadtxt(f, dtype=np.float64, delimiter=',', ndmin=2)
        except ValueError as err:
            raise ValueError(f'{path}: expected {len(columns)} comma-separated numbers per row: {err}') from err
    if table.size == 0:
        return np.zeros((0, len(columns)))
    if table.shape[1] != len(columns):
        raise ValueError(f'{path}: rows have {table.shape[1]} values, expected {len(columns)} ({",".join(columns)})')
    return table


def read_tem_result(path: str) -> np.ndarray:
    """``(T, 5)`` TEM output (action, start, end, tmin, tmax) from ``tem_results_dir/<video>.csv``."""
    table = read_table(path, TEM_COLUMNS)
    if table.shape[0] < 2:
        raise ValueError(f'{path}: a TEM result needs at least 2 steps, got {table.shape[0]}')
    return table


def read_pgm_outputs(proposals_dir: str, features_dir: str, video: str, top_k: int | None = None
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Proposals ``(P, 7)`` and BSP features ``(P, D)`` of one video, the first ``top_k`` of each."""
    props = read_table(os.path.join(proposals_dir, video + '.csv'), PROPOSAL_COLUMNS)
    feat_path = os.path.join(features_dir, video + '.npy')
    if not os.path.isfile(feat_path):
        raise FileNotFoundError(f'BSP feature file not found: {feat_path} (run tools/bsn_pgm.py first)')
    feats = np.load(feat_path, allow_pickle=False)
    if feats.ndim != 2 or feats.shape[0] != props.shape[0]:
        raise ValueError(f'{feat_path}: expected (P, D) features with P = {props.shape[0]} (the rows of '
                         f'{video}.csv), got shape {feats.shape}')
    return props[:top_k], feats[:top_k].astype(np.float32)


def write_pgm_outputs(video: str, gt_segments: np.ndarray, tem_results_dir: str, pgm_proposals_dir: str,
                      pgm_features_dir: str, proposals_cfg: dict, features_cfg: dict) -> tuple[str, int]:
    """PGM of one video from its TEM result file to its proposal CSV and BSP feature file (the per-video job of
    ``tools/bsn_pgm.py``; module level so worker processes can unpickle it). Returns (video, proposals written)."""
    from mmaction.ops.pgm import pgm_for_video
    tem = read_tem_result(os.path.join(tem_results_dir, video + '.csv'))
    props, feats = pgm_for_video(tem, proposals_cfg, features_cfg, gt_segments=gt_segments)
    write_table(os.path.join(pgm_proposals_dir, video + '.csv'), props, PROPOSAL_COLUMNS)
    with atomic_open(os.path.join(pgm_features_dir, video + '.npy'), 'wb') as f:
        np.save(f, feats)
    return video, int(props.shape[0])


@DATASETS.register_module()
class BSNProposalDataset(ActivityNetDataset):
    """PEM data: the PGM proposals and BSP features of the videos of an ActivityNet-style annotation file.

    Args:
        ann_file: annotation JSON (video list, durations and GT for evaluation).
        pgm_proposals_dir / pgm_features_dir: folders written by ``tools/bsn_pgm.py``.
        top_k: proposals used per video (mmaction2: 500 for training, 1000 for testing).
        test_mode: training items are ``dict(bsp_feature (P, D), reference_temporal_iou (P,), num_proposals [P], img_meta)``; test
            items are ``dict(raw_feature (P, D), img_meta)`` with ``img_meta['pgm_proposals']`` ``(P, 4)``
            (tmin, tmax, tmin_score, tmax_score), the interface of ``tools/test_localizer.py``.
    """

    def __init__(self, ann_file: str, pgm_proposals_dir: str, pgm_features_dir: str, top_k: int = 1000,
                 test_mode: bool = False, data_prefix: str | None = None, **kwargs):
        if not isinstance(top_k, int) or top_k < 1:
            raise ValueError(f'BSNProposalDataset: top_k must be a positive int, got {top_k!r}')
        self.pgm_proposals_dir = pgm_proposals_dir
        self.pgm_features_dir = pgm_features_dir
        self.top_k = top_k
        super().__init__(ann_file, data_prefix or '', temporal_scale=None, test_mode=test_mode)

    def __getitem__(self, idx: int) -> dict:
        info = self.video_infos[idx]
        props, feats = read_pgm_outputs(self.pgm_proposals_dir, self.pgm_features_dir, info['video_name'], self.top_k)
        meta = {k: v for k, v in info.items() if k != 'annotations'}
        feats = torch.from_numpy(np.ascontiguousarray(feats))
        if self.test_mode:
            meta['pgm_proposals'] = props[:, :4].copy()
            return dict(raw_feature=feats, img_meta=meta)
        # num_proposals (1,) stacks in any batch, so the runner can count videos when the proposal counts differ
        return dict(bsp_feature=feats, reference_temporal_iou=torch.from_numpy(props[:, 5].astype(np.float32)),
                    num_proposals=torch.tensor([feats.shape[0]]), img_meta=meta)


DATASETS.register_module(name='PGMFeatureDataset', module=BSNProposalDataset)
