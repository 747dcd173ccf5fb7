"""Pure tensor/array operators shared by models, datasets and evaluation (no model, dataset or registry imports).

``roi_align``/``roi_pool`` (RoI feature extraction), ``nms`` (box NMS for detection), ``segment_iou`` (1-D tIoU
and IoP), ``temporal_nms`` (hard and BSN/BMN Soft-NMS on numpy segments), ``soft_nms_1d`` (per-class Soft-NMS on
tensors for one-stage detectors), ``pgm`` (BSN's proposal generation and boundary-sensitive features).
Layers: ``mmaction.utils`` <- ``mmaction.ops`` <- ``models``, ``datasets``, ``evaluation``.
"""
