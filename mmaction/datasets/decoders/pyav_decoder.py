"""PyAV backend: frame-exact, GOP-aware decoding of only the packets the requested frames depend on.

Long-GOP H.264 makes sparse access expensive: a frame can only be decoded from the keyframe before it.
For one sorted request this backend

* starts at the last keyframe displayed at or before the first index (a seek, not a decode from 0);
* does not feed the decoder the packets between the last wanted frame of a GOP and the keyframe that
  starts the next needed GOP (nothing wanted depends on them);
* sets ``skip_frame='NONREF'`` for packets whose frame is not wanted: a non-reference frame (most
  B-frames) is never used to predict another, so skipping it cannot change any wanted frame;
* converts to RGB (``to_ndarray``) only the wanted frames, and stops at the last one.

Frames are identified by their presentation timestamp: the display index of a packet is the rank of
its pts (what decord and a sequential decode count). The pts table and keyframe positions come from one
demux pass (no decoding) and are cached per file (path, size, mtime), so later epochs skip it. Files
without usable timestamps (AVI, duplicated or missing pts) fall back to a plain sequential decode.
"""
from __future__ import annotations

import os
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from mmaction.registry import DECODERS

from .base import DecodeError, VideoDecoder


@dataclass(frozen=True)
class GopIndex:
    """Demux-only facts about one video stream, in decode (packet) order.

    ``display``: display index of each packet's frame; ``keyframe``: packet is a sync sample;
    ``pts``: packet pts; ``pts_to_display`` / ``pts_to_packet``: pts -> display index / packet position.
    """

    display: np.ndarray
    keyframe: np.ndarray
    pts: np.ndarray
    pts_to_display: dict
    pts_to_packet: dict


# Containers whose packet pts are the codec's presentation times (AVI stores decode times, and packs
# B-frames as placeholder packets, so frames cannot be told apart by pts there: sequential decoding).
_PTS_CONTAINERS = ('mov', 'mp4', 'matroska', 'webm')

_INDEX_CACHE: 'OrderedDict[tuple, GopIndex | None]' = OrderedDict()
_INDEX_CACHE_SIZE = 4096  # a few hundred bytes per short clip; bounded so huge datasets don't grow a worker


def _scan_index(container, stream) -> GopIndex | None:
    """Demux once; ``None`` when timestamps cannot identify frames (missing or duplicated pts)."""
    pts, key = [], []
    for packet in container.demux(stream):
        if not packet.size:  # the flush packet at the end
            continue
        if packet.pts is None:
            return None
        pts.append(int(packet.pts))
        key.append(bool(packet.is_keyframe))
    if not pts:
        return None
    pts_arr = np.asarray(pts, dtype=np.int64)
    ordered = np.sort(pts_arr)
    if np.any(ordered[1:] == ordered[:-1]):
        return None
    display = np.searchsorted(ordered, pts_arr)
    return GopIndex(display=display, keyframe=np.asarray(key, dtype=bool), pts=pts_arr,
                    pts_to_display={p: i for i, p in enumerate(ordered.tolist())},
                    pts_to_packet={p: j for j, p in enumerate(pts)})


def plan_packets(index: GopIndex, wanted: np.ndarray) -> tuple[np.ndarray, int]:
    """Which packets (decode order) must reach the decoder for display indices ``wanted`` (sorted, unique).

    For each wanted frame at packet ``j``: the packets from the last keyframe ``s <= j`` that is
    displayed at or before it (so open-GOP leading pictures, shown before their I-frame, start one GOP
    earlier) up to ``j``. Returns a bool mask over packets and the first packet to demux.
    """
    n = len(index.display)
    pos = np.empty(n, dtype=np.int64)
    pos[index.display] = np.arange(n)  # display index -> packet position
    key_pos = np.flatnonzero(index.keyframe)
    need = np.zeros(n + 1, dtype=np.int64)  # difference array of [start, end] ranges
    for w in wanted.tolist():
        j = int(pos[w])
        cand = key_pos[(key_pos <= j) & (index.display[key_pos] <= w)]
        s = int(cand[-1]) if cand.size else 0
        need[s] += 1
        need[j + 1] -= 1
    mask = np.cumsum(need[:n]) > 0
    return mask, int(np.flatnonzero(mask)[0])


@DECODERS.register_module(name='pyav')
class PyAVDecoder(VideoDecoder):
    """``av.open``; GOP-aware decoding (see the module docstring), RGB output.

    ``num_threads``: FFmpeg decoding threads (``1``: none; ``0``: FFmpeg's choice; ``None``: all cores in
    the main process, 1 in a DataLoader worker). ``multi_thread=True`` is the older spelling of
    ``num_threads=0``. ``skip_nonref=False`` decodes every packet in range (for measurements).
    """

    backend = 'pyav'

    def __init__(self, path, num_threads: int | None = 1, multi_thread: bool = False, skip_nonref: bool = True):
        self.multi_thread = multi_thread
        self.skip_nonref = skip_nonref
        super().__init__(path, 0 if multi_thread else num_threads)  # the base resolves None

    @staticmethod
    def is_available() -> bool:
        try:
            import av  # noqa: F401
            return True
        except Exception:  # noqa: BLE001
            return False

    def _open(self) -> None:
        import av
        self._container = av.open(self.path)
        if not self._container.streams.video:
            raise DecodeError(f'pyav: {self.path} has no video stream')
        self._stream = self._container.streams.video[0]
        if self.num_threads != 1:
            # frame threads (+ slice threads); skip_frame is copied to each frame thread per packet
            self._stream.thread_type = 'AUTO'
            self._stream.codec_context.thread_count = self.num_threads
        st = os.stat(self.path)
        key = (self.path, st.st_size, st.st_mtime_ns, self._stream.index)
        if key in _INDEX_CACHE:
            _INDEX_CACHE.move_to_end(key)
            self._index = _INDEX_CACHE[key]
        else:
            fmt = set(self._container.format.name.split(','))
            if fmt & set(_PTS_CONTAINERS):
                self._index = _scan_index(self._container, self._stream)
                self._container.seek(0)
            else:
                self._index = None
            _INDEX_CACHE[key] = self._index
            if len(_INDEX_CACHE) > _INDEX_CACHE_SIZE:
                _INDEX_CACHE.popitem(last=False)
        n = int(self._stream.frames or 0)
        if self._index is not None:
            if n and n != len(self._index.display):  # container count disagrees: trust sequential decoding
                self._index = None
            else:
                n = len(self._index.display)
        if n <= 0:  # no stored count and no usable pts: demux once to count packets with frames
            n = sum(1 for p in self._container.demux(self._stream) if p.size)
            self._container.seek(0)
        self._n = n
        rate = self._stream.average_rate or self._stream.guessed_rate
        self._fps = float(rate) if rate else 0.0
        self._fresh = True  # positioned at the start; a second request must seek back first

    @property
    def num_frames(self) -> int:
        return self._n

    @property
    def fps(self) -> float:
        return self._fps

    def _read_sorted(self, indices: np.ndarray) -> np.ndarray:
        if not self._fresh:
            self._container.seek(0)
            self._stream.codec_context.flush_buffers()
        self._fresh = False
        if self._index is None:
            return self._read_sequential(indices)
        return self._read_planned(indices)

    def _read_planned(self, indices: np.ndarray) -> np.ndarray:
        index = self._index
        mask, first = plan_packets(index, indices)
        last = int(np.flatnonzero(mask)[-1])
        slot = {int(w): k for k, w in enumerate(indices.tolist())}  # display index -> output row
        # per packet: None = not fed, else the skip_frame mode to decode it with
        modes = [None] * len(mask)
        for j in np.flatnonzero(mask).tolist():
            modes[j] = 'DEFAULT' if (not self.skip_nonref or int(index.display[j]) in slot) else 'NONREF'
        if first > 0:  # to the keyframe at packet `first`; demuxing resumes at (or before) it
            self._container.seek(int(index.pts[first]), stream=self._stream, backward=True)
        ctx = self._stream.codec_context
        current = None
        out = None
        got = np.zeros(len(slot), dtype=bool)

        def take(frames) -> None:
            nonlocal out
            for frame in frames:
                row = slot.get(index.pts_to_display.get(frame.pts, -1))
                if row is None or got[row]:
                    continue
                arr = frame.to_ndarray(format='rgb24')
                if out is None:
                    out = np.empty((len(slot),) + arr.shape, dtype=np.uint8)
                out[row] = arr
                got[row] = True

        for packet in self._container.demux(self._stream):
            if not packet.size:  # end of file before the last wanted packet: the check below reports it
                break
            j = index.pts_to_packet.get(packet.pts)
            if j is None:
                raise DecodeError(f'pyav: {self.path}: packet with pts {packet.pts} is not in the index')
            mode = modes[j]
            if mode is None:
                continue
            if mode != current:
                ctx.skip_frame = current = mode
            take(ctx.decode(packet))
            if j == last:
                break
        # Drain instead of decoding more packets: the frames still held for reordering (or by frame
        # threads) come out without decoding anything past the last wanted packet.
        take(ctx.decode(None))
        if not got.all():
            missing = int(indices[np.flatnonzero(~got)[0]])
            raise DecodeError(f'pyav: {self.path}: frame {missing} was not decoded '
                              f'({int(got.sum())} of {len(slot)} requested frames)')
        return out

    def _read_sequential(self, indices: np.ndarray) -> np.ndarray:
        wanted = indices.tolist()
        out = None
        k = 0
        i = -1
        for i, frame in enumerate(self._container.decode(self._stream)):
            if i == wanted[k]:
                arr = frame.to_ndarray(format='rgb24')
                if out is None:
                    out = np.empty((len(wanted),) + arr.shape, dtype=np.uint8)
                out[k] = arr
                k += 1
                if k == len(wanted):
                    return out
        raise DecodeError(f'pyav: {self.path}: stream ended after {i + 1} frames, '
                          f'frame {wanted[k]} not decoded')

    def close(self) -> None:
        if getattr(self, '_container', None) is not None:
            self._container.close()
            self._container = None
