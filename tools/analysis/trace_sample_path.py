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
    parser.add_argument('--chain', action='store_true', help='print every hop between files')
    return parser.parse_args(argv)


class FileTracer:
    """Records the project files whose functions run, outside module bodies, and the hops between them."""

    def __init__(self, roots: tuple[str, ...]):
        self.roots = roots
        self.first_call: dict[str, str] = {}  # file -> first function called there, in first-entry order
        self.hops: list[tuple[str, str]] = []
        self._import_frames: set[int] = set()

    def _project_file(self, filename: str) -> str | None:
        path = os.path.abspath(filename)
        if any(path.startswith(root + os.sep) for root in self.roots):
            return os.path.relpath(path, ROOT)
        return None

    def __call__(self, frame: Any, event: str, _arg: Any) -> None:
        if event == 'return':
            self._import_frames.discard(id(frame))
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
        if name is None:
            return
        self.first_call.setdefault(name, code.co_qualname if hasattr(code, 'co_qualname') else code.co_name)
        caller = frame.f_back
        while caller is not None and self._project_file(caller.f_code.co_filename) is None:
            caller = caller.f_back  # through library frames (torch's Module.__call__, the DataLoader)
        if caller is not None:
            source = self._project_file(caller.f_code.co_filename)
            if source != name:
                self.hops.append((source, name))


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
    print(f'\n{len(tracer.first_call)} project files on the path of {args.videos} test sample(s) '
          f'({len(tracer.hops)} hops between files):')
    for i, (name, func) in enumerate(tracer.first_call.items(), 1):
        print(f'{i:3d}  {name}  ({func})')
    if args.chain:
        last = None
        for source, target in tracer.hops:
            if (source, target) != last:
                print(f'     {source} -> {target}')
            last = (source, target)
    return len(tracer.first_call)


if __name__ == '__main__':
    main()
