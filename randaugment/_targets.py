"""Keras's dict format: images with their labels, bounding boxes and segmentation masks.

    {"images": [B, H, W, C],
     "labels": ...,                                   # passed through
     "bounding_boxes": {"boxes": [B, M, 4], "labels": [B, M]},
     "segmentation_masks": [B, H, W, 1] or [B, H, W]}

or one image: `[H, W, C]` images with `[M, 4]` boxes, `[M]` box labels and `[H, W, 1]`
or `[H, W]` masks. Boxes may be ragged (`tf.RaggedTensor` `[B, (M), 4]`, labels
`[B, (M)]`). Every key comes back with its shape and dtype; keys other than these pass
through untouched, as in Keras's own preprocessing layers.

Box formats are converted to absolute xyxy and back with Keras's public
`keras.utils.bounding_boxes.convert_format` (it runs as TensorFlow ops inside
`tf.data` under every backend, and compiles with XLA). Clipping is done here: Keras's
`clip_to_image_size` clips every box, while only the boxes of images that drew a
geometric op may change (see `docs/design.md`).
"""

from __future__ import annotations

from collections.abc import Mapping

import keras
import tensorflow as tf

from randaugment._apply import Targets
from randaugment._images import augment, augment_with_targets, check_images, work_dtype

#: The box formats of `keras.utils.bounding_boxes.convert_format` (Keras 3.15).
BOX_FORMATS = (
    "xyxy",
    "yxyx",
    "xywh",
    "center_xywh",
    "center_yxhw",
    "rel_xyxy",
    "rel_yxyx",
    "rel_xywh",
    "rel_center_xywh",
)
KEYS = ("images", "labels", "bounding_boxes", "segmentation_masks")


def check_box_format(bounding_box_format) -> str | None:
    if bounding_box_format is None:
        return None
    if not isinstance(bounding_box_format, str) or bounding_box_format.lower() not in BOX_FORMATS:
        raise ValueError(
            f"`bounding_box_format` must be one of {BOX_FORMATS} (Keras's formats). "
            f"Received: bounding_box_format={bounding_box_format!r}"
        )
    return bounding_box_format.lower()


def check_mask_fill_value(value) -> float:
    import numbers

    if isinstance(value, bool) or not isinstance(value, numbers.Real) or value != value:
        raise TypeError(
            f"`mask_fill_value` must be a number (a class id). Received: mask_fill_value={value!r}"
        )
    return float(value)


def _checked(value, scope: str, got: tf.Tensor, expected: tf.Tensor):
    """`value` after a run-time check that `got` equals `expected` (for shapes unknown
    when traced). The failure names the rule in the node's name and shows both
    values (no message string: string constants have no GPU kernel)."""
    with tf.name_scope(scope):
        check = tf.debugging.Assert(
            tf.reduce_all(tf.equal(got, expected)), [got, expected], name="Received"
        )
    with tf.control_dependencies([check]):
        return (
            tf.identity(value)
            if not isinstance(value, tf.RaggedTensor)
            else value.with_flat_values(tf.identity(value.flat_values))
        )


def _tensor(value, key):
    if isinstance(value, tf.RaggedTensor):
        return value
    try:
        return tf.convert_to_tensor(value)
    except (TypeError, ValueError) as error:
        raise TypeError(f"`{key}` must be a tensor. Received: {key}={value!r} ({error})") from None


class Unpacked:
    """A dict input checked and brought to the engine's form: a batch of images, masks
    `[B, H, W, 1]`, boxes `[B, M, 4]` float64 xyxy in pixels."""

    def __init__(self, data: Mapping, bounding_box_format: str | None, mask_fill_value: float):
        if "images" not in data:
            raise ValueError(f"A dict input needs an 'images' key. Received: keys {sorted(data)}")
        self.data = data
        self.format = bounding_box_format
        self.mask_fill_value = mask_fill_value
        images = _tensor(data["images"], "images")
        if isinstance(images, tf.RaggedTensor):
            raise ValueError(
                "A dict input's 'images' must be dense (resize ragged images first, or "
                f"augment them without boxes and masks). Received: images={images!r}"
            )
        self.single = images.shape.rank == 3
        self.images = images[tf.newaxis] if self.single else images
        shape = self.images.shape
        self.masks = self.mask_rank = None
        if "segmentation_masks" in data:
            self._unpack_masks(_tensor(data["segmentation_masks"], "segmentation_masks"), shape)
        self.boxes = self.box_labels = self.ragged = None
        if "bounding_boxes" in data:
            self._unpack_boxes(data["bounding_boxes"])

    # -- masks ---------------------------------------------------------------------------

    def _unpack_masks(self, masks, image_shape):
        rank = 3 if self.single else 4
        shape = masks.shape
        if isinstance(masks, tf.RaggedTensor) or shape.rank not in (rank - 1, rank):
            raise ValueError(
                "`segmentation_masks` must be [B, H, W, 1] or [B, H, W] ([H, W, 1] or [H, W] "
                f"for one image). Received: segmentation_masks.shape={shape}"
            )
        if shape.rank == rank and shape[-1] not in (1, None):
            raise ValueError(
                "`segmentation_masks` must have one channel (a class map). "
                f"Received: segmentation_masks.shape={shape}"
            )
        if masks.dtype == tf.bool or not (masks.dtype.is_integer or masks.dtype.is_floating):
            raise TypeError(
                "`segmentation_masks` must hold class ids (an integer or float dtype). "
                f"Received: segmentation_masks.dtype={masks.dtype.name}"
            )
        self.mask_rank = shape.rank
        if shape.rank == rank - 1:
            masks = masks[..., tf.newaxis]
        if self.single:
            masks = masks[tf.newaxis]
        image_hw, mask_hw = image_shape[1:3], masks.shape[1:3]
        if not image_hw.is_compatible_with(mask_hw):
            raise ValueError(
                "`segmentation_masks` must have the images' height and width. Received: "
                f"segmentation_masks.shape={shape} with images.shape={self.data['images'].shape}"
            )
        if not (image_hw.is_fully_defined() and mask_hw.is_fully_defined()):
            masks = _checked(
                masks,
                "segmentation_masks_must_have_the_images_height_and_width",
                tf.shape(masks)[1:3],
                tf.shape(self.images)[1:3],
            )
        dtype = masks.dtype
        if dtype.is_integer and not dtype.min <= self.mask_fill_value <= dtype.max:
            raise ValueError(
                f"`mask_fill_value` must be a value segmentation_masks.dtype={dtype.name} holds. "
                f"Received: mask_fill_value={self.mask_fill_value!r}"
            )
        self.masks = masks

    # -- boxes ---------------------------------------------------------------------------

    def _unpack_boxes(self, value):
        if self.format is None:
            raise ValueError(
                "The input has 'bounding_boxes' but no `bounding_box_format` was given: pass "
                "one of " + ", ".join(BOX_FORMATS) + ", e.g. bounding_box_format='xyxy'. "
                "Received: bounding_box_format=None"
            )
        if not isinstance(value, Mapping) or "boxes" not in value:
            raise ValueError(
                "`bounding_boxes` must be a dict with 'boxes' (and 'labels'). "
                f"Received: bounding_boxes={value!r}"
            )
        unknown = sorted(set(value) - {"boxes", "labels"})
        if unknown:
            raise ValueError(
                f"`bounding_boxes` holds 'boxes' and 'labels' only. Received: keys {sorted(value)}"
            )
        boxes = _tensor(value["boxes"], "bounding_boxes['boxes']")
        labels = None
        if "labels" in value:
            labels = _tensor(value["labels"], "bounding_boxes['labels']")
        rank = 2 if self.single else 3
        self.ragged = isinstance(boxes, tf.RaggedTensor)
        if boxes.shape.rank != rank or boxes.shape[-1] != 4:
            raise ValueError(
                f"`bounding_boxes['boxes']` must be {'[M, 4]' if self.single else '[B, M, 4]'} "
                f"for {'one image' if self.single else 'a batch of images'}. "
                f"Received: bounding_boxes['boxes'].shape={boxes.shape}"
            )
        if not boxes.dtype.is_floating and not boxes.dtype.is_integer:
            raise TypeError(
                "`bounding_boxes['boxes']` must be numbers. "
                f"Received: bounding_boxes['boxes'].dtype={boxes.dtype.name}"
            )
        if labels is not None:
            if labels.shape.rank != rank - 1 or not labels.shape.is_compatible_with(
                boxes.shape[:-1]
            ):
                raise ValueError(
                    "`bounding_boxes['labels']` must have one label per box. Received: "
                    f"bounding_boxes['labels'].shape={labels.shape} with "
                    f"bounding_boxes['boxes'].shape={boxes.shape}"
                )
            if isinstance(labels, tf.RaggedTensor) != self.ragged:
                raise ValueError(
                    "`bounding_boxes['boxes']` and ['labels'] must both be ragged or both "
                    f"dense. Received: boxes {type(boxes).__name__}, labels "
                    f"{type(labels).__name__}"
                )
        self.box_dtype = boxes.dtype
        if self.ragged:
            self.row_lengths = boxes.row_lengths()
            if labels is not None:
                boxes = _checked(
                    boxes,
                    "bounding_boxes_labels_must_have_one_label_per_box",
                    labels.row_lengths(),
                    self.row_lengths,
                )
                labels = labels.to_tensor(default_value=-1)
            boxes = boxes.to_tensor(default_value=0)
        if self.single:
            boxes = boxes[tf.newaxis]
            labels = None if labels is None else labels[tf.newaxis]
        shape = tf.shape(self.images)
        self.height, self.width = shape[1], shape[2]
        self.boxes = keras.utils.bounding_boxes.convert_format(
            tf.cast(boxes, tf.float64),
            source=self.format,
            target="xyxy",
            height=tf.cast(self.height, tf.float64),
            width=tf.cast(self.width, tf.float64),
            dtype="float64",
        )
        self.box_labels = labels

    # -- back to the input's form -----------------------------------------------------

    def targets(self, mask_dtype) -> Targets:
        masks = None if self.masks is None else tf.cast(self.masks, mask_dtype)
        return Targets(masks, self.mask_fill_value, self.boxes)

    def pack(self, images, masks, boxes, moved) -> dict:
        """The output dict: the input's keys, shapes and dtypes."""
        out = dict(self.data)
        out["images"] = images[0] if self.single else images
        if self.masks is not None:
            masks = tf.cast(masks, self.masks.dtype)
            if self.single:
                masks = masks[0]
            if self.mask_rank == (2 if self.single else 3):
                masks = masks[..., 0]
            masks.set_shape(tf.TensorShape(self.data["segmentation_masks"].shape))
            out["segmentation_masks"] = masks
        if self.boxes is not None:
            out["bounding_boxes"] = self._pack_boxes(boxes, moved)
        return out

    def _pack_boxes(self, boxes, moved):
        """Back to the input's format, dtype and layout; a moved box with no area
        left in the image gets the label -1 (Keras's convention)."""
        area = (boxes[..., 2] - boxes[..., 0]) * (boxes[..., 3] - boxes[..., 1])
        gone = moved[:, tf.newaxis] & (area <= 0.0)
        converted = keras.utils.bounding_boxes.convert_format(
            boxes,
            source="xyxy",
            target=self.format,
            height=tf.cast(self.height, tf.float64),
            width=tf.cast(self.width, tf.float64),
            dtype="float64",
        )
        if self.box_dtype.is_integer:
            converted = tf.round(converted)
        converted = tf.cast(converted, self.box_dtype)
        labels = self.box_labels
        if labels is not None:
            labels = tf.where(gone, tf.cast(-1, labels.dtype), labels)
        if self.single:
            converted = converted[0]
            labels = None if labels is None else labels[0]
        if self.ragged:
            converted = tf.RaggedTensor.from_tensor(converted, lengths=self.row_lengths)
            if labels is not None:
                labels = tf.RaggedTensor.from_tensor(labels, lengths=self.row_lengths)
        out = dict(self.data["bounding_boxes"])
        out["boxes"] = converted
        if labels is not None:
            out["labels"] = labels
        return out


def augment_inputs(
    inputs,
    value_range,
    draw,
    run,
    check_numerics: bool,
    bounding_box_format: str | None,
    mask_fill_value: float,
):
    """Images alone, or Keras's dict: runs `run(levels, plan[, targets])` (the engine)
    on the images and, with a dict, moves their masks and boxes along.

    `bounding_box_format` and `mask_fill_value` are already checked.
    """
    if not isinstance(inputs, Mapping):
        return augment(inputs, value_range, draw, run, check_numerics)
    unpacked = Unpacked(inputs, bounding_box_format, mask_fill_value)
    check_images(unpacked.images, value_range)
    masks = unpacked.masks
    # Masks are gathered in their own dtype on CPU; where a GPU may run the graph, as
    # float32 (TF has GPU gathers for few integer dtypes; exact for ids below 2**24).
    mask_dtype = tf.float32 if masks is None or work_dtype() != tf.uint8 else masks.dtype
    out = augment_with_targets(
        unpacked.images, value_range, draw, run, check_numerics, unpacked.targets(mask_dtype)
    )
    return unpacked.pack(*out)


def passthrough(inputs, value_range, bounding_box_format, mask_fill_value):
    """For a call that changes nothing: the inputs checked, then returned as given."""
    if isinstance(inputs, Mapping):
        unpacked = Unpacked(inputs, bounding_box_format, mask_fill_value)
        check_images(unpacked.images, value_range)
        return dict(inputs)
    images = inputs if isinstance(inputs, tf.RaggedTensor) else tf.convert_to_tensor(inputs)
    check_images(images, value_range)
    return tf.identity(images) if not isinstance(images, tf.RaggedTensor) else images
