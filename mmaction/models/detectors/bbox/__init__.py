"""Box utilities of the two-stage detector: transforms, IoU, assigner, sampler (mmdet-v1 semantics)."""
from .assigners import AssignResult, MaxIoUAssigner
from .samplers import RandomSampler, SamplingResult
from .transforms import bbox2result_multilabel, bbox2roi, bbox_flip, bbox_overlaps, labels_to_multihot

__all__ = ['AssignResult', 'MaxIoUAssigner', 'RandomSampler', 'SamplingResult', 'bbox2result_multilabel', 'bbox2roi',
           'bbox_flip', 'bbox_overlaps', 'labels_to_multihot']
