"""What a failed restore shows of psql's words: only lines known to carry no value of a row (an allow-list),
so that no citizen's CCCD, phone or name from the backup is ever printed.

psql's words on a failed restore are PostgreSQL's message of the statement it stopped at, and that message's
DETAIL, CONTEXT and LINE lines, which quote the row (``Failing row contains (…)``, ``Key (…)=(…)``, the COPY
line, the statement's text), in lines of their own when a value holds a newline. Kept: the primary line of the
error (``ERROR:  …``), its quoted parts left only where they name an object (``column "phone"``,
``constraint "…"``), any other quoted part and whatever follows it up to the last quote replaced by ``"…"``
(``invalid input syntax for type bigint: "…"``), and none of it when a function of the database raised the
error (its message is its own, a value unquoted in it); the DETAIL of the restore's own refusal (the objects
that depend on the tables: names of objects, no row); psql's own lines (a connection refused or lost, a
command it does not know or refuses, only the command's name). Every other line is left out.
"""

from __future__ import annotations

import re

# the restore's own refusal (pg_replace's DROP): its DETAIL names objects, one a line
DEPENDENTS = "queuekiosk: objects not in the backup depend on its tables"
# the restore's own guard (pg_replace's), refusing a COMMIT in the backup's SQL
EARLY_COMMIT = "queuekiosk: the backup's SQL tried to commit before its end"

# the primary line of the error psql stopped at (ON_ERROR_STOP: the only one), as psql prints it (English:
# PostgreSQL's own messages have no Vietnamese translation, only PL/pgSQL's have)
_PRIMARY = re.compile(r"^(ERROR|FATAL|PANIC):  (.*)$")
# a quoted part of a message that names an object: the word before it says what it is
_NAMED = re.compile(
    r"\b(?:column|relation|table|constraint|index|type|schema|view|sequence|function|trigger|encoding"
    r"|database|extension|role|domain|collation|operator|policy|rule|parameter) $"
)
# a line of the error's CONTEXT naming a function whose message may be its own words, a row's value unquoted
# in them (PL/pgSQL's RAISE EXCEPTION 'CCCD % …', v, or ASSERT; a SQL function; PL/Python's, PL/Perl's, …);
# not PL/pgSQL's other lines, a statement of it failing in PostgreSQL's own words (the restore's own DROP: "must
# be owner of table …"); a value's line that reads so only hides more. A procedural language's line is
# translated on a server whose lc_messages is Vietnamese (PL/pgSQL's: "Hàm PL/pgSQL f() dòng 1 tại RAISE"),
# the language's and the statement's names not
_IN_FUNCTION = re.compile(
    r"^(?:CONTEXT:  )?(?:.*\bPL/pgSQL\b.*\b(?:RAISE|ASSERT)$|.*\bPL/(?!pgSQL\b)\w|(?!PL/pgSQL )\S+ function )"
)
# psql's own words of a command it does not know (a psql older than the pg_restore writing \restrict) or
# refuses (a backup's command inside \restrict): the command's name kept only when it is one pg_restore writes,
# any other may be a value's text that psql read as a command
_COMMAND = re.compile(r"^invalid command \\(\S*)$|^backslash commands are restricted; only \\unrestrict is allowed$")
_WRITTEN = ("restrict", "unrestrict", "connect")
# bytes a message shows of a value (an invalid UTF-8 sequence: part of a name)
_BYTES = re.compile(r"0x[0-9a-fA-F]{2}(?: 0x[0-9a-fA-F]{2})*")
# a line of PostgreSQL's DETAIL of the restore's refusal: "view tickets_per_day depends on table tickets",
# and the count of the rest when there are many
_DEPENDENCY = re.compile(r"^(?:DETAIL:  )?(?:\w+ )+\S.* depends on (?:\w+ )+\S.*$|^and \d+ other objects \(.*\)$")
# psql's own lines of a connection lost (libpq's fixed words)
_LOST = re.compile(
    r"^(?:server closed the connection unexpectedly|connection to server was lost"
    r"|\tThis probably means the server terminated abnormally|\tbefore or while processing the request\.)$"
)


def shown(words: str) -> str:
    """psql's ``words`` as a failed restore shows them: only the lines known to quote no row. Taken only
    before the error's line (a line after it that looks like one may be a value's second line): psql's own
    (``psql: error: …`` of a connection refused, libpq's indented hints after it); then that line, and after
    it the DETAIL of the restore's own refusal."""
    kept, state = [], "before"  # before the error; after it ("error"); in the DETAIL of the refusal ("ours")
    hidden = by_function(words)
    for line in words.splitlines():
        if state == "before" and (primary := _PRIMARY.match(line)):
            kept.append(f"{primary[1]}:  {'…' if hidden else _message(primary[2])}")
            state = "ours" if primary[2] == DEPENDENTS else "error"
        elif (state == "ours" and _DEPENDENCY.match(line)) or _LOST.match(line):
            kept.append(line)
        elif state == "before" and (line.startswith("psql: ") or (line.startswith("\t") and kept)):
            kept.append(line)
        elif state == "before" and (command := _COMMAND.match(line)):
            kept.append(line if command[1] in (None, *_WRITTEN) else "invalid command \\…")
        elif state == "ours":
            state = "error"
    return "\n".join(kept)


def by_function(words: str) -> bool:
    """Whether the error psql stopped at (the first: see shown) was raised in a function of the database,
    not one of the restore's own, or came after a function's warning (psql runs with SHOW_CONTEXT=always:
    the warning's CONTEXT follows its message, whose lines may read as an error's): its message is then not
    shown."""
    lines = words.splitlines()
    for number, line in enumerate(lines):
        if primary := _PRIMARY.match(line):
            return primary[2] not in (DEPENDENTS, EARLY_COMMIT) and any(map(_IN_FUNCTION.match, lines[number + 1 :]))
    return False


def _message(message: str) -> str:
    """A message with every quoted part that does not name an object, up to the message's last quote,
    replaced by "…" (a value may hold a quote of its own), and the bytes of a value by 0x…."""
    shown, rest = "", message
    while (start := rest.find('"')) >= 0:
        end = rest.find('"', start + 1)
        if end < 0 or not _NAMED.search(rest[:start]):
            last = rest.rfind('"')
            shown += rest[:start] + '"…"'
            rest = rest[last + 1 :] if last > start else ""
            break
        shown, rest = shown + rest[: end + 1], rest[end + 1 :]
    return _BYTES.sub("0x…", shown + rest)
