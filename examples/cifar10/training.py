"""Train one network per arm from the same saved initial weights.

Two recipes:

- ``adam`` with a constant learning rate: the keras.io example (presets ``keras-io``
  and ``cpu``).
- ``sgd``: the CIFAR recipe of the RandAugment and AugMix papers (preset ``paper``):
  SGD with Nesterov momentum 0.9 and an L2 weight decay added to the gradient, as
  PyTorch's ``SGD(weight_decay=...)`` in the AugMix code (:class:`SGDL2`), under a
  cosine decay with a linear warm-up (:class:`WarmupCosine`).
"""

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


def save_initial_weights(build: Callable[[], keras.Model], path: Path) -> Path:
    """Build the network once and save its freshly initialized weights to ``path``
    (a folder gets :data:`INITIAL_WEIGHTS` inside it)."""
    path = Path(path)
    if path.is_dir():
        path = path / INITIAL_WEIGHTS
    build().save_weights(path)
    return path


@keras.saving.register_keras_serializable(package="examples.cifar10")
class WarmupCosine(keras.optimizers.schedules.LearningRateSchedule):
    """Linear warm-up to ``peak``, then a cosine decay to 0 at ``total_steps``.

    Step ``t`` (counted from 0, the first update) gets ``peak * (t + 1) / warmup`` while
    ``t < warmup``, then ``peak * (1 + cos(pi * (t - warmup) / (total - warmup))) / 2``.
    The warm-up starts above 0 so that no update is wasted.
    """

    def __init__(self, peak: float, total_steps: int, warmup_steps: int = 0) -> None:
        if total_steps < 1 or not 0 <= warmup_steps < total_steps:
            raise ValueError(
                "need 0 <= warmup_steps < total_steps and total_steps >= 1. Received: "
                f"warmup_steps={warmup_steps}, total_steps={total_steps}"
            )
        self.peak = float(peak)
        self.total_steps = int(total_steps)
        self.warmup_steps = int(warmup_steps)

    def __call__(self, step):
        step = tf.cast(step, tf.float32)
        warmup = float(self.warmup_steps)
        decay = float(self.total_steps - self.warmup_steps)
        rising = self.peak * (step + 1.0) / max(warmup, 1.0)
        progress = tf.clip_by_value((step - warmup) / decay, 0.0, 1.0)
        cosine = self.peak * 0.5 * (1.0 + tf.cos(math.pi * progress))
        return tf.where(step < warmup, rising, cosine)

    def get_config(self) -> dict:
        return {
            "peak": self.peak,
            "total_steps": self.total_steps,
            "warmup_steps": self.warmup_steps,
        }


@keras.saving.register_keras_serializable(package="examples.cifar10")
class SGDL2(keras.optimizers.SGD):
    """SGD whose weight decay is an L2 term added to the gradient before momentum.

    ``g <- g + l2 * w`` for every trainable variable, then Keras' (Nesterov) momentum
    step. This is PyTorch's ``torch.optim.SGD(weight_decay=l2)``, the optimizer of the
    AugMix CIFAR code, and the gradient of ``l2 / 2 * ||w||^2``; Keras' own
    ``weight_decay`` argument is decoupled (``w -= lr * wd * w`` outside the momentum),
    which with momentum 0.9 decays about ten times less.
    """

    def __init__(self, *args, l2: float = 0.0, **kwargs) -> None:
        if kwargs.get("weight_decay"):
            raise ValueError(
                "SGDL2 takes its weight decay as l2=, not weight_decay=. Received: "
                f"weight_decay={kwargs['weight_decay']}"
            )
        super().__init__(*args, **kwargs)
        self.l2 = float(l2)

    def update_step(self, gradient, variable, learning_rate):
        if self.l2:
            gradient = gradient + keras.ops.cast(self.l2, variable.dtype) * variable
        super().update_step(gradient, variable, learning_rate)

    def get_config(self) -> dict:
        return {**super().get_config(), "l2": self.l2}


def make_optimizer(
    name: str,
    learning_rate: float,
    *,
    total_steps: int,
    schedule: str = "constant",
    warmup_steps: int = 0,
    momentum: float = 0.9,
    weight_decay: float = 0.0,
) -> keras.optimizers.Optimizer:
    """``adam`` (constant rate, keras.io) or ``sgd`` (Nesterov, L2 weight decay).

    Args:
        name: ``adam`` or ``sgd``.
        learning_rate: the constant rate, or the peak of the cosine schedule.
        total_steps: training steps in all (for the schedule).
        schedule: ``constant`` or ``cosine`` (:class:`WarmupCosine`).
        warmup_steps: linear warm-up steps of the cosine schedule.
        momentum: SGD's Nesterov momentum.
        weight_decay: SGD's L2 coefficient (:class:`SGDL2`); must be 0 for Adam.

    Raises:
        ValueError: unknown name or schedule, or weight decay with Adam.
    """
    if schedule == "cosine":
        rate = WarmupCosine(learning_rate, total_steps, warmup_steps)
    elif schedule == "constant":
        rate = learning_rate
    else:
        raise ValueError(
            f"schedule must be 'constant' or 'cosine'. Received: schedule={schedule!r}"
        )
    if name == "adam":
        if weight_decay:
            raise ValueError(
                f"weight decay is only implemented for sgd. Received: weight_decay={weight_decay}"
            )
        return keras.optimizers.Adam(rate)
    if name == "sgd":
        return SGDL2(rate, momentum=momentum, nesterov=True, l2=weight_decay)
    raise ValueError(f"optimizer must be 'adam' or 'sgd'. Received: optimizer={name!r}")


class ProgressLog(keras.callbacks.Callback):
    """One line per epoch (and a short one every ``every`` steps), flushed, for logs.

    Each epoch line has the arm, the epoch, the metrics, the learning rate and the
    elapsed time, so a long run in the background can be followed with ``tail -f``.
    """

    def __init__(self, label: str, epochs: int, steps: int, every: int = 100) -> None:
        super().__init__()
        self.label, self.epochs, self.steps, self.every = label, epochs, steps, every
        self.start = time.perf_counter()
        self.epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self.every and (batch + 1) % self.every == 0 and batch + 1 < self.steps:
            acc = (logs or {}).get("accuracy")
            acc_text = f", accuracy {acc:.4f}" if acc is not None else ""
            print(
                f"  [{self.label}] epoch {self.epoch + 1}/{self.epochs} step {batch + 1}/"
                f"{self.steps}{acc_text} ({time.perf_counter() - self.start:.0f} s)",
                flush=True,
            )

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        rate = self.model.optimizer.learning_rate
        metrics = ", ".join(f"{k} {float(v):.4f}" for k, v in logs.items() if k != "learning_rate")
        print(
            f"[{self.label}] epoch {epoch + 1}/{self.epochs}: {metrics}, "
            f"learning rate now {float(rate):.5f} ({time.perf_counter() - self.start:.0f} s)",
            flush=True,
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
    optimizer: keras.optimizers.Optimizer,
    verbose: int | str = 0,
    label: str | None = None,
    loss="sparse_categorical_crossentropy",
) -> TrainedModel:
    """Build the network, load the shared initial weights and fit it on ``train_ds``.

    Args:
        pipeline: the arm's name, for the log.
        build: builds the (uncompiled) network.
        initial_weights: the weights saved by :func:`save_initial_weights`.
        train_ds: ``epochs * steps_per_epoch`` batches (one iterator for all epochs).
        epochs, steps_per_epoch: the fit schedule.
        validation_ds: evaluated after every epoch when given.
        optimizer: from :func:`make_optimizer` (a fresh one per model).
        verbose: Keras' progress-bar setting (:class:`ProgressLog` prints a line per
            epoch whatever it is).
        label: the log's name for this model (default ``pipeline``).
        loss: the training loss (``pipelines.training_loss`` of the arm).
    """
    model = build()
    model.load_weights(initial_weights)
    model.compile(
        optimizer=optimizer,
        loss=loss,
        metrics=["accuracy"],
    )
    label = label or pipeline
    print(f"[{label}] training: {epochs} epochs of {steps_per_epoch} steps", flush=True)
    start = time.perf_counter()
    history = model.fit(
        train_ds,
        epochs=epochs,
        steps_per_epoch=steps_per_epoch,
        validation_data=validation_ds,
        shuffle=False,  # the dataset is already shuffled (statelessly, from the seed)
        verbose=verbose,
        callbacks=[ProgressLog(label, epochs, steps_per_epoch)],
    )
    seconds = time.perf_counter() - start
    print(f"[{label}] trained in {seconds:.0f} s", flush=True)
    clean = {k: [float(v) for v in vs] for k, vs in history.history.items()}
    return TrainedModel(pipeline, model, clean, seconds)


def steps_per_epoch(num_examples: int, batch_size: int) -> int:
    """Batches per pass, counting the last partial batch."""
    return max(1, math.ceil(num_examples / batch_size))


def save_histories(trained: dict[str, TrainedModel], path: Path) -> None:
    """Write ``{pipeline: {metric: [per-epoch values]}}`` as JSON."""
    path.write_text(json.dumps({k: t.history for k, t in trained.items()}, indent=2) + "\n")
