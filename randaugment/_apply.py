"""Running a plan on a batch: each op family applied at the cost of one op.

Ops fall into families that can each be applied to many images at once with one
parameter per image, where an image that drew another op gets the family's identity:

- geometric (rotate, shear, translate): one affine warp with a per-image matrix (int32
  fixed point for nearest interpolation);
- lut (solarize_add; on float32 images also posterize, solarize, brightness, invert):
  a per-pixel value map, one 256-entry table per image, applied with one gather;
- bits (posterize, solarize, invert on uint8 images): `(x & a) ^ (f * (x >= t))`;
- scale (brightness on uint8 images): `min(f x, 255)`, truncated by the cast back;
- histogram (auto_contrast, equalize): a table per image and channel built from the
  image's histograms, applied with one gather;
- contrast: one blend with each image's mean gray;
- color, sharpness: one blend with a degenerate image (gray, smoothed) per image;
- cutout: one masked fill.

Images are uint8 or float32 (see `randaugment._images.work_dtype`); the families
that blend compute in float32 and cast back. What a family needs from each of its ops
(an affine matrix, a value table, a bit triple, a histogram table) is a formula in the
op's record (`randaugment.table.OpSpec`): this module knows families, never op names.

Two ways to run a slot share these family functions, so they give bit-identical
results for the same plan:

- "partition": sort the batch by op (families contiguous), split it into one part
  per family, run each family on its part only, concatenate; the last slot stitches
  the batch back into input order. About one op per image per slot; dynamic shapes,
  so not for XLA. The fastest on CPU in `tf.data`.
- "fused": run every family present on the whole batch. Static shapes: compiles with
  XLA and suits GPUs, at the cost of every family per slot.
"""

from __future__ import annotations

from typing import NamedTuple

import tensorflow as tf

from randaugment import _boxes
from randaugment.ops import _blend, _geometric, _value
from randaugment.ops._common import blend, luminance, quantize_factor
from randaugment.ops._geometric import cutout
from randaugment.table import IDENTITY, ROUNDINGS, OpSpec

FAMILIES = (
    "identity",
    "geometric",
    "lut",
    "bits",
    "scale",
    "histogram",
    "contrast",
    "color",
    "sharpness",
    "cutout",
)

# The per-image scalars each family reads from `SlotRunner.prepare`'s "scalars"
# tensor, in this order; every value is the family's identity for an image that
# drew an op of another family (the fused plan runs each family on every image).
# Blend factors are already on the 2**-14 grid (`quantize_factor`).
_COLUMNS = {
    "bits": ("keep", "threshold", "flip"),
    "scale": ("factor",),
    "histogram": ("kind",),
    "contrast": ("factor",),
    "color": ("factor",),
    "sharpness": ("weight",),
    "cutout": ("size", "center_x", "center_y"),
}


def _select(values: list[tf.Tensor], which: tf.Tensor, default: tf.Tensor) -> tf.Tensor:
    """Per image b, `values[which[b]]` (or `default` where `which[b] < 0`).

    Args:
        values: tensors of shape `[B, ...]`.
        which: int32 `[B]`, index into `values` or -1.
    """
    if len(values) == 1:
        mask = tf.reshape(tf.equal(which, 0), [-1] + [1] * (default.shape.rank - 1))
        return tf.where(mask, values[0], default)
    # One stack and one gather rather than a where per candidate.
    stacked = tf.stack([default, *values], axis=1)  # [B, 1 + M, ...]
    return tf.gather(stacked, which + 1, batch_dims=1)


def _float(images: tf.Tensor) -> tf.Tensor:
    """The images as float32, for the families that blend (no-op for float32)."""
    return tf.cast(images, tf.float32)


class SlotRunner:
    """Applies one slot of a plan, family by family, for a fixed list of ops.

    Everything a family needs besides the images is computed for every image and
    slot at once by `prepare` (a few nodes per call instead of a few per family and
    slot: at 32x32 the cost of a slot is mostly its number of graph nodes). A
    family function takes `(images [k, H, W, C], extras)` where `extras` holds the
    prepared values of those k images, `[k, ...]`.
    """

    def __init__(
        self,
        specs: tuple[OpSpec, ...],
        fill_value: float,
        interpolation: str,
        dtype: tf.DType = tf.float32,
        method: str = "fused",
        mask_fill_value: float | None = None,
    ):
        self.specs = specs
        self.fill_value = float(fill_value)
        self.interpolation = interpolation
        # Segmentation masks follow the geometric family, always with nearest
        # interpolation (class ids never blend); None: no masks.
        self.mask_fill_value = mask_fill_value
        self.dtype = dtype
        self.families = [s.family_for(dtype) for s in specs]
        # The families present, in `FAMILIES` order; an op's family is its position here.
        self.present = [f for f in FAMILIES if f in self.families]
        self.family_of_op = tf.constant([self.present.index(f) for f in self.families], tf.int32)
        # The partition's sort order: by family, then by op within the family.
        ranked = sorted(range(len(specs)), key=lambda i: (self.present.index(self.families[i]), i))
        self.sort_key_of = {i: r for r, i in enumerate(ranked)}
        self.sort_key = tf.constant([self.sort_key_of[i] for i in range(len(specs))], tf.int32)
        self.shared: dict[str, tf.Tensor] = {}  # see `prepare_shared`
        # sharpness' 3x3 box sum from shifted slices rather than an average pool when
        # its family gets a few images per slot (the partition method, sharpness a
        # quarter of the ops or less): on CPU the pool costs tens of microseconds per
        # call however few its images. Same values either way.
        share = sum(f == "sharpness" for f in self.families) / len(self.families)
        self.box_sum = method == "partition" and share <= 0.25
        self.columns: dict[str, int] = {}  # "family.name" -> column of "scalars"
        for family in self.present:
            for name in _COLUMNS.get(family, ()):
                self.columns[f"{family}.{name}"] = len(self.columns)

    def _members(self, family: str) -> list[tuple[int, OpSpec]]:
        return [(i, s) for i, s in enumerate(self.specs) if self.families[i] == family]

    def _local_index(self, op: tf.Tensor, family: str) -> tf.Tensor:
        """Index of each image's op among the family's members, or -1."""
        local = [-1] * len(self.specs)
        for j, (i, _) in enumerate(self._members(family)):
            local[i] = j
        return tf.gather(tf.constant(local, tf.int32), op)

    def _scalars(self, extras, family: str, dtype=tf.float32) -> list[tf.Tensor]:
        """The family's per-image scalars as `[k, 1, 1, 1]` tensors (they broadcast
        along the batch, the fast way on CPU), cast to `dtype`."""
        names = _COLUMNS[family]
        first = self.columns[f"{family}.{names[0]}"]
        scalars = extras["scalars"]
        # [k, K] -> [k, K, 1, 1, 1]: one slice and one unstack give every column.
        block = tf.reshape(scalars, [-1, len(self.columns), 1, 1, 1])[:, first : first + len(names)]
        if dtype != tf.float32:
            block = tf.cast(block, dtype)
        if len(names) == 1:
            return [block[:, 0]]
        return tf.unstack(block, num=len(names), axis=1)

    def parameters(self, op, sign, magnitude, height, width) -> tf.Tensor:
        """Each image's kernel parameter for its op (0 for ops without one), `[B]`.

        The vectorised form of `OpSpec.parameter` (one gather per table column instead
        of a few ops per op), with the same float32 operations in the same order, so
        the values are bit-identical; the reference path in the tests calls
        `OpSpec.parameter` itself.
        """
        specs = self.specs

        def column(values, dtype=tf.float32):
            return tf.gather(tf.constant(values, dtype), op)

        low = column([s.low if s.has_parameter else 0.0 for s in specs])
        span = column([s.high - s.low if s.has_parameter else 0.0 for s in specs])
        signed = column([s.signed for s in specs], tf.bool)
        sides = (None, "width", "height", "shorter side")  # as codes: no strings in XLA
        relative = column([sides.index(s.relative_to) for s in specs], tf.int32)
        rounded = column([s.rounded for s in specs], tf.bool)
        value = low + tf.maximum(tf.where(signed, sign, 1.0) * span * magnitude, -3.0e38)
        h = tf.cast(height, tf.float32)
        w = tf.cast(width, tf.float32)
        side = tf.where(
            tf.equal(relative, 1), w, tf.where(tf.equal(relative, 2), h, tf.minimum(h, w))
        )
        scaled = tf.maximum(value * side, -3.0e38)
        value = tf.where(tf.equal(relative, 0), value, scaled)
        rounded_value = tf.round(value)
        for mode in sorted({s.rounding for s in specs if s.rounded} - {"nearest"}):
            uses = column([s.rounded and s.rounding == mode for s in specs], tf.bool)
            rounded_value = tf.where(uses, ROUNDINGS[mode](value), rounded_value)
        return tf.where(rounded, rounded_value, value)

    # -- what the families need, for all images and slots ------------------------

    def _member_values(self, family: str, op, value, default):
        """Per image, `value(spec)` (a `[B, ...]` tensor) of the image's op if it is
        a member of `family`, else `default` (broadcast to the same shape)."""
        values = [value(spec) for _, spec in self._members(family)]
        default = tf.broadcast_to(default, tf.shape(values[0]))
        return _select(values, self._local_index(op, family), default)

    def coefficients(self, op, params, height, width):
        """PIL affine coefficients of each image's geometric op (the identity for ops
        of other families), float64 `[B, 6]`, from each op's `affine` formula."""
        p = tf.cast(params, tf.float64)
        identity = tf.constant([1.0, 0.0, 0.0, 0.0, 1.0, 0.0], tf.float64)
        return self._member_values(
            "geometric", op, lambda spec: spec.affine(p, height, width), identity
        )

    def _bits_values(self, op, params):
        """Each image's `(keep, threshold, flip)` for the bit operations
        `(x & keep) ^ (flip * (x >= threshold))`, from each op's `bits` formula;
        `(255, 0, 0)` (the identity) for other ops."""
        triples = self._member_values(
            "bits",
            op,
            lambda spec: tf.stack(spec.bits(params), axis=-1),
            tf.constant([255.0, 0.0, 0.0]),
        )
        return tf.unstack(triples, num=3, axis=-1)

    def _factor(self, op, params, family):
        """The blend factor of the family's images, 1 (the identity) for the others,
        on the 2**-14 grid (`quantize_factor`), which the families then take as is."""
        return quantize_factor(tf.where(self._local_index(op, family) >= 0, params, 1.0))

    def prepare(self, op, params, center, height, width):
        """What the families need besides the images, for every image and slot at
        once: a dict of `[B, N, ...]` tensors.

        "scalars" `[B, N, K]` holds the per-image values of `_COLUMNS`; geometric
        ops add their fixed-point coordinate parts ("rows", "cols") or coefficients,
        the float32 value maps their tables ("tables").
        """
        batch, slots = tf.shape(op)[0], op.shape[1]
        flat_op, flat_params = tf.reshape(op, [-1]), tf.reshape(params, [-1])
        values = {
            "bits": lambda: self._bits_values(flat_op, flat_params),
            "scale": lambda: [self._factor(flat_op, flat_params, "scale")],
            "histogram": lambda: [tf.cast(self._local_index(flat_op, "histogram"), tf.float32)],
            "contrast": lambda: [self._factor(flat_op, flat_params, "contrast")],
            "color": lambda: [self._factor(flat_op, flat_params, "color")],
            "sharpness": lambda: [1.0 - self._factor(flat_op, flat_params, "sharpness")],
            "cutout": lambda: [
                tf.where(self._local_index(flat_op, "cutout") >= 0, flat_params, 0.0),
                tf.reshape(center[..., 0], [-1]) * tf.cast(width, tf.float32),
                tf.reshape(center[..., 1], [-1]) * tf.cast(height, tf.float32),
            ],
        }
        columns = []
        for family in self.present:
            if family in values:
                columns += values[family]()
        extras = {}
        if columns:
            extras["scalars"] = tf.reshape(
                tf.stack(columns, axis=-1), tf.stack([batch, slots, len(columns)])
            )
        if "geometric" in self.present:
            coeffs = self.coefficients(flat_op, flat_params, height, width)
            if self.interpolation == "nearest" or self.mask_fill_value is not None:
                rows, cols = _geometric.fixed_point_parts(coeffs, height, width)
                extras["rows"] = tf.reshape(rows, tf.stack([batch, slots, 2, height]))
                extras["cols"] = tf.reshape(cols, tf.stack([batch, slots, 2, width]))
            if self.interpolation != "nearest":
                extras["coeffs"] = tf.reshape(coeffs, tf.stack([batch, slots, 6]))
        if "lut" in self.present:
            extras["tables"] = tf.reshape(
                self._lut_tables(flat_op, flat_params), tf.stack([batch, slots, 256])
            )
        return extras

    def prepare_shared(self, images):
        """What the families need that does not depend on the image: computed once per
        call, when a family present needs it."""
        shape = tf.shape(images)
        if "sharpness" in self.present:
            # The same [1, H, W, C] for any part of the batch.
            self.shared["interior"] = _blend.interior_mask(images[:1])
        if "histogram" in self.present:
            channels = images.shape[-1]
            self.shared["channel_offsets"] = _value.channel_offsets(shape[1], shape[2], channels)

    def _lut_tables(self, op, params):
        """Each image's 256-entry value map from its op's `table` formula (the
        identity for other families), `[B, 256]` in the working dtype."""
        p = params[:, tf.newaxis]  # broadcasts against [B, 256]
        ramp = tf.range(256, dtype=tf.float32)[tf.newaxis, :]
        ramps = tf.broadcast_to(ramp, tf.stack([tf.shape(op)[0], 256]))
        tables = self._member_values("lut", op, lambda spec: spec.table(ramps, p), ramps)
        return tf.cast(tables, self.dtype)

    # -- the families ---------------------------------------------------------------

    def geometric(self, images, extras):
        if self.interpolation == "nearest":
            return _geometric.warp_nearest_from_parts(
                images, extras["rows"], extras["cols"], self.fill_value
            )
        return _geometric.warp_affine(images, extras["coeffs"], self.fill_value, self.interpolation)

    def geometric_masks(self, masks, extras):
        """The masks of the images the geometric family warped: the same fixed-point
        nearest warp, filled with `mask_fill_value`."""
        return _geometric.warp_nearest_from_parts(
            masks, extras["rows"], extras["cols"], self.mask_fill_value
        )

    def lut(self, images, extras):
        return _value.apply_image_tables(images, extras["tables"])

    def bits(self, images, extras):
        """posterize, solarize and invert on uint8 images, as bit operations."""
        keep, threshold, flip = self._scalars(extras, "bits", images.dtype)
        kept = tf.bitwise.bitwise_and(images, keep)
        flips = tf.cast(images >= threshold, images.dtype) * flip
        return tf.bitwise.bitwise_xor(kept, flips)

    def histogram(self, images, extras, sizes=None):
        """auto_contrast and equalize: per-channel tables from the histograms.

        `sizes` (partition only): how many of the images drew each member op, the
        images being sorted by member; then each table is built for its own images
        only. Otherwise every table is built for every image and selected per image.
        """
        index = _value.table_index(images, self.shared.get("channel_offsets"))
        hist = _value.histograms(images, index)
        lo, hi = _value.bin_range(hist)
        members = [spec.histogram_table for _, spec in self._members("histogram")]
        if sizes is not None and len(members) > 1:
            count = len(members)
            parts = zip(
                tf.split(hist, sizes, num=count),
                tf.split(lo, sizes, num=count),
                tf.split(hi, sizes, num=count),
                strict=True,
            )
            # Straight to the images' dtype (the entries are integers in [0, 255]).
            tables = [
                build(h, (a, b), images.dtype)
                for build, (h, a, b) in zip(members, parts, strict=True)
            ]
            tables = tf.concat(tables, axis=0)
        else:
            tables = [build(hist, (lo, hi), images.dtype) for build in members]
            identity = tf.broadcast_to(tf.cast(tf.range(256), images.dtype), tf.shape(hist))
            (kind,) = self._scalars(extras, "histogram", tf.int32)
            tables = _select(tables, tf.reshape(kind, [-1]), identity)
        return _value.apply_tables(images, tables, index)

    def scale(self, images, extras):
        """brightness on uint8 images: PIL's blend with black, `floor(f x)` clipped."""
        (factor,) = self._scalars(extras, "scale")  # already on the 2**-14 grid
        # f x is exact (see `quantize_factor`) and non-negative (f >= 0 in the op
        # table); the cast to uint8 truncates, which is the floor here.
        return tf.cast(tf.minimum(_float(images) * factor, 255.0), images.dtype)

    def contrast(self, images, extras):
        # The blend itself, not a table: one gather per value costs more than the
        # arithmetic, which is exact (see `quantize_factor`).
        x = _float(images)
        means = tf.reshape(_blend.contrast_means(x), [-1, 1, 1, 1])
        (factor,) = self._scalars(extras, "contrast")  # already on the 2**-14 grid
        return _blend.contrast_values(x, means, factor, images.dtype, quantized=True)

    def color(self, images, extras):
        (factor,) = self._scalars(extras, "color")
        x = _float(images)
        # The gray image expanded to every channel once: broadcasting [k, H, W, 1]
        # against [k, H, W, 3] inside the blend (twice) is slow on CPU.
        gray = tf.broadcast_to(luminance(x), tf.shape(x))
        return blend(gray, x, factor, images.dtype, quantized=True)  # factor on the grid

    def sharpness(self, images, extras):
        (weight,) = self._scalars(extras, "sharpness")
        mask = self.shared.get("interior")
        return _blend.sharpen_weighted(_float(images), weight, images.dtype, mask, self.box_sum)

    def cutout(self, images, extras):
        size, x, y = self._scalars(extras, "cutout")
        centers = tf.stack([tf.reshape(x, [-1]), tf.reshape(y, [-1])], axis=1)
        out = cutout(_float(images), tf.reshape(size, [-1]), centers, fill_value=self.fill_value)
        return tf.cast(out, images.dtype)

    # -- a whole slot ---------------------------------------------------------------

    def run_fused(self, images, extras, masks=None):
        """Every family present on every image (static shapes); with `masks`, returns
        `(images, masks)`."""
        for family in self.present:
            if family != "identity":
                images = getattr(self, family)(images, extras)
            if family == "geometric" and masks is not None:
                masks = self.geometric_masks(masks, extras)
        return images if masks is None else (images, masks)

    def run_partitioned(self, batch, op, extras, order=None, last=True):
        """Each family on its own images only.

        The images are sorted by op (a stable sort; the ops of a family are
        consecutive, see `sort_key`), split into one contiguous part per family, and
        each family runs on its part. The parts are not concatenated: the next slot
        stitches them straight into its own sorted order (one copy instead of a
        concatenation and a gather), and the last slot into the input order.
        `order` says where each row is between slots. Masks, when there are any,
        take the same path as their images, and change in the geometric part only.

        Args:
            batch: `(images, masks)` in input order (first slot; `masks` `[B, H, W,
                1]` or None), or the previous slot's `(parts, mask_parts, sizes)`,
                rows in the order `order`.
            op: int32 `[B]`, each input image's op (index into `self.specs`), in
                input order.
            extras: dict of `[B, ...]` tensors, in input order.
            order: int32 `[B]`: row i of the previous slot's output is input image
                `order[i]` (None in the first slot).
            last: whether to return the images in input order.

        Returns:
            `(images, masks)` in input order if `last`, else `((parts, mask_parts,
            sizes), order)` for the next slot.
        """
        count = len(self.present)
        key = tf.gather(self.sort_key, op)
        current = key if order is None else tf.gather(key, order)
        # A stable ascending sort of small integers: top_k of the negated values keeps
        # equal values in index order.
        perm = tf.math.top_k(-current, k=tf.size(current), sorted=True).indices
        if order is None:
            images, masks = (None if t is None else tf.gather(t, perm) for t in batch)
            order = perm
        else:
            # Row j of the previous output goes to row inverse[j] of this slot's.
            parts, mask_parts, sizes = batch
            inverse = tf.split(tf.math.invert_permutation(perm), sizes, num=len(parts))
            images = tf.dynamic_stitch(inverse, parts)
            masks = None if mask_parts is None else tf.dynamic_stitch(inverse, mask_parts)
            order = tf.gather(order, perm)

        def bincount(values, size):
            return tf.raw_ops.DenseBincount(
                input=values, size=size, weights=tf.zeros([0], tf.int32), binary_output=False
            )

        sizes = bincount(tf.gather(self.family_of_op, op), count)
        parts = tf.split(images, sizes, num=count)
        mask_parts = None if masks is None else tf.split(masks, sizes, num=count)
        pieces = {k: tf.split(tf.gather(v, order), sizes, num=count) for k, v in extras.items()}
        outs = []
        for f, name in enumerate(self.present):
            with tf.name_scope(name):  # per-family names, for profiles
                if name == "identity":
                    outs.append(parts[f])
                    continue
                needed = {k: v[f] for k, v in pieces.items()}
                if name == "geometric" and mask_parts is not None:
                    mask_parts[f] = self.geometric_masks(mask_parts[f], needed)
                if name == "histogram" and len(self._members(name)) > 1:
                    # How many images drew each member (their keys are consecutive).
                    first = min(self.sort_key_of[i] for i, _ in self._members(name))
                    members = bincount(key, len(self.specs))[
                        first : first + len(self._members(name))
                    ]
                    outs.append(self.histogram(parts[f], needed, sizes=members))
                else:
                    outs.append(getattr(self, name)(parts[f], needed))
        if last:
            back = tf.split(order, sizes, num=count)
            images = tf.dynamic_stitch(back, outs)
            masks = None if mask_parts is None else tf.dynamic_stitch(back, mask_parts)
            return images, masks
        return (outs, mask_parts, sizes), order


class Targets(NamedTuple):
    """What moves with the images, for `apply_plan`.

    Attributes:
        masks: `[B, H, W, 1]` segmentation masks (any dtype the warp can gather), or
            None.
        mask_fill_value: the value of mask pixels that geometric ops uncover.
        boxes: `[B, M, 4]` float64 boxes, xyxy in pixels, or None.
    """

    masks: tf.Tensor | None = None
    mask_fill_value: float = 0.0
    boxes: tf.Tensor | None = None


def apply_plan(images, plan, specs, fill_value, interpolation, method, targets=None):
    """Runs `plan` on images `[B, H, W, C]` with static C, uint8 or uint8-valued float32.

    The output has the dtype of `images`; the families that blend work in float32
    inside and cast back (exact: their results are integers in [0, 255]).

    `plan.op` indexes `specs`; `method` is "fused" or "partition". A skipped slot
    (`plan.apply` false) runs an op of the identity family, appended to the list when
    none is among the ops drawn from.

    With `targets` (a `Targets`), returns `(images, masks, boxes, moved)`: the masks
    warped with each image's geometric ops (nearest, `mask_fill_value`), the boxes
    through the same maps (`randaugment._boxes`), and bool `[B]`, whether a
    geometric op moved the image's boxes. Other families leave masks and boxes alone.
    """
    specs = tuple(specs)
    skip = next((i for i, spec in enumerate(specs) if spec.family == "identity"), None)
    if skip is None:
        specs, skip = specs + (IDENTITY,), len(specs)
    masks = None if targets is None else targets.masks
    mask_fill = None if masks is None else targets.mask_fill_value
    runner = SlotRunner(tuple(specs), fill_value, interpolation, images.dtype, method, mask_fill)
    shape = tf.shape(images)

    # Every slot's op and parameter at once ([B, N]): a few nodes instead of a few
    # per slot (elementwise, so the same values as slot by slot).
    ops = tf.where(plan.apply, plan.op, skip)
    params = runner.parameters(ops, plan.sign, plan.magnitude, shape[1], shape[2])

    extras = runner.prepare(ops, params, plan.center, shape[1], shape[2])
    runner.prepare_shared(images)
    num_slots = plan.op.shape[1]

    if method == "fused":
        images, masks = _run_fused(runner, images, masks, extras, num_slots)
    else:
        # Partition: between slots the batch stays in parts, in the order of the
        # slot's sort (`order[i]` is the input position of row i); the last slot puts
        # it back.
        slot_ops = tf.unstack(ops, num=num_slots, axis=1)
        by_slot = {k: tf.unstack(v, num=num_slots, axis=1) for k, v in extras.items()}
        batch, order = (images, masks), None
        for slot in range(num_slots - 1):
            slot_extras = {k: v[slot] for k, v in by_slot.items()}
            batch, order = runner.run_partitioned(batch, slot_ops[slot], slot_extras, order, False)
        last = {k: v[-1] for k, v in by_slot.items()}
        images, masks = runner.run_partitioned(batch, slot_ops[-1], last, order, True)
    if targets is None:
        return images
    boxes, moved = targets.boxes, None
    if boxes is not None:
        geometric = [f == "geometric" for f in runner.families]
        if any(geometric):
            flat = tf.reshape(ops, [-1])
            coeffs = runner.coefficients(flat, tf.reshape(params, [-1]), shape[1], shape[2])
            maps = tf.reshape(_boxes.forward_maps(coeffs), tf.stack([shape[0], num_slots, 6]))
            applied = tf.gather(tf.constant(geometric), ops)
            boxes, moved = _boxes.follow_plan(boxes, maps, applied, shape[1], shape[2])
        else:
            moved = tf.zeros(shape[:1], tf.bool)
    return images, masks, boxes, moved


def _run_fused(runner, images, masks, extras, num_slots):
    """The fused method's slots: `(images, masks)` after all of them."""

    def run_slot(state, slot):
        out = runner.run_fused(state[0], {k: v[:, slot] for k, v in extras.items()}, state[1])
        return out if state[1] is not None else (out, None)

    if num_slots == 1:
        return run_slot((images, masks), 0)

    # One loop body for all slots: XLA compiles the slot once instead of N times
    # (compile time and code size grow with N otherwise).
    def body(slot, *state):
        images, masks = run_slot((state[0], state[1] if len(state) > 1 else None), slot)
        return (slot + 1, images) if masks is None else (slot + 1, images, masks)

    loop_vars = (tf.constant(0), images) + (() if masks is None else (masks,))
    invariants = (tf.TensorShape([]), images.shape) + (() if masks is None else (masks.shape,))
    out = tf.while_loop(
        lambda slot, *_: slot < num_slots, body, loop_vars, shape_invariants=invariants
    )
    return out[1], (out[2] if masks is not None else None)
