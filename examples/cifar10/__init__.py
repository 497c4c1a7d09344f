"""CIFAR-10 versus CIFAR-10-C: what RandAugment does under the papers' recipe.

Run ``python -m examples.cifar10 --help``. The package trains one network per
augmentation arm (the papers' crop and flip alone, with RandAugment, with keras.io's
simple augmentation, with the library's AugMix) from the same initial
weights, over several seeds, and evaluates every model on every CIFAR-10-C corruption
and severity. Modules, one concern each:

- ``data``: CIFAR-10 python-version files (download, restricted unpickler).
- ``cifar10c``: CIFAR-10-C from a released folder, tfds, or generated locally.
- ``corruptions``, ``make_cifar10c``: the 19 corruptions, and a CIFAR-10-C folder.
- ``models``: the networks (ResNet50V2 as on keras.io, small CIFAR ResNets, a tiny CNN).
- ``pipelines``: the arms' ``tf.data`` training pipelines and the evaluation pipeline.
- ``training``: the optimizers, the schedule, and training from saved initial weights.
- ``recipe``: the presets and the recipe every arm of a run shares.
- ``runs``: the run directory (per seed and arm), resumable and extensible.
- ``evaluation``: clean and corrupted accuracy, and the summaries.
- ``aggregate``: mean and standard deviation over seeds, and paired differences.
- ``reporting``: results.json, results.md and the figures.
- ``sweep``: N and magnitude chosen on a held-out part of the training set.
- ``cli``: the command line.
"""
