"""``--check-data``: look at every sample of ``data.train`` / ``data.val`` before a long run trips over one.

- frame folders (``RawFramesDataset``): the folder exists and holds every frame the list's ``num_frames`` promises
  (``start_index + offset .. + num_frames - 1`` through each modality's template, x and y for flow); the first
  and the last frame decode;
- videos (``VideoDataset``): the file exists, the container opens with the dataset's decoder, reports a frame
  count > 0, and the first, middle and last frames decode (a cut download fails here: either the index at the end
  of the file is gone, or the frames past the cut do not decode); the frame size is read from them;
- any other dataset: every sample goes through the dataset's own pipeline.

Labels are checked against the model's ``cls_head.num_classes`` (``label``: out of range, with the list line), and
an empty list is an error naming the file.

Each problem is reported with its kind (``missing`` / ``short`` / ``undecodable`` / ``label``), the path and the
list line.
"""
from __future__ import annotations

import copy
import os.path as osp
from dataclasses import dataclass, field
from typing import Any, Sequence

KINDS = ('missing', 'short', 'undecodable', 'label')


@dataclass
class SampleProblem:
    kind: str  # one of KINDS
    path: str
    where: str  # '<ann_file>:<line>'
    detail: str


@dataclass
class SplitReport:
    split: str
    dataset: str
    ann_file: str
    total: int = 0
    problems: list[SampleProblem] = field(default_factory=list)

    @property
    def ok(self) -> int:
        return self.total - len(self.problems)

    def count(self, kind: str) -> int:
        return sum(p.kind == kind for p in self.problems)

    def format(self) -> str:
        counts = ', '.join(f'{self.count(k)} {k}' for k in KINDS)
        lines = [f'data.{self.split} ({self.dataset}, {self.ann_file}): {self.total} samples: {self.ok} OK, {counts}']
        lines += [f'  {p.kind:<11} {p.where}  {p.path}: {p.detail}' for p in self.problems]
        return '\n'.join(lines)


@dataclass
class DataCheckReport:
    splits: list[SplitReport]

    @property
    def ok(self) -> bool:
        return all(not s.problems for s in self.splits)

    def format(self) -> str:
        verdict = 'all samples OK' if self.ok else f'{sum(len(s.problems) for s in self.splits)} bad sample(s)'
        return '\n'.join([s.format() for s in self.splits] + [f'check-data: {verdict}'])


def _where(dataset: Any, info: dict) -> str:
    return f"{dataset.ann_file}:{info.get('line_no', '?')}"


def _check_frame_folder(dataset: Any, idx: int) -> SampleProblem | None:
    import cv2
    info = dataset.video_infos[idx]
    folder = osp.join(dataset.img_prefix, info['frame_dir'])
    where = _where(dataset, info)
    if not osp.isdir(folder):
        return SampleProblem('missing', folder, where, 'frame folder not found')
    first = dataset.start_index + info.get('offset', 0)
    wanted = range(first, first + info['total_frames'])
    for modality, tmpl in zip(dataset.modalities, dataset.image_tmpls):
        axes = ('x', 'y') if modality == 'Flow' else (None,)
        names = [tmpl.format(a, i) if a else tmpl.format(i) for i in wanted for a in axes]
        absent = [n for n in names if not osp.isfile(osp.join(folder, n))]
        if absent:
            return SampleProblem('short', folder, where,
                                 f'{len(names) - len(absent)} of {len(names)} {modality} frame files the list '
                                 f'promises (num_frames {info["total_frames"]}); first missing: {absent[0]}')
        for name in {names[0], names[-1]}:
            flag = cv2.IMREAD_GRAYSCALE if modality == 'Flow' else cv2.IMREAD_COLOR
            if cv2.imread(osp.join(folder, name), flag) is None:
                return SampleProblem('undecodable', folder, where, f'{name} does not decode as an image')
    return None


def _check_video(dataset: Any, idx: int) -> SampleProblem | None:
    from mmaction.datasets.decoders.base import build_decoder
    info = dataset.video_infos[idx]
    path = dataset.video_path(idx)
    where = _where(dataset, info)
    if not osp.isfile(path):
        return SampleProblem('missing', path, where, 'video file not found')
    if osp.getsize(path) == 0:
        return SampleProblem('undecodable', path, where, 'empty file (0 bytes)')
    backend = getattr(dataset, 'backend', 'auto') or 'auto'
    try:
        with build_decoder(backend, path, num_threads=1) as reader:
            n = reader.num_frames
            if n <= 0:
                return SampleProblem('undecodable', path, where, 'the container reports no frames')
            for index in sorted({0, n // 2, n - 1}):
                frame = reader.get_frames([index])
                if frame.ndim != 4 or frame.shape[1] == 0 or frame.shape[2] == 0:
                    return SampleProblem('undecodable', path, where, f'frame {index} of {n} is empty {frame.shape}')
    except Exception as err:  # noqa: BLE001 - every backend error is a finding, not a crash of the check
        text = str(err).strip().splitlines()[0] if str(err).strip() else ''
        return SampleProblem('undecodable', path, where, f'{type(err).__name__}: {text}')
    return None


def _check_by_pipeline(dataset: Any, idx: int) -> SampleProblem | None:
    info = dataset.video_infos[idx] if hasattr(dataset, 'video_infos') else {}
    path = str(info.get('path', info.get('frame_dir', info.get('filename', f'sample {idx}'))))
    try:
        dataset.run_pipelines(idx) if hasattr(dataset, 'run_pipelines') else dataset[idx]
    except FileNotFoundError as err:
        return SampleProblem('missing', path, _where(dataset, info), str(err))
    except Exception as err:  # noqa: BLE001
        kind = 'missing' if isinstance(err.__cause__, FileNotFoundError) else 'undecodable'
        return SampleProblem(kind, path, _where(dataset, info), f'{type(err).__name__}: {err}')
    return None


def check_dataset(dataset: Any, split: str = 'train') -> SplitReport:
    """Check every sample of one built dataset (see the module docstring)."""
    from mmaction.datasets.rawframes_dataset import RawFramesDataset
    from mmaction.datasets.video_dataset import VideoDataset
    if isinstance(dataset, RawFramesDataset):
        check = _check_frame_folder
    elif isinstance(dataset, VideoDataset):
        check = _check_video
    else:
        check = _check_by_pipeline
    report = SplitReport(split, type(dataset).__name__, str(getattr(dataset, 'ann_file', '?')), total=len(dataset))
    for idx in range(len(dataset)):
        problem = check(dataset, idx)
        if problem is not None:
            report.problems.append(problem)
    return report


def head_num_classes(model_cfg: Any) -> int | None:
    """``cls_head.num_classes`` of a model config (v0 and mmaction2 recognizers), ``None`` when it has none."""
    head = model_cfg.get('cls_head') if isinstance(model_cfg, dict) else None
    value = head.get('num_classes') if isinstance(head, dict) else None
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _labels(dataset: Any) -> list[tuple[int, dict]] | None:
    infos = getattr(dataset, 'video_infos', None)
    if not isinstance(infos, list) or not infos or not all(isinstance(i, dict) and 'label' in i for i in infos):
        return None
    out = []
    for info in infos:
        labels = info['label']
        out += [(label, info) for label in (labels if isinstance(labels, (list, tuple)) else [labels])
                if isinstance(label, int)]
    return out


def label_problems(dataset: Any, num_classes: int) -> list[SampleProblem]:
    """One ``label`` problem per list line whose label a ``num_classes``-way head cannot take."""
    problems = []
    for label, info in _labels(dataset) or []:
        if not 0 <= label < num_classes:
            path = str(info.get('path', info.get('frame_dir', '?')))
            problems.append(SampleProblem('label', path, _where(dataset, info),
                                          f'label {label} outside [0, {num_classes - 1}] (model '
                                          f'cls_head.num_classes={num_classes})'))
    return problems


def check_labels_against_head(dataset: Any, model_cfg: Any, logger: Any, split: str = 'train',
                              model: Any = None) -> None:
    """Before training: labels out of the head's range are an error (file:line); a head whose class count
    differs from the labels seen (a config without ``cls_head.num_classes`` gets the head's 101-way default) is
    a warning. The built ``model``'s ``cls_head.num_classes`` wins over the config's when given."""
    head = getattr(getattr(model, 'module', model), 'cls_head', None)
    built = getattr(head, 'num_classes', None)
    num_classes = built if isinstance(built, int) and not isinstance(built, bool) else head_num_classes(model_cfg)
    labels = _labels(dataset)
    if num_classes is None or labels is None:
        return
    problems = label_problems(dataset, num_classes)
    if problems:
        from mmaction.datasets.annotations import AnnotationError
        more = f'\n  ... and {len(problems) - 5} more' if len(problems) > 5 else ''
        raise AnnotationError(f'data.{split}: {len(problems)} label(s) out of range for the model\'s {num_classes} '
                              f'classes:\n  ' + '\n  '.join(f'{p.where}: {p.detail}' for p in problems[:5]) + more)
    seen = max(label for label, _ in labels) + 1
    if seen != num_classes:
        logger.warning(f"model cls_head.num_classes={num_classes} but the labels of data.{split} "
                       f"({getattr(dataset, 'ann_file', '?')}) span 0..{seen - 1} ({seen} classes): check "
                       f"'model.cls_head.num_classes' in the config")


def check_data(cfg: Any, splits: Sequence[str] = ('train', 'val')) -> DataCheckReport:
    """Build ``cfg.data.<split>`` for each split present (annotation lists are validated while building) and check
    every sample. Returns the report; ``report.ok`` is False when anything is missing, short or undecodable."""
    from mmaction.datasets import build_dataset
    from mmaction.registry import ConfigError
    if 'data' not in cfg:
        raise ConfigError("--check-data: the config has no 'data' entry")
    reports = []
    for split in splits:
        if split not in cfg.data:
            continue
        entries = cfg.data[split]
        for entry in entries if isinstance(entries, (list, tuple)) else [entries]:
            ds_cfg = copy.deepcopy(entry)
            ds_cfg.pop('skip_bad_samples', None)  # the check must see bad samples, not their replacements
            dataset = build_dataset(ds_cfg)
            report = check_dataset(dataset, split)
            num_classes = head_num_classes(cfg.get('model'))
            if num_classes is not None:
                report.problems += label_problems(dataset, num_classes)
            reports.append(report)
    if not reports:
        raise ConfigError(f"--check-data: the config has none of {', '.join('data.' + s for s in splits)}")
    return DataCheckReport(reports)
