"""Crash-safe writes and a restricted unpickler for files that may come from elsewhere."""
from __future__ import annotations

import contextlib
import glob
import io
import os
import pickle
import tempfile
from typing import IO, Any, Iterator


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str = '.tmp') -> Iterator[str]:
    """Yield a temp file name next to ``path``; on success rename it onto ``path``, on failure remove it.

    For writers that want a file name (encoders pick the format from ``suffix``); :func:`atomic_open` wraps it
    for writers that take an open file.
    """
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f'.{os.path.basename(path)}.', suffix=suffix, dir=directory)
    os.close(fd)
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.remove(tmp)
        raise


def stale_atomic_temps(directory: str | os.PathLike, name_glob: str = '*') -> list[str]:
    """Temp files :func:`atomic_path` left in ``directory`` when its process was killed mid-write, for target names
    matching ``name_glob`` (the temp names are ``.<name>.<random><suffix>``, default suffix ``.tmp``)."""
    return glob.glob(os.path.join(os.fspath(directory), f'.{name_glob}.*.tmp'))


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike, mode: str = 'wb') -> Iterator[IO]:
    """Open a temp file next to ``path``; on success fsync and rename it onto ``path``.

    A crash at any moment leaves either the old file or the complete new one, never half a file.
    """
    with atomic_path(path) as tmp:
        with open(tmp, mode) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())


def read_text(path: str | os.PathLike) -> str:
    """The whole file as UTF-8 text; bytes that are not UTF-8 raise a ``ValueError`` naming the file and offset."""
    path = os.fspath(path)
    with open(path, 'rb') as f:
        data = f.read()
    try:
        return data.decode('utf-8')
    except UnicodeDecodeError as err:
        raise ValueError(f'{path}: not UTF-8 text (byte 0x{data[err.start]:02x} at offset {err.start}); '
                         f'annotation, list and CSV files must be UTF-8') from None


def open_text(path: str | os.PathLike) -> io.StringIO:
    """``open(path)`` for parsers: the decoded text (see :func:`read_text`), newlines kept for ``csv``."""
    return io.StringIO(read_text(path), newline='')


def dump_pickle(obj: Any, path: str | os.PathLike) -> None:
    """Pickle ``obj`` to ``path`` atomically."""
    with atomic_open(path, 'wb') as f:
        pickle.dump(obj, f, protocol=pickle.HIGHEST_PROTOCOL)


class PickleLoadError(pickle.UnpicklingError, ValueError):
    """A pickle that is corrupt or holds objects the restricted loader refuses; names the file."""


class RestrictedUnpickler(pickle.Unpickler):
    """Unpickles only builtin containers/scalars and numpy arrays (what result/proposal pickles hold).

    Anything else (``os.system``, arbitrary classes) is refused, so a downloaded pickle cannot run code.
    """

    _ALLOWED = {
        ('builtins', name) for name in ('list', 'dict', 'tuple', 'set', 'frozenset', 'int', 'float', 'complex',
                                        'str', 'bytes', 'bytearray', 'bool', 'slice', 'range')
    } | {
        ('collections', 'OrderedDict'), ('collections', 'defaultdict'),
        ('numpy', 'ndarray'), ('numpy', 'dtype'), ('numpy.core.multiarray', '_reconstruct'),
        ('numpy.core.multiarray', 'scalar'), ('numpy._core.multiarray', '_reconstruct'),
        ('numpy._core.multiarray', 'scalar'), ('numpy._core.numeric', '_frombuffer'),
        ('numpy.core.numeric', '_frombuffer'),
        ('_codecs', 'encode'),
    }

    def __init__(self, file: IO, source: str = '<pickle>'):
        super().__init__(file, encoding='latin1')
        self.source = source

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in self._ALLOWED or (module == 'numpy' and name.endswith('DType')) or \
                (module.startswith('numpy.dtypes') and name.endswith('DType')):
            return super().find_class(module, name)
        raise PickleLoadError(
            f'{self.source}: refusing to unpickle {module}.{name}: only builtin containers and numpy arrays are '
            f'allowed in result/proposal pickles (a pickle can run arbitrary code when loaded)')


def load_pickle(path: str | os.PathLike) -> Any:
    """Load a result/proposal/annotation pickle with the restricted unpickler."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f'pickle file not found: {path}')
    with open(path, 'rb') as f:
        return loads_pickle(f.read(), source=path)


def loads_pickle(data: bytes, source: str = '<bytes>') -> Any:
    """Unpickle bytes with :class:`RestrictedUnpickler`; any corruption raises :class:`PickleLoadError`.

    The data is already in memory, so a frame header claiming more bytes than exist cannot make the
    unpickler allocate them.
    """
    try:
        return RestrictedUnpickler(io.BytesIO(data), source=source).load()
    except PickleLoadError:
        raise
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, OverflowError, MemoryError, IndexError,
            KeyError, AttributeError, RecursionError) as err:
        raise PickleLoadError(f'{source}: not a valid pickle ({type(err).__name__}: {err})') from None
