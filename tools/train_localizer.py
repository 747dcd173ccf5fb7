"""Train a temporal localizer (BMN, BSN, SSN): ``python tools/train_localizer.py CONFIG [--work_dir D] ...``.

Multi-GPU / multi-process: ``bash tools/dist_train_localizer.sh CONFIG N [args]`` (torchrun + --launcher pytorch).
"""
from __future__ import annotations

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from mmaction.apis.cli import add_common_args, export_local_rank  # noqa: E402


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Train a temporal action localizer')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work_dir', '--work-dir', dest='work_dir', help='the dir to save logs and models')
    parser.add_argument('--resume_from', '--resume-from', dest='resume_from', help='checkpoint to resume from')
    parser.add_argument('--auto-resume', '--auto_resume', dest='auto_resume', action='store_true',
                        help='resume from the newest checkpoint in work_dir, if any')
    parser.add_argument('--validate', action='store_true', help='run the validation workflow when the engine supports it')
    parser.add_argument('--gpus', type=int, default=1, help='number of gpus to use (non-distributed)')
    parser.add_argument('--seed', type=int, default=None, help='random seed')
    parser.add_argument('--deterministic', action='store_true', help='deterministic cuDNN/torch kernels')
    parser.add_argument('--amp', action='store_true', help='mixed precision (fp16 on CUDA, bf16 on CPU)')
    add_common_args(parser)
    args = parser.parse_args(argv)
    export_local_rank(args)
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    from mmaction.apis import get_root_logger, init_dist, set_random_seed, train_network
    from mmaction.apis.localization import build_localization_dataset
    from mmaction.models import build_localizer
    from mmaction.registry import ConfigError
    from mmaction.utils.config import load_config

    cfg = load_config(args.config, args.cfg_options)
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = os.path.join('./work_dirs', os.path.splitext(os.path.basename(args.config))[0])
    if args.resume_from is not None:
        cfg.resume_from = args.resume_from
    cfg.gpus = args.gpus

    distributed = args.launcher != 'none'
    if distributed:
        dist_params = dict(cfg.get('dist_params') or {})
        init_dist(args.launcher, **dist_params)
    timestamp = time.strftime('%Y%m%d_%H%M%S', time.localtime())
    log_file = os.path.join(cfg.work_dir, f'{timestamp}.log')
    logger = get_root_logger(cfg.get('log_level', 'INFO'), log_file=log_file)
    logger.info(f'Distributed training: {distributed}')
    seed = args.seed if args.seed is not None else cfg.get('seed')
    if seed is not None:
        logger.info(f'Set random seed to {seed}, deterministic: {args.deterministic}')
        set_random_seed(seed, deterministic=args.deterministic)
        cfg.seed = seed

    if 'data' not in cfg or 'train' not in cfg.data:
        raise ConfigError(f"{args.config}: config has no 'data.train' entry (the training dataset)")
    if isinstance(cfg.data.train, (list, tuple)):
        raise ConfigError(f"{args.config}: 'data.train' must be one dataset dict (several training sets were never "
                          f"supported by the original either)")
    model = build_localizer(cfg.model, train_cfg=cfg.get('train_cfg'), test_cfg=cfg.get('test_cfg'))
    dataset = build_localization_dataset(cfg.data.train, 'data.train')
    train_network(model, dataset, cfg, distributed=distributed, validate=args.validate, logger=logger,
                  timestamp=timestamp, amp=args.amp, auto_resume=args.auto_resume,
                  trust_checkpoint=args.trust_checkpoint)
    if distributed:
        import torch.distributed as dist
        dist.destroy_process_group()


if __name__ == '__main__':
    main()
