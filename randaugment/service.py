"""Run the tf.data service on your machines: one line per dispatcher or worker.

The tf.data service moves an input pipeline off the trainer: a dispatcher hands out
work, and any number of CPU workers run the pipeline and stream batches to the
trainers. `rand_augment` is pure TensorFlow, so it travels inside the dataset graph and
stock TensorFlow workers run it: the workers need TensorFlow, not this package.

From a shell, on the dispatcher's machine and on each worker machine:

```
python -m randaugment.service dispatcher --port 5050
python -m randaugment.service worker --dispatcher dispatcher-host:5050 --port 5051
```

and in the trainer, `ds.apply(tf.data.experimental.service.distribute(
"distributed_epoch", "grpc://dispatcher-host:5050"))`. These are thin wrappers over
`tf.data.experimental.service.DispatchServer` and `WorkerServer` that add what a
command line needs: a check that the port is free (two TensorFlow servers can silently
share one port), a check that the dispatcher answers before a worker registers (a
worker otherwise waits for it without a word), the bound port printed, and a clean stop
on SIGINT or SIGTERM. See `docs/scaling.md`.

TensorFlow's servers listen on every network interface and the tf.data service has no
authentication: anyone who can reach a worker's port can run a dataset graph on it.
Keep the ports behind a firewall, inside the cluster's network.
"""

from __future__ import annotations

import argparse
import errno
import signal
import socket
import sys
import threading
import time

import tensorflow as tf

DEFAULT_DISPATCHER_PORT = 5050
DEFAULT_CONNECT_TIMEOUT_S = 60.0
_PROG = "python -m randaugment.service"


class ServiceError(RuntimeError):
    """A server could not start: the port is taken, or the dispatcher does not answer.

    The message names the option and echoes its value.
    """


def parse_address(value: str, option: str = "--dispatcher") -> tuple[str, int]:
    """`"host:port"` (or `"grpc://host:port"`) as `(host, port)`.

    Raises:
        ServiceError: if it is not of that form, naming `option` and echoing `value`.
    """
    text = value.split("://", 1)[1] if "://" in value else value
    host, sep, port = text.rpartition(":")
    host = host.strip("[]")  # [::1]:5050
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ServiceError(
            f"{option} {value!r}: expected HOST:PORT with a port in 1-65535, "
            f"e.g. {option} dispatcher-host:{DEFAULT_DISPATCHER_PORT}"
        )
    return host, int(port)


def _check_port_number(port, option: str) -> int:
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port < 65536:
        raise ServiceError(f"{option} {port!r}: expected a port in 0-65535 (0: the OS picks one)")
    return port


def check_port_free(port: int, option: str = "--port") -> None:
    """Raises `ServiceError` if `port` cannot be bound on every interface.

    TensorFlow's gRPC servers bind with `SO_REUSEPORT`, so a second dispatcher or worker
    started on a port already in use by another TensorFlow server starts without an
    error and the two then split the connections between them. A plain bind, without
    that option, fails on a port in use: that is what this tries, for IPv4 and IPv6.
    Port 0 (the OS picks a free one) is always free.
    """
    _check_port_number(port, option)
    if port == 0:
        return
    families = [socket.AF_INET] + ([socket.AF_INET6] if socket.has_ipv6 else [])
    for family in families:
        host = "::" if family == socket.AF_INET6 else "0.0.0.0"
        try:
            probe = socket.socket(family, socket.SOCK_STREAM)
        except OSError:  # no IPv6 on this host
            continue
        try:
            if family == socket.AF_INET6:
                probe.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            probe.bind((host, port))
        except OSError as err:
            if err.errno == errno.EADDRINUSE:
                raise ServiceError(
                    f"{option} {port}: the port is taken (another process listens on it); "
                    f"stop that process or choose another port"
                ) from None
            if err.errno == errno.EACCES:
                raise ServiceError(
                    f"{option} {port}: permission denied (ports below 1024 need privileges); "
                    f"choose a port above 1023"
                ) from None
            if err.errno == errno.EADDRNOTAVAIL:  # the family has no address here
                continue
            raise ServiceError(f"{option} {port}: cannot bind the port ({err})") from None
        finally:
            probe.close()


def wait_for_dispatcher(address: str, timeout: float = DEFAULT_CONNECT_TIMEOUT_S) -> None:
    """Waits until something accepts TCP connections at the dispatcher's `address`.

    Raises:
        ServiceError: after `timeout` seconds without a connection, naming the address.
    """
    host, port = parse_address(address)
    deadline = time.monotonic() + timeout
    last = None
    while True:
        remaining = deadline - time.monotonic()
        try:
            with socket.create_connection((host, port), timeout=max(0.1, min(2.0, remaining))):
                return
        except OSError as err:
            last = err
        if time.monotonic() + 0.5 >= deadline:
            raise ServiceError(
                f"--dispatcher {address}: no dispatcher answered at {host}:{port} within "
                f"{timeout:g} s ({last.strerror or last}). Start it first "
                f"({_PROG} dispatcher --port {port}), or check the host name, the port "
                f"and the firewall."
            )
        time.sleep(0.5)


def start_dispatcher(
    port: int = DEFAULT_DISPATCHER_PORT, work_dir: str | None = None
) -> tf.data.experimental.service.DispatchServer:
    """Starts a tf.data service dispatcher in this process, after checking the port.

    Args:
        port: port to listen on (every interface). 0 lets the OS pick one; read it back
            from `server.target`.
        work_dir: a directory (local or e.g. `gs://...`) where the dispatcher journals
            its state, so that a dispatcher restarted with the same `work_dir` recovers
            its datasets and jobs (TensorFlow's `fault_tolerant_mode`). None: state in
            memory only.

    Returns:
        The running `tf.data.experimental.service.DispatchServer`.

    Raises:
        ServiceError: if the port is taken or out of range.

    Example:
        ```
        from randaugment.service import start_dispatcher
        dispatcher = start_dispatcher(port=5050)
        print(dispatcher.target)  # grpc://localhost:5050
        ```
    """
    check_port_free(port, "--port")
    config = tf.data.experimental.service.DispatcherConfig(
        port=port, work_dir=work_dir, fault_tolerant_mode=work_dir is not None
    )
    return tf.data.experimental.service.DispatchServer(config)


def start_worker(
    dispatcher: str,
    port: int = 0,
    host: str | None = None,
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT_S,
) -> tf.data.experimental.service.WorkerServer:
    """Starts a tf.data service worker in this process and registers it.

    Args:
        dispatcher: the dispatcher's `HOST:PORT`.
        port: port to listen on (every interface); 0 lets the OS pick. Give a fixed
            port to workers you may restart: a worker that comes back at the same
            address takes over its tasks, and an epoch only ends once every task of
            it has ended (see `docs/scaling.md`).
        host: the host name or address trainers use to reach this worker. Default:
            this machine's host name (`socket.gethostname()`); TensorFlow's own default,
            `localhost`, only works when trainer and worker share a machine.
        connect_timeout: seconds to wait for the dispatcher to answer. TensorFlow's
            worker itself would wait for it silently, holding the interpreter.

    Returns:
        The running `tf.data.experimental.service.WorkerServer`.

    Raises:
        ServiceError: if the port is taken, or no dispatcher answers at `dispatcher`
            within `connect_timeout` seconds.

    Example:
        ```
        from randaugment.service import start_worker
        worker = start_worker("dispatcher-host:5050", port=5051)
        worker.join()
        ```
    """
    check_port_free(port, "--port")
    wait_for_dispatcher(dispatcher, connect_timeout)
    advertised = host if host is not None else socket.gethostname()
    if ":" in advertised and not advertised.startswith("["):
        advertised = f"[{advertised}]"  # an IPv6 literal
    dispatcher_host, dispatcher_port = parse_address(dispatcher)
    if ":" in dispatcher_host:
        dispatcher_host = f"[{dispatcher_host}]"
    config = tf.data.experimental.service.WorkerConfig(
        dispatcher_address=f"{dispatcher_host}:{dispatcher_port}",
        worker_address=f"{advertised}:%port%",
        port=port,
    )
    return tf.data.experimental.service.WorkerServer(config)


def bound_port(server) -> int:
    """The port a `DispatchServer` or `WorkerServer` listens on (useful with port 0)."""
    # DispatchServer.target is public ("grpc://localhost:PORT"); WorkerServer only has
    # the private `_address` ("localhost:PORT").
    address = getattr(server, "target", None) or server._address
    return int(address.rsplit(":", 1)[1])


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=_PROG,
        description="Run a tf.data service dispatcher or worker until SIGINT or SIGTERM.",
        epilog="Servers listen on every interface and have no authentication: firewall them.",
    )
    sub = parser.add_subparsers(dest="role", required=True, metavar="{dispatcher,worker}")
    d = sub.add_parser("dispatcher", help="hands out work to the workers")
    d.add_argument(
        "--port",
        type=int,
        default=DEFAULT_DISPATCHER_PORT,
        help=f"port to listen on (default {DEFAULT_DISPATCHER_PORT}; 0: the OS picks)",
    )
    d.add_argument(
        "--work-dir",
        default=None,
        help="journal the dispatcher's state here, so that a restarted dispatcher recovers it",
    )
    w = sub.add_parser("worker", help="runs the pipelines and serves their elements")
    w.add_argument("--dispatcher", required=True, help="the dispatcher's HOST:PORT")
    w.add_argument(
        "--port",
        type=int,
        default=0,
        help="port to listen on (default 0: the OS picks); fix it to restart a worker in place",
    )
    w.add_argument(
        "--host",
        default=None,
        help="host name or address trainers use to reach this worker (default: the host name)",
    )
    w.add_argument(
        "--connect-timeout",
        type=float,
        default=DEFAULT_CONNECT_TIMEOUT_S,
        help=f"seconds to wait for the dispatcher (default {DEFAULT_CONNECT_TIMEOUT_S:g})",
    )
    return parser


def _say(message: str, stream=None) -> None:
    print(f"randaugment.service: {message}", file=stream or sys.stdout, flush=True)


def main(argv: list[str] | None = None) -> int:
    """The command line: starts one server, prints its port, serves until signalled.

    Returns the exit status: 0 after a clean stop, 1 if the server could not start.
    """
    args = _parser().parse_args(argv)
    stop = threading.Event()
    received = []

    def on_signal(signum, _frame):
        received.append(signal.Signals(signum).name)
        stop.set()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        try:
            if args.role == "dispatcher":
                server = start_dispatcher(args.port, args.work_dir)
                port = bound_port(server)
                mode = f"journal in {args.work_dir}" if args.work_dir else "state in memory"
                _say(
                    f"dispatcher ready on port {port} (every interface; {mode}). Workers: "
                    f"{_PROG} worker --dispatcher {socket.gethostname()}:{port}"
                )
            else:
                server = start_worker(args.dispatcher, args.port, args.host, args.connect_timeout)
                port = bound_port(server)
                host = args.host if args.host is not None else socket.gethostname()
                _say(
                    f"worker ready on port {port} (every interface), registered with "
                    f"dispatcher {args.dispatcher}; trainers reach it at {host}:{port}"
                )
        except ServiceError as err:
            _say(f"error: {err}", sys.stderr)
            return 1
        while not stop.wait(0.5):
            pass
        _say(f"{received[0]} received, stopping the {args.role} on port {port}")
        server.stop()
        _say(f"{args.role} stopped")
        return 0
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


if __name__ == "__main__":
    sys.exit(main())
