from .accuracy import (confusion_matrix, format_metrics, fuse_scores, mean_class_accuracy,  # noqa: F401
                       recognition_metrics, softmax, top_k_accuracy)
from .temporal import (ActivityNetLocalization, ar_an_metrics, average_recall_at_avg_proposals,  # noqa: F401
                       detection_map, detection_table, pairwise_temporal_iou, temporal_iou)
from .ava import MAP_KEY as AVA_MAP_KEY, ava_eval, read_labelmap, results2csv  # noqa: F401,E402
