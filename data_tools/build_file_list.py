#!/usr/bin/env python
"""Write the original MMAction list files from extracted frames or videos.

    python data_tools/build_file_list.py {ucf101,hmdb51,kinetics400,thumos14,activitynet,ava,custom} FRAME_OR_VIDEO_PATH
        [--format rawframes|videos] [--level 1|2] [--num-split 3] [--subset train|val|test] [--shuffle]
        [--out-list-path DIR] [--ann-root DIR]

Line formats (original §5.2/§5.5): rawframes ``<dir> <num_frames> <label>``; videos ``<path-without-ext> <label>``
(the dataset appends ``video_ext``); labels 0-based.

- ``ucf101``: ``classInd.txt`` + ``trainlist0N.txt``/``testlist0N.txt`` from ``--ann-root`` ->
  ``ucf101_{train,val}_split_N_{format}.txt``.
- ``hmdb51``: the official ``<class>_test_splitN.txt`` files (1 = train, 2 = test, 0 = unused); classes sorted;
  also writes ``classInd.txt`` -> ``hmdb51_{train,val}_split_N_{format}.txt``.
- ``kinetics400``: ``kinetics_{train,val,test}.csv`` (or ``{train,val,test}.csv``); labels = index in the sorted
  train class names normalised like the folder renaming (:func:`normalize_class_name`); test label -1 ->
  ``kinetics400_{subset}_list_{format}.txt``.
- ``thumos14``: de-normalises ``*_normalized_proposal_list.txt`` (fractions -> frame indices) using the frame
  counts of the folders, the file the SSN dataset reads.
- ``activitynet``: the annotation JSON (official ``{"database": {id: {subset, duration, annotations}}}`` or the
  dataset's own ``{v_id: {duration_second, annotations}}``) plus the frame counts / fps of ``v_<id>`` in SRC (level 1)
  -> ``anet_anno_{train,val,test,full}.json`` in the ActivityNetDataset format (see :func:`activitynet_records`),
  ``anet_{subset}_video.txt`` (whole videos, label of the first segment) and, for rawframes,
  ``anet_{subset}_clip.txt`` (one ``<dir> <offset> <num_frames> <label>`` line per segment, ``with_offset=True``),
  plus ``anet_label_map.txt`` (sorted class names, line index = label).
- ``ava``: the ``video_stat_file`` AVADataset reads (``ava_video_resolution_stats.csv``, ``<video_id> <W>x<H>``) for
  the rawframes/videos in SRC (level 1), and for every ``ava_{train,val}_v2.*.csv`` in ``--ann-root`` a check that
  each annotated video exists and that its frames reach the last key-frame (``fps * (t - 840) + 1``).
- ``custom``: a ``class/video`` tree; labels = sorted class folders; ``--val-ratio`` makes a stratified split ->
  ``custom_{train,val}_list_{format}.txt`` plus ``classInd.txt`` and ``label_map.txt``.

Entries whose frames/video are missing are reported (count and examples on stderr, all of them in
``<list>.missing.txt``), never silently dropped; ``--strict`` turns them into an error.
"""
from __future__ import annotations

import argparse
import csv
import glob
import json
import math
import os
import random
import sys
from dataclasses import dataclass

from data_tools.media import write_lines
from mmaction.utils.io import read_json_object

DATASETS = ('ucf101', 'hmdb51', 'kinetics400', 'thumos14', 'activitynet', 'ava', 'custom')


@dataclass
class Entry:
    rel: str          # path relative to the frame/video root: frame dir, or video path without extension
    rgb: int = 0      # number of rgb frames (rawframes)
    flow: int = 0     # number of flow pairs (rawframes)


def normalize_class_name(name: str) -> str:
    """Kinetics class name -> folder name: quotes removed, spaces -> ``_``, parentheses -> ``-``.

    The original ``rename_classnames.sh`` renamed folders with ``tr " " "_" | tr "(" "-" | tr ")" "-"`` but its
    list builder only replaced spaces, so classes with parentheses never matched their folders; both of our
    tools use this one function (``data_tools/kinetics400/rename_classnames.py`` renames with it).
    """
    name = name.strip().replace('"', '').replace("'", '')
    return name.replace(' ', '_').replace('(', '-').replace(')', '-')


def parse_directory(root: str, level: int, fmt: str, rgb_prefix: str = 'img_', flow_x_prefix: str = 'flow_x_',
                    flow_y_prefix: str = 'flow_y_') -> dict[str, Entry]:
    """Scan ``root`` at ``level`` (1: ``root/v``, 2: ``root/class/v``): video key (base name) -> :class:`Entry`.

    Rawframes folders count files by prefix; flow x and y counts must agree.
    """
    if not os.path.isdir(root):
        raise FileNotFoundError(f'frame/video folder not found: {root}')
    out: dict[str, Entry] = {}
    for p in sorted(glob.glob(os.path.join(root, *(['*'] * level)))):
        rel = os.path.relpath(p, root)
        name = os.path.basename(p)
        if name.startswith('.'):
            continue
        if fmt == 'rawframes':
            if not os.path.isdir(p):
                continue
            files = os.listdir(p)
            rgb = sum(f.startswith(rgb_prefix) for f in files)
            fx = sum(f.startswith(flow_x_prefix) for f in files)
            fy = sum(f.startswith(flow_y_prefix) for f in files)
            if fx != fy:
                raise ValueError(f'{p}: {fx} {flow_x_prefix}* files but {fy} {flow_y_prefix}* files (must match)')
            key, entry = name, Entry(rel, rgb, fx)
        else:
            if not os.path.isfile(p):
                continue
            key, entry = os.path.splitext(name)[0], Entry(os.path.splitext(rel)[0])
        if key in out:
            raise ValueError(f'video name {key!r} appears twice: {out[key].rel} and {entry.rel}')
        out[key] = entry
    return out


def _read_lines(path: str) -> list[str]:
    if not os.path.isfile(path):
        raise FileNotFoundError(f'annotation file not found: {path}')
    with open(path, encoding='utf-8') as f:
        return [line.strip() for line in f if line.strip()]


def read_class_ind(path: str) -> dict[str, int]:
    """``classInd.txt`` (``1 ApplyEyeMakeup``) -> {class: 0-based label}."""
    classes = {}
    for i, line in enumerate(_read_lines(path), 1):
        parts = line.split()
        if len(parts) != 2 or not parts[0].isdigit():
            raise ValueError(f'{path}:{i}: expected "<1-based index> <class name>", got {line!r}')
        classes[parts[1]] = int(parts[0]) - 1
    return classes


def parse_ucf101_splits(ann_root: str, num_split: int) -> list[tuple[list, list]]:
    """[(train, val)] per split, items ``(video_key, label)``, from the official UCF101 split files."""
    class_ind = read_class_ind(os.path.join(ann_root, 'classInd.txt'))

    def item(line: str, path: str, i: int) -> tuple[str, int]:
        video = line.split()[0]
        cls = video.split('/')[0]
        if cls not in class_ind:
            raise ValueError(f'{path}:{i}: class {cls!r} is not in classInd.txt')
        return os.path.splitext(os.path.basename(video))[0], class_ind[cls]

    splits = []
    for n in range(1, num_split + 1):
        lists = []
        for kind in ('trainlist', 'testlist'):
            path = os.path.join(ann_root, f'{kind}{n:02d}.txt')
            lists.append([item(line, path, i) for i, line in enumerate(_read_lines(path), 1)])
        splits.append(tuple(lists))
    return splits


def parse_hmdb51_splits(ann_root: str, num_split: int) -> tuple[list[tuple[list, list]], list[str]]:
    """From ``<class>_test_splitN.txt`` (flag 1 train, 2 test, 0 unused); returns splits and sorted classes."""
    files = glob.glob(os.path.join(ann_root, '*_test_split1.txt'))
    classes = sorted(os.path.basename(f)[:-len('_test_split1.txt')] for f in files)
    if not classes:
        raise FileNotFoundError(f'no <class>_test_split1.txt files in {ann_root}')
    splits = []
    for n in range(1, num_split + 1):
        train, val = [], []
        for label, cls in enumerate(classes):
            path = os.path.join(ann_root, f'{cls}_test_split{n}.txt')
            for i, line in enumerate(_read_lines(path), 1):
                parts = line.split()
                if len(parts) != 2 or parts[1] not in '012':
                    raise ValueError(f'{path}:{i}: expected "<video> <0|1|2>", got {line!r}')
                key = os.path.splitext(parts[0])[0]
                if parts[1] == '1':
                    train.append((key, label))
                elif parts[1] == '2':
                    val.append((key, label))
        splits.append((train, val))
    return splits, classes


def _kinetics_csv(ann_root: str, subset: str) -> str:
    for name in (f'kinetics_{subset}.csv', f'kinetics400_{subset}.csv', f'{subset}.csv'):
        if os.path.isfile(os.path.join(ann_root, name)):
            return os.path.join(ann_root, name)
    raise FileNotFoundError(f'no kinetics_{subset}.csv (or {subset}.csv) in {ann_root}')


def parse_kinetics_split(ann_root: str, subset: str) -> tuple[list[tuple[str, int]], list[str]]:
    """Items ``(youtubeid_start_end, label)`` of ``subset`` and the sorted normalised train class names."""

    def rows(path):
        with open(path, newline='', encoding='utf-8') as f:
            reader = csv.DictReader(f)
            need = {'youtube_id', 'time_start', 'time_end'}
            if not need <= set(reader.fieldnames or []):
                raise ValueError(f'{path}: header must contain {sorted(need)} (and label), got {reader.fieldnames}')
            yield from enumerate(reader, 2)

    train_path = _kinetics_csv(ann_root, 'train')
    classes = sorted({normalize_class_name(r['label']) for _, r in rows(train_path)})
    index = {c: i for i, c in enumerate(classes)}
    path = _kinetics_csv(ann_root, subset)
    items = []
    for line, r in rows(path):
        try:
            vid = f'{r["youtube_id"]}_{int(float(r["time_start"])):06d}_{int(float(r["time_end"])):06d}'
        except ValueError as e:
            raise ValueError(f'{path}:{line}: bad time_start/time_end ({e})') from None
        if subset == 'test' or not r.get('label'):
            items.append((vid, -1))
            continue
        cls = normalize_class_name(r['label'])
        if cls not in index:
            raise ValueError(f'{path}:{line}: class {r["label"]!r} does not occur in {train_path}')
        items.append((vid, index[cls]))
    return items, classes


def format_items(items: list[tuple[str, int]], found: dict[str, Entry], fmt: str,
                 modality: str = 'rgb') -> tuple[list[str], list[str]]:
    """List lines for the items present in ``found``, and the keys that are missing (or empty)."""
    lines, missing = [], []
    for key, label in items:
        e = found.get(key)
        count = (e.rgb if modality == 'rgb' else e.flow) if e is not None else 0
        if e is None or (fmt == 'rawframes' and count == 0):
            missing.append(key)
        elif fmt == 'rawframes':
            lines.append(f'{e.rel} {count} {label}')
        else:
            lines.append(f'{e.rel} {label}')
    return lines, missing


def write_list(path: str, lines: list[str], missing: list[str], shuffle: bool, seed: int, strict: bool) -> None:
    if missing:
        msg = (f'{path}: {len(missing)} listed videos have no {"frames" if "rawframes" in path else "file"} '
               f'(e.g. {", ".join(missing[:3])}); full list in {path}.missing.txt')
        if strict:
            raise FileNotFoundError(msg)
        print('WARNING: ' + msg, file=sys.stderr)
        write_lines(path + '.missing.txt', missing)
    if shuffle:
        random.Random(seed).shuffle(lines)
    write_lines(path, lines)
    print(f'{path}: {len(lines)} entries')


def denormalize_proposal_list(path: str, out_path: str, counts: dict[str, int]) -> int:
    """TAG ``normalized`` proposal list -> frame indices: the 2nd/3rd lines of a block become (num_frames, 1)
    and every start/end fraction is multiplied by num_frames (rounded down). Returns the number of videos."""
    lines = _read_lines(path)
    out, i, n_videos = [], 0, 0
    while i < len(lines):
        if not lines[i].startswith('#'):
            raise ValueError(f'{path}:{i + 1}: expected a "# <index>" block header, got {lines[i]!r}')
        vid = os.path.basename(lines[i + 1])
        if vid not in counts:
            raise FileNotFoundError(f'{path}:{i + 2}: no frame folder for video {vid!r}')
        n = counts[vid]
        out += [lines[i], lines[i + 1], str(n), '1']
        i += 4
        for _ in range(2):  # ground truth block, then proposal block
            k = int(lines[i])
            out.append(lines[i])
            for row in lines[i + 1:i + 1 + k]:
                p = row.split()
                s, e = float(p[-2]), float(p[-1])
                out.append(' '.join(p[:-2] + [str(int(s * n)), str(int(e * n))]))
            i += 1 + k
        n_videos += 1
    write_lines(out_path, out)
    return n_videos


# ----- ActivityNet ---------------------------------------------------------------------------------------------
ANET_SUBSETS = {'training': 'train', 'validation': 'val', 'testing': 'test', 'train': 'train', 'val': 'val',
                'test': 'test'}


def probe_video(path: str) -> tuple[int, float, int, int]:
    """``(num_frames, fps, width, height)`` as decord reads ``path`` (the count RGB extraction writes)."""
    import decord
    try:
        vr = decord.VideoReader(path, num_threads=1)
        h, w = vr[0].shape[:2]
    except Exception as e:  # decord raises its own DECORDError for broken files
        raise ValueError(f'{path}: cannot be decoded ({type(e).__name__}: {e})') from None
    return len(vr), float(vr.get_avg_fps()), int(w), int(h)


def frame_size(folder: str, prefix: str = 'img_') -> tuple[int, int]:
    """``(width, height)`` of the first ``prefix*`` image in a rawframes folder."""
    import cv2
    names = sorted(f for f in os.listdir(folder) if f.startswith(prefix))
    img = cv2.imread(os.path.join(folder, names[0])) if names else None
    if img is None:
        raise ValueError(f'{folder}: no readable {prefix}* image to take the frame size from')
    return img.shape[1], img.shape[0]


def _video_file(src: str, rel: str) -> str:
    paths = [p for p in glob.glob(glob.escape(os.path.join(src, rel)) + '.*') if os.path.isfile(p)]
    if not paths:
        raise FileNotFoundError(f'video file for {rel!r} not found in {src}')
    return sorted(paths)[0]


def load_activitynet_annotations(path: str) -> dict[str, dict]:
    """``{v_name: dict(subset (train/val/test or None), duration, annotations)}`` from either JSON layout.

    Official ``activity_net.v1-3.min.json`` ids get the ``v_`` prefix the videos/features are named with; the
    dataset's own layout (keys already ``v_*``, ``duration_second``) is taken as is.
    """
    data = read_json_object(path, 'ActivityNet annotation file')
    official = 'database' in data
    db = data['database'] if official else data
    if not isinstance(db, dict):
        raise ValueError(f'{path}: expected an object keyed by video id, got {type(db).__name__}')
    out = {}
    for vid, info in db.items():
        if not isinstance(info, dict):
            raise ValueError(f'{path}: video {vid!r} must map to an object, got {type(info).__name__}')
        duration = info.get('duration', info.get('duration_second'))
        if duration is None:
            raise ValueError(f"{path}: video {vid!r} has neither 'duration' nor 'duration_second'")
        anns = info.get('annotations', [])
        for j, a in enumerate(anns):
            seg = a.get('segment') if isinstance(a, dict) else None
            if not isinstance(seg, (list, tuple)) or len(seg) != 2 or 'label' not in a:
                raise ValueError(f"{path}: video {vid!r} annotation {j}: expected {{'segment': [start, end], "
                                 f"'label': name}}, got {a!r}")
        subset = info.get('subset')
        if subset is not None and subset not in ANET_SUBSETS:
            raise ValueError(f'{path}: video {vid!r} has unknown subset {subset!r}; expected one of '
                             f'{sorted(set(ANET_SUBSETS))}')
        name = 'v_' + vid if official else vid
        out[name] = dict(subset=ANET_SUBSETS.get(subset), duration=float(duration), annotations=anns)
    return out


def activitynet_record(duration: float, num_frames: int, rfps: float, annotations: list,
                       feature_stride: int = 1) -> dict:
    """One ActivityNetDataset entry. ``fps`` is frames per annotated second (``duration_frame /
    duration_second``, what converts segments to frames); ``rfps`` the container's rate; ``feature_frame`` the
    frames the snippet features cover (whole ``feature_stride``-frame snippets: 16 for the cuhk features)."""
    fps = num_frames / duration if duration > 0 else rfps
    return dict(duration_second=duration, duration_frame=num_frames, annotations=annotations,
                feature_frame=num_frames // feature_stride * feature_stride, fps=fps, rfps=rfps)


def segment_frames(segment: list, fps: float, num_frames: int) -> tuple[int, int]:
    """Segment in seconds -> ``(offset, length)`` in frames for a ``with_offset`` list: the 0-based first
    frame ``floor(start * fps)`` and the frames up to ``ceil(end * fps)``, clipped to the video, at least 1."""
    offset = min(max(int(math.floor(segment[0] * fps)), 0), num_frames - 1)
    end = min(int(math.ceil(segment[1] * fps)), num_frames)
    return offset, max(1, end - offset)


def build_activitynet(ann_file: str, src: str, found: dict[str, Entry], fmt: str, out_dir: str,
                      feature_stride: int, emit) -> list[str]:
    """Write the ActivityNet annotation JSONs, label map and video/clip lists; returns the JSON/map paths."""
    db = load_activitynet_annotations(ann_file)
    classes = sorted({a['label'] for info in db.values() for a in info['annotations']})
    index = {c: i for i, c in enumerate(classes)}
    written = [os.path.join(out_dir, 'anet_label_map.txt')]
    write_lines(written[0], classes)
    records: dict[str, dict] = {}
    for name, info in db.items():
        e = found.get(name)
        if e is None:
            continue  # reported as missing by the video list below
        if fmt == 'rawframes':
            if e.rgb == 0:
                continue
            n = e.rgb
            rfps = n / info['duration'] if info['duration'] > 0 else 0.0
        else:
            n, rfps, _, _ = probe_video(_video_file(src, e.rel))
        records[name] = activitynet_record(info['duration'], n, rfps, info['annotations'], feature_stride)
    subsets = sorted({info['subset'] or 'full' for info in db.values()})
    for subset in subsets + (['full'] if 'full' not in subsets else []):
        names = [k for k, info in db.items() if subset == 'full' or info['subset'] == subset]
        path = os.path.join(out_dir, f'anet_anno_{subset}.json')
        write_lines(path, [json.dumps({k: records[k] for k in names if k in records}, indent=2)])
        written.append(path)
        if subset == 'full' and len(subsets) > 1:
            continue  # the per-subset lists already cover every video
        emit(f'anet_{subset}_video.txt',
             [(k, index[db[k]['annotations'][0]['label']] if db[k]['annotations'] else -1) for k in names])
        if fmt == 'rawframes':
            clips = []
            for k in names:
                if k in records:
                    r = records[k]
                    for a in r['annotations']:
                        off, num = segment_frames(a['segment'], r['fps'], r['duration_frame'])
                        clips.append(f'{found[k].rel} {off} {num} {index[a["label"]]}')
            path = os.path.join(out_dir, f'anet_{subset}_clip.txt')
            write_lines(path, clips)
            written.append(path)
    return written


# ----- AVA -----------------------------------------------------------------------------------------------------
def ava_keyframe_needs(csv_path: str) -> dict[str, int]:
    """``{video_id: last annotated timestamp}`` of an AVA CSV (``video_id,timestamp,x1,y1,x2,y2,...``)."""
    last: dict[str, int] = {}
    with open(csv_path, newline='', encoding='utf-8') as f:
        for i, row in enumerate(csv.reader(f), 1):
            if not row:
                continue
            try:
                vid, ts = row[0], int(row[1])
            except (IndexError, ValueError):
                raise ValueError(f'{csv_path}:{i}: expected "video_id,timestamp,x1,y1,x2,y2,action,person", '
                                 f'got {",".join(row)!r}') from None
            last[vid] = max(ts, last.get(vid, ts))
    return last


def build_ava(src: str, found: dict[str, Entry], fmt: str, out_dir: str, ann_root: str, rgb_prefix: str,
              strict: bool, fps: int = 30, timestamp_start: int = 840) -> list[str]:
    """Resolution stats file + per-CSV check that annotated videos exist and reach their last key-frame."""
    stats, frames = [], {}
    for key, e in sorted(found.items()):
        if fmt == 'rawframes':
            if e.rgb == 0:
                continue
            w, h = frame_size(os.path.join(src, e.rel), rgb_prefix)
            frames[key] = e.rgb
        else:
            frames[key], _, w, h = probe_video(_video_file(src, e.rel))
        stats.append(f'{key} {w}x{h}')
    written = [os.path.join(out_dir, 'ava_video_resolution_stats.csv')]
    write_lines(written[0], stats)
    print(f'{written[0]}: {len(stats)} videos')
    csvs = sorted(p for p in glob.glob(os.path.join(ann_root, 'ava_*.csv'))
                  if not any(s in os.path.basename(p) for s in ('excluded_timestamps', 'resolution_stats')))
    for path in csvs:
        problems = []
        for vid, ts in sorted(ava_keyframe_needs(path).items()):
            need = fps * (ts - timestamp_start) + 1  # the key-frame of the last annotated timestamp
            if vid not in frames:
                problems.append(f'{vid} missing')
            elif frames[vid] < need:
                problems.append(f'{vid} has {frames[vid]} frames, timestamp {ts} needs frame {need}')
        if problems:
            report = os.path.join(out_dir, os.path.basename(path) + '.missing.txt')
            msg = (f'{path}: {len(problems)} annotated videos are missing or too short (e.g. {problems[0]}); '
                   f'full list in {report}')
            if strict:
                raise FileNotFoundError(msg)
            print('WARNING: ' + msg, file=sys.stderr)
            write_lines(report, problems)
        else:
            print(f'{path}: all annotated videos present')
    return written


def custom_items(found: dict[str, Entry], val_ratio: float, seed: int) -> tuple[list[str], list, list]:
    """Labels from the class folder (sorted); a stratified, seeded train/val split."""
    classes = sorted({e.rel.split(os.sep)[0] for e in found.values()})
    index = {c: i for i, c in enumerate(classes)}
    rng = random.Random(seed)
    train, val = [], []
    for c in classes:
        keys = sorted(k for k, e in found.items() if e.rel.split(os.sep)[0] == c)
        n_val = int(round(val_ratio * len(keys)))
        chosen = set(rng.sample(keys, n_val)) if n_val else set()
        for k in keys:
            (val if k in chosen else train).append((k, index[c]))
    return classes, train, val


def build_file_list(dataset: str, src: str, fmt: str = 'rawframes', level: int | None = None, num_split: int = 3,
                    subset: str = 'train', shuffle: bool = False, seed: int = 0, out_list_path: str | None = None,
                    ann_root: str | None = None, modality: str = 'rgb', rgb_prefix: str = 'img_',
                    flow_x_prefix: str = 'flow_x_', flow_y_prefix: str = 'flow_y_', val_ratio: float = 0.0,
                    strict: bool = False, ann_file: str | None = None, feature_stride: int = 1) -> list[str]:
    """Library entry point of the CLI; returns the paths written."""
    if dataset not in DATASETS:
        raise ValueError(f'dataset must be one of {DATASETS}, got {dataset!r}')
    if fmt not in ('rawframes', 'videos'):
        raise ValueError(f'--format must be rawframes or videos, got {fmt!r}')
    level = level or (1 if dataset in ('activitynet', 'ava') else 2)  # these two keep videos in one folder
    root = os.path.dirname(os.path.abspath(src.rstrip('/')))  # data/<ds>/rawframes -> data/<ds>
    out_dir = out_list_path or root
    ann_root = ann_root or os.path.join(root, 'annotations')
    found = parse_directory(src, level, fmt, rgb_prefix, flow_x_prefix, flow_y_prefix)
    if not found:
        raise FileNotFoundError(f'nothing found in {src} at --level {level} for --format {fmt}')
    written = []

    def emit(name, items):
        lines, missing = format_items(items, found, fmt, modality)
        path = os.path.join(out_dir, name)
        write_list(path, lines, missing, shuffle, seed, strict)
        written.append(path)

    if dataset in ('ucf101', 'hmdb51'):
        if dataset == 'ucf101':
            splits = parse_ucf101_splits(ann_root, num_split)
        else:
            splits, classes = parse_hmdb51_splits(ann_root, num_split)
            write_lines(os.path.join(ann_root, 'classInd.txt'), [f'{i + 1} {c}' for i, c in enumerate(classes)])
        for n, (train, val) in enumerate(splits, 1):
            emit(f'{dataset}_train_split_{n}_{fmt}.txt', train)
            emit(f'{dataset}_val_split_{n}_{fmt}.txt', val)
    elif dataset == 'kinetics400':
        items, _ = parse_kinetics_split(ann_root, subset)
        emit(f'kinetics400_{subset}_list_{fmt}.txt', items)
    elif dataset == 'activitynet':
        ann_file = ann_file or os.path.join(ann_root, 'activity_net.v1-3.min.json')
        written += build_activitynet(ann_file, src, found, fmt, out_dir, feature_stride, emit)
    elif dataset == 'ava':
        written += build_ava(src, found, fmt, out_dir, ann_root, rgb_prefix, strict)
    elif dataset == 'thumos14':
        if fmt != 'rawframes':
            raise ValueError('thumos14 proposal lists need frame counts: use --format rawframes')
        counts = {k: (e.rgb if modality == 'rgb' else e.flow) for k, e in found.items()}
        for path in sorted(glob.glob(os.path.join(ann_root, '*normalized_proposal_list.txt'))
                           + glob.glob(os.path.join(root, '*normalized_proposal_list.txt'))):
            target = os.path.join(out_dir, os.path.basename(path).replace('normalized_', ''))
            n = denormalize_proposal_list(path, target, counts)
            print(f'{target}: {n} videos')
            written.append(target)
        if not written:
            raise FileNotFoundError(f'no *normalized_proposal_list.txt in {ann_root} or {root}')
    else:  # custom
        classes, train, val = custom_items(found, val_ratio, seed)
        emit(f'custom_train_list_{fmt}.txt', train)
        if val:
            emit(f'custom_val_list_{fmt}.txt', val)
        for name, lines in (('classInd.txt', [f'{i + 1} {c}' for i, c in enumerate(classes)]),
                            ('label_map.txt', classes)):
            write_lines(os.path.join(out_dir, name), lines)
            written.append(os.path.join(out_dir, name))
    return written


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description='Build MMAction list files from frames or videos.')
    p.add_argument('dataset', choices=DATASETS)
    p.add_argument('src', help='rawframes root (or videos root with --format videos)')
    p.add_argument('--format', default='rawframes', choices=['rawframes', 'videos'])
    p.add_argument('--level', type=int, default=None, choices=[1, 2],
                   help='default 1 for activitynet/ava, 2 (class folders) otherwise')
    p.add_argument('--num-split', type=int, default=3)
    p.add_argument('--subset', default='train', choices=['train', 'val', 'test'])
    p.add_argument('--shuffle', action='store_true')
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--out-list-path', default=None, help='default: the parent folder of SRC (e.g. data/ucf101)')
    p.add_argument('--ann-root', default=None, help='default: <parent of SRC>/annotations')
    p.add_argument('--modality', default='rgb', choices=['rgb', 'flow'],
                   help='which count goes into rawframes lists (flow: number of flow pairs = frames - 1)')
    p.add_argument('--rgb-prefix', default='img_')
    p.add_argument('--flow-x-prefix', default='flow_x_')
    p.add_argument('--flow-y-prefix', default='flow_y_')
    p.add_argument('--val-ratio', type=float, default=0.0, help='custom: fraction of each class for val')
    p.add_argument('--strict', action='store_true', help='fail when listed videos are missing')
    p.add_argument('--ann-file', default=None,
                   help='activitynet: annotation JSON (default: <ann-root>/activity_net.v1-3.min.json)')
    p.add_argument('--feature-stride', type=int, default=1,
                   help='activitynet: frames per feature snippet; feature_frame = whole snippets (cuhk: 16)')
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    a = parse_args(argv)
    build_file_list(a.dataset, a.src, a.format, a.level, a.num_split, a.subset, a.shuffle, a.seed, a.out_list_path,
                    a.ann_root, a.modality, a.rgb_prefix, a.flow_x_prefix, a.flow_y_prefix, a.val_ratio, a.strict,
                    a.ann_file, a.feature_stride)


if __name__ == '__main__':
    from mmaction.apis.cli import run_tool
    run_tool(main)
