"""Real SMTP servers on loopback for e-mail tests, each in a thread.

``SmtpServer`` speaks just enough SMTP for Django's backend (greeting, EHLO,
MAIL, RCPT, DATA, QUIT) and keeps each message it accepts; ``delay`` slows
its greeting (a send in flight for that long). ``HungSmtpServer`` accepts
connections and never says a word, as a wedged mail server does.
"""

from __future__ import annotations

import socket
import threading
import time


class _Server:
    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.connected = threading.Event()
        self._conns: list[socket.socket] = []
        self._stop = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self._conns.append(conn)
            self.connected.set()
            threading.Thread(target=self.serve, args=(conn,), daemon=True).start()

    def serve(self, conn: socket.socket) -> None:
        raise NotImplementedError

    def settings(self, settings, timeout: float) -> None:
        """Point Django's SMTP backend at this server."""
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST = "127.0.0.1"
        settings.EMAIL_PORT = self.port
        settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
        settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
        settings.EMAIL_TIMEOUT = timeout

    def close(self) -> None:
        self._stop.set()
        self.sock.close()
        for conn in self._conns:
            try:
                conn.close()
            except OSError:
                pass

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class HungSmtpServer(_Server):
    """Accepts, then never answers (not even the greeting)."""

    def serve(self, conn: socket.socket) -> None:
        self._stop.wait()


class SmtpServer(_Server):
    """Answers like a mail server and keeps every message (``messages``)."""

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay
        self.messages: list[bytes] = []
        super().__init__()

    def serve(self, conn: socket.socket) -> None:
        time.sleep(self.delay)
        reader = conn.makefile("rb")
        conn.sendall(b"220 shop.test ESMTP\r\n")
        for raw in reader:
            command = raw.strip().upper()
            if command.startswith((b"EHLO", b"HELO")):
                conn.sendall(b"250 shop.test\r\n")
            elif command == b"DATA":
                conn.sendall(b"354 go ahead\r\n")
                lines = []
                for line in reader:
                    if line == b".\r\n":
                        break
                    lines.append(line)
                self.messages.append(b"".join(lines))
                conn.sendall(b"250 queued\r\n")
            elif command == b"QUIT":
                conn.sendall(b"221 bye\r\n")
                break
            else:  # MAIL FROM, RCPT TO, RSET, NOOP
                conn.sendall(b"250 ok\r\n")
        conn.close()
