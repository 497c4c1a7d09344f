"""Keras layers of the other policies: `TrivialAugment`, `AutoAugment`, `AugMix`.

Each is a thin layer over its functional op (`randaugment.policies`), with the same
seed state, backends, dtype conventions and saving as `RandAugment`
(`randaugment.layer.AugmentationLayer`).
"""

from __future__ import annotations

import keras

from randaugment import _arguments as args
from randaugment._targets import check_box_format, check_mask_fill_value
from randaugment.layer import AugmentationLayer
from randaugment.policies import (
    AUTO_AUGMENT_POLICIES,
    _policy_tables,
    aug_mix,
    auto_augment,
    check_aug_mix_arguments,
    check_trivial_arguments,
    trivial_augment,
)


class _PolicyLayer(AugmentationLayer):
    """The arguments every policy shares with `rand_augment`."""

    def _targets_config(self, bounding_box_format, mask_fill_value):
        """Boxes and masks (Keras's dict format) for the policies that move them."""
        self.bounding_box_format = check_box_format(bounding_box_format)
        self.mask_fill_value = check_mask_fill_value(mask_fill_value)

    def _targets(self) -> dict:
        return {
            "bounding_box_format": self.bounding_box_format,
            "mask_fill_value": self.mask_fill_value,
        }

    def __init__(
        self,
        value_range=(0, 255),
        fill_value=128.0,
        interpolation="nearest",
        seed=None,
        **kwargs,
    ):
        super().__init__(seed=seed, **kwargs)
        self.value_range = args.check_value_range(value_range)
        self.fill_value = args.check_fill_value(fill_value)
        self.interpolation = args.check_interpolation(interpolation)

    def _common(self) -> dict:
        return {
            "value_range": self.value_range,
            "fill_value": self.fill_value,
            "interpolation": self.interpolation,
        }

    def get_config(self):
        config = super().get_config()
        config.update({**self._common(), "value_range": list(self.value_range)})
        return config


@keras.saving.register_keras_serializable(package="randaugment")
class TrivialAugment(_PolicyLayer):
    """TrivialAugment ("wide", Mueller and Hutter 2021) as a Keras layer, per image.

    A thin layer over `randaugment.trivial_augment`: each image draws one op and one
    magnitude bin, uniformly. Runs in a model (also under `jit_compile=True`) and in
    `tf.data` under every Keras backend; the identity when `training=False`.

    Args:
        num_magnitude_bins: bins of the magnitude (default 31, torchvision's).
        ops: op names to draw from; default torchvision's 14
            (`randaugment.TRIVIAL_AUGMENT_OPS`).
        bounding_box_format, mask_fill_value: for Keras's dict inputs with boxes and
            masks, as `RandAugment`.
        value_range, fill_value, interpolation: as `RandAugment`.
        seed: int or None, as `RandAugment`.
        **kwargs: base layer arguments (`name`, `dtype`, ...).

    Example:
        >>> import tensorflow as tf
        >>> from randaugment import TrivialAugment
        >>> layer = TrivialAugment(seed=1)
        >>> layer(tf.zeros([2, 32, 32, 3], tf.uint8)).shape
        TensorShape([2, 32, 32, 3])
    """

    def __init__(
        self,
        num_magnitude_bins=31,
        ops=None,
        bounding_box_format=None,
        mask_fill_value=0,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.num_magnitude_bins, drawn = check_trivial_arguments(num_magnitude_bins, ops)
        self.ops = None if ops is None else list(drawn)
        self._targets_config(bounding_box_format, mask_fill_value)

    def augment(self, inputs, seed):
        return trivial_augment(
            inputs,
            num_magnitude_bins=self.num_magnitude_bins,
            ops=self.ops,
            seed=seed,
            **self._common(),
            **self._targets(),
        )

    def get_config(self):
        config = super().get_config()
        config.update(
            {"num_magnitude_bins": self.num_magnitude_bins, "ops": self.ops, **self._targets()}
        )
        return config


@keras.saving.register_keras_serializable(package="randaugment")
class AutoAugment(_PolicyLayer):
    """AutoAugment (Cubuk et al. 2019) as a Keras layer, per image.

    A thin layer over `randaugment.auto_augment`: each image draws one sub-policy of
    the learned policy; each of its ops applies with its own probability and
    magnitude.

    Args:
        policy: "imagenet" (default), "cifar10", "svhn", or a list of sub-policies
            `[(op, probability, magnitude bin 0..9 or None), ...]`.
        bounding_box_format, mask_fill_value: for Keras's dict inputs with boxes and
            masks, as `RandAugment`.
        value_range, fill_value, interpolation: as `RandAugment`.
        seed: int or None, as `RandAugment`.
        **kwargs: base layer arguments (`name`, `dtype`, ...).

    Example:
        >>> import tensorflow as tf
        >>> from randaugment import AutoAugment
        >>> layer = AutoAugment(policy="cifar10", seed=1)
        >>> layer(tf.zeros([2, 32, 32, 3], tf.uint8)).shape
        TensorShape([2, 32, 32, 3])
    """

    def __init__(self, policy="imagenet", bounding_box_format=None, mask_fill_value=0, **kwargs):
        super().__init__(**kwargs)
        self._targets_config(bounding_box_format, mask_fill_value)
        _policy_tables(policy)  # checked now
        if isinstance(policy, str):
            self.policy = policy
        else:
            self.policy = [[list(step) for step in sub] for sub in policy]

    def augment(self, inputs, seed):
        return auto_augment(
            inputs, policy=self.policy, seed=seed, **self._common(), **self._targets()
        )

    def get_config(self):
        config = super().get_config()
        config.update({"policy": self.policy, **self._targets()})
        return config


@keras.saving.register_keras_serializable(package="randaugment")
class AugMix(_PolicyLayer):
    """AugMix (Hendrycks et al. 2020) as a Keras layer, per image.

    A thin layer over `randaugment.aug_mix`: `width` chains of ops per image, mixed
    with Dirichlet weights and with the original by a Beta weight. For the
    Jensen-Shannon consistency loss of the paper, see `randaugment.losses` and "AugMix"
    in `docs/policies.md`.

    Args:
        severity: 1 to 10 (default 3). width: chains (default 3). depth: ops per
            chain, or -1 (default) for 1 to 3. alpha: Dirichlet and Beta parameter
            (default 1). all_ops: put back brightness, color, contrast and sharpness
            (default False, the paper's choice).
        value_range, fill_value, interpolation: as `RandAugment`.
        seed: int or None, as `RandAugment`.
        **kwargs: base layer arguments (`name`, `dtype`, ...).

    Example:
        >>> import tensorflow as tf
        >>> from randaugment import AugMix
        >>> layer = AugMix(severity=3, width=3, seed=1)
        >>> layer(tf.zeros([2, 32, 32, 3], tf.uint8)).shape
        TensorShape([2, 32, 32, 3])
    """

    def __init__(self, severity=3, width=3, depth=-1, alpha=1.0, all_ops=False, **kwargs):
        super().__init__(**kwargs)
        checked = check_aug_mix_arguments(severity, width, depth, alpha, all_ops)
        self.severity, self.width, self.depth, self.alpha, self.all_ops = checked

    def augment(self, inputs, seed):
        return aug_mix(
            inputs,
            severity=self.severity,
            width=self.width,
            depth=self.depth,
            alpha=self.alpha,
            all_ops=self.all_ops,
            seed=seed,
            **self._common(),
        )

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "severity": self.severity,
                "width": self.width,
                "depth": self.depth,
                "alpha": self.alpha,
                "all_ops": self.all_ops,
            }
        )
        return config


__all__ = ["AUTO_AUGMENT_POLICIES", "AugMix", "AutoAugment", "TrivialAugment"]
