"""The paper recipe's parts, each against an independent definition or hand-computed
numbers: the pad-4 crop and flip, the order of the augmentations, the warm-up cosine
schedule, SGD with L2 weight decay, and the paper preset's settings."""

from __future__ import annotations

import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from examples.cifar10 import cli, pipelines, training
from examples.cifar10.recipe import PRESETS, Recipe


def numpy_pad_crop_flip(images, offsets, flips, pad=4):
    """The definition: zero-pad, slice the crop, mirror the columns."""
    out = []
    h, w = images.shape[1:3]
    padded = np.pad(images, ((0, 0), (pad, pad), (pad, pad), (0, 0)))
    for image, (r, c), flip in zip(padded, offsets, flips, strict=True):
        crop = image[r : r + h, c : c + w]
        out.append(crop[:, ::-1] if flip else crop)
    return np.stack(out)


def images_for_test(n=6, h=32, w=32, seed=0):
    return np.random.default_rng(seed).integers(1, 256, (n, h, w, 3)).astype(np.uint8)


def test_pad_crop_flip_matches_the_definition():
    x = images_for_test(6)
    offsets = np.array([[0, 0], [8, 8], [4, 4], [0, 8], [8, 0], [3, 5]], np.int32)
    flips = np.array([False, True, False, True, False, True])
    got = pipelines.pad_crop_flip(tf.constant(x), offsets, flips).numpy()
    np.testing.assert_array_equal(got, numpy_pad_crop_flip(x, offsets, flips))
    # By hand: offset (4, 4) without flip is the image itself; (0, 0) shifts it down
    # and right by 4 with zeros in the first 4 rows and columns.
    np.testing.assert_array_equal(got[2], x[2])
    assert not got[0, :4].any() and not got[0, :, :4].any()
    np.testing.assert_array_equal(got[0, 4:, 4:], x[0, :28, :28])
    # Offset (8, 8) and a flip: rows 4.., then mirrored columns.
    np.testing.assert_array_equal(got[1, :28, 4:], x[1, 4:, 4:][:, ::-1])


def test_crop_offsets_and_flips_are_uniform():
    offsets, flips = pipelines.draw_crop_flip(tf.constant([1, 2], tf.int64), 18000)
    offsets, flips = offsets.numpy(), flips.numpy()
    assert offsets.min() == 0 and offsets.max() == 8
    for axis in range(2):
        counts = np.bincount(offsets[:, axis], minlength=9)
        # 9 equally likely offsets: 2000 each, binomial sd about 42.
        assert np.all(np.abs(counts - 2000) < 200), counts
    assert abs(flips.mean() - 0.5) < 0.02
    again = pipelines.draw_crop_flip(tf.constant([1, 2], tf.int64), 18000)
    np.testing.assert_array_equal(again[0].numpy(), offsets)
    other = pipelines.draw_crop_flip(tf.constant([1, 3], tf.int64), 18000)
    assert not np.array_equal(other[0].numpy(), offsets)


def _draws(seed, index, batch):
    crop_seed = pipelines.batch_seeds(seed, index)[0]
    offsets, flips = pipelines.draw_crop_flip(crop_seed, batch)
    return offsets.numpy(), flips.numpy()


def _order(seed, epochs, n, batch):
    """The batches' indices, as _shuffled_batches draws them (stateless argsort)."""
    out = []
    for e in range(epochs):
        keys = tf.random.stateless_uniform([n], seed=tf.constant([seed, e], tf.int64))
        perm = tf.argsort(keys).numpy()
        out += [perm[i : i + batch] for i in range(0, n, batch)]
    return out


def test_arms_share_order_crops_and_flips_and_differ_by_their_augmentation():
    from randaugment import rand_augment

    x = images_for_test(24, seed=1)
    y = np.arange(24) % 10
    kw = dict(batch_size=8, image_size=32, seed=5, epochs=2, base_augmentation=True)
    order = _order(5, 2, 24, 8)
    base = list(pipelines.train_dataset("base", x, y, **kw))
    ra = list(pipelines.train_dataset("randaugment", x, y, num_ops=2, magnitude=0.5, **kw))
    simple = list(pipelines.train_dataset("simple", x, y, **kw))
    assert len(base) == len(ra) == len(simple) == 6
    for i, index in enumerate(order):
        offsets, flips = _draws(5, i, 8)
        np.testing.assert_array_equal(base[i][1].numpy(), y[index])
        np.testing.assert_array_equal(ra[i][1].numpy(), y[index])
        np.testing.assert_array_equal(simple[i][1].numpy(), y[index])
        # base: exactly the crop and flip of the batch.
        np.testing.assert_array_equal(
            base[i][0].numpy(), numpy_pad_crop_flip(x[index], offsets, flips)
        )
        if i not in (1, 4):  # the library's op is slow in eager mode: two batches
            continue
        # randaugment: the library's op with the batch's second seed, then the same
        # crop and flip (the RandAugment CIFAR code's order).
        aug_seed = pipelines.batch_seeds(5, i)[1]
        augmented = rand_augment(x[index], num_ops=2, magnitude=0.5, seed=aug_seed).numpy()
        np.testing.assert_array_equal(
            ra[i][0].numpy(), numpy_pad_crop_flip(augmented, offsets, flips)
        )
        assert not np.array_equal(ra[i][0].numpy(), base[i][0].numpy())
    # The second epoch is reshuffled.
    assert not np.array_equal(order[0], order[3])


def test_without_base_augmentation_the_base_arm_is_the_data():
    x = images_for_test(16, seed=2)
    y = np.arange(16) % 10
    batches = list(
        pipelines.train_dataset("base", x, y, batch_size=8, image_size=32, seed=0, epochs=1)
    )
    for (images, labels), index in zip(batches, _order(0, 1, 16, 8), strict=True):
        np.testing.assert_array_equal(images.numpy(), x[index])
        np.testing.assert_array_equal(labels.numpy(), y[index])


def test_augmix_arm_crops_first_then_calls_aug_mix(monkeypatch):
    """A stand-in for the library's aug_mix (not AugMix itself): it records its
    arguments and inverts the images, which shows whether the crop ran before it (the
    AugMix code's order) since inverted zero padding is 255."""
    import randaugment

    calls = []

    def stand_in(images, **kwargs):
        calls.append(kwargs)
        assert images.dtype == tf.uint8
        return 255 - images

    monkeypatch.setattr(randaugment, "aug_mix", stand_in, raising=False)
    x = images_for_test(8, seed=3)
    y = np.arange(8)
    ds = pipelines.train_dataset(
        "augmix", x, y, batch_size=8, image_size=32, seed=7, base_augmentation=True
    )
    images = next(iter(ds))[0].numpy()
    index = _order(7, 1, 8, 8)[0]
    offsets, flips = _draws(7, 0, 8)
    np.testing.assert_array_equal(images, 255 - numpy_pad_crop_flip(x[index], offsets, flips))
    kwargs = calls[-1]
    assert {k: kwargs[k] for k in ("severity", "width", "depth", "alpha")} == {
        "severity": 3,
        "width": 3,
        "depth": -1,
        "alpha": 1.0,
    }
    assert tuple(kwargs["value_range"]) == (0, 255)
    # Traced inside tf.data: the seed is symbolic; it is the batch's [2] seed.
    assert kwargs["seed"].shape == (2,) and kwargs["seed"].dtype.is_integer


def test_augmix_arm_is_the_librarys_aug_mix_after_the_crop_and_flip():
    """The real aug_mix this time: the arm's batch is `aug_mix` (the AugMix paper's
    CIFAR setting) of the base arm's crop and flip, with the batch's second seed."""
    from randaugment import aug_mix

    x = images_for_test(8, seed=4)
    y = np.arange(8)
    kw = dict(batch_size=8, image_size=32, seed=9, base_augmentation=True)
    images, labels = next(iter(pipelines.train_dataset("augmix", x, y, **kw)))
    index = _order(9, 1, 8, 8)[0]
    offsets, flips = _draws(9, 0, 8)
    np.testing.assert_array_equal(labels.numpy(), y[index])
    cropped = numpy_pad_crop_flip(x[index], offsets, flips)
    expected = aug_mix(
        cropped,
        value_range=(0, 255),
        severity=3,
        width=3,
        depth=-1,
        alpha=1.0,
        seed=pipelines.batch_seeds(9, 0)[1],
    ).numpy()
    np.testing.assert_array_equal(images.numpy(), expected)
    assert not np.array_equal(images.numpy(), cropped)


_TINY_RECIPE = dict(
    model="tiny",
    image_size=32,
    epochs=1,
    batch_size=16,
    optimizer="sgd",
    learning_rate=0.1,
    schedule="cosine",
    warmup_epochs=0.0,
    weight_decay=5e-4,
    base_augmentation=True,
    num_ops=2,
    magnitude=0.3,
)


def _initial_weights(recipe, folder):
    return training.save_initial_weights(recipe.build, folder / "initial.weights.h5")


def test_augmix_jsd_arm_batches_the_clean_view_and_two_aug_mix_draws():
    """The paper's three views, each against its definition: the crop and flip alone
    (the base arm's batch), the augmix arm's draw, and a second aug_mix draw from the
    batch seed folded with 1; the labels repeated for every view."""
    from randaugment import aug_mix

    x = images_for_test(8, seed=5)
    y = np.arange(8) % 10
    kw = dict(batch_size=8, image_size=32, seed=11, base_augmentation=True)
    images, labels = next(iter(pipelines.train_dataset("augmix_jsd", x, y, **kw)))
    assert images.shape == (24, 32, 32, 3) and images.dtype == tf.float32
    index = _order(11, 1, 8, 8)[0]
    offsets, flips = _draws(11, 0, 8)
    np.testing.assert_array_equal(labels.numpy(), np.tile(y[index], 3))
    cropped = numpy_pad_crop_flip(x[index], offsets, flips)
    clean, first, second = np.split(images.numpy(), 3)
    np.testing.assert_array_equal(clean, cropped)
    options = dict(value_range=(0, 255), severity=3, width=3, depth=-1, alpha=1.0)
    seed = pipelines.batch_seeds(11, 0)[1]
    np.testing.assert_array_equal(first, aug_mix(cropped, seed=seed, **options).numpy())
    folded = tf.random.experimental.stateless_fold_in(seed, 1)
    np.testing.assert_array_equal(second, aug_mix(cropped, seed=folded, **options).numpy())
    assert not np.array_equal(first, second) and not np.array_equal(first, clean)
    # The first draw is the augmix arm's batch: the two AugMix arms share it.
    augmix_images, _ = next(iter(pipelines.train_dataset("augmix", x, y, **kw)))
    np.testing.assert_array_equal(first, augmix_images.numpy())


def test_augmix_jsd_arm_trains_with_the_consistency_loss(tmp_path):
    """The loss the arm compiles is AugMix's (lambda 12, three views, on the softmax's
    probabilities), and one training step's loss is the paper's formula computed here
    with NumPy from the model's own predictions before the step."""
    from examples.cifar10.recipe import train_arm
    from randaugment.losses import AugMixConsistencyLoss

    assert pipelines.training_loss("base") == "sparse_categorical_crossentropy"
    loss = pipelines.training_loss("augmix_jsd")
    assert isinstance(loss, AugMixConsistencyLoss)
    assert (loss.weight, loss.num_views, loss.from_logits) == (12.0, 3, False)
    recipe = Recipe(**{**_TINY_RECIPE, "epochs": 1, "steps_per_epoch": 1})
    x = images_for_test(16, seed=6)
    y = np.arange(16) % 10
    keras.utils.set_random_seed(0)
    initial = _initial_weights(recipe, tmp_path)
    trained = train_arm(recipe, "augmix_jsd", x, y, seed=3, initial_weights=initial)
    assert isinstance(trained.model.loss, AugMixConsistencyLoss)
    # Recompute the first step's loss from the initial model on the same batch.
    batch, labels = next(
        iter(
            pipelines.train_dataset(
                "augmix_jsd", x, y, batch_size=16, image_size=32, seed=3, base_augmentation=True
            )
        )
    )
    model = recipe.build()
    model.load_weights(initial)
    p = np.asarray(model(batch, training=True), np.float64)  # batch statistics, as in fit
    clean, a1, a2 = np.split(p, 3)
    m = (clean + a1 + a2) / 3
    kl = [np.sum(q * (np.log(q) - np.log(m)), axis=1) for q in (clean, a1, a2)]
    ce = -np.log(clean[np.arange(16), labels.numpy()[:16]])
    expected = np.mean(ce + 12.0 * np.mean(kl, axis=0))
    # fit's logged loss adds nothing else (no regularization losses in these models).
    assert trained.history["loss"][0] == pytest.approx(expected, rel=1e-4)


def test_augmix_arm_without_aug_mix_names_it(monkeypatch):
    import randaugment

    monkeypatch.delattr(randaugment, "aug_mix", raising=False)
    with pytest.raises(ValueError, match=r"randaugment\.aug_mix"):
        pipelines.train_dataset(
            "augmix", images_for_test(4), np.arange(4), batch_size=4, image_size=32, seed=0
        )
    with pytest.raises(ValueError, match=r"Received: arm='crop'"):
        pipelines.train_dataset(
            "crop", images_for_test(4), np.arange(4), batch_size=4, image_size=32, seed=0
        )


def test_warmup_cosine_by_hand():
    schedule = training.WarmupCosine(0.1, total_steps=10, warmup_steps=2)
    got = [float(schedule(step)) for step in range(11)]
    # Warm-up: 0.1 * 1/2, 0.1 * 2/2; then 0.1 * (1 + cos(pi * k / 8)) / 2, k = 0..8.
    expected = [0.05, 0.1] + [0.1 * (1 + math.cos(math.pi * k / 8)) / 2 for k in range(9)]
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-9)
    assert got[6] == pytest.approx(0.05)  # k = 4: halfway down
    assert got[10] == pytest.approx(0.0, abs=1e-9)
    assert float(training.WarmupCosine(0.2, 4)(0)) == pytest.approx(0.2)  # no warm-up
    with pytest.raises(ValueError, match="Received: warmup_steps=5, total_steps=5"):
        training.WarmupCosine(0.1, 5, 5)


def test_sgd_with_l2_is_pytorch_sgd():
    """Against torch.optim.SGD(momentum, nesterov, weight_decay)'s update, written in
    NumPy from its documentation: g += wd w; b = mu b + g; w -= lr (g + mu b)."""
    lr, mu, wd = 0.1, 0.9, 0.1
    c = np.array([0.5, -1.0, 2.0], np.float32)  # loss = c . w, gradient c
    w0 = np.array([1.0, 2.0, -3.0], np.float32)
    var = keras.Variable(w0.copy())
    opt = training.SGDL2(lr, momentum=mu, nesterov=True, l2=wd)
    w, b = w0.astype(np.float64), np.zeros(3)
    for step in range(5):
        opt.apply_gradients([(tf.constant(c), var)])
        g = c + wd * w
        b = mu * b + g
        w = w - lr * (g + mu * b)
        np.testing.assert_allclose(var.numpy(), w, rtol=1e-5, atol=1e-6)
        if step == 0:
            # By hand, first coordinate: g = 0.5 + 0.1 = 0.6, w = 1 - 0.1 (0.6 + 0.54).
            assert var.numpy()[0] == pytest.approx(0.886)
    with pytest.raises(ValueError, match="Received: weight_decay=0.1"):
        training.SGDL2(0.1, weight_decay=0.1)


def test_make_optimizer():
    sgd = training.make_optimizer(
        "sgd", 0.1, total_steps=100, schedule="cosine", warmup_steps=5, weight_decay=5e-4
    )
    assert isinstance(sgd, training.SGDL2) and sgd.nesterov and sgd.momentum == 0.9
    assert sgd.l2 == 5e-4
    assert float(sgd.learning_rate) == pytest.approx(0.1 / 5)  # step 0 of the warm-up
    adam = training.make_optimizer("adam", 1e-3, total_steps=10)
    assert isinstance(adam, keras.optimizers.Adam)
    assert float(adam.learning_rate) == pytest.approx(1e-3)
    with pytest.raises(ValueError, match="Received: optimizer='rmsprop'"):
        training.make_optimizer("rmsprop", 0.1, total_steps=10)
    with pytest.raises(ValueError, match="Received: weight_decay=0.1"):
        training.make_optimizer("adam", 0.1, total_steps=10, weight_decay=0.1)


def test_paper_preset_is_the_papers_recipe():
    args = cli.resolve(cli.parser().parse_args(["--preset", "paper"]))
    recipe = Recipe.from_args(args)
    assert recipe.base_augmentation and recipe.optimizer == "sgd"
    assert (recipe.learning_rate, recipe.momentum, recipe.weight_decay) == (0.1, 0.9, 5e-4)
    assert recipe.schedule == "cosine" and 0 < recipe.warmup_epochs <= 1
    assert recipe.batch_size == 128 and recipe.model.startswith("resnet")
    assert args.arms == ("base", "randaugment", "simple")
    # keras-io is kept as published: ResNet50V2 at 72, Adam 1e-3, N=3, M=0.8, no crop.
    io = cli.resolve(cli.parser().parse_args(["--preset", "keras-io"]))
    assert (io.model, io.image_size, io.epochs, io.optimizer, io.learning_rate) == (
        "resnet50v2",
        72,
        1,
        "adam",
        1e-3,
    )
    assert (io.num_ops, io.magnitude, io.base_augmentation) == (3, 0.8, False)
    assert io.arms == ("simple", "randaugment")
    assert PRESETS["cpu"]["model"] == "resnet14"
