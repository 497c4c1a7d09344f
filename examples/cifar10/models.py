"""The networks compared. Each takes uint8-range float images and rescales them inside.

- ``resnet50v2``: the keras.io network: ``keras.applications.ResNet50V2`` with
  ``weights=None`` and 10 classes, behind a ``Rescaling(1/127.5, offset=-1)`` layer.
- ``resnet8``, ``resnet14``, ``resnet20``: the CIFAR ResNets of He et al. (2016, section
  4.2: three stages of 16, 32 and 64 filters, n basic blocks each, 6n + 2 layers),
  small enough to train for several epochs on a CPU.
- ``tiny``: two convolutions, for tests.
"""

from __future__ import annotations

from collections.abc import Callable

import keras
from keras import layers

NUM_CLASSES = 10


def _rescaled_input(image_size: int) -> tuple[keras.KerasTensor, keras.KerasTensor]:
    inputs = keras.Input((image_size, image_size, 3), name="image")
    return inputs, layers.Rescaling(1.0 / 127.5, offset=-1.0, name="rescale")(inputs)


def resnet50v2(image_size: int) -> keras.Model:
    """ResNet50V2 (weights=None) behind a Rescaling layer, as the keras.io example."""
    inputs, x = _rescaled_input(image_size)
    backbone = keras.applications.ResNet50V2(
        weights=None,
        include_top=True,
        input_shape=(image_size, image_size, 3),
        classes=NUM_CLASSES,
    )
    return keras.Model(inputs, backbone(x), name="resnet50v2")


def cifar_resnet(image_size: int, blocks_per_stage: int, name: str) -> keras.Model:
    """A CIFAR ResNet (v1, basic blocks, 1x1 projection shortcuts), 6n + 2 layers."""
    inputs, x = _rescaled_input(image_size)
    x = _conv_bn(x, 16, 3, 1)
    x = layers.ReLU()(x)
    for stage, filters in enumerate((16, 32, 64)):
        for block in range(blocks_per_stage):
            strides = 2 if stage > 0 and block == 0 else 1
            y = layers.ReLU()(_conv_bn(x, filters, 3, strides))
            y = _conv_bn(y, filters, 3, 1)
            if strides != 1 or x.shape[-1] != filters:
                x = _conv_bn(x, filters, 1, strides)
            x = layers.ReLU()(layers.Add()([x, y]))
    x = layers.GlobalAveragePooling2D()(x)
    outputs = layers.Dense(NUM_CLASSES, activation="softmax", name="predictions")(x)
    return keras.Model(inputs, outputs, name=name)


def _conv_bn(x: keras.KerasTensor, filters: int, kernel: int, strides: int) -> keras.KerasTensor:
    x = layers.Conv2D(
        filters,
        kernel,
        strides=strides,
        padding="same",
        use_bias=False,
        kernel_initializer="he_normal",
    )(x)
    return layers.BatchNormalization()(x)


def tiny(image_size: int) -> keras.Model:
    """Two small convolutions and a classifier: for tests, not for accuracy."""
    inputs, x = _rescaled_input(image_size)
    x = layers.Conv2D(8, 3, strides=2, padding="same", activation="relu")(x)
    x = layers.Conv2D(16, 3, strides=2, padding="same", activation="relu")(x)
    x = layers.GlobalAveragePooling2D()(x)
    outputs = layers.Dense(NUM_CLASSES, activation="softmax", name="predictions")(x)
    return keras.Model(inputs, outputs, name="tiny")


MODELS: dict[str, Callable[[int], keras.Model]] = {
    "resnet50v2": resnet50v2,
    "resnet20": lambda size: cifar_resnet(size, 3, "resnet20"),
    "resnet14": lambda size: cifar_resnet(size, 2, "resnet14"),
    "resnet8": lambda size: cifar_resnet(size, 1, "resnet8"),
    "tiny": tiny,
}


def build_model(name: str, image_size: int) -> keras.Model:
    """Build a model from :data:`MODELS` for ``image_size`` x ``image_size`` RGB input.

    Raises:
        ValueError: unknown model name.
    """
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; choose one of {', '.join(MODELS)}")
    return MODELS[name](image_size)
