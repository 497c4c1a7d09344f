"""Entry point: ``python -m examples.cifar10 --help``."""

from examples.cifar10.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
