"""A small SMTP server on 127.0.0.1 for tests: speaks enough SMTP for smtplib (EHLO, MAIL, RCPT,
DATA, QUIT; no STARTTLS) and keeps every message it accepts, parsed."""

from __future__ import annotations

import email
import email.policy
import socketserver
import threading


class SmtpSink:
    def __init__(self):
        self.messages: list[email.message.EmailMessage] = []
        self._changed = threading.Condition()
        sink = self

        class Session(socketserver.StreamRequestHandler):
            def reply(self, line: str):
                self.wfile.write((line + "\r\n").encode())

            def handle(self):
                self.reply("220 sink ESMTP")
                while line := self.rfile.readline():
                    command = line.decode(errors="replace").strip().upper()
                    if command.startswith(("EHLO", "HELO")):
                        self.reply("250 sink")
                    elif command.startswith(("MAIL", "RCPT", "RSET", "NOOP")):
                        self.reply("250 OK")
                    elif command == "DATA":
                        self.reply("354 end with .")
                        data = b""
                        while (chunk := self.rfile.readline()) not in (b".\r\n", b".\n", b""):
                            data += chunk[1:] if chunk.startswith(b"..") else chunk
                        with sink._changed:
                            sink.messages.append(email.message_from_bytes(data, policy=email.policy.default))
                            sink._changed.notify_all()
                        self.reply("250 queued")
                    elif command == "QUIT":
                        self.reply("221 bye")
                        return
                    else:
                        self.reply("502 not here")

        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Session)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait_for(self, count: int, timeout: float = 15) -> list:
        with self._changed:
            if not self._changed.wait_for(lambda: len(self.messages) >= count, timeout):
                raise AssertionError(f"the SMTP sink got {len(self.messages)} of {count} messages")
            return list(self.messages)

    def close(self):
        self.server.shutdown()
        self.server.server_close()
