"""Restarts draw the same (issue 15, part 4).

A run interrupted after k steps and restored continues with exactly the augmentations
of the uninterrupted run, compared batch by batch, bit for bit:

- the layer in a model: its seed state is a variable, saved by `tf.train.Checkpoint`
  and in `.keras` files (`tests/restart_check.py` is the training run; the slow tests
  resume it in a new process);
- `rand_augment` in `tf.data`: with the iterator checkpointed (the README's
  `enumerate` recipe, and `Dataset.random` seeds), and without it, rebuilding the
  pipeline and skipping the k batches already seen before the augmentation.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
import restart_check
import tensorflow as tf

from randaugment import rand_augment

ROOT = Path(__file__).resolve().parents[1]
STEPS, STOP = 6, 3  # the run, and where it is interrupted

# -- the layer in a model ---------------------------------------------------------------


@pytest.fixture(scope="module")
def uninterrupted():
    run = restart_check.Run(restart_check.build())
    return run.train(STEPS), run.weights()


def test_the_layer_resumes_from_a_checkpoint_or_a_keras_file_with_the_same_augmentations(
    tmp_path, uninterrupted
):
    import keras

    digests, weights = uninterrupted
    first = restart_check.Run(restart_check.build())
    before = first.train(STOP)
    path = first.checkpoint().write(str(tmp_path / "ckpt"))
    first.model.save(tmp_path / "model.keras")
    assert any("seed_state" in name for name, _ in tf.train.list_variables(path)), (
        "the layer's seed state is not in the checkpoint"
    )
    with zipfile.ZipFile(tmp_path / "model.keras") as archive:
        assert "model.weights.h5" in archive.namelist()

    # From the checkpoint, into a model built with another seed: only the restored
    # state can give the same draws.
    second = restart_check.Run(restart_check.build(seed=restart_check.SEED + 1))
    second.checkpoint().read(path).assert_existing_objects_matched()
    assert int(second.step.numpy()) == STOP
    assert before + second.train(STEPS - STOP) == digests
    assert second.weights() == weights
    assert len(set(digests)) == STEPS  # every step drew anew

    # From the .keras file.
    loaded = keras.saving.load_model(tmp_path / "model.keras")
    np.testing.assert_array_equal(
        loaded.layers[1].seed_state.numpy(), first.model.layers[1].seed_state.numpy()
    )
    third = restart_check.Run(loaded)
    third.step.assign(STOP)
    assert before + third.train(STEPS - STOP) == digests
    assert third.weights() == weights


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["checkpoint", "keras"])
def test_the_layer_resumes_in_a_new_process(tmp_path, uninterrupted, fmt):
    def run(*args):
        proc = subprocess.run(
            [sys.executable, str(Path(restart_check.__file__)), *args],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "2"},
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert proc.returncode == 0, proc.stderr[-3000:]
        return json.loads(proc.stdout.strip().splitlines()[-1])

    saved = str(tmp_path / ("ckpt" if fmt == "checkpoint" else "model.keras"))
    flag = "--save" if fmt == "checkpoint" else "--save-keras"
    first = run(str(STOP), flag, saved)
    resumed = run(str(STEPS - STOP), "--resume" if fmt == "checkpoint" else "--resume-keras", saved)
    digests, weights = uninterrupted
    assert first["digests"] + resumed["digests"] == digests
    assert resumed["step"] == STEPS and resumed["weights"] == weights


# -- rand_augment in tf.data ------------------------------------------------------------

SEED = 1234
IMAGES = np.random.default_rng(3).integers(0, 256, (40, 16, 16, 3)).astype(np.uint8)


def augment(i, x):
    return rand_augment(x, num_ops=2, magnitude=0.9, seed=tf.stack([SEED, tf.cast(i, tf.int32)]))


def enumerate_recipe(skip: int = 0):
    """The README's recipe: shuffled, batched, repeated, then numbered; the number seeds
    the batch. `skip` drops batches before the augmentation (they cost no augmentation)."""
    ds = (
        tf.data.Dataset.from_tensor_slices(IMAGES)
        .shuffle(40, seed=SEED)
        .batch(8, drop_remainder=True)
        .repeat()
        .enumerate()
    )
    if skip:
        ds = ds.skip(skip)
    return ds.map(augment, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)


def random_seeds_recipe():
    """Seeds from `tf.data.Dataset.random` (usage.md): part of the iterator's state."""
    seeds = tf.data.Dataset.random(seed=SEED, rerandomize_each_iteration=True).batch(
        2, drop_remainder=True
    )
    images = tf.data.Dataset.from_tensor_slices(IMAGES).batch(8, drop_remainder=True).repeat()
    ds = tf.data.Dataset.zip((seeds, images))
    return ds.map(lambda s, x: rand_augment(x, seed=s), num_parallel_calls=tf.data.AUTOTUNE)


TOTAL, K = 12, 7  # 12 batches (more than two epochs of 5), interrupted after 7


def take(iterator, n):
    return [next(iterator).numpy() for _ in range(n)]


@pytest.mark.parametrize(
    "recipe", [enumerate_recipe, pytest.param(random_seeds_recipe, marks=pytest.mark.slow)]
)
def test_tf_data_resumes_from_a_checkpointed_iterator(tmp_path, recipe):
    reference = take(iter(recipe()), TOTAL)
    iterator = iter(recipe())
    before = take(iterator, K)
    path = tf.train.Checkpoint(iterator=iterator).write(str(tmp_path / "it"))
    del iterator
    resumed = iter(recipe())  # a new pipeline and iterator, as after a restart
    tf.train.Checkpoint(iterator=resumed).read(path).assert_consumed()
    after = take(resumed, TOTAL - K)
    for step, (a, b) in enumerate(zip(before + after, reference, strict=True)):
        np.testing.assert_array_equal(a, b, err_msg=f"batch {step}")
    assert len({b.tobytes() for b in reference}) == TOTAL  # epochs differ too


def test_tf_data_resumes_by_skipping_the_batches_already_seen():
    """Without an iterator checkpoint: the step count is the whole state."""
    reference = take(iter(enumerate_recipe()), TOTAL)
    after = take(iter(enumerate_recipe(skip=K)), TOTAL - K)
    for step, (a, b) in enumerate(zip(after, reference[K:], strict=True)):
        np.testing.assert_array_equal(a, b, err_msg=f"batch {K + step}")


@pytest.mark.slow
def test_fit_with_backup_and_restore_ends_with_the_weights_of_an_uninterrupted_fit(tmp_path):
    """Keras's own restart path: `fit` stopped in epoch 2 and run again with
    `BackupAndRestore` resumes from the end of epoch 1, seed state included. The final
    weights depend on every augmented batch; they come out bit-identical."""
    import keras

    x = np.random.default_rng(5).integers(0, 256, (32, 16, 16, 3)).astype(np.float32)
    y = np.arange(32) % 10

    def model(seed=restart_check.SEED):
        m = restart_check.build(seed)
        logits_only = keras.Model(m.inputs, m.outputs[0])
        logits_only.compile(
            optimizer=keras.optimizers.SGD(0.01),
            loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        )
        return logits_only

    def weights(m):
        return [w.numpy() for w in m.weights]

    reference = model()
    reference.fit(x, y, batch_size=8, epochs=3, shuffle=False, verbose=0)

    class Interrupt(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if self.model.optimizer.iterations.numpy() == 6:  # epoch 2, batch 2
                raise RuntimeError("interrupted")

    backup = keras.callbacks.BackupAndRestore(str(tmp_path / "backup"))
    interrupted = model()
    with pytest.raises(RuntimeError, match="interrupted"):
        interrupted.fit(
            x, y, batch_size=8, epochs=3, shuffle=False, verbose=0, callbacks=[backup, Interrupt()]
        )

    class Count(keras.callbacks.Callback):
        batches = 0

        def on_train_batch_end(self, batch, logs=None):
            Count.batches += 1

    # A fresh model, as in a new process, with another seed: only the restored seed
    # state can make it draw what the reference drew.
    resumed = model(seed=restart_check.SEED + 1)
    resumed.fit(x, y, batch_size=8, epochs=3, shuffle=False, verbose=0, callbacks=[backup, Count()])
    assert Count.batches == 8  # epochs 2 and 3: it resumed after epoch 1
    for a, b in zip(weights(resumed), weights(reference), strict=True):
        np.testing.assert_array_equal(a, b)
