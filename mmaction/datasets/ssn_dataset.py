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

import math
import os
from dataclasses import dataclass, field

import numpy as np


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
    with open(path) as f:
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
