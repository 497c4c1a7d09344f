"""Bounding boxes through the geometric ops: the inverse of the warp's sampling map.

The nearest warp samples output pixel (x, y) at PIL's 16.16 fixed-point source
coordinate `(o + x f0 + y f1) >> 16` (see `ops._geometric.fixed_point_parts`). In
continuous coordinates (pixel edges at integers, centres at +0.5) that is the affine
sampling map

    S(X, Y) = ((f0 X + f1 Y + tx) / 65536, (f3 X + f4 Y + ty) / 65536),
    tx = o_x - (f0 + f1) / 2,  ty = o_y - (f3 + f4) / 2,

with integer f's and half-integer t's. A box's corners go through its inverse (the
forward map of the image content); the result is the bounding box of the moved
quadrilateral's part that lies inside the image (the enclosing box of the moved
corners, clipped to the image, would keep the extent of corners that left it). Everything is computed from those integers with single float64 operations
kept apart (no fused multiply-adds), so every mode and device gives the same bits.
"""

from __future__ import annotations

import tensorflow as tf

from randaugment.ops._geometric import _fix

_ONE = 65536.0


def _apart(x: tf.Tensor) -> tf.Tensor:
    """A no-op `maximum` that keeps compilers from fusing `x` into a multiply-add."""
    return tf.maximum(x, tf.constant(-1.0e300, x.dtype))


def forward_maps(coeffs: tf.Tensor) -> tf.Tensor:
    """From PIL affine coefficients `[..., 6]` (float64) to the fixed-point sampling
    map's integers `[..., 6]`: `(f0, f1, tx, f3, f4, ty)` as above."""
    a0, a1, a2, a3, a4, a5 = tf.unstack(coeffs, num=6, axis=-1)
    f0, f1, f3, f4 = _fix(a0), _fix(a1), _fix(a3), _fix(a4)
    # The origins as `fixed_point_parts` computes them (PIL's order of operations).
    ox = _fix(a2 + a0 * 0.5 + a1 * 0.5)
    oy = _fix(a5 + a3 * 0.5 + a4 * 0.5)
    tx = ox - (f0 + f1) * 0.5  # exact: integers below 2**40 and halves
    ty = oy - (f3 + f4) * 0.5
    return tf.stack([f0, f1, tx, f3, f4, ty], axis=-1)


def _visible_extent(xs, ys, w, h):
    """The bounding box of the part of each convex quad (vertices in order, `[B, M,
    4]`) that lies inside `[0, w] x [0, h]`: the extremes over the quad's vertices
    inside the image, the image's corners inside the quad, and the points where the
    quad's edges cross the image's edges. A quad with nothing inside gives a box of
    no area."""
    xb, yb = tf.roll(xs, -1, axis=-1), tf.roll(ys, -1, axis=-1)  # each edge's end
    dx, dy = xb - xs, yb - ys
    points_x, points_y, valid = [xs], [ys], [(xs >= 0.0) & (xs <= w) & (ys >= 0.0) & (ys <= h)]
    # The image's corners inside the quad (same side of every edge; a quad of no
    # area holds none).
    doubled_area = tf.reduce_sum(_apart(xs * yb) - _apart(xb * ys), axis=-1, keepdims=True)
    for px, py in ((0.0, 0.0), (w, 0.0), (w, h), (0.0, h)):
        cross = _apart(dx * (py - ys)) - _apart(dy * (px - xs))
        inside = tf.reduce_all(cross >= 0.0, axis=-1, keepdims=True) | tf.reduce_all(
            cross <= 0.0, axis=-1, keepdims=True
        )
        inside &= doubled_area != 0.0
        points_x.append(tf.zeros_like(doubled_area) + px)
        points_y.append(tf.zeros_like(doubled_area) + py)
        valid.append(inside)
    # Where the edges cross the lines x = 0, x = w, y = 0, y = h.
    for vertical, level in ((True, 0.0), (True, w), (False, 0.0), (False, h)):
        along, other = (dx, dy) if vertical else (dy, dx)
        start, start_other = (xs, ys) if vertical else (ys, xs)
        crosses = along != 0.0
        t = (level - start) / tf.where(crosses, along, 1.0)
        at = start_other + _apart(t * other)
        limit = h if vertical else w
        ok = crosses & (t >= 0.0) & (t <= 1.0) & (at >= 0.0) & (at <= limit)
        line = tf.zeros_like(at) + level
        points_x.append(line if vertical else at)
        points_y.append(at if vertical else line)
        valid.append(ok)
    px = tf.concat(points_x, axis=-1)
    py = tf.concat(points_y, axis=-1)
    ok = tf.concat(
        [tf.broadcast_to(v, tf.shape(px[..., :1])) if v.shape[-1] == 1 else v for v in valid],
        axis=-1,
    )
    big = tf.constant(1.0e300, tf.float64)
    left = tf.reduce_min(tf.where(ok, px, big), axis=-1)
    right = tf.reduce_max(tf.where(ok, px, -big), axis=-1)
    top = tf.reduce_min(tf.where(ok, py, big), axis=-1)
    bottom = tf.reduce_max(tf.where(ok, py, -big), axis=-1)
    seen = tf.reduce_any(ok, axis=-1)
    # Nothing inside: a box of no area at the first vertex, clipped to the image.
    x0 = tf.clip_by_value(xs[..., 0], 0.0, w)
    y0 = tf.clip_by_value(ys[..., 0], 0.0, h)
    return tf.stack(
        [
            tf.where(seen, left, x0),
            tf.where(seen, top, y0),
            tf.where(seen, right, x0),
            tf.where(seen, bottom, y0),
        ],
        axis=-1,
    )


def transform_boxes(boxes: tf.Tensor, maps: tf.Tensor, height, width) -> tf.Tensor:
    """Boxes `[B, M, 4]` (xyxy, float64, pixels) through each image's map `[B, 6]`
    (from `forward_maps`): the part of the box inside the image (only that part of
    the object is in the pixels the warp moves), its four corners moved, and the
    bounding box of the moved quad's part inside the image."""
    f0, f1, tx, f3, f4, ty = (m[:, tf.newaxis, tf.newaxis] for m in tf.unstack(maps, 6, axis=-1))
    det = _apart(f0 * f4) - _apart(f1 * f3)  # exact: integers below 2**35
    w = tf.cast(width, tf.float64)
    h = tf.cast(height, tf.float64)
    x1, y1, x2, y2 = tf.unstack(boxes, num=4, axis=-1)
    x1, x2 = tf.clip_by_value(x1, 0.0, w), tf.clip_by_value(x2, 0.0, w)
    y1, y2 = tf.clip_by_value(y1, 0.0, h), tf.clip_by_value(y2, 0.0, h)
    xs = tf.stack([x1, x2, x2, x1], axis=-1)  # [B, M, 4 corners], in order
    ys = tf.stack([y1, y1, y2, y2], axis=-1)
    u = _apart(xs * _ONE) - tx  # exact multiply by a power of two, then one rounding
    v = _apart(ys * _ONE) - ty
    out_x = (_apart(f4 * u) - _apart(f1 * v)) / det
    out_y = (_apart(f0 * v) - _apart(f3 * u)) / det
    return _visible_extent(out_x, out_y, w, h)


def follow_plan(boxes, maps, moved, height, width):
    """Boxes through the slots of a plan, in order.

    Args:
        boxes: `[B, M, 4]` xyxy float64 in pixels.
        maps: `[B, N, 6]`, each slot's `forward_maps`.
        moved: bool `[B, N]`, whether the slot applied a geometric op (other slots
            leave the boxes as they are, unclipped).

    Returns:
        `(boxes, touched)`: the boxes, and bool `[B]`: whether any slot moved them.
    """
    for slot in range(maps.shape[1]):
        moved_boxes = transform_boxes(boxes, maps[:, slot], height, width)
        boxes = tf.where(moved[:, slot, tf.newaxis, tf.newaxis], moved_boxes, boxes)
    return boxes, tf.reduce_any(moved, axis=1)
