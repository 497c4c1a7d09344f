"""`RandAugment`: the Keras 3 layer."""

from __future__ import annotations

import keras
import numpy as np

from randaugment import _keras
from randaugment._arguments import is_tensor_like
from randaugment._ranges import check_ranges
from randaugment._targets import check_box_format, check_mask_fill_value
from randaugment.functional import rand_augment, validate_arguments
from randaugment.table import DEFAULT_OPS, GEOMETRIC_OPS

_UNSET = object()


class _Knobs:
    """Holds what may be a tensor or variable (`magnitude`, `magnitude_stddev`,
    `rate`) out of Keras's and TF's tracking: a variable given there belongs to the
    caller (its schedule), not to the layer's weights or checkpoints."""

    def __init__(self, **values):
        self.__dict__.update(values)


def _plain_float(value) -> float:
    """A float for `get_config`, also from a variable or an eager tensor."""
    return float(np.asarray(value)) if is_tensor_like(value) else float(value)


class AugmentationLayer(keras.layers.Layer):
    """What every augmentation layer of this library shares: the per-call seed state
    (saved with the model under every backend), the identity at inference, the bridge
    from JAX and PyTorch arrays, and Keras's dtype conventions. A subclass says how to
    augment with one per-call seed (`augment`) and what its config holds.

    Args:
        seed: int or None. Every call takes a new per-call seed from the layer's seed
            state (a counter keyed by `seed`, or by a random key when None), so every
            batch gets new draws.
        **kwargs: base layer arguments (`name`, `dtype`, ...).
    """

    def __init__(self, seed=None, **kwargs):
        super().__init__(**kwargs)
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise TypeError(f"`seed` must be an int or None. Received: seed={seed!r}")
        self.seed = seed
        self._seed_state = _keras.SeedState(self, seed)
        # The per-call seed state `[counter, 0, key]` (int64): a Keras weight under the
        # TensorFlow backend, a `tf.Variable` under JAX and PyTorch. An attribute of
        # the layer, so that TF checkpoints find it under its name.
        state = self._seed_state
        self.seed_state = state.variable if state.resource is None else state.resource
        self.supports_masking = False
        self._convert_input_args = False
        self._allow_non_tensor_positional_args = True

    def augment(self, inputs, seed):
        """The augmentation of one call with the per-call seed `seed` (int32 `[2]`)."""
        raise NotImplementedError

    def call(self, inputs, training=True):
        if not training:
            return inputs
        inputs, back = _keras.to_tensorflow(inputs, type(self).__name__)
        return back(_keras.run_graph(self, self._augment_next, inputs))

    def _augment_next(self, inputs):
        outputs = self.augment(inputs, seed=self._seed_state.next_seed())
        return _keras.cast_floats(self, outputs)

    def compute_output_spec(self, inputs, training=True):
        return _keras.output_spec(self, inputs)

    def compute_output_shape(self, input_shape):
        return input_shape

    def save_own_variables(self, store):
        if not self._seed_state.save(store):
            super().save_own_variables(store)

    def load_own_variables(self, store):
        if not self._seed_state.load(store):
            super().load_own_variables(store)

    def get_config(self):
        config = super().get_config()
        config["seed"] = self.seed
        return config


@keras.saving.register_keras_serializable(package="randaugment")
class RandAugment(AugmentationLayer):
    """RandAugment as a Keras 3 preprocessing layer, with per-image op selection.

    A thin layer over `randaugment.rand_augment`: each image of a batch draws its own
    `num_ops` ops. It runs in a model (also compiled with `jit_compile=True`), in
    `tf.data` (`ds.map(layer)`, under every Keras backend), and is the identity when
    `training=False`. Under JAX and PyTorch, map it in `tf.data`: `jax.jit` cannot run
    its TensorFlow ops (a clear error says so), and eager calls on JAX or PyTorch
    arrays go through NumPy (see "Keras backends" in `docs/usage.md`).

    Float input comes back in the layer's compute dtype (float16 or bfloat16 under a
    mixed policy), integer input (uint8 above all) in its own dtype. Ragged batches
    of images of different sizes are augmented image by image.

    It also accepts keras-cv's argument names, so that
    `keras_cv.layers.RandAugment(value_range=(0, 255), augmentations_per_image=3,
    magnitude=0.8)` works with only the import changed. Note that keras-cv's default
    `rate` is 10/11 (it has no identity op); here the default is 1.0 and identity is
    one of the 14 ops.

    Args:
        value_range: `(low, high)` of the input values. Default (0, 255).
        num_ops: N, ops per image. Default 2. keras-cv's name:
            `augmentations_per_image` (giving both is an error).
        magnitude: in [0, 1], the fraction of each op's maximum. Default 0.5. A
            float, or a scalar `tf.Variable` to change it between batches without
            retracing (a schedule); `get_config` stores its value then.
        magnitude_stddev: per-image noise on the magnitude. Default 0. A float or a
            scalar `tf.Variable`.
        rate: probability that each slot applies its op. Default 1. A float or a
            scalar `tf.Variable`.
        ops: op names to draw from; default the paper's 14.
        geometric: keras-cv's switch: False leaves out rotate, shear and translate.
            Default True. Only with the default `ops`.
        fill_value: fill of uncovered pixels, a whole number in uint8 units.
            Default 128.
        interpolation: "nearest" (default) or "bilinear".
        ranges: the ops' parameter ranges: None (this library's table) or a name in
            `randaugment.RANGES` (e.g. "timm" for timm's level mapping).
        bounding_box_format: the format of the boxes of a dict input (one of Keras's:
            "xyxy", "yxyx", "xywh", "center_xywh", "center_yxhw", "rel_xyxy", ...);
            needed when the input has "bounding_boxes". See "Boxes and masks" in
            `docs/usage.md`.
        mask_fill_value: the class id of mask pixels that geometric ops uncover
            (default 0; many segmentation datasets use an ignore id such as 255).
        seed: int or None. Every call takes a new per-call seed from the layer's
            seed state (a counter keyed by `seed`, or by a random key when None), so
            every batch gets new draws. The state (`seed_state`) is saved with the
            model under every backend (a non-trainable weight under TensorFlow): a
            model loaded from `.keras` continues where the saved one stopped, and a
            layer rebuilt from its config with the same `seed` repeats the same
            sequence.
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
        ranges=None,
        bounding_box_format=None,
        mask_fill_value=0,
        **kwargs,
    ):
        super().__init__(seed=seed, **kwargs)
        self.bounding_box_format = check_box_format(bounding_box_format)
        self.mask_fill_value = check_mask_fill_value(mask_fill_value)
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
        self.num_ops = validated[0]
        self._knobs = _Knobs(
            magnitude=validated[1], magnitude_stddev=validated[2], rate=validated[3]
        )
        self._drawn_ops = validated[4]
        self.ops = None if ops is None else list(validated[4])
        self.value_range = tuple(validated[5])
        self.fill_value = validated[6]
        self.geometric = geometric
        self.interpolation = interpolation
        self.ranges = check_ranges(ranges) if ranges is not None else None

    @property
    def magnitude(self):
        """The magnitude given: a float, or the tensor or variable (read at every call)."""
        return self._knobs.magnitude

    @property
    def magnitude_stddev(self):
        return self._knobs.magnitude_stddev

    @property
    def rate(self):
        return self._knobs.rate

    def augment(self, inputs, seed):
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
            ranges=self.ranges,
            bounding_box_format=self.bounding_box_format,
            mask_fill_value=self.mask_fill_value,
        )

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "value_range": list(self.value_range),
                "num_ops": self.num_ops,
                "magnitude": _plain_float(self.magnitude),
                "magnitude_stddev": _plain_float(self.magnitude_stddev),
                "rate": _plain_float(self.rate),
                "ops": self.ops,
                "geometric": self.geometric,
                "fill_value": self.fill_value,
                "interpolation": self.interpolation,
                "ranges": self.ranges,
                "bounding_box_format": self.bounding_box_format,
                "mask_fill_value": self.mask_fill_value,
            }
        )
        return config
