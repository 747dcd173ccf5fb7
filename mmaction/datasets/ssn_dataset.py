"""TAG proposal lists (SSN, v0 reference §5.7): parsing, GT export and regression statistics.

Format (blocks start with a ``#`` line)::

    # <idx>
    <video_id or frame-folder name>
    <a>                 # a * b = number of frames (denormalised files: a = num_frames, b = 1)
    <b>
    <num_gt>
    <label> <start> <end>                               (num_gt lines, labels 1-based)
    <num_proposals>
    <label> <best_iou> <overlap_self> <start> <end>     (num_proposals lines)

In ``..._normalized_proposal_list.txt`` files start/end are fractions of the video; they are converted to
frames here (``int(round(x * num_frames))``) so both variants give the same records.
"""
from __future__ import annotations

import logging
import math
import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from mmaction.registry import DATASETS, ConfigError
from mmaction.utils.io import open_text

from .base import ORI_SHAPE
from .pipelines.compose import Compose


@dataclass
class SSNInstance:
    """A GT segment or a proposal in frames; ``best_iou``/``overlap_self`` are 0 for GT."""
    start_frame: int
    end_frame: int
    num_video_frames: int
    label: int
    best_iou: float = 0.0
    overlap_self: float = 0.0

    @property
    def coverage(self) -> float:
        return (self.end_frame - self.start_frame) / self.num_video_frames

    @property
    def relative(self) -> tuple[float, float]:
        return self.start_frame / self.num_video_frames, self.end_frame / self.num_video_frames


@dataclass
class SSNVideoRecord:
    video_id: str
    num_frames: int
    gt: list[SSNInstance] = field(default_factory=list)
    proposals: list[SSNInstance] = field(default_factory=list)


def parse_tag_list(path: str, normalized: bool | None = None) -> list[SSNVideoRecord]:
    """Read a TAG proposal list. ``normalized=None`` decides from the file name (``normalized_`` in it).

    Keeps GT and proposals with ``end > start`` and ``start < num_frames`` (as the original dataset does).
    Errors name the file and line.
    """
    if not os.path.isfile(path):
        raise FileNotFoundError(f'proposal list not found: {path}')
    if normalized is None:
        normalized = 'normalized_' in os.path.basename(path)
    with open_text(path) as f:
        lines = [(i + 1, ln.strip()) for i, ln in enumerate(f)]
    lines = [x for x in lines if x[1]]
    records: list[SSNVideoRecord] = []
    pos = 0

    def take(n: int = 1) -> list[tuple[int, str]]:
        nonlocal pos
        if pos + n > len(lines):
            raise ValueError(f'{path}: truncated block at end of file (expected {n} more line(s))')
        out = lines[pos:pos + n]
        pos += n
        return out

    def number(item, kind=int):
        lineno, text = item
        try:
            return kind(text)
        except ValueError as err:
            raise ValueError(f'{path}:{lineno}: expected {kind.__name__}, got {text!r}') from err

    while pos < len(lines):
        lineno, text = take()[0]
        if not text.startswith('#'):
            raise ValueError(f"{path}:{lineno}: expected a block header '# <idx>', got {text!r}")
        video_id = take()[0][1]
        num_frames = int(round(number(take()[0], float) * number(take()[0], float)))
        rec = SSNVideoRecord(video_id, num_frames)
        for kind in ('gt', 'proposal'):
            count = number(take()[0])
            for lineno, text in take(count):
                parts = text.split()
                want = 3 if kind == 'gt' else 5
                if len(parts) != want:
                    raise ValueError(f'{path}:{lineno}: a {kind} line needs {want} fields, got {text!r}')
                vals = [float(p) for p in parts]
                start, end = vals[-2:]
                if normalized:
                    start, end = int(round(start * num_frames)), int(round(end * num_frames))
                start, end = int(start), int(end)
                if not (end > start and start < num_frames):
                    continue
                if kind == 'gt':
                    rec.gt.append(SSNInstance(start, end, num_frames, int(vals[0])))
                else:
                    rec.proposals.append(SSNInstance(start, end, num_frames, int(vals[0]), vals[1], vals[2]))
        records.append(rec)
    return records


def regression_targets(proposal: SSNInstance, gt: SSNInstance) -> tuple[float, float]:
    """``((gt_center - prop_center) / prop_len, log(gt_len / prop_len))``."""
    p_len = proposal.end_frame - proposal.start_frame
    p_center = (proposal.start_frame + proposal.end_frame) / 2
    g_center = (gt.start_frame + gt.end_frame) / 2
    return (g_center - p_center) / p_len, math.log((gt.end_frame - gt.start_frame) / p_len)


def best_gt(proposal: SSNInstance, gts: list[SSNInstance]) -> SSNInstance | None:
    """The GT with the highest tIoU with ``proposal`` (None without GT)."""
    if not gts:
        return None
    ious = [max(0, min(g.end_frame, proposal.end_frame) - max(g.start_frame, proposal.start_frame))
            / ((g.end_frame - g.start_frame) + (proposal.end_frame - proposal.start_frame)
               - max(0, min(g.end_frame, proposal.end_frame) - max(g.start_frame, proposal.start_frame)))
            for g in gts]
    return gts[int(np.argmax(ious))]


def regression_stats(records: list[SSNVideoRecord], fg_iou_thr: float = 0.7) -> np.ndarray:
    """``(2, 2)`` mean (row 0) and std (row 1) of the (center, log-duration) targets of foreground proposals
    (``best_iou > fg_iou_thr``) w.r.t. their best GT; the normalisation of SSN's regression outputs."""
    targets = []
    for rec in records:
        for p in rec.proposals:
            if p.best_iou > fg_iou_thr:
                g = best_gt(p, rec.gt)
                if g is not None:
                    targets.append(regression_targets(p, g))
    if not targets:
        return np.array([[0.0, 0.0], [1.0, 1.0]])
    t = np.array(targets)
    return np.stack([t.mean(0), t.std(0)])


class SSNProposalList:
    """The annotation side of ``SSNDataset``: video records (videos without GT dropped with ``filter_gt``),
    ``get_all_gt()`` rows ``[video_id, label - 1, start / n, end / n]`` and per-video relative proposals.

    Frame loading for training/testing the SSN network goes through the rawframes pipelines.
    """

    def __init__(self, ann_file: str, filter_gt: bool = True, normalized: bool | None = None):
        self.ann_file = ann_file
        records = parse_tag_list(ann_file, normalized)
        self.video_infos = [r for r in records if r.gt] if filter_gt else records

    def __len__(self) -> int:
        return len(self.video_infos)

    def get_all_gt(self) -> list[list]:
        return [[r.video_id, g.label - 1, g.start_frame / r.num_frames, g.end_frame / r.num_frames]
                for r in self.video_infos for g in r.gt]

    def relative_proposals(self, idx: int) -> np.ndarray:
        """``(P, 2)`` float32; a video without proposals gets the whole-video proposal (as at test time)."""
        rec = self.video_infos[idx]
        props = [p.relative for p in rec.proposals] or [(0.0, 1.0)]
        return np.array(props, dtype=np.float32)


# ----------------------------------------------------------------------------------------------------------
# Frame loading (SSNDataset, v0 §5.7 and §5.1): proposal assignment, per-video sampling, snippet sampling.
# ----------------------------------------------------------------------------------------------------------
FG, INCOMPLETE, BG = 0, 1, 2


def assign_proposals(rec: SSNVideoRecord, fg_iou_thr: float = 0.7, bg_iou_thr: float = 0.01,
                     incomplete_iou_thr: float = 0.3, bg_coverage_thr: float = 0.02,
                     incomplete_overlap_thr: float = 0.01,
                     add_gt_as_proposals: bool = True) -> tuple[list[SSNInstance], list[SSNInstance], list[SSNInstance]]:
    """Split a video's proposals into (foreground, incomplete, background) pools.

    fg: ``best_iou > fg_iou_thr`` (plus the GT segments, with ``best_iou = 1``, when ``add_gt_as_proposals``);
    incomplete: ``best_iou < incomplete_iou_thr`` and ``overlap_self > incomplete_overlap_thr``;
    bg: not incomplete, ``best_iou < bg_iou_thr`` and ``coverage > bg_coverage_thr``. Other proposals are unused.
    """
    fg = [p for p in rec.proposals if p.best_iou > fg_iou_thr]
    if add_gt_as_proposals:
        fg += [SSNInstance(g.start_frame, g.end_frame, g.num_video_frames, g.label, 1.0, 1.0) for g in rec.gt]
    incomplete, bg = [], []
    for p in rec.proposals:
        if p.best_iou < incomplete_iou_thr and p.overlap_self > incomplete_overlap_thr:
            incomplete.append(p)
        elif p.best_iou < bg_iou_thr and p.coverage > bg_coverage_thr:
            bg.append(p)
    return fg, incomplete, bg


def per_video_counts(num_per_video: int, fg_ratio: float, bg_ratio: float,
                     incomplete_ratio: float) -> tuple[int, int, int]:
    """(fg, incomplete, bg) proposals drawn per video: ``int(n * r / total)`` for fg and bg, the rest incomplete
    (8 with ratios 1:6:1 -> 1, 6, 1)."""
    total = fg_ratio + bg_ratio + incomplete_ratio
    fg = int(num_per_video * fg_ratio / total)
    bg = int(num_per_video * bg_ratio / total)
    return fg, num_per_video - fg - bg, bg


def segment_offsets(start: int, end: int, num_seg: int, new_length: int, random_shift: bool,
                    rng: np.random.Generator | None = None) -> np.ndarray:
    """``num_seg`` 0-based snippet starts in the frame range ``[start, end)``, TSN-style.

    ``avg = (end - start - new_length + 1) / num_seg``; train: ``start + i * avg + U[0, avg)``, else the segment
    centres ``start + int(avg / 2 + i * avg)``. A range shorter than one snippet repeats ``start``.
    """
    rng = rng or np.random.default_rng()
    span = end - start - new_length + 1
    if span <= 0:
        return np.full(num_seg, start, dtype=np.int64)
    avg = span / num_seg
    base = np.arange(num_seg) * avg
    if random_shift:
        offs = base + rng.random(num_seg) * avg
    else:
        offs = base + avg / 2
    return (start + np.floor(offs)).astype(np.int64).clip(start, start + span - 1)


def context_range(prop: SSNInstance, aug_ratio: tuple[float, float], num_frames: int,
                  new_length: int = 1) -> tuple[int, int, float, float]:
    """Proposal ``[s, e)`` extended by ``aug_ratio * duration`` on each side, clipped to the video.

    Returns ``(ctx_start, ctx_end, starting_scale, ending_scale)``; the scales are the fractions of the wanted
    context that lie inside the video (1 when fully inside; 0 when the proposal touches the boundary).
    """
    duration = prop.end_frame - prop.start_frame
    want_s, want_e = duration * aug_ratio[0], duration * aug_ratio[1]
    last = max(num_frames - new_length + 1, 1)
    ctx_s = max(0, prop.start_frame - int(want_s))
    ctx_e = min(last, prop.end_frame + int(want_e))
    s_scale = (prop.start_frame - ctx_s) / want_s if want_s > 0 else 1.0
    e_scale = (ctx_e - prop.end_frame) / want_e if want_e > 0 else 1.0
    return ctx_s, ctx_e, float(min(max(s_scale, 0.0), 1.0)), float(min(max(e_scale, 0.0), 1.0))


def _pair(value: Any, name: str) -> tuple[float, float]:
    if isinstance(value, (int, float)):
        return (value, value)
    if isinstance(value, (list, tuple)) and len(value) == 2:
        return tuple(value)
    raise ConfigError(f"SSNDataset config key '{name}': expected a number or a pair, got {value!r}")


@DATASETS.register_module()
class SSNDataset(Dataset):
    """SSN training/testing samples from rawframe folders ``data_prefix/<video_id>/`` (original §5.7; flag-form
    configs are translated by ``build_dataset``: their image keys become ``pipeline``, which starts at the
    frame decoder since the dataset samples the snippets of each proposal).

    Train sample (``N = num_per_video`` proposals, ``S = aug_seg[0] + body_seg + aug_seg[1]`` snippets each):
    ``img_group_0 (N * S * new_length, C, H, W)``, ``prop_scaling (N, 2)`` float, ``prop_type (N,)`` long
    (0 fg, 1 incomplete, 2 bg; in that order), ``prop_labels (N,)`` long (1-based, 0 for bg),
    ``reg_targets (N, 2)`` float (normalised with ``reg_stats``; 0 for non-fg). One crop/flip per sample.
    Test sample: ``img_group_0 (crops * T * new_length, C, H, W)`` at the frame ticks
    ``1, 1 + test_interval, ...`` (``T`` ticks), ``rel_prop_list (P, 2)``, ``scaling_list (P, 2)``,
    ``prop_tick_list (P, 4)`` long ``(ctx_start, start, end, ctx_end)`` tick indices with ``end`` exclusive,
    ``reg_stats (2, 2)``.
    """

    def __init__(self, ann_file: str, pipeline: list[dict], data_prefix: str = '', train_cfg: Any = None,
                 test_cfg: Any = None, video_centric: bool = True, reg_stats: Any = None, body_seg: int = 5,
                 aug_seg: Any = (2, 2), aug_ratio: Any = (0.5, 0.5), new_length: int = 1, new_step: int = 1,
                 random_shift: bool = True, modality: str = 'RGB', filename_tmpl: str = 'img_{:05d}.jpg',
                 filter_gt: bool = True, test_mode: bool = False, verbose: bool = False, seed: int | None = None):
        if not video_centric:
            raise ConfigError("SSNDataset: only video_centric=True sampling is implemented (the original's default)")
        if new_step != 1:
            raise ConfigError(f"SSNDataset config key 'new_step': only 1 is supported, got {new_step}")
        self.ann_file, self.img_prefix = ann_file, data_prefix or ''
        self.image_tmpl, self.modality, self.new_length = filename_tmpl, modality, new_length
        self.test_mode, self.random_shift = test_mode, random_shift
        self.body_seg = int(body_seg)
        self.aug_seg = tuple(int(a) for a in _pair(aug_seg, 'aug_seg'))
        self.aug_ratio = tuple(float(a) for a in _pair(aug_ratio, 'aug_ratio'))
        self.rng = np.random.default_rng(seed)
        self.props = SSNProposalList(ann_file, filter_gt=filter_gt)
        self.video_infos = self.props.video_infos
        if not self.video_infos:
            raise ValueError(f'{ann_file}: no valid video (videos without GT are dropped with filter_gt=True)')
        stats = regression_stats(self.video_infos) if reg_stats is None else np.asarray(reg_stats, dtype=np.float64)
        self.reg_stats = np.asarray(stats, dtype=np.float32).reshape(2, 2)
        ssn_train = _cfg_get(train_cfg, 'ssn') if train_cfg is not None else None
        ssn_test = _cfg_get(test_cfg, 'ssn') if test_cfg is not None else None
        if test_mode:
            if ssn_test is None:
                raise ConfigError("SSNDataset(test_mode=True) needs 'test_cfg.ssn.sampler.test_interval'")
            self.test_interval = int(_cfg_get(_cfg_get(ssn_test, 'sampler'), 'test_interval'))
        else:
            if ssn_train is None:
                raise ConfigError("SSNDataset(test_mode=False) needs 'train_cfg.ssn' (assigner and sampler)")
            self.assigner = dict(_cfg_get(ssn_train, 'assigner'))
            sampler = dict(_cfg_get(ssn_train, 'sampler'))
            self.add_gt = bool(sampler.get('add_gt_as_proposals', True))
            self.counts = per_video_counts(sampler['num_per_video'], sampler['fg_ratio'], sampler['bg_ratio'],
                                           sampler['incomplete_ratio'])
            self.pools = [assign_proposals(r, add_gt_as_proposals=self.add_gt, **self.assigner)
                          for r in self.video_infos]
            # Dataset-wide pools of (video index, proposal): used when a video has none of a type.
            self.dataset_pools = [[(v, p) for v, pools in enumerate(self.pools) for p in pools[t]]
                                  for t in (FG, INCOMPLETE, BG)]
            if verbose:
                logging.getLogger('mmaction').info(
                    'SSNDataset %s: %d videos, %d fg / %d incomplete / %d bg proposals', ann_file,
                    len(self.video_infos), *[len(p) for p in self.dataset_pools])
        # The pipeline starts at the frame decoder: SSN chooses the frame indices of every proposal itself.
        self.pipeline = Compose(pipeline, where=f'SSNDataset({ann_file}).pipeline')

    def __len__(self) -> int:
        return len(self.video_infos)

    def get_all_gt(self) -> list[list]:
        return self.props.get_all_gt()

    # -- training ---------------------------------------------------------------------------------------
    def sample_proposals(self, idx: int) -> list[tuple[int, SSNInstance, int]]:
        """``num_per_video`` ``(video index, proposal, type)`` for video ``idx``: fg, then incomplete, then bg.
        A pool smaller than its count is drawn with replacement; an empty pool draws from the dataset pool."""
        out = []
        for ptype, count in zip((FG, INCOMPLETE, BG), self.counts):
            pool = [(idx, p) for p in self.pools[idx][ptype]] or self.dataset_pools[ptype]
            if not pool and count:
                raise ValueError(f'{self.ann_file}: no {("fg", "incomplete", "bg")[ptype]} proposal in the whole '
                                 f'list; check train_cfg.ssn.assigner thresholds {self.assigner}')
            if count:
                picks = self.rng.choice(len(pool), count, replace=len(pool) < count)
                out += [(pool[i][0], pool[i][1], ptype) for i in picks]
        return out

    def proposal_frames(self, prop: SSNInstance) -> tuple[np.ndarray, tuple[float, float]]:
        """0-based snippet starts (``aug_seg[0] + body_seg + aug_seg[1]``) and (starting, ending) scales."""
        n = prop.num_video_frames
        ctx_s, ctx_e, s_scale, e_scale = context_range(prop, self.aug_ratio, n, self.new_length)
        parts = [segment_offsets(ctx_s, prop.start_frame, self.aug_seg[0], self.new_length, self.random_shift,
                                 self.rng),
                 segment_offsets(prop.start_frame, prop.end_frame, self.body_seg, self.new_length,
                                 self.random_shift, self.rng),
                 segment_offsets(prop.end_frame, ctx_e, self.aug_seg[1], self.new_length, self.random_shift,
                                 self.rng)]
        last = max(n - self.new_length, 0)
        return np.concatenate(parts).clip(0, last), (s_scale, e_scale)

    def reg_target(self, rec: SSNVideoRecord, prop: SSNInstance) -> np.ndarray:
        g = best_gt(prop, rec.gt)
        t = np.array(regression_targets(prop, g), dtype=np.float32)
        return (t - self.reg_stats[0]) / self.reg_stats[1]

    def load_frames(self, video_idx: int, starts: np.ndarray, replay: dict | None = None) -> dict:
        """Run the image pipeline on the snippets starting at 0-based ``starts``; ``replay`` repeats the
        crop/flip drawn for an earlier call."""
        rec = self.video_infos[video_idx]
        inds = (starts[:, None] + np.arange(self.new_length)[None]).reshape(-1) + 1  # frames are 1-based
        results = dict(frame_dir=os.path.join(self.img_prefix, rec.video_id), total_frames=rec.num_frames,
                       start_index=0, frame_inds=inds, clip_len=self.new_length, num_clips=len(starts),
                       modality=self.modality, filename_tmpl=self.image_tmpl)
        if replay is not None:
            results['replay'] = replay
        try:
            return self.pipeline(results)
        except Exception as err:
            raise RuntimeError(f'{self.ann_file}: video {rec.video_id!r} (frames under {results["frame_dir"]}): '
                               f'{type(err).__name__}: {err}') from err

    def prepare_train(self, idx: int) -> dict[str, Any]:
        sampled = self.sample_proposals(idx)
        starts, scaling, types, labels, targets = [], [], [], [], []
        imgs = []
        for vid, prop, ptype in sampled:
            frames, scale = self.proposal_frames(prop)
            starts.append((vid, frames))
            scaling.append(scale)
            types.append(ptype)
            labels.append(0 if ptype == BG else prop.label)
            targets.append(self.reg_target(self.video_infos[vid], prop) if ptype == FG else np.zeros(2, np.float32))
        # One pipeline run per proposal (a proposal may come from another video); later runs replay the first
        # run's crop/flip, so the sample has one crop/flip.
        replay = None
        for vid, frames in starts:
            results = self.load_frames(vid, frames, replay)
            replay = results.get('aug_params', replay)
            imgs.append(results['imgs'])
        return dict(num_modalities=torch.tensor([1]), img_meta=self._meta(results),
                    img_group_0=torch.from_numpy(np.ascontiguousarray(np.concatenate(imgs, 0))),
                    prop_scaling=torch.tensor(scaling, dtype=torch.float32),
                    prop_type=torch.tensor(types, dtype=torch.long),
                    prop_labels=torch.tensor(labels, dtype=torch.long),
                    reg_targets=torch.from_numpy(np.stack(targets).astype(np.float32)))

    # -- testing ----------------------------------------------------------------------------------------
    def frame_ticks(self, num_frames: int) -> np.ndarray:
        """0-based snippet starts every ``test_interval`` frames: ``0, k, 2k, ... < num_frames - new_length + 1``."""
        return np.arange(0, max(num_frames - self.new_length + 1, 1), self.test_interval, dtype=np.int64)

    def test_proposal(self, prop: SSNInstance) -> tuple[tuple[int, int, int, int], tuple[float, float]]:
        """Tick indices ``(ctx_start, start, end, ctx_end)`` (``t = frame // test_interval``; every stage
        covers at least one tick) and the (starting, ending) scales."""
        n_ticks = len(self.frame_ticks(prop.num_video_frames))
        ctx_s, ctx_e, s_scale, e_scale = context_range(prop, self.aug_ratio, prop.num_video_frames, self.new_length)
        k = self.test_interval
        ticks = [ctx_s // k, prop.start_frame // k, -(-prop.end_frame // k), -(-ctx_e // k)]
        ticks = [min(max(t, 0), n_ticks) for t in ticks]
        ticks[1] = min(ticks[1], n_ticks - 1)
        ticks[2] = max(ticks[2], ticks[1] + 1)
        ticks[0] = min(ticks[0], ticks[1])
        ticks[3] = max(ticks[3], ticks[2])
        return tuple(ticks), (s_scale, e_scale)

    def prepare_test(self, idx: int) -> dict[str, Any]:
        rec = self.video_infos[idx]
        props = rec.proposals or [SSNInstance(0, rec.num_frames, rec.num_frames, 0)]
        ticks, scales = zip(*[self.test_proposal(p) for p in props])
        frame_ticks = self.frame_ticks(rec.num_frames)
        results = self.load_frames(idx, frame_ticks)
        return dict(num_modalities=torch.tensor([1]), img_meta=dict(self._meta(results), num_ticks=len(frame_ticks)),
                    img_group_0=torch.from_numpy(np.ascontiguousarray(results['imgs'])),
                    rel_prop_list=torch.tensor([p.relative for p in props], dtype=torch.float32),
                    scaling_list=torch.tensor(scales, dtype=torch.float32),
                    prop_tick_list=torch.tensor(ticks, dtype=torch.long),
                    reg_stats=torch.from_numpy(self.reg_stats.copy()))

    @staticmethod
    def _meta(results: dict) -> dict:
        shape = tuple(results.get('img_shape', results['imgs'].shape[-2:])) + (3,)
        return dict(ori_shape=ORI_SHAPE, img_shape=shape, pad_shape=shape, scale_factor=results.get('scale_factor'),
                    crop_quadruple=results.get('crop_quadruple'), flip=bool(results.get('flip', False)))

    def __getitem__(self, idx: int) -> dict[str, Any]:
        return self.prepare_test(idx) if self.test_mode else self.prepare_train(idx)


def _cfg_get(cfg: Any, key: str) -> Any:
    value = cfg.get(key) if hasattr(cfg, 'get') else None
    if value is None:
        raise ConfigError(f"SSN config: missing key {key!r}")
    return value
