"""The layer and `rand_augment` under `tf.distribute.MirroredStrategy`, in a child process.

Run by `tests/test_distribute.py`: the two logical CPU devices must be configured before
TensorFlow initializes its devices, which the pytest process has long done. Prints one
JSON object on its last line of stdout; the test asserts on it.

    python tests/distribute_check.py [--quick | --jit]

`--quick` (the default suite) makes one distributed run of the layer in a model and
the same steps without a strategy; the full run adds a second fresh run
(reproducibility within a process) and `distribute_datasets_from_function` (input
pipelines built twice, on the same data and sharded); `--jit` compiles each replica's
seed folding and augmentation with XLA. (XLA cannot compile a replica's step that reads
a variable when the replicas are logical devices of one CPU: TensorFlow refuses any
Keras variable there, "Trying to access resource ... located in device CPU:1 from
device CPU:0", so the XLA run leaves the layer's state out and folds a given seed.)

Every replica gets the same images, so two replicas' outputs are equal exactly when they
drew the same ops, signs and magnitudes.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import tensorflow as tf  # noqa: E402

_CPU = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(_CPU, [tf.config.LogicalDeviceConfiguration()] * 2)
tf.get_logger().setLevel("ERROR")

import keras  # noqa: E402
import numpy as np  # noqa: E402

import randaugment  # noqa: E402
from randaugment import RandAugment, rand_augment  # noqa: E402

SEED = 1234
BATCH = 8  # per replica
SIZE = 24
STEPS = 3
DEVICES = ["/cpu:0", "/cpu:1"]


def digest(array) -> str:
    return hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()[:16]


def batch_images() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (BATCH, SIZE, SIZE, 3)).astype(np.float32)
    y = rng.integers(0, 10, BATCH).astype(np.int32)
    return x, y


def build_model():
    """The layer inside a model; the augmented images are a second output."""
    keras.utils.set_random_seed(0)
    inputs = keras.Input((SIZE, SIZE, 3))
    augmented = RandAugment(value_range=(0, 255), num_ops=2, magnitude=0.7, seed=SEED)(inputs)
    x = keras.layers.Rescaling(1 / 255)(augmented)
    x = keras.layers.GlobalAveragePooling2D()(x)
    logits = keras.layers.Dense(10)(x)
    return keras.Model(inputs, [logits, augmented]), keras.optimizers.SGD(0.1)


def make_step(model, optimizer):
    def step(x, y):
        with tf.GradientTape() as tape:
            logits, augmented = model(x, training=True)
            loss = tf.reduce_mean(
                keras.losses.sparse_categorical_crossentropy(y, logits, from_logits=True)
            )
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply(grads, model.trainable_variables)
        return augmented

    return step


def distributed_run() -> dict:
    """STEPS training steps on two replicas; every replica is fed the same batch."""
    strategy = tf.distribute.MirroredStrategy(DEVICES)
    with strategy.scope():
        model, optimizer = build_model()
    x, y = batch_images()
    xs = strategy.experimental_distribute_values_from_function(lambda _: tf.constant(x))
    ys = strategy.experimental_distribute_values_from_function(lambda _: tf.constant(y))
    step = make_step(model, optimizer)

    @tf.function
    def train_step(xs, ys):
        return strategy.run(step, args=(xs, ys))

    steps = []
    for _ in range(STEPS):
        per_replica = [t.numpy() for t in strategy.experimental_local_results(train_step(xs, ys))]
        steps.append(per_replica)
    state = [
        v.numpy().tolist()
        for v in strategy.experimental_local_results(model.layers[1].seed_state.value)
    ]
    return {
        "outputs": steps,
        "seed_state": state,
        "weights": digest(np.concatenate([w.numpy().ravel() for w in model.trainable_weights])),
    }


def single_device_run() -> list[np.ndarray]:
    """The same model and steps without a strategy: what replica 0 must reproduce."""
    model, optimizer = build_model()
    x, y = batch_images()
    step = tf.function(make_step(model, optimizer))
    return [step(tf.constant(x), tf.constant(y)).numpy() for _ in range(STEPS)]


def xla_run() -> dict:
    """Each replica folds its id into a given per-step seed and augments, compiled with
    XLA and not: the outputs must agree bit for bit."""
    from randaugment._distribute import fold_in_replica_id

    strategy = tf.distribute.MirroredStrategy(DEVICES)
    x, _ = batch_images()
    xs = strategy.experimental_distribute_values_from_function(lambda _: tf.constant(x))

    def augment(images, step):
        seed = fold_in_replica_id(tf.stack([SEED, step]))
        return rand_augment(images, value_range=(0, 255), num_ops=2, magnitude=0.7, seed=seed)

    compiled = tf.function(augment, jit_compile=True)
    plain = tf.function(augment)
    runs = {}
    for name, fn in (("xla", compiled), ("graph", plain)):
        runs[name] = []
        for t in range(STEPS):
            out = strategy.run(fn, args=(xs, tf.constant(t)))
            runs[name].append([o.numpy() for o in strategy.experimental_local_results(out)])
    return runs


def pipelines(shard: bool) -> dict:
    """`distribute_datasets_from_function`, one input pipeline per replica, each folding
    its `input_pipeline_id` into the per-batch seed."""
    strategy = tf.distribute.MirroredStrategy(DEVICES)
    rng = np.random.default_rng(1)
    images = tf.constant(rng.integers(0, 256, (64, SIZE, SIZE, 3)).astype(np.uint8))
    seen = []

    def dataset_fn(context: tf.distribute.InputContext):
        seen.append((context.input_pipeline_id, context.num_input_pipelines))
        pipeline = context.input_pipeline_id
        ds = tf.data.Dataset.from_tensor_slices((tf.range(64, dtype=tf.int64), images))
        if shard:
            ds = ds.shard(context.num_input_pipelines, pipeline)
        return (
            ds.batch(4)
            .enumerate()
            .map(
                lambda i, batch: (
                    batch[0],
                    rand_augment(
                        batch[1],
                        num_ops=2,
                        magnitude=0.7,
                        seed=tf.random.experimental.stateless_fold_in(
                            tf.stack([SEED, tf.cast(i, tf.int32)]), pipeline, alg="philox"
                        ),
                    ),
                )
            )
        )

    options = tf.distribute.InputOptions(
        experimental_replication_mode=tf.distribute.InputReplicationMode.PER_REPLICA,
        experimental_place_dataset_on_device=False,
    )
    streams = [[], []]
    for ids, images_out in strategy.distribute_datasets_from_function(dataset_fn, options):
        ids_local = strategy.experimental_local_results(ids)
        out_local = strategy.experimental_local_results(images_out)
        for r in range(2):
            streams[r].append((ids_local[r].numpy().tolist(), digest(out_local[r].numpy())))
    return {"contexts": sorted(seen), "streams": streams}


def main() -> None:
    jit = "--jit" in sys.argv
    quick = "--quick" in sys.argv
    result = {"randaugment": randaugment.__file__, "jit": jit, "quick": quick, "seconds": {}}
    clock = time.perf_counter()

    def lap(name):
        nonlocal clock
        now = time.perf_counter()
        result["seconds"][name] = round(now - clock, 2)
        clock = now

    if jit:
        runs = xla_run()
        lap("xla")
        result["xla"] = [
            {
                "same_images_across_replicas": sum(
                    bool(np.array_equal(a, b)) for a, b in zip(*xla, strict=True)
                ),
                "xla_is_graph": [
                    bool(np.array_equal(a, b)) for a, b in zip(xla, graph, strict=True)
                ],
            }
            for xla, graph in zip(runs["xla"], runs["graph"], strict=True)
        ]
        print(json.dumps(result))
        return
    first = distributed_run()
    lap("distributed_run")
    again = first if quick else distributed_run()
    lap("rerun")
    reference = single_device_run()
    lap("single_device")
    steps = []
    for t in range(STEPS):
        r0, r1 = first["outputs"][t]
        steps.append(
            {
                "same_images_across_replicas": sum(
                    bool(np.array_equal(a, b)) for a, b in zip(r0, r1, strict=True)
                ),
                "replica0_is_single_device": bool(np.array_equal(r0, reference[t])),
                "digests": [digest(r0), digest(r1)],
                "rerun_digests": [digest(o) for o in again["outputs"][t]],
            }
        )
    result.update(
        steps=steps,
        batch=BATCH,
        seed_state=first["seed_state"],
        weights=[first["weights"], again["weights"]],
    )
    if not quick:
        result["pipelines"] = [pipelines(shard=False), pipelines(shard=False)]
        result["pipelines_sharded"] = pipelines(shard=True)
        lap("pipelines")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
