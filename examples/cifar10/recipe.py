"""The training recipe shared by every arm of a run, and the presets.

A :class:`Recipe` holds everything the arms share (network, schedule, optimizer, base
augmentation, RandAugment's N and M). :func:`train_arm` trains one arm of it from a
given set of initial weights; the CLI and the sweep both use it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from examples.cifar10 import pipelines, training

# Starting values of every preset; any flag given overrides them.
PRESETS: dict[str, dict] = {
    # The published keras.io run: ResNet50V2 at 72x72 for 1 epoch, Adam, no crop.
    "keras-io": {
        "model": "resnet50v2",
        "image_size": 72,
        "epochs": 1,
        "train_subset": None,
        "eval_subset": None,
        "optimizer": "adam",
        "learning_rate": 1e-3,
        "schedule": "constant",
        "warmup_epochs": 0.0,
        "weight_decay": 0.0,
        "base_augmentation": False,
        "arms": ("simple", "randaugment"),
        "num_ops": 3,
        "magnitude": 0.8,
    },
    # The first CPU run of this example (results kept in examples/results/cpu/).
    "cpu": {
        "model": "resnet14",
        "image_size": 32,
        "epochs": 5,
        "train_subset": None,
        "eval_subset": 2000,
        "optimizer": "adam",
        "learning_rate": 1e-3,
        "schedule": "constant",
        "warmup_epochs": 0.0,
        "weight_decay": 0.0,
        "base_augmentation": False,
        "arms": ("simple", "randaugment"),
        "num_ops": 3,
        "magnitude": 0.8,
    },
    # The RandAugment and AugMix papers' CIFAR recipe at CPU scale (examples/README.md):
    # pad 4 + crop + flip for every arm, SGD with Nesterov momentum 0.9, L2 weight
    # decay 5e-4, batch 128, peak learning rate 0.1 with a cosine decay after a half-epoch
    # linear warm-up; a ResNet-8 for 7 epochs instead of a Wide-ResNet for 100-200.
    # N=2, magnitude 0.3: the best RandAugment point of the sweep on the held-out split
    # of the training set (examples/results/sweep/).
    "paper": {
        "model": "resnet8",
        "image_size": 32,
        "epochs": 7,
        "train_subset": None,
        "eval_subset": 2000,
        "optimizer": "sgd",
        "learning_rate": 0.1,
        "schedule": "cosine",
        "warmup_epochs": 0.5,
        "weight_decay": 5e-4,
        "base_augmentation": True,
        "arms": ("base", "randaugment", "simple"),
        "num_ops": 2,
        "magnitude": 0.3,
    },
}


ARM_KEYS = ("num_ops", "magnitude")


@dataclass(frozen=True)
class Recipe:
    """What every arm of a run shares. ``steps_per_epoch`` ``None``: one pass."""

    model: str
    image_size: int
    epochs: int
    batch_size: int
    optimizer: str
    learning_rate: float
    schedule: str
    warmup_epochs: float
    weight_decay: float
    base_augmentation: bool
    num_ops: int
    magnitude: float
    momentum: float = 0.9
    steps_per_epoch: int | None = None

    @classmethod
    def from_args(cls, args) -> Recipe:
        """The recipe of parsed and resolved CLI arguments."""
        fields = dataclasses.fields(cls)
        return cls(**{f.name: getattr(args, f.name) for f in fields if hasattr(args, f.name)})

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def shared_dict(self) -> dict:
        """What every arm shares: everything but RandAugment's N and M (those belong
        to the randaugment arm, see :meth:`arm_params`), so that an arm can be added to
        a run, or trained before N and M are chosen, without touching the others."""
        return {k: v for k, v in self.to_dict().items() if k not in ARM_KEYS}

    def arm_params(self, arm: str) -> dict:
        """The settings only ``arm`` uses (``{}`` for base and simple)."""
        if arm == "randaugment":
            return {"num_ops": self.num_ops, "magnitude": self.magnitude}
        if arm == "augmix":
            return dict(pipelines.AUGMIX_OPTIONS)
        if arm == "augmix_jsd":
            return {
                **pipelines.AUGMIX_OPTIONS,
                "consistency_weight": pipelines.CONSISTENCY_WEIGHT,
                "views": pipelines.JSD_VIEWS,
            }
        return {}

    def steps(self, num_examples: int) -> int:
        """Steps per epoch for ``num_examples`` training images."""
        return self.steps_per_epoch or training.steps_per_epoch(num_examples, self.batch_size)

    def build(self):
        from examples.cifar10.models import build_model

        return build_model(self.model, self.image_size)


def train_arm(
    recipe: Recipe,
    arm: str,
    x: np.ndarray,
    y: np.ndarray,
    *,
    seed: int,
    initial_weights: Path,
    validation_ds=None,
    verbose: int = 0,
    label: str | None = None,
    augmix_options: dict | None = None,
) -> training.TrainedModel:
    """Train ``arm`` of ``recipe`` on ``x, y`` from ``initial_weights`` (the seed fixes
    the order, the crops and flips, and the arm's augmentation; see ``pipelines``)."""
    steps = recipe.steps(len(x))
    one_pass = training.steps_per_epoch(len(x), recipe.batch_size)
    passes = -(-recipe.epochs * steps // one_pass)  # enough passes for every step
    ds = pipelines.train_dataset(
        arm,
        x,
        y,
        batch_size=recipe.batch_size,
        image_size=recipe.image_size,
        seed=seed,
        epochs=passes,
        num_ops=recipe.num_ops,
        magnitude=recipe.magnitude,
        base_augmentation=recipe.base_augmentation,
        augmix_options=augmix_options,
    )
    total = recipe.epochs * steps
    optimizer = training.make_optimizer(
        recipe.optimizer,
        recipe.learning_rate,
        total_steps=total,
        schedule=recipe.schedule,
        warmup_steps=min(int(round(recipe.warmup_epochs * steps)), total - 1),
        momentum=recipe.momentum,
        weight_decay=recipe.weight_decay,
    )
    import keras

    keras.utils.set_random_seed(seed)
    return training.train(
        arm,
        recipe.build,
        initial_weights,
        ds,
        epochs=recipe.epochs,
        steps_per_epoch=steps,
        validation_ds=validation_ds,
        optimizer=optimizer,
        verbose=verbose,
        label=label,
        loss=pipelines.training_loss(arm),
    )
