"""Generates `docs/ops.md` and the pictures under `docs/images/` from `randaugment.OPS`.

    python docs/gen_ops_page.py            # rewrite docs/ops.md and every PNG
    python docs/gen_ops_page.py --check    # exit 1 if docs/ops.md is out of date

The page is derived from the op table and nothing else, so it cannot disagree with the
code: `tests/test_docs.py` regenerates the text and compares it with the committed
page. The gallery shows each op's kernel at magnitudes 0, 0.25, 0.5, 0.75 and 1 (positive
sign) on a photograph from scikit-image; `samples.png` shows `rand_augment` itself.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from PIL import Image, ImageDraw, ImageFont  # noqa: E402

import randaugment  # noqa: E402
from randaugment.table import OpSpec  # noqa: E402

DOCS = Path(__file__).resolve().parent
PAGE = DOCS / "ops.md"
IMAGES = DOCS / "images"

MAGNITUDES = (0.0, 0.25, 0.5, 0.75, 1.0)
TILE = 96  # gallery tile side, pixels
PAD = 4
LABEL = 26  # height of the two text lines above each tile
SAMPLES_TILE = 128
SAMPLES_SEED = 2024

# What each kernel is compared with in tests/test_ops_pillow.py (PIL_REFERENCES[name]
# .source); tests/test_docs.py checks that the two agree.
REFERENCES: dict[str, str] = {
    "identity": "the input",
    "auto_contrast": "PIL.ImageOps.autocontrast",
    "equalize": "PIL.ImageOps.equalize",
    "rotate": "PIL.Image.rotate",
    "shear_x": "PIL.Image.transform AFFINE (1, s, 0, 0, 1, 0)",
    "shear_y": "PIL.Image.transform AFFINE (1, 0, 0, s, 1, 0)",
    "translate_x": "PIL.Image.transform AFFINE (1, 0, t, 0, 1, 0)",
    "translate_y": "PIL.Image.transform AFFINE (1, 0, 0, 0, 1, t)",
    "brightness": "PIL.ImageEnhance.Brightness",
    "color": "PIL.ImageEnhance.Color",
    "contrast": "PIL.ImageEnhance.Contrast",
    "sharpness": "PIL.ImageEnhance.Sharpness",
    "posterize": "PIL.ImageOps.posterize (bits 0: NumPy definition)",
    "solarize": "PIL.ImageOps.solarize",
    "invert": "PIL.ImageOps.invert",
    "solarize_add": "NumPy definition (no Pillow equivalent)",
    "cutout": "NumPy definition (no Pillow equivalent)",
}

# One line per op for the page. An op missing here stops the generator: a new op
# must be described before it can be documented.
SUMMARIES: dict[str, str] = {
    "identity": "Returns the image unchanged.",
    "auto_contrast": "Stretches each channel so that its darkest pixel becomes 0 and its "
    "brightest 255.",
    "equalize": "Equalizes the histogram of each channel.",
    "rotate": "Rotates about the image centre, counter-clockwise for a positive angle.",
    "shear_x": "Shears along x: the output pixel (x, y) reads the input at (x + s y, y).",
    "shear_y": "Shears along y: the output pixel (x, y) reads the input at (x, s x + y).",
    "translate_x": "Shifts the image; the output pixel (x, y) reads the input at (x + t, y), "
    "so a positive t moves the content left.",
    "translate_y": "Shifts the image; the output pixel (x, y) reads the input at (x, y + t), "
    "so a positive t moves the content up.",
    "brightness": "Blends with a black image: factor 0 is black, 1 the input, above 1 brighter.",
    "color": "Blends with the grayscale image: factor 0 is gray, above 1 more saturated. "
    "The identity on grayscale images.",
    "contrast": "Blends with the mean gray level of the image: factor 0 is flat gray.",
    "sharpness": "Blends with a smoothed image (PIL's 3x3 SMOOTH filter, border pixels kept): "
    "factor 0 is blurred, above 1 sharpened.",
    "posterize": "Keeps the given number of high bits of each channel value.",
    "solarize": "Inverts every value at or above the threshold.",
    "invert": "Inverts every value: 255 - x.",
    "solarize_add": "Adds the amount to every value below 128, clipped to 255.",
    "cutout": "Fills a square with the fill value. In `rand_augment` its centre is drawn "
    "uniformly over the image; the gallery centres it.",
}

FAMILY_NOTES = {
    "identity": "no work",
    "geometric": "one affine warp with a per-image matrix",
    "lut": "one 256-entry table per image, from the parameter alone (on uint8 images "
    "posterize, solarize and invert run as bit operations and brightness as a multiply)",
    "histogram": "one 256-entry table per image and channel, built from the image's histograms",
    "contrast": "one blend with the image's mean gray",
    "color": "one blend with the grayscale image",
    "sharpness": "one blend with the smoothed image",
    "cutout": "one masked fill",
}


def _fmt(value: float) -> str:
    return f"{value:g}"


def _side(spec: OpSpec) -> str:
    return {"width": "W", "height": "H", "shorter side": "min(H, W)"}.get(spec.relative_to, "")


def range_at(spec: OpSpec, magnitude: float) -> str:
    """The parameter at `magnitude` (positive sign) in the table's own terms."""
    if not spec.has_parameter:
        return "-"
    value = spec.low + (spec.high - spec.low) * magnitude
    text = _fmt(value)
    if spec.signed and magnitude and value != spec.low:
        text = f"{_fmt(spec.low)} +- {_fmt(abs(spec.high - spec.low) * magnitude)}"
        if not spec.low:
            text = f"+-{_fmt(abs(value))}"
    if spec.relative_to and value != spec.low:
        text = f"{text} x {_side(spec)}"
    return text


def _check_descriptions(specs) -> None:
    missing = [s.name for s in specs if s.name not in REFERENCES or s.name not in SUMMARIES]
    missing += [f"family {s.family!r}" for s in specs if s.family not in FAMILY_NOTES]
    if missing:
        raise SystemExit(
            f"docs/gen_ops_page.py: no description for {missing}; "
            "add them to REFERENCES, SUMMARIES or FAMILY_NOTES"
        )


def render_page(specs=randaugment.OPS) -> str:
    """The text of `docs/ops.md`, from the op table alone."""
    specs = tuple(specs)
    _check_descriptions(specs)
    default = [s for s in specs if s.default]
    extra = [s for s in specs if not s.default]
    lines = [
        "<!-- Generated by docs/gen_ops_page.py from randaugment.OPS: do not edit by hand. -->",
        "",
        "# Ops",
        "",
        f"The op table `randaugment.OPS` has {len(specs)} ops: the paper's {len(default)}, "
        f"drawn by default, and {len(extra)} opt-in extras of the original TF code "
        f"({', '.join(f'`{s.name}`' for s in extra)}), drawn only when listed in `ops=`. "
        "This page is generated from that table by `docs/gen_ops_page.py`, and "
        "`tests/test_docs.py` fails when the two disagree.",
        "",
        "A magnitude m in [0, 1] becomes an op's parameter as",
        "",
        "    parameter = low + sign * (high - low) * m",
        "",
        "where `low` is the parameter at magnitude 0 (the identity), `high` the parameter at "
        "magnitude 1, and `sign` is drawn per image and slot as +1 or -1 with equal "
        "probability for signed ops (always +1 otherwise). Parameters marked `x W`, `x H` or "
        "`x min(H, W)` are fractions of the image width, height or shorter side and are "
        "multiplied by it, in pixels; posterize's number of bits is rounded. "
        "Ops without a parameter do not depend on the magnitude, although "
        "`rand_augment(..., magnitude=0)` returns its input unchanged.",
        "",
        "Every kernel is tested against the reference in the last column "
        "(`tests/test_ops_pillow.py`): colour ops within one uint8 level, the value tables "
        "exactly, nearest-neighbour warps exactly apart from rounding ties.",
        "",
        "| op | family | magnitude 0 -> 1 | at m = 0 | at m = 0.5 | at m = 1 | random sign "
        "| unit | drawn | reference |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for s in specs:
        lines.append(
            f"| `{s.name}` | {s.family} | {s.describe_range()} | {range_at(s, 0.0)} "
            f"| {range_at(s, 0.5)} | {range_at(s, 1.0)} | {'yes' if s.signed else 'no'} "
            f"| {s.unit or '-'} | {'default' if s.default else 'extra'} "
            f"| {REFERENCES[s.name]} |"
        )
    lines += [
        "",
        "The family says how the op is applied to many images at once, each with its own "
        "parameter (see [Design](design.md)): "
        + "; ".join(
            f"{family}: {FAMILY_NOTES[family]}" for family in dict.fromkeys(s.family for s in specs)
        )
        + ".",
        "",
        "## Gallery",
        "",
        f"Each row applies one kernel to a {TILE}x{TILE} photograph (scikit-image's "
        "`astronaut`) with the parameter of magnitudes "
        + ", ".join(_fmt(m) for m in MAGNITUDES)
        + " and sign +1, written above each tile. Geometric ops fill with 128, the default "
        "`fill_value`, and use nearest interpolation.",
        "",
    ]
    for s in specs:
        lines += [
            f"### {s.name}",
            "",
            f"{SUMMARIES[s.name]} Range: {s.describe_range()}"
            + (f" ({s.unit})" if s.unit else "")
            + (", drawn by default." if s.default else ", an opt-in extra."),
            "",
            f"![{s.name} at magnitudes 0 to 1](images/ops/{s.name}.png)",
            "",
        ]
    return "\n".join(lines)


# -- pictures ---------------------------------------------------------------------------


def photo(size: int = TILE) -> np.ndarray:
    """scikit-image's astronaut, resized to `size` x `size`, uint8 `[size, size, 3]`."""
    import skimage.data

    image = Image.fromarray(skimage.data.astronaut()).resize((size, size), Image.LANCZOS)
    return np.asarray(image)


def apply_op(spec: OpSpec, image: np.ndarray, magnitudes=MAGNITUDES) -> np.ndarray:
    """`spec`'s kernel on copies of `image` at each magnitude, uint8 `[M, H, W, 3]`."""
    height, width = image.shape[:2]
    batch = tf.constant(np.repeat(image[np.newaxis], len(magnitudes), axis=0), tf.float32)
    if not spec.has_parameter:
        return spec.kernel(batch).numpy().astype(np.uint8)
    m = tf.constant(magnitudes, tf.float32)
    params = spec.parameter(m, sign=1.0, height=height, width=width)
    if spec.family == "cutout":
        centers = tf.constant([[width / 2, height / 2]] * len(magnitudes), tf.float32)
        out = spec.kernel(batch, params, centers)
    else:
        out = spec.kernel(batch, params)
    return out.numpy().astype(np.uint8)


def _font(size: int = 10):
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1
        return ImageFont.load_default()


def _param_label(spec: OpSpec, magnitude: float, height: int, width: int) -> str:
    if not spec.has_parameter:
        return "(no parameter)"
    value = float(spec.parameter(magnitude, sign=1.0, height=height, width=width))
    unit = {"degrees": " deg", "pixels": " px"}.get(spec.unit, "")
    if spec.family == "cutout":
        unit = " px"
    return f"{_fmt(round(value, 3))}{unit}"


def gallery_strip(spec: OpSpec, image: np.ndarray) -> Image.Image:
    """One row: the op at each magnitude, with magnitude and parameter above each tile."""
    tiles = apply_op(spec, image)
    height, width = image.shape[:2]
    strip = Image.new(
        "RGB",
        (PAD + len(MAGNITUDES) * (width + PAD), LABEL + height + PAD),
        "white",
    )
    draw = ImageDraw.Draw(strip)
    font = _font()
    for i, (m, tile) in enumerate(zip(MAGNITUDES, tiles, strict=True)):
        x = PAD + i * (width + PAD)
        draw.text((x, 1), f"m = {_fmt(m)}", fill="black", font=font)
        draw.text((x, 13), _param_label(spec, m, height, width), fill=(90, 90, 90), font=font)
        strip.paste(Image.fromarray(tile), (x, LABEL))
    return strip


def write_gallery(out_dir: Path, specs=randaugment.OPS) -> list[Path]:
    """Writes `<out_dir>/ops/<name>.png` for every op; returns the paths, in table order."""
    image = photo()
    folder = Path(out_dir) / "ops"
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for spec in specs:
        path = folder / f"{spec.name}.png"
        gallery_strip(spec, image).save(path, optimize=True)
        paths.append(path)
    return paths


def write_samples(out_dir: Path, seed: int = SAMPLES_SEED) -> Path:
    """A 4x4 grid: one photograph under `rand_augment(num_ops=2, magnitude=0.9)`.

    One call on a batch of 16 copies: every image draws its own ops, signs and slots.
    The top-left tile is the original.
    """
    image = photo(SAMPLES_TILE)
    batch = np.repeat(image[np.newaxis], 16, axis=0)
    out = randaugment.rand_augment(batch, num_ops=2, magnitude=0.9, seed=seed).numpy()
    out[0] = image
    side = PAD + 4 * (SAMPLES_TILE + PAD)
    grid = Image.new("RGB", (side, side), "white")
    for i, tile in enumerate(out):
        row, col = divmod(i, 4)
        grid.paste(
            Image.fromarray(tile),
            (PAD + col * (SAMPLES_TILE + PAD), PAD + row * (SAMPLES_TILE + PAD)),
        )
    path = Path(out_dir) / "samples.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    grid.save(path, optimize=True)
    return path


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--check", action="store_true", help="only check that docs/ops.md is up to date"
    )
    parser.add_argument("--no-images", action="store_true", help="write only docs/ops.md")
    args = parser.parse_args(argv)
    text = render_page()
    if args.check:
        if PAGE.read_text(encoding="utf-8") != text:
            print("docs/ops.md is out of date: run python docs/gen_ops_page.py", file=sys.stderr)
            return 1
        return 0
    PAGE.write_text(text, encoding="utf-8")
    print(f"wrote {PAGE}")
    if not args.no_images:
        for path in write_gallery(IMAGES):
            print(f"wrote {path}")
        print(f"wrote {write_samples(IMAGES)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
