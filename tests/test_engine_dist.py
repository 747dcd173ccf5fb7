"""Two CPU processes under torchrun (gloo): DDP training keeps ranks identical, and test-result gathering
returns dataset order without duplicates when len(dataset) % world_size != 0.

The file is also the worker script: ``torchrun --nproc_per_node=2 tests/test_engine_dist.py OUT_DIR``.
"""
import os
import pickle
import subprocess
import sys

import numpy as np
import pytest
import torch
import torch.nn as nn
from torch.utils.data import DataLoader, Dataset, Sampler

from _dist_test_helpers import cpu_env, free_port  # noqa: E402 (tests/ helper)

HERE = os.path.dirname(os.path.abspath(__file__))
GATHER_SIZE = 7  # odd: rank 0 gets 4 items, rank 1 gets 3


class IndexDataset(Dataset):
    def __len__(self):
        return GATHER_SIZE

    def __getitem__(self, i):
        return dict(img_group_0=torch.tensor([[float(i)]]), gt_label=torch.tensor([i % 3]),
                    num_modalities=torch.tensor([1]), img_meta=dict(index=i))


class IndexModel(nn.Module):
    """Test output row for video i: [i, rank, 0]: tells which video and which process produced it."""

    def __init__(self, rank):
        super().__init__()
        self.rank = rank
        self.dummy = nn.Parameter(torch.zeros(1))

    def forward(self, return_loss=False, img_group_0=None, **kwargs):
        index = img_group_0.reshape(-1, 1)
        return torch.cat([index, torch.full_like(index, self.rank), torch.zeros_like(index)], 1).numpy()


class StridedSampler(Sampler):
    """Rank r gets r, r+W, r+2W, ... without padding (the contract of build_dataloader(dist=True, shuffle=False))."""

    def __init__(self, size, rank, world):
        self.indices = list(range(rank, size, world))

    def __iter__(self):
        return iter(self.indices)

    def __len__(self):
        return len(self.indices)


def worker(out_dir):
    torch.set_num_threads(1)
    from torch.utils.data.distributed import DistributedSampler

    from mmaction.apis import get_dist_info, init_dist, set_random_seed
    from mmaction.engine import Runner, build_lr_scheduler, build_optimizer, multi_gpu_test
    from mmaction.engine.dist_utils import make_tmpdir
    from test_engine_runner import TinyDataset, TinyRecognizer, tiny_collate

    # 'nccl' without a GPU must fall back to gloo; the original's 'port' key must be ignored.
    device = init_dist('pytorch', backend='nccl', port=16187)
    rank, world = get_dist_info()
    assert torch.distributed.get_backend() == ('nccl' if device.type == 'cuda' else 'gloo')
    set_random_seed(rank)  # different init per rank: DDP must broadcast rank 0's weights
    model = nn.parallel.DistributedDataParallel(TinyRecognizer(), broadcast_buffers=False)
    dataset = TinyDataset(12)
    loader = DataLoader(dataset, batch_size=2, sampler=DistributedSampler(dataset, shuffle=True, seed=0),
                        collate_fn=tiny_collate)
    optimizer = build_optimizer(model, dict(type='SGD', lr=0.1, momentum=0.9))
    runner = Runner(model, optimizer, build_lr_scheduler(optimizer, dict(policy='step', step=[1])),
                    os.path.join(out_dir, 'work'), max_epochs=2, log_interval=1, device=device,
                    grad_clip=dict(max_norm=10.0))
    runner.run([loader], [('train', 1)])
    torch.save({k: v.detach().clone() for k, v in model.module.named_parameters()},
               os.path.join(out_dir, f'params_rank{rank}.pt'))

    test_loader = DataLoader(IndexDataset(), batch_size=2, sampler=StridedSampler(GATHER_SIZE, rank, world),
                             collate_fn=tiny_collate)
    tmpdir = make_tmpdir()
    for name, kwargs in (('collective', {}), ('tmpdir', dict(tmpdir=tmpdir))):
        results = multi_gpu_test(IndexModel(rank), test_loader, progress=False, **kwargs)
        if rank == 0:
            with open(os.path.join(out_dir, f'results_{name}.pkl'), 'wb') as f:
                pickle.dump(dict(results=results, tmpdir_left=os.path.exists(tmpdir)), f)
        else:
            assert results is None
    torch.distributed.destroy_process_group()


@pytest.fixture(scope='module')
def dist_run(tmp_path_factory):
    out = tmp_path_factory.mktemp('dist')
    env = cpu_env(PYTHONPATH=os.pathsep.join(
        [os.path.dirname(HERE), HERE, os.environ.get('PYTHONPATH', '')]))
    cmd = [sys.executable, '-m', 'torch.distributed.run', '--nproc_per_node=2', f'--master_port={free_port()}',
           os.path.join(HERE, 'test_engine_dist.py'), str(out)]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return out


def test_ddp_ranks_hold_identical_weights(dist_run):
    p0 = torch.load(dist_run / 'params_rank0.pt')
    p1 = torch.load(dist_run / 'params_rank1.pt')
    assert set(p0) == {'bn.weight', 'bn.bias', 'fc.weight', 'fc.bias'}
    for key in p0:
        assert torch.equal(p0[key], p1[key]), key
    assert not torch.equal(p0['fc.weight'], torch.zeros_like(p0['fc.weight']))
    # only rank 0 writes checkpoints; 12 videos / (2 ranks * 2 per batch) = 3 iterations per epoch
    work = dist_run / 'work'
    assert sorted(f for f in os.listdir(work) if f.endswith('.pth')) == ['epoch_1.pth', 'epoch_2.pth', 'latest.pth']
    ckpt = torch.load(work / 'latest.pth', weights_only=False)
    assert (ckpt['meta']['epoch'], ckpt['meta']['iter']) == (2, 6)
    assert torch.equal(ckpt['state_dict']['fc.weight'], p0['fc.weight'])


@pytest.mark.parametrize('mode', ['collective', 'tmpdir'])
def test_gathered_results_in_dataset_order_without_duplicates(dist_run, mode):
    with open(dist_run / f'results_{mode}.pkl', 'rb') as f:
        saved = pickle.load(f)
    results = saved['results']
    assert len(results) == GATHER_SIZE
    for i, row in enumerate(results):
        assert row.dtype == np.float32 and row.shape == (1, 3)
        assert row[0, 0] == i  # video index
        assert row[0, 1] == i % 2  # produced by rank i % W
    if mode == 'tmpdir':
        assert not saved['tmpdir_left']


if __name__ == '__main__':
    worker(sys.argv[1])
