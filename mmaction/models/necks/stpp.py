"""Structured temporal pyramid pooling of SSN (v0 §8): training pooling and its test-time reorganisation.

A proposal is seen as ``num_seg = (starting, course, ending)`` snippets. Each stage is pooled into a pyramid
(``stpp_cfg`` entry ``n`` -> one level of ``n`` parts; a tuple -> several levels), every part feature divided by
the stage's part count and, for the starting/ending stages, multiplied by the proposal's boundary scaling.
"""
from __future__ import annotations

from typing import Any, Sequence

import torch
import torch.nn as nn

from mmaction.registry import SEGMENTAL_CONSENSUSES, ConfigError


def parse_stage_config(stage_cfg: Any) -> tuple[tuple[int, ...], int]:
    """``n`` -> ``((n,), n)``; ``(1, 2)`` -> ``((1, 2), 3)``: pyramid levels and the number of parts."""
    if isinstance(stage_cfg, int) and stage_cfg > 0:
        return (stage_cfg,), stage_cfg
    if isinstance(stage_cfg, (list, tuple)) and stage_cfg and all(isinstance(n, int) and n > 0 for n in stage_cfg):
        return tuple(stage_cfg), sum(stage_cfg)
    raise ConfigError(f"STPP config 'stpp_cfg': a stage must be a positive int or a tuple of them, got {stage_cfg!r}")


def part_bounds(length: int, n_part: int) -> list[tuple[int, int]]:
    """``n_part`` consecutive ``[lo, hi)`` ranges over ``length`` items, ``lo = int(i * length / n_part)``;
    an empty range is widened to one item so every part has a feature."""
    out = []
    for i in range(n_part):
        lo, hi = int(i * length / n_part), int((i + 1) * length / n_part)
        lo = min(lo, max(length - 1, 0))
        out.append((lo, max(hi, lo + 1)))
    return out


class _StagesMixin:
    def _set_stages(self, stpp_cfg: Sequence) -> None:
        if len(stpp_cfg) != 3:
            raise ConfigError(f"STPP config 'stpp_cfg' needs 3 stages (starting, course, ending), got {stpp_cfg!r}")
        parsed = [parse_stage_config(s) for s in stpp_cfg]
        self.stage_parts = tuple(p for p, _ in parsed)
        self.stage_mult = tuple(m for _, m in parsed)
        self.feat_multiplier = sum(self.stage_mult)


@SEGMENTAL_CONSENSUSES.register_module()
class StructuredTemporalPyramidPooling(_StagesMixin, nn.Module):
    """``forward(x (N * S, F), scaling (N, 2))`` -> ``(activity_feat, completeness_feat)``.

    ``completeness_feat`` is ``(N, F * feat_multiplier)`` (parts in starting, course, ending order);
    ``activity_feat`` is the mean course feature ``(N, F)`` with ``standalong_classifier``, else the STPP feature.
    """

    def __init__(self, standalong_classifier: bool = False, stpp_cfg: Sequence = (1, (1, 2), 1),
                 num_seg: Sequence[int] = (2, 5, 2)) -> None:
        super().__init__()
        self.standalong_classifier = standalong_classifier
        self.num_seg = tuple(int(n) for n in num_seg)
        self._set_stages(stpp_cfg)

    def init_weights(self) -> None:
        pass

    def forward(self, x: torch.Tensor, scaling: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        n_seg = sum(self.num_seg)
        src = x.reshape(-1, n_seg, x.shape[-1])
        scaling = scaling.reshape(-1, 2).to(src)
        if scaling.shape[0] != src.shape[0]:
            raise ValueError(f'STPP: {src.shape[0]} proposals of {n_seg} snippets but {scaling.shape[0]} scalings')
        b1, b2 = self.num_seg[0], self.num_seg[0] + self.num_seg[1]
        stages = (src[:, :b1], src[:, b1:b2], src[:, b2:])
        scales = (scaling[:, 0:1], None, scaling[:, 1:2])
        parts = []
        for feat, levels, mult, scale in zip(stages, self.stage_parts, self.stage_mult, scales):
            for n_part in levels:
                for lo, hi in part_bounds(feat.shape[1], n_part):
                    part = feat[:, lo:hi].mean(dim=1) / mult
                    parts.append(part * scale if scale is not None else part)
        stpp = torch.cat(parts, dim=1)
        act = stages[1].mean(dim=1) if self.standalong_classifier else stpp
        return act, stpp


@SEGMENTAL_CONSENSUSES.register_module()
class STPPReorganized(_StagesMixin, nn.Module):
    """Test-time STPP on per-tick scores instead of features (linear layers commute with averaging).

    Input ``(T, feat_dim)`` per-tick scores laid out as ``[act (act_score_len) | comp (comp_score_len x parts)
    | reg (reg_score_len x parts)]`` where part ``j`` of comp/reg is the completeness/regression layer's weight
    slice for STPP part ``j`` applied to the tick feature WITHOUT bias. ``forward(scores, prop_ticks (P, 4),
    scaling (P, 2))`` pools every part over its tick range exactly as the training STPP pools snippets and
    returns ``act (P, act_score_len)``, ``comp (P, comp_score_len)``, ``reg (P, reg_score_len)`` (bias not added).
    Activity is the mean over the course ticks (standalong classifier) or the STPP of the activity scores.
    """

    def __init__(self, feat_dim: int, act_score_len: int, comp_score_len: int, reg_score_len: int,
                 standalong_classifier: bool = False, with_regression: bool = True,
                 stpp_cfg: Sequence = (1, (1, 2), 1)) -> None:
        super().__init__()
        self._set_stages(stpp_cfg)
        self.standalong_classifier = standalong_classifier
        self.act_len, self.comp_len = act_score_len, comp_score_len
        self.reg_len = reg_score_len if with_regression else 0
        want = (act_score_len * (1 if standalong_classifier else self.feat_multiplier)
                + (comp_score_len + self.reg_len) * self.feat_multiplier)
        if feat_dim != want:
            raise ConfigError(f'STPPReorganized: feat_dim={feat_dim} but the score layout needs {want} '
                              f'(act {act_score_len}, comp {comp_score_len}, reg {self.reg_len}, '
                              f'{self.feat_multiplier} STPP parts)')
        self.feat_dim = feat_dim

    def init_weights(self) -> None:
        pass

    def forward(self, scores: torch.Tensor, prop_ticks: torch.Tensor,
                scaling: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        mult = self.feat_multiplier
        a_len = self.act_len * (1 if self.standalong_classifier else mult)
        act_s = scores[:, :a_len]
        comp_s = scores[:, a_len:a_len + self.comp_len * mult].reshape(-1, mult, self.comp_len)
        reg_s = scores[:, a_len + self.comp_len * mult:].reshape(-1, mult, self.reg_len)
        act_nonsc = act_s.reshape(-1, mult, self.act_len) if not self.standalong_classifier else None
        outs_a, outs_c, outs_r = [], [], []
        for ticks, scale in zip(prop_ticks.tolist(), scaling.to(scores).unbind(0)):
            ranges = ((ticks[0], ticks[1]), (ticks[1], ticks[2]), (ticks[2], ticks[3]))
            stage_scales = (scale[0], None, scale[1])
            comp = scores.new_zeros(self.comp_len)
            reg = scores.new_zeros(self.reg_len)
            act = scores.new_zeros(self.act_len)
            j = 0
            for (lo, hi), levels, smult, sscale in zip(ranges, self.stage_parts, self.stage_mult, stage_scales):
                for n_part in levels:
                    for plo, phi in part_bounds(max(hi - lo, 1), n_part):
                        # A stage without any tick (proposal at the video boundary) borrows the nearest tick;
                        # its scaling is 0 there anyway.
                        a = min(lo + plo, scores.shape[0] - 1)
                        b = min(max(lo + phi, a + 1), scores.shape[0])
                        w = (1.0 / smult) * (sscale if sscale is not None else 1.0)
                        comp = comp + comp_s[a:b, j].mean(0) * w
                        reg = reg + reg_s[a:b, j].mean(0) * w
                        if act_nonsc is not None:
                            act = act + act_nonsc[a:b, j].mean(0) * w
                        j += 1
            if self.standalong_classifier:
                act = act_s[ticks[1]:max(ticks[2], ticks[1] + 1)].mean(0)
            outs_a.append(act)
            outs_c.append(comp)
            outs_r.append(reg)
        reg_out = torch.stack(outs_r) if self.reg_len else None
        return torch.stack(outs_a), torch.stack(outs_c), reg_out
