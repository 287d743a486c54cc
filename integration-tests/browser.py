"""Open a page in headless Chromium (Debian's `chromium`) and report what happened, stdlib only.

`load(path)` starts a fresh Chromium with a throw-away profile and the DevTools protocol on a
port of its choosing (`--remote-debugging-port=0`; the port is read from the profile's
`DevToolsActivePort`), connects to its page's websocket (a minimal client below: Chromium's
DevTools speak plain RFC 6455 on loopback), opens the file and returns a `PageResult`: the
console errors and uncaught exceptions, every request other than the page itself, the DOM as
HTML after load, and a PNG screenshot. Chromium is always killed and its profile removed.
`not_blank(png)` decodes the PNG (zlib + struct) and says whether it shows anything.

    import browser                       # integration-tests/ is on sys.path (see the tests)
    if browser.CHROMIUM is None: pytest.skip(browser.MISSING)
    page = browser.load(Path("report.html"))
    assert page.console_errors == [] and page.requests == []
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import hashlib
import json
import os
import select
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import time
import urllib.request
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

__all__ = ["CHROMIUM", "MISSING", "BrowserError", "PageResult", "load", "not_blank", "png_stats"]

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
"""Debian's Chromium, or None when it is not installed."""
MISSING = "no chromium on PATH: apt-get install -y chromium (.ci/run installs it for CI)"

FLAGS = (
    "--headless",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-default-apps",
    "--hide-scrollbars",
    "--mute-audio",
    "--remote-debugging-port=0",
    "--remote-debugging-address=127.0.0.1",
)
SCREENSHOTS = Path(os.environ.get("NRUN_IT_DIR", "/tmp/nrun-it")) / "screenshots"
"""Where screenshots go unless the caller names a file: kept for a person to open."""
_MAX_HEIGHT = 8000


class BrowserError(RuntimeError):
    """Chromium did not start, answer or load the page in time."""


@dataclasses.dataclass(frozen=True)
class PageResult:
    """What loading a page showed: errors, requests, the DOM after load, a screenshot."""

    console_errors: list[str]
    """console.error/assert calls, uncaught exceptions and the browser's error log entries."""
    requests: list[str]
    """The URL of every request the page made, the page itself left out."""
    dom_html: str
    """`document.documentElement.outerHTML` once the page has loaded."""
    screenshot_png_path: Path
    """A PNG of the whole page (up to 8000 CSS pixels tall)."""


# -- a minimal websocket client (RFC 6455, text frames, client side) --------------------------
class _WebSocket:
    def __init__(self, url: str, timeout: float):
        assert url.startswith("ws://"), url
        host_port, _, path = url[len("ws://") :].partition("/")
        host, _, port = host_port.partition(":")
        self.sock = socket.create_connection((host, int(port or 80)), timeout=timeout)
        self.buffer = bytearray()
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall(
            f"GET /{path} HTTP/1.1\r\nHost: {host_port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n".encode()
        )
        while b"\r\n\r\n" not in self.buffer:
            self._fill()
        head, _, rest = bytes(self.buffer).partition(b"\r\n\r\n")
        self.buffer = bytearray(rest)
        status, *lines = head.decode(errors="replace").split("\r\n")
        headers = {}
        for line in lines:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        accept = base64.b64encode(
            hashlib.sha1((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest()
        ).decode()
        if " 101 " not in status or headers.get("sec-websocket-accept") != accept:
            raise BrowserError(f"websocket handshake refused: {status.strip()}")

    def send(self, text: str) -> None:
        payload = text.encode()
        size = len(payload)
        if size < 126:
            head = struct.pack("!BB", 0x81, 0x80 | size)
        elif size < 1 << 16:
            head = struct.pack("!BBH", 0x81, 0x80 | 126, size)
        else:
            head = struct.pack("!BBQ", 0x81, 0x80 | 127, size)
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(head + mask + masked)

    def _fill(self) -> None:
        chunk = self.sock.recv(1 << 16)
        if not chunk:
            raise BrowserError("the DevTools websocket closed")
        self.buffer += chunk

    def _exactly(self, count: int) -> bytes:
        while len(self.buffer) < count:
            self._fill()
        data = bytes(self.buffer[:count])
        del self.buffer[:count]
        return data

    def ready(self, timeout: float) -> bool:
        """Whether a message (or part of one) arrives within `timeout` seconds."""
        return bool(self.buffer) or bool(select.select([self.sock], [], [], timeout)[0])

    def recv(self) -> str:
        message = b""
        while True:
            first, second = self._exactly(2)
            opcode, size = first & 0x0F, second & 0x7F
            if size == 126:
                (size,) = struct.unpack("!H", self._exactly(2))
            elif size == 127:
                (size,) = struct.unpack("!Q", self._exactly(8))
            mask = self._exactly(4) if second & 0x80 else b""
            payload = self._exactly(size)
            if mask:
                payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
            if opcode == 0x8:
                raise BrowserError("the DevTools websocket closed")
            if opcode == 0x9:  # ping: answer, keep reading
                self.sock.sendall(
                    struct.pack("!BB", 0x8A, 0x80 | len(payload)) + b"\0" * 4 + payload
                )
                continue
            if opcode in (0x0, 0x1, 0x2):
                message += payload
                if first & 0x80:
                    return message.decode()

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.sendall(struct.pack("!BB", 0x88, 0x80) + b"\0" * 4)
        self.sock.close()


class _DevTools:
    """Commands to one page over its websocket; the events seen meanwhile are kept in order."""

    def __init__(self, ws: _WebSocket, timeout: float):
        self.ws = ws
        self.timeout = timeout
        self.next_id = 0
        self.events: list[dict[str, Any]] = []

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        self.next_id += 1
        wanted = self.next_id
        self.ws.send(json.dumps({"id": wanted, "method": method, "params": params}))
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            message: dict[str, Any] = json.loads(self.ws.recv())
            if message.get("id") == wanted:
                if "error" in message:
                    raise BrowserError(f"{method}: {message['error'].get('message')}")
                result: dict[str, Any] = message.get("result", {})
                return result
            if "method" in message:
                self.events.append(message)
        raise BrowserError(f"{method}: no answer in {self.timeout:g}s")

    def wait_for(self, event: str) -> dict[str, Any]:
        deadline = time.monotonic() + self.timeout
        for seen in self.events:
            if seen["method"] == event:
                return seen
        while time.monotonic() < deadline:
            message: dict[str, Any] = json.loads(self.ws.recv())
            if "method" in message:
                self.events.append(message)
                if message["method"] == event:
                    return message
        raise BrowserError(f"no {event} in {self.timeout:g}s")

    def settle(self, quiet: float = 0.3) -> None:
        """Read events until none came for `quiet` seconds (late requests, late errors)."""
        while self.ws.ready(quiet):
            message: dict[str, Any] = json.loads(self.ws.recv())
            if "method" in message:
                self.events.append(message)


# -- Chromium ----------------------------------------------------------------------------------
@contextlib.contextmanager
def _chromium(width: int, height: int, timeout: float) -> Iterator[int]:
    """A fresh headless Chromium; yields its DevTools port. Killed and its profile removed."""
    if CHROMIUM is None:
        raise BrowserError(MISSING)
    profile = Path(tempfile.mkdtemp(prefix="nrun-chromium-"))
    log = open(profile.parent / f"{profile.name}.log", "wb")  # noqa: SIM115 - closed below
    argv = [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", f"--window-size={width},{height}"]
    if os.geteuid() == 0:
        argv.append("--no-sandbox")  # Chromium refuses to run as root with its sandbox
    proc = subprocess.Popen(
        [*argv, "about:blank"],
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=log,
        start_new_session=True,  # its renderers and zygotes share our new group: killed with it
    )
    try:
        yield _devtools_port(proc, profile, Path(log.name), timeout)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        _kill_group(proc.pid)  # any helper that outlived the browser
        log.close()
        shutil.rmtree(profile, ignore_errors=True)
        Path(log.name).unlink(missing_ok=True)


def _kill_group(group: int, timeout: float = 10.0) -> None:
    """SIGKILL the process group `group` (ours: Chromium's) and wait until it is gone."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.killpg(group, signal.SIGKILL)
        except ProcessLookupError:
            return
        time.sleep(0.05)


def _devtools_port(proc: subprocess.Popen[bytes], profile: Path, log: Path, timeout: float) -> int:
    active = profile / "DevToolsActivePort"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = log.read_text(errors="replace").strip().splitlines()[-5:]
            raise BrowserError(f"chromium exited with {proc.returncode}: {' | '.join(tail)}")
        with contextlib.suppress(FileNotFoundError, ValueError, IndexError):
            lines = active.read_text().splitlines()
            if len(lines) >= 2:
                return int(lines[0])
        time.sleep(0.05)
    raise BrowserError(f"chromium wrote no {active.name} in {timeout:g}s")


def _page_socket(port: int, timeout: float) -> str:
    """The websocket URL of Chromium's first page (the about:blank it started with)."""
    direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback: no proxy
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with direct.open(f"http://127.0.0.1:{port}/json/list", timeout=timeout) as answer:
            targets = json.load(answer)
        for target in targets:
            if target.get("type") == "page" and target.get("webSocketDebuggerUrl"):
                return str(target["webSocketDebuggerUrl"])
        time.sleep(0.05)
    raise BrowserError(f"chromium showed no page in {timeout:g}s")


def _errors(events: list[dict[str, Any]]) -> list[str]:
    found = []
    for event in events:
        method, params = event["method"], event.get("params", {})
        if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            args = params.get("args", [])
            text = " ".join(str(a.get("value", a.get("description", ""))) for a in args)
            found.append(f"console.{params['type']}: {text}")
        elif method == "Runtime.exceptionThrown":
            details = params.get("exceptionDetails", {})
            description = details.get("exception", {}).get("description", "")
            found.append(f"exception: {details.get('text', '')} {description}".strip())
        elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
            entry = params["entry"]
            found.append(f"log ({entry.get('source')}): {entry.get('text')} {entry.get('url', '')}")
    return found


def load(
    path: Path,
    *,
    screenshot: Path | None = None,
    width: int = 1280,
    height: int = 900,
    timeout: float = 60.0,
) -> PageResult:
    """Open the file `path` in a fresh headless Chromium; what it logged, fetched and showed.

    The screenshot goes to `screenshot`, else `$NRUN_IT_DIR/screenshots/<file name>.png`.
    """
    url = path.resolve().as_uri()
    shot = screenshot or SCREENSHOTS / f"{path.stem}.png"
    with _chromium(width, height, timeout) as port:
        ws = _WebSocket(_page_socket(port, timeout), timeout)
        try:
            tools = _DevTools(ws, timeout)
            for domain in ("Runtime", "Log", "Network", "Page"):
                tools.call(f"{domain}.enable")
            tools.events.clear()  # about:blank's own
            tools.call("Page.navigate", url=url)
            tools.wait_for("Page.loadEventFired")
            tools.settle()
            dom = tools.call(
                "Runtime.evaluate",
                expression="document.documentElement.outerHTML",
                returnByValue=True,
            )["result"]["value"]
            size = tools.call("Page.getLayoutMetrics")["cssContentSize"]
            png = tools.call(
                "Page.captureScreenshot",
                format="png",
                optimizeForSpeed=True,  # zlib fast, no filters: quick to decode here too
                captureBeyondViewport=True,
                clip={
                    "x": 0,
                    "y": 0,
                    "width": max(size["width"], width),
                    "height": min(max(size["height"], 1), _MAX_HEIGHT),
                    "scale": 1,
                },
            )["data"]
            tools.settle(0.1)
            events = tools.events
        finally:
            ws.close()
    requests = [
        e["params"]["request"]["url"]
        for e in events
        if e["method"] == "Network.requestWillBeSent" and e["params"]["request"]["url"] != url
    ]
    shot.parent.mkdir(parents=True, exist_ok=True)
    shot.write_bytes(base64.b64decode(png))
    return PageResult(_errors(events), requests, str(dom), shot)


# -- PNG ---------------------------------------------------------------------------------------
def _pixels(png: bytes) -> tuple[int, int, int, list[bytes]]:
    """Width, height, bytes per pixel and the unfiltered rows of an 8-bit RGB(A)/grey PNG."""
    if png[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG")
    pos, idat, header = 8, [], b""
    while pos < len(png):
        (size,) = struct.unpack("!I", png[pos : pos + 4])
        kind, data = png[pos + 4 : pos + 8], png[pos + 8 : pos + 8 + size]
        if kind == b"IHDR":
            header = data
        elif kind == b"IDAT":
            idat.append(data)
        pos += 12 + size
    width, height, depth, color, _, _, interlace = struct.unpack("!IIBBBBB", header)
    channels = {0: 1, 2: 3, 4: 2, 6: 4}.get(color)
    if depth != 8 or channels is None or interlace:
        raise ValueError(f"unsupported PNG (depth {depth}, colour type {color}, interlace)")
    raw = zlib.decompress(b"".join(idat))
    stride = width * channels
    rows: list[bytes] = []
    previous = bytes(stride)
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        if kind == 1:
            for i in range(channels, stride):
                line[i] = (line[i] + line[i - channels]) & 0xFF
        elif kind == 2:
            line = bytearray(_add_bytes(bytes(line), previous))
        elif kind == 3:
            for i in range(stride):
                left = line[i - channels] if i >= channels else 0
                line[i] = (line[i] + ((left + previous[i]) >> 1)) & 0xFF
        elif kind == 4:
            for i in range(stride):
                a = line[i - channels] if i >= channels else 0
                b, c = previous[i], previous[i - channels] if i >= channels else 0
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else b if pb <= pc else c
                line[i] = (line[i] + pred) & 0xFF
        previous = bytes(line)
        rows.append(previous)
    return width, height, channels, rows


def _add_bytes(a: bytes, b: bytes) -> bytes:
    """Bytewise `(a + b) mod 256` on whole rows at once (the 'Up' filter), via big integers."""
    n = len(a)
    x, y = int.from_bytes(a, "big"), int.from_bytes(b, "big")
    low = int.from_bytes(b"\x7f" * n, "big")
    high = int.from_bytes(b"\x80" * n, "big")
    return (((x & low) + (y & low)) ^ ((x ^ y) & high)).to_bytes(n, "big")


def png_stats(png: bytes | Path, *, every: int = 4) -> tuple[int, float]:
    """(distinct colours, share of pixels that are not white) over every `every`-th row/pixel."""
    data = png.read_bytes() if isinstance(png, Path) else png
    _, _, channels, rows = _pixels(data)
    colors: set[bytes] = set()
    total = inked = 0
    white = b"\xff" * min(channels, 3)
    for row in rows[::every]:
        for i in range(0, len(row), channels * every):
            pixel = row[i : i + min(channels, 3)]
            colors.add(pixel)
            total += 1
            inked += pixel != white
    return len(colors), inked / max(total, 1)


def not_blank(png: bytes | Path, *, min_colors: int = 8, min_ink: float = 0.005) -> bool:
    """Whether a screenshot shows something: several colours, and not all white."""
    colors, ink = png_stats(png)
    return colors >= min_colors and ink >= min_ink
