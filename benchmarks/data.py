"""Image-like uint8 test data for the throughput benchmark.

Pure noise would be a poor stand-in for photos: histogram-based ops (equalize,
auto-contrast) and blends behave differently on it, and a compressible
structure is what real inputs have.  The synthetic images here are smooth
per-channel gradients and low-frequency waves, a few flat shapes, and a little
pixel noise.  ``--data photos`` uses random crops of the photographs that ship
inside scikit-image instead (no download needed).
"""

from __future__ import annotations

import numpy as np


def synthetic_images(n: int, size: int, seed: int = 0) -> np.ndarray:
    """``n`` image-like uint8 images of shape ``[size, size, 3]``."""
    rng = np.random.default_rng(seed)
    out = np.empty((n, size, size, 3), np.uint8)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / max(size - 1, 1)
    chunk = 256
    for start in range(0, n, chunk):
        m = min(chunk, n - start)
        # Smooth background: a random linear gradient plus a low-frequency wave
        # per image and channel.
        a = rng.uniform(-120, 120, (m, 1, 1, 3)).astype(np.float32)
        b = rng.uniform(-120, 120, (m, 1, 1, 3)).astype(np.float32)
        c = rng.uniform(40, 215, (m, 1, 1, 3)).astype(np.float32)
        fx = rng.uniform(0.5, 3.0, (m, 1, 1, 1)).astype(np.float32)
        fy = rng.uniform(0.5, 3.0, (m, 1, 1, 1)).astype(np.float32)
        ph = rng.uniform(0, 2 * np.pi, (m, 1, 1, 3)).astype(np.float32)
        amp = rng.uniform(10, 50, (m, 1, 1, 3)).astype(np.float32)
        img = (
            c
            + a * (xx[None, :, :, None] - 0.5)
            + b * (yy[None, :, :, None] - 0.5)
            + amp * np.sin(2 * np.pi * (fx * xx[None, :, :, None] + fy * yy[None, :, :, None]) + ph)
        )
        # A few flat rectangles and discs ("objects" with edges), drawn inside
        # their bounding boxes only.
        for k in range(m):
            for _ in range(rng.integers(1, 4)):
                color = rng.uniform(0, 255, 3).astype(np.float32)
                cy, cx = rng.uniform(0, size, 2)
                r = rng.uniform(0.08, 0.3) * size
                y0, y1 = max(int(cy - r), 0), min(int(cy + r) + 1, size)
                x0, x1 = max(int(cx - r), 0), min(int(cx + r) + 1, size)
                if y0 >= y1 or x0 >= x1:
                    continue
                py = np.arange(y0, y1, dtype=np.float32)[:, None]
                px = np.arange(x0, x1, dtype=np.float32)[None, :]
                if rng.random() < 0.5:
                    mask = (py - cy) ** 2 + (px - cx) ** 2 < r * r
                else:
                    mask = (np.abs(py - cy) < r) & (np.abs(px - cx) < r * 0.7)
                img[k, y0:y1, x0:x1][mask] = color
        img += rng.standard_normal(img.shape, dtype=np.float32) * 6.0
        out[start : start + m] = np.clip(np.rint(img), 0, 255).astype(np.uint8)
    return out


def photo_images(n: int, size: int, seed: int = 0) -> np.ndarray:
    """Random crops of scikit-image's bundled colour photos, resized to ``size``."""
    from skimage import data as skdata
    from skimage.transform import resize

    names = ["astronaut", "coffee", "chelsea", "rocket", "immunohistochemistry"]
    photos = []
    for name in names:
        try:
            p = getattr(skdata, name)()
        except Exception:  # a photo that needs a download: skip it
            continue
        if p.ndim == 3 and p.shape[-1] == 3:
            photos.append(p)
    if not photos:
        raise RuntimeError("no bundled scikit-image colour photo could be loaded")
    rng = np.random.default_rng(seed)
    out = np.empty((n, size, size, 3), np.uint8)
    for i in range(n):
        p = photos[rng.integers(len(photos))]
        h, w = p.shape[:2]
        s = int(rng.uniform(0.3, 1.0) * min(h, w))
        y0, x0 = rng.integers(0, h - s + 1), rng.integers(0, w - s + 1)
        crop = resize(p[y0 : y0 + s, x0 : x0 + s], (size, size), anti_aliasing=True)
        out[i] = np.clip(np.rint(crop * 255), 0, 255).astype(np.uint8)
    return out


def make_images(kind: str, n: int, size: int, seed: int = 0, unique: int = 512) -> np.ndarray:
    """``n`` images: ``unique`` distinct ones (at most), repeated to fill ``n``.

    Repeating a pool keeps data generation fast at large sizes; the content of
    each image does not change the cost of any augmentation measured here.
    """
    m = min(n, unique)
    if kind == "synthetic":
        pool = synthetic_images(m, size, seed)
    elif kind == "photos":
        pool = photo_images(m, size, seed)
    else:
        raise ValueError(f"unknown data kind {kind!r}")
    if m == n:
        return pool
    return np.ascontiguousarray(np.resize(pool, (n, size, size, 3)))
