"""Counting a batch on the host: the Swift core counts it and adds it to the
state in float64, reached from a traced step through `jax.pure_callback` /
`tf.numpy_function`, or called directly when eager."""

from __future__ import annotations

import keras
import numpy as np
from keras import ops


def _step_kind(tensor):
    """How the batch reaches the metric: "eager" (concrete values), "traced" (a
    compiled step that can call the host) or "xla" (a TensorFlow step compiled by
    XLA, `jit_compile=True`, where `tf.numpy_function` has no kernel)."""
    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        return "traced" if isinstance(tensor, jax.core.Tracer) else "eager"
    if backend == "tensorflow":
        import tensorflow as tf

        if tf.executing_eagerly():
            return "eager"
        try:
            # `tf.function(jit_compile=True)` traces inside an XLA control-flow context.
            from tensorflow.python.framework import ops as tf_ops
            from tensorflow.python.ops import control_flow_util

            in_xla = control_flow_util.GraphOrParentsInXlaContext(tf_ops.get_default_graph())
        except (ImportError, AttributeError):  # a private API moved: assume the step cannot call out
            in_xla = True
        return "xla" if in_xla else "traced"
    return "eager"


def _host_accumulate(spec, y_true, y_pred, sample_weight, hi, lo):
    """Calls `spec.accumulate` from traced or eager code on the current backend."""
    backend = keras.backend.backend()
    weighted = sample_weight is not None

    def host(*args):
        if weighted:
            yt, yp, sw, h, l = args
        else:
            (yt, yp, h, l), sw = args, None
        return spec.accumulate(yt, yp, sw, h, l)

    args = [y_true, y_pred] + ([sample_weight] if weighted else []) + [hi, lo]
    if backend == "jax":
        import jax

        shape = jax.ShapeDtypeStruct((spec.size,), np.float32)
        return jax.pure_callback(host, (shape, shape), *args, vmap_method="sequential")
    if backend == "tensorflow":
        import tensorflow as tf

        if tf.executing_eagerly():
            return tuple(ops.convert_to_tensor(a) for a in host(*[a.numpy() for a in args]))
        new_hi, new_lo = tf.numpy_function(host, args, [tf.float32, tf.float32], stateful=True)
        new_hi.set_shape((spec.size,))
        new_lo.set_shape((spec.size,))
        return new_hi, new_lo
    # torch, numpy, openvino: eager values that convert to numpy (a torch.compile'd
    # step breaks its graph here).
    new_hi, new_lo = host(*[ops.convert_to_numpy(a) for a in args])
    return ops.convert_to_tensor(new_hi), ops.convert_to_tensor(new_lo)
