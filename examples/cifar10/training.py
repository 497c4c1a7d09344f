"""Train one network twice from the same saved initial weights, once per pipeline."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import keras
import tensorflow as tf

INITIAL_WEIGHTS = "initial.weights.h5"


@dataclass
class TrainedModel:
    """A trained model, its per-epoch history and its training time in seconds."""

    pipeline: str
    model: keras.Model
    history: dict[str, list[float]] = field(default_factory=dict)
    seconds: float = 0.0


def seed_everything(seed: int) -> None:
    """Fix Python, numpy and TF seeds and ask TF for deterministic kernels."""
    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


def save_initial_weights(build: Callable[[], keras.Model], output_dir: Path) -> Path:
    """Build the network once and save its freshly initialized weights."""
    path = output_dir / INITIAL_WEIGHTS
    build().save_weights(path)
    return path


def compile_model(model: keras.Model, learning_rate: float) -> None:
    """Adam, sparse categorical cross-entropy and accuracy, as the keras.io example."""
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )


def train(
    pipeline: str,
    build: Callable[[], keras.Model],
    initial_weights: Path,
    train_ds: tf.data.Dataset,
    *,
    epochs: int,
    steps_per_epoch: int,
    validation_ds: tf.data.Dataset | None,
    learning_rate: float,
    verbose: int | str = "auto",
) -> TrainedModel:
    """Build the network, load the shared initial weights and fit it on ``train_ds``.

    Args:
        pipeline: the pipeline's name, for the log.
        build: builds the (uncompiled) network.
        initial_weights: the weights saved by :func:`save_initial_weights`.
        train_ds: ``epochs * steps_per_epoch`` batches (one iterator for all epochs).
        epochs, steps_per_epoch: the fit schedule.
        validation_ds: evaluated after every epoch when given.
        learning_rate: Adam's learning rate.
        verbose: Keras' progress-bar setting.
    """
    model = build()
    model.load_weights(initial_weights)
    compile_model(model, learning_rate)
    print(f"Training with the {pipeline} pipeline: {epochs} epochs of {steps_per_epoch} steps")
    start = time.perf_counter()
    history = model.fit(
        train_ds,
        epochs=epochs,
        steps_per_epoch=steps_per_epoch,
        validation_data=validation_ds,
        shuffle=False,  # the dataset is already shuffled (statelessly, from the seed)
        verbose=verbose,
    )
    seconds = time.perf_counter() - start
    print(f"Trained the {pipeline} model in {seconds:.0f} s")
    clean = {k: [float(v) for v in vs] for k, vs in history.history.items()}
    return TrainedModel(pipeline, model, clean, seconds)


def steps_per_epoch(num_examples: int, batch_size: int) -> int:
    """Batches per pass, counting the last partial batch."""
    return max(1, math.ceil(num_examples / batch_size))


def save_histories(trained: dict[str, TrainedModel], path: Path) -> None:
    """Write ``{pipeline: {metric: [per-epoch values]}}`` as JSON."""
    path.write_text(json.dumps({k: t.history for k, t in trained.items()}, indent=2) + "\n")
