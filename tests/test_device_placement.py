"""Issue 20: every test/inference loop hands the model its whole batch on the model's device.

Checked on a CPU machine with the ``meta`` device standing in for a GPU: a probe model whose parameter lives on
``meta`` records the device of every tensor it receives. The AVA test loop once left the multi-view image lists
(a list of key-frames, each a list of views) on the CPU, which failed on a GPU only ("Input type
(torch.FloatTensor) and weight type (torch.cuda.FloatTensor) should be the same").
"""
from __future__ import annotations

import collections

import numpy as np
import pytest
import torch
import torch.nn as nn

from mmaction.utils.device import to_device

from test_ava_tools import ava_setup  # noqa: F401 (fixture: tiny AVA data and config)

META = torch.device('meta')


def _tensor_devices(value, path='batch'):
    """``(path, device)`` of every tensor nested in dicts, lists and tuples."""
    if isinstance(value, torch.Tensor):
        return [(path, value.device)]
    if isinstance(value, dict):
        return [item for k, v in value.items() for item in _tensor_devices(v, f'{path}.{k}')]
    if isinstance(value, (list, tuple)):
        return [item for i, v in enumerate(value) for item in _tensor_devices(v, f'{path}[{i}]')]
    return []


class DeviceProbe(nn.Module):
    """Stands in for a model on ``device``: records where each input tensor arrived, returns ``result(batch)``."""

    def __init__(self, device: torch.device, result):
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(1, device=device))
        self.result = result
        self.seen: list[tuple[str, torch.device]] = []

    def forward(self, return_loss: bool = True, **batch):
        self.seen += _tensor_devices(batch)
        return self.result(batch)

    def misplaced(self) -> list[str]:
        return [f'{path} on {device}' for path, device in self.seen if device != self.weight.device]


def test_to_device_moves_tensors_at_any_depth():
    Pair = collections.namedtuple('Pair', 'a b')
    meta = dict(flip=True, scale_factor=np.ones(4), img_key='v,0902')
    pair = Pair(torch.zeros(1), 2)
    batch = dict(img_group_0=[[torch.zeros(1, 3), torch.ones(1, 3)]], proposals=(torch.zeros(2, 5),),
                 img_meta=[[meta]], num_modalities=torch.tensor([1]), pair=pair, note='x')
    moved = to_device(batch, 'meta')
    assert [device for _, device in _tensor_devices({k: v for k, v in moved.items() if k != 'pair'})] == [META] * 4
    assert isinstance(moved['img_group_0'][0], list) and isinstance(moved['proposals'], tuple)
    assert moved['img_meta'][0][0]['scale_factor'] is meta['scale_factor'] and moved['note'] == 'x'
    assert moved['pair'] is pair  # namedtuples are not rebuilt by position
    assert batch['img_group_0'][0][0].device.type == 'cpu'  # the input is left as it was


def test_ava_test_loop_moves_multi_view_batches_to_the_model_device(ava_setup):  # noqa: F811
    from mmaction.apis.detection import detection_inference
    from mmaction.datasets import build_dataloader, build_dataset
    from mmaction.utils.config import load_config
    _, config = ava_setup
    dataset = build_dataset(load_config(config).data.test)
    loader = build_dataloader(dataset, 1, 0, num_gpus=1, dist=False, shuffle=False)
    probe = DeviceProbe(META, lambda batch: [[] for _ in batch['img_meta']])
    results = detection_inference(probe, loader, len(dataset), META)
    assert len(results) == len(dataset) == 3
    paths = [path for path, _ in probe.seen]
    assert 'batch.img_group_0[0][0]' in paths and 'batch.proposals[0][0]' in paths  # the nested views arrived
    assert probe.misplaced() == []


def test_recognizer_test_loop_moves_batches_to_the_model_device():
    from mmaction.engine.test_loop import inference
    samples = [dict(img_group_0=torch.full((1, 3, 4, 4), float(i)), gt_label=torch.tensor([i]),
                    num_modalities=torch.tensor([1]), img_meta=dict(index=i)) for i in range(3)]
    from mmaction.datasets.builder import collate
    loader = torch.utils.data.DataLoader(samples, batch_size=2, collate_fn=collate)
    probe = DeviceProbe(META, lambda batch: np.zeros((batch['img_group_0'].shape[0], 5), np.float32))
    pairs = inference(probe, loader, with_labels=True, progress=False)  # device: the model's
    assert [label for _, label in pairs] == [0, 1, 2]
    assert len(probe.seen) == 6 and probe.misplaced() == []  # 2 batches x (img_group_0, gt_label, num_modalities)


def test_ssn_test_loop_moves_batches_to_the_model_device():
    from mmaction.apis.localization import run_ssn
    video = dict(img_group_0=torch.zeros(1, 3, 4, 4), num_modalities=torch.tensor([1]), img_meta=dict(ticks=2),
                 rel_prop_list=torch.zeros(1, 2, 2), scaling_list=torch.zeros(1, 2, 2),
                 prop_tick_list=torch.zeros(1, 2, 4, dtype=torch.long), reg_stats=torch.zeros(1, 2, 2))
    probe = DeviceProbe(META, lambda batch: ('scores',))
    assert run_ssn(probe, [video, video]) == [('scores',), ('scores',)]
    assert len(probe.seen) == 12 and probe.misplaced() == []


@pytest.mark.parametrize('device', ['cpu', 'meta'])
def test_probe_catches_a_tensor_left_behind(device):
    """The probe itself: a batch moved only at the top level is reported."""
    probe = DeviceProbe(META, lambda batch: None)
    probe(img_group_0=[[torch.zeros(1, device=device)]])
    assert probe.misplaced() == ([] if device == 'meta' else ['batch.img_group_0[0][0] on cpu'])


class _LoaderBuilt(Exception):
    """Stops train_network once it has asked for its training loader."""


def train_loader_kwargs(device: torch.device, tmp_path, monkeypatch) -> dict:
    """The keyword arguments ``train_network`` builds its training loader with, for a run on ``device``."""
    import mmaction.datasets
    from mmaction.apis import train_network
    from mmaction.utils.config import Config
    seen = {}

    def build_dataloader(dataset, *args, **kwargs):
        seen.update(kwargs)
        raise _LoaderBuilt

    monkeypatch.setattr(mmaction.datasets, 'build_dataloader', build_dataloader)
    cfg = Config(dict(data=dict(videos_per_gpu=2, workers_per_gpu=0), optimizer=dict(type='SGD', lr=0.1),
                      total_epochs=1, work_dir=str(tmp_path / 'work')))
    with pytest.raises(_LoaderBuilt):
        train_network(nn.Linear(1, 1), [], cfg, device=device)
    return seen


def test_training_loader_pins_memory_only_for_cuda(tmp_path, monkeypatch):
    """Pinned batches make the runner's non_blocking copies asynchronous on CUDA; on the CPU pinning is only a cost
    (tests/test_cuda.py checks the CUDA side)."""
    assert train_loader_kwargs(torch.device('cpu'), tmp_path, monkeypatch)['pin_memory'] is False
