"""Which project files one test sample passes through, from ``tools/test_recognizer.py`` to the result pickle.

    python tools/analysis/trace_sample_path.py CONFIG CKPT [--videos 1] [--cfg-options k=v ...] [--chain]

Runs ``tools/test_recognizer.py CONFIG CKPT`` in this process on the first ``--videos`` lines of
``data.test.ann_file`` (a temporary one-line copy), with ``data.workers_per_gpu=0`` so that loading runs in this
process too, under ``sys.setprofile``. A project file (under ``mmaction/`` or ``tools/``) is on the path when one
of its functions is called; module bodies run by imports, and the calls they make (registration decorators), are
not counted: they run once per process, not per sample. Prints the files in the order they are first entered, with
the first function called in each, and the number of hops between files (a call from a function of one file into a
function of another; ``--chain`` prints them). The figure is the "path of one sample" of ``docs/design.md``.
"""
from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import tempfile
import threading
from typing import Any

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='List the project files one test sample passes through.')
    parser.add_argument('config', help='recognizer test config')
    parser.add_argument('checkpoint', help='checkpoint matching the config')
    parser.add_argument('--videos', type=int, default=1, help='test videos to run (first N lines of data.test)')
    parser.add_argument('--cfg-options', '--cfg_options', dest='cfg_options', nargs='+', default=[],
                        help='config overrides key=value, passed to the test tool')
    parser.add_argument('--chain', action='store_true', help='print the hops between files on the sample\'s path')
    return parser.parse_args(argv)


# The sample's part of the run: from the entry into the inference loop (with the files of the calls that led
# there) to the return of the function that writes the result pickle.
SAMPLE_START = ('mmaction/engine/test_loop.py', 'inference')
SAMPLE_END = ('mmaction/utils/io.py', 'dump_pickle')


class FileTracer:
    """Records the project files whose functions run, outside module bodies, and the hops between them; the
    files of the sample's part of the run (:data:`SAMPLE_START` to :data:`SAMPLE_END`) separately."""

    def __init__(self, roots: tuple[str, ...]):
        self.roots = roots
        self.first_call: dict[str, str] = {}  # file -> first function called there, in first-entry order
        self.sample_call: dict[str, str] = {}  # the same for the sample's part of the run
        self.hops: list[tuple[str, str]] = []
        self.sample_hops: list[tuple[str, str]] = []
        self.in_sample = False
        self._import_frames: set[int] = set()

    def _stack_files(self, frame: Any) -> list[tuple[str, str]]:
        found = []
        while frame is not None:
            name = self._project_file(frame.f_code.co_filename)
            if name is not None and not name.startswith(os.path.join('tools', 'analysis')):
                found.append((name, frame.f_code.co_name))
            frame = frame.f_back
        return found[::-1]

    def _project_file(self, filename: str) -> str | None:
        path = os.path.abspath(filename)
        if any(path.startswith(root + os.sep) for root in self.roots):
            return os.path.relpath(path, ROOT)
        return None

    def __call__(self, frame: Any, event: str, _arg: Any) -> None:
        if event == 'return':
            self._import_frames.discard(id(frame))
            if self.in_sample and (self._project_file(frame.f_code.co_filename), frame.f_code.co_name) == SAMPLE_END:
                self.in_sample = False
            return
        if event != 'call':
            return
        code = frame.f_code
        if code.co_name == '<module>':  # an import: everything it calls runs once per process
            self._import_frames.add(id(frame))
            return
        if self._import_frames:
            return
        name = self._project_file(code.co_filename)
        if name is None or _in_import_machinery(frame):
            return
        func = code.co_qualname if hasattr(code, 'co_qualname') else code.co_name
        self.first_call.setdefault(name, func)
        if not self.in_sample and (name, code.co_name) == SAMPLE_START and not self.sample_call:
            self.in_sample = True
            for outer, outer_func in self._stack_files(frame.f_back):
                self.sample_call.setdefault(outer, outer_func)
        if self.in_sample:
            self.sample_call.setdefault(name, func)
        caller = frame.f_back
        while caller is not None and self._project_file(caller.f_code.co_filename) is None:
            caller = caller.f_back  # through library frames (torch's Module.__call__, the DataLoader)
        if caller is not None:
            source = self._project_file(caller.f_code.co_filename)
            if source != name:
                self.hops.append((source, name))
                if self.in_sample:
                    self.sample_hops.append((source, name))


def _in_import_machinery(frame: Any) -> bool:
    """A call made by ``importlib`` (a package's ``__setattr__`` for a new submodule) is part of an import."""
    frame = frame.f_back
    while frame is not None:
        if frame.f_code.co_filename.startswith('<frozen importlib'):
            return True
        frame = frame.f_back
    return False


def one_video_list(cfg_path: str, cfg_options: dict, videos: int, folder: str) -> str:
    """A copy of the first ``videos`` lines of the config's ``data.test.ann_file``."""
    from mmaction.utils.config import load_config
    cfg = load_config(cfg_path, cfg_options)
    ann = cfg.data.test.ann_file
    with open(ann, encoding='utf-8') as f:
        lines = [line for line in f if line.strip()][:videos]
    if not lines:
        raise ValueError(f'{ann} (data.test.ann_file) has no lines')
    path = os.path.join(folder, 'one_sample_list' + os.path.splitext(ann)[1])
    with open(path, 'w', encoding='utf-8') as f:
        f.writelines(lines)
    return path


def trace(config: str, checkpoint: str, cfg_options: list[str], videos: int = 1) -> FileTracer:
    spec = importlib.util.spec_from_file_location('test_recognizer_tool', os.path.join(ROOT, 'tools',
                                                                                          'test_recognizer.py'))
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    tracer = FileTracer((os.path.join(ROOT, 'mmaction'), os.path.join(ROOT, 'tools')))
    with tempfile.TemporaryDirectory(prefix='mmaction_trace_') as tmp:
        parsed = tool.parse_args([config, checkpoint, '--cfg-options', *cfg_options] if cfg_options else
                                 [config, checkpoint]).cfg_options
        ann = one_video_list(config, parsed or {}, videos, tmp)
        argv = [config, checkpoint, '--out', os.path.join(tmp, 'result.pkl'), '--cfg-options', *cfg_options,
                f'data.test.ann_file={ann}', 'data.workers_per_gpu=0']
        threading.setprofile(tracer)
        sys.setprofile(tracer)
        try:
            tool.main(argv)
        finally:
            sys.setprofile(None)
            threading.setprofile(None)
    return tracer


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    tracer = trace(args.config, args.checkpoint, args.cfg_options, args.videos)
    print(f'\n{len(tracer.first_call)} project files run code in the whole test of {args.videos} sample(s) '
          f'(config, model building, checkpoint, dataset set-up included; {len(tracer.hops)} hops between files):')
    for i, (name, func) in enumerate(tracer.first_call.items(), 1):
        print(f'{i:3d}  {name}  ({func})')
    print(f'\n{len(tracer.sample_call)} project files on the path of the sample: the calls down to the inference loop, '
          f'then loop -> pickle ({len(tracer.sample_hops)} hops between files):')
    for i, (name, func) in enumerate(tracer.sample_call.items(), 1):
        print(f'{i:3d}  {name}  ({func})')
    if args.chain:
        last = None
        for source, target in tracer.sample_hops:
            if (source, target) != last:
                print(f'     {source} -> {target}')
            last = (source, target)
    return len(tracer.sample_call)


if __name__ == '__main__':
    main()
