"""CIFAR-10 versus CIFAR-10-C: a simple augmentation against RandAugment.

Run ``python -m examples.cifar10 --help``. The package reproduces the keras.io example
"RandAugment for image classification for improved robustness" with this library's
``rand_augment`` op, and evaluates both models on every CIFAR-10-C corruption and
severity. Modules, one concern each:

- ``data``: CIFAR-10 python-version files (download, restricted unpickler).
- ``cifar10c``: CIFAR-10-C from a released folder, tfds, or generated locally.
- ``models``: the networks (ResNet50V2 as on keras.io, small CIFAR ResNets, a tiny CNN).
- ``pipelines``: the two ``tf.data`` training pipelines and the evaluation pipeline.
- ``training``: one network built twice from the same saved initial weights.
- ``evaluation``: clean and corrupted accuracy, and the summaries.
- ``reporting``: results.json, results.md and the figures.
- ``cli``: the command line and the presets.
"""
