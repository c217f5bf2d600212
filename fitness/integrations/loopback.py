"""Consent from a terminal: wait for the provider's redirect on a loopback listener, or for
the user to paste the address the browser was sent to (or only its code).

The listener answers one path (`/oauth/<provider>/callback`) on 127.0.0.1 and hands what it
received to the waiting command, which answers the browser with the outcome. Whatever comes
first, the listener or a pasted line, is used.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Final
from urllib.parse import parse_qs, urlsplit

from fitness.errors import FitnessError

# How long the browser's request waits for the command to say how the consent ended.
ANSWER_TIMEOUT_SECONDS: Final = 60.0
MAX_LINE_CHARS: Final = 8192
_LOOPBACK_HOSTS: Final = ("127.0.0.1", "localhost", "::1")


@dataclass(frozen=True, slots=True)
class TerminalRedirect:
    """Where `fitness connect` has the provider send the browser back, and whether (on which
    port of 127.0.0.1, at which path) it listens for it."""

    redirect_uri: str
    port: int | None
    path: str

    @classmethod
    def choose(
        cls, public_base_url: str, provider: str, *, port: int | None, listen: bool
    ) -> TerminalRedirect:
        """The public base URL's callback, listened on when it is a loopback address (so one
        registered redirect URI serves the server and the terminal); `port` overrides it
        with `http://127.0.0.1:<port>`. Elsewhere (or with `listen=False`) nothing listens:
        the server's callback tells the user to paste the address into the terminal."""
        public = urlsplit(public_base_url)
        if port is not None:
            base, listen_on = f"http://127.0.0.1:{port}", port
        elif listen and (public.hostname or "") in _LOOPBACK_HOSTS:
            base = public_base_url.rstrip("/")
            listen_on = public.port or (443 if public.scheme == "https" else 80)
        else:
            base, listen_on = public_base_url.rstrip("/"), None
        path = f"{urlsplit(base).path}/oauth/{provider}/callback"
        return cls(f"{base}/oauth/{provider}/callback", listen_on, path)


class ConsentAbandoned(FitnessError):
    """No answer came from the provider (nor from the user) in time."""


@dataclass(frozen=True, slots=True)
class Redirect:
    """What the provider put on the redirect back: `state`, `code`, `scope`, `error`."""

    state: str | None
    code: str | None = field(repr=False)
    scope: str | None
    error: str | None

    @classmethod
    def parse(cls, text: str) -> Redirect:
        """A pasted address (`http://.../callback?state=...&code=...`) or a bare code."""
        text = text.strip()[:MAX_LINE_CHARS]
        if "?" not in text and "=" not in text:
            return cls(state=None, code=text or None, scope=None, error=None)
        query = {k: v[-1] for k, v in parse_qs(urlsplit(text).query or text).items()}
        return cls(
            state=query.get("state"),
            code=query.get("code"),
            scope=query.get("scope"),
            error=query.get("error"),
        )


@dataclass
class _Arrival:
    redirect: Redirect
    answer: queue.Queue[str] | None


class LoopbackReceiver:
    """A listener on 127.0.0.1:`port` for `GET <path>?...`; `port=0` picks a free one."""

    def __init__(self, port: int, path: str, arrivals: queue.Queue[_Arrival]) -> None:
        self._path = path
        self._arrivals = arrivals
        self._server = ThreadingHTTPServer(("127.0.0.1", port), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class _Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                pass  # the query holds the code: never log it

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                if parts.path != receiver._path:
                    self._reply(404, "Not the fitness callback.")
                    return
                answer: queue.Queue[str] = queue.Queue(maxsize=1)
                receiver._arrivals.put(_Arrival(Redirect.parse(self.path), answer))
                try:
                    text = answer.get(timeout=ANSWER_TIMEOUT_SECONDS)
                except queue.Empty:
                    text = "fitness did not answer; look at the terminal."
                self._reply(200, text)

            def _reply(self, status: int, text: str) -> None:
                body = f"{text}\n".encode()
                self.send_response(status)
                self.send_header("Content-Type", "text/plain; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(body)

        return _Handler


@contextmanager
def redirect_sources(
    *, port: int | None, path: str, lines: Iterable[str] | None
) -> Iterator[WaitForRedirect]:
    """Listen on 127.0.0.1:`port` (None: do not listen) and read pasted `lines` (None: do
    not read); yields `wait(timeout, finish)`, which calls `finish(redirect)` with the first
    redirect to arrive and answers the browser with what `finish` returns (or its error).

    Raises `OSError` when the port cannot be listened on.
    """
    arrivals: queue.Queue[_Arrival] = queue.Queue()
    receiver = LoopbackReceiver(port, path, arrivals) if port is not None else None
    if receiver is not None:
        receiver.start()
    if lines is not None:
        threading.Thread(target=_read_lines, args=(lines, arrivals), daemon=True).start()
    try:
        yield WaitForRedirect(arrivals, receiver.port if receiver is not None else None)
    finally:
        if receiver is not None:
            receiver.stop()


class WaitForRedirect:
    """Waits for the first redirect from the listener (on `port`, None if there is none)
    or the pasted lines."""

    def __init__(self, arrivals: queue.Queue[_Arrival], port: int | None) -> None:
        self._arrivals = arrivals
        self.port = port

    def __call__(self, timeout: float, finish: Callable[[Redirect], str]) -> str:
        """The text `finish` returned for the first redirect; its error is re-raised after
        the browser was told. `ConsentAbandoned` after `timeout` seconds of nothing."""
        try:
            arrival = self._arrivals.get(timeout=timeout)
        except queue.Empty:
            raise ConsentAbandoned(
                "no answer came in time (a consent lasts ten minutes); run the command again"
            ) from None
        try:
            text = finish(arrival.redirect)
        except FitnessError as error:
            if arrival.answer is not None:
                arrival.answer.put(f"fitness: error: {error}")
            raise
        if arrival.answer is not None:
            arrival.answer.put(f"{text}\nYou can close this tab.")
        return text


def _read_lines(lines: Iterable[str], arrivals: queue.Queue[_Arrival]) -> None:
    for line in lines:
        if line.strip():
            arrivals.put(_Arrival(Redirect.parse(line), None))
            return
