"""Crash-safe writes and a restricted unpickler for files that may come from elsewhere."""
from __future__ import annotations

import contextlib
import glob
import io
import json
import os
import pickle
import re
import shutil
import tempfile
from collections import OrderedDict, defaultdict
from typing import IO, Any, Callable, Iterator

import numpy as np


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


def read_json_object(path: str | os.PathLike, what: str = 'JSON file') -> dict:
    """A JSON file whose top level is an object; a missing file, invalid JSON (with its line) or another top-level
    type raise with the path named (``what`` words the missing-file message, e.g. ``'annotation file'``)."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f'{what} not found: {path}')
    try:
        data = json.loads(read_text(path))
    except json.JSONDecodeError as err:
        raise ValueError(f'{path}: invalid JSON at line {err.lineno}: {err.msg}') from err
    if not isinstance(data, dict):
        raise ValueError(f'{path}: expected a JSON object at the top level, got {type(data).__name__}')
    return data


def open_text(path: str | os.PathLike) -> io.StringIO:
    """``open(path)`` for parsers: the decoded text (see :func:`read_text`), newlines kept for ``csv``."""
    return io.StringIO(read_text(path), newline='')


PICKLE_SUFFIXES = ('.pkl', '.pickle')


def check_pickle_path(out: str | None, option: str = '--out', writable: bool = True) -> None:
    """The one check of a result-pickle path (``None``: nothing to write): it must end with ``.pkl``/``.pickle``
    and, with ``writable``, be creatable (not a directory; the nearest existing parent a writable directory).
    Test tools call it before the test pass, so a long run cannot end in an unwritable output."""
    if out is None:
        return
    if not out.endswith(PICKLE_SUFFIXES):
        raise ValueError(f'{option} must end with .pkl or .pickle, got {out}')
    if not writable:
        return
    if os.path.isdir(out):
        raise IsADirectoryError(f'{option} {out} is an existing directory; give a file name such as '
                                f'{os.path.join(out, "results.pkl")}')
    existing = os.path.dirname(os.path.abspath(out))
    while not os.path.exists(existing):
        existing = os.path.dirname(existing)
    if not os.path.isdir(existing) or not os.access(existing, os.W_OK):
        raise PermissionError(f'{option} {out}: cannot create the file ({existing} is not a writable directory)')


def dump_pickle(obj: Any, path: str | os.PathLike) -> None:
    """Pickle ``obj`` to ``path`` atomically."""
    with atomic_open(path, 'wb') as f:
        pickle.dump(obj, f, protocol=pickle.HIGHEST_PROTOCOL)


class PickleLoadError(pickle.UnpicklingError, ValueError):
    """A pickle that is corrupt or holds objects the restricted loader refuses; names the file."""


# --- Safe unpickling: ONE mechanism for result pickles, proposal pickles and checkpoints -------------------------
#
# A pickle is a program: every GLOBAL it names can be called with arguments from the file. The loader below runs
# that program with a short list of callables, each of which checks its arguments:
# - containers/scalars, and numpy arrays whose dtype is plain numeric/bool (object or structured dtypes carry
#   pointers: a crafted one with its object flag cleared passes numpy's own checks and crashes the process);
# - nothing may allocate from a number in the file (``bytearray(10**9)``, ``ndarray`` shapes), and all the bytes
#   the callables create together are capped against the file size, so a 49-byte file cannot ask for 16 GB;
# - in checkpoints also torch's own ``weights_only`` allow-list (tensor rebuild functions, dtypes, ``torch.Size``),
#   and objects of OpenMMLab classes (mmengine's ``HistoryBuffer`` in ``message_hub``...) become inert
#   :class:`InertObject` placeholders that keep their state as data and never run code of their class.
# Everything else (``os.system``, ``eval``, unknown classes) is refused with a message naming the file and global.

BUDGET_FACTOR = 8  # bytes the callables may create per byte of file ...
BUDGET_SLACK = 1 << 20  # ... plus this, for tiny files
_PLAIN_KINDS = 'biufc'  # bool, signed/unsigned int, float, complex
# Modules whose classes load as inert placeholders from checkpoints: OpenMMLab training state (message_hub
# buffers, meta objects) that a weights-only load does not need but must not fail on.
PLACEHOLDER_MODULES = ('mmengine', 'mmcv', 'mmaction', 'mmdet', 'mmpretrain', 'mmcls', 'mmpose', 'mmseg')


class InertObject:
    """Stands in for an object of a class the safe loader will not import: ``inert_class`` names the class,
    ``args`` / ``state`` keep what the file held (plain data). No method of the original class ever runs."""

    inert_class = '?'

    def __new__(cls, *args: Any, **kwargs: Any) -> 'InertObject':
        obj = super().__new__(cls)
        obj.args, obj.state = args, None
        return obj

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass

    def __setstate__(self, state: Any) -> None:
        self.state = state

    def __repr__(self) -> str:
        return f'<inert {self.inert_class}>'


_INERT_CLASSES: dict[str, type] = {}


def inert_class(full_name: str) -> type:
    """The (cached) :class:`InertObject` subclass standing in for ``full_name``."""
    if full_name not in _INERT_CLASSES:
        module, _, name = full_name.rpartition('.')
        _INERT_CLASSES[full_name] = type(name, (InertObject,), {'inert_class': full_name, '__module__': module})
    return _INERT_CLASSES[full_name]


class _Budget:
    def __init__(self, source: str, file_size: int):
        self.source, self.file_size = source, file_size
        self.limit = BUDGET_FACTOR * file_size + BUDGET_SLACK
        self.used = 0

    def charge(self, nbytes: int, what: str) -> None:
        self.used += int(nbytes)
        if self.used > self.limit:
            raise PickleLoadError(
                f'{self.source}: refusing to unpickle: {what} would bring the memory the file asks for to '
                f'{self.used} bytes, more than {BUDGET_FACTOR}x its size of {self.file_size} bytes '
                f'(a pickle bomb, or not a file this loader reads)')


def plain_dtype(dtype: Any, source: str) -> np.dtype:
    """``dtype`` if it is a plain numeric/bool numpy dtype, else :class:`PickleLoadError` naming the file."""
    if (not isinstance(dtype, np.dtype) or dtype.kind not in _PLAIN_KINDS or dtype.fields is not None
            or dtype.subdtype is not None or dtype.hasobject):
        raise PickleLoadError(
            f'{source}: refusing to unpickle a numpy array of dtype {dtype!r}: only plain numeric/bool dtypes are '
            f'loaded from files that may come from elsewhere (object and structured dtypes can run code or crash '
            f'the process)')
    return dtype


class SafeUnpickler(pickle._Unpickler):  # the Python unpickler: its opcodes can be checked one by one
    """Restricted, size-budgeted unpickler (see the comment above). ``torch_names`` adds torch's weights-only
    allow-list and the OpenMMLab placeholders (checkpoint mode)."""

    dispatch = dict(pickle._Unpickler.dispatch)

    def __init__(self, file: IO, source: str = '<pickle>', file_size: int | None = None,
                 torch_names: bool = False, **kwargs: Any):
        kwargs.setdefault('encoding', 'latin1')
        super().__init__(file, **kwargs)
        self.source = source
        if file_size is None:
            with contextlib.suppress(Exception):
                file_size = os.fstat(file.fileno()).st_size
            if file_size is None and isinstance(file, io.BytesIO):
                file_size = len(file.getbuffer())
        self.budget = _Budget(source, file_size or 0)
        self.torch_names = torch_names
        self._callables = _safe_callables(self)

    # -- what a GLOBAL may name -----------------------------------------------------------------------------
    def find_class(self, module: str, name: str) -> Any:
        module = {'numpy.core.multiarray': 'numpy._core.multiarray', 'numpy.core.numeric': 'numpy._core.numeric',
                  '__builtin__': 'builtins', 'copy_reg': 'copyreg'}.get(module, module)
        full = f'{module}.{name}'
        if not name.isidentifier() or not all(part.isidentifier() for part in module.split('.')):
            # not a name any pickler writes: a truncated or corrupt file, not a hostile one
            raise pickle.UnpicklingError(f'malformed global name {full!r} (truncated or corrupt data)')
        if full in self._callables:
            return self._callables[full]
        if full == 'numpy.ndarray':
            return np.ndarray  # only as the class argument of _reconstruct: calling it or NEWOBJ is refused
        if self.torch_names:
            found = _torch_names().get(full)
            if found is not None:
                return found
            if module.split('.')[0] in PLACEHOLDER_MODULES:
                return inert_class(full)
        what = ('checkpoints may hold tensors, numpy arrays of plain dtypes, plain containers and (as inert '
                'placeholders) OpenMMLab objects' if self.torch_names else
                'only builtin containers/scalars and plain numeric numpy arrays are allowed in result/proposal '
                'pickles')
        raise PickleLoadError(f'{self.source}: refusing to unpickle {full}: {what} (unpickling other objects can '
                              f'run arbitrary code)')

    # -- opcodes that create objects ------------------------------------------------------------------------
    def _load_reduce(self) -> None:
        args = self.stack.pop()
        func = self.stack[-1]
        if not _may_call(self, func):
            raise PickleLoadError(f'{self.source}: refusing to call {_name_of(func)} while unpickling')
        self.stack[-1] = func(*args)

    def _load_newobj(self) -> None:
        args = self.stack.pop()
        cls = self.stack.pop()
        self.append(self._new_inert(cls, args))

    def _load_newobj_ex(self) -> None:
        kwargs = self.stack.pop()
        args = self.stack.pop()
        cls = self.stack.pop()
        self.append(self._new_inert(cls, args, kwargs))

    def _new_inert(self, cls: Any, args: Any, kwargs: Any = None) -> Any:
        if isinstance(cls, type) and issubclass(cls, InertObject):
            return cls.__new__(cls, *args)
        raise PickleLoadError(f'{self.source}: refusing to create a {_name_of(cls)} object directly while '
                              f'unpickling (only through its checked constructor)')

    def _load_refused(self) -> None:
        raise PickleLoadError(f'{self.source}: refusing the pickle opcodes INST/OBJ (protocol 0/1 object '
                              f'creation) while unpickling')

    def _load_build(self) -> None:
        state = self.stack.pop()
        inst = self.stack[-1]
        if isinstance(inst, np.dtype):
            _build_dtype(inst, state, self.source)
        elif isinstance(inst, np.ndarray):
            _build_array(inst, state, self)
        elif isinstance(inst, InertObject):
            inst.__setstate__(state)
        elif type(inst) is OrderedDict and isinstance(state, dict) and all(isinstance(k, str) for k in state):
            inst.__dict__.update(state)  # a state_dict's ``_metadata`` (as torch's weights-only loader does)
        else:
            raise PickleLoadError(f'{self.source}: refusing to set the state of a {type(inst).__name__} object '
                                  f'while unpickling')

    dispatch[pickle.REDUCE[0]] = _load_reduce
    dispatch[pickle.NEWOBJ[0]] = _load_newobj
    dispatch[pickle.NEWOBJ_EX[0]] = _load_newobj_ex
    dispatch[pickle.INST[0]] = _load_refused
    dispatch[pickle.OBJ[0]] = _load_refused
    dispatch[pickle.BUILD[0]] = _load_build


def _name_of(obj: Any) -> str:
    return f"{getattr(obj, '__module__', '?')}.{getattr(obj, '__qualname__', type(obj).__name__)}"


def _may_call(unpickler: SafeUnpickler, func: Any) -> bool:
    if func in unpickler._callables.values():
        return True
    if isinstance(func, type) and issubclass(func, InertObject):
        return True
    return unpickler.torch_names and func in _torch_callables()


def _safe_callables(unpickler: SafeUnpickler) -> dict[str, Callable]:
    """The callables a GLOBAL may name, each checking its arguments against ``unpickler``'s file and budget."""
    source, budget = unpickler.source, unpickler.budget

    def sized(kind: type) -> Callable:
        def make(*args: Any) -> Any:
            if args and isinstance(args[0], int):  # bytearray(10**9): allocation from a number in the file
                raise PickleLoadError(f'{source}: refusing {kind.__name__}({args[0]}) while unpickling: it '
                                      f'allocates from a number in the file')
            value = kind(*args)
            budget.charge(len(value) if isinstance(value, (bytes, bytearray, str)) else 8 * len(value),
                          f'{kind.__name__}(...)')
            return value
        make.kind = kind
        return make

    def scalar_type(kind: type) -> Callable:
        def make(*args: Any) -> Any:
            if any(not isinstance(a, (str, bytes, int, float, bool)) for a in args):
                raise PickleLoadError(f'{source}: refusing {kind.__name__}() of {[type(a).__name__ for a in args]}')
            return kind(*args)
        return make

    def encode(text: str, encoding: str = 'utf-8', errors: str = 'strict') -> bytes:
        if not isinstance(text, str) or encoding.lower() not in ('latin1', 'latin-1', 'utf-8', 'utf8'):
            raise PickleLoadError(f'{source}: refusing _codecs.encode(..., {encoding!r}) while unpickling')
        return text.encode(encoding, errors)

    def dtype(obj: Any, align: bool = False, copy: bool = True) -> np.dtype:
        if not isinstance(obj, str):
            raise PickleLoadError(f'{source}: refusing numpy dtype({type(obj).__name__}) while unpickling')
        try:
            # copy=True: a BUILD must never change numpy's shared singleton descriptors
            return plain_dtype(np.dtype(obj, align=False, copy=True), source)
        except TypeError as err:
            raise PickleLoadError(f'{source}: not a numpy dtype: {obj!r} ({err})') from None

    def reconstruct(cls: Any, shape: Any, typecode: Any) -> np.ndarray:
        if cls is not np.ndarray or not isinstance(shape, tuple) or int(np.prod(shape)) > 64:
            raise PickleLoadError(f'{source}: refusing numpy _reconstruct({_name_of(cls)}, {shape!r}) while '
                                  f'unpickling (it allocates from numbers in the file)')
        return np.ndarray.__new__(np.ndarray, (0,), np.uint8)

    def scalar(dt: Any, data: Any = None) -> Any:
        dt = plain_dtype(dt, source)
        if not isinstance(data, (bytes, bytearray)) or len(data) != dt.itemsize:
            raise PickleLoadError(f'{source}: numpy scalar of {dt} needs {dt.itemsize} bytes')
        return np.frombuffer(bytes(data), dtype=dt)[0]

    def frombuffer(buf: Any, dt: Any, shape: Any, order: str) -> np.ndarray:
        dt = plain_dtype(dt, source)
        if not isinstance(buf, (bytes, bytearray)) or not isinstance(shape, tuple) or order not in ('C', 'F'):
            raise PickleLoadError(f'{source}: malformed numpy array in the pickle')
        _check_array_bytes(shape, dt, len(buf), source)
        budget.charge(len(buf), 'a numpy array')
        return np.frombuffer(buf, dtype=dt).reshape(shape, order=order)

    def ordered_dict(*args: Any) -> OrderedDict:
        value = OrderedDict(*args)
        budget.charge(64 * len(value), 'OrderedDict(...)')
        return value

    def default_dict(factory: Any = None, *args: Any) -> defaultdict:
        # the factory runs later, inside our code: only the plain container constructors
        factory = getattr(factory, 'kind', factory)
        if factory not in (None, list, dict, int, float, set, OrderedDict):
            raise PickleLoadError(f'{source}: refusing defaultdict({_name_of(factory)}) while unpickling')
        value = defaultdict(factory, *args)
        budget.charge(64 * len(value), 'defaultdict(...)')
        return value

    def get_attribute(obj: Any, name: str) -> Any:
        # mmengine's HistoryBuffer pickles its statistics methods as getattr(HistoryBuffer, 'mean')
        if isinstance(obj, InertObject) or (isinstance(obj, type) and issubclass(obj, InertObject)):
            return inert_class(f'{obj.inert_class}.{name}')()
        raise PickleLoadError(f'{source}: refusing getattr({_name_of(obj)}, {name!r}) while unpickling')

    names = {f'builtins.{t.__name__}': sized(t) for t in (list, tuple, set, frozenset, dict, bytes, bytearray)}
    names.update({f'builtins.{t.__name__}': scalar_type(t) for t in (int, float, complex, str, bool)})
    names.update({
        '_codecs.encode': encode, 'numpy.dtype': dtype,
        'numpy._core.multiarray._reconstruct': reconstruct, 'numpy._core.multiarray.scalar': scalar,
        'numpy._core.numeric._frombuffer': frombuffer,
        'collections.OrderedDict': ordered_dict, 'collections.defaultdict': default_dict,
    })
    def rebuild_from_type(func: Any, new_type: Any, args: Any, state: Any) -> Any:
        # torch calls func(*args) inside: func must be a tensor rebuild function, the type a plain tensor
        import torch
        if func not in _torch_callables() or new_type not in (torch.Tensor, torch.nn.Parameter) or \
                not isinstance(args, tuple) or not isinstance(state, (dict, type(None))):
            raise PickleLoadError(f'{source}: refusing torch._tensor._rebuild_from_type_v2({_name_of(func)}, '
                                  f'{_name_of(new_type)}) while unpickling')
        return torch._tensor._rebuild_from_type_v2(func, new_type, args, state)

    if unpickler.torch_names:
        names['builtins.getattr'] = get_attribute
        names['torch._tensor._rebuild_from_type_v2'] = rebuild_from_type
    return names


def _check_array_bytes(shape: tuple, dtype: np.dtype, nbytes: int, source: str) -> None:
    if not all(isinstance(n, int) and n >= 0 for n in shape):
        raise PickleLoadError(f'{source}: malformed numpy array shape {shape!r}')
    expected = int(np.prod(shape, dtype=object)) * dtype.itemsize
    if expected != nbytes:
        raise PickleLoadError(f'{source}: numpy array of shape {shape} and dtype {dtype} needs {expected} bytes, '
                              f'the file holds {nbytes}')


def _build_dtype(dtype: np.dtype, state: Any, source: str) -> None:
    # A plain dtype's state is (version, byteorder, None, None, None, -1, -1, 0); fields/subarray/flags entries
    # are how structured and object dtypes are smuggled in, so anything else is refused.
    if (not isinstance(state, tuple) or len(state) not in (8, 9) or state[1] not in ('<', '>', '|', '=')
            or state[2:5] != (None, None, None) or state[7] != 0 or (len(state) == 9 and state[8] is not None)):
        raise PickleLoadError(f'{source}: refusing to unpickle a numpy dtype with state {state!r}: only plain '
                              f'numeric/bool dtypes are loaded (structured and object dtypes can crash the process)')
    dtype.__setstate__((3, state[1], None, None, None, -1, -1, 0))
    plain_dtype(dtype, source)


def _build_array(array: np.ndarray, state: Any, unpickler: SafeUnpickler) -> None:
    source = unpickler.source
    if not isinstance(state, tuple) or len(state) != 5 or array.shape != (0,):
        raise PickleLoadError(f'{source}: malformed numpy array state in the pickle')
    version, shape, dt, fortran, raw = state
    dt = plain_dtype(dt, source)
    if isinstance(raw, str):
        raw = raw.encode('latin1')
    if not isinstance(raw, (bytes, bytearray)) or not isinstance(shape, tuple):
        raise PickleLoadError(f'{source}: malformed numpy array data in the pickle')
    _check_array_bytes(shape, dt, len(raw), source)
    unpickler.budget.charge(len(raw), 'a numpy array')
    array.__setstate__((version, shape, dt, bool(fortran), raw))


_TORCH_NAMES: dict[str, Any] | None = None


def _torch_names() -> dict[str, Any]:
    """torch's own weights-only allow-list (tensor rebuild functions, dtypes, storage types, ``torch.Size``...),
    minus its builtins/collections entries, which :func:`_safe_callables` replaces with checked versions."""
    global _TORCH_NAMES
    if _TORCH_NAMES is None:
        from torch import _weights_only_unpickler
        _TORCH_NAMES = {k: v for k, v in _weights_only_unpickler._get_allowed_globals().items()
                        if not k.startswith(('builtins.', 'collections.', '_codecs.'))}
    return _TORCH_NAMES


_TORCH_CALLABLES: list | None = None


def _torch_callables() -> list:
    """What a checkpoint may call: the rebuild functions of plain tensors and parameters (their storage comes from
    the file's records, whose sizes torch checks) and small value types. Never a tensor or storage class
    (``torch.Tensor(10**9)`` allocates from a number in the file), nor the quantized/sparse/nested/meta rebuilds,
    which also allocate from sizes in the file: such checkpoints need ``--trust-checkpoint``."""
    global _TORCH_CALLABLES
    if _TORCH_CALLABLES is None:
        import torch
        from torch import _utils
        _TORCH_CALLABLES = [_utils._rebuild_tensor, _utils._rebuild_tensor_v2, _utils._rebuild_tensor_v3,
                            _utils._rebuild_parameter, _utils._rebuild_parameter_with_state,
                            torch.serialization._get_layout, torch.Size, torch.device]
    return _TORCH_CALLABLES


def load_pickle(path: str | os.PathLike) -> Any:
    """Load a result/proposal/annotation pickle with :class:`SafeUnpickler`."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f'pickle file not found: {path}')
    with open(path, 'rb') as f:
        return loads_pickle(f.read(), source=path)


def loads_pickle(data: bytes, source: str = '<bytes>') -> Any:
    """Unpickle bytes with :class:`SafeUnpickler`; any corruption raises :class:`PickleLoadError`.

    The data is already in memory, so a frame header claiming more bytes than exist cannot make the
    unpickler allocate them.
    """
    try:
        return SafeUnpickler(io.BytesIO(data), source=source, file_size=len(data)).load()
    except PickleLoadError:
        raise
    except Exception as err:  # noqa: BLE001 - the Python unpickler fails in many ways (struct.error...) on bad bytes
        raise PickleLoadError(f'{source}: not a valid pickle ({type(err).__name__}: {err})') from None


class CheckpointPickleModule:
    """The ``pickle_module`` for ``torch.load``: its ``Unpickler`` is :class:`SafeUnpickler` in checkpoint mode,
    bound to the checkpoint's path and size (the budget)."""

    __name__ = 'mmaction.utils.io.CheckpointPickleModule'
    UnpicklingError = pickle.UnpicklingError

    def __init__(self, source: str, file_size: int):
        outer = self

        class Unpickler(SafeUnpickler):
            def __init__(self, file: IO, **kwargs: Any):
                super().__init__(file, source=outer.source, file_size=outer.file_size, torch_names=True, **kwargs)

        self.source, self.file_size, self.Unpickler = source, file_size, Unpickler

    def load(self, file: IO, **kwargs: Any) -> Any:  # the legacy (non-zip) torch format reads headers with it
        return self.Unpickler(file, **kwargs).load()
