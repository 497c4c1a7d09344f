"""TrivialAugment, AugMix and AutoAugment: other plan samplers on the same op table and
engine as `rand_augment`.

A policy differs from RandAugment only in how it draws (op, sign, magnitude, apply)
per image and slot; the engine (`randaugment._apply`) runs the plan, so every policy is
per image, seeded, bit-identical in eager mode, `tf.function`, `tf.data` and
`jit_compile=True`, and GPU-ready. The ranges are other tables over the same op
records (`randaugment.RANGES`), with the numbers of torchvision's implementations.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import tensorflow as tf

from randaugment import _arguments as args
from randaugment._apply import apply_plan
from randaugment._images import augment
from randaugment._plan import (
    WEIGHT_BITS,
    draw_mix_plan,
    draw_subpolicy_plan,
    draw_trivial_plan,
)
from randaugment._ranges import specs_for
from randaugment._targets import augment_inputs, check_box_format, check_mask_fill_value
from randaugment.functional import _images_of, check_fixed_point_size, resolve_method

# -- the op lists and policies, as data ------------------------------------------------

#: TrivialAugmentWide's ops (torchvision 0.29 `TrivialAugmentWide._AUGMENTATION_SPACE`,
#: which has Identity and no Invert).
TRIVIAL_AUGMENT_OPS: tuple[str, ...] = (
    "identity",
    "shear_x",
    "shear_y",
    "translate_x",
    "translate_y",
    "rotate",
    "brightness",
    "color",
    "contrast",
    "sharpness",
    "posterize",
    "solarize",
    "auto_contrast",
    "equalize",
)

#: AugMix's ops (Hendrycks et al. 2020, and torchvision's `_PARTIAL_AUGMENTATION_SPACE`):
#: the paper leaves out the ops that overlap the corruptions of its benchmark
#: (brightness, color, contrast, sharpness); `all_ops=True` puts them back.
AUGMIX_OPS: tuple[str, ...] = (
    "auto_contrast",
    "equalize",
    "posterize",
    "rotate",
    "solarize",
    "shear_x",
    "shear_y",
    "translate_x",
    "translate_y",
)
AUGMIX_ALL_OPS: tuple[str, ...] = AUGMIX_OPS + ("brightness", "color", "contrast", "sharpness")

#: AutoAugment's learned policies (Cubuk et al. 2019), as torchvision 0.29 writes them
#: (`AutoAugment._get_policies`): 25 sub-policies of two `(op, probability, magnitude
#: bin out of 10)` each; None for ops without a magnitude. Op names in this library's
#: spelling.
AUTO_AUGMENT_POLICIES: dict[str, tuple[tuple[tuple[str, float, int | None], ...], ...]] = {
    "imagenet": (
        (("posterize", 0.4, 8), ("rotate", 0.6, 9)),
        (("solarize", 0.6, 5), ("auto_contrast", 0.6, None)),
        (("equalize", 0.8, None), ("equalize", 0.6, None)),
        (("posterize", 0.6, 7), ("posterize", 0.6, 6)),
        (("equalize", 0.4, None), ("solarize", 0.2, 4)),
        (("equalize", 0.4, None), ("rotate", 0.8, 8)),
        (("solarize", 0.6, 3), ("equalize", 0.6, None)),
        (("posterize", 0.8, 5), ("equalize", 1.0, None)),
        (("rotate", 0.2, 3), ("solarize", 0.6, 8)),
        (("equalize", 0.6, None), ("posterize", 0.4, 6)),
        (("rotate", 0.8, 8), ("color", 0.4, 0)),
        (("rotate", 0.4, 9), ("equalize", 0.6, None)),
        (("equalize", 0.0, None), ("equalize", 0.8, None)),
        (("invert", 0.6, None), ("equalize", 1.0, None)),
        (("color", 0.6, 4), ("contrast", 1.0, 8)),
        (("rotate", 0.8, 8), ("color", 1.0, 2)),
        (("color", 0.8, 8), ("solarize", 0.8, 7)),
        (("sharpness", 0.4, 7), ("invert", 0.6, None)),
        (("shear_x", 0.6, 5), ("equalize", 1.0, None)),
        (("color", 0.4, 0), ("equalize", 0.6, None)),
        (("equalize", 0.4, None), ("solarize", 0.2, 4)),
        (("solarize", 0.6, 5), ("auto_contrast", 0.6, None)),
        (("invert", 0.6, None), ("equalize", 1.0, None)),
        (("color", 0.6, 4), ("contrast", 1.0, 8)),
        (("equalize", 0.8, None), ("equalize", 0.6, None)),
    ),
    "cifar10": (
        (("invert", 0.1, None), ("contrast", 0.2, 6)),
        (("rotate", 0.7, 2), ("translate_x", 0.3, 9)),
        (("sharpness", 0.8, 1), ("sharpness", 0.9, 3)),
        (("shear_y", 0.5, 8), ("translate_y", 0.7, 9)),
        (("auto_contrast", 0.5, None), ("equalize", 0.9, None)),
        (("shear_y", 0.2, 7), ("posterize", 0.3, 7)),
        (("color", 0.4, 3), ("brightness", 0.6, 7)),
        (("sharpness", 0.3, 9), ("brightness", 0.7, 9)),
        (("equalize", 0.6, None), ("equalize", 0.5, None)),
        (("contrast", 0.6, 7), ("sharpness", 0.6, 5)),
        (("color", 0.7, 7), ("translate_x", 0.5, 8)),
        (("equalize", 0.3, None), ("auto_contrast", 0.4, None)),
        (("translate_y", 0.4, 3), ("sharpness", 0.2, 6)),
        (("brightness", 0.9, 6), ("color", 0.2, 8)),
        (("solarize", 0.5, 2), ("invert", 0.0, None)),
        (("equalize", 0.2, None), ("auto_contrast", 0.6, None)),
        (("equalize", 0.2, None), ("equalize", 0.6, None)),
        (("color", 0.9, 9), ("equalize", 0.6, None)),
        (("auto_contrast", 0.8, None), ("solarize", 0.2, 8)),
        (("brightness", 0.1, 3), ("color", 0.7, 0)),
        (("solarize", 0.4, 5), ("auto_contrast", 0.9, None)),
        (("translate_y", 0.9, 9), ("translate_y", 0.7, 9)),
        (("auto_contrast", 0.9, None), ("solarize", 0.8, 3)),
        (("equalize", 0.8, None), ("invert", 0.1, None)),
        (("translate_y", 0.7, 9), ("auto_contrast", 0.9, None)),
    ),
    "svhn": (
        (("shear_x", 0.9, 4), ("invert", 0.2, None)),
        (("shear_y", 0.9, 8), ("invert", 0.7, None)),
        (("equalize", 0.6, None), ("solarize", 0.6, 6)),
        (("invert", 0.9, None), ("equalize", 0.6, None)),
        (("equalize", 0.6, None), ("rotate", 0.9, 3)),
        (("shear_x", 0.9, 4), ("auto_contrast", 0.8, None)),
        (("shear_y", 0.9, 8), ("invert", 0.4, None)),
        (("shear_y", 0.9, 5), ("solarize", 0.2, 6)),
        (("invert", 0.9, None), ("auto_contrast", 0.8, None)),
        (("equalize", 0.6, None), ("rotate", 0.9, 3)),
        (("shear_x", 0.9, 4), ("solarize", 0.3, 3)),
        (("shear_y", 0.8, 8), ("invert", 0.7, None)),
        (("equalize", 0.9, None), ("translate_y", 0.6, 6)),
        (("invert", 0.9, None), ("equalize", 0.6, None)),
        (("contrast", 0.3, 3), ("rotate", 0.8, 4)),
        (("invert", 0.8, None), ("translate_y", 0.0, 2)),
        (("shear_y", 0.7, 6), ("solarize", 0.4, 8)),
        (("invert", 0.6, None), ("rotate", 0.8, 4)),
        (("shear_y", 0.3, 7), ("translate_x", 0.9, 3)),
        (("shear_x", 0.1, 6), ("invert", 0.6, None)),
        (("solarize", 0.7, 2), ("translate_y", 0.6, 7)),
        (("shear_y", 0.8, 4), ("invert", 0.8, None)),
        (("shear_x", 0.7, 9), ("translate_y", 0.8, 3)),
        (("shear_y", 0.8, 5), ("auto_contrast", 0.7, None)),
        (("shear_x", 0.7, 2), ("invert", 0.1, None)),
    ),
}
AUTO_AUGMENT_BINS = 10  # torchvision's magnitude bins for AutoAugment (bin k: k / 9)
AUGMIX_BINS = 10  # torchvision AugMix's `_PARAMETER_MAX` bins (bin k: k / 9)


# -- shared -----------------------------------------------------------------------------


def _common(images, value_range, fill_value, interpolation, method, check_numerics):
    value_range = args.check_value_range(value_range)
    fill_value = args.check_fill_value(fill_value)
    args.check_interpolation(interpolation)
    args.check_method(method)
    args.check_bool("check_numerics", check_numerics)
    if not isinstance(images, (tf.RaggedTensor, Mapping)):
        images = tf.convert_to_tensor(images)
    return images, value_range, fill_value


def _check_int(name: str, value, low: int, high: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"`{name}` must be an integer. Received: {name}={value!r}")
    if value < low or (high is not None and value > high):
        bound = f"in [{low}, {high}]" if high is not None else f">= {low}"
        raise ValueError(f"`{name}` must be {bound}. Received: {name}={value!r}")
    return value


def _run(
    images,
    specs,
    value_range,
    fill_value,
    interpolation,
    method,
    check_numerics,
    draw,
    bounding_box_format=None,
    mask_fill_value=0,
):
    """Draws with `draw(batch_size)` and runs the plan on the engine; images alone or
    Keras's dict with boxes and masks."""
    check_fixed_point_size(specs, _images_of(images), interpolation)
    method = resolve_method(method)
    box_format = check_box_format(bounding_box_format)
    mask_fill_value = check_mask_fill_value(mask_fill_value)

    def apply(levels, plan, targets=None):
        return apply_plan(levels, plan, specs, fill_value, interpolation, method, targets)

    return augment_inputs(
        images, value_range, draw, apply, check_numerics, box_format, mask_fill_value
    )


# -- TrivialAugment ------------------------------------------------------------------


def check_trivial_arguments(num_magnitude_bins, ops) -> tuple[int, tuple[str, ...]]:
    """`trivial_augment`'s own arguments, checked (shared with the layer)."""
    bins = _check_int("num_magnitude_bins", num_magnitude_bins, 2, 100)
    return bins, args.check_ops(ops, TRIVIAL_AUGMENT_OPS)


@tf.autograph.experimental.do_not_convert
def trivial_augment(
    images,
    *,
    num_magnitude_bins: int = 31,
    ops: Sequence[str] | None = None,
    value_range: tuple[float, float] = (0, 255),
    fill_value: float = 128.0,
    interpolation: str = "nearest",
    seed=None,
    method: str = "auto",
    check_numerics: bool = False,
    bounding_box_format: str | None = None,
    mask_fill_value: float = 0,
):
    """TrivialAugment (Mueller and Hutter, 2021), the "wide" variant, per image.

    Each image draws one op uniformly from `ops` and one magnitude uniformly from
    `num_magnitude_bins` bins (bin k is magnitude k / (bins - 1)), with a random sign
    for signed ops. The ranges are torchvision's `TrivialAugmentWide` (rotate up to
    135 degrees, shear 0.99, translate 32 pixels, enhance factors 1 +- 0.99, posterize
    down to 2 bits, solarize from 255): the "trivial_wide" table of
    `randaugment.RANGES` (`docs/policies.md`).

    Args:
        images: as `rand_augment`: `[B, H, W, C]`, `[H, W, C]` or ragged; any integer
            or float dtype; C = 1 or 3.
        num_magnitude_bins: bins of the magnitude (torchvision's default 31).
        ops: the ops to draw from; default `TRIVIAL_AUGMENT_OPS` (torchvision's 14,
            identity included).
        value_range, fill_value, interpolation, seed, method, check_numerics,
            bounding_box_format, mask_fill_value: as `rand_augment` (boxes and masks
            in Keras's dict format follow the geometric ops).

    Returns:
        The augmented images, same shape and dtype as `images`.

    Example:
        >>> import tensorflow as tf
        >>> from randaugment import trivial_augment
        >>> images = tf.zeros([4, 32, 32, 3], tf.uint8)
        >>> trivial_augment(images, seed=0).shape
        TensorShape([4, 32, 32, 3])
    """
    images, value_range, fill_value = _common(
        images, value_range, fill_value, interpolation, method, check_numerics
    )
    bins, ops = check_trivial_arguments(num_magnitude_bins, ops)
    specs = specs_for(ops, "trivial_wide")
    seed = args.as_seed(seed)

    def draw(batch_size):
        return draw_trivial_plan(seed, batch_size, len(specs), bins)

    return _run(
        images,
        specs,
        value_range,
        fill_value,
        interpolation,
        method,
        check_numerics,
        draw,
        bounding_box_format,
        mask_fill_value,
    )


# -- AutoAugment ---------------------------------------------------------------------


def _policy_tables(policy):
    """The ops (names), and `[S, 2]` op indices, probabilities and bins of a policy."""
    if isinstance(policy, str):
        if policy not in AUTO_AUGMENT_POLICIES:
            raise ValueError(
                f"`policy` must be one of {sorted(AUTO_AUGMENT_POLICIES)} or a list of "
                f"sub-policies. Received: policy={policy!r}"
            )
        policy = AUTO_AUGMENT_POLICIES[policy]
    try:
        subpolicies = [tuple((str(o), float(p), b) for o, p, b in sub) for sub in policy]
    except (TypeError, ValueError):
        raise ValueError(
            "`policy` must be a name or a list of sub-policies, each a list of "
            f"(op, probability, magnitude bin or None). Received: policy={policy!r}"
        ) from None
    lengths = {len(sub) for sub in subpolicies}
    if not subpolicies or len(lengths) != 1 or 0 in lengths:
        raise ValueError(
            "`policy` needs at least one sub-policy, all with the same number of ops. "
            f"Received: policy={policy!r}"
        )
    names = tuple(dict.fromkeys(o for sub in subpolicies for o, _, _ in sub))
    args.check_ops(names, (), name="policy")
    for sub in subpolicies:
        for o, p, b in sub:
            if not 0.0 <= p <= 1.0 or (
                b is not None and (isinstance(b, bool) or not 0 <= int(b) < AUTO_AUGMENT_BINS)
            ):
                raise ValueError(
                    f"Each step of `policy` needs a probability in [0, 1] and a magnitude bin "
                    f"in [0, {AUTO_AUGMENT_BINS - 1}] or None. Received: {(o, p, b)!r}"
                )
    ops = [[names.index(o) for o, _, _ in sub] for sub in subpolicies]
    probabilities = [[p for _, p, _ in sub] for sub in subpolicies]
    bins = [[0 if b is None else int(b) for _, _, b in sub] for sub in subpolicies]
    return names, ops, probabilities, bins


@tf.autograph.experimental.do_not_convert
def auto_augment(
    images,
    *,
    policy="imagenet",
    value_range: tuple[float, float] = (0, 255),
    fill_value: float = 128.0,
    interpolation: str = "nearest",
    seed=None,
    method: str = "auto",
    check_numerics: bool = False,
    bounding_box_format: str | None = None,
    mask_fill_value: float = 0,
):
    """AutoAugment (Cubuk et al., 2019) with a learned policy, per image.

    Each image draws one sub-policy uniformly; each of the sub-policy's two ops applies
    with its own probability at its own magnitude (bin k of 10 is magnitude k / 9), with
    a random sign for signed ops. The ranges are torchvision's (the "torchvision"
    table of `randaugment.RANGES`).

    Args:
        images: as `rand_augment`.
        policy: "imagenet", "cifar10" or "svhn" (the papers' policies, as torchvision
            writes them: `AUTO_AUGMENT_POLICIES`), or your own list of sub-policies,
            each a list of `(op, probability, magnitude bin in 0..9 or None)`.
        value_range, fill_value, interpolation, seed, method, check_numerics,
            bounding_box_format, mask_fill_value: as `rand_augment` (boxes and masks
            in Keras's dict format follow the geometric ops).

    Returns:
        The augmented images, same shape and dtype as `images`.

    Example:
        >>> import tensorflow as tf
        >>> from randaugment import auto_augment
        >>> images = tf.zeros([4, 32, 32, 3], tf.uint8)
        >>> auto_augment(images, policy="cifar10", seed=0).shape
        TensorShape([4, 32, 32, 3])
    """
    images, value_range, fill_value = _common(
        images, value_range, fill_value, interpolation, method, check_numerics
    )
    names, ops, probabilities, bins = _policy_tables(policy)
    specs = specs_for(names, "torchvision")
    seed = args.as_seed(seed)

    def draw(batch_size):
        plan, _ = draw_subpolicy_plan(
            seed,
            batch_size,
            tf.constant(ops, tf.int32),
            tf.constant(probabilities, tf.float32),
            tf.constant(bins, tf.int32),
            AUTO_AUGMENT_BINS,
        )
        return plan

    return _run(
        images,
        specs,
        value_range,
        fill_value,
        interpolation,
        method,
        check_numerics,
        draw,
        bounding_box_format,
        mask_fill_value,
    )


# -- AugMix ----------------------------------------------------------------------------


def check_aug_mix_arguments(severity, width, depth, alpha, all_ops):
    """`aug_mix`'s own arguments, checked (shared with the layer)."""
    severity = _check_int("severity", severity, 1, AUGMIX_BINS)
    width = _check_int("width", width, 1, 16)
    if isinstance(depth, bool) or not isinstance(depth, int) or depth == 0 or depth < -1:
        raise ValueError(
            "`depth` must be a positive number of ops, or -1 for a depth drawn from 1 to 3. "
            f"Received: depth={depth!r}"
        )
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not alpha > 0.0:
        raise ValueError(f"`alpha` must be a number > 0. Received: alpha={alpha!r}")
    return severity, width, depth, float(alpha), args.check_bool("all_ops", all_ops)


def mix_levels(levels: tf.Tensor, augmented: tf.Tensor, weights: tf.Tensor) -> tf.Tensor:
    """The AugMix mix of levels, exact in every mode.

    Args:
        levels: the original images' levels `[B, H, W, C]`.
        augmented: the chains' levels `[B * width, H, W, C]`, chain w of image b at
            row `b * width + w`.
        weights: int32 `[B, width + 1]` in units of 2**-14, the original's first.

    Returns:
        `round(sum_k weight_k * image_k)` clipped to [0, 255], in the dtype of
        `levels`. Every product is an integer below 2**22 and every partial sum a
        multiple of 2**-14 below 256 * (1 + 2**-13), so float32 holds each exactly,
        in any order of summation: the same result in graph mode, under XLA and on
        any device.
    """
    width = weights.shape[1] - 1
    x = tf.cast(levels, tf.float32)
    shape = tf.shape(x)
    chains = tf.reshape(tf.cast(augmented, tf.float32), tf.concat([[-1, width], shape[1:]], 0))
    w = tf.cast(weights, tf.float32)[:, :, tf.newaxis, tf.newaxis, tf.newaxis]
    total = w[:, 0] * x + tf.reduce_sum(w[:, 1:] * chains, axis=1)
    unit = float(2**WEIGHT_BITS)
    mixed = tf.floor((total + unit / 2.0) / unit)  # round half up, exact
    return tf.cast(tf.clip_by_value(mixed, 0.0, 255.0), levels.dtype)


@tf.autograph.experimental.do_not_convert
def aug_mix(
    images,
    *,
    severity: int = 3,
    width: int = 3,
    depth: int = -1,
    alpha: float = 1.0,
    all_ops: bool = False,
    value_range: tuple[float, float] = (0, 255),
    fill_value: float = 128.0,
    interpolation: str = "nearest",
    seed=None,
    method: str = "auto",
    check_numerics: bool = False,
) -> tf.Tensor:
    """AugMix (Hendrycks et al., 2020), per image.

    Each image gets `width` chains of `depth` ops (or of a depth drawn uniformly from 1
    to 3 per chain, when `depth` is -1), each op drawn uniformly from the AugMix list
    at a magnitude bin drawn uniformly from the first `severity` of 10 (bin k is
    magnitude k / 9, as torchvision draws it). The chains are mixed with weights from
    a Dirichlet(alpha, ..., alpha), and the mix with the original with a weight from a
    Beta(alpha, alpha). Every image has its own draws. The weights are multiples of
    2**-14 and the mix is rounded to the nearest level (torchvision truncates), so
    the result is exact and the same in every mode.

    The ranges are torchvision's AugMix ("augmix" in `randaugment.RANGES`): rotate
    30 degrees, shear 0.3, translate a third of the side, posterize 4 down to 0 bits,
    solarize from 255, enhance factors 1 +- 0.9.

    Args:
        images: as `rand_augment`.
        severity: 1 to 10, how many of the 10 magnitude bins the ops draw from
            (default 3, the paper's and torchvision's).
        width: the number of chains (default 3).
        depth: ops per chain, or -1 (default) for a depth drawn from 1 to 3.
        alpha: the Dirichlet and Beta parameter, > 0 (default 1).
        all_ops: False (default, the paper's choice) leaves out brightness, color,
            contrast and sharpness, which overlap the corruptions of CIFAR-10-C and
            ImageNet-C on which AugMix is evaluated; True puts them back
            (torchvision's default).
        value_range, fill_value, interpolation, seed, method, check_numerics: as
            `rand_augment`.

    Returns:
        The augmented images, same shape and dtype as `images`.

    Example:
        >>> import tensorflow as tf
        >>> from randaugment import aug_mix
        >>> images = tf.zeros([4, 32, 32, 3], tf.uint8)
        >>> aug_mix(images, severity=3, width=3, seed=0).shape
        TensorShape([4, 32, 32, 3])
    """
    if isinstance(images, Mapping):
        raise TypeError(
            "aug_mix takes images only: it blends several augmented copies of each image, "
            "which boxes and masks cannot follow. Received: a dict with keys "
            f"{sorted(images)}"
        )
    images, value_range, fill_value = _common(
        images, value_range, fill_value, interpolation, method, check_numerics
    )
    severity, width, depth, alpha, all_ops = check_aug_mix_arguments(
        severity, width, depth, alpha, all_ops
    )
    specs = specs_for(AUGMIX_ALL_OPS if all_ops else AUGMIX_OPS, "augmix")
    check_fixed_point_size(specs, images, interpolation)
    method = resolve_method(method)
    seed = args.as_seed(seed)

    def draw(batch_size):
        return draw_mix_plan(
            seed, batch_size, len(specs), width, depth, severity, AUGMIX_BINS, alpha
        )

    def apply(levels, plan):
        chains = tf.nest.map_structure(
            lambda t: tf.reshape(t, tf.concat([[-1], tf.shape(t)[2:]], 0)), plan.chains
        )
        chains = tf.nest.map_structure(
            lambda t, like: _with_static_tail(t, like), chains, plan.chains
        )
        copies = tf.repeat(levels, width, axis=0)
        augmented = apply_plan(copies, chains, specs, fill_value, interpolation, method)
        return mix_levels(levels, augmented, plan.weights)

    return augment(images, value_range, draw, apply, check_numerics)


def _with_static_tail(t: tf.Tensor, like: tf.Tensor) -> tf.Tensor:
    """Restores the static shape after the first two axes of `like` are merged."""
    t.set_shape([None, *like.shape[2:]])
    return t
