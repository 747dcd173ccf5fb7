"""mmaction: a config-driven video understanding toolbox (action recognition,
temporal action detection, spatio-temporal action detection)."""
from .version import __version__, mmact_version

__all__ = ['__version__', 'mmact_version']
