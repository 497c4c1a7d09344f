"""What every augmentation does around its ops: checking the images, reading them as
levels, batching single and ragged images, and giving back the input's shape and dtype.

The ops work on 256 levels, as PIL's uint8 images do. `augment` reads any supported
input as levels in the working dtype (`work_dtype`), hands them to a policy's
`apply` with the plan its `draw` made, and maps the result back:

- uint8 with `value_range` (0, 255): the levels are the values (the fast path).
- float: clipped into `value_range` and rounded to the nearest of 256 levels; back as
  `low + level * (high - low) / 255` in the input's dtype.
- any other integer dtype (int8 to int64, uint16 to uint64; uint8 with another
  `value_range`): as floats, and back rounded to the nearest integer (ties to even).

An image whose levels come out unchanged is returned exactly as given (neither
clipped nor quantized), and so is a float image holding NaN or infinite values (or
`check_numerics=True` raises). Images with no pixels are returned as given.
"""

from __future__ import annotations

from collections.abc import Callable

import tensorflow as tf

from randaugment.ops._common import in_xla_context

SUPPORTED_CHANNELS = (1, 3)


def _in_tf_data() -> bool:
    """Whether the code is being traced for a `tf.data` function (which runs on CPU).

    tf.data names the graphs of its functions "Dataset_..." (TF 2.21); should that
    change, this returns False and a machine with a GPU keeps float32 in `tf.data`:
    slower, never wrong (`tests/test_rand_augment.py` checks the detection).
    """
    graph = tf.compat.v1.get_default_graph()
    while graph is not None:
        if getattr(graph, "name", "").startswith("Dataset_"):
            return True
        graph = getattr(graph, "outer_graph", None)
    return False


def _gpu_visible() -> bool:
    return bool(tf.config.list_logical_devices("GPU"))


def work_dtype() -> tf.DType:
    """The dtype the images are held in between ops: the levels are integers in
    [0, 255] either way, so both give bit-identical results.

    uint8 where every op runs on a CPU (a `tf.data` function, or no GPU visible):
    on CPU it moves a quarter of the bytes of float32 and its gathers, casts and
    copies are two to three times faster. float32 where a GPU may run the graph
    (graph mode with a GPU visible, and XLA): TF has no GPU kernels for uint8
    GatherV2, GatherNd or DynamicStitch.
    """
    if in_xla_context():
        return tf.float32
    if _in_tf_data() or not _gpu_visible():
        return tf.uint8
    return tf.float32


def check_dtype(dtype: tf.DType, name: str = "images") -> None:
    """Refuses dtypes that do not hold pixel values (bool, complex, strings)."""
    if dtype == tf.bool or not (dtype.is_floating or dtype.is_integer):
        raise TypeError(
            f"`{name}` must hold pixel values: an integer dtype (uint8, int32, ...) or a "
            f"float dtype (float16, bfloat16, float32, float64). Received: {name}.dtype="
            f"{dtype.name}"
        )


def check_value_range(dtype: tf.DType, value_range: tuple[float, float]) -> None:
    """For integer images, `value_range` must hold only values the dtype can hold."""
    low, high = value_range
    if dtype.is_integer and (low < dtype.min or high > dtype.max):
        raise ValueError(
            f"`value_range` must lie within what images.dtype={dtype.name} holds "
            f"([{dtype.min}, {dtype.max}]). Received: value_range={value_range!r}"
        )


def check_shape(shape: tf.TensorShape, name: str = "images") -> None:
    if shape.rank not in (3, 4):
        raise ValueError(
            f"`{name}` must have rank 4 [B, H, W, C] or rank 3 [H, W, C]. "
            f"Received: {name}.shape={shape}"
        )
    if shape[-1] not in SUPPORTED_CHANNELS:
        raise ValueError(
            f"`{name}` must have 3 channels (RGB) or 1 (grayscale) as a static last "
            f"dimension. Received: {name}.shape={shape}"
        )


def _is_fast_path(dtype: tf.DType, value_range) -> bool:
    return dtype == tf.uint8 and tuple(value_range) == (0.0, 255.0)


def _scale_dtype(dtype: tf.DType) -> tf.DType:
    """float64 for float64 and the integer dtypes (exact for any value that matters
    here), float32 otherwise."""
    return tf.float64 if dtype == tf.float64 or dtype.is_integer else tf.float32


def to_levels(images: tf.Tensor, value_range, work: tf.DType) -> tf.Tensor:
    """The images `[B, H, W, C]` as levels in [0, 255], in the working dtype."""
    if _is_fast_path(images.dtype, value_range):
        return tf.cast(images, work)
    low, high = value_range
    x = tf.cast(images, _scale_dtype(images.dtype))
    levels = tf.round((tf.clip_by_value(x, low, high) - low) * (255.0 / (high - low)))
    return tf.cast(levels, work)


def from_levels(out: tf.Tensor, levels: tf.Tensor, images: tf.Tensor, value_range) -> tf.Tensor:
    """The augmented levels back in the dtype and `value_range` of `images`.

    An image whose levels did not change comes back exactly as it was in `images`.
    """
    dtype = images.dtype
    if _is_fast_path(dtype, value_range):
        return tf.cast(out, dtype)
    low, high = value_range
    scale = _scale_dtype(dtype)
    # (The `maximum` is a no-op that keeps XLA from fusing a multiply-add.)
    scaled = tf.maximum(tf.cast(out, scale) * ((high - low) / 255.0), -3.0e38) + low
    if dtype.is_integer:
        scaled = tf.clip_by_value(tf.round(scaled), float(-(-low // 1)), float(high // 1))
        scaled = tf.cast(scaled, dtype)
    else:
        # Clip in the output dtype: rounding can put a level a hair outside the range.
        scaled = tf.cast(scaled, dtype)
        scaled = tf.clip_by_value(scaled, tf.cast(low, dtype), tf.cast(high, dtype))
    changed = tf.reduce_any(tf.not_equal(out, levels), axis=[1, 2, 3])
    untouched = tf.reshape(~changed, [-1, 1, 1, 1])
    return tf.where(untouched, images, scaled)


def _finite_images(images: tf.Tensor) -> tf.Tensor:
    """bool `[B]`: whether every value of each image is finite."""
    return tf.reduce_all(tf.math.is_finite(images), axis=[1, 2, 3])


Draw = Callable[[tf.Tensor], object]  # batch size -> plan (a nest of [B, ...] tensors)
Apply = Callable[[tf.Tensor, object], tf.Tensor]  # (levels, plan) -> levels


def _augment_dense(
    images, value_range, draw: Draw, apply: Apply, check_numerics, plan=None, targets=None
):
    """`images` `[B, H, W, C]` (with B >= 0 and H, W > 0), alone or with `targets`
    (then `apply(levels, plan, targets)` returns `(levels, masks, boxes, moved)`, and
    so does this)."""
    finite = None
    if images.dtype.is_floating:
        if check_numerics:
            images = tf.debugging.check_numerics(
                images, "`images` holds NaN or infinite values (check_numerics=True)"
            )
        else:
            finite = _finite_images(images)
    levels = to_levels(images, value_range, work_dtype())
    if plan is None:
        plan = draw(tf.shape(images)[0])
    if targets is None:
        out = from_levels(apply(levels, plan), levels, images, value_range)
        masks = boxes = moved = None
    else:
        out, masks, boxes, moved = apply(levels, plan, targets)
        out = from_levels(out, levels, images, value_range)
    if finite is not None:
        # Images holding NaN or inf are passed through untouched (with their masks and
        # boxes), never turned into levels.
        keep = tf.reshape(finite, [-1, 1, 1, 1])
        out = tf.where(keep, out, images)
        if masks is not None:
            masks = tf.where(keep, masks, targets.masks)
        if boxes is not None:
            boxes = tf.where(keep[:, :, :, 0], boxes, targets.boxes)
        if moved is not None:
            moved = moved & finite
    return out if targets is None else (out, masks, boxes, moved)


def augment_with_targets(images, value_range, draw, apply, check_numerics, targets):
    """`augment` for a batch `[B, H, W, C]` with masks and boxes that follow it.

    Args:
        targets: a `randaugment._apply.Targets` (masks `[B, H, W, 1]`, boxes
            `[B, M, 4]` float64 xyxy in pixels, either may be None).
        apply: `(levels, plan, targets) -> (levels, masks, boxes, moved)`.

    Returns:
        `(images, masks, boxes, moved)`: bool `moved` `[B]` says whose boxes a
        geometric op moved. Images with no pixels, and float images holding NaN or
        infinities (unless `check_numerics`), come back untouched with their masks and
        boxes.
    """
    masks, boxes = targets.masks, targets.boxes
    present = [t is not None for t in (masks, boxes)]

    def run(x):
        return _augment_dense(x, value_range, draw, apply, check_numerics, targets=targets)

    def untouched(x):
        return x, masks, boxes, tf.zeros(tf.shape(x)[:1], tf.bool)

    # The cond of `_with_pixels` carries tensors only: the targets present, packed.
    def packed(fn):
        def wrapped(x):
            out, m, b, moved = fn(x)
            return [out, *(t for t, p in zip((m, b), present, strict=True) if p), moved]

        return wrapped

    flat = _with_pixels(images, packed(run), packed(untouched))
    out, rest, moved = flat[0], list(flat[1:-1]), flat[-1]
    m = rest.pop(0) if present[0] else None
    b = rest.pop(0) if present[1] else None
    return out, m, b, moved


def _with_pixels(images, run, otherwise=tf.identity):
    """`run(images)`, or `otherwise(images)` when they have no pixels (H or W is 0)."""
    height, width = images.shape[1], images.shape[2]
    if height == 0 or width == 0:
        return otherwise(images)
    if height is not None and width is not None:
        return run(images)
    shape = tf.shape(images)
    return tf.cond(shape[1] * shape[2] > 0, lambda: run(images), lambda: otherwise(images))


def _augment_ragged(images, value_range, draw, apply, check_numerics):
    """A ragged batch `[B, (H), (W), C]`: each image at its own size, with the draws
    it would get at the same position in a dense batch."""
    batch = images.nrows(out_type=tf.int32)
    plan = draw(batch)

    def one(b, flat):
        image = images[b]
        if isinstance(image, tf.RaggedTensor):
            values = image.flat_values
            image = image.to_tensor()
            tf.debugging.assert_equal(
                tf.size(image),
                tf.size(values),
                message="`images` is ragged within an image (its rows differ in length); "
                "each image of a ragged batch must be a dense [H, W, C] array",
            )
        image.set_shape([None, None, images.shape[-1]])
        row = tf.nest.map_structure(lambda t: t[b : b + 1], plan)
        out = _with_pixels(
            image[tf.newaxis],
            lambda x: _augment_dense(x, value_range, draw, apply, check_numerics, plan=row),
        )
        return b + 1, flat.write(b, tf.reshape(out, [-1]))

    flat = tf.TensorArray(
        images.dtype, size=batch, infer_shape=False, element_shape=tf.TensorShape([None])
    )
    _, flat = tf.while_loop(lambda b, _: b < batch, one, (tf.constant(0), flat))
    values = tf.reshape(flat.concat(), tf.shape(images.flat_values))
    return images.with_flat_values(values)


def check_images(images, value_range) -> None:
    """Raises for images no augmentation accepts (see `augment`)."""
    check_dtype(images.dtype)
    if isinstance(images, tf.RaggedTensor) and images.shape.rank != 4:
        raise ValueError(
            "A ragged `images` must be a batch [B, (H), (W), C]. "
            f"Received: images.shape={images.shape}"
        )
    check_shape(images.shape)
    check_value_range(images.dtype, value_range)


def augment(
    images,
    value_range: tuple[float, float],
    draw: Draw,
    apply: Apply,
    check_numerics: bool = False,
):
    """Runs one augmentation on any supported images; see the module docstring.

    Args:
        images: `[B, H, W, C]`, `[H, W, C]`, or a `tf.RaggedTensor` `[B, (H), (W), C]`.
        value_range: `(low, high)`, already checked (low < high).
        draw: batch size -> the plan of one call (a nest of `[B, ...]` tensors).
        apply: `(levels [B, H, W, C], plan) -> levels`.
        check_numerics: raise on NaN or infinite float values instead of passing
            such images through.

    Returns:
        The augmented images, with the shape, dtype (and row partitions) of `images`.
    """
    if not isinstance(images, tf.RaggedTensor):
        images = tf.convert_to_tensor(images)
    check_images(images, value_range)
    if isinstance(images, tf.RaggedTensor):
        return _augment_ragged(images, value_range, draw, apply, check_numerics)
    original = images
    if images.shape.rank == 3:
        images = images[tf.newaxis]
    out = _with_pixels(
        images, lambda x: _augment_dense(x, value_range, draw, apply, check_numerics)
    )
    if original.shape.rank == 3:
        out = out[0]
    out.set_shape(original.shape)
    return out
