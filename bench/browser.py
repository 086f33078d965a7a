"""`routeledger app` served for real and driven in headless Chromium: what the browser test and the
app bench share.

`served(db, log)` starts the server as a user does (`routeledger app --db DB --port P`, in its own
process group: the CLI runs `streamlit run` as a child) on a free loopback port and stops the whole
group on exit. `launch(playwright)` opens the Debian Chromium (never a downloaded one).
`wait_settled(page)` waits until Streamlit has settled: connected, the script finished, no skeleton
left, the page's title drawn, every Plotly chart drawn and every image loaded.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
STARTUP_SECONDS = 60
VIEWPORT = {"width": 1400, "height": 1000}

# Checked on every animation frame, so the time it returns is when the page settled, not when a poll came by.
SETTLED = """() => {
    const app = document.querySelector("[data-testid='stApp']");
    if (!app || app.getAttribute("data-test-connection-state") !== "CONNECTED") return false;
    if (app.getAttribute("data-test-script-state") !== "notRunning") return false;
    if (document.querySelector("[data-testid='stSkeleton']")) return false;
    if (!document.querySelector("[data-testid='stMain'] h1")) return false;
    for (const chart of document.querySelectorAll("[data-testid='stPlotlyChart']")) {
        if (!chart.querySelector(".main-svg")) return false;
    }
    for (const image of document.querySelectorAll("[data-testid='stMain'] [data-testid='stImage'] img")) {
        if (!image.complete) return false;
    }
    return true;
}"""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def health(port: int) -> str | None:
    """What /_stcore/health answers ("ok" once Streamlit serves), or None when nothing answers."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as response:
            return response.read().decode().strip()
    except OSError:
        return None


@dataclass
class Server:
    process: subprocess.Popen
    db: Path
    port: int
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def current_build_id(self) -> str:
        name = (self.db.parent / "published" / self.db.name / "CURRENT").read_text().strip()
        return name.removeprefix("marts-").removesuffix(".duckdb")

    def wait_healthy(self) -> None:
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"routeledger app exited {self.process.returncode}:\n{self.log.read_text()}")
            if health(self.port) == "ok":
                return
            time.sleep(0.2)
        raise RuntimeError(f"no /_stcore/health == ok within {STARTUP_SECONDS}s:\n{self.log.read_text()}")

    def stop(self) -> None:
        """End the CLI and its streamlit child: the whole process group `served` started."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)


@contextlib.contextmanager
def served(db: Path, log: Path) -> Iterator[Server]:
    """`routeledger app --db DB` on a free loopback port, its output in `log`, for the duration of the block."""
    port = free_port()
    with log.open("w") as handle:
        process = subprocess.Popen(
            [sys.executable, "-m", "pipelines.cli", "app", "--db", str(db), "--port", str(port)],
            cwd=ROOT,
            stdout=handle,  # a file, not a pipe: a full pipe would stall the server
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = Server(process, db, port, log)
    try:
        server.wait_healthy()
        yield server
    finally:
        server.stop()


def launch(playwright: Any) -> Any:
    """The Debian Chromium, headless; FileNotFoundError when it is not installed."""
    if not CHROMIUM.exists():
        raise FileNotFoundError(f"{CHROMIUM} is missing: run scripts/install-browser.sh as root")
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)


def wait_settled(page: Any, timeout_ms: float = 60_000) -> None:
    """Until the page has settled (SETTLED), checked on every animation frame."""
    page.wait_for_function(SETTLED, polling="raf", timeout=timeout_ms)
