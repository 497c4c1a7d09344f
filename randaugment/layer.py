"""`RandAugment`: the Keras 3 layer."""

from __future__ import annotations

import keras
import tensorflow as tf

from randaugment._distribute import fold_in_replica_id
from randaugment.functional import nondeterministic_key, rand_augment, validate_arguments
from randaugment.table import DEFAULT_OPS, GEOMETRIC_OPS

_UNSET = object()


@keras.saving.register_keras_serializable(package="randaugment")
class RandAugment(keras.layers.Layer):
    """RandAugment as a Keras 3 preprocessing layer, with per-image op selection.

    A thin layer over `randaugment.rand_augment`: each image of a batch draws its own
    `num_ops` ops. It runs in a model (also compiled with `jit_compile=True`), in
    `tf.data` (`ds.map(layer)`), and is the identity when `training=False`.

    It also accepts keras-cv's argument names, so that
    `keras_cv.layers.RandAugment(value_range=(0, 255), augmentations_per_image=3,
    magnitude=0.8)` works with only the import changed. Note that keras-cv's default
    `rate` is 10/11 (it has no identity op); here the default is 1.0 and identity is
    one of the 14 ops.

    Args:
        value_range: `(low, high)` of the input values. Default (0, 255).
        num_ops: N, ops per image. Default 2. keras-cv's name:
            `augmentations_per_image` (giving both is an error).
        magnitude: in [0, 1], the fraction of each op's maximum. Default 0.5.
        magnitude_stddev: per-image noise on the magnitude. Default 0.
        rate: probability that each slot applies its op. Default 1.
        ops: op names to draw from; default the paper's 14.
        geometric: keras-cv's switch: False leaves out rotate, shear and translate.
            Default True. Only with the default `ops`.
        fill_value: fill of uncovered pixels, a whole number in uint8 units.
            Default 128.
        interpolation: "nearest" (default) or "bilinear".
        seed: int or None. Every call takes a new per-call seed from the layer's
            seed state (a counter keyed by `seed`, or by a random key when None), so
            every batch gets new draws. The state is a non-trainable weight: a model
            loaded from `.keras` continues where the saved one stopped, and a layer
            rebuilt from its config with the same `seed` repeats the same sequence.
        **kwargs: base layer arguments (`name`, `dtype`, ...).

    Example:
        >>> import keras
        >>> from randaugment import RandAugment
        >>> model = keras.Sequential([
        ...     keras.Input((32, 32, 3)),
        ...     RandAugment(value_range=(0, 255), augmentations_per_image=3, magnitude=0.8),
        ...     keras.layers.Rescaling(1 / 255),
        ...     keras.layers.GlobalAveragePooling2D(),
        ...     keras.layers.Dense(10),
        ... ])
        >>> model.output_shape
        (None, 10)
    """

    def __init__(
        self,
        value_range=(0, 255),
        num_ops=_UNSET,
        magnitude=0.5,
        magnitude_stddev=0.0,
        rate=1.0,
        ops=None,
        geometric=True,
        fill_value=128.0,
        interpolation="nearest",
        seed=None,
        augmentations_per_image=_UNSET,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if num_ops is not _UNSET and augmentations_per_image is not _UNSET:
            raise ValueError(
                "Give either `num_ops` or its keras-cv alias `augmentations_per_image`, "
                f"not both. Received: num_ops={num_ops!r}, "
                f"augmentations_per_image={augmentations_per_image!r}"
            )
        if num_ops is _UNSET:
            num_ops = 2 if augmentations_per_image is _UNSET else augmentations_per_image
        if not isinstance(geometric, bool):
            raise TypeError(f"`geometric` must be a bool. Received: geometric={geometric!r}")
        if not geometric and ops is not None:
            raise ValueError(
                "`geometric=False` only filters the default op list; with `ops`, list the "
                f"ops you want. Received: geometric=False, ops={ops!r}"
            )
        drawn = ops
        if ops is None and not geometric:
            drawn = tuple(name for name in DEFAULT_OPS if name not in GEOMETRIC_OPS)
        validated = validate_arguments(
            num_ops,
            magnitude,
            magnitude_stddev,
            rate,
            drawn,
            value_range,
            fill_value,
            interpolation,
        )
        self.num_ops, self.magnitude, self.magnitude_stddev, self.rate = validated[:4]
        self._drawn_ops = validated[4]
        self.ops = None if ops is None else list(validated[4])
        self.value_range = tuple(validated[5])
        self.fill_value = validated[6]
        self.geometric = geometric
        self.interpolation = interpolation
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise TypeError(f"`seed` must be an int or None. Received: seed={seed!r}")
        self.seed = seed
        # The per-call seed comes from a Philox counter state [counter, 0, key] that
        # one op reads and advances under a lock (RngReadAndSkip), so calls running
        # in parallel (a `tf.data` map with num_parallel_calls) never share a seed.
        # keras.random.SeedGenerator reads and increments in separate ops, and raced
        # there (10 of 48 batches repeated another's draws). The state is a Keras
        # variable: it is saved in `.keras` files and can be read or assigned.
        key = nondeterministic_key() if seed is None else seed
        self.seed_state = self.add_weight(
            name="seed_state",
            shape=(3,),
            dtype="int64",
            initializer=keras.initializers.Constant([0, 0, key]),
            trainable=False,
        )
        self.supports_masking = False
        self._convert_input_args = False
        self._allow_non_tensor_positional_args = True

    def call(self, inputs, training=True):
        if not training:
            return inputs
        state = tf.raw_ops.RngReadAndSkip(
            resource=self.seed_state.handle, alg=tf.constant(1), delta=tf.constant(1, tf.uint64)
        )
        # (key, counter) as an int32 pair: stateless XLA ops want int32 seeds.
        seed = fold_in_replica_id(tf.cast(tf.stack([state[2], state[0]]) % (2**31), tf.int32))
        return rand_augment(
            inputs,
            num_ops=self.num_ops,
            magnitude=self.magnitude,
            magnitude_stddev=self.magnitude_stddev,
            rate=self.rate,
            ops=self._drawn_ops,
            value_range=self.value_range,
            fill_value=self.fill_value,
            interpolation=self.interpolation,
            seed=seed,
        )

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "value_range": list(self.value_range),
                "num_ops": self.num_ops,
                "magnitude": self.magnitude,
                "magnitude_stddev": self.magnitude_stddev,
                "rate": self.rate,
                "ops": self.ops,
                "geometric": self.geometric,
                "fill_value": self.fill_value,
                "interpolation": self.interpolation,
                "seed": self.seed,
            }
        )
        return config
