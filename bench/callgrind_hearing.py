"""Instructions a process spends hearing another process's batches (valgrind's callgrind), a ticket: the
part of what a second process adds that does not move with the machine's load (callgrind_production's
pgmq2 / pgmq does, with the sizes of the batches).

    python bench/callgrind_hearing.py [--tickets 1000] [--repeat 5] [--baseline REVISION] [--keep FILE | --captured FILE]

Two ``queuekiosk serve`` processes on one fresh PostgreSQL database and one redis-server, a lobby display
on each, issue ``--tickets`` tickets each (16 keep-alive clients each); every batch they publish meanwhile
is captured from Redis. Then a ``BoundedRedisManager`` with one client in the lobby display's room hears
them through its ``_listen`` (Redis's reading left out), ``--repeat`` times, under callgrind; the same run
hearing nothing is subtracted, and the rest divided by the tickets heard. The packets told to the client
are hashed: the same hash for this tree and ``--baseline`` says both told the same bytes. ``--keep FILE``
saves the batches captured, ``--captured FILE`` hears those instead of capturing (trees compared on the
same batches, without the two processes' minutes). A ``--baseline`` from before the framed batch (which
reads only batches with each payload inside their JSON) hears the same batches rewritten in that form; the
packets told, counted and hashed, say both heard the same. (A ``--captured`` file saved by such a revision holds
batches of that form: this tree then measures its reading of an earlier version's batches.)
"""

from __future__ import annotations

import argparse
import contextlib
import os
import pickle
import subprocess
import sys
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bench_production import connect_display, fresh_database, start_redis
from callgrind_issue import ours, send, step, totals, wait_answering
from common import baseline_tree, bench_config, free_port

_HEAR = """
import sys
if sys.argv[3] == "other":  # another tree's package (PYTHONPATH), not the editable install's
    sys.meta_path[:] = [f for f in sys.meta_path if "editable" not in repr(f).lower()]
import hashlib, pickle
import socketio
from socketio.packet import Packet
from queuekiosk.server.web.extensions import PacketJSON
from queuekiosk.server.web.message_queue import BoundedRedisManager
Packet.json = PacketJSON  # as the app's server sets it
batches, room = pickle.loads(open(sys.argv[1], "rb").read())
manager = BoundedRedisManager("redis://127.0.0.1:1/0")  # (never connected: the batches are handed to it)
server = socketio.Server(client_manager=manager, async_mode="threading")
told = []
server._send_eio_packet = lambda eio_sid, packet: told.append(packet.encode())
manager.connect("eio-1", "/")
manager.enter_room(manager.sid_from_eio_sid("eio-1", "/"), "/", room)
channel = manager.channel.encode()
messages = [{"type": "message", "channel": channel, "data": data} for data in batches] * int(sys.argv[2])
manager._redis_listen_with_retries = lambda: iter(messages)
manager.pubsub = type("Gone", (), {"unsubscribe": lambda self, channel: None})()
left = sum(1 for _ in manager._listen())
print(len(told), left, hashlib.sha256("".join(told).encode()).hexdigest()[:16])
"""


def capture(args, folder: Path) -> tuple[list[bytes], str, int]:
    """The batches two processes published while issuing, the lobby display's room, the tickets issued."""
    import redis

    from queuekiosk.server.web.message_queue import every_process_pattern

    with contextlib.ExitStack() as stack:
        command, env, _cwd = ours(None, folder / "instance", bench_config(folder))
        env["QUEUEKIOSK_DATABASE_URL"] = fresh_database(args.postgres, "qk_callgrind_hearing")
        url = env["QUEUEKIOSK_MESSAGE_QUEUE"] = start_redis(stack, folder)
        ports = []
        for i in range(2):
            port = free_port()
            proc = subprocess.Popen(
                [part.replace("PORT", str(port)) for part in command],
                env={**env, "QUEUEKIOSK_INSTANCE": str(folder / f"instance{i}")},
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            stack.callback(lambda proc=proc: (proc.terminate(), proc.wait(30)))
            wait_answering(port, proc)
            ports.append(port)
            connect_display(stack, f"http://127.0.0.1:{port}")
        batches, captured = [], threading.Event()
        pubsub = redis.Redis.from_url(url).pubsub()
        pubsub.psubscribe(every_process_pattern(url))  # (each process publishes on a channel of its own)

        def listen():
            while not captured.is_set():
                message = pubsub.get_message(timeout=0.2)
                if message and message["type"] in ("message", "pmessage"):
                    batches.append(message["data"])

        def issue(tickets: int) -> int:
            with ThreadPoolExecutor(2) as pool:
                return sum(pool.map(lambda port: send(port, tickets, 16), ports))

        step("capturing: two processes warming up")
        issue(150)
        listener = threading.Thread(target=listen)
        listener.start()
        step(f"capturing: {args.tickets} tickets at each process")
        issued = issue(args.tickets)
        captured.set()
        listener.join()
    if issued != 2 * args.tickets:
        raise RuntimeError(f"{issued} of {2 * args.tickets} tickets answered 201")
    rooms = {room for data in batches for rooms in _rooms(data) for room in rooms}
    display = sorted(room for room in rooms if ":display:" in room)[0]
    return batches, display, issued


def _rooms(data: bytes) -> list[list[str]]:
    """The rooms of each emit of a batch."""
    from queuekiosk.server.web.message_queue import batch_messages

    rooms = (message.get("room") for message in batch_messages(data) if message.get("method") == "emit")
    return [[room] if isinstance(room, str) else room or [] for room in rooms]


def in_earlier_form(batches: list[bytes]) -> list[bytes]:
    """The batches as a revision before the framed batch wrote them (each payload inside the batch's JSON,
    ``queuekiosk.batch``), for a ``--baseline`` that reads only those: the same messages heard."""
    import orjson

    from queuekiosk.server.web.message_queue import EACH_ROOM, batch_messages

    earlier = []
    for data in batches:
        host_id = orjson.loads(data.partition(b"\n")[0])["host_id"]
        entries = [{**m, EACH_ROOM: True} if isinstance(m.get("room"), list) else m for m in batch_messages(data)]
        opening = b'{"host_id": "%s", "method": "queuekiosk.batch", "messages": ' % host_id.encode()
        earlier.append(opening + orjson.dumps(entries) + b"}")
    return earlier


def reads_framed(tree: Path | None) -> bool:
    """Whether ``tree`` (None: this one) reads the framed batches this one writes."""
    source = (tree / "src" if tree is not None else Path(__file__).parent.parent) / "server/web/message_queue.py"
    return "queuekiosk.framed" in source.read_text()


def count(tree: Path | None, captured: Path, repeat: int, out: Path) -> tuple[int, int, str]:
    """Instructions of hearing the captured batches ``repeat`` times (less hearing them none), the packets
    told and their hash."""
    runs = []
    for times in (0, repeat):
        env = {"PYTHONPATH": str(tree / "pkg")} if tree is not None else {}
        dump = out / f"hear-{times}.out"
        done = subprocess.run(
            ["valgrind", "--tool=callgrind", f"--callgrind-out-file={dump}", sys.executable, "-OO", "-c", _HEAR]
            + [str(captured), str(times), "other" if tree is not None else "ours"],
            env={**os.environ, **env},
            capture_output=True,
            text=True,
            check=True,
        )
        runs.append((totals(dump), done.stdout.split()))
    (empty, _), (full, heard) = runs
    return full - empty, int(heard[0]), heard[2]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=1000, help="tickets issued at each of the two processes")
    parser.add_argument("--repeat", type=int, default=5, help="times the captured batches are heard")
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432", help="server, no database")
    parser.add_argument("--baseline", metavar="REVISION", help="count this revision's hearing too")
    saved = parser.add_mutually_exclusive_group()
    saved.add_argument("--keep", type=Path, metavar="FILE", help="save the batches captured in FILE")
    saved.add_argument("--captured", type=Path, metavar="FILE", help="hear the batches --keep saved in FILE")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="qk-callgrind-hearing-") as tmp:
        tmp = Path(tmp)
        if args.captured:
            batches, room, issued = pickle.loads(args.captured.read_bytes())
        else:
            batches, room, issued = capture(args, tmp)
        captured = tmp / "batches.pickle"
        captured.write_bytes(pickle.dumps((batches, room)))
        earlier = tmp / "batches-earlier-form.pickle"
        earlier.write_bytes(pickle.dumps((in_earlier_form(batches), room)))
        if args.keep:
            args.keep.write_bytes(pickle.dumps((batches, room, issued)))
        size = sum(map(len, batches))
        step(f"captured {len(batches)} batches, {size / issued:.0f} bytes a ticket; the client in {room}")
        trees = [("ours", None)]
        if args.baseline:
            trees.append((args.baseline, baseline_tree(args.baseline, tmp / "baseline")))
        for name, tree in trees:
            out = tmp / name.replace("/", "_")
            out.mkdir()
            step(f"{name}: hearing them {args.repeat} times under callgrind, and none")
            heard = captured if reads_framed(tree) or not reads_framed(None) else earlier
            instructions, told, digest = count(tree, heard, args.repeat, out)
            print(f"  {name:12} {instructions / (issued * args.repeat) / 1000:,.1f}k instructions a ticket heard")
            print(
                f"  {'':12} packets told: {told}, sha256 {digest}"
                + ("" if heard is captured else " (the batches in the earlier form)")
            )


if __name__ == "__main__":
    sys.exit(main())
