"""The one inference loop: every test tool, API, demo, feature extraction and the BSN/SSN/AVA paths run their
model through :func:`inference`, with a per-task ``step`` (what one batch gives: score rows, detections, proposals,
features).

The loop is loader-driven: batches come from a ``DataLoader`` (:func:`inference_loader` builds the non-shuffling one),
are moved to the model's device with :func:`mmaction.utils.device.to_device` and go through ``step``. With the
default step each video gives one float32 ``(1, num_classes)`` array (the original ``--out`` pickle entries). When
the loader is split over ranks (``DistributedInterleavedSampler``: rank ``r`` sees dataset indices
``r, r+W, r+2W, ...``, no padding) the parts are interleaved back on rank 0 and the other ranks get ``None``; a
plain in-order loader is run in full by every rank, which keeps its results.
Out of memory is explained once (:class:`InferenceOOMError`); progress goes through
:class:`mmaction.utils.progress.ProgressBar`.
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np
import torch
import torch.nn as nn
from torch.utils.data import SequentialSampler

from mmaction.utils.progress import ProgressBar
from mmaction.utils.device import to_device

from .dist_utils import collect_results, get_dist_info, interleave_parts

Step = Callable[[nn.Module, dict], Sequence]  # (model, batch on the device) -> one result per sample


def _rows(output: Any, batch_size: int) -> list[np.ndarray]:
    """Split a model's test output ``(B, num_classes)`` into ``B`` float32 ``(1, num_classes)`` arrays."""
    if isinstance(output, torch.Tensor):
        output = output.detach().float().cpu().numpy()
    output = np.asarray(output, dtype=np.float32)
    if output.ndim == 1:
        output = output[None]
    if output.ndim != 2 or output.shape[0] != batch_size:
        raise ValueError(f'in test mode the model must return a (batch={batch_size}, num_classes) array, '
                         f'got shape {output.shape}')
    return [np.ascontiguousarray(output[i:i + 1]) for i in range(batch_size)]


def _batch_size(data: dict) -> int:
    for key in ('img_group_0', 'gt_label', 'raw_feature'):
        if isinstance(data.get(key), torch.Tensor):
            return int(data[key].shape[0])
    if isinstance(data.get('img_meta'), list):
        return len(data['img_meta'])
    raise KeyError(f'cannot tell the batch size: the batch has no img_group_0/gt_label/img_meta (keys: {list(data)})')


class InferenceOOMError(RuntimeError):
    """Out of memory during testing, with the batch, the clip shape and the options that fit."""


def inference_oom_message(err: BaseException, data: dict, device: torch.device, batch_index: int) -> str:
    shapes = ', '.join(f'{k} {tuple(v.shape)}' for k, v in data.items()
                       if k.startswith('img_group') and isinstance(v, torch.Tensor))
    first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    return (f'out of memory on {device} while testing batch {batch_index + 1}: {_batch_size(data)} video(s) '
            f'(data.test.videos_per_gpu), clip shape {shapes or "unknown"} ({first}). Every view of a video goes '
            f'through the model in one forward. Options that fit: --cfg-options data.test.videos_per_gpu=1; '
            f'tools/test_recognizer_heavy.py with --batch_size N (N views per forward instead of all of them); '
            f'fewer views (oversample=None instead of ten-crop, fewer num_segments / clips in data.test); '
            f'mixed precision (run the model under torch.autocast, half the activation memory; the test tools '
            f'have no flag for it).')


def _labels(data: dict, batch_size: int) -> list[int]:
    label = data.get('gt_label')
    if not isinstance(label, torch.Tensor):
        return [-1] * batch_size
    return [int(v) for v in label.reshape(batch_size, -1)[:, 0].tolist()]


def recognition_step(model: nn.Module, batch: dict) -> list[np.ndarray]:
    """The recognizers' step: ``model(return_loss=False, **batch)`` split into ``(1, num_classes)`` rows."""
    return _rows(model(return_loss=False, **batch), _batch_size(batch))


def forward_step(model: nn.Module, batch: dict) -> list:
    """``model(return_loss=False, **batch)`` when the model already returns one result per sample (AVA detectors:
    one entry per key-frame)."""
    return list(model(return_loss=False, **batch))


def inference_loader(dataset: Any, batch_size: int = 1, workers: int = 0, distributed: bool = False) -> Any:
    """The loader every test runs on: dataset order, ``batch_size`` samples per batch; ``distributed`` splits it
    over the ranks (rank ``r``: indices ``r, r+W, ...``, no padding). ``dataset`` may be any sequence of samples."""
    from mmaction.datasets.builder import build_dataloader
    return build_dataloader(dataset, batch_size, workers, num_gpus=1, dist=distributed, shuffle=False)


def _split_over_ranks(data_loader: Any, world: int) -> bool:
    """Whether each rank holds a share of the samples: in a process group, any sampler but the plain in-order one
    (which every rank runs in full, e.g. in-memory samples of an inference API call)."""
    return world > 1 and not isinstance(getattr(data_loader, 'sampler', None), SequentialSampler)


@torch.no_grad()
def inference(model: nn.Module, data_loader: Any, size: int | None = None, device: torch.device | None = None,
              tmpdir: str | None = None, with_labels: bool = False, progress: bool = True, step: Step | None = None,
              desc: str = 'testing') -> list | None:
    """Run ``step(model, batch)`` (default :func:`recognition_step`) over the loader; results in dataset order.

    Args:
        size: dataset length (default ``len(data_loader.dataset)``); the result list has exactly this length.
        tmpdir: gather through pickles in this folder (removed afterwards) instead of the process group.
        with_labels: return ``(result, gt_label)`` pairs (label ``-1`` when the batch has no ``gt_label``).
        step: what one batch (already on ``device``) gives: a sequence with one result per sample.
    Returns:
        the list; ``None`` on ranks other than 0 when the loader is split over ranks.
    """
    rank, world = get_dist_info()
    split = _split_over_ranks(data_loader, world)
    step = step or recognition_step
    model.eval()
    device = device or next(model.parameters()).device
    size = len(data_loader.dataset) if size is None else size
    bar = ProgressBar(size, desc, enabled=progress and rank == 0)
    part: list = []
    for batch_index, data in enumerate(data_loader):
        try:
            results = list(step(model, to_device(data, device)))
        except torch.OutOfMemoryError as err:
            # Caught once and explained; retrying with smaller batches would change what the results mean.
            raise InferenceOOMError(inference_oom_message(err, data, device, batch_index)) from None
        part.extend(zip(results, _labels(data, len(results))) if with_labels else results)
        bar.update(min(len(results) * (world if split else 1), size - bar.done))
    bar.close()
    if split:
        return collect_results(part, size, tmpdir=tmpdir)
    return interleave_parts([part], size)  # checks that every sample gave one result


def single_gpu_test(model: nn.Module, data_loader: Any, **kwargs: Any) -> list:
    """One process (CPU or one GPU): results of every video in loader order."""
    return inference(model, data_loader, **kwargs)


def multi_gpu_test(model: nn.Module, data_loader: Any, tmpdir: str | None = None, **kwargs: Any) -> list | None:
    """Every rank tests its share; rank 0 gets all results in dataset order (others ``None``)."""
    return inference(model, data_loader, tmpdir=tmpdir, **kwargs)
