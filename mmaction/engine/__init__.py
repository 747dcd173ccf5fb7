"""Training loop, LR schedules, optimizer building, distributed helpers and test loops."""
from .dist_utils import (barrier, check_nproc, choose_backend, collect_results, get_device, get_dist_info, init_dist,
                         interleave_parts, is_distributed, shutdown_dist, visible_gpus)
from .lr_scheduler import LrScheduler, build_lr_scheduler, lr_schedule
from .optimizer import build_optimizer
from .runner import Runner, find_latest_checkpoint, get_rng_state, parse_losses, set_rng_state
from .test_loop import inference, multi_gpu_test, single_gpu_test

__all__ = ['barrier', 'check_nproc', 'choose_backend', 'collect_results', 'get_device', 'get_dist_info', 'init_dist',
           'interleave_parts', 'is_distributed', 'shutdown_dist', 'visible_gpus', 'LrScheduler', 'build_lr_scheduler',
           'lr_schedule',
           'build_optimizer', 'Runner', 'find_latest_checkpoint', 'get_rng_state', 'parse_losses', 'set_rng_state',
           'inference', 'multi_gpu_test', 'single_gpu_test']
