"""Procedural "toy" action videos: one coloured shape per class, each with its own characteristic motion.

A class is a (shape, hue, motion) triple, so a single frame already identifies it (shape + hue; distractors
are small and nearly grey, so they never carry a class colour) while the motion also differs between
classes (something for 3D models to learn). Everything is a pure function of a ``numpy.random.Generator``,
so clips are reproducible from a seed.

Reusable pieces for the other toy generators (untrimmed videos, several actors for AVA-style data):

- :func:`sample_actor` draws the random parameters of one actor of a class (optionally inside a region);
- :func:`actor_state` gives its centre/radius/angle at frame ``t``; :func:`draw_actor` paints it onto a
  canvas and returns its bounding box;
- :func:`render_background` / :func:`add_noise` / :func:`sample_distractors` build the scene around it;
- :func:`render_clip` composes all of that into a ``(T, H, W, 3)`` uint8 RGB clip.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import cv2
import numpy as np

# sub-pixel precision of cv2.fillPoly: coordinates are multiplied by 2**_SHIFT
_SHIFT = 4


@dataclass(frozen=True)
class ToyClass:
    name: str
    shape: str
    hue: float  # degrees, 0-360
    motion: str


# Hues are >= 40 degrees apart and jittered by at most +-8, so colour alone separates the classes.
CLASSES: tuple[ToyClass, ...] = (
    ToyClass('circle_slide', 'circle', 0.0, 'slide'),          # red, horizontal back-and-forth
    ToyClass('square_spin', 'square', 28.0, 'spin'),           # orange, rotates in place
    ToyClass('triangle_bounce', 'triangle', 58.0, 'bounce'),   # yellow, falls and bounces (gravity)
    ToyClass('cross_pulse', 'cross', 120.0, 'pulse'),          # green, grows and shrinks periodically
    ToyClass('ring_orbit', 'ring', 180.0, 'orbit'),            # cyan, circles around a centre
    ToyClass('star_diagonal', 'star', 225.0, 'diagonal'),      # blue, bounces off the walls diagonally
    ToyClass('diamond_shake', 'diamond', 270.0, 'shake'),      # purple, fast small horizontal oscillation
    ToyClass('hexagon_zoom', 'hexagon', 315.0, 'zoom'),        # magenta, approaches (grows steadily)
)
CLASS_NAMES: tuple[str, ...] = tuple(c.name for c in CLASSES)
SHAPES: tuple[str, ...] = tuple(c.shape for c in CLASSES)


def _regular(n: int, phase: float = 0.0, radius: float = 1.0) -> np.ndarray:
    a = phase + np.arange(n) * 2 * math.pi / n
    return np.stack([np.cos(a), np.sin(a)], 1) * radius


def _shape_polygons(shape: str) -> list[tuple[np.ndarray, int]]:
    """Unit-radius polygons of a shape as ``(points (N, 2), fill)``; fill 0 cuts a hole (the ring)."""
    if shape == 'circle':
        return [(_regular(40), 255)]
    if shape == 'ring':
        return [(_regular(40), 255), (_regular(40, radius=0.55), 0)]
    if shape == 'square':
        return [(_regular(4, math.pi / 4), 255)]
    if shape == 'diamond':  # a rhombus, taller than wide, so it differs from a rotated square
        return [(np.array([[0, -1.0], [0.6, 0], [0, 1.0], [-0.6, 0]]), 255)]
    if shape == 'triangle':
        return [(_regular(3, -math.pi / 2), 255)]
    if shape == 'hexagon':
        return [(_regular(6), 255)]
    if shape == 'star':
        outer, inner = _regular(5, -math.pi / 2), _regular(5, -math.pi / 2 + math.pi / 5, 0.45)
        return [(np.stack([outer, inner], 1).reshape(-1, 2), 255)]
    if shape == 'cross':
        w = 0.33
        pts = [(-w, -1), (w, -1), (w, -w), (1, -w), (1, w), (w, w), (w, 1), (-w, 1), (-w, w), (-1, w), (-1, -w),
               (-w, -w)]
        return [(np.array(pts, dtype=float), 255)]
    raise KeyError(f'unknown toy shape {shape!r}; expected one of {sorted(set(SHAPES))}')


_POLYS = {s: _shape_polygons(s) for s in SHAPES}


def hsv_to_rgb(h: float, s: float, v: float) -> np.ndarray:
    """Hue in degrees, s/v in [0, 1] -> float RGB in [0, 255]."""
    c = v * s
    hp = (h % 360.0) / 60.0
    x = c * (1 - abs(hp % 2 - 1))
    r, g, b = [(c, x, 0), (x, c, 0), (0, c, x), (0, x, c), (x, 0, c), (c, 0, x)][int(hp) % 6]
    m = v - c
    return np.array([r + m, g + m, b + m]) * 255.0


@dataclass
class Actor:
    """Random parameters of one moving shape; positions are in pixels of the whole canvas."""
    shape: str
    motion: str
    color: np.ndarray           # RGB float, 0-255
    center: np.ndarray          # (2,) start/anchor centre (x, y)
    radius: float
    region: tuple[float, float, float, float]  # x1, y1, x2, y2 the actor stays inside
    speed: float                # pixels per frame (or rad/frame for angular motions)
    direction: np.ndarray       # (2,) unit vector
    phase: float
    angle0: float
    extra: dict = field(default_factory=dict)


def sample_actor(class_id: int, rng: np.random.Generator, size: tuple[int, int],
                 region: tuple[float, float, float, float] | None = None, radius_frac: float = 0.17) -> Actor:
    """Draw an actor of ``CLASSES[class_id]`` for a canvas ``size = (H, W)``.

    ``region`` (x1, y1, x2, y2, pixels) confines the actor (default: the whole canvas); ``radius_frac`` is
    the base radius relative to the region's short side (jittered by +-20 %).
    """
    if not 0 <= class_id < len(CLASSES):
        raise ValueError(f'class_id {class_id} out of range [0, {len(CLASSES)})')
    cls = CLASSES[class_id]
    h, w = size
    region = (0.0, 0.0, float(w), float(h)) if region is None else tuple(float(v) for v in region)
    rw, rh = region[2] - region[0], region[3] - region[1]
    radius = radius_frac * min(rw, rh) * rng.uniform(0.8, 1.2)
    color = hsv_to_rgb(cls.hue + rng.uniform(-8, 8), rng.uniform(0.75, 1.0), rng.uniform(0.75, 1.0))
    margin = radius * 1.35  # room for pulse/zoom growth
    center = np.array([rng.uniform(region[0] + margin, max(region[0] + margin, region[2] - margin)),
                       rng.uniform(region[1] + margin, max(region[1] + margin, region[3] - margin))])
    a = rng.uniform(0, 2 * math.pi)
    direction = np.array([math.cos(a), math.sin(a)])
    extra: dict = {}
    scale = min(rw, rh) / 64.0  # motions are tuned on a 64-pixel region and scale with it
    if cls.motion == 'slide':
        speed, direction = rng.uniform(1.5, 2.5) * scale, np.array([rng.choice([-1.0, 1.0]), 0.0])
    elif cls.motion == 'spin':
        speed = rng.choice([-1.0, 1.0]) * rng.uniform(0.15, 0.3)  # rad/frame
        extra['drift'] = direction * rng.uniform(0.0, 0.3) * scale
    elif cls.motion == 'bounce':
        speed = rng.uniform(0.5, 1.2) * scale  # horizontal drift
        extra['gravity'] = rng.uniform(0.35, 0.55) * scale
        extra['floor'] = region[3] - radius
        # apex height above the floor; the ball keeps bouncing elastically up to it
        extra['apex'] = rng.uniform(0.45, 0.9) * max(extra['floor'] - (region[1] + radius), 1e-3)
        extra['offset'] = rng.uniform(0, 1)  # phase within the bounce period
        direction = np.array([rng.choice([-1.0, 1.0]), 0.0])
    elif cls.motion == 'pulse':
        speed = rng.uniform(0.35, 0.55)  # rad/frame of the size oscillation
    elif cls.motion == 'orbit':
        speed = rng.choice([-1.0, 1.0]) * rng.uniform(0.2, 0.35)
        orbit = min(rw, rh) * rng.uniform(0.15, 0.22)
        extra['orbit'] = orbit
        # keep the whole orbit inside the region
        center = np.array([np.clip(center[0], region[0] + orbit + radius, region[2] - orbit - radius),
                           np.clip(center[1], region[1] + orbit + radius, region[3] - orbit - radius)])
    elif cls.motion == 'diagonal':
        speed = rng.uniform(1.8, 2.8) * scale
        direction = np.array([rng.choice([-1.0, 1.0]), rng.choice([-1.0, 1.0])]) / math.sqrt(2)
    elif cls.motion == 'shake':
        speed = rng.uniform(1.6, 2.4)  # rad/frame: a fast oscillation
        extra['amp'] = rng.uniform(0.08, 0.12) * min(rw, rh)
    elif cls.motion == 'zoom':
        speed = rng.uniform(0.02, 0.035)  # relative growth per frame
        radius *= 0.6
        extra['drift'] = direction * rng.uniform(0.0, 0.3) * scale
    else:  # pragma: no cover - CLASSES is fixed above
        raise KeyError(cls.motion)
    return Actor(cls.shape, cls.motion, color, center, radius, region, float(speed), direction,
                 float(rng.uniform(0, 2 * math.pi)), float(rng.uniform(0, 2 * math.pi)), extra)


def _reflect(x: float, lo: float, hi: float) -> float:
    """Fold ``x`` into [lo, hi] like a ball bouncing between two walls."""
    if hi <= lo:
        return lo
    span = hi - lo
    y = (x - lo) % (2 * span)
    return lo + (y if y <= span else 2 * span - y)


def actor_state(actor: Actor, t: float) -> tuple[np.ndarray, float, float]:
    """Centre (x, y), radius and rotation angle of ``actor`` at frame ``t`` (0-based, may be fractional)."""
    x1, y1, x2, y2 = actor.region
    c, r, ang = actor.center.astype(float).copy(), actor.radius, actor.angle0
    m = actor.motion
    if m in ('slide', 'diagonal'):
        p = c + actor.direction * actor.speed * t
        c = np.array([_reflect(p[0], x1 + r, x2 - r), _reflect(p[1], y1 + r, y2 - r)])
    elif m == 'spin':
        ang = actor.angle0 + actor.speed * t
        p = c + actor.extra['drift'] * t
        c = np.array([_reflect(p[0], x1 + r, x2 - r), _reflect(p[1], y1 + r, y2 - r)])
    elif m == 'bounce':
        g, floor, apex = actor.extra['gravity'], actor.extra['floor'], actor.extra['apex']
        vmax = math.sqrt(2 * g * apex)
        period = 2 * vmax / g
        s = (t + actor.extra['offset'] * period) % period - period / 2  # time from the apex
        y = floor - (apex - 0.5 * g * s * s)
        x = _reflect(c[0] + actor.direction[0] * actor.speed * t, x1 + r, x2 - r)
        c = np.array([x, y])
    elif m == 'pulse':
        r = actor.radius * (1.0 + 0.3 * math.sin(actor.phase + actor.speed * t))
    elif m == 'orbit':
        a = actor.phase + actor.speed * t
        c = c + actor.extra['orbit'] * np.array([math.cos(a), math.sin(a)])
    elif m == 'shake':
        c = c + np.array([actor.extra['amp'] * math.sin(actor.phase + actor.speed * t), 0.0])
    elif m == 'zoom':
        r = actor.radius * min(1.0 + actor.speed * t, 2.2)
        p = c + actor.extra['drift'] * t
        c = np.array([_reflect(p[0], x1 + r, x2 - r), _reflect(p[1], y1 + r, y2 - r)])
    return c, float(r), float(ang)


def draw_shape(canvas: np.ndarray, shape: str, center: np.ndarray, radius: float, angle: float,
               color: np.ndarray, alpha: float = 1.0) -> tuple[float, float, float, float]:
    """Alpha-blend an anti-aliased ``shape`` onto ``canvas`` (H, W, 3, float32, in place).

    Returns the shape's bounding box (x1, y1, x2, y2) clipped to the canvas.
    """
    h, w = canvas.shape[:2]
    rot = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    mask = np.zeros((h, w), np.uint8)
    box = None
    for pts, fill in _POLYS[shape]:
        p = pts @ rot.T * radius + center
        if fill:
            box = (p[:, 0].min(), p[:, 1].min(), p[:, 0].max(), p[:, 1].max())
        cv2.fillPoly(mask, [np.round(p * (1 << _SHIFT)).astype(np.int32)], int(fill), cv2.LINE_AA, _SHIFT)
    a = mask.astype(np.float32)[..., None] * (alpha / 255.0)
    canvas *= 1.0 - a
    canvas += a * color.astype(np.float32)
    x1, y1, x2, y2 = box
    return max(x1, 0.0), max(y1, 0.0), min(x2, w - 1.0), min(y2, h - 1.0)


def draw_actor(canvas: np.ndarray, actor: Actor, t: float) -> tuple[float, float, float, float]:
    """Paint ``actor`` as it is at frame ``t`` onto ``canvas`` (float32, in place); returns its box."""
    c, r, ang = actor_state(actor, t)
    return draw_shape(canvas, actor.shape, c, r, ang, actor.color)


@dataclass
class Distractor:
    shape: str
    color: np.ndarray
    center: np.ndarray
    velocity: np.ndarray
    radius: float
    spin: float


def sample_distractors(rng: np.random.Generator, size: tuple[int, int], num: int,
                       actor_radius: float) -> list[Distractor]:
    """Small, nearly grey shapes (saturation <= 0.12) drifting around: clutter that never carries a class hue."""
    h, w = size
    out = []
    for _ in range(num):
        out.append(Distractor(
            shape=str(rng.choice(SHAPES)),
            color=hsv_to_rgb(rng.uniform(0, 360), rng.uniform(0.0, 0.12), rng.uniform(0.35, 0.95)),
            center=np.array([rng.uniform(0, w), rng.uniform(0, h)]),
            velocity=rng.normal(0, 0.8, size=2) * min(h, w) / 64.0,
            radius=actor_radius * rng.uniform(0.25, 0.45),
            spin=rng.uniform(-0.2, 0.2)))
    return out


def draw_distractor(canvas: np.ndarray, d: Distractor, t: float) -> None:
    h, w = canvas.shape[:2]
    p = d.center + d.velocity * t
    c = np.array([_reflect(p[0], 0, w - 1), _reflect(p[1], 0, h - 1)])
    draw_shape(canvas, d.shape, c, d.radius, d.spin * t, d.color, alpha=0.9)


def render_background(rng: np.random.Generator, size: tuple[int, int]) -> np.ndarray:
    """A smooth low-saturation random texture (H, W, 3) float32: blurred noise blobs on a random base tone."""
    h, w = size
    base = hsv_to_rgb(rng.uniform(0, 360), rng.uniform(0.0, 0.25), rng.uniform(0.15, 0.55))
    cells = int(rng.integers(3, 9))
    blobs = rng.normal(0, 1, size=(cells, cells)).astype(np.float32)
    tex = cv2.resize(blobs, (w, h), interpolation=cv2.INTER_CUBIC)
    fine = cv2.GaussianBlur(rng.normal(0, 1, size=(h, w)).astype(np.float32), (0, 0), 1.0)
    amp = rng.uniform(8, 25)
    lum = tex * amp + fine * amp * 0.4
    return np.clip(base[None, None, :] + lum[..., None], 0, 255).astype(np.float32)


def add_noise(frame: np.ndarray, rng: np.random.Generator, sigma: float) -> np.ndarray:
    """Add Gaussian sensor noise and round to uint8."""
    noisy = frame + rng.normal(0, sigma, size=frame.shape).astype(np.float32)
    return np.clip(np.rint(noisy), 0, 255).astype(np.uint8)


def render_clip(class_id: int, num_frames: int, size: tuple[int, int], rng: np.random.Generator,
                num_distractors: int | None = None, noise_sigma: float | None = None,
                return_boxes: bool = False) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """Render one clip of class ``class_id``: ``(num_frames, H, W, 3)`` uint8 **RGB**.

    Background texture with a slow global brightness flicker, ``num_distractors`` grey clutter shapes
    (random 1-4 by default) behind the actor, the actor, then Gaussian noise (sigma random 2-8 by default).
    With ``return_boxes`` also returns the actor's per-frame boxes ``(num_frames, 4)`` (x1, y1, x2, y2).
    """
    if num_frames < 1:
        raise ValueError(f'num_frames must be >= 1, got {num_frames}')
    h, w = size
    background = render_background(rng, size)
    actor = sample_actor(class_id, rng, size)
    n_dis = int(rng.integers(1, 5)) if num_distractors is None else num_distractors
    distractors = sample_distractors(rng, size, n_dis, actor.radius)
    sigma = float(rng.uniform(2, 8)) if noise_sigma is None else noise_sigma
    flicker_amp, flicker_rate, flicker_phase = rng.uniform(0, 0.08), rng.uniform(0.05, 0.3), rng.uniform(0, 6.3)
    frames = np.empty((num_frames, h, w, 3), np.uint8)
    boxes = np.empty((num_frames, 4), np.float32)
    for t in range(num_frames):
        canvas = background * (1.0 + flicker_amp * math.sin(flicker_phase + flicker_rate * t))
        for d in distractors:
            draw_distractor(canvas, d, t)
        boxes[t] = draw_actor(canvas, actor, t)
        frames[t] = add_noise(canvas, rng, sigma)
    return (frames, boxes) if return_boxes else frames


def clip_seed(seed: int, class_id: int, index: int) -> np.random.SeedSequence:
    """Per-clip seed: independent of worker count and of how many clips the other classes have."""
    return np.random.SeedSequence([seed, class_id, index])
