"""A process's first report files, made as the server makes them (server/web/report_files.py ``made``),
in a process monkey-patched by gevent as ``queuekiosk serve`` is: tests/api/test_report_files_off_loop.py.

    python tests/report_files_first.py REPORT.json

For each format with a library (xlsx: openpyxl, pdf: fpdf2), one file is made while a greenlet on the
loop imports some of the same library once it is seen being imported (in ``sys.modules``), as other
work on the loop may import a package the library imports too. gevent's patched locks do not keep
the two imports apart when one of them is in the pool's thread: one meets the other's half-made module.
Prints a JSON object: each format's outcome (the file's first 4 bytes, or the errors), and the
modules imported in a thread other than the loop's while the files were made.
"""

from gevent import monkey

monkey.patch_all()  # as server/cli.py, before anything else

import importlib  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

import gevent  # noqa: E402

from queuekiosk.server.web import report_files  # noqa: E402

LOOP_IMPORTS = {  # the package seen being imported, then what the loop imports of it
    "xlsx": ("openpyxl", ("openpyxl.styles", "openpyxl.utils", "openpyxl.workbook")),
    "pdf": ("fpdf.fpdf", ("fpdf.output", "fpdf.html", "fpdf.svg")),
}

loop_thread = monkey.get_original("_thread", "get_ident")
loop = loop_thread()
off_loop: list[str] = []


def heard(event: str, args: tuple) -> None:
    if event == "import" and loop_thread() != loop:
        off_loop.append(args[0])


def loop_imports(package: str, names: tuple[str, ...], made: gevent.Greenlet) -> None:
    while package not in sys.modules and not made.dead:  # (a file that failed first: its error is said)
        gevent.sleep(0)
    for name in names:
        importlib.import_module(name)


def main(report_path: str) -> None:
    report = json.loads(Path(report_path).read_text(encoding="utf-8"))
    gevent.get_hub().threadpool.apply(len, ("",))  # the pool's thread started (and what it imports for that)
    sys.addaudithook(heard)
    outcome = {}
    for fmt, (package, names) in LOOP_IMPORTS.items():
        made = gevent.spawn(report_files.made, report, fmt, "vi", None)
        beside = gevent.spawn(loop_imports, package, names, made)
        gevent.joinall([made, beside])
        errors = [repr(job.exception) for job in (made, beside) if job.exception]
        outcome[fmt] = errors or made.value[:4].decode("latin-1")  # (how the file starts: a zip, a PDF)
    outcome["imported off the loop"] = off_loop
    print(json.dumps(outcome))


if __name__ == "__main__":
    main(sys.argv[1])
