"""Starting servers for benchmarks: the real `queuekiosk serve` (one, or several sharing a
database and a message queue), and a bare Flask app beside it."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests
import yaml

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def bench_config(directory: Path, width: int = 1_000_000) -> Path:
    """The demo centre with number ranges wide enough for a long benchmark run."""
    data = yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))
    for i, service in enumerate(data["services"]):
        service["numbers"] = {"start": 1 + i * width, "end": (i + 1) * width}
    path = directory / "config.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def wait_healthy(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(requests.RequestException):
            if requests.get(url, timeout=1).ok:
                return
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within {timeout} s")


# runs queuekiosk's command line from the tree on PYTHONPATH instead of the installed (editable) one
_OTHER_TREE = (
    "import runpy, sys; sys.meta_path[:] = [f for f in sys.meta_path if 'editable' not in repr(f).lower()]; "
    "runpy.run_module('queuekiosk.server.cli', run_name='__main__', alter_sys=True)"
)


# the folders setup.py makes subpackages of ``queuekiosk`` (its PARTS)
PARTS = ("counter_client", "display", "kiosk", "printers", "server", "sounds")


def baseline_tree(revision: str, directory: Path) -> Path:
    """``revision`` of this repository laid out in ``directory`` as an importable ``queuekiosk`` package
    (what setup.py's package_dir does), for ``queuekiosk_server(code=...)``; a folder's name instead of
    a revision: that work tree as it is (an experiment)."""
    if Path(revision).is_dir():
        return tree_of(Path(revision).resolve(), directory)
    source = directory / "src"
    source.mkdir(parents=True)
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", revision], check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(source)], input=archive, check=True)
    return tree_of(source, directory)


def tree_of(source: Path, directory: Path) -> Path:
    """The work tree ``source`` laid out in ``directory`` as ``baseline_tree`` lays out a revision
    (``src``: the tree itself, for the files outside the package, e.g. deploy/gunicorn.conf.py)."""
    directory.mkdir(parents=True, exist_ok=True)
    if not (directory / "src").exists():
        (directory / "src").symlink_to(source)
    package = directory / "pkg" / "queuekiosk"
    package.mkdir(parents=True)
    for path in (source / "queuekiosk").iterdir():
        (package / path.name).symlink_to(path)
    for name in PARTS:
        (package / name).symlink_to(source / name)
    return directory


@contextlib.contextmanager
def queuekiosk_server(env_extra: dict | None = None, database_url: str | None = None, code: Path | None = None):
    """Yield (base_url, process, instance_dir) of a fresh server on the bench config; ``code``: a tree
    made by ``baseline_tree`` to run instead of this checkout."""
    with tempfile.TemporaryDirectory(prefix="qk-bench-") as tmp:
        tmp = Path(tmp)
        config = bench_config(tmp)
        port = free_port()
        env = {**os.environ, "QUEUEKIOSK_INSTANCE": str(tmp / "instance"), **(env_extra or {})}
        if database_url:
            env["QUEUEKIOSK_DATABASE_URL"] = database_url
        if code is not None:
            env["PYTHONPATH"] = str(code / "pkg")
        proc = subprocess.Popen(
            [
                sys.executable,
                *(["-c", _OTHER_TREE] if code is not None else ["-m", "queuekiosk.server.cli"]),
                "serve",
                "--config",
                str(config),
                "--port",
                str(port),
                "--ignore-hours",
            ],
            env=env,
            cwd=code,
            stdout=subprocess.DEVNULL,
            # to a file: a pipe nobody reads would stop the server once full, and a crash's message is kept
            stderr=(log := open(tmp / "server-stderr.txt", "wb")),  # noqa: SIM115 - closed below
        )
        base = f"http://127.0.0.1:{port}"
        try:
            wait_healthy(f"{base}/healthz")
            yield base, proc, tmp
        finally:
            ended = proc.poll()  # None: still running, as it should be
            proc.terminate()
            proc.wait(10)
            log.close()
            if ended is not None:
                tail = (tmp / "server-stderr.txt").read_bytes()[-4000:].decode(errors="replace")
                print(
                    f"the server on port {port} had ended ({ended}) before the bench stopped it:\n{tail}",
                    file=sys.stderr,
                )


def add_server_options(parser) -> None:
    parser.add_argument("--database-url", help="default: a fresh SQLite file")
    parser.add_argument("--processes", type=int, default=1, help="server processes sharing the database")
    parser.add_argument("--message-queue", help="e.g. redis://127.0.0.1:6379/9, for --processes")


def check_server_options(parser, args) -> None:
    if args.processes > 1 and not (args.database_url or "").startswith("postgresql"):
        parser.error("--processes needs --database-url postgresql://...")


def describe_servers(args) -> str:
    database = (
        f"PostgreSQL {args.database_url.split('@')[-1]}"
        if args.database_url
        else f"SQLite, synchronous={os.environ.get('QUEUEKIOSK_SQLITE_SYNCHRONOUS', 'FULL')}"
    )
    queue = f" + message queue {args.message_queue}" if args.message_queue else ""
    return f"{args.processes} process(es), {database}{queue}"


# the processes of one benchmark share a database, so one person key (else refused), and one session
# key; 32 characters at least, as a server takes no weaker one
BENCH_PERSON_KEY = "bench-person-key-of-one-installation"
BENCH_SECRET_KEY = "bench-session-key-of-one-installation"


@contextlib.contextmanager
def queuekiosk_servers(args):
    """Yield [(base_url, process, instance_dir)] of ``args.processes`` servers, each on its own
    port (docs/deployment.md), sharing ``args.database_url``, ``args.message_queue`` and one
    session key. They start one after the other."""
    env = {
        "QUEUEKIOSK_SECRET_KEY": BENCH_SECRET_KEY,
        "QUEUEKIOSK_PERSON_KEY": BENCH_PERSON_KEY,
    }  # one installation: one key
    if args.message_queue:
        env["QUEUEKIOSK_MESSAGE_QUEUE"] = args.message_queue
    with contextlib.ExitStack() as stack:
        yield [
            stack.enter_context(queuekiosk_server(env, database_url=args.database_url)) for _ in range(args.processes)
        ]


@contextlib.contextmanager
def bare_server(script: str = "bare_flask.py", stderr=None):
    """Yield (base_url, process) of a bare reference app of bench/ (the bare Flask app by default) on
    the same gevent server."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, str(Path(__file__).with_name(script)), str(port)], stderr=stderr)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(f"{base}/healthz")
        yield base, proc
    finally:
        proc.terminate()
        proc.wait(10)


def token(
    config_dir: Path, role: str, counter: int | None = None, database_url: str | None = None, code: Path | None = None
) -> str:
    """A token made by the command line of the tree that serves the database (``code``, as for
    ``queuekiosk_server``): another revision's command line refuses a schema of another revision."""
    env = {**os.environ, "QUEUEKIOSK_INSTANCE": str(config_dir / "instance")}
    if database_url:
        env["QUEUEKIOSK_DATABASE_URL"] = database_url
    if code is not None:
        env["PYTHONPATH"] = str(code / "pkg")
    cmd = [
        sys.executable,
        *(["-c", _OTHER_TREE] if code is not None else ["-m", "queuekiosk.server.cli"]),
        "token",
        "create",
        "--role",
        role,
        "--config",
        str(config_dir / "config.yaml"),
    ]
    if counter is not None:
        cmd += ["--counter", str(counter)]
    return subprocess.run(cmd, env=env, cwd=code, check=True, capture_output=True, text=True).stdout.strip()


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def cpu_ms(pid: int) -> float:
    """CPU time (user + system) a process has used so far, in ms (10 ms resolution)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) * 1000 / os.sysconf("SC_CLK_TCK")


def percentile(values, p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


CAPPED = "each server process capped at {cores:g} cores"  # bench_production's header with --cpu-per-process (targets.py reads it)


def cap_cpu(stack: contextlib.ExitStack, pids: list[int], cores: float, name: str) -> None:
    """Cap the processes ``pids`` together at ``cores`` cores' worth of CPU time (a Linux cgroup's CPU quota,
    per 100 ms period; needs root) for the rest of ``stack``. Processes capped at the same quota each use the
    same CPU share whatever the others do, while the machine has CPU to spare for what serves them
    (PostgreSQL, Redis, the load generator). Children forked later (a gunicorn worker started again) join
    their parent's group. At the end they go back to the hierarchy's root group. Measured with cgroup v1
    only; v2 (a ``cpu.max`` file) is written the same way but untested."""
    period = 100_000  # µs, the kernel's default
    v1 = Path("/sys/fs/cgroup/cpu")
    base = v1 if (v1 / "cpu.cfs_quota_us").exists() else Path("/sys/fs/cgroup")
    group = base / name
    if base != v1:
        controllers = base / "cgroup.controllers"
        if not controllers.exists() or "cpu" not in controllers.read_text().split():
            raise RuntimeError(
                f"no cgroup CPU controller found (neither {v1} nor {controllers}): cannot set a CPU quota"
            )
        try:
            (base / "cgroup.subtree_control").write_text("+cpu")  # (left on: it changes nothing by itself)
        except OSError as error:
            raise RuntimeError(f"cannot turn on the CPU controller in {base}: {error}") from error
    try:
        group.mkdir()
        stack.callback(_release_group, group, base)  # at once: a failure below still removes the group
        if base == v1:
            (group / "cpu.cfs_period_us").write_text(str(period))
            (group / "cpu.cfs_quota_us").write_text(str(int(cores * period)))
        else:
            (group / "cpu.max").write_text(f"{int(cores * period)} {period}")
        for pid in pids:
            (group / "cgroup.procs").write_text(str(pid))
    except OSError as error:
        raise RuntimeError(f"cannot set a CPU quota in {group}: {error}") from error


def _release_group(group: Path, base: Path) -> None:
    """The group's processes back to the root group, and the group removed; a failure is said, not raised (the
    benchmark's figures are printed after its servers stop)."""
    failure = None
    for _attempt in range(3):  # (a process forked meanwhile is moved on the next pass)
        try:
            for pid in (group / "cgroup.procs").read_text().split():
                with contextlib.suppress(OSError):  # (gone meanwhile)
                    (base / "cgroup.procs").write_text(pid)
            group.rmdir()
            return
        except FileNotFoundError:  # (not there: nothing to remove)
            return
        except OSError as error:
            failure = error
    print(f"could not remove the cgroup {group}: {failure}", file=sys.stderr)
