"""Run by tests/test_engine_recipes_training.py::test_recipes_on_cuda_nccl in its own process (a clean process
group): ``train_network`` on one GPU under NCCL (world size 1) with an mmaction2 model whose layers ask for SyncBN
(``norm_cfg=dict(type='SyncBN')`` and ``use_syncbn=True``), mixup/cutmix, EMA and gradient accumulation, in fp32 and
with AMP. ``PORT`` and ``WORK_DIR`` come from the environment."""
import os
import time

import torch
import torch.distributed as dist
import torch.nn as nn

os.environ.update(MASTER_ADDR='127.0.0.1', MASTER_PORT=os.environ.get('PORT', '29533'), RANK='0', WORLD_SIZE='1',
                  LOCAL_RANK='0')
t0 = time.time()
print('torch', torch.__version__, 'cuda', torch.cuda.is_available(), flush=True)
torch.cuda.set_device(0)
dist.init_process_group('nccl', rank=0, world_size=1)
from mmcv.cnn import ConvModule  # noqa: E402

from mmaction.apis import train_network  # noqa: E402
from mmaction.models import build_recognizer  # noqa: E402
from mmaction.registry import MODELS  # noqa: E402
from mmaction.utils.checkpoint import load_file  # noqa: E402
from mmaction.utils.config import Config  # noqa: E402
from test_engine_recipes_training import _clips  # noqa: E402


class Flagged(nn.Module):
    def __init__(self):
        super().__init__()
        self.use_syncbn = True
        self.bn = nn.BatchNorm2d(4)

    def forward(self, x):
        return self.bn(x)


class SyncBackbone(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = ConvModule(3, 4, 1, norm_cfg=dict(type='SyncBN'))
        self.flagged = Flagged()

    def forward(self, x):
        return self.flagged(self.conv(x))

    def init_weights(self):
        pass


MODELS.register_module(name='H15SyncBackbone', module=SyncBackbone, force=True)
for amp in (False, True):
    model_cfg = dict(type='Recognizer2D', backbone=dict(type='H15SyncBackbone'),
                     cls_head=dict(type='TSNHead', num_classes=3, in_channels=4, dropout_ratio=0.0,
                                   average_clips='score'),
                     data_preprocessor=dict(type='ActionDataPreprocessor', blending=dict(
                         type='RandomBatchAugment', augments=[dict(type='MixupBlending', num_classes=3, alpha=0.2),
                                                              dict(type='CutmixBlending', num_classes=3, alpha=1.)],
                         probs=[0.5, 0.5])))
    work = os.path.join(os.environ['WORK_DIR'], f'amp_{amp}')
    cfg = Config(dict(model=model_cfg, data=dict(videos_per_gpu=2, workers_per_gpu=0), total_epochs=2, work_dir=work,
                      optimizer=dict(type='SGD', lr=0.01), optimizer_config=dict(accumulative_counts=2),
                      ema=dict(momentum=0.1), log_config=dict(interval=1), seed=0))
    runner = train_network(build_recognizer(model_cfg), _clips(8), cfg, distributed=True, amp=amp,
                           device=torch.device('cuda', 0))
    inner = runner.model.module
    syncs = [n for n, m in inner.named_modules() if isinstance(m, nn.SyncBatchNorm)]
    ema_syncs = [n for n, m in runner.ema.module.named_modules() if isinstance(m, nn.SyncBatchNorm)]
    ckpt = load_file(os.path.join(work, 'latest.pth'))
    print(f'amp={amp}: DDP={type(runner.model).__name__} sync={syncs} ema_sync={ema_syncs} '
          f'ema_steps={runner.ema.steps} iter={runner.iter} ckpt_keys={sorted(ckpt)} '
          f'ema_dev={next(runner.ema.module.parameters()).device} '
          f'scaler={runner.amp.scaler is not None}', flush=True)
    assert syncs == ['backbone.conv.bn', 'backbone.flagged.bn'] and ema_syncs == syncs
    assert runner.ema.steps == 4 and runner.iter == 8 and 'ema_state_dict' in ckpt
dist.destroy_process_group()
print(f'OK in {time.time() - t0:.1f}s')
