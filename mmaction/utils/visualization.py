"""Drawing predictions on frames and writing them as mp4 / gif, for the demos and browse_dataset.

All frames here are RGB ``uint8`` arrays of shape ``(H, W, 3)`` (what decord and PyAV return); OpenCV is
only used for drawing and reading, and the BGR conversion is done at that boundary. Files are written to a
temporary name next to the target and renamed, so a crash never leaves half a video under the final name.
"""
from __future__ import annotations

import os
from fractions import Fraction
from typing import Iterable, Iterator, Sequence

import cv2
import numpy as np

from .io import atomic_path

VIDEO_EXTS = ('.mp4', '.avi', '.mkv', '.mov')
GIF_EXTS = ('.gif',)


def _check_frame(frame: np.ndarray, where: str) -> np.ndarray:
    frame = np.asarray(frame)
    if frame.ndim != 3 or frame.shape[2] != 3:
        raise ValueError(f'{where}: expected an RGB frame of shape (H, W, 3), got {frame.shape}')
    if frame.dtype != np.uint8:
        frame = np.clip(frame, 0, 255).astype(np.uint8)
    return frame


def draw_text_lines(frame: np.ndarray, lines: Sequence[str], origin: tuple[int, int] = (4, 4),
                    font_scale: float | None = None, color: tuple[int, int, int] = (255, 255, 255),
                    background: tuple[int, int, int] | None = (0, 0, 0), alpha: float = 0.6) -> np.ndarray:
    """Return a copy of ``frame`` (H, W, 3 RGB uint8) with ``lines`` written top-left, one per row.

    The font scales with the frame height (so 64-pixel toy clips and 1080p videos both stay readable);
    a translucent box behind the text keeps it legible on any background.
    """
    out = _check_frame(frame, 'draw_text_lines').copy()
    if not lines:
        return out
    height = out.shape[0]
    scale = font_scale if font_scale is not None else max(0.25, height / 480.0 * 0.6)
    thickness = max(1, int(round(scale * 1.5)))
    font = cv2.FONT_HERSHEY_SIMPLEX
    sizes = [cv2.getTextSize(text, font, scale, thickness) for text in lines]
    row_h = max(h + base for (_, h), base in sizes) + 2
    width = max(w for (w, _), _ in sizes)
    x0, y0 = origin
    if background is not None:
        x1 = min(out.shape[1], x0 + width + 4)
        y1 = min(out.shape[0], y0 + row_h * len(lines) + 2)
        box = out[y0:y1, x0:x1].astype(np.float32)
        box = box * (1 - alpha) + np.asarray(background, np.float32) * alpha
        out[y0:y1, x0:x1] = box.astype(np.uint8)
    for i, text in enumerate(lines):
        baseline_y = y0 + row_h * (i + 1) - 2
        # cv2 draws in place on a contiguous array; colours are given in the array's own channel order (RGB).
        cv2.putText(out, text, (x0 + 2, baseline_y), font, scale, color, thickness, cv2.LINE_AA)
    return out


def format_predictions(results: Sequence[tuple[str, float]], max_lines: int = 5) -> list[str]:
    """``[('jump', 0.91), ...]`` -> ``['jump: 0.910', ...]`` (at most ``max_lines``)."""
    return [f'{label}: {score:.3f}' for label, score in list(results)[:max_lines]]


def _even(frame: np.ndarray) -> np.ndarray:
    # H.264 with yuv420p needs even width and height: drop a last row/column when odd.
    h, w = frame.shape[:2]
    return frame[:h - h % 2, :w - w % 2]


def write_video(frames: Iterable[np.ndarray], path: str, fps: float = 25.0) -> int:
    """Write RGB frames to ``path``; the container follows the extension (.mp4/.avi/.mkv/.mov or .gif).

    Videos are H.264 (yuv420p, playable in browsers and players) through PyAV when it is installed,
    else MPEG-4 Part 2 through OpenCV. GIFs go through Pillow. Returns the number of frames written.
    """
    ext = os.path.splitext(path)[1].lower()
    if ext in GIF_EXTS:
        return write_gif(frames, path, fps)
    if ext not in VIDEO_EXTS:
        raise ValueError(f'{path}: unsupported output extension {ext!r}; use one of {VIDEO_EXTS + GIF_EXTS}')
    if fps <= 0:
        raise ValueError(f'{path}: fps must be > 0, got {fps}')
    try:
        import av  # noqa: F401
    except ImportError:
        return _write_video_cv2(frames, path, fps)
    return _write_video_av(frames, path, fps)


def _write_video_av(frames: Iterable[np.ndarray], path: str, fps: float) -> int:
    import av
    count = 0
    with atomic_path(path, suffix=os.path.splitext(path)[1]) as tmp:
        container = av.open(tmp, mode='w')
        try:
            stream = None
            for frame in frames:
                frame = _even(_check_frame(frame, path))
                if stream is None:
                    rate = Fraction(fps).limit_denominator(1001)
                    stream = container.add_stream('libx264' if 'libx264' in av.codecs_available else 'mpeg4',
                                                  rate=rate)
                    stream.width, stream.height = frame.shape[1], frame.shape[0]
                    stream.pix_fmt = 'yuv420p'
                elif frame.shape[:2] != (stream.height, stream.width):
                    raise ValueError(f'{path}: frame {count} has size {frame.shape[:2]}, '
                                     f'expected {(stream.height, stream.width)} like the first frame')
                for packet in stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format='rgb24')):
                    container.mux(packet)
                count += 1
            if stream is None:
                raise ValueError(f'{path}: no frames to write')
            for packet in stream.encode():
                container.mux(packet)
        finally:
            container.close()
    return count


def _write_video_cv2(frames: Iterable[np.ndarray], path: str, fps: float) -> int:
    count, writer = 0, None
    with atomic_path(path, suffix=os.path.splitext(path)[1]) as tmp:
        try:
            for frame in frames:
                frame = _check_frame(frame, path)
                if writer is None:
                    size = (frame.shape[1], frame.shape[0])
                    writer = cv2.VideoWriter(tmp, cv2.VideoWriter_fourcc(*'mp4v'), fps, size)
                    if not writer.isOpened():
                        raise RuntimeError(f'{path}: OpenCV cannot open a video writer (mp4v)')
                writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
                count += 1
            if writer is None:
                raise ValueError(f'{path}: no frames to write')
        finally:
            if writer is not None:
                writer.release()
    return count


def write_gif(frames: Iterable[np.ndarray], path: str, fps: float = 10.0, loop: int = 0) -> int:
    """Write RGB frames as an animated GIF (Pillow); returns the number of frames."""
    from PIL import Image
    images = [Image.fromarray(_check_frame(f, path)) for f in frames]
    if not images:
        raise ValueError(f'{path}: no frames to write')
    duration = max(10, int(round(1000.0 / fps)))  # GIF delays are in 1/100 s; browsers clamp below 20 ms
    with atomic_path(path, suffix=os.path.splitext(path)[1]) as tmp:
        images[0].save(tmp, format='GIF', save_all=True, append_images=images[1:], duration=duration, loop=loop,
                       disposal=2)
    return len(images)


def read_video(path: str) -> tuple[list[np.ndarray], float]:
    """Read all frames of a video as RGB arrays, with its frame rate (OpenCV; fine for demo-length clips)."""
    frames = list(iter_video(path))
    cap = cv2.VideoCapture(path)
    fps = cap.get(cv2.CAP_PROP_FPS) or 25.0
    cap.release()
    return frames, float(fps if fps > 0 else 25.0)


def iter_video(path: str) -> Iterator[np.ndarray]:
    """Yield the frames of a video file or stream as RGB arrays."""
    if not (os.path.isfile(path) or '://' in path):
        raise FileNotFoundError(f'video not found: {path}')
    cap = cv2.VideoCapture(path)
    if not cap.isOpened():
        raise RuntimeError(f'{path}: OpenCV cannot open this video')
    try:
        while True:
            ok, frame = cap.read()
            if not ok:
                break
            yield cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
    finally:
        cap.release()


def count_video_frames(path: str) -> int:
    """Decode ``path`` fully and count frames (container metadata can be wrong, decoding is not)."""
    import av
    with av.open(path) as container:
        return sum(1 for _ in container.decode(video=0))


def denormalize(images: np.ndarray, mean: Sequence[float], std: Sequence[float], to_rgb: bool) -> np.ndarray:
    """Undo ``img_norm_cfg``: ``(N, C, H, W)`` float network input -> ``(N, H, W, 3)`` RGB uint8.

    The pipeline computes ``(img - mean) / std`` on BGR frames, swapping to RGB first when ``to_rgb``;
    so the inverse yields RGB when ``to_rgb`` and BGR otherwise (then swapped here). Images with a
    channel count other than 3 (flow) are shown as the mean over channels, in grey.
    """
    images = np.asarray(images, dtype=np.float32)
    if images.ndim != 4:
        raise ValueError(f'denormalize: expected (N, C, H, W), got {images.shape}')
    channels = images.shape[1]
    mean_a = np.asarray(mean, np.float32).reshape(1, -1, 1, 1)
    std_a = np.asarray(std, np.float32).reshape(1, -1, 1, 1)
    if channels == 3:
        out = images * std_a + mean_a
        if not to_rgb:
            out = out[:, ::-1]
    else:
        m = float(np.mean(mean)) if len(mean) else 0.0
        s = float(np.mean(std)) if len(std) else 1.0
        out = np.repeat((images * s + m).mean(axis=1, keepdims=True), 3, axis=1)
    # Inputs divided by 255 (div_255=True) come back in [0, 1]; bring them to [0, 255].
    if out.max() <= 1.5:
        out = out * 255.0
    return np.clip(out, 0, 255).astype(np.uint8).transpose(0, 2, 3, 1).copy()
