"""The modules a gevent-patched process imports off the loop: in gevent's pool's thread, where an import
could meet the same package being imported on the loop, half made (gevent's patched locks do not keep
the two apart). Used by the scripts tests/printer_transports_first.py and tests/report_files_first.py."""

import sys

import gevent
from gevent import monkey


def recorded() -> list[str]:
    """Starts the pool's thread (and what it imports for that), then records by an audit hook, from now
    on and in the list returned, each module imported in a thread other than the caller's (the loop's)."""
    gevent.get_hub().threadpool.apply(len, ("",))
    loop_thread = monkey.get_original("_thread", "get_ident")
    loop = loop_thread()
    off_loop: list[str] = []

    def heard(event: str, args: tuple) -> None:
        if event == "import" and loop_thread() != loop:
            off_loop.append(args[0])

    sys.addaudithook(heard)
    return off_loop
