"""python-escpos caches its printer profiles in a pickle it writes in place; processes that start
together on a new machine (gunicorn's workers, the suite's workers) must not read it half-written."""

from __future__ import annotations

import importlib
import multiprocessing
import os
import pickle
import platform
import queue
import sys
import traceback


def _start(cache: str, results) -> None:
    """A process starting as a server's does, with the profiles' cache in ``cache``: it imports the
    ticket layout (escpos with it) and reads the printer profiles; it reports how many it read."""
    try:
        # forked from a process that imported neither: this one imports both, as a new process does
        assert not {"queuekiosk.printers", "escpos"} & set(sys.modules), "the printers were imported before"
        os.environ["ESCPOS_CAPABILITIES_PICKLE_DIR"] = cache
        importlib.import_module("queuekiosk.printers.ticket")  # the printers first, as the server imports them
        capabilities = importlib.import_module("escpos.capabilities")
        results.put(("ok", len(capabilities.CAPABILITIES["profiles"])))
    except BaseException:  # noqa: BLE001 - sent to the test, which fails with it
        results.put(("error", traceback.format_exc()))


def test_processes_starting_together_on_an_empty_or_stale_cache_all_load_the_printer_profiles(tmp_path):
    # the processes are forked from one that imported the libraries escpos uses (not escpos, nor the
    # printers), as gunicorn forks its workers: each imports escpos and the printers itself, at once
    # with the others, without a Python start and those imports each (16 starts, about 0.1 s of CPU each)
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["PIL.Image", "qrcode", "barcode", "yaml", "json", "pickle", "tempfile"])
    results = context.Queue()
    for round_ in range(4):  # without the whole-file write, about three starts in four failed (EOFError)
        cache = tmp_path / str(round_)
        if round_ % 2:  # a cache older than python-escpos's profiles file: left by an earlier install
            cache.mkdir()
            stale = cache / f"{platform.python_version()}.capabilities.pickle"
            stale.write_bytes(pickle.dumps({"profiles": {}}))
            os.utime(stale, (0, 0))
        starts = [context.Process(target=_start, args=(str(cache), results), daemon=True) for _ in range(4)]
        for start in starts:
            start.start()
        try:
            told = [results.get(timeout=120) for _ in starts]
        except queue.Empty:
            told = ["a process never reported"]
        for start in starts:
            start.join(10)
        for outcome in told:
            assert outcome[0] == "ok", outcome[-1]
            assert outcome[1] > 10  # python-escpos's profiles, TM-T20II's among them
        assert len(list(cache.iterdir())) == 1  # the cache, no half-written file left
