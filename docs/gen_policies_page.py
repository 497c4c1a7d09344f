"""Generates `docs/policies.md` and its pictures from the range tables and the policies.

    python docs/gen_policies_page.py            # rewrite docs/policies.md and the PNGs
    python docs/gen_policies_page.py --check    # exit 1 if docs/policies.md is out of date

The ranges come from `randaugment.RANGES` (through `randaugment._ranges.specs_for`),
the op lists and AutoAugment's sub-policies from `randaugment.policies`, the timm
examples from what `randaugment.from_timm` builds or refuses; the prose is here.
`tests/test_policies_page.py` regenerates the text and the pictures and compares them
with the committed ones.

The pictures are made by the preview command itself (`randaugment.preview.main`), on
its default photograph: `docs/images/preview.png` (the README's, exactly what
`python -m randaugment preview` writes) and one grid per policy under
`docs/images/policies/`.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
# This tree's package, not an installed one: the page documents the code beside it.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import randaugment  # noqa: E402
from randaugment import policies, preview, timm  # noqa: E402
from randaugment._ranges import RANGES, specs_for  # noqa: E402

DOCS = Path(__file__).resolve().parent
PAGE = DOCS / "policies.md"
IMAGES = DOCS / "images"

# The pictures: file (under docs/) -> the preview command's arguments.
PICTURES: dict[str, list[str]] = {
    "images/preview.png": [],
    "images/policies/rand.png": ["--policy", "rand", "--grid", "4x2"],
    "images/policies/trivial.png": ["--policy", "trivial", "--grid", "4x2"],
    "images/policies/auto-imagenet.png": ["--policy", "auto-imagenet", "--grid", "4x2"],
    "images/policies/auto-cifar10.png": ["--policy", "auto-cifar10", "--grid", "4x2"],
    "images/policies/auto-svhn.png": ["--policy", "auto-svhn", "--grid", "4x2"],
    "images/policies/augmix.png": ["--policy", "augmix", "--grid", "4x2"],
}


def command(name: str) -> str:
    """The shell command that makes picture `name` (relative to docs/)."""
    return " ".join(["python -m randaugment preview", *PICTURES[name], "-o", f"docs/{name}"])


def write_pictures(docs: Path = DOCS) -> list[Path]:
    """Runs the preview command for every picture, writing under `docs`."""
    paths = []
    for name, argv in PICTURES.items():
        path = docs / name
        path.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.redirect_stdout(io.StringIO()):
            code = preview.main([*argv, "-o", str(path)])
        if code != 0:
            raise SystemExit(f"preview {argv} failed with exit code {code}")
        paths.append(path)
    return paths


# -- tables -------------------------------------------------------------------------------

TABLES = ("default", "torchvision", "trivial_wide", "augmix", "timm", "timm_increasing")
TABLE_USE = {
    "default": "`rand_augment`, `RandAugment` (the default `ranges`)",
    "torchvision": '`auto_augment`, `AutoAugment`; `ranges="torchvision"`',
    "trivial_wide": "`trivial_augment`, `TrivialAugment`",
    "augmix": "`aug_mix`, `AugMix`",
    "timm": '`from_timm("rand-...")` (`inc0`, the default); `ranges="timm"`',
    "timm_increasing": '`from_timm("rand-...-inc1")`; `ranges="timm_increasing"`',
}


def _cell(spec) -> str:
    text = spec.describe_range()
    return (
        text.replace("image shorter side", "min(H, W)")
        .replace("image width", "W")
        .replace("image height", "H")
    )


def ranges_table() -> list[str]:
    """Every op (rows) under every range table (columns), from `specs_for`."""
    names = [spec.name for spec in randaugment.OPS]
    lines = [
        "| op | " + " | ".join(f"`{t}`" for t in TABLES) + " |",
        "|---|" + "---|" * len(TABLES),
    ]
    columns = {t: {s.name: s for s in specs_for(names, t)} for t in TABLES}
    for name in names:
        cells = []
        for t in TABLES:
            spec = columns[t][name]
            text = _cell(spec)
            if t != "default" and name in RANGES[t]:
                text = f"**{text}**"  # differs from the default table
            cells.append(text)
        lines.append(f"| `{name}` | " + " | ".join(cells) + " |")
    return lines


def op_list(ops) -> str:
    return ", ".join(f"`{name}`" for name in ops)


def policy_ranges(ops, table: str) -> list[str]:
    """One policy's ops with its table's ranges and units."""
    lines = ["| op | magnitude 0 -> 1 | unit |", "|---|---|---|"]
    for spec in specs_for(ops, table):
        lines.append(f"| `{spec.name}` | {_cell(spec)} | {spec.unit or '-'} |")
    return lines


def subpolicy_table(name: str) -> list[str]:
    lines = [
        "| # | first op (probability, magnitude bin) | second op (probability, magnitude bin) |",
        "|---|---|---|",
    ]
    for i, sub in enumerate(randaugment.AUTO_AUGMENT_POLICIES[name]):
        cells = [f"`{op}` ({p:g}, {'-' if b is None else b})" for op, p, b in sub]
        lines.append(f"| {i} | " + " | ".join(cells) + " |")
    return lines


TIMM_SHOWN = {
    "RandAugment": ("num_ops", "magnitude", "magnitude_stddev", "rate", "ranges", "ops",
                    "interpolation"),
    "AugMix": ("severity", "width", "depth", "alpha", "all_ops"),
    "TrivialAugment": ("num_magnitude_bins",),
}  # fmt: skip
TIMM_EXAMPLES = ("rand-m9-mstd0.5-inc1", "rand-m7-n3-p1", "augmix-m5-w4-d2", "trivialaugment")
TIMM_REFUSED = ("rand-m9-mstd101", "rand-m9-mmax20", "rand-t1-m9", "augmix-m3-b1", "original")


def timm_examples() -> list[str]:
    """What `from_timm` builds for a few strings (its layers' settings)."""
    lines = ["| timm string | layer | settings |", "|---|---|---|"]
    for config in TIMM_EXAMPLES:
        layer = randaugment.from_timm(config)
        kind = type(layer).__name__
        settings = ", ".join(
            f"`{key}`: timm's {len(timm.TIMM_RAND_OPS)} ops"
            if key == "ops" and getattr(layer, key) == list(timm.TIMM_RAND_OPS)
            else f"`{key}={getattr(layer, key)!r}`"
            for key in TIMM_SHOWN[kind]
        )
        lines.append(f"| `{config}` | `{kind}` | {settings} |")
    return lines


def timm_refusals() -> list[str]:
    """The `ValueError` that `from_timm` raises for strings it cannot honour."""
    lines = ["| timm string | `from_timm` raises |", "|---|---|"]
    for config in TIMM_REFUSED:
        try:
            randaugment.from_timm(config)
        except ValueError as error:
            message = str(error).replace("|", "\\|")
            lines.append(f"| `{config}` | {message} |")
        else:  # pragma: no cover - a refusal that stopped refusing must be documented
            raise SystemExit(f"from_timm({config!r}) no longer raises: update the page")
    return lines


# -- the page -------------------------------------------------------------------------------

RECIPE = """import keras
import numpy as np
import tensorflow as tf
from randaugment import aug_mix
from randaugment.losses import AugMixConsistencyLoss

SEED = 1234
images = np.random.randint(0, 256, (128, 32, 32, 3)).astype("uint8")
labels = np.random.randint(0, 10, 128)


def three_views(i, batch):
    x, y = batch
    # Two seeds per batch, from the batch index: reproducible, and new every batch.
    seeds = tf.random.experimental.stateless_split(tf.stack([SEED, tf.cast(i, tf.int32)]), 2)
    views = tf.concat([x, aug_mix(x, seed=seeds[0]), aug_mix(x, seed=seeds[1])], axis=0)
    return views, tf.concat([y, y, y], axis=0)  # the labels repeated: equal batch sizes


ds = (
    tf.data.Dataset.from_tensor_slices((images, labels))
    .shuffle(128, seed=SEED)
    .batch(32, drop_remainder=True)
    .repeat()          # before enumerate: every epoch gets new seeds
    .enumerate()
    .map(three_views, num_parallel_calls=tf.data.AUTOTUNE)
    .prefetch(tf.data.AUTOTUNE)
)
model = keras.Sequential([
    keras.Input((32, 32, 3)),
    keras.layers.Rescaling(1 / 255),
    keras.layers.Conv2D(16, 3, activation="relu"),
    keras.layers.GlobalAveragePooling2D(),
    keras.layers.Dense(10),  # logits
])
model.compile("adam", loss=AugMixConsistencyLoss(weight=12.0))  # the paper's lambda
history = model.fit(ds, steps_per_epoch=4, epochs=2, verbose=0)
print([round(v, 3) for v in history.history["loss"]])

# At inference the model sees one view, and the loss is not used.
print(model.predict(images[:4], verbose=0).shape)  # (4, 10)
"""

JS_EXAMPLE = """import numpy as np
from randaugment.losses import jensen_shannon_consistency

clean = np.array([[3.0, 0.0, 0.0], [0.0, 2.0, 0.0]])   # logits, 2 examples, 3 classes
aug1 = np.array([[3.0, 0.0, 0.0], [2.0, 0.0, 0.0]])
aug2 = np.array([[2.5, 0.5, 0.0], [0.0, 0.0, 2.0]])
js = jensen_shannon_consistency(clean, aug1, aug2)      # one value per example, in nats
print(np.round(np.asarray(js), 3))                     # the second disagrees more
print(np.asarray(jensen_shannon_consistency(clean, clean, clean)).max() < 1e-6)  # True
"""


def _picture(name: str, alt: str) -> list[str]:
    return [f"![{alt}]({name})", "", f"*Made by `{command(name)}`.*", ""]


def render_page() -> str:
    """The text of `docs/policies.md`."""
    auto_ops = tuple(
        dict.fromkeys(
            op
            for policy in randaugment.AUTO_AUGMENT_POLICIES.values()
            for sub in policy
            for op, _, _ in sub
        )
    )
    lines = [
        "<!-- Generated by docs/gen_policies_page.py from randaugment.RANGES and the "
        "policies: do not edit by hand. -->",
        "",
        "# Policies",
        "",
        "Besides RandAugment, the library runs three other augmentation policies on the same "
        "op table and engine. A policy differs only in how each image draws its ops, "
        "magnitudes and signs (its *plan*); the engine applies the plan. So every policy "
        "draws per image, takes a seed, gives the same output in eager mode, `tf.function`, "
        "`tf.data` and under `jit_compile=True`, runs on the GPU, and has a functional op "
        "for `tf.data` and a Keras layer:",
        "",
        "| policy | function | layer | what each image draws | ranges |",
        "|---|---|---|---|---|",
        "| RandAugment (Cubuk et al., 2019) | `rand_augment` | `RandAugment` | `num_ops` ops, "
        "uniformly, all at one `magnitude` | `default` |",
        "| TrivialAugment wide (Müller and Hutter, 2021) | `trivial_augment` | "
        "`TrivialAugment` | one op and one magnitude bin, uniformly | `trivial_wide` |",
        "| AutoAugment (Cubuk et al., 2019) | `auto_augment` | `AutoAugment` | one of 25 "
        "learned sub-policies: two ops, each with its own probability and magnitude | "
        "`torchvision` |",
        "| AugMix (Hendrycks et al., 2020) | `aug_mix` | `AugMix` | `width` chains of 1 to 3 "
        "ops, mixed with random weights, then mixed with the original | `augmix` |",
        "",
        "The ranges column names the table of `randaugment.RANGES` that turns a magnitude "
        "into each op's parameter ([all tables](#the-range-tables)). The numbers of "
        "TrivialAugment's, AutoAugment's and AugMix's tables are torchvision's (0.29), so "
        "that a model trained with torchvision's transforms sees the same distortions "
        "here.",
        "",
        "To see a policy on your own image: `python -m randaugment preview IMAGE --policy "
        "trivial` (the pictures below are made that way; see [Usage](usage.md#preview)).",
        "",
        "## Which one to use",
        "",
        "- **RandAugment** has two knobs, the number of ops and their magnitude, and they "
        "matter: the paper tunes them per model and data set (larger models take larger "
        "magnitudes). Use it when you can afford a small search, or have settings from a "
        "paper or a timm recipe (`from_timm`).",
        "- **TrivialAugment** has no knob to tune: one op per image at a magnitude drawn "
        "uniformly. Its paper reports it matching or beating tuned RandAugment and "
        "AutoAugment on its image classification benchmarks: a good first choice when you "
        "do not want to search.",
        "- **AutoAugment** applies the policies learned on ImageNet, CIFAR-10 and SVHN. Use "
        "it to reproduce work that used them, or on data like the set a policy was learned "
        "on (`svhn`, heavy on inversions and shears, was learned on photographs of house "
        "numbers).",
        "- **AugMix** keeps images close to the original (chains of mild ops, mixed) and is "
        "meant for robustness to corruptions and for calibration (the paper evaluates on "
        "CIFAR-10-C and ImageNet-C); its paper trains with a Jensen-Shannon consistency "
        "loss across views, [below](#the-jensen-shannon-consistency-loss).",
        "",
        "## RandAugment",
        "",
        "Each image draws `num_ops` ops uniformly with replacement from `ops` (default the "
        f"paper's {len(randaugment.DEFAULT_OPS)}), each at `magnitude` (plus optional "
        "per-image noise, `magnitude_stddev`) with a random sign for signed ops, and "
        "applies each with probability `rate`. Its ranges, the `default` table, are "
        "torchvision's with translations of 0.45 of the side, chosen so that magnitude 0 "
        "is the identity for every op; [Ops](ops.md) shows every op at magnitudes 0 to 1. "
        '`ranges=` selects another table, e.g. `ranges="timm"` for timm\'s.',
        "",
        *_picture("images/policies/rand.png", "rand_augment(num_ops=2, magnitude=0.9)"),
        "## TrivialAugment",
        "",
        'The "wide" variant, as torchvision\'s `TrivialAugmentWide`: each image draws one '
        f"op from {op_list(policies.TRIVIAL_AUGMENT_OPS)} and one magnitude bin of "
        "`num_magnitude_bins` (default 31; bin k is magnitude k / 30), uniformly, with a "
        "random sign for signed ops. The wide ranges are much stronger than RandAugment's "
        "(rotations up to 135 degrees):",
        "",
        *policy_ranges(policies.TRIVIAL_AUGMENT_OPS, "trivial_wide"),
        "",
        *_picture("images/policies/trivial.png", "trivial_augment()"),
        "```python",
        "import tensorflow as tf",
        "from randaugment import TrivialAugment, trivial_augment",
        "",
        "images = tf.zeros([8, 64, 64, 3], tf.uint8)",
        "out = trivial_augment(images, seed=[1, 2])",
        "layer = TrivialAugment(seed=0)  # the same, as a Keras layer",
        "assert layer(images).shape == out.shape",
        "```",
        "",
        "## AutoAugment",
        "",
        "Each image draws one of the policy's 25 sub-policies, uniformly; each of the "
        "sub-policy's two ops applies with its own probability, at its own magnitude bin "
        "of 10 (bin k is magnitude k / 9), with a random sign for signed ops. The policies "
        "are the paper's, as torchvision writes them (`randaugment.AUTO_AUGMENT_POLICIES`); "
        "`policy=` also takes your own list of sub-policies. The ranges are the "
        "`torchvision` table:",
        "",
        *policy_ranges(auto_ops, "torchvision"),
        "",
        *_picture("images/policies/auto-imagenet.png", "auto_augment(policy='imagenet')"),
        *_picture("images/policies/auto-cifar10.png", "auto_augment(policy='cifar10')"),
        *_picture("images/policies/auto-svhn.png", "auto_augment(policy='svhn')"),
        "```python",
        "import tensorflow as tf",
        "from randaugment import AutoAugment, auto_augment",
        "",
        "images = tf.zeros([8, 32, 32, 3], tf.uint8)",
        'out = auto_augment(images, policy="cifar10", seed=[1, 2])',
        'mine = [[("rotate", 0.5, 3), ("equalize", 0.8, None)],',
        '        [("solarize", 0.3, 6), ("shear_x", 0.7, 9)]]',
        "layer = AutoAugment(policy=mine, seed=0)  # your own sub-policies",
        "assert layer(images).shape == out.shape",
        "```",
        "",
    ]
    for name in randaugment.AUTO_AUGMENT_POLICIES:
        lines += [f"### The `{name}` policy", "", *subpolicy_table(name), ""]
    lines += [
        "A magnitude bin of `-` marks an op without a parameter.",
        "",
        "## AugMix",
        "",
        "Each image gets `width` chains (default 3) of `depth` ops (default -1: a depth "
        "drawn from 1 to 3 per chain), each op drawn uniformly at a magnitude bin drawn "
        "from the first `severity` of 10 (default 3). The chains are mixed with weights "
        "from a Dirichlet(`alpha`, ..., `alpha`), and the mix with the original image with "
        "a weight from a Beta(`alpha`, `alpha`) (default `alpha=1`). The labels of the "
        "picture below show these weights, the original's first. The ops are "
        f"{op_list(policies.AUGMIX_OPS)}: the paper leaves out "
        f"{op_list(o for o in policies.AUGMIX_ALL_OPS if o not in policies.AUGMIX_OPS)}, "
        "which overlap the corruptions of CIFAR-10-C and ImageNet-C on which AugMix is "
        "evaluated; `all_ops=True` puts them back (torchvision's default). The ranges "
        "are the `augmix` table:",
        "",
        *policy_ranges(policies.AUGMIX_ALL_OPS, "augmix"),
        "",
        *_picture("images/policies/augmix.png", "aug_mix(severity=3, width=3, depth=-1)"),
        "### The Jensen-Shannon consistency loss",
        "",
        "The paper trains on three views of every image, the clean image and two AugMix "
        "draws, with the cross-entropy of the clean view plus lambda = 12 times the "
        "Jensen-Shannon divergence of the model's three class distributions:",
        "",
        "    loss = CE(p_clean, y) + 12 * JS(p_clean, p_aug1, p_aug2)",
        "    JS(p_1, ..., p_k) = (1/k) * sum_i KL(p_i || M),   M = (1/k) * sum_i p_i",
        "",
        "`randaugment.losses.jensen_shannon_consistency(*views)` computes JS per example "
        "(from logits by default, or probabilities with `from_logits=False`); it is 0 when "
        "the views agree and at most log(k). It uses `keras.ops` only, so it runs under "
        "every Keras backend:",
        "",
        "```python",
        *JS_EXAMPLE.rstrip("\n").splitlines(),
        "```",
        "",
        "`randaugment.losses.AugMixConsistencyLoss(weight=12.0)` is the whole training "
        "loss as a `keras.losses.Loss`. The three views are made in `tf.data`, each "
        "AugMix view with its own seed, and concatenated along the batch axis (clean "
        "first) so that the model sees them in one forward pass; the loss splits its "
        "`y_pred` in three. The labels may be the clean batch's or, as here, repeated for "
        "every view (Keras then sees equal batch sizes); the loss uses the clean ones. "
        "A complete run, a tiny model for a few steps:",
        "",
        "```python",
        *RECIPE.rstrip("\n").splitlines(),
        "```",
        "",
        "The forward pass costs three times a plain batch, as in the paper. The batch "
        "size may be unknown when the graph is traced (a last partial batch, "
        "`drop_remainder=False`); the loss compares only the sizes it knows. Since "
        "`model.evaluate` would apply this loss to a single view, measure a model trained "
        "this way with `predict` (or recompile it with the plain cross-entropy before "
        "`evaluate`). The CIFAR example's `augmix_jsd` arm trains this way and compares it "
        "with AugMix as augmentation only "
        "([`examples/README.md`](../examples/README.md)). Without the "
        "consistency loss, AugMix is an augmentation like the others: map `aug_mix` (or "
        "the `AugMix` layer) over the batches and train with plain cross-entropy.",
        "",
        "## The range tables",
        "",
        "`randaugment.RANGES` maps a table's name to the ops whose ranges differ from the "
        "`default` table (in bold below); every policy above uses one table, and "
        "`rand_augment(ranges=...)` (or `RandAugment(ranges=...)`) takes any of them. "
        "Each cell gives the op's parameter at magnitude 0 and at magnitude 1 "
        "(`+-`: with a random sign; `x W`, `x H`, `x min(H, W)`: a fraction of the image "
        "side). What the tables are for:",
        "",
        *[f"- `{t}`: {TABLE_USE[t]}." for t in TABLES],
        "",
        *ranges_table(),
        "",
        "timm's tables (`timm`, `timm_increasing`) come from its RandAugment level "
        "mapping: in the historical `timm` table posterize and solarize get *weaker* as "
        "the magnitude grows and the enhance factors go from 0.1 to 1.9 without a sign, "
        "as timm does by default.",
        "",
        "## timm config strings",
        "",
        "`randaugment.from_timm(config, **layer_arguments)` builds this library's layer "
        "from a timm augmentation string, key by key:",
        "",
        "| key | in timm | here |",
        "|---|---|---|",
        "| `rand` | RandAugment, timm's op set | `RandAugment` with timm's 15 ops (no "
        "identity; `invert` and `solarize_add` included) and bilinear interpolation "
        "(timm picks bilinear or bicubic at random) |",
        "| `m` | magnitude level out of 10 (default 10) | `magnitude = m / 10`; above 10 refused |",
        "| `n` | ops per image (default 2) | `num_ops` |",
        "| `p` | probability of applying each op (default 0.5) | `rate` |",
        "| `mstd` | standard deviation of the level noise | `magnitude_stddev = mstd / 10`; "
        "above 100 (timm's uniform sampling) refused |",
        "| `mmax` | upper clip of the noisy level (default 10) | only 10: magnitudes are "
        "clipped to [0, 1] |",
        "| `inc` | 0: timm's historical ranges; 1: ranges that increase with m | "
        '`ranges="timm"` / `ranges="timm_increasing"` |',
        "| `t...` | weighted op sets | refused |",
        "| `augmix` | AugMix, with the enhance ops | `AugMix(all_ops=True)` |",
        "| `m` (augmix) | severity: levels drawn in [0, m] of 10 with timm's ranges | "
        "`severity`: one of the first m of 10 bins, torchvision's AugMix ranges |",
        "| `w` | chains (default 3) | `width` |",
        "| `d` | depth (default -1: 1 to 3) | `depth` |",
        "| `a` | Dirichlet / Beta alpha (default 1) | `alpha` |",
        "| `b` | blended mixing | refused |",
        "| `mstd` (augmix) | magnitude noise | refused |",
        "| `trivialaugment` | | `TrivialAugment` |",
        "| `original`, `v0`, ... | timm's AutoAugment policies | refused: use "
        '`AutoAugment(policy="imagenet")` |',
        "",
        "What `from_timm` builds (read from the layers it returns):",
        "",
        *timm_examples(),
        "",
        "What it refuses, with the message it raises (a key that cannot be honoured "
        "exactly is never dropped silently):",
        "",
        *timm_refusals(),
        "",
        "```python",
        "from randaugment import from_timm",
        "",
        'layer = from_timm("rand-m9-mstd0.5-inc1", seed=0)  # layer arguments override',
        "print(layer.num_ops, layer.magnitude, layer.rate, layer.ranges)  # 2 0.9 0.5 timm_increasing",
        "```",
        "",
    ]
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only check docs/policies.md")
    parser.add_argument("--no-images", action="store_true", help="write only docs/policies.md")
    a = parser.parse_args(argv)
    text = render_page()
    if a.check:
        if PAGE.read_text(encoding="utf-8") != text:
            print("docs/policies.md is out of date: run python docs/gen_policies_page.py",
                  file=sys.stderr)  # fmt: skip
            return 1
        return 0
    PAGE.write_text(text, encoding="utf-8")
    print(f"wrote {PAGE}")
    if not a.no_images:
        for path in write_pictures():
            print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
