from __future__ import annotations

import logging
import os

_FORMAT = '%(asctime)s - %(levelname)s - %(message)s'


def get_root_logger(log_level: str | int = 'INFO', log_file: str | None = None) -> logging.Logger:
    """The 'mmaction' logger: console on rank 0 (errors only elsewhere), plus an optional text file."""
    logger = logging.getLogger('mmaction')
    rank = int(os.environ.get('RANK', '0'))
    if not logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter(_FORMAT))
        logger.addHandler(handler)
    if log_file and rank == 0 and not any(getattr(h, 'baseFilename', None) == os.path.abspath(log_file)
                                          for h in logger.handlers):
        os.makedirs(os.path.dirname(os.path.abspath(log_file)), exist_ok=True)
        file_handler = logging.FileHandler(log_file, 'a')
        file_handler.setFormatter(logging.Formatter(_FORMAT))
        logger.addHandler(file_handler)
    logger.setLevel(log_level if rank == 0 else logging.ERROR)
    return logger
