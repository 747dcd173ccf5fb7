from . import backbones, detectors, heads, localizers, mmaction2, necks, recognizers  # noqa: F401  (registration)
from .builder import (build_backbone, build_detector, build_flownet, build_head, build_localizer, build_model,
                      build_neck, build_recognizer, build_roi_extractor, build_segmental_consensus,
                      build_spatial_temporal_module)

__all__ = ['build_backbone', 'build_detector', 'build_flownet', 'build_head', 'build_localizer', 'build_model',
           'build_neck', 'build_recognizer', 'build_roi_extractor', 'build_segmental_consensus',
           'build_spatial_temporal_module']
