from .accuracy import confusion_matrix, mean_class_accuracy, softmax, top_k_accuracy  # noqa: F401
from .temporal import (ActivityNetLocalization, ar_an_metrics, average_recall_at_avg_proposals,  # noqa: F401
                       detection_map, detection_table, pairwise_temporal_iou, temporal_iou)
from .ava import MAP_KEY as AVA_MAP_KEY, ava_eval, read_labelmap, results2csv  # noqa: F401,E402
