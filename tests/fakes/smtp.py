"""A tiny SMTP sink for tests (aiosmtpd is not installed): enough of RFC 5321 for smtplib.

Recipients in ``reject`` get a permanent 550, in ``defer`` a temporary 451; every
accepted message is parsed and kept in ``messages`` (email.message.EmailMessage).
"""
import socketserver
import threading
from email import policy
from email.parser import BytesParser

import eventlet


class FakeSmtp:
    def __init__(self):
        self.messages: list = []
        self.envelopes: list[dict] = []
        self.reject: set[str] = set()
        self.defer: set[str] = set()
        self.lock = threading.Lock()
        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]

    def start(self):
        eventlet.spawn(self.server.serve_forever, 0.05)
        return self

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    def env(self) -> dict:
        return {"AKKOORD_SMTP_HOST": "127.0.0.1", "AKKOORD_SMTP_PORT": str(self.port),
                "AKKOORD_MAIL_FROM": "portaal@kantoor.example"}

    def to(self, address: str) -> list:
        with self.lock:
            return [m for m, e in zip(self.messages, self.envelopes) if address in e["rcpt"]]

    def _handler(self):
        fake = self

        class Handler(socketserver.StreamRequestHandler):
            def reply(self, line: str):
                self.wfile.write((line + "\r\n").encode())
                self.wfile.flush()

            def handle(self):
                self.reply("220 fake-smtp ESMTP")
                sender, rcpt = None, []
                while True:
                    line = self.rfile.readline()
                    if not line:
                        return
                    command = line.decode("utf-8", "replace").strip()
                    verb = command[:4].upper()
                    if verb in ("EHLO", "HELO"):
                        self.reply("250-fake-smtp")
                        self.reply("250 8BITMIME")
                    elif verb == "MAIL":
                        sender, rcpt = command.split(":", 1)[1].strip().strip("<>").split(">")[0], []
                        self.reply("250 OK")
                    elif verb == "RCPT":
                        address = command.split(":", 1)[1].strip().strip("<>").split(">")[0]
                        if address in fake.reject:
                            self.reply("550 5.1.1 no such user")
                        elif address in fake.defer:
                            self.reply("451 4.3.0 try again later")
                        else:
                            rcpt.append(address)
                            self.reply("250 OK")
                    elif verb == "DATA":
                        self.reply("354 end with <CRLF>.<CRLF>")
                        chunks = []
                        while True:
                            data = self.rfile.readline()
                            if not data or data in (b".\r\n", b".\n"):
                                break
                            chunks.append(data[1:] if data.startswith(b"..") else data)
                        message = BytesParser(policy=policy.default).parsebytes(b"".join(chunks))
                        with fake.lock:
                            fake.messages.append(message)
                            fake.envelopes.append({"from": sender, "rcpt": list(rcpt)})
                        self.reply("250 OK queued")
                    elif verb == "RSET":
                        sender, rcpt = None, []
                        self.reply("250 OK")
                    elif verb == "NOOP":
                        self.reply("250 OK")
                    elif verb == "QUIT":
                        self.reply("221 bye")
                        return
                    else:
                        self.reply("502 command not implemented")

        return Handler
