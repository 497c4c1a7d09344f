"""`randaugment.RandAugment`, the Keras 3 layer (issue 3).

Config round trip, `.keras` save and load, `training=False`, `fit` (also with
`jit_compile=True`), `ds.map(layer)`, the keras-cv argument names, seeded and unseeded
draws, and the GPU readiness of a model containing the layer.
"""

from __future__ import annotations

import json

import keras
import numpy as np
import pytest
import tensorflow as tf
from graph_check import gpu_kernel_violations

import randaugment
import randaugment.layer as layer_module
from randaugment import RandAugment

SIZE = 16
# keras-cv's geometric=False leaves out these (written out here, not read from the code).
GEOMETRIC = {"rotate", "shear_x", "shear_y", "translate_x", "translate_y"}
PAPER_14 = {
    "identity",
    "auto_contrast",
    "equalize",
    "rotate",
    "shear_x",
    "shear_y",
    "translate_x",
    "translate_y",
    "brightness",
    "color",
    "contrast",
    "sharpness",
    "posterize",
    "solarize",
}


@pytest.fixture(scope="module")
def images(make_photos):
    """8 photographs, 16x16 RGB, float32 in [0, 255]."""
    return make_photos(8, SIZE, SIZE).astype(np.float32)


def _changed(a, b):
    """How many images of `a` differ from `b`."""
    a, b = np.asarray(a), np.asarray(b)
    return sum(not np.array_equal(x, y) for x, y in zip(a, b, strict=True))


# Every argument away from its default.
FULL = dict(
    value_range=(-1.0, 1.0),
    num_ops=3,
    magnitude=0.7,
    magnitude_stddev=0.2,
    rate=0.8,
    ops=["rotate", "color", "cutout", "solarize_add", "equalize"],
    geometric=True,
    fill_value=10.0,
    interpolation="bilinear",
    seed=42,
)


# -- config ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs",
    [FULL, {"geometric": False, "seed": 1}, {}, {"augmentations_per_image": 4}],
    ids=["all-arguments", "geometric-false", "defaults", "keras-cv-alias"],
)
def test_config_round_trip(kwargs):
    layer = RandAugment(name="ra", **kwargs)
    config = layer.get_config()
    json.dumps(config)  # serializable as is
    for name, value in kwargs.items():
        key = "num_ops" if name == "augmentations_per_image" else name
        got = config[key]
        assert (list(got) if isinstance(value, tuple | list) else got) == (
            list(value) if isinstance(value, tuple | list) else value
        ), f"{key}: {got!r} != {value!r}"
    clone = RandAugment.from_config(json.loads(json.dumps(config)))
    assert clone.get_config() == config
    assert clone.name == "ra"
    # The clone behaves the same: same arguments, same seed, same draws.
    low, high = config["value_range"]
    ramp = np.linspace(low, high, 2 * 12 * 12 * 3, dtype=np.float32)
    x = tf.constant(ramp.reshape(2, 12, 12, 3))
    if config["seed"] is not None:
        np.testing.assert_array_equal(layer(x).numpy(), clone(x).numpy())


def test_config_defaults_are_documented_values():
    config = RandAugment().get_config()
    assert config["num_ops"] == 2
    assert tuple(config["value_range"]) == (0, 255)
    assert config["magnitude_stddev"] == 0 and config["rate"] == 1
    assert config["ops"] is None and config["geometric"] is True and config["seed"] is None


# -- save and load ---------------------------------------------------------------------


def test_keras_save_and_load_same_output_for_same_seed_state(images, tmp_path):
    model = keras.Sequential(
        [keras.Input((SIZE, SIZE, 3)), RandAugment(num_ops=3, magnitude=0.9, seed=7)]
    )
    x = tf.constant(images)
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    assert isinstance(loaded.layers[0], RandAugment)
    assert loaded.layers[0].get_config() == model.layers[0].get_config()
    outputs = []
    for _ in range(2):  # same state, call after call
        a = model(x, training=True).numpy()
        b = loaded(x, training=True).numpy()
        np.testing.assert_array_equal(a, b)
        assert _changed(a, images) >= 4
        outputs.append(a)
    assert not np.array_equal(*outputs)  # the state moved on, in both
    np.testing.assert_array_equal(loaded(x, training=False).numpy(), images)


def test_loaded_model_continues_from_the_saved_seed_state(images, tmp_path):
    """The seed state is saved with the model: a model called before saving and its
    loaded copy give the same outputs from then on. A layer rebuilt from its config
    starts the seeded sequence again."""
    model = keras.Sequential([keras.Input((SIZE, SIZE, 3)), RandAugment(seed=7)])
    x = tf.constant(images)
    first = model(x, training=True).numpy()  # advance the original's state
    model.save(tmp_path / "model.keras")
    loaded = keras.models.load_model(tmp_path / "model.keras")
    for _ in range(2):
        a = model(x, training=True).numpy()
        np.testing.assert_array_equal(loaded(x, training=True).numpy(), a)
        assert not np.array_equal(a, first)
    rebuilt = RandAugment.from_config(model.layers[0].get_config())
    np.testing.assert_array_equal(rebuilt(x, training=True).numpy(), first)


# -- training=False, fit, tf.data ------------------------------------------------------


@pytest.mark.parametrize("dtype", ["uint8", "float32"])
def test_training_false_is_identity(images, dtype):
    layer = RandAugment(num_ops=4, magnitude=1.0, seed=0)
    x = tf.constant(images.astype(dtype))
    out = layer(x, training=False)
    assert out.dtype == x.dtype
    np.testing.assert_array_equal(out.numpy(), x.numpy())
    assert _changed(layer(x, training=True).numpy(), x.numpy()) >= 4
    model = keras.Sequential([keras.Input((SIZE, SIZE, 3)), RandAugment(seed=0)])
    np.testing.assert_array_equal(model.predict(images, verbose=0), images)


def _classifier(jit_compile):
    model = keras.Sequential(
        [
            keras.Input((SIZE, SIZE, 3)),
            RandAugment(value_range=(0, 255), augmentations_per_image=2, magnitude=0.8, seed=3),
            keras.layers.Rescaling(1 / 255),
            keras.layers.Conv2D(4, 3),
            keras.layers.GlobalAveragePooling2D(),
            keras.layers.Dense(2),
        ]
    )
    model.compile(
        optimizer="sgd",
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        jit_compile=jit_compile,
    )
    return model


@pytest.mark.parametrize("jit_compile", [False, True], ids=["graph", "jit_compile"])
def test_fit_one_step(images, jit_compile):
    model = _classifier(jit_compile)
    labels = np.arange(8) % 2
    weights = [w.numpy().copy() for w in model.trainable_weights]
    history = model.fit(images, labels, batch_size=8, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    # The layer drew in fit: its next draw is no longer a fresh layer's first one.
    x = tf.constant(images)
    fresh = _classifier(jit_compile).layers[0](x, training=True).numpy()
    assert not np.array_equal(model.layers[0](x, training=True).numpy(), fresh)
    changed = [
        not np.array_equal(w.numpy(), w0)
        for w, w0 in zip(model.trainable_weights, weights, strict=True)
    ]
    assert any(changed)
    if jit_compile:
        assert model.jit_compile is True


def test_dataset_map_layer(images):
    layer = RandAugment(num_ops=2, magnitude=0.9, seed=11)
    same = np.repeat(images[:1], 12, axis=0)
    ds = tf.data.Dataset.from_tensor_slices(same).batch(4).map(layer)
    batches = [b.numpy() for b in ds]
    assert [b.shape for b in batches] == [(4, SIZE, SIZE, 3)] * 3
    assert all(b.dtype == np.float32 for b in batches)
    # Per image and per batch: 12 copies of one image, (nearly) all different.
    distinct = {img.tobytes() for b in batches for img in b}
    assert len(distinct) >= 8
    for i in range(3):
        for j in range(i):
            assert not np.array_equal(batches[i], batches[j])
    # With labels, as users write it.
    labelled = tf.data.Dataset.from_tensor_slices((images, np.arange(8))).batch(4)
    labelled = labelled.map(lambda x, y: (layer(x), y), num_parallel_calls=tf.data.AUTOTUNE)
    for x, y in labelled:
        assert x.shape == (4, SIZE, SIZE, 3) and y.shape == (4,)


@pytest.mark.parametrize("seed", [None, 1], ids=["unseeded", "seeded"])
def test_dataset_map_in_parallel_gives_every_batch_its_own_draw(images, seed):
    """`ds.map(layer, num_parallel_calls=...)`: concurrent calls must not reuse a seed.
    48 batches of 4 copies of one image: two equal batches mean a shared seed."""
    layer = RandAugment(num_ops=2, magnitude=0.9, seed=seed)
    x = np.repeat(images[:1], 4, axis=0)
    ds = tf.data.Dataset.from_tensors(x).repeat(48).map(layer, num_parallel_calls=4)
    batches = [b.numpy().tobytes() for b in ds]
    assert len(set(batches)) == len(batches), (
        f"{len(batches) - len(set(batches))} of {len(batches)} batches repeat another's draws"
    )


# -- keras-cv names --------------------------------------------------------------------


def test_keras_io_example_line(images):
    layer = RandAugment(value_range=(0, 255), augmentations_per_image=3, magnitude=0.8)
    assert layer.num_ops == 3
    out = layer(tf.constant(images))
    assert out.shape == images.shape and out.dtype == tf.float32
    assert _changed(out.numpy(), images) >= 4
    RandAugment(value_range=(0, 255), magnitude_stddev=0.1, rate=0.5, geometric=False)


def test_augmentations_per_image_is_num_ops(images):
    x = tf.constant(images)
    a = RandAugment(augmentations_per_image=3, magnitude=0.9, seed=5)(x).numpy()
    b = RandAugment(num_ops=3, magnitude=0.9, seed=5)(x).numpy()
    c = RandAugment(num_ops=1, magnitude=0.9, seed=5)(x).numpy()
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    np.testing.assert_array_equal(RandAugment(augmentations_per_image=0)(x).numpy(), images)


def test_both_num_ops_and_augmentations_per_image_is_an_error():
    with pytest.raises(ValueError, match=r"num_ops=2.*augmentations_per_image=3"):
        RandAugment(num_ops=2, augmentations_per_image=3)


@pytest.fixture
def drawn_ops(monkeypatch):
    """Records the `ops` that the layer passes to `rand_augment`."""
    calls = []
    real = layer_module.rand_augment

    def spy(images, **kwargs):
        calls.append(kwargs["ops"])
        return real(images, **kwargs)

    monkeypatch.setattr(layer_module, "rand_augment", spy)
    return calls


def test_geometric_false_excludes_rotate_shear_translate(images, drawn_ops):
    RandAugment(geometric=False, seed=0)(tf.constant(images))
    RandAugment(seed=0)(tf.constant(images))
    without, default = (set(ops) for ops in drawn_ops)
    assert default == PAPER_14
    assert without == PAPER_14 - GEOMETRIC


def test_geometric_false_never_moves_pixels():
    """Behaviour, not just the list: the non-geometric ops map a flat image to a flat
    image (value maps, blends with its own gray or smoothed self); at magnitude 1 every
    geometric op uncovers pixels, which get `fill_value` (flat 200 -> some 128)."""
    x = np.full((64, 8, 8, 3), 200.0, np.float32)

    def flat(out):
        return (out == out[:, :1, :1]).all(axis=(1, 2, 3))

    out = RandAugment(geometric=False, num_ops=2, magnitude=1.0, seed=2)(x).numpy()
    assert flat(out).all()
    assert _changed(out, x) >= 16  # the value ops did run
    moved = RandAugment(num_ops=2, magnitude=1.0, seed=2)(x).numpy()
    assert (~flat(moved)).sum() >= 16


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"magnitude": 1.7}, ValueError, r"magnitude=1\.7"),
        ({"num_ops": -1}, ValueError, r"num_ops=-1"),
        ({"augmentations_per_image": 1.5}, TypeError, r"1\.5"),
        ({"rate": 1.2}, ValueError, r"rate=1\.2"),
        ({"ops": ["rotat"]}, ValueError, r"rotat"),
        ({"value_range": (1, 1)}, ValueError, r"value_range=\(1, 1\)"),
        ({"interpolation": "cubic"}, ValueError, r"interpolation='cubic'"),
        ({"geometric": "no"}, TypeError, r"geometric='no'"),
        ({"geometric": False, "ops": ["rotate"]}, ValueError, r"geometric=False"),
        ({"seed": 1.5}, TypeError, r"seed=1\.5"),
    ],
    ids=lambda v: str(v) if isinstance(v, dict) else "",
)
def test_bad_arguments_raise_at_construction(kwargs, error, match):
    with pytest.raises(error, match=match):
        RandAugment(**kwargs)


def test_bad_images_raise_at_first_call():
    layer = RandAugment(seed=0)
    with pytest.raises(ValueError, match=r"images\.shape=\(2, 8, 8, 4\)"):
        layer(tf.zeros([2, 8, 8, 4]))
    with pytest.raises(TypeError, match=r"images\.dtype=bool"):
        layer(tf.zeros([2, 8, 8, 3], tf.bool))


# -- seeds -----------------------------------------------------------------------------


def test_unseeded_layer_draws_differently_per_call(images):
    layer = RandAugment(num_ops=2, magnitude=0.9)
    x = tf.constant(images)
    a, b = layer(x).numpy(), layer(x).numpy()
    assert _changed(a, b) >= 4
    f = tf.function(lambda x: layer(x, training=True))
    assert _changed(f(x).numpy(), f(x).numpy()) >= 4


def test_same_seed_same_output_eager_and_jit_compile(images):
    """Two layers with one seed: eager ("partition") and XLA ("fused") agree, draw
    after draw (the seed state advances the same way under XLA)."""
    x = tf.constant(images)
    eager = RandAugment(seed=5, ops=randaugment.available_ops(), magnitude=0.8)
    jitted = RandAugment(seed=5, ops=randaugment.available_ops(), magnitude=0.8)
    f = tf.function(lambda x: jitted(x, training=True), jit_compile=True)
    for _ in range(2):
        np.testing.assert_array_equal(f(x).numpy(), eager(x).numpy())


def test_seeded_layers_are_reproducible(images):
    x = tf.constant(images)
    one, two = RandAugment(seed=9), RandAugment(seed=9)
    for _ in range(2):
        np.testing.assert_array_equal(one(x).numpy(), two(x).numpy())
    assert _changed(RandAugment(seed=10)(x).numpy(), RandAugment(seed=9)(x).numpy()) >= 4


# -- GPU readiness ---------------------------------------------------------------------


def test_model_with_the_layer_has_gpu_and_xla_kernels(gpu_visible):
    """The plain trace needs GPU kernels, the `jit_compile=True` trace XLA_GPU_JIT
    kernels (see `test_rand_augment.test_graph_has_gpu_and_xla_kernels`)."""
    model = keras.Sequential(
        [
            keras.Input((None, None, 3)),
            RandAugment(ops=randaugment.available_ops(), interpolation="bilinear", seed=1),
            keras.layers.GlobalAveragePooling2D(),
            keras.layers.Dense(2),
        ]
    )
    spec = tf.TensorSpec([None, None, None, 3], tf.float32)

    def f(x):
        return model(x, training=True)

    graph = tf.function(f).get_concrete_function(spec)
    jit = tf.function(f, jit_compile=True).get_concrete_function(spec)
    # exact=False: the Dense layer's float32 matmul is the model's, not the layer's
    # (the augmentation alone is checked for TF32 ops in test_rand_augment).
    violations = gpu_kernel_violations(graph, xla=False, exact=False) + [
        f"[jit] {v}" for v in gpu_kernel_violations(jit, runtime=False, exact=False)
    ]
    assert not violations, "\n  ".join(violations)
