"""randaugment: per-image RandAugment in pure TensorFlow.

`rand_augment` is the functional op for `tf.data` pipelines and graphs;
`RandAugment` is the Keras 3 layer; `OPS` is the op table and `ops` holds the pure
kernels.
"""

from randaugment import ops
from randaugment._version import __version__ as __version__
from randaugment.functional import rand_augment
from randaugment.layer import RandAugment
from randaugment.table import DEFAULT_OPS, OPS, OpSpec, available_ops

__all__ = ["DEFAULT_OPS", "OPS", "OpSpec", "RandAugment", "available_ops", "ops", "rand_augment"]
