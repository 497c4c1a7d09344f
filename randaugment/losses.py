"""The Jensen-Shannon consistency loss of AugMix (Hendrycks et al., 2020), in `keras.ops`.

AugMix trains on three views of every image, the clean one and two AugMix draws, and
adds to the cross-entropy of the clean view a penalty on how much the model's class
distributions on the three views disagree:

    loss = CE(p_clean, y) + lambda * JS(p_clean, p_aug1, p_aug2)
    JS(p_1, ..., p_k) = (1 / k) * sum_i KL(p_i || M),    M = (1 / k) * sum_i p_i

with lambda = 12 in the paper. Everything here is written with `keras.ops`, so it runs
under every Keras backend (TensorFlow, JAX, PyTorch). The recipe (three views made in
`tf.data`, one forward pass on their concatenation) is in `docs/policies.md`.
"""

from __future__ import annotations

import math

import keras
from keras import ops

__all__ = ["AugMixConsistencyLoss", "jensen_shannon_consistency"]

# log(0) guard for probabilities given as such: a class of probability 0 adds
# 0 * (finite) = 0 to a KL term, as its limit says, and keeps finite gradients.
_TINY = 1e-30


def _compatible(a: tuple, b: tuple) -> bool:
    """Same rank, and every dimension known in both equal."""
    return len(a) == len(b) and all(
        x is None or y is None or x == y for x, y in zip(a, b, strict=True)
    )


def _log_probs(x, from_logits: bool):
    x = ops.convert_to_tensor(x)
    if x.dtype not in ("float32", "float64"):
        x = ops.cast(x, "float32")  # float16 / bfloat16 logits: sums and logs in float32
    if from_logits:
        return ops.log_softmax(x, axis=-1)
    return ops.log(ops.maximum(x, _TINY))


def jensen_shannon_consistency(*views, from_logits: bool = True):
    """The Jensen-Shannon divergence of the views' class distributions, per example.

    `JS(p_1, ..., p_k) = mean_i KL(p_i || M)` with `M = mean_i p_i`, the paper's
    consistency term (for AugMix, k = 3 views: clean, augmented, augmented again). It is
    0 when every view gives the same distribution, positive otherwise, at most
    `log(k)`, and symmetric in the views. It is computed from log-probabilities
    (`log M` as a log-sum-exp), so it needs no clamping, and takes any number of
    views >= 2.

    Args:
        *views: two or more tensors of the same shape `[..., num_classes]`: logits
            (`from_logits=True`, the default) or probabilities (each row summing to 1).
        from_logits: whether the views are logits (softmax applied here) or
            probabilities.

    Returns:
        The divergence per example, shape `views[0].shape[:-1]`, in nats, float32
        (float64 for float64 inputs). Average it over the batch for the paper's
        term (its reference code's `reduction='batchmean'`).

    Example:
        >>> import numpy as np
        >>> from randaugment.losses import jensen_shannon_consistency
        >>> clean = np.array([[2.0, 0.0, -1.0], [0.5, 0.5, 0.5]])
        >>> js = jensen_shannon_consistency(clean, clean, clean)
        >>> np.asarray(js).round(6).tolist()
        [0.0, 0.0]
        >>> float(np.asarray(jensen_shannon_consistency(clean, clean[::-1], clean))[0]) > 0
        True
    """
    if len(views) < 2:
        raise ValueError(
            "`jensen_shannon_consistency` needs two or more views (for AugMix: clean, "
            f"augmented, augmented again). Received: {len(views)} view(s)"
        )
    views = [ops.convert_to_tensor(v) for v in views]
    # Static shapes: a dimension unknown at trace time (a batch of None inside
    # tf.data or a tf.function) is None here and matches any size.
    shapes = [tuple(None if d is None else int(d) for d in v.shape) for v in views]
    if not all(_compatible(shapes[0], s) for s in shapes[1:]):
        raise ValueError(
            f"The views of `jensen_shannon_consistency` must have one shape. Received: shapes={shapes}"
        )
    log_p = ops.stack([_log_probs(v, from_logits) for v in views], axis=0)  # [k, ..., C]
    k = len(views)
    log_m = ops.logsumexp(log_p, axis=0) - math.log(k)  # log of the mean distribution
    p = ops.exp(log_p)
    kl = ops.sum(p * (log_p - log_m[None]), axis=-1)  # KL(p_i || M), [k, ...]
    return ops.mean(kl, axis=0)


@keras.saving.register_keras_serializable(package="randaugment")
class AugMixConsistencyLoss(keras.losses.Loss):
    """AugMix's training loss: cross-entropy on the clean view plus `weight` times the
    Jensen-Shannon consistency of all views.

    The model sees the views of one batch concatenated along the batch axis, in the
    order clean, augmented, augmented again (`num_views` equal parts), so that one
    forward pass gives the logits of all of them. The per-example loss of the clean
    image b is `CE(p_clean[b], y[b]) + weight * JS(p_clean[b], p_aug1[b], p_aug2[b])`,
    averaged over the clean batch as the paper's code does (its lambda is 12).

    `y_true` may hold the labels of the clean batch only, or those of all the views
    (the clean labels repeated, which keeps Keras's batch sizes equal): the first
    `batch / num_views` rows are used. Pass no `sample_weight` of the concatenated
    batch's length (the loss has one value per clean image).

    Args:
        weight: lambda, the weight of the consistency term (default 12, the paper's).
        num_views: views per image in `y_pred` (default 3: clean, augmented twice).
        from_logits: whether `y_pred` holds logits (default) or probabilities.
        sparse: integer labels (default) or one-hot / soft labels.
        name, reduction, dtype: as for every `keras.losses.Loss`.

    Example:
        >>> import numpy as np
        >>> from randaugment.losses import AugMixConsistencyLoss
        >>> logits = np.array([[2.0, -1.0], [2.0, -1.0], [2.0, -1.0]])  # 3 views of 1 image
        >>> loss = AugMixConsistencyLoss()
        >>> round(float(loss(np.array([0, 0, 0]), logits)), 4)  # equal views: plain CE
        0.0486
    """

    def __init__(
        self,
        weight: float = 12.0,
        num_views: int = 3,
        from_logits: bool = True,
        sparse: bool = True,
        name: str = "augmix_consistency",
        reduction: str = "sum_over_batch_size",
        dtype=None,
    ):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        if isinstance(weight, bool) or not isinstance(weight, (int, float)) or weight < 0:
            raise ValueError(f"`weight` must be a number >= 0. Received: weight={weight!r}")
        if isinstance(num_views, bool) or not isinstance(num_views, int) or num_views < 2:
            raise ValueError(
                f"`num_views` must be an integer >= 2. Received: num_views={num_views!r}"
            )
        self.weight = float(weight)
        self.num_views = num_views
        self.from_logits = bool(from_logits)
        self.sparse = bool(sparse)

    def call(self, y_true, y_pred):
        views = ops.split(y_pred, self.num_views, axis=0)
        batch = ops.shape(views[0])[0]
        labels = y_true[:batch]
        if self.sparse:
            ce = keras.losses.sparse_categorical_crossentropy(
                labels, views[0], from_logits=self.from_logits
            )
        else:
            ce = keras.losses.categorical_crossentropy(
                labels, views[0], from_logits=self.from_logits
            )
        js = jensen_shannon_consistency(*views, from_logits=self.from_logits)
        return ops.cast(ce, js.dtype) + self.weight * js

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "weight": self.weight,
                "num_views": self.num_views,
                "from_logits": self.from_logits,
                "sparse": self.sparse,
            }
        )
        return config
