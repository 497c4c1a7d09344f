"""Static GPU-readiness and XLA checks for traced TensorFlow functions.

Importable helper (not a test module): ``from graph_check import ...`` from the
tests (pytest puts ``tests/`` on ``sys.path`` because it has no ``__init__.py``).

Why a static check: CI has no GPU, yet the library promises that every op it
emits can run on one. The standard TensorFlow wheel is a CUDA build, so its
kernel registry lists the ``GPU`` kernels even on a CPU-only machine
(DESIGN.md section 5). We walk the traced graph, including the bodies of every
nested function (``tf.cond``/``tf.while_loop`` branches, inner ``tf.function``s),
and for each node ask the registry whether a kernel for ``device_type`` exists
whose constraints admit the node's attributes (its dtypes, and the few string
or int attributes kernels are registered for, such as GatherNd's
``bad_indices_policy``). This is what
TensorFlow's placer does when it looks for a kernel; doing it ourselves turns
"silently falls back to the CPU on a GPU machine" (or "fails to place") into a
test failure with the op and the dtype named.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable

import numpy as np
import tensorflow as tf
from tensorflow.python.framework import kernels, op_def_registry

__all__ = [
    "RUNTIME_OPS",
    "DENIED_OPS",
    "TF32_OPS",
    "gpu_kernel_violations",
    "assert_gpu_ready",
    "assert_xla_matches",
    "iter_node_defs",
]

# Ops that the runtime itself executes (function calls, control flow, graph
# inputs, no-ops). Their only registry entry is a ``DEFAULT`` kernel with no
# type constraint (or no entry at all): they are placed on whatever device
# their inputs/consumers want, and their branches/bodies are checked separately
# because we walk ``library.function[*].node_def``. An unconstrained ``DEFAULT``
# kernel is accepted ONLY for the ops listed here; everything else needs a typed
# kernel (see ``_admits``). Keep this list small.
RUNTIME_OPS: frozenset[str] = frozenset(
    {
        "Placeholder",  # graph input
        "NoOp",  # control-dependency anchor
        "If",  # tf.cond; branches are library functions, checked on their own
        "StatelessIf",
        "While",  # tf.while_loop; cond/body are library functions
        "StatelessWhile",
        "PartitionedCall",  # call of a nested tf.function
        "StatefulPartitionedCall",
        "IdentityN",  # Identity over a list (e.g. tf.custom_gradient); runtime forwards buffers
        "_Arg",  # function arguments/results inside library functions
        "_Retval",
        # Resource-variable access (a Keras layer's weights, the RandAugment layer's
        # seed state): registered once for DEFAULT with an unconstrained dtype, so
        # they run on the device that holds the variable, GPU included.
        "ReadVariableOp",
        "AssignVariableOp",
        "AssignAddVariableOp",
        "AssignSubVariableOp",
        "VarHandleOp",
        # tf.debugging.Assert (run-time checks of tensor arguments): registered once
        # for DEFAULT with its inputs in host memory, so it runs on any device, GPU
        # included (its condition and data are scalars copied to the host).
        "Assert",
    }
)

# Ops rejected even though the registry would let them through, with the reason.
DENIED_OPS: dict[str, str] = {
    # Python callbacks: the DEFAULT kernel of EagerPyFunc runs Python on the host,
    # copying every tensor across and holding the GIL; never XLA-compilable.
    "PyFunc": "Python callback (tf.numpy_function): host-only, not compilable",
    "PyFuncStateless": "Python callback (tf.numpy_function): host-only, not compilable",
    "EagerPyFunc": "Python callback (tf.py_function): host round-trip, not compilable",
    # Has a GPU kernel on paper, but the original TF RandAugment had to pin
    # sharpness' depthwise convolution to the CPU because it crashed on GPU
    # (DESIGN.md section 5; the issue forbids it explicitly).
    "DepthwiseConv2dNative": "depthwise convolution crashed on GPU in the original TF code",
}

_DEVICE_FALLBACK = "DEFAULT"


@functools.cache
def _registered_kernels(op: str) -> tuple:
    return tuple(kernels.get_registered_kernels_for_op(op).kernel)


@functools.cache
def _attr_defaults(op: str) -> dict:
    op_def = op_def_registry.get(op)
    if op_def is None:
        return {}
    return {a.name: a.default_value for a in op_def.attr if a.HasField("default_value")}


def _attr_types(node, name: str) -> list[int] | None:
    """The dtype(s) held by attribute ``name`` of ``node`` (a NodeDef), or None."""
    if name in node.attr:
        value = node.attr[name]
    else:
        value = _attr_defaults(node.op).get(name)
        if value is None:
            return None
    kind = value.WhichOneof("value")
    if kind == "type":
        return [value.type]
    if kind == "list":
        return list(value.list.type)
    return None


def _attr_value(node, name: str):
    """The AttrValue of ``name`` on ``node`` (a NodeDef), falling back to the op's default."""
    if name in node.attr:
        return node.attr[name]
    return _attr_defaults(node.op).get(name)


def _constraint_admits(constraint, node) -> bool:
    allowed = constraint.allowed_values.list
    if allowed.type:
        types = _attr_types(node, constraint.name)
        return types is not None and all(t in set(allowed.type) for t in types)
    # Non-type constraints (e.g. GatherNd's GPU kernels allow bad_indices_policy
    # "", "DEFAULT" or "IGNORE" but not "ERROR"; data_format "NHWC" only).
    value = _attr_value(node, constraint.name)
    if value is None:
        return False
    for field in ("s", "i", "f", "b"):
        options = list(getattr(allowed, field))
        if options:
            kind = value.WhichOneof("value")
            if kind == field:
                return getattr(value, field) in options
            if kind == "list":
                return all(v in options for v in getattr(value.list, field))
            return False
    return True  # an empty constraint admits anything


def _admits(kernel_def, node) -> bool:
    """Whether every constraint of ``kernel_def`` admits ``node``'s attributes."""
    if kernel_def.label:
        # Labelled kernels are only chosen when the node asks for them.
        if "_kernel" not in node.attr or node.attr["_kernel"].s.decode() != kernel_def.label:
            return False
    return all(_constraint_admits(c, node) for c in kernel_def.constraint)


def _describe(node) -> str:
    parts = []
    for name in sorted(node.attr):
        types = _attr_types(node, name)
        if types:
            parts.append(f"{name}=" + ",".join(tf.dtypes.as_dtype(t).name for t in types))
        elif node.attr[name].WhichOneof("value") == "s" and not name.startswith("_"):
            text = node.attr[name].s.decode(errors="replace")
            if text and len(text) <= 20:
                parts.append(f"{name}={text!r}")
    return f"{node.op} ({', '.join(parts) or 'no dtype attrs'})"


# Ops that GPUs since Ampere run on tensor cores in TF32 (10-bit mantissa) for float32
# by default (`tf.config.experimental.enable_tensor_float_32_execution`): not exact on
# integer data above 2048, where the kernels promise bit-identical results.
TF32_OPS: frozenset[str] = frozenset(
    {"MatMul", "BatchMatMul", "BatchMatMulV2", "BatchMatMulV3", "Conv2D", "Conv3D", "Einsum"}
)


def iter_node_defs(graph_def) -> Iterable[tuple[str, object]]:
    """Yield ``(where, node_def)`` for the top-level graph and every library function."""
    for node in graph_def.node:
        yield "graph", node
    for function in graph_def.library.function:
        for node in function.node_def:
            yield function.signature.name, node


def _ensure_xla_kernels_registered() -> str:
    """Make the registry list XLA compilation kernels; return the device type to check.

    TF registers the ``XLA_*_JIT`` kernels lazily, on the first ``jit_compile``
    call (DESIGN.md section 5), so we compile a trivial function once.
    """
    if not any(k.device_type == "XLA_GPU_JIT" for k in _registered_kernels("AddV2")):
        tf.function(lambda x: x + 1.0, jit_compile=True)(tf.constant(0.0))
        _registered_kernels.cache_clear()
    devices = {k.device_type for k in _registered_kernels("AddV2")}
    # A CUDA wheel registers XLA_GPU_JIT even without a GPU; fall back to the
    # CPU JIT registry on a CPU-only build rather than checking nothing.
    return "XLA_GPU_JIT" if "XLA_GPU_JIT" in devices else "XLA_CPU_JIT"


def gpu_kernel_violations(
    concrete_function,
    device_type: str = "GPU",
    *,
    xla: bool = True,
    runtime: bool = True,
    exact: bool = True,
) -> list[str]:
    """List every node of ``concrete_function`` that cannot run on a GPU.

    ``concrete_function`` is a ``tf.types.experimental.ConcreteFunction`` (from
    ``tf.function(f).get_concrete_function(...)``) or anything with a ``.graph``,
    or a ``tf.Graph`` / ``GraphDef``. Returns human-readable strings, one per
    distinct (function, op, dtypes) problem; empty means GPU-ready.

    Runtime check (``device_type``, default ``"GPU"``): a node is accepted when
    one of:
    - a kernel registered for ``device_type`` admits its dtype attributes;
    - a ``DEFAULT`` kernel with at least one type constraint admits them (TF
      registers int32 host-memory kernels such as Shape/Fill/Range/Reshape on
      int32 and device-agnostic ones such as EnsureShape as ``DEFAULT``; a GPU
      device falls back to them);
    - the op is in ``RUNTIME_OPS`` (then an unconstrained ``DEFAULT`` kernel or no
      registry entry is fine);
    - the op names a function of the graph's library (a direct call; its body
      is walked like any other library function).
    Ops in ``DENIED_OPS`` are always reported, and with ``exact=True`` (the
    default) float32 ``TF32_OPS``, which GPUs may run in TF32 (pass ``exact=False``
    for graphs holding a model's own layers, such as a Dense layer's matmul).

    ``runtime=False`` skips this part (for a graph traced with
    ``jit_compile=True``, which XLA compiles as a whole).

    XLA check (``xla=True``, the default): every node must also have an
    ``XLA_GPU_JIT`` compilation kernel admitting its dtypes, because the library
    promises ``jit_compile=True`` on GPU. This is what catches
    ``ImageProjectiveTransformV3``, which has a GPU runtime kernel but no XLA
    one. Only the top-level ``Placeholder``s are exempt (under ``jit_compile``
    they become the compiled program's arguments). Compile-time-constant
    requirements (e.g. a bincount ``size`` that must be static) are not
    visible statically: ``assert_xla_matches`` runs the compiled function.
    Code may branch on the XLA context (e.g. a bincount in graph mode, a segment
    sum under XLA): check the XLA part on a ``jit_compile=True`` trace, as
    ``assert_gpu_ready`` does.
    """
    if hasattr(concrete_function, "graph"):
        graph_def = concrete_function.graph.as_graph_def()
    elif isinstance(concrete_function, tf.Graph):
        graph_def = concrete_function.as_graph_def()
    else:
        graph_def = concrete_function
    library_functions = {f.signature.name for f in graph_def.library.function}
    xla_device = _ensure_xla_kernels_registered() if xla else None

    violations: list[str] = []
    seen: set[str] = set()

    def report(message: str) -> None:
        if message not in seen:
            seen.add(message)
            violations.append(message)

    for where, node in iter_node_defs(graph_def):
        if node.op in DENIED_OPS:
            report(f"{where}: {_describe(node)}: denied: {DENIED_OPS[node.op]}")
            continue
        if node.op in library_functions:
            continue
        if (
            exact
            and node.op in TF32_OPS
            and _attr_types(node, "T") == [tf.float32.as_datatype_enum]
        ):
            report(
                f"{where}: {_describe(node)} [node {node.name!r}]: float32 {node.op} runs in "
                "TF32 on GPUs since Ampere by default: inexact (use float64 or integers)"
            )
        registered = _registered_kernels(node.op)
        devices = sorted({k.device_type for k in registered}) or ["none registered"]

        runtime_ok = not runtime or (
            any(k.device_type == device_type and _admits(k, node) for k in registered)
            or any(
                k.device_type == _DEVICE_FALLBACK and k.constraint and _admits(k, node)
                for k in registered
            )
            or node.op in RUNTIME_OPS
        )
        if not runtime_ok:
            report(
                f"{where}: {_describe(node)} [node {node.name!r}]: no {device_type} kernel "
                f"for these attributes (kernels on: {', '.join(devices)})"
            )
        if xla_device is None or (where == "graph" and node.op == "Placeholder"):
            continue
        if not any(k.device_type == xla_device and _admits(k, node) for k in registered):
            report(
                f"{where}: {_describe(node)} [node {node.name!r}]: no {xla_device} kernel "
                f"for these attributes, does not compile with XLA (kernels on: {', '.join(devices)})"
            )
    return violations


def assert_gpu_ready(fn: Callable, *args) -> None:
    """Assert that ``fn`` on ``args`` (tensors or ``tf.TensorSpec``) can run on a GPU.

    Traces ``fn`` twice: as a plain ``tf.function`` (every op needs a GPU kernel)
    and with ``jit_compile=True`` (every op needs an XLA_GPU_JIT kernel). ``fn``
    should be a plain Python callable, not already a ``tf.function``.
    """
    graph = tf.function(fn).get_concrete_function(*args)
    jit = tf.function(fn, jit_compile=True).get_concrete_function(*args)
    violations = gpu_kernel_violations(graph, xla=False) + [
        f"[jit_compile=True trace] {v}" for v in gpu_kernel_violations(jit, runtime=False)
    ]
    assert not violations, "ops without a GPU kernel:\n  " + "\n  ".join(violations)


def _bits(x) -> np.ndarray:
    a = np.asarray(x)
    if a.dtype.kind == "f":
        return a.view(np.dtype(f"u{a.dtype.itemsize}"))
    return a


def assert_xla_matches(fn: Callable, *args):
    """Run ``fn`` with ``tf.function`` and with ``jit_compile=True``; assert bit-identical.

    Returns the graph-mode output (numpy, same nesting as ``fn``'s output).
    ``fn`` should not already be a ``tf.function``.
    """
    graph_out = tf.function(fn, jit_compile=False)(*args)
    xla_out = tf.function(fn, jit_compile=True)(*args)
    graph_flat = tf.nest.flatten(graph_out)
    xla_flat = tf.nest.flatten(xla_out)
    assert len(graph_flat) == len(xla_flat)
    for i, (g, x) in enumerate(zip(graph_flat, xla_flat, strict=True)):
        g, x = np.asarray(g), np.asarray(x)
        assert g.dtype == x.dtype, f"output {i}: dtype {g.dtype} (graph) vs {x.dtype} (XLA)"
        assert g.shape == x.shape, f"output {i}: shape {g.shape} (graph) vs {x.shape} (XLA)"
        differ = _bits(g) != _bits(x)
        if differ.any():
            idx = tuple(int(v) for v in np.argwhere(differ)[0])
            raise AssertionError(
                f"output {i}: graph and XLA differ on {int(differ.sum())} of {differ.size} "
                f"elements; first at {idx}: graph {g[idx]!r}, XLA {x[idx]!r}"
            )
    return tf.nest.map_structure(np.asarray, graph_out)
