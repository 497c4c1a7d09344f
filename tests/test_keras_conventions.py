"""The layer held to Keras's own conventions (issue 12): Keras's layer-test harness,
and the dtype rules of Keras layers under mixed precision.

`run_layer_test` lives in the installed keras under `keras.src.testing` (a private
module): if a Keras release moves it, these tests skip with the reason instead of
breaking the suite.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from randaugment import RandAugment

try:
    from keras.src.testing import TestCase as KerasTestCase
except ImportError as error:  # pragma: no cover - depends on the Keras release
    KerasTestCase = None
    _MISSING = f"keras.src.testing.TestCase is not importable in this Keras: {error}"

needs_harness = pytest.mark.skipif(KerasTestCase is None, reason=globals().get("_MISSING", ""))

INIT = {"value_range": (0, 255), "num_ops": 2, "magnitude": 0.9, "seed": 3}


def _harness():
    case = KerasTestCase(methodName="run_layer_test")
    case.setUp()
    return case


@needs_harness
def test_keras_run_layer_test_float_input():
    _harness().run_layer_test(
        RandAugment,
        init_kwargs=INIT,
        input_shape=(2, 16, 16, 3),
        expected_output_shape=(2, 16, 16, 3),
        expected_output_dtype="float32",
        expected_num_trainable_weights=0,
        expected_num_non_trainable_weights=1,  # the seed state
        expected_num_seed_generators=0,
        supports_masking=False,
        run_training_check=True,
        run_mixed_precision_check=True,
    )


@needs_harness
def test_keras_run_layer_test_uint8_input():
    x = np.random.default_rng(0).integers(0, 256, (2, 16, 16, 3)).astype(np.uint8)
    _harness().run_layer_test(
        RandAugment,
        init_kwargs=INIT,
        input_data=x,
        expected_output_shape=(2, 16, 16, 3),
        expected_output_dtype="uint8",
        expected_num_non_trainable_weights=1,
        supports_masking=False,
        # A loss of uint8 outputs has no gradient; the float test trains.
        run_training_check=False,
        run_mixed_precision_check=True,
    )


@pytest.mark.parametrize(
    "policy, dtype, expected",
    [
        ("mixed_float16", "float32", "float16"),
        ("mixed_bfloat16", "float32", "bfloat16"),
        ("float32", "float64", "float32"),
        ("float16", "float16", "float16"),
        ("mixed_float16", "uint8", "uint8"),
        ("mixed_bfloat16", "int32", "int32"),
    ],
)
def test_output_dtype_follows_the_compute_dtype_for_floats(policy, dtype, expected):
    x = np.random.default_rng(1).integers(0, 256, (4, 12, 12, 3)).astype(dtype)
    layer = RandAugment(magnitude=0.9, seed=2, dtype=policy)
    eager = layer(x)
    assert eager.dtype == expected
    in_data = next(iter(tf.data.Dataset.from_tensors(x).map(layer)))
    assert in_data.dtype == expected
    symbolic = layer(keras.Input((12, 12, 3), dtype=dtype))
    assert symbolic.dtype == expected
    # The values are those of the layer's float32 result, in the compute dtype.
    reference = RandAugment(magnitude=0.9, seed=2)(x.astype(np.float32) if "float" in dtype else x)
    np.testing.assert_array_equal(
        eager.numpy().astype(np.float64), tf.cast(reference, expected).numpy().astype(np.float64)
    )


def test_mixed_precision_model_trains_with_the_layer():
    keras.config.set_dtype_policy("mixed_float16")
    try:
        model = keras.Sequential(
            [
                keras.Input((16, 16, 3)),
                RandAugment(num_ops=2, magnitude=0.9, seed=0),
                keras.layers.Rescaling(1 / 255),
                keras.layers.Conv2D(4, 3),
                keras.layers.GlobalAveragePooling2D(),
                keras.layers.Dense(2, dtype="float32"),
            ]
        )
    finally:
        keras.config.set_dtype_policy("float32")
    model.compile("sgd", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    x = np.random.default_rng(2).integers(0, 256, (8, 16, 16, 3)).astype(np.float32)
    history = model.fit(x, np.zeros(8), epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    assert model.layers[0].compute_dtype == "float16"
