"""Bounding boxes and segmentation masks follow the geometric ops, image by image
(issue 13).

References, independent of the engine:
- masks: each image's mask through the Pillow-checked geometric kernels, one slot at a
  time, with the plan's parameters (`randaugment.ops.rotate`, ...: nearest, the mask
  fill), and untouched by every other op;
- boxes, for rectangles that stay inside the image: the tight box of a filled
  rectangle warped by Pillow with the same parameter, within one pixel. The box is the
  enclosing box of the moved corners; Pillow's nearest warp keeps the pixels whose
  centre lands inside the moved rectangle, so a pixel row or column along an edge is
  missed only where the rectangle covers less than one pixel of it: near a corner of
  interior angle 90 degrees or less (rotations, shears up to 0.3), that is within one
  pixel of the extreme.
- boxes that cross the image's border: the bounding box of the moved quadrilateral's
  part inside the image, computed here by Sutherland-Hodgman clipping in NumPy. (Pixel
  boxes are no reference there: where a moved edge meets the border at a small angle,
  the sliver between them is thinner than a pixel for many pixels.)
"""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf
from graph_check import gpu_kernel_violations
from PIL import Image

import randaugment
from randaugment import RandAugment, auto_augment, rand_augment, trivial_augment
from randaugment._plan import draw_plan
from randaugment._targets import BOX_FORMATS
from randaugment.table import OPS_BY_NAME

H, W = 40, 48
GEOMETRIC = ("rotate", "shear_x", "shear_y", "translate_x", "translate_y")
SEED = (11, 4)


@pytest.fixture(scope="module")
def photos(make_photos):
    return make_photos(10, H, W)


def _masks(n, seed=0):
    """Class maps of blocks: ids 0..9, and 200 in one corner (a value beyond uint8's
    usual small ids, to see it is carried, not clipped)."""
    rng = np.random.default_rng(seed)
    blocks = rng.integers(0, 10, (n, H // 8, W // 8))
    masks = np.kron(blocks, np.ones((8, 8), np.int64))
    masks[:, :5, :5] = 200
    return masks.astype(np.int32)


def _boxes(n, m=6, seed=1):
    rng = np.random.default_rng(seed)
    x1 = rng.uniform(-4, W - 6, (n, m))
    y1 = rng.uniform(-4, H - 6, (n, m))
    x2 = x1 + rng.uniform(2, 20, (n, m))
    y2 = y1 + rng.uniform(2, 20, (n, m))
    return np.stack([x1, y1, x2, y2], axis=-1).astype(np.float32)


def _data(photos, masks=True, boxes=True):
    n = len(photos)
    data = {"images": tf.constant(photos), "labels": tf.range(n)}
    if masks:
        data["segmentation_masks"] = tf.constant(_masks(n))
    if boxes:
        data["bounding_boxes"] = {
            "boxes": tf.constant(_boxes(n)),
            "labels": tf.constant(np.arange(n * 6).reshape(n, 6) % 7, tf.int32),
        }
    return data


def _plan(n, num_ops, ops, magnitude=0.9, seed=SEED, stddev=0.0, rate=1.0):
    plan = draw_plan(tf.constant(seed), tf.constant(n), num_ops, len(ops), magnitude, stddev, rate)
    return {k: v.numpy() for k, v in plan._asdict().items()}


# -- masks ---------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["partition", "fused"])
@pytest.mark.parametrize("interpolation", ["nearest", "bilinear"])
def test_mask_equals_the_geometric_kernels_on_the_mask(photos, method, interpolation):
    ops = randaugment.DEFAULT_OPS
    n, num_ops, fill = len(photos), 3, 255
    data = _data(photos, boxes=False)
    out = rand_augment(
        data,
        num_ops=num_ops,
        magnitude=0.9,
        ops=ops,
        seed=SEED,
        method=method,
        interpolation=interpolation,
        mask_fill_value=fill,
    )
    plan = _plan(n, num_ops, ops)
    masks = _masks(n)
    moved = 0
    for b in range(n):
        mask = tf.constant(masks[b, None, :, :, None].astype(np.float32))
        for slot in range(num_ops):
            spec = OPS_BY_NAME[ops[plan["op"][b, slot]]]
            if spec.family != "geometric":
                continue
            p = spec.parameter(
                plan["magnitude"][b, slot : slot + 1], plan["sign"][b, slot : slot + 1], H, W
            )
            mask = spec.kernel(mask, p, fill_value=float(fill), interpolation="nearest")
            moved += 1
        np.testing.assert_array_equal(
            out["segmentation_masks"][b].numpy(), mask.numpy()[0, :, :, 0].astype(np.int32)
        )
    assert moved >= 5
    # The labels pass through, the images are those of the images-only call.
    np.testing.assert_array_equal(out["labels"].numpy(), np.arange(n))
    alone = rand_augment(
        photos,
        num_ops=num_ops,
        magnitude=0.9,
        seed=SEED,
        method=method,
        interpolation=interpolation,
    )
    np.testing.assert_array_equal(out["images"].numpy(), alone.numpy())


@pytest.mark.parametrize(
    "dtype, shape",
    [(tf.uint8, "hw"), (tf.int64, "hw1"), (tf.float32, "hw"), (tf.int16, "hw1")],
    ids=str,
)
def test_mask_dtypes_and_shapes_come_back(photos, dtype, shape):
    masks = _masks(len(photos)).astype(dtype.as_numpy_dtype)
    if shape == "hw1":
        masks = masks[..., None]
    data = {"images": tf.constant(photos), "segmentation_masks": tf.constant(masks)}
    out = rand_augment(data, num_ops=2, magnitude=1.0, ops=["rotate"], seed=3)
    got = out["segmentation_masks"]
    assert got.dtype == dtype and got.shape == masks.shape
    # Class ids never blend: every output value is an input id or the fill.
    assert set(np.unique(got.numpy())) <= set(np.unique(masks)) | {0}
    assert np.mean(got.numpy() != masks) > 0.05


def test_cutout_and_colour_ops_leave_masks_alone(photos):
    ops = ["cutout", "color", "equalize", "solarize", "sharpness", "contrast"]
    data = _data(photos)
    out = rand_augment(data, num_ops=3, magnitude=1.0, ops=ops, seed=2, bounding_box_format="xyxy")
    np.testing.assert_array_equal(out["segmentation_masks"].numpy(), _masks(len(photos)))
    np.testing.assert_array_equal(out["bounding_boxes"]["boxes"].numpy(), _boxes(len(photos)))
    np.testing.assert_array_equal(
        out["bounding_boxes"]["labels"].numpy(), data["bounding_boxes"]["labels"].numpy()
    )
    assert np.mean(out["images"].numpy() != photos) > 0.3


# -- boxes against Pillow ------------------------------------------------------------


def _pil_warp(image: Image.Image, name: str, p: float) -> Image.Image:
    if name == "rotate":
        return image.rotate(p, resample=Image.NEAREST, fillcolor=0)
    coefficients = {
        "shear_x": (1, p, 0, 0, 1, 0),
        "shear_y": (1, 0, 0, p, 1, 0),
        "translate_x": (1, 0, p, 0, 1, 0),
        "translate_y": (1, 0, 0, 0, 1, p),
    }[name]
    return image.transform(image.size, Image.AFFINE, coefficients, Image.NEAREST, fillcolor=0)


def _clip_polygon(points, w, h):
    """Sutherland-Hodgman: a polygon [(x, y), ...] clipped to [0, w] x [0, h]."""
    edges = [
        (lambda p: p[0] >= 0, lambda a, b: _cross_x(a, b, 0.0)),
        (lambda p: p[0] <= w, lambda a, b: _cross_x(a, b, w)),
        (lambda p: p[1] >= 0, lambda a, b: _cross_y(a, b, 0.0)),
        (lambda p: p[1] <= h, lambda a, b: _cross_y(a, b, h)),
    ]
    for inside, cross in edges:
        out = []
        for i, current in enumerate(points):
            previous = points[i - 1]
            if inside(current):
                if not inside(previous):
                    out.append(cross(previous, current))
                out.append(current)
            elif inside(previous):
                out.append(cross(previous, current))
        points = out
        if not points:
            break
    return points


def _cross_x(a, b, x):
    t = (x - a[0]) / (b[0] - a[0])
    return (x, a[1] + t * (b[1] - a[1]))


def _cross_y(a, b, y):
    t = (y - a[1]) / (b[1] - a[1])
    return (a[0] + t * (b[0] - a[0]), y)


def _pil_coefficients(name, p):
    """PIL's affine sampling coefficients of the op (float64, unrounded)."""
    if name == "rotate":
        theta = -np.deg2rad(p % 360.0)
        c, s = np.cos(theta), np.sin(theta)
        cx, cy = W / 2.0, H / 2.0
        return (c, s, c * -cx + s * -cy + cx, -s, c, -s * -cx + c * -cy + cy)
    return {
        "shear_x": (1, p, 0, 0, 1, 0),
        "shear_y": (1, 0, 0, p, 1, 0),
        "translate_x": (1, 0, p, 0, 1, 0),
        "translate_y": (1, 0, 0, 0, 1, p),
    }[name]


def _moved_box(box, name, p):
    """The reference box: the box's part inside the image, its corners through the
    inverse of PIL's sampling map, the moved quad clipped to the image."""
    a0, a1, a2, a3, a4, a5 = _pil_coefficients(name, p)
    inverse = np.linalg.inv(np.array([[a0, a1, a2], [a3, a4, a5], [0, 0, 1]], np.float64))
    x1, x2 = np.clip([box[0], box[2]], 0, W)
    y1, y2 = np.clip([box[1], box[3]], 0, H)
    corners = [(x1, y1), (x2, y1), (x2, y2), (x1, y2)]
    moved = [tuple(inverse[:2] @ np.array([x, y, 1.0])) for x, y in corners]
    clipped = _clip_polygon(moved, float(W), float(H))
    if not clipped:
        return None
    xs, ys = zip(*clipped, strict=True)
    return np.array([min(xs), min(ys), max(xs), max(ys)])


@pytest.mark.parametrize("name", GEOMETRIC)
def test_boxes_equal_the_tight_box_of_a_rectangle_warped_by_pillow(name):
    n, m = 24, 4
    rng = np.random.default_rng(GEOMETRIC.index(name))
    x1 = rng.integers(-6, W - 4, (n, m))
    y1 = rng.integers(-6, H - 4, (n, m))
    x2 = x1 + rng.integers(3, 26, (n, m))
    y2 = y1 + rng.integers(3, 26, (n, m))
    boxes = np.stack([x1, y1, x2, y2], -1).astype(np.float32)
    magnitudes = np.linspace(0.1, 1.0, n)
    checked = gone = exact = 0
    for b in range(n):
        data = {
            "images": tf.zeros([1, H, W, 3], tf.uint8),
            "bounding_boxes": {"boxes": boxes[b : b + 1], "labels": tf.ones([1, m], tf.int32)},
        }
        seed = (b, 7)
        out = rand_augment(
            data, num_ops=1, magnitude=float(magnitudes[b]), ops=[name], seed=seed,
            bounding_box_format="xyxy",
        )  # fmt: skip
        got = out["bounding_boxes"]["boxes"].numpy()[0]
        labels = out["bounding_boxes"]["labels"].numpy()[0]
        plan = _plan(1, 1, [name], float(magnitudes[b]), seed)
        p = float(OPS_BY_NAME[name].parameter(plan["magnitude"][0, 0], plan["sign"][0, 0], H, W))
        for k in range(m):
            bx = boxes[b, k].astype(int)
            # Every box against the exact geometry (2**-16 relative: Pillow's
            # fixed-point coefficients against the exact ones).
            reference = _moved_box(bx, name, p)
            if (
                reference is None
                or (reference[2] - reference[0]) * (reference[3] - reference[1]) <= 1e-9
            ):
                assert labels[k] == -1 and (got[k][2] - got[k][0]) * (got[k][3] - got[k][1]) == 0
                gone += 1
                continue
            np.testing.assert_allclose(got[k], reference, atol=2e-3, err_msg=str((name, p, bx)))
            assert labels[k] == 1
            exact += 1
            # Boxes inside the image before and after: Pillow's pixels, within 1 pixel.
            inside = bx[0] >= 0 and bx[1] >= 0 and bx[2] <= W and bx[3] <= H
            if not inside or reference[0] <= 0 or reference[1] <= 0:
                continue
            if reference[2] >= W or reference[3] >= H:
                continue
            canvas = Image.new("L", (W, H), 0)
            canvas.paste(255, tuple(int(v) for v in bx))
            warped = np.asarray(_pil_warp(canvas, name, p)) > 0
            rows, cols = np.nonzero(warped)
            tight = np.array([cols.min(), rows.min(), cols.max() + 1, rows.max() + 1])
            assert np.all(np.abs(got[k] - tight) <= 1.0), (name, p, bx, got[k], tight)
            checked += 1
    assert checked >= 20 and exact >= 60, (checked, exact, gone)


# -- one plan, every mode ------------------------------------------------------------

POLICIES = {
    "rand": lambda d, **k: rand_augment(d, num_ops=3, magnitude=0.9, seed=SEED, **k),
    "trivial": lambda d, **k: trivial_augment(d, seed=SEED, **k),
    "auto": lambda d, **k: auto_augment(d, policy="svhn", seed=SEED, **k),
}


@pytest.mark.parametrize("name", sorted(POLICIES))
def test_same_output_in_every_mode_and_images_as_alone(photos, name):
    f = POLICIES[name]
    data = _data(photos)

    def run(d):
        return f(d, bounding_box_format="xyxy", mask_fill_value=255)

    eager = run(data)
    outs = [
        tf.function(run)(data),
        tf.function(run, jit_compile=True)(data),
        next(iter(tf.data.Dataset.from_tensors(data).map(run))),
    ]
    for other in outs:
        for a, b in zip(tf.nest.flatten(eager), tf.nest.flatten(other), strict=True):
            np.testing.assert_array_equal(a.numpy(), b.numpy())
    np.testing.assert_array_equal(eager["images"].numpy(), f(tf.constant(photos)).numpy())
    assert np.any(eager["bounding_boxes"]["boxes"].numpy() != _boxes(len(photos)))


def test_gpu_and_xla_kernels_with_boxes_and_masks(photos, gpu_visible):
    spec = {
        "images": tf.TensorSpec([None, H, W, 3], tf.float32),
        "segmentation_masks": tf.TensorSpec([None, H, W], tf.int32),
        "bounding_boxes": {
            "boxes": tf.TensorSpec([None, 6, 4], tf.float32),
            "labels": tf.TensorSpec([None, 6], tf.int32),
        },
    }

    def f(d):
        return rand_augment(
            d, num_ops=2, magnitude=0.9, seed=(1, 2), value_range=(0, 1),
            bounding_box_format="rel_center_xywh", interpolation="bilinear",
        )  # fmt: skip

    violations = gpu_kernel_violations(tf.function(f).get_concrete_function(spec), xla=False)
    jit = tf.function(f, jit_compile=True).get_concrete_function(spec)
    violations += [f"[jit] {v}" for v in gpu_kernel_violations(jit, runtime=False)]
    assert not violations, "\n  ".join(violations)


# -- formats, layouts --------------------------------------------------------------------


@pytest.mark.parametrize("fmt", BOX_FORMATS)
def test_every_keras_format_gives_the_xyxy_result(photos, fmt):
    convert = keras.utils.bounding_boxes.convert_format
    data = _data(photos, masks=False)
    xyxy = rand_augment(data, num_ops=2, magnitude=0.9, seed=SEED, bounding_box_format="xyxy")
    given = convert(data["bounding_boxes"]["boxes"], "xyxy", fmt, height=H, width=W)
    data_f = {**data, "bounding_boxes": {**data["bounding_boxes"], "boxes": given}}
    out = rand_augment(data_f, num_ops=2, magnitude=0.9, seed=SEED, bounding_box_format=fmt)
    back = convert(out["bounding_boxes"]["boxes"], fmt, "xyxy", height=H, width=W)
    np.testing.assert_allclose(back.numpy(), xyxy["bounding_boxes"]["boxes"].numpy(), atol=2e-3)
    np.testing.assert_array_equal(
        out["bounding_boxes"]["labels"].numpy(), xyxy["bounding_boxes"]["labels"].numpy()
    )


def test_ragged_boxes_and_single_images(photos):
    n = 4
    lengths = [2, 0, 3, 1]
    boxes = _boxes(n, 3)
    ragged = tf.RaggedTensor.from_tensor(boxes, lengths=lengths)
    labels = tf.RaggedTensor.from_tensor(np.ones((n, 3), np.int64), lengths=lengths)
    data = {
        "images": tf.constant(photos[:n]),
        "bounding_boxes": {"boxes": ragged, "labels": labels},
    }
    out = rand_augment(data, num_ops=2, magnitude=0.9, seed=SEED, bounding_box_format="xyxy")
    got = out["bounding_boxes"]
    assert isinstance(got["boxes"], tf.RaggedTensor) and isinstance(got["labels"], tf.RaggedTensor)
    assert got["boxes"].row_lengths().numpy().tolist() == lengths
    dense = rand_augment(
        {"images": tf.constant(photos[:n]), "bounding_boxes": {"boxes": boxes, "labels": tf.ones((n, 3), tf.int64)}},
        num_ops=2, magnitude=0.9, seed=SEED, bounding_box_format="xyxy",
    )  # fmt: skip
    for b, k in enumerate(lengths):
        np.testing.assert_array_equal(
            got["boxes"][b].numpy(), dense["bounding_boxes"]["boxes"][b, :k]
        )
    # One image: [H, W, C], [M, 4] boxes, [M] labels, [H, W] mask; the same draws as
    # image 0 of a batch.
    single = {
        "images": tf.constant(photos[0]),
        "segmentation_masks": tf.constant(_masks(1)[0]),
        "bounding_boxes": {"boxes": boxes[0], "labels": tf.ones([3], tf.int32)},
    }
    out1 = rand_augment(single, num_ops=2, magnitude=0.9, seed=SEED, bounding_box_format="xyxy")
    assert out1["images"].shape == (H, W, 3) and out1["segmentation_masks"].shape == (H, W)
    assert out1["bounding_boxes"]["boxes"].shape == (3, 4)
    np.testing.assert_array_equal(
        out1["bounding_boxes"]["boxes"].numpy(), dense["bounding_boxes"]["boxes"][0].numpy()
    )


def test_a_box_leaving_the_image_gets_label_minus_one():
    boxes = np.array([[[40.0, 10.0, 47.0, 20.0], [2.0, 2.0, 10.0, 10.0]]], np.float32)
    data = {
        "images": tf.zeros([1, H, W, 3], tf.uint8),
        "bounding_boxes": {"boxes": boxes, "labels": tf.constant([[3, 4]])},
        "meta": tf.constant(["kept"]),
    }
    # translate_x with a parameter of -0.45 W or +0.45 W: pick the seed whose sign
    # moves the content left (a positive parameter), pushing the first box out.
    for seed in range(20):
        plan = _plan(1, 1, ["translate_x"], 1.0, (seed, 0))
        if plan["sign"][0, 0] > 0:
            break
    out = rand_augment(
        data, num_ops=1, magnitude=1.0, ops=["translate_x"], seed=(seed, 0),
        bounding_box_format="xyxy",
    )  # fmt: skip
    got = out["bounding_boxes"]
    assert got["labels"].numpy().tolist() == [[3, -1]]  # the second box left the image
    # Its coordinates: clipped to the image's left edge, no width left.
    assert got["boxes"].numpy()[0, 1, 0] == got["boxes"].numpy()[0, 1, 2] == 0.0
    assert out["meta"].numpy().tolist() == [b"kept"]


def test_integer_boxes_are_rounded_back(photos):
    data = _data(photos[:3], masks=False)
    data["bounding_boxes"]["boxes"] = tf.cast(tf.round(data["bounding_boxes"]["boxes"]), tf.int32)
    out = rand_augment(data, num_ops=2, magnitude=0.9, seed=SEED, bounding_box_format="xyxy")
    assert out["bounding_boxes"]["boxes"].dtype == tf.int32


def test_the_layer_with_boxes_and_masks(photos, tmp_path):
    layer = RandAugment(
        num_ops=2, magnitude=0.9, seed=5, bounding_box_format="xyxy", mask_fill_value=255
    )
    data = _data(photos)
    ds = tf.data.Dataset.from_tensor_slices(data).batch(5).map(layer)
    batches = list(ds)
    assert batches[0]["segmentation_masks"].shape == (5, H, W)
    clone = RandAugment.from_config(layer.get_config())
    assert clone.bounding_box_format == "xyxy" and clone.mask_fill_value == 255
    out = RandAugment(seed=5, bounding_box_format="xyxy", dtype="mixed_float16")(
        {**data, "images": tf.cast(data["images"], tf.float32)}
    )
    assert out["images"].dtype == tf.float16
    assert out["bounding_boxes"]["boxes"].dtype == tf.float32
    assert out["segmentation_masks"].dtype == tf.int32


# -- bad input -------------------------------------------------------------------------


def _bad(photos, **changes):
    data = _data(photos[:2])
    for key, value in changes.items():
        if key.startswith("bb_"):
            data["bounding_boxes"][key[3:]] = value
        else:
            data[key] = value
    return data


@pytest.mark.parametrize(
    "make, kwargs, error, match",
    [
        (lambda p: _data(p[:2]), {}, ValueError, r"no `bounding_box_format`"),
        (lambda p: _data(p[:2]), {"bounding_box_format": "xyxz"}, ValueError, r"bounding_box_format='xyxz'"),
        (lambda p: _bad(p, bb_boxes=tf.zeros([2, 6, 5])), {"bounding_box_format": "xyxy"},
         ValueError, r"bounding_boxes\['boxes'\]\.shape=\(2, 6, 5\)"),
        (lambda p: _bad(p, bb_boxes=tf.zeros([6, 4])), {"bounding_box_format": "xyxy"},
         ValueError, r"\[B, M, 4\].*shape=\(6, 4\)"),
        (lambda p: _bad(p, bb_labels=tf.zeros([2, 5], tf.int32)), {"bounding_box_format": "xyxy"},
         ValueError, r"labels'\]\.shape=\(2, 5\)"),
        (lambda p: _bad(p, segmentation_masks=tf.zeros([2, H, W + 1], tf.int32)),
         {"bounding_box_format": "xyxy"}, ValueError, r"segmentation_masks\.shape=\(2, 40, 49\)"),
        (lambda p: _bad(p, segmentation_masks=tf.zeros([2, H, W, 2], tf.int32)),
         {"bounding_box_format": "xyxy"}, ValueError, r"one channel.*\(2, 40, 48, 2\)"),
        (lambda p: {"labels": tf.zeros([2])}, {}, ValueError, r"needs an 'images' key"),
        (lambda p: _bad(p, bounding_boxes=tf.zeros([2, 6, 4])), {"bounding_box_format": "xyxy"},
         ValueError, r"must be a dict with 'boxes'"),
        (lambda p: _data(p[:2], boxes=False), {"mask_fill_value": 300, "ops": ["rotate"]},
         None, None),
        (lambda p: {**_data(p[:2], boxes=False), "segmentation_masks": tf.zeros([2, H, W], tf.uint8)},
         {"mask_fill_value": 300}, ValueError, r"mask_fill_value=300\.0"),
    ],
)  # fmt: skip
def test_bad_inputs_name_the_key_and_echo_the_shape(photos, make, kwargs, error, match):
    if error is None:  # an int32 mask holds 300: fine
        rand_augment(make(photos), seed=0, **kwargs)
        return
    with pytest.raises(error, match=match):
        rand_augment(make(photos), seed=0, **kwargs)


def test_aug_mix_refuses_dicts(photos):
    with pytest.raises(TypeError, match="aug_mix takes images only"):
        randaugment.aug_mix(_data(photos[:2]), seed=0)
