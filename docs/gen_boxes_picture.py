"""Generates `docs/images/boxes_and_masks.png`: one photograph with boxes and a mask,
and several augmented copies of it from one `rand_augment` call (each drew its own
ops), boxes drawn on and the mask laid over.

    python docs/gen_boxes_picture.py

`tests/test_docs.py` regenerates the augmented tiles and compares them with the
committed picture, so the picture is what the library does.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from PIL import Image, ImageDraw  # noqa: E402

import randaugment  # noqa: E402
from randaugment._plan import draw_plan  # noqa: E402

DOCS = Path(__file__).resolve().parent
OUT = DOCS / "images" / "boxes_and_masks.png"
SIZE = 160
COPIES = 7  # augmented tiles after the original
SEED = (2026, 12)
NUM_OPS, MAGNITUDE = 2, 0.9
COLORS = {1: (255, 60, 60), 2: (60, 140, 255), 3: (255, 210, 40)}
PAD, LABEL = 4, 14


def scene():
    """The photograph (scikit-image's astronaut, 160x160), three boxes (the face, the
    space shuttle model, the mission patch) and a mask of the same objects (ids 1 to
    3, 0 elsewhere)."""
    import skimage.data

    image = Image.fromarray(skimage.data.astronaut()).resize((SIZE, SIZE), Image.BILINEAR)
    boxes = np.array(
        [[55.0, 25.0, 93.0, 72.0], [88.0, 2.0, 158.0, 48.0], [14.0, 94.0, 66.0, 160.0]],
        np.float32,
    )
    mask = Image.new("L", (SIZE, SIZE), 0)
    draw = ImageDraw.Draw(mask)
    draw.ellipse((58, 27, 90, 70), fill=1)  # face
    draw.rectangle((90, 4, 156, 46), fill=2)  # shuttle
    draw.ellipse((18, 100, 62, 156), fill=3)  # patch
    return np.asarray(image), boxes, np.asarray(mask).astype(np.int32)


def augmented():
    """The original and `COPIES` augmented copies from one call: a dict of batches."""
    image, boxes, mask = scene()
    n = COPIES + 1
    data = {
        "images": tf.constant(np.repeat(image[None], n, axis=0)),
        "segmentation_masks": tf.constant(np.repeat(mask[None], n, axis=0)),
        "bounding_boxes": {
            "boxes": tf.constant(np.repeat(boxes[None], n, axis=0)),
            "labels": tf.constant(np.repeat([[1, 2, 3]], n, axis=0)),
        },
    }
    out = randaugment.rand_augment(
        data, num_ops=NUM_OPS, magnitude=MAGNITUDE, seed=SEED, bounding_box_format="xyxy"
    )
    # Tile 0 is the original: the call's image 0 is replaced by the input.
    images = out["images"].numpy()
    images[0] = image
    masks = out["segmentation_masks"].numpy()
    masks[0] = mask
    boxes_out = out["bounding_boxes"]["boxes"].numpy()
    boxes_out[0] = boxes
    labels = out["bounding_boxes"]["labels"].numpy()
    labels[0] = [1, 2, 3]
    return images, masks, boxes_out, labels


def op_names():
    """Each copy's ops, from the call's plan (the same seed and arguments)."""
    ops = randaugment.DEFAULT_OPS
    plan = draw_plan(
        tf.constant(SEED), tf.constant(COPIES + 1), NUM_OPS, len(ops), MAGNITUDE, 0.0, 1.0
    )
    return [" + ".join(ops[i] for i in row) for row in plan.op.numpy()]


def tile(image, mask, boxes, labels) -> Image.Image:
    base = Image.fromarray(image).convert("RGBA")
    overlay = np.zeros((SIZE, SIZE, 4), np.uint8)
    for cls, color in COLORS.items():
        overlay[mask == cls] = (*color, 110)
    out = Image.alpha_composite(base, Image.fromarray(overlay))
    draw = ImageDraw.Draw(out)
    for box, label in zip(boxes, labels, strict=True):
        if label < 0:
            continue
        draw.rectangle([float(v) for v in box], outline=(*COLORS[int(label)], 255), width=2)
    return out.convert("RGB")


def picture() -> Image.Image:
    images, masks, boxes, labels = augmented()
    names = ["original"] + op_names()[1:]
    width = PAD + (COPIES + 1) // 2 * (SIZE + PAD)
    canvas = Image.new("RGB", (width, 2 * (SIZE + LABEL + PAD) + PAD), "white")
    draw = ImageDraw.Draw(canvas)
    for k in range(COPIES + 1):
        row, col = divmod(k, (COPIES + 1) // 2)
        x = PAD + col * (SIZE + PAD)
        y = PAD + row * (SIZE + LABEL + PAD)
        draw.text((x, y), names[k][:30], fill="black")
        canvas.paste(tile(images[k], masks[k], boxes[k], labels[k]), (x, y + LABEL))
    return canvas


def main() -> int:
    OUT.parent.mkdir(parents=True, exist_ok=True)
    picture().save(OUT, optimize=True)
    print(OUT)
    return 0


if __name__ == "__main__":
    sys.exit(main())
