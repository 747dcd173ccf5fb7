"""Public functions the tools call (original ``mmaction.apis``). Names are imported on first use (PEP 562), so
``mmaction.apis.cli`` can parse a tool's arguments before torch is imported."""
import sys
import types

from mmaction.utils.lazy import lazy_exports

_EXPORTS = {
    'get_device': 'env', 'get_dist_info': 'env', 'get_root_logger': 'env', 'init_dist': 'env',
    'set_random_seed': 'env',
    'apply_three_crop_override': 'test', 'evaluate_top_k': 'test', 'multi_gpu_test': 'test',
    'recognition_metrics': 'test', 'single_gpu_test': 'test', 'test_recognizer': 'test',
    'train_network': 'train',
    'inference_recognizer': 'inference', 'inference_recognizer_frames': 'inference',
    'inference_recognizer_windows': 'inference', 'init_recognizer': 'inference',
    'inference_detector': 'inference_detector', 'init_detector': 'inference_detector',
    'inference_localizer': 'inference_localizer', 'init_localizer': 'inference_localizer',
    'check_data': 'data_check', 'check_dataset': 'data_check',
}
__all__ = list(_EXPORTS)

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)


class _Package(types.ModuleType):
    """Keeps ``inference_detector``/``inference_localizer`` the functions: importing the submodules of the same name
    would otherwise set the package attribute to the submodule (an eager ``from .x import x`` used to overwrite it)."""

    def __setattr__(self, name: str, value: object) -> None:
        if isinstance(value, types.ModuleType) and _EXPORTS.get(name) == name:
            return  # the submodule stays reachable through sys.modules and ``import mmaction.apis.<name>``
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
