"""Using a trained recognizer from Python: build it from a config and checkpoint, run it on one video or
frame folder, or on sliding windows of a long video.

    from mmaction.apis import init_recognizer, inference_recognizer
    model = init_recognizer('configs/TSN/toy/tsn_toy.py', 'work_dirs/tsn_toy/latest.pth', device='cpu')
    inference_recognizer(model, 'demo.mp4', topk=5, label_map='data/toy/label_map.txt')
    # -> [('circle_slide', 0.93), ('square_spin', 0.03), ...]   (label, probability), best first

The test pipeline is the config's own ``data.test`` (same sampling, crops and normalisation as
``tools/test_recognizer.py``): the input is written into a one-line annotation list and read by the
dataset class that fits it (``VideoDataset`` for a file, ``RawFramesDataset`` for a frame folder), so every
dataset option of the config is honoured. Scores are softmax probabilities over all classes (models in
``fcn_testing`` mode, and mmaction2 models whose head averages clips with ``average_clips='prob'``, already return
probabilities and are not softmaxed again).

mmaction2 1.x configs work too: ``model`` is an mmaction2 dict (``Recognizer2D``/``Recognizer3D`` with a
``data_preprocessor``) and, without ``data.test``, the test pipeline is ``test_dataloader.dataset.pipeline`` (or
``test_pipeline``) run by this project's transforms of the same names. The input is normalised exactly once: by the
model's data preprocessor, unless the test pipeline normalises already (a ``Normalize`` step, or the original flag
form), in which case the preprocessor's normalisation is switched off.
"""
from __future__ import annotations

import contextlib
import copy
import inspect
import logging
import os
import tempfile
from typing import Any, Iterator, Sequence

import numpy as np
import torch
import torch.nn as nn

from mmaction.evaluation.accuracy import softmax
from mmaction.registry import DATASETS, ConfigError, import_all_modules
from mmaction.utils.config import load_config
from mmaction.utils.results import read_label_map

from .model_loading import load_model, normalize_once, output_kind, pipeline_normalizes, resolve_device  # noqa: F401

_TMPL_CANDIDATES = ('img_{:05d}.jpg', 'img_{}.jpg', 'image_{:05d}.jpg', '{:05d}.jpg', 'img_{:05d}.png', '{:06d}.jpg')


def _mmaction2_pipeline(pipeline: Sequence[dict], where: str) -> list[dict]:
    """An mmaction2 test pipeline for this project's datasets: ``PackActionInputs`` is dropped (the dataset packs
    its output itself) and so is ``io_backend='disk'`` (every file is read from disk here)."""
    steps = []
    for i, step in enumerate(pipeline):
        step = dict(step)
        if step.get('type') == 'PackActionInputs':
            continue
        io_backend = step.pop('io_backend', 'disk')
        if io_backend != 'disk':
            raise ConfigError(f"config '{where}[{i}]': io_backend={io_backend!r} is not supported (files are read "
                              f"from local disk)")
        steps.append(step)
    return steps


def inference_data_cfg(cfg: Any) -> dict:
    """The test dataset settings of ``cfg``: ``data.test`` (original configs), else an mmaction2 config's
    ``test_dataloader.dataset`` / ``test_pipeline`` as a ``data.test``-like dict with a ``pipeline``."""
    if 'data' in cfg and 'test' in cfg.data:
        return dict(copy.deepcopy(cfg.data.test))
    dataset = (cfg.get('test_dataloader') or {}).get('dataset') or {}
    for where, pipeline in (('test_dataloader.dataset.pipeline', dataset.get('pipeline')),
                            ('test_pipeline', cfg.get('test_pipeline'))):
        if pipeline:
            test = {k: copy.deepcopy(v) for k, v in dataset.items()
                    if k not in ('type', 'ann_file', 'data_prefix', 'pipeline', 'test_mode')}
            test['pipeline'] = _mmaction2_pipeline(pipeline, where)
            return test
    raise ConfigError(f"{getattr(cfg, 'filename', '<config>')}: config has no 'data.test' and no mmaction2 "
                      f"'test_dataloader.dataset.pipeline' / 'test_pipeline' (the test pipeline is needed to prepare "
                      f"the input)")


def init_recognizer(config: Any, checkpoint: str | None = None, device: str | torch.device = 'cpu',
                    trust_checkpoint: bool = False, strict: bool = True) -> nn.Module:
    """Build the recognizer of ``config`` (path or ``Config``), load ``checkpoint``, move it to ``device``, eval mode
    (:func:`mmaction.apis.model_loading.load_model`). The config is kept as ``model.cfg`` for
    :func:`inference_recognizer`."""
    cfg = load_config(config) if isinstance(config, (str, os.PathLike)) else copy.deepcopy(config)
    try:
        test_data = inference_data_cfg(cfg)
    except ConfigError:
        test_data = None  # no test pipeline in the config: inference will say so; a bare model is still usable
    return load_model(cfg, checkpoint, device, strict=strict, trust_checkpoint=trust_checkpoint, kind='recognizer',
                      test_data=test_data)


def _frame_template(frame_dir: str, tmpl: str | None) -> str:
    """The frame file template of ``frame_dir``: the config's if frame 1 exists under it, else a common one."""
    for candidate in ((tmpl,) if tmpl else ()) + _TMPL_CANDIDATES:
        try:
            if os.path.isfile(os.path.join(frame_dir, candidate.format(1))):
                return candidate
        except (IndexError, KeyError, ValueError):  # a flow template needs two fields
            continue
    raise FileNotFoundError(f'{frame_dir}: no first frame found (tried {", ".join(((tmpl,) if tmpl else ()) + _TMPL_CANDIDATES)}); '
                            f"set 'image_tmpl' in data.test")


def _count_frames(frame_dir: str, tmpl: str) -> int:
    names = set(os.listdir(frame_dir))
    count = 0
    while tmpl.format(count + 1) in names:
        count += 1
    return count


def _dataset_args(test_cfg: dict, dataset_type: str) -> dict:
    """``data.test`` retargeted to ``dataset_type``, keeping only the keys that class accepts."""
    import_all_modules('mmaction.datasets', __import__('mmaction.datasets', fromlist=['x']).__path__)
    cls = DATASETS.get(dataset_type)
    if cls is None:
        raise ConfigError(f"dataset type '{dataset_type}' is not registered (is mmaction.datasets complete?)")
    from mmaction.datasets.flag_pipeline import translate_dataset_cfg
    test_cfg = {k: v for k, v in test_cfg.items() if k != 'img_scale_file'}  # per-video sizes of the test list
    test_cfg = translate_dataset_cfg(dict(test_cfg, type=dataset_type), 'data.test')
    accepted = inspect.signature(cls.__init__).parameters
    args = {k: v for k, v in test_cfg.items() if k in accepted}
    dropped = sorted(set(test_cfg) - set(args) - {'type'})
    if dropped:
        logging.getLogger('mmaction').debug(f'inference: keys {dropped} of data.test do not apply to {dataset_type}')
    args['type'] = dataset_type
    args['test_mode'] = True
    return args


class _SingleInput:
    """A one-sample test dataset over ``source`` (a video file or a frame folder) built from ``data.test``."""

    def __init__(self, cfg: Any, source: str):
        test_cfg = inference_data_cfg(cfg)
        source = os.path.abspath(source)
        self.tmpdir = tempfile.TemporaryDirectory(prefix='mmaction_infer_')
        ann = os.path.join(self.tmpdir.name, 'input_list.txt')
        if os.path.isdir(source):
            args = _dataset_args(test_cfg, 'RawFramesDataset')
            given = args.get('filename_tmpl')
            tmpl = args['filename_tmpl'] = _frame_template(source, given if isinstance(given, str) else None)
            line = f'{os.path.basename(source)} {_count_frames(source, tmpl)} 0'
        elif os.path.isfile(source):
            args = _dataset_args(test_cfg, 'VideoDataset')
            stem, ext = os.path.splitext(os.path.basename(source))
            args['video_ext'] = ext.lstrip('.')
            line = f'{stem} 0'
        else:
            raise FileNotFoundError(f'input not found: {source} (expected a video file or a frame folder)')
        if ' ' in os.path.basename(source):
            raise ValueError(f'{source}: the annotation list format cannot hold names with spaces; rename the input')
        with open(ann, 'w', encoding='utf-8') as f:
            f.write(line + '\n')
        args['ann_file'] = ann
        args['data_prefix'] = os.path.dirname(source)
        self.dataset = _build(args)

    def close(self) -> None:
        self.tmpdir.cleanup()


def _build(args: dict) -> Any:
    from mmaction.datasets import build_dataset
    return build_dataset(args, where='data.test')


def run_samples(model: nn.Module, samples: Sequence[dict], step: Any = None) -> list:
    """Dataset samples already in memory (a clip, sliding windows) through the one inference loop as one batch:
    one ``step`` result per sample (default: a ``(1, num_classes)`` score row)."""
    from mmaction.engine.test_loop import inference, inference_loader
    return inference(model, inference_loader(list(samples), batch_size=len(samples)), progress=False, step=step)


def _scores_to_probs(model: nn.Module, scores: np.ndarray) -> np.ndarray:
    scores = np.asarray(scores, dtype=np.float64)
    if output_kind(model) == 'probabilities':
        return scores  # already averaged softmax probabilities
    return softmax(scores, dim=1)


def predict_samples(model: nn.Module, samples: Sequence[dict]) -> np.ndarray:
    """Run the model on dataset samples; returns probabilities ``(len(samples), num_classes)``."""
    return _scores_to_probs(model, np.concatenate(run_samples(model, samples)))


def class_names(model: nn.Module, label_map: str | Sequence[str] | None, num_classes: int) -> list[Any]:
    """Names from a label-map file or list, else ``model.CLASSES``, else the class indices."""
    if isinstance(label_map, (str, os.PathLike)):
        names = read_label_map(os.fspath(label_map))
    elif label_map is not None:
        names = list(label_map)
    else:
        names = list(getattr(model, 'CLASSES', None) or range(num_classes))
    if len(names) != num_classes:
        raise ValueError(f'label map {label_map if isinstance(label_map, str) else ""} has {len(names)} names '
                         f'but the model predicts {num_classes} classes')
    return names


def topk_labels(probs: np.ndarray, names: Sequence[Any], topk: int) -> list[tuple[Any, float]]:
    """``[(name, probability), ...]`` for the ``topk`` largest entries of ``probs`` (C,), best first.

    Ties keep the lower class index first (stable sort), so results are reproducible.
    """
    order = np.argsort(-probs, kind='stable')[:max(1, min(topk, probs.shape[0]))]
    return [(names[i], float(probs[i])) for i in order]


def inference_recognizer(model: nn.Module, video: str, topk: int = 5, label_map: str | Sequence[str] | None = None,
                         return_scores: bool = False) -> Any:
    """Recognise the action in ``video`` (a video file or a frame folder).

    Returns ``[(label, probability), ...]`` for the ``topk`` best classes, best first (labels are names when a
    label map or ``model.CLASSES`` is available, else class indices). With ``return_scores=True`` returns
    ``(topk_list, probs)`` where ``probs`` is the ``(num_classes,)`` probability vector (sums to 1).
    """
    cfg = getattr(model, 'cfg', None)
    if cfg is None:
        raise ValueError('model has no .cfg: build it with init_recognizer(config, checkpoint, device)')
    single = _SingleInput(cfg, video)
    try:
        probs = predict_samples(model, [single.dataset[0]])[0]
    finally:
        single.close()
    result = topk_labels(probs, class_names(model, label_map, probs.shape[0]), topk)
    return (result, probs) if return_scores else result


class _WindowReader:
    """Frames ``[start, start + length)`` of an open decoder, seen as a video of ``length`` frames."""

    def __init__(self, reader: Any, start: int, length: int):
        self.reader, self.start, self.length = reader, start, length

    @property
    def num_frames(self) -> int:
        return self.length

    @property
    def fps(self) -> float:
        return self.reader.fps

    def get_frames(self, indices: Any) -> np.ndarray:
        return self.reader.get_frames(np.asarray(indices, dtype=np.int64) + self.start)

    def close(self) -> None:
        pass  # the underlying reader is shared by all windows and closed by the caller


def sliding_windows(num_frames: int, window: int, stride: int) -> list[tuple[int, int]]:
    """``[(start, end), ...]`` (0-based, end exclusive) covering ``num_frames``; the last window is aligned to
    the end so no frame is left out; a video shorter than ``window`` gives one window over all of it."""
    if window < 1 or stride < 1:
        raise ValueError(f'window and stride must be >= 1, got window={window}, stride={stride}')
    if num_frames < 1:
        raise ValueError(f'the video has no frames (num_frames={num_frames})')
    if num_frames <= window:
        return [(0, num_frames)]
    starts = list(range(0, num_frames - window + 1, stride))
    if starts[-1] + window < num_frames:
        starts.append(num_frames - window)
    return [(s, s + window) for s in starts]


class _ArrayReader(_WindowReader):
    """In-memory RGB frames ``(T, H, W, 3)`` seen as a video (webcam buffers, already decoded clips)."""

    def __init__(self, frames: np.ndarray, fps: float = 25.0):
        frames = np.asarray(frames)
        if frames.ndim != 4 or frames.shape[-1] != 3 or frames.shape[0] < 1:
            raise ValueError(f'expected RGB frames of shape (T, H, W, 3) with T >= 1, got {frames.shape}')
        self.frames, self._fps = frames, fps
        super().__init__(None, 0, frames.shape[0])

    @property
    def fps(self) -> float:
        return self._fps

    def get_frames(self, indices: Any) -> np.ndarray:
        return self.frames[np.asarray(indices, dtype=np.int64)]


class VideoClipRunner:
    """The config's video test pipeline applied to frame sources other than a file on disk.

    The pipeline's ``VideoInit`` step (which opens ``results['filename']``) is replaced by a given reader, so
    sampling, resizing, cropping and normalisation are exactly those of ``data.test``. Use as a context manager.
    """

    def __init__(self, model: nn.Module, video: str | None = None):
        from mmaction.datasets.pipelines.compose import Compose
        from mmaction.datasets.pipelines.loading import VideoInit
        cfg = getattr(model, 'cfg', None)
        if cfg is None:
            raise ValueError('model has no .cfg: build it with init_recognizer(config, checkpoint, device)')
        self.model = model
        self._placeholder = None
        if video is None:  # in-memory frames: the list needs some file name; it is never opened
            self._placeholder = tempfile.TemporaryDirectory(prefix='mmaction_clip_')
            video = os.path.join(self._placeholder.name, 'frames.mp4')
            open(video, 'wb').close()
        self.single = _SingleInput(cfg, video)
        self.dataset = self.single.dataset
        pipeline = self.dataset.pipelines[0]
        if not pipeline.transforms or not isinstance(pipeline.transforms[0], VideoInit):
            self.close()
            raise ConfigError('clip inference needs a video test pipeline that starts with VideoInit; '
                              f'got {pipeline!r}')
        self.backend = pipeline.transforms[0].backend
        self.rest = Compose(pipeline.transforms[1:])
        self.first = self.dataset.sample_results(0, 0)

    def run(self, readers: Sequence[Any], step: Any = None) -> list:
        """One ``step`` result per reader (default: a score row) through the one inference loop; each reader is
        one clip (``num_frames``, ``fps``, ``get_frames``)."""
        samples = []
        for reader in readers:
            results = dict(self.first, video_reader=reader, total_frames=reader.num_frames, avg_fps=reader.fps,
                           start_index=0)
            samples.append(self.dataset.pack(0, [self.rest(results)]))
        return run_samples(self.model, samples, step)

    def predict(self, readers: Sequence[Any]) -> np.ndarray:
        """Probabilities ``(len(readers), num_classes)`` of the clips ``readers``."""
        return _scores_to_probs(self.model, np.concatenate(self.run(readers)))

    def close(self) -> None:
        if getattr(self, 'single', None) is not None:
            self.single.close()
        if self._placeholder is not None:
            self._placeholder.cleanup()

    def __enter__(self) -> 'VideoClipRunner':
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


@contextlib.contextmanager
def open_video_clips(model: nn.Module, video: str, backend: str | None = None) -> Iterator[tuple]:
    """``(runner, reader, fps)`` for clips of a long ``video`` file: a :class:`VideoClipRunner` over it, its decoder
    opened once for all clips (closed on exit) and its frame rate (25 when the file has none)."""
    from mmaction.datasets.decoders.base import build_decoder
    if not os.path.isfile(video):
        raise FileNotFoundError(f'video not found: {video}')
    with VideoClipRunner(model, video) as runner:
        reader = build_decoder(backend or runner.backend, runner.first['filename'])
        try:
            yield runner, reader, float(reader.fps) if reader.fps and reader.fps > 0 else 25.0
        finally:
            reader.close()


def inference_recognizer_frames(model: nn.Module, frames: np.ndarray, topk: int = 5,
                                label_map: str | Sequence[str] | None = None, fps: float = 25.0,
                                return_scores: bool = False) -> Any:
    """Like :func:`inference_recognizer` for in-memory RGB frames ``(T, H, W, 3)`` uint8 (e.g. a webcam buffer)."""
    with VideoClipRunner(model) as runner:
        probs = runner.predict([_ArrayReader(frames, fps)])[0]
    result = topk_labels(probs, class_names(model, label_map, probs.shape[0]), topk)
    return (result, probs) if return_scores else result


def inference_recognizer_windows(model: nn.Module, video: str, window: int, stride: int, topk: int = 5,
                                 label_map: str | Sequence[str] | None = None, batch_size: int = 4,
                                 backend: str | None = None) -> Iterator[dict]:
    """Sliding-window recognition over a long video file.

    Each window of ``window`` frames (every ``stride`` frames) is treated as a whole video by the config's
    test pipeline (its segments/clips are sampled inside the window). Yields, in order,
    ``dict(start_frame, end_frame, start_time, end_time, topk=[(label, prob), ...], probs=(C,) array)``;
    times are in seconds from the video's frame rate. The video is opened once for all windows.
    """
    with open_video_clips(model, video, backend) as (runner, reader, fps):
        spans = sliding_windows(reader.num_frames, window, stride)
        names = None
        for b in range(0, len(spans), batch_size):
            batch = spans[b:b + batch_size]
            probs = runner.predict([_WindowReader(reader, s, e - s) for s, e in batch])
            names = names or class_names(model, label_map, probs.shape[1])
            for (start, end), p in zip(batch, probs):
                yield dict(start_frame=start, end_frame=end, start_time=start / fps, end_time=end / fps,
                           topk=topk_labels(p, names, topk), probs=p)
