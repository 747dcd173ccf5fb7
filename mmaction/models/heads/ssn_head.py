"""``SSNHead``: activity, completeness and class-wise regression layers of SSN (v0 §4.3, §8).

Train: ``forward((act_feat (N, A), comp_feat (N, C)))`` -> ``act (N, K+1)``, ``comp (N, K)``, ``reg (N, K, 2)``.
Test: ``tick_scores(feat (T, F))`` -> per-tick scores ``(T, K+1 + 3K * parts)`` for ``STPPReorganized``
(the completeness/regression weights are split into one ``F``-wide slice per STPP part; biases are left out
and added once after pooling by ``add_bias``).
"""
from __future__ import annotations

import torch
import torch.nn as nn

from mmaction.registry import HEADS, ConfigError


@HEADS.register_module()
class SSNHead(nn.Module):
    def __init__(self, dropout_ratio: float = 0.8, in_channels_activity: int = 3072,
                 in_channels_complete: int = 3072, num_classes: int = 20, with_bg: bool = False,
                 with_reg: bool = True) -> None:
        super().__init__()
        # K action classes; with_bg means num_classes already counts the background.
        self.num_classes = num_classes - 1 if with_bg else num_classes
        self.with_reg = with_reg
        self.in_channels_activity, self.in_channels_complete = in_channels_activity, in_channels_complete
        self.dropout = nn.Dropout(p=dropout_ratio) if dropout_ratio > 0 else nn.Identity()
        self.activity_fc = nn.Linear(in_channels_activity, self.num_classes + 1)
        self.completeness_fc = nn.Linear(in_channels_complete, self.num_classes)
        self.regressor_fc = nn.Linear(in_channels_complete, 2 * self.num_classes) if with_reg else None

    def init_weights(self) -> None:
        for fc in (self.activity_fc, self.completeness_fc, self.regressor_fc):
            if fc is not None:
                nn.init.normal_(fc.weight, 0, 0.001)
                nn.init.zeros_(fc.bias)

    def forward(self, feats: tuple[torch.Tensor, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        act_feat, comp_feat = feats
        act = self.activity_fc(self.dropout(act_feat))
        comp_feat = self.dropout(comp_feat)
        comp = self.completeness_fc(comp_feat)
        reg = self.regressor_fc(comp_feat).reshape(-1, self.num_classes, 2) if self.with_reg else None
        return act, comp, reg

    def tick_scores(self, feat: torch.Tensor, standalong_classifier: bool = True) -> torch.Tensor:
        """``(T, F)`` tick features -> ``(T, act | comp x parts | reg x parts)`` bias-free part scores
        (the activity scores keep their bias with a standalong classifier: a mean of affine maps is exact)."""
        dim = feat.shape[1]
        if self.in_channels_complete % dim:
            raise ConfigError(f'SSNHead: in_channels_complete={self.in_channels_complete} is not a multiple of the '
                              f'tick feature size {dim}')
        parts = self.in_channels_complete // dim
        if standalong_classifier:
            act = self.activity_fc(feat)
        else:
            act = torch.einsum('tf,kpf->tpk', feat, self.activity_fc.weight.reshape(-1, parts, dim)).flatten(1)
        comp = torch.einsum('tf,kpf->tpk', feat, self.completeness_fc.weight.reshape(-1, parts, dim)).flatten(1)
        out = [act, comp]
        if self.with_reg:
            out.append(torch.einsum('tf,kpf->tpk', feat,
                                    self.regressor_fc.weight.reshape(-1, parts, dim)).flatten(1))
        return torch.cat(out, dim=1)

    def add_bias(self, act: torch.Tensor, comp: torch.Tensor, reg: torch.Tensor | None,
                 standalong_classifier: bool = True) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        if not standalong_classifier:
            act = act + self.activity_fc.bias
        comp = comp + self.completeness_fc.bias
        if reg is not None:
            reg = (reg + self.regressor_fc.bias).reshape(-1, self.num_classes, 2)
        return act, comp, reg
