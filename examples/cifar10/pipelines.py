"""The ``tf.data`` pipelines: two training pipelines and the evaluation pipeline.

Both training pipelines read the same shuffled order (one shuffle seed), resize to the
model's input size when it is not 32 (bilinear, as the keras.io example), and yield
float32 batches in [0, 255]:

- ``simple``: the keras.io baseline, Keras layers ``RandomFlip("horizontal")``,
  ``RandomRotation(0.02)`` and ``RandomZoom(0.2, 0.2)``, seeded from ``--seed``. The map
  runs sequentially because the layers draw from a stateful seed generator: that keeps
  the draws in batch order and the run repeatable.
- ``randaugment``: this library's functional ``rand_augment``, N ops at magnitude M,
  with a stateless seed per batch, ``[seed, batch_index]``, so the map runs in parallel
  and stays repeatable.
"""

from __future__ import annotations

from collections.abc import Callable

import keras
import numpy as np
import tensorflow as tf

PIPELINES = ("simple", "randaugment")
AUTOTUNE = tf.data.AUTOTUNE


def resize(images: tf.Tensor, image_size: int) -> tf.Tensor:
    """Float32 images of ``image_size`` (bilinear resize only when the size differs)."""
    images = tf.cast(images, tf.float32)
    if images.shape[-3] == image_size and images.shape[-2] == image_size:
        return images
    return tf.image.resize(images, (image_size, image_size))


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

    def augment(images: tf.Tensor, seed: tf.Tensor) -> tf.Tensor:
        return rand_augment(
            images, num_ops=num_ops, magnitude=magnitude, value_range=(0, 255), seed=seed
        )

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
    # the batch index of the RandAugment pipeline keeps counting across epochs.
    ds = tf.data.Dataset.range(epochs).flat_map(one_pass)
    return ds.map(
        lambda index: (tf.gather(images, index), tf.gather(labels, index)),
        num_parallel_calls=AUTOTUNE,
        deterministic=True,
    )


def train_dataset(
    pipeline: str,
    x: np.ndarray,
    y: np.ndarray,
    *,
    batch_size: int,
    image_size: int,
    seed: int,
    epochs: int = 1,
    num_ops: int = 3,
    magnitude: float = 0.8,
) -> tf.data.Dataset:
    """The training dataset of one pipeline, ``epochs`` passes long.

    Args:
        pipeline: ``simple`` or ``randaugment``.
        x, y: uint8 NHWC images and integer labels.
        batch_size, image_size: batch size and model input size.
        seed: fixes the order (same for both pipelines) and the augmentation.
        epochs: passes over the data (one iterator; pass ``steps_per_epoch`` to fit).
        num_ops, magnitude: RandAugment's N and M (``randaugment`` only).

    Returns:
        A dataset of ``(float32 [B, S, S, 3] in [0, 255], int64 [B])``.

    Raises:
        ValueError: unknown pipeline.
    """
    ds = _shuffled_batches(x, y, batch_size, seed, epochs)
    if pipeline == "simple":
        layer = simple_augmenter(seed)
        ds = ds.map(
            lambda images, labels: (layer(resize(images, image_size), training=True), labels),
            num_parallel_calls=None,
        )
    elif pipeline == "randaugment":
        augment = randaugment_fn(num_ops, magnitude)
        base = tf.constant(seed, tf.int64)

        def apply(index: tf.Tensor, batch: tuple[tf.Tensor, tf.Tensor]):
            images, labels = batch
            images = resize(images, image_size)
            if image_size == x.shape[1]:
                images = tf.cast(images, tf.uint8)  # the op's native input, exact
            out = augment(images, tf.stack([base, index]))
            return tf.cast(out, tf.float32), labels

        ds = ds.enumerate().map(apply, num_parallel_calls=AUTOTUNE, deterministic=True)
    else:
        raise ValueError(f"unknown pipeline {pipeline!r}; choose one of {PIPELINES}")
    return ds.prefetch(AUTOTUNE)


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
