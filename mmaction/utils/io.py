"""Crash-safe writes and a restricted unpickler for files that may come from elsewhere."""
from __future__ import annotations

import contextlib
import glob
import io
import os
import pickle
import re
import shutil
import tempfile
from typing import IO, Any, Iterator


# Temp names of the atomic writers: ``.<target name>.<8 random chars>.tmp`` plus, for files, the target's
# extension (encoders pick the container from it). One pattern, so one sweep finds the debris of killed runs.
_TEMP_SUFFIX = '.tmp'
_TEMP_RE = re.compile(r'^\..+\.[A-Za-z0-9_]{8}\.tmp(\.[^.]+)?$')


def _umask() -> int:
    """The process umask, without the ``os.umask`` set-and-restore race where the kernel reports it."""
    try:
        with open('/proc/self/status') as f:
            for line in f:
                if line.startswith('Umask:'):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _temp_name(path: str, suffix: str, make_dir: bool) -> str:
    """A fresh temp file/dir next to ``path`` with the mode a plain ``open``/``mkdir`` would give: ``mkstemp`` and
    ``mkdtemp`` create private (0600/0700) entries, which would make every output unreadable to other users."""
    directory = os.path.dirname(path)
    os.makedirs(directory, exist_ok=True)
    prefix = f'.{os.path.basename(path)}.'
    if make_dir:
        tmp = tempfile.mkdtemp(prefix=prefix, suffix=suffix, dir=directory)
        os.chmod(tmp, 0o777 & ~_umask())
    else:
        fd, tmp = tempfile.mkstemp(prefix=prefix, suffix=suffix, dir=directory)
        os.close(fd)
        os.chmod(tmp, 0o666 & ~_umask())
    return tmp


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str = '') -> Iterator[str]:
    """Yield a temp file name next to ``path``; on success rename it onto ``path``, on failure remove it.

    For writers that want a file name; ``suffix`` ends the temp name (the target's extension for encoders that pick
    the format from it). :func:`atomic_open` wraps it for writers that take an open file. The result has the mode
    ``open(path, 'w')`` gives (umask respected).
    """
    path = os.path.abspath(os.fspath(path))
    tmp = _temp_name(path, _TEMP_SUFFIX + suffix, make_dir=False)
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.remove(tmp)
        raise


@contextlib.contextmanager
def atomic_dir(path: str | os.PathLike) -> Iterator[str]:
    """Yield a temp dir next to ``path``; on success it replaces ``path`` (an old ``path`` is removed), on any
    exception it is deleted and ``path`` is left untouched. The folder gets the mode ``os.mkdir`` gives."""
    path = os.path.abspath(os.fspath(path))
    tmp = _temp_name(path, _TEMP_SUFFIX, make_dir=True)
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if os.path.lexists(path):
        # rename the old one away first: os.replace cannot overwrite a non-empty directory
        old = _temp_name(path, _TEMP_SUFFIX, make_dir=True)
        os.replace(path, os.path.join(old, 'x'))
        os.replace(tmp, path)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(tmp, path)


def is_atomic_temp(name: str) -> bool:
    """Whether a file or folder name is a temp name of :func:`atomic_path` / :func:`atomic_dir`."""
    return bool(_TEMP_RE.match(name))


def stale_atomic_temps(directory: str | os.PathLike, name_glob: str = '*') -> list[str]:
    """Temp files/dirs the atomic writers left in ``directory`` when their process was killed mid-write, for target
    names matching ``name_glob``."""
    return sorted(p for p in glob.glob(os.path.join(os.fspath(directory), f'.{name_glob}.*.tmp*'))
                  if is_atomic_temp(os.path.basename(p)))


def remove_stale_temps(root: str | os.PathLike) -> int:
    """Delete the atomic writers' temp files/dirs anywhere under ``root``; returns how many were removed."""
    removed = 0
    for dirpath, dirnames, filenames in os.walk(os.fspath(root)):
        for name in list(dirnames):
            if is_atomic_temp(name):
                shutil.rmtree(os.path.join(dirpath, name), ignore_errors=True)
                dirnames.remove(name)
                removed += 1
        for name in filenames:
            if is_atomic_temp(name):
                with contextlib.suppress(FileNotFoundError):
                    os.remove(os.path.join(dirpath, name))
                removed += 1
    return removed


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
