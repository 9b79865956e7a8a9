"""A server process that crashes in C code (a library's fault, in a thread of the pool making a report
file, say) leaves in its log (the journal under systemd) what each of its threads was doing: the IT
person and the developers see where, instead of a process that was simply gone and a province officer's
download that ended without an answer."""

from __future__ import annotations

import signal


def test_a_crashed_server_leaves_each_thread_s_python_stack_in_its_log(live_server):
    srv = live_server()
    http = srv.session()
    assert http.get("/healthz").status_code == 200
    srv.proc.send_signal(signal.SIGSEGV)  # as a segmentation fault of a C extension would end it
    assert srv.proc.wait(10) == -signal.SIGSEGV
    log = srv.log()
    said = log[log.index("Fatal Python error: Segmentation fault") :]
    assert "most recent call first" in said and 'File "' in said, said
