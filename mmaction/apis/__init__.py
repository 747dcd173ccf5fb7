"""Public functions the tools call (original ``mmaction.apis``)."""
from .env import get_device, get_dist_info, get_root_logger, init_dist, set_random_seed
from .test import (apply_three_crop_override, evaluate_top_k, multi_gpu_test, recognition_metrics, single_gpu_test,
                   test_recognizer)
from .train import train_network

__all__ = ['get_device', 'get_dist_info', 'get_root_logger', 'init_dist', 'set_random_seed',
           'apply_three_crop_override', 'evaluate_top_k', 'multi_gpu_test', 'recognition_metrics',
           'single_gpu_test', 'test_recognizer', 'train_network']
from .inference import (inference_recognizer, inference_recognizer_frames, inference_recognizer_windows,  # noqa: E402
                        init_recognizer)

__all__ += ['inference_recognizer', 'inference_recognizer_frames', 'inference_recognizer_windows', 'init_recognizer']
from .inference_detector import inference_detector, init_detector  # noqa: E402

__all__ += ['inference_detector', 'init_detector']
from .inference_localizer import inference_localizer, init_localizer  # noqa: E402

__all__ += ['inference_localizer', 'init_localizer']
from .data_check import check_data, check_dataset  # noqa: E402

__all__ += ['check_data', 'check_dataset']
