"""What the Keras layers share: the per-call seed state under every Keras backend,
the bridge from backend tensors to TensorFlow, and Keras's dtype conventions.

Under every backend the augmentation runs as TensorFlow ops. Inside `tf.data` (or any
TF graph) the inputs are TF tensors whatever the backend, as for Keras's own
preprocessing layers. Outside TF, under JAX or PyTorch, concrete arrays are copied
through NumPy to TensorFlow and back (eager calls, and a model's train step run
without compilation); arrays being traced by `jax.jit` (a model's train step under
JAX, compiled by default) cannot run TF ops, and the layer says so at once with the
one line that maps it in `tf.data` instead. (`torch.compile` breaks its graph at the
layer and runs it eagerly, through the bridge.)
"""

from __future__ import annotations

import sys

import keras
import numpy as np
import tensorflow as tf

from randaugment._arguments import nondeterministic_key
from randaugment._distribute import fold_in_replica_id


def tf_backend() -> bool:
    return keras.backend.backend() == "tensorflow"


class SeedState:
    """The layer's per-call seed: a Philox counter state `[counter, 0, key]` that one op
    reads and advances under a lock (`RngReadAndSkip`), so calls running in parallel (a
    `tf.data` map with `num_parallel_calls`) never share a seed. (`keras.random.
    SeedGenerator` reads and increments in separate ops, and raced there: 10 of 48
    batches repeated another's draws.)

    Under the TensorFlow backend it is the layer's one non-trainable Keras weight,
    `seed_state` (saved in `.keras` files and TF checkpoints, mirrored by
    `tf.distribute`). Under JAX and PyTorch, a Keras variable is not a TF resource, so
    the state is a `tf.Variable` that the layer saves and loads itself, under the same
    key as the weight would have ("0"): a `.keras` file written under one backend loads
    under the others.
    """

    def __init__(self, layer: keras.layers.Layer, seed: int | None):
        key = nondeterministic_key() if seed is None else seed
        initial = np.array([0, 0, key], np.int64)
        if tf_backend():
            self.variable = layer.add_weight(
                name="seed_state",
                shape=(3,),
                dtype="int64",
                initializer=keras.initializers.Constant(initial),
                trainable=False,
            )
            self.resource = None
        else:
            self.variable = None
            with tf.init_scope():
                self.resource = tf.Variable(initial, trainable=False, name="seed_state")

    def next_seed(self) -> tf.Tensor:
        """The next per-call seed, int32 `[2]` (key, counter)."""
        handle = self.variable.handle if self.resource is None else self.resource.handle
        state = tf.raw_ops.RngReadAndSkip(
            resource=handle, alg=tf.constant(1), delta=tf.constant(1, tf.uint64)
        )
        # (key, counter) as an int32 pair: stateless XLA ops want int32 seeds. Under
        # tf.distribute every replica advances its own copy of the state in step: the
        # replica id is folded in so that replicas draw their own ops.
        return fold_in_replica_id(tf.cast(tf.stack([state[2], state[0]]) % (2**31), tf.int32))

    def save(self, store) -> bool:
        """Writes the state (non-TF backends); False when Keras saves it itself."""
        if self.resource is None:
            return False
        store["0"] = self.resource.numpy()
        return True

    def load(self, store) -> bool:
        if self.resource is None:
            return False
        if "0" not in store:
            raise ValueError(
                f"The saved layer has no seed state. Received: saved variables "
                f"{sorted(store.keys())}"
            )
        self.resource.assign(np.asarray(store["0"], np.int64))
        return True


def _module(x) -> str:
    return type(x).__module__ or ""


def _is_jax_tracer(x) -> bool:
    if "jax" not in sys.modules:
        return False
    import jax

    return isinstance(x, jax.core.Tracer)


def _torch_compiling() -> bool:
    if "torch" not in sys.modules:
        return False
    import torch

    return bool(torch.compiler.is_compiling())


def _traced_error(layer_name: str, x) -> RuntimeError:
    backend = keras.backend.backend()
    return RuntimeError(
        f"{layer_name} runs TensorFlow ops, which cannot run on arrays that {backend} is "
        f"tracing (jax.jit or torch.compile: a model's compiled train step under "
        f'KERAS_BACKEND="{backend}"). Map the layer in your tf.data '
        "input pipeline instead, which works under every Keras backend:\n"
        "    ds = ds.map(lambda x, y: (layer(x), y), num_parallel_calls=tf.data.AUTOTUNE)\n"
        f"Received: inputs of type {type(x).__module__}.{type(x).__name__}"
    )


def to_tensorflow(inputs, layer_name: str):
    """TF tensors for the inputs, and a function that gives outputs back as the
    caller's kind of tensor.

    TF tensors (any backend) pass as they are. NumPy arrays, and concrete JAX arrays
    and PyTorch tensors in eager calls, go through NumPy. Arrays being traced by JAX or
    PyTorch's compiler raise a RuntimeError that shows the `tf.data` recipe.
    """
    leaves = tf.nest.flatten(inputs)
    if all(isinstance(x, (tf.Tensor, tf.RaggedTensor, tf.Variable)) for x in leaves):
        return inputs, lambda outputs: outputs
    for x in leaves:
        if _is_jax_tracer(x) or (_module(x).startswith("torch") and _torch_compiling()):
            raise _traced_error(layer_name, x)
        if isinstance(x, keras.KerasTensor):
            raise TypeError(
                f"{layer_name}.call received a symbolic KerasTensor; call the layer itself "
                "(it computes output specs without running). Received: KerasTensor"
            )

    def as_numpy(x):
        if _module(x).startswith("torch"):
            return x.detach().cpu().numpy()
        return np.asarray(x)

    converted = tf.nest.map_structure(lambda x: tf.convert_to_tensor(as_numpy(x)), inputs)
    if not tf.executing_eagerly() or tf_backend():
        return converted, lambda outputs: outputs

    def back(outputs):
        return tf.nest.map_structure(lambda t: keras.ops.convert_to_tensor(t.numpy()), outputs)

    return converted, back


def run_graph(layer: keras.layers.Layer, fn, inputs):
    """`fn(inputs)`; in eager mode as a `tf.function` kept on the layer (one op at a
    time, the hundreds of small ops of an augmentation cost about 30 times more:
    measured with `python -m benchmarks.backends`)."""
    if not tf.executing_eagerly():
        return fn(inputs)
    cache = layer.__dict__.setdefault("_randaugment_graphs", {})
    if fn.__name__ not in cache:
        cache[fn.__name__] = tf.function(fn, reduce_retracing=True, autograph=False)
    return cache[fn.__name__](inputs)


def output_dtype(layer: keras.layers.Layer, dtype) -> str:
    """Keras's convention: float inputs come back in the compute dtype (float16 or
    bfloat16 under mixed policies); integer inputs (uint8 above all, what a `tf.data`
    pipeline feeds) keep their dtype."""
    dtype = tf.as_dtype(dtype)
    return layer.compute_dtype if dtype.is_floating else dtype.name


def cast_floats(layer: keras.layers.Layer, outputs):
    """The images (alone, or a dict's "images") in the dtype Keras's conventions
    give; labels, boxes and masks keep theirs."""

    def cast(t):
        target = output_dtype(layer, t.dtype)
        return t if t.dtype.name == target else tf.cast(t, target)

    if isinstance(outputs, dict):
        return {**outputs, "images": cast(outputs["images"])}
    return cast(outputs)


def output_spec(layer: keras.layers.Layer, inputs):
    """`compute_output_spec` of an augmentation layer: the inputs' shapes, the images'
    dtype by Keras's conventions, other keys' dtypes unchanged."""

    def spec(t, dtype=None):
        return keras.KerasTensor(
            t.shape, dtype=dtype or t.dtype, ragged=getattr(t, "ragged", False)
        )

    if isinstance(inputs, dict):
        out = {k: tf.nest.map_structure(spec, v) for k, v in inputs.items()}
        out["images"] = spec(inputs["images"], output_dtype(layer, inputs["images"].dtype))
        return out
    return spec(inputs, output_dtype(layer, inputs.dtype))
