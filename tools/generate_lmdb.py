"""Pack rawframe folders into one LMDB per video, the layout ``LMDBFramesDataset`` reads (v0 reference §2.9).

    python tools/generate_lmdb.py ROOT_DIR TARGET_DIR [--image_format 'img*.jpg'] [--lmdb_tmpl '{}_img_lmdb']
                                  [--image_tmpl KEYTMPL] [--modality RGB|Flow]

Every folder under ROOT_DIR holding files that match ``--image_format`` is a video; its path relative to
ROOT_DIR (the ``frame_dir`` of the rawframes list) names the database ``TARGET_DIR/lmdb_tmpl.format(rel)``.
The i-th file in sorted order (1-based, as rawframes are numbered) is stored under the key
``image_tmpl.format(i)`` as its encoded bytes. For ``--modality Flow`` ``--image_format`` and
``--image_tmpl`` carry a ``{}`` for the direction: x files ``image_format.format('x')`` are stored under
``image_tmpl.format('x', i)``, likewise y. The original called ``mmcv.lmdb.io.create_rawimage_dataset``,
which no public mmcv release has; this is a plain ``lmdb`` implementation.

Each database is written in a temporary folder next to its target and renamed into place, so an
interrupted run never leaves a half-written database under the final name; existing databases are
skipped (re-running resumes).
"""
from __future__ import annotations

import argparse
import fnmatch
import os
import os.path as osp
import shutil
import sys
from typing import Sequence

DEFAULTS = {'RGB': ('img*.jpg', 'img_{:05d}'), 'Flow': ('{}_*.jpg', '{}_{:05d}')}


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='one LMDB of encoded frames per rawframe folder')
    parser.add_argument('root_dir', help='folder of rawframe folders (the img_prefix of the rawframes list)')
    parser.add_argument('target_dir', help='where the databases go (the lmdb_prefix of LMDBFramesDataset)')
    parser.add_argument('--image_format', default=None,
                        help="glob of the frame files (default 'img*.jpg'; Flow: '{}_*.jpg', {} = x/y)")
    parser.add_argument('--lmdb_tmpl', default='{}_img_lmdb', help='database name from the folder path')
    parser.add_argument('--image_tmpl', default=None,
                        help="key template (default 'img_{:05d}'; Flow: '{}_{:05d}'); the dataset's key_tmpl")
    parser.add_argument('--modality', default='RGB', choices=('RGB', 'Flow'))
    args = parser.parse_args(argv)
    fmt, tmpl = DEFAULTS[args.modality]
    args.image_format = args.image_format or fmt
    args.image_tmpl = args.image_tmpl or tmpl
    if args.modality == 'Flow' and ('{}' not in args.image_format or args.image_tmpl.count('{') != 2):
        parser.error("--modality Flow: --image_format needs a '{}' for x/y and --image_tmpl two fields, "
                     f'got {args.image_format!r} and {args.image_tmpl!r}')
    return args


def frame_files(folder: str, pattern: str) -> list[str]:
    """Sorted names in ``folder`` matching ``pattern`` (sorted = frame order for zero-padded numbering)."""
    return sorted(n for n in os.listdir(folder) if fnmatch.fnmatch(n, pattern) and osp.isfile(osp.join(folder, n)))


def video_entries(folder: str, modality: str, image_format: str, image_tmpl: str) -> list[tuple[str, str]]:
    """``(key, file path)`` of every frame of one video folder; empty when the folder holds no frames."""
    if modality == 'RGB':
        names = frame_files(folder, image_format)
        return [(image_tmpl.format(i), osp.join(folder, n)) for i, n in enumerate(names, 1)]
    xs, ys = frame_files(folder, image_format.format('x')), frame_files(folder, image_format.format('y'))
    if len(xs) != len(ys):
        raise ValueError(f'{folder}: {len(xs)} x flow files ({image_format.format("x")}) but {len(ys)} y files '
                         f'({image_format.format("y")}); every frame needs both')
    return [(image_tmpl.format(d, i), osp.join(folder, n))
            for d, names in (('x', xs), ('y', ys)) for i, n in enumerate(names, 1)]


def write_lmdb(entries: list[tuple[str, str]], target: str) -> None:
    """Write ``entries`` into a new database at ``target`` via a temporary folder and a rename."""
    import lmdb
    parent = osp.dirname(target) or '.'
    os.makedirs(parent, exist_ok=True)
    tmp = osp.join(parent, f'.{osp.basename(target)}.tmp{os.getpid()}')
    if osp.exists(tmp):  # left by an earlier run with the same pid
        shutil.rmtree(tmp)
    total = sum(osp.getsize(p) for _, p in entries)
    # map_size is an upper bound (sparse on Linux): data plus B-tree pages and per-key overhead.
    env = lmdb.open(tmp, map_size=2 * total + 4096 * len(entries) + (16 << 20), subdir=True)
    try:
        with env.begin(write=True) as txn:
            for key, path in entries:
                with open(path, 'rb') as f:
                    txn.put(key.encode(), f.read())
        env.sync()
    except BaseException:
        env.close()
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    env.close()
    os.rename(tmp, target)


def generate(root_dir: str, target_dir: str, image_format: str = 'img*.jpg', lmdb_tmpl: str = '{}_img_lmdb',
             image_tmpl: str = 'img_{:05d}', modality: str = 'RGB', log=print) -> dict[str, int]:
    """Databases for every frame folder under ``root_dir``; returns ``{relative folder: frames stored}``
    (Flow counts x and y images) for the databases written in this run."""
    if not osp.isdir(root_dir):
        raise FileNotFoundError(f'ROOT_DIR not found: {root_dir}')
    written: dict[str, int] = {}
    skipped = 0
    for folder, dirs, _ in os.walk(root_dir):
        dirs.sort()
        entries = video_entries(folder, modality, image_format, image_tmpl)
        if not entries:
            continue
        rel = osp.relpath(folder, root_dir).replace(os.sep, '/')
        target = osp.join(target_dir, lmdb_tmpl.format(rel))
        if osp.exists(target):
            skipped += 1
            continue
        write_lmdb(entries, target)
        written[rel] = len(entries)
        log(f'{rel}: {len(entries)} images -> {target}')
    log(f'{len(written)} databases written, {skipped} already present, under {target_dir}')
    return written


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    generate(args.root_dir, args.target_dir, args.image_format, args.lmdb_tmpl, args.image_tmpl, args.modality)
    return 0


if __name__ == '__main__':
    from mmaction.apis.cli import run_tool
    sys.exit(run_tool(main))
