"""mmaction2's MobileNetV2TSM: MobileNetV2 whose shape-keeping inverted residual blocks shift channels in time
before their expansion conv (``layer{i}.{j}.conv.0.net.conv.weight``), as in mmaction2.

Input ``(N * T, 3, H, W)``, ``T = num_segments``; output as :class:`MobileNetV2`.
"""
from __future__ import annotations

from mmaction.registry import MODELS

from ._shift import TemporalShift
from .mobilenet_v2 import InvertedResidual, MobileNetV2


@MODELS.register_module()
class MobileNetV2TSM(MobileNetV2):
    """MobileNetV2 with temporal shift.

    Args:
        num_segments: frames per clip ``T``.
        is_shift: insert the temporal shift.
        shift_div: ``1/shift_div`` of the channels move forward, as many backward.
        pretrained2d: kept for mmaction2 configs; ``pretrained`` is read as a 2D MobileNetV2 checkpoint mapped into
            the shifted blocks.
        **kwargs: :class:`MobileNetV2` arguments.
    """

    def __init__(self, num_segments: int = 8, is_shift: bool = True, shift_div: int = 8, pretrained2d: bool = True,
                 **kwargs) -> None:
        super().__init__(**kwargs)
        self.num_segments = num_segments
        self.is_shift = is_shift
        self.shift_div = shift_div
        self.pretrained2d = pretrained2d
        if is_shift:
            # Only blocks with an identity shortcut and an expansion conv shift, as in mmaction2.
            for m in self.modules():
                if isinstance(m, InvertedResidual) and len(m.conv) == 3 and m.use_res_connect:
                    m.conv[0] = TemporalShift(m.conv[0], num_segments, shift_div)
