"""A training run that can be stopped and resumed, for `tests/test_restart.py`.

The model holds the layer; the augmented images are its second output, so every step's
augmentation can be compared bit for bit. The images of step t are fixed by t.

    python tests/restart_check.py STEPS [--resume CKPT_PREFIX | --resume-keras FILE]
                                        [--save CKPT_PREFIX] [--save-keras FILE]

runs STEPS steps (after resuming, if asked), saves if asked, and prints one JSON line:
the digest of every step's augmented batch and of the final weights. The test runs it
in one process and across processes (interrupted, then resumed in a new process).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from randaugment import RandAugment  # noqa: E402

SEED = 77
SIZE = 16
BATCH = 8


def digest(array) -> str:
    return hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()[:16]


def batch(step: int):
    """The images and labels of step `step` (a pure function of it)."""
    rng = np.random.default_rng(step)
    x = rng.integers(0, 256, (BATCH, SIZE, SIZE, 3)).astype(np.float32)
    return tf.constant(x), tf.constant(rng.integers(0, 10, BATCH).astype(np.int32))


def build(seed: int = SEED):
    inputs = keras.Input((SIZE, SIZE, 3))
    augmented = RandAugment(value_range=(0, 255), num_ops=2, magnitude=0.8, seed=seed)(inputs)
    x = keras.layers.Rescaling(1 / 255)(augmented)
    x = keras.layers.Flatten()(x)
    logits = keras.layers.Dense(10, kernel_initializer=keras.initializers.GlorotUniform(seed=0))(x)
    model = keras.Model(inputs, [logits, augmented])
    # Plain SGD: no slot variables, so the weights continue exactly after a restart
    # whether or not the optimizer is saved with them.
    model.compile(optimizer=keras.optimizers.SGD(0.01))
    return model


class Run:
    def __init__(self, model):
        self.model = model
        self.optimizer = model.optimizer
        self.step = tf.Variable(0, dtype=tf.int64, trainable=False)  # saved with the rest

        @tf.function
        def train_step(x, y):
            with tf.GradientTape() as tape:
                logits, augmented = model(x, training=True)
                loss = tf.reduce_mean(
                    keras.losses.sparse_categorical_crossentropy(y, logits, from_logits=True)
                )
            grads = tape.gradient(loss, model.trainable_variables)
            self.optimizer.apply(grads, model.trainable_variables)
            return augmented

        self.train_step = train_step

    def checkpoint(self) -> tf.train.Checkpoint:
        return tf.train.Checkpoint(model=self.model, optimizer=self.optimizer, step=self.step)

    def train(self, steps: int) -> list[str]:
        digests = []
        for _ in range(steps):
            x, y = batch(int(self.step.numpy()))
            digests.append(digest(self.train_step(x, y).numpy()))
            self.step.assign_add(1)
        return digests

    def weights(self) -> str:
        return digest(np.concatenate([w.numpy().ravel() for w in self.model.trainable_weights]))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("steps", type=int)
    parser.add_argument("--resume")
    parser.add_argument("--resume-keras")
    parser.add_argument("--save")
    parser.add_argument("--save-keras")
    args = parser.parse_args()
    if args.resume_keras:
        model = keras.saving.load_model(args.resume_keras)
        run = Run(model)
        run.step.assign(json.loads(open(args.resume_keras + ".step").read()))
    else:
        # A resumed run is built with another seed: only the restored state can make it
        # draw what the interrupted run would have drawn.
        run = Run(build(SEED if not args.resume else SEED + 1))
        if args.resume:
            run.checkpoint().read(args.resume).assert_existing_objects_matched()
    digests = run.train(args.steps)
    if args.save:
        run.checkpoint().write(args.save)
    if args.save_keras:
        run.model.save(args.save_keras)
        with open(args.save_keras + ".step", "w") as f:
            f.write(str(int(run.step.numpy())))
    print(json.dumps({"step": int(run.step.numpy()), "digests": digests, "weights": run.weights()}))


if __name__ == "__main__":
    main()
