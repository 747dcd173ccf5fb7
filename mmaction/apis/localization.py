"""Tool logic for temporal localization: train, test (BMN/BSN feature localizers), evaluate SSN pickles."""
from __future__ import annotations

import logging
from typing import Any, Sequence

import torch

from mmaction.registry import ConfigError


def build_localization_dataset(cfg: dict, where: str) -> Any:
    # The localization datasets register on import; importing them here keeps the tools independent of the
    # order in which mmaction.datasets imports its modules.
    from mmaction.datasets import activitynet_dataset, ssn_dataset, tad_feature_dataset  # noqa: F401
    from mmaction.datasets import build_dataset
    return build_dataset(cfg, where=where)


def train_localizer(cfg: Any, distributed: bool = False, validate: bool = False,
                    logger: logging.Logger | None = None, **kwargs) -> Any:
    """Build ``cfg.model`` and ``cfg.data.train`` and run the generic training engine."""
    from mmaction.apis.train import train_network
    from mmaction.models import build_localizer
    model = build_localizer(cfg.model, train_cfg=cfg.get('train_cfg'), test_cfg=cfg.get('test_cfg'))
    dataset = build_localization_dataset(cfg.data.train, 'data.train')
    return train_network(model, dataset, cfg, distributed=distributed, validate=validate, logger=logger, **kwargs)


def feature_localizer_step(model: torch.nn.Module, batch: dict) -> list[dict]:
    """A BMN/BSN-style localizer on a batch of ``raw_feature (B, C, T)``: one ``dict(video_name, ...)`` per video."""
    return model(batch['raw_feature'], img_meta=batch['img_meta'], return_loss=False)


def ssn_step(model: torch.nn.Module, batch: dict) -> list[tuple]:
    """SSN on a one-video batch: its §2.6 4-tuple."""
    return [model(return_loss=False, **batch)]


def _run(step: Any, model: torch.nn.Module, dataset: Any, device: torch.device | None, distributed: bool,
         tmpdir: str | None = None, progress: bool = False) -> list | None:
    """``step`` over ``dataset`` one video at a time through the one inference loop; with ``distributed`` each
    rank runs videos ``rank::world`` and rank 0 gets them all in dataset order (other ranks ``None``)."""
    from mmaction.engine.test_loop import inference, inference_loader
    return inference(model, inference_loader(dataset, distributed=distributed), device=device, tmpdir=tmpdir,
                     progress=progress, step=step, desc='localizing')


def test_feature_localizer(cfg: Any, checkpoint: str, out: str | None = None, eval_metric: str | None = 'AR@AN',
                           device: torch.device | None = None, trust: bool = False, distributed: bool = False,
                           tmpdir: str | None = None, strict: bool = True) -> dict:
    """Load ``checkpoint`` into ``cfg.model``, localize every video of ``cfg.data.test``, write the
    ActivityNet JSON (``out``) and return AR@AN/AUC (when ``eval_metric`` is set; detection mAP with
    ``thumos14``/``activitynet`` for the one-stage detectors on ``TADFeatureDataset``).

    ``distributed``: each rank of the process group runs videos ``rank::world``; rank 0 gathers them in dataset
    order (through ``tmpdir`` when given), writes and evaluates; the other ranks return ``{}``."""
    from mmaction.apis.model_loading import load_model
    model = load_model(cfg, checkpoint, device, strict=strict, trust_checkpoint=trust, kind='localizer')
    dataset = build_localization_dataset(cfg.data.test, 'data.test')
    results = _run(feature_localizer_step, model, dataset, None, distributed, tmpdir, progress=True)
    if results is None:
        return {}
    if out:
        if not out.endswith('.json'):
            raise ValueError(f'--out must be a .json file for proposal results, got {out}')
        dataset.dump_results(results, out)
    from mmaction.evaluation.temporal import evaluate_localization
    return evaluate_localization(dataset, results, eval_metric) if eval_metric else {}


def format_ar_an(metrics: dict) -> str:
    if 'table' in metrics:  # detection mAP (TADFeatureDataset.evaluate) comes with its table
        return metrics['table']
    from mmaction.evaluation.temporal import format_table
    keys = ['AR@1', 'AR@5', 'AR@10', 'AR@100', 'auc']
    return format_table([keys, [f'{100 * metrics[k]:.2f}' if k != 'auc' else f'{metrics[k]:.2f}' for k in keys]],
                        title='Proposal performance (%)')


def eval_localize_results(cfg: Any, outputs: Sequence[Sequence], eval_type: str = 'thumos14',
                          regression: bool = True, score_weights: Sequence[float] | None = None) -> dict:
    """Fuse one or more SSN output lists and evaluate them against ``cfg.data.test.ann_file`` (TAG list)."""
    from mmaction.datasets.ssn_dataset import SSNProposalList
    from mmaction.evaluation.ssn_detection import evaluate_ssn, fuse_outputs
    test = cfg.data.get('test')
    if test is None or 'ann_file' not in test:
        raise ConfigError("config key 'data.test.ann_file' (the TAG proposal list) is required for evaluation")
    props = SSNProposalList(test.ann_file, filter_gt=test.get('filter_gt', True))
    fused = fuse_outputs(outputs, score_weights) if len(outputs) > 1 else list(outputs[0])
    if len(fused) != len(props):
        raise ValueError(f'the results hold {len(fused)} videos but {test.ann_file} has {len(props)} valid videos '
                         f'(videos without GT are dropped)')
    evaluater = dict((cfg.get('test_cfg') or {}).get('ssn', {}).get('evaluater', {}))
    evaluater.pop('cls_score_dict', None)
    return evaluate_ssn(fused, [r.video_id for r in props.video_infos], props.get_all_gt(), eval_type, regression,
                        top_k=evaluater.get('top_k', 2000), nms=evaluater.get('nms', 0.2))



def reorganize_ssn_consensus(model_cfg: Any) -> dict:
    """The original test rewrite (§2.6): ``segmental_consensus`` -> ``STPPReorganized`` with
    ``feat_dim = K + 1 + 3K * stpp_mult`` (standalong classifier), ``act/comp/reg_score_len = K + 1, K, 2K``."""
    from mmaction.models.necks.stpp import parse_stage_config
    cons, head = dict(model_cfg['segmental_consensus']), model_cfg['cls_head']
    if cons.get('type') == 'STPPReorganized':
        return cons
    k = head['num_classes'] - (1 if head.get('with_bg', False) else 0)
    stpp_cfg = cons.get('stpp_cfg', (1, (1, 2), 1))
    mult = sum(parse_stage_config(s)[1] for s in stpp_cfg)
    sc = cons.get('standalong_classifier', False)
    reg = head.get('with_reg', True)
    feat_dim = (k + 1) * (1 if sc else mult) + (k + (2 * k if reg else 0)) * mult
    return dict(type='STPPReorganized', feat_dim=feat_dim, act_score_len=k + 1, comp_score_len=k,
                reg_score_len=2 * k, standalong_classifier=sc, with_regression=reg, stpp_cfg=stpp_cfg)


def run_ssn(model: torch.nn.Module, dataset: Any, device: torch.device | None = None) -> list[tuple]:
    """SSN outputs (§2.6 4-tuples) for every video of an ``SSNDataset(test_mode=True)``, in order."""
    return _run(ssn_step, model, dataset, device, distributed=False)


def test_ssn(cfg: Any, checkpoint: str, out: str | None = None, eval_type: str | None = None,
             regression: bool = True, device: torch.device | None = None, trust: bool = False,
             distributed: bool = False, tmpdir: str | None = None, strict: bool = True) -> dict:
    """Load ``checkpoint`` into the (reorganised) ``cfg.model``, run every valid test video, dump the localizer
    pickle to ``out`` and, with ``eval_type`` (thumos14|activitynet), return the detection mAP table.

    ``distributed``: as in :func:`test_feature_localizer` (rank 0 writes, evaluates and returns the metrics)."""
    from mmaction.apis.model_loading import load_model
    from mmaction.utils.io import check_pickle_path, dump_pickle
    check_pickle_path(out or None)
    model_cfg = dict(cfg.model)
    model_cfg['segmental_consensus'] = reorganize_ssn_consensus(model_cfg)
    model = load_model(cfg, checkpoint, device, strict=strict, trust_checkpoint=trust, kind='localizer',
                       model_cfg=model_cfg)
    dataset = build_localization_dataset(cfg.data.test, 'data.test')
    outputs = _run(ssn_step, model, dataset, None, distributed, tmpdir, progress=True)
    if outputs is None:
        return {}
    if out:
        dump_pickle(outputs, out)
    return eval_localize_results(cfg, [outputs], eval_type, regression) if eval_type else {}
