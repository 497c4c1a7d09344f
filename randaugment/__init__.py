"""randaugment: per-image RandAugment in pure TensorFlow, and its family.

`rand_augment` is the functional op for `tf.data` pipelines and graphs, `RandAugment`
the Keras 3 layer. `trivial_augment`, `aug_mix` and `auto_augment` (and the layers
`TrivialAugment`, `AugMix`, `AutoAugment`) run the other policies on the same op table
and engine; `from_timm` builds a layer from a timm config string. `OPS` is the op
table, `RANGES` the named range tables over it, and `ops` holds the pure kernels.
"""

from randaugment import losses as losses
from randaugment import ops
from randaugment._ranges import RANGES
from randaugment._version import __version__ as __version__
from randaugment.functional import rand_augment
from randaugment.layer import RandAugment
from randaugment.policies import (
    AUGMIX_ALL_OPS,
    AUGMIX_OPS,
    AUTO_AUGMENT_POLICIES,
    TRIVIAL_AUGMENT_OPS,
    aug_mix,
    auto_augment,
    trivial_augment,
)
from randaugment.policy_layers import AugMix, AutoAugment, TrivialAugment
from randaugment.table import DEFAULT_OPS, OPS, OpSpec, available_ops
from randaugment.timm import from_timm

__all__ = [
    "AUGMIX_ALL_OPS",
    "AUGMIX_OPS",
    "AUTO_AUGMENT_POLICIES",
    "DEFAULT_OPS",
    "OPS",
    "RANGES",
    "TRIVIAL_AUGMENT_OPS",
    "AugMix",
    "AutoAugment",
    "OpSpec",
    "RandAugment",
    "TrivialAugment",
    "aug_mix",
    "auto_augment",
    "available_ops",
    "from_timm",
    "ops",
    "rand_augment",
    "trivial_augment",
]
