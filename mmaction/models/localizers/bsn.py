"""BSN end to end: TEM -> PGM -> PEM in one module, for inference on feature sequences.

BSN is trained in stages (TEM on features; PGM on TEM outputs; PEM on the BSP features), as in mmaction2's
``bsn_tem_*`` / ``bsn_pem_*`` configs. This class chains trained TEM and PEM weights so BSN answers the same
``forward(raw_feature, img_meta, return_loss=False) -> [dict(video_name, proposal_list)]`` interface as BMN
(``tools/test_localizer.py``, ``mmaction.apis.inference_localizer``). Its state dict is ``tem.*`` + ``pem.*``;
:meth:`BSN.from_stages` builds it from the two stage checkpoints.
"""
from __future__ import annotations

import os

import torch
import torch.nn as nn

from mmaction.ops.pgm import pgm_for_video
from mmaction.registry import LOCALIZERS

from .pem import PEM
from .tem import TEM


@LOCALIZERS.register_module()
class BSN(nn.Module):
    """Args: ``tem``/``pem``: the stage configs (``type`` optional); ``pgm_proposals_cfg`` /
    ``pgm_features_test_cfg``: as in mmaction2's BSN configs."""

    def __init__(self, tem: dict, pem: dict, pgm_proposals_cfg: dict | None = None,
                 pgm_features_test_cfg: dict | None = None, train_cfg=None, test_cfg=None):
        super().__init__()
        self.tem = TEM(**{k: v for k, v in tem.items() if k != 'type'})
        self.pem = PEM(**{k: v for k, v in pem.items() if k != 'type'})
        self.tscale = self.tem.tscale
        self._set_pgm_cfgs(pgm_proposals_cfg, pgm_features_test_cfg)

    def _set_pgm_cfgs(self, pgm_proposals_cfg: dict | None, pgm_features_test_cfg: dict | None) -> None:
        self.pgm_proposals_cfg = dict(pgm_proposals_cfg or dict(peak_threshold=0.5))
        self.pgm_features_cfg = dict(pgm_features_test_cfg or dict(top_k=1000))

    @classmethod
    def from_stages(cls, tem: TEM, pem: PEM, **kwargs) -> 'BSN':
        """A BSN holding trained ``tem`` and ``pem`` modules (their weights are shared, not copied)."""
        model = cls.__new__(cls)
        nn.Module.__init__(model)
        model.tem, model.pem, model.tscale = tem, pem, tem.tscale
        model._set_pgm_cfgs(kwargs.get('pgm_proposals_cfg'), kwargs.get('pgm_features_test_cfg'))
        return model

    def forward(self, raw_feature: torch.Tensor, img_meta: list | None = None, return_loss: bool = False,
                **kwargs) -> list[dict]:
        """``(B, C, T)`` features -> ``[dict(video_name, proposal_list=[{score, segment}])]`` (testing only)."""
        if return_loss:
            raise ValueError('BSN is trained stage by stage: train its TEM and PEM configs '
                             '(configs/localization/bsn/bsn_tem_*.py, bsn_pem_*.py)')
        metas = img_meta if img_meta is not None else [{} for _ in range(raw_feature.shape[0])]
        tem_results = self.tem(raw_feature, img_meta=metas, return_loss=False)
        feats, tmin, tmax, smin, smax = [], [], [], [], []
        for res in tem_results:
            props, bsp = pgm_for_video(res['tem_output'], self.pgm_proposals_cfg, self.pgm_features_cfg)
            feats.append(bsp)
            tmin.append(props[:, 0])
            tmax.append(props[:, 1])
            smin.append(props[:, 2])
            smax.append(props[:, 3])
        return self.pem(feats, tmin=tmin, tmax=tmax, tmin_score=smin, tmax_score=smax, img_meta=metas,
                        return_loss=False)


def combine_stage_checkpoints(tem_checkpoint: str, pem_checkpoint: str, out: str, trust: bool = False) -> dict:
    """Write a BSN checkpoint (``tem.*`` + ``pem.*``) from the TEM and PEM stage checkpoints, so the end-to-end
    ``bsn_*`` config can be tested with one file. Returns the new state dict."""
    from collections import OrderedDict

    from mmaction.utils.checkpoint import get_state_dict, load_file
    from mmaction.utils.io import atomic_open
    from mmaction.version import mmact_version
    state: OrderedDict = OrderedDict()
    metas = {}
    for prefix, path in (('tem', tem_checkpoint), ('pem', pem_checkpoint)):
        ckpt = load_file(path, map_location='cpu', trust=trust)
        stage = get_state_dict(ckpt, path)
        for key, value in stage.items():
            if key.startswith(('tem.', 'pem.')):
                raise ValueError(f'{path}: key {key!r} looks like a combined BSN checkpoint, expected a {prefix.upper()} '
                                 f'stage checkpoint (keys like conv1.weight / fc1.weight)')
            state[f'{prefix}.{key}'] = value
        metas[f'{prefix}_checkpoint'] = os.path.abspath(path)
        metas[f'{prefix}_epoch'] = ckpt.get('meta', {}).get('epoch') if isinstance(ckpt, dict) else None
    with atomic_open(out, 'wb') as f:
        torch.save({'meta': dict(mmact_version=mmact_version, **metas), 'state_dict': state}, f)
    return state
