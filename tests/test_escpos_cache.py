"""python-escpos caches its printer profiles in a pickle it writes in place; processes that start
together on a new machine (gunicorn's workers, the suite's workers) must not read it half-written."""

from __future__ import annotations

import os
import pickle
import platform
import subprocess
import sys

LOAD = "from queuekiosk.printers import ticket; from escpos.capabilities import CAPABILITIES; print(len(CAPABILITIES['profiles']))"


def test_processes_starting_together_on_an_empty_or_stale_cache_all_load_the_printer_profiles(tmp_path):
    for round_ in range(4):  # without the whole-file write, about three starts in four failed (EOFError)
        cache = tmp_path / str(round_)
        if round_ % 2:  # a cache older than python-escpos's profiles file: left by an earlier install
            cache.mkdir()
            stale = cache / f"{platform.python_version()}.capabilities.pickle"
            stale.write_bytes(pickle.dumps({"profiles": {}}))
            os.utime(stale, (0, 0))
        env = {**os.environ, "ESCPOS_CAPABILITIES_PICKLE_DIR": str(cache)}
        starts = [
            subprocess.Popen(
                [sys.executable, "-c", LOAD], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
            )
            for _ in range(4)
        ]
        for start in starts:
            out, err = start.communicate(timeout=120)
            assert start.returncode == 0, err
            assert int(out) > 10  # python-escpos's profiles, TM-T20II's among them
        assert len(list(cache.iterdir())) == 1  # the cache, no half-written file left
