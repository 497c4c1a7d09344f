"""torchvision side of the benchmark, in its own process.

torch (through triton) and TensorFlow crash when imported into one process
here (a segmentation fault while importing ``torchvision`` after
``tensorflow``), and a ``DataLoader`` forking a process that holds
TensorFlow's thread pools is fragile anyway.  So the harness starts this
module once as a child process (``python -m benchmarks.torch_runner``) and
sends it one JSON command per line on stdin; each answer is one JSON line on
stdout.  The child is idle between commands, so measurements interleave with
the tf.data ones exactly as the others do.

Commands: ``{"cmd": "setup", "kind", "n", "size", "seed"}`` builds the same
images as the parent (same generator, same seed); ``visit`` and ``epoch``
mirror :mod:`benchmarks.measure`, with the transform named by their
``"transform"`` key (one of ``TRANSFORMS``; ``rand_augment`` when absent);
``quit`` ends.
"""

from __future__ import annotations

import json
import sys
import time
import traceback

import numpy as np

from benchmarks.data import make_images
from benchmarks.timing import windows_after_warmup

WORKERS = 2


class _Images:
    """Map-style dataset over an NHWC uint8 array; index ``i`` wraps around."""

    def __init__(self, x: np.ndarray, transform, length: int):
        self.x = x
        self.transform = transform
        self.length = length

    def __len__(self):
        return self.length

    def __getitem__(self, i):
        import torch

        img = torch.from_numpy(self.x[i % len(self.x)]).permute(2, 0, 1)
        return self.transform(img)


FILL = [128, 128, 128]  # the fill of the TF implementations


def _rand_augment():
    from torchvision.transforms import v2

    # magnitude 24 of the bins 0..30 (num_magnitude_bins=31) is 0.8 of each
    # op's range.
    return v2.RandAugment(num_ops=3, magnitude=24, num_magnitude_bins=31, fill=FILL)


def _trivial_augment():
    from torchvision.transforms import v2

    return v2.TrivialAugmentWide(fill=FILL)  # 31 bins, nearest: its defaults


def _auto_augment():
    from torchvision.transforms import v2

    return v2.AutoAugment(v2.AutoAugmentPolicy.IMAGENET, fill=FILL)


def _aug_mix():
    from torchvision.transforms import v2

    # severity 3, width 3, depth -1, alpha 1 are its defaults; all_ops=False is the
    # paper's op list, which randaugment.aug_mix draws from by default.
    return v2.AugMix(severity=3, mixture_width=3, chain_depth=-1, all_ops=False, fill=FILL)


TRANSFORMS = {
    "rand_augment": _rand_augment,
    "trivial_augment": _trivial_augment,
    "auto_augment": _auto_augment,
    "aug_mix": _aug_mix,
}


def _transform(name: str = "rand_augment"):
    return TRANSFORMS[name]()


def _loader(x, length, batch_size, transform="rand_augment"):
    import torch.utils.data

    return torch.utils.data.DataLoader(
        _Images(x, _transform(transform), length),
        batch_size=batch_size,
        shuffle=False,
        num_workers=WORKERS,
    )


def visit(x, batch_size, warmup, windows, window_s, slow_batch_s, transform="rand_augment"):
    # Enough indices for any plausible visit; the iterator is dropped early.
    loader = _loader(x, 10_000 * batch_size, batch_size, transform)
    t0 = time.perf_counter()
    it = iter(loader)
    next(it)
    first = time.perf_counter() - t0
    out = windows_after_warmup(it, batch_size, warmup, windows, window_s, slow_batch_s)
    del it
    return {"first_batch_s": first, **out}


def epoch(x, n_images, batch_size, transform="rand_augment"):
    loader = _loader(x[:n_images], n_images, batch_size, transform)
    t0 = time.perf_counter()
    for _ in loader:
        pass
    t1 = time.perf_counter()
    return {"seconds": t1 - t0, "rate": n_images / (t1 - t0)}


def main() -> None:
    out = sys.stdout
    sys.stdout = sys.stderr  # keep stray prints off the protocol channel
    data: dict[int, np.ndarray] = {}
    for line in sys.stdin:
        if not line.strip():
            continue
        msg = json.loads(line)
        try:
            cmd = msg["cmd"]
            if cmd == "quit":
                break
            if cmd == "setup":
                import torch
                import torchvision

                data[msg["size"]] = make_images(msg["kind"], msg["n"], msg["size"], msg["seed"])
                _transform()
                reply = {
                    "ok": True,
                    "torch": torch.__version__,
                    "torchvision": torchvision.__version__,
                }
            else:
                x = data[msg["size"]]
                b = msg["batch_size"]
                transform = msg.get("transform", "rand_augment")
                if cmd == "visit":
                    reply = visit(
                        x,
                        b,
                        msg["warmup"],
                        msg["windows"],
                        msg["window_s"],
                        msg["slow_batch_s"],
                        transform,
                    )
                elif cmd == "epoch":
                    reply = epoch(x, msg["n_images"], b, transform)
                else:
                    raise ValueError(f"unknown command {cmd!r}")
                reply["ok"] = True
        except Exception as e:
            reply = {
                "ok": False,
                "error": f"{type(e).__name__}: {e}",
                "trace": traceback.format_exc(),
            }
        out.write(json.dumps(reply) + "\n")
        out.flush()


if __name__ == "__main__":
    main()
