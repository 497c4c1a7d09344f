"""Per-replica seeds for the layer under `tf.distribute`.

Under a `tf.distribute` strategy every replica holds its own copy of the layer's
`seed_state` and advances it once per step, so the copies stay equal and every replica
would read the same per-call seed: replicas would draw the same ops, signs and
magnitudes for the images at the same batch positions. `fold_in_replica_id` gives each
replica its own seed from the shared one.
"""

from __future__ import annotations

import tensorflow as tf


def fold_in_replica_id(seed: tf.Tensor) -> tf.Tensor:
    """The per-call seed of this replica: `seed` itself on replica 0 and outside any
    strategy, a seed derived from `seed` and the replica id on the other replicas.

    Replica 0, a call in the cross-replica context (outside `strategy.run`) and a call
    without a strategy return `seed` unchanged, so they draw exactly what a run without
    `tf.distribute` draws. Other replicas fold their `replica_id_in_sync_group` in with
    `tf.random.experimental.stateless_fold_in` (Philox, named so that every device and
    XLA compute the same seed), kept in [0, 2**31) like the layer's own seeds: with a
    negative component, TensorFlow 2.21's stateless ops draw differently under XLA than
    in graph mode. The id is global across the hosts of a multi-worker strategy, so no
    two replicas of a step share a seed.

    Args:
        seed: int32 `[2]` tensor, the per-call seed read from the layer's state.

    Returns:
        An int32 `[2]` tensor.
    """
    context = tf.distribute.get_replica_context()
    if context is None or context.num_replicas_in_sync == 1:
        return seed
    replica = tf.cast(context.replica_id_in_sync_group, seed.dtype)
    folded = tf.random.experimental.stateless_fold_in(seed, replica, alg="philox")
    folded = tf.bitwise.bitwise_and(folded, tf.constant(2**31 - 1, seed.dtype))
    return tf.where(tf.equal(replica, 0), seed, folded)
