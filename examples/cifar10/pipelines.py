"""The ``tf.data`` pipelines: the training arms and the evaluation pipeline.

Every arm reads the same shuffled order (one stateless permutation per epoch, drawn
from the seed), resizes to the model's input size when it is not 32 (bilinear, as the
keras.io example), and yields float32 batches in [0, 255]. The arms:

- ``base``: the CIFAR base augmentation of the RandAugment and AugMix papers: zero
  padding of 4 pixels, a random 32x32 crop and a random horizontal flip
  (:func:`base_augment`).
- ``randaugment``: this library's ``rand_augment``, N ops at magnitude M. With the
  base augmentation on, RandAugment runs first and the crop and flip after it, as in
  the CIFAR code of AutoAugment and RandAugment (policy, then ``zero_pad_and_crop``
  and ``random_flip``).
- ``simple``: the keras.io baseline, Keras layers ``RandomFlip("horizontal")``,
  ``RandomRotation(0.02)`` and ``RandomZoom(0.2, 0.2)``, seeded from the seed; with
  the base augmentation on, they run after the crop and flip. The map runs
  sequentially because the layers draw from a stateful seed generator: that keeps
  the draws in batch order and the run repeatable.
- ``augmix``: the library's ``aug_mix`` (severity 3, width 3, random depth, alpha 1,
  the AugMix paper's CIFAR setting) after the crop and flip, as in the AugMix code;
  as augmentation only (the arm trains with the plain cross-entropy, not the paper's
  Jensen-Shannon consistency loss).
- ``augmix_jsd``: AugMix as its paper trains it: every batch carries three views of
  each image, concatenated along the batch axis (the crop and flip alone, then two
  ``aug_mix`` draws of it; the first draw is the ``augmix`` arm's, from the same seed),
  with the labels repeated for each view; the model sees the 3B images in one forward
  pass (batch normalization over all of them, as in the AugMix code) and trains with
  ``randaugment.losses.AugMixConsistencyLoss``: the cross-entropy of the clean view
  plus 12 times the Jensen-Shannon divergence of the three (:data:`CONSISTENCY_WEIGHT`).
  A step costs about three plain ones.

Seeds are stateless: batch ``i`` of a run with seed ``s`` derives its crop and flip
draws and its RandAugment or AugMix draws from ``[s, i]``, so every iterator gives the
same stream, the map runs in parallel, and within a seed every arm sees the same crops
and flips of the same images in the same order (common random numbers): the arms
differ only by their augmentation.
"""

from __future__ import annotations

from collections.abc import Callable

import keras
import numpy as np
import tensorflow as tf

ARMS = ("base", "randaugment", "simple", "augmix", "augmix_jsd")
# The arms that call the library's aug_mix.
AUGMIX_ARMS = ("augmix", "augmix_jsd")
# The arms of the presets without base augmentation (keras-io, cpu).
PIPELINES = ("simple", "randaugment")
PAD = 4
AUTOTUNE = tf.data.AUTOTUNE
# AugMix's CIFAR setting (Hendrycks et al., 2020; google-research/augmix cifar.py).
AUGMIX_OPTIONS = {"severity": 3, "width": 3, "depth": -1, "alpha": 1.0}
# The consistency loss's lambda and views of the augmix_jsd arm (the AugMix paper's).
CONSISTENCY_WEIGHT = 12.0
JSD_VIEWS = 3


def views(arm: str) -> int:
    """Images per training example in ``arm``'s batches (3 for ``augmix_jsd``)."""
    return JSD_VIEWS if arm == "augmix_jsd" else 1


def training_loss(arm: str):
    """The loss ``arm`` trains with: the consistency loss for ``augmix_jsd`` (the
    networks end in a softmax, so it takes probabilities), else the cross-entropy."""
    if arm == "augmix_jsd":
        from randaugment.losses import AugMixConsistencyLoss

        return AugMixConsistencyLoss(
            weight=CONSISTENCY_WEIGHT, num_views=JSD_VIEWS, from_logits=False
        )
    return "sparse_categorical_crossentropy"


def _no_autograph(fn):
    """The map functions branch on Python values only: tracing them without AutoGraph
    is the same graph, and AutoGraph would convert the library's op recursively, which
    took most of a minute per dataset."""
    return tf.autograph.experimental.do_not_convert(fn)


def resize(images: tf.Tensor, image_size: int) -> tf.Tensor:
    """Float32 images of ``image_size`` (bilinear resize only when the size differs)."""
    images = tf.cast(images, tf.float32)
    if images.shape[-3] == image_size and images.shape[-2] == image_size:
        return images
    return tf.image.resize(images, (image_size, image_size))


def draw_crop_flip(seed: tf.Tensor, batch: tf.Tensor | int, pad: int = PAD):
    """The random part of :func:`base_augment`: ``(offsets, flips)``.

    Args:
        seed: int ``[2]`` stateless seed.
        batch: number of images.
        pad: padding on each side.

    Returns:
        ``offsets`` int32 ``[batch, 2]`` (row, column), each uniform in
        ``0 .. 2 * pad``; ``flips`` bool ``[batch]``, each true with probability 1/2.
    """
    crop_seed, flip_seed = tf.unstack(tf.random.experimental.stateless_split(seed, 2))
    offsets = tf.random.stateless_uniform(
        [batch, 2], seed=crop_seed, minval=0, maxval=2 * pad + 1, dtype=tf.int32
    )
    flips = tf.random.stateless_uniform([batch], seed=flip_seed) < 0.5
    return offsets, flips


def pad_crop_flip(
    images: tf.Tensor, offsets: tf.Tensor, flips: tf.Tensor, pad: int = PAD
) -> tf.Tensor:
    """Zero-pad by ``pad``, crop back to the input size at ``offsets``, flip where ``flips``.

    Args:
        images: ``[B, H, W, C]``, any dtype.
        offsets: int ``[B, 2]``: the crop's top-left corner (row, column) in the padded
            image, in ``0 .. 2 * pad``.
        flips: bool ``[B]``: mirror left-right after the crop.

    Returns:
        ``[B, H, W, C]``, the dtype of ``images``: output pixel ``(r, c)`` of image
        ``b`` is padded pixel ``(offsets[b, 0] + r, offsets[b, 1] + c)`` (before the
        flip), zero outside the original image.
    """
    shape = tf.shape(images)
    height, width = shape[1], shape[2]
    padded = tf.pad(images, [[0, 0], [pad, pad], [pad, pad], [0, 0]])
    rows = offsets[:, :1] + tf.range(height)[None, :]
    cols = offsets[:, 1:] + tf.range(width)[None, :]
    out = tf.gather(padded, rows, axis=1, batch_dims=1)
    out = tf.gather(out, cols, axis=2, batch_dims=1)
    return tf.where(flips[:, None, None, None], tf.reverse(out, axis=[2]), out)


def base_augment(images: tf.Tensor, seed: tf.Tensor, pad: int = PAD) -> tf.Tensor:
    """The papers' CIFAR base augmentation: pad 4 with zeros, random crop, random flip."""
    offsets, flips = draw_crop_flip(seed, tf.shape(images)[0], pad)
    return pad_crop_flip(images, offsets, flips, pad)


def simple_augmenter(seed: int) -> keras.Sequential:
    """The keras.io baseline augmentation: flip, rotation 0.02, zoom 0.2."""
    return keras.Sequential(
        [
            keras.layers.RandomFlip("horizontal", seed=seed),
            keras.layers.RandomRotation(0.02, seed=seed + 1),
            keras.layers.RandomZoom(height_factor=0.2, width_factor=0.2, seed=seed + 2),
        ],
        name="simple_augmentation",
    )


def randaugment_fn(num_ops: int, magnitude: float) -> Callable[[tf.Tensor, tf.Tensor], tf.Tensor]:
    """``(images, seed) -> images``: this library's ``rand_augment`` with N and M."""
    from randaugment import rand_augment

    @_no_autograph
    def augment(images: tf.Tensor, seed: tf.Tensor) -> tf.Tensor:
        return rand_augment(
            images, num_ops=num_ops, magnitude=magnitude, value_range=(0, 255), seed=seed
        )

    return augment


def augmix_fn(**options) -> Callable[[tf.Tensor, tf.Tensor], tf.Tensor]:
    """``(images, seed) -> images``: the library's ``aug_mix`` with ``options``.

    Raises:
        ValueError: the installed ``randaugment`` has no ``aug_mix`` (the AugMix arm
            needs it).
    """
    import randaugment

    if not hasattr(randaugment, "aug_mix"):
        raise ValueError(
            "the augmix arm needs randaugment.aug_mix, which the installed randaugment "
            f"({randaugment.__file__}) does not provide. Received: arms including 'augmix'"
        )
    options = {**AUGMIX_OPTIONS, **options}

    @_no_autograph
    def augment(images: tf.Tensor, seed: tf.Tensor) -> tf.Tensor:
        return randaugment.aug_mix(images, value_range=(0, 255), seed=seed, **options)

    return augment


def _shuffled_batches(
    x: np.ndarray, y: np.ndarray, batch_size: int, seed: int, epochs: int
) -> tf.data.Dataset:
    """``epochs`` passes of batches, each pass a fresh permutation drawn from
    ``[seed, pass]`` with stateless ops.

    Stateless, so every iterator of the dataset gives the same stream (``shuffle``
    with ``reshuffle_each_iteration`` would move on to a new order for each new
    iterator), and the indices are shuffled rather than the images: filling a
    50,000-image shuffle buffer took over 30 s on a busy 2-core machine.
    """
    images = tf.constant(x)
    labels = tf.constant(y.astype(np.int64))
    base = tf.constant(seed, tf.int64)

    def one_pass(epoch: tf.Tensor) -> tf.data.Dataset:
        keys = tf.random.stateless_uniform([len(x)], seed=tf.stack([base, epoch]))
        return tf.data.Dataset.from_tensor_slices(tf.argsort(keys)).batch(batch_size)

    # One iterator over all epochs: Keras reads steps_per_epoch batches per epoch, and
    # the batch index keeps counting across epochs.
    ds = tf.data.Dataset.range(epochs).flat_map(one_pass)
    return ds.map(
        lambda index: (tf.gather(images, index), tf.gather(labels, index)),
        num_parallel_calls=AUTOTUNE,
        deterministic=True,
    )


def batch_seeds(seed: int, index: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    """The two stateless seeds of batch ``index``: ``(crop and flip, augmentation)``."""
    pair = tf.random.experimental.stateless_split(
        tf.stack([tf.constant(seed, tf.int64), tf.cast(index, tf.int64)]), 2
    )
    return pair[0], pair[1]


def train_dataset(
    arm: str,
    x: np.ndarray,
    y: np.ndarray,
    *,
    batch_size: int,
    image_size: int,
    seed: int,
    epochs: int = 1,
    num_ops: int = 3,
    magnitude: float = 0.8,
    base_augmentation: bool = False,
    augmix_options: dict | None = None,
) -> tf.data.Dataset:
    """The training dataset of one arm, ``epochs`` passes long.

    Args:
        arm: one of :data:`ARMS`.
        x, y: uint8 NHWC images and integer labels.
        batch_size, image_size: batch size and model input size.
        seed: fixes the order (the same for every arm), the crops and flips (the same
            for every arm) and the arm's own augmentation.
        epochs: passes over the data (one iterator; pass ``steps_per_epoch`` to fit).
        num_ops, magnitude: RandAugment's N and M (``randaugment`` only).
        base_augmentation: pad 4, crop and flip every arm (the ``paper`` preset).
            Without it (``keras-io`` and ``cpu``), ``base`` is the plain data and
            RandAugment gets the batch seed ``[seed, index]`` as before.
        augmix_options: overrides of :data:`AUGMIX_OPTIONS` (the AugMix arms only).

    Returns:
        A dataset of ``(float32 [B, S, S, 3] in [0, 255], int64 [B])``; for
        ``augmix_jsd``, ``[3B, S, S, 3]`` (clean, first draw, second draw) and the
        labels repeated: ``int64 [3B]``.

    Raises:
        ValueError: unknown arm, or an AugMix arm without ``randaugment.aug_mix``.
    """
    if arm not in ARMS:
        raise ValueError(f"unknown arm; choose from {', '.join(ARMS)}. Received: arm={arm!r}")
    ds = _shuffled_batches(x, y, batch_size, seed, epochs).enumerate()
    native = image_size == x.shape[1]

    def base_part(index: tf.Tensor, images: tf.Tensor) -> tf.Tensor:
        if not base_augmentation:
            return images
        return base_augment(images, batch_seeds(seed, index)[0])

    if arm == "simple":
        layer = simple_augmenter(seed)

        @_no_autograph
        def simple(index, batch):
            images, labels = batch
            images = resize(base_part(index, images), image_size)
            return layer(images, training=True), labels

        return ds.map(simple, num_parallel_calls=None).prefetch(AUTOTUNE)

    if arm == "randaugment":
        augment = randaugment_fn(num_ops, magnitude)
    elif arm in AUGMIX_ARMS:
        augment = augmix_fn(**(augmix_options or {}))
    else:
        augment = None

    @_no_autograph
    def apply(index: tf.Tensor, batch: tuple[tf.Tensor, tf.Tensor]):
        images, labels = batch
        if augment is None:
            return resize(base_part(index, images), image_size), labels
        if base_augmentation:
            aug_seed = batch_seeds(seed, index)[1]
        else:
            aug_seed = tf.stack([tf.constant(seed, tf.int64), tf.cast(index, tf.int64)])
        if arm == "randaugment":
            # The policy first, then the crop and flip (the RandAugment CIFAR code).
            images = resize(images, image_size)
            if native:
                images = tf.cast(images, tf.uint8)  # the op's native input, exact
            images = base_part(index, augment(images, aug_seed))
        else:
            # The crop and flip first, then AugMix (the AugMix CIFAR code).
            images = resize(base_part(index, images), image_size)
            if native:
                images = tf.cast(images, tf.uint8)
            if arm == "augmix_jsd":
                # Clean, the augmix arm's draw, and a second draw from a folded seed.
                second = tf.random.experimental.stateless_fold_in(aug_seed, 1)
                drawn = [images, augment(images, aug_seed), augment(images, second)]
                images = tf.concat([tf.cast(v, tf.float32) for v in drawn], axis=0)
                labels = tf.concat([labels] * JSD_VIEWS, axis=0)
            else:
                images = augment(images, aug_seed)
        return tf.cast(images, tf.float32), labels

    return ds.map(apply, num_parallel_calls=AUTOTUNE, deterministic=True).prefetch(AUTOTUNE)


def eval_dataset(
    x: np.ndarray, y: np.ndarray, *, batch_size: int, image_size: int
) -> tf.data.Dataset:
    """Batched, resized float32 images and int64 labels, in order, no augmentation."""
    ds = tf.data.Dataset.from_tensor_slices((x, np.asarray(y, dtype=np.int64)))
    ds = ds.batch(batch_size).map(
        lambda images, labels: (resize(images, image_size), labels),
        num_parallel_calls=AUTOTUNE,
        deterministic=True,
    )
    return ds.prefetch(AUTOTUNE)
