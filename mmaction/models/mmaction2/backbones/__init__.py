# Every module in this package registers its classes in mmaction.registry.MODELS on import.
from mmaction.registry import import_all_modules

import_all_modules(__name__, __path__)
