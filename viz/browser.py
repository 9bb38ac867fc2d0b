"""Driving the browser app in headless Chromium (Playwright): for the test suite, the
latency benchmark and the README screenshot.

Playwright's own browser download does not work offline, so Debian's Chromium is used
(`/usr/bin/chromium`; `make test` installs it when missing), with the flags that keep it
off the network.

    python -m huzhu.viz.browser screenshot docs/figures/app.png
"""

from __future__ import annotations

import argparse
import contextlib
import shutil
import socket
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
)
VIEWPORT = {"width": 1600, "height": 1900}  # tall enough for every panel without scrolling
RENDER_TIMEOUT_MS = 120_000  # first render measured at 3-6 s; generous for a loaded machine
FIGURES_ON_PAGE = 5  # the network view and the four panels of huzhu.viz.panels


def chromium_path() -> str | None:
    """Debian's Chromium, or another `chromium` on the PATH; None if there is none."""
    return CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def served_app(port: int | None = None, log_path: Path | None = None) -> Iterator[str]:
    """Run `huzhu viz` on 127.0.0.1 for the block; yield its address; stop it by process id."""
    import subprocess

    from huzhu.viz.server import stop_server, wait_until_ready

    port = port or free_port()
    log = open(log_path, "w") if log_path else subprocess.DEVNULL
    process = subprocess.Popen(
        [sys.executable, "-m", "huzhu", "viz", "--host", "127.0.0.1", "--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        wait_until_ready(process, "127.0.0.1", port)
        yield f"http://127.0.0.1:{port}/"
    finally:
        stop_server(process)
        if log_path:
            log.close()


class Traffic:
    """Every request and websocket a page opened, and the responses that failed."""

    def __init__(self, page):
        self.urls: list[str] = []
        self.failures: list[str] = []
        page.on("request", lambda request: self.urls.append(request.url))
        page.on("websocket", lambda socket_: self.urls.append(socket_.url))
        page.on("response", lambda r: r.status >= 400 and self.failures.append(f"{r.status} {r.url}"))
        page.on("requestfailed", lambda request: self.failures.append(f"failed {request.url}"))

    def hosts(self) -> set[str]:
        """Host names of every network address the page used (data: and blob: excluded)."""
        return {urlparse(u).hostname for u in self.urls if urlparse(u).scheme in ("http", "https", "ws", "wss")}


@contextlib.contextmanager
def browser_page() -> Iterator:
    """A fresh headless Chromium page (its own profile)."""
    from playwright.sync_api import sync_playwright

    executable = chromium_path()
    if executable is None:
        raise RuntimeError("no Chromium: install Debian's chromium package (make test does)")
    with tempfile.TemporaryDirectory() as profile, sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            profile, executable_path=executable, headless=True, args=list(CHROMIUM_FLAGS), viewport=VIEWPORT
        )
        try:
            yield context.new_page()
        finally:
            context.close()


def wait_until_rendered(page) -> None:
    """Wait for the whole page: Solara's loader gone, the controls, the date line and
    every figure drawn (Chromium's own --screenshot would catch only "Loading app")."""
    page.locator("#loader-container").wait_for(state="detached", timeout=RENDER_TIMEOUT_MS)
    page.get_by_role("button", name="Step", exact=True).wait_for(state="visible", timeout=RENDER_TIMEOUT_MS)
    page.locator("#huzhu-date").wait_for(timeout=RENDER_TIMEOUT_MS)
    page.wait_for_function(
        f"document.querySelectorAll('.vue-grid-item img').length >= {FIGURES_ON_PAGE}", timeout=RENDER_TIMEOUT_MS
    )


def figure_sources(page) -> list[str]:
    """The blob addresses of the figures on the page; each redraw gives a new one."""
    return page.eval_on_selector_all(".vue-grid-item img", "images => images.map(i => i.getAttribute('src'))")


def step_and_wait(page) -> None:
    """Click Step and wait until the date line and every figure have been redrawn."""
    before_text = page.locator("#huzhu-date").inner_text()
    before_period = page.locator("#huzhu-period").inner_text() if page.locator("#huzhu-period").count() else None
    before = figure_sources(page)
    page.get_by_role("button", name="Step", exact=True).click()
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        _wait_for_redraw(page, before_period, before_text, before)
    except PlaywrightTimeout:
        period = page.locator("#huzhu-period").all_inner_texts()
        changed = [new != old for new, old in zip(figure_sources(page), before, strict=False)]
        raise AssertionError(
            f"Step did not redraw the page: period {before_period} -> {period}, figures redrawn {changed}"
        ) from None


def _wait_for_redraw(page, before_period, before_text, before) -> None:
    page.wait_for_function(
        """([period, date, old]) => {
            const p = document.querySelector('#huzhu-period');
            const d = document.querySelector('#huzhu-date');
            const now = [...document.querySelectorAll('.vue-grid-item img')].map(i => i.getAttribute('src'));
            const moved = (p ? p.textContent : null) !== period || (d && d.textContent !== date);
            return moved && now.length === old.length && now.every((src, k) => src !== old[k]);
        }""",
        arg=[before_period, before_text, before],
        timeout=RENDER_TIMEOUT_MS,
    )


SLIDER_SYNC_MS = 1_000  # longer than a loaded 2-core machine takes to deliver a key press's value


def set_slider(page, label: str, presses: int) -> float:
    """Move the slider labelled `label` by `presses` steps (negative: down); return its value."""
    thumb = page.get_by_role("slider", name=label, exact=True)
    thumb.focus()
    for _ in range(abs(presses)):
        thumb.press("ArrowRight" if presses > 0 else "ArrowLeft")
    # The thumb moves at once in the browser, but its value reaches the server's model
    # parameters asynchronously; a Reset clicked at once could still read the one before.
    page.wait_for_timeout(SLIDER_SYNC_MS)
    return float(thumb.get_attribute("aria-valuenow"))


def set_slider_to(page, label: str, value: float, step: float) -> float:
    """Put the slider labelled `label` at `value` (Home, then `step`s up); return its value."""
    thumb = page.get_by_role("slider", name=label, exact=True)
    thumb.focus()
    thumb.press("Home")
    low = float(thumb.get_attribute("aria-valuemin"))
    return set_slider(page, label, round((value - low) / step))


def screenshot(path: Path, steps: int = 40) -> None:
    """Serve the app, run `steps` periods and save a full-page screenshot to `path`."""
    with served_app() as address, browser_page() as page:
        page.goto(address)
        wait_until_rendered(page)
        for _ in range(steps):
            step_and_wait(page)
        bottom = page.evaluate(
            "Math.max(...[...document.querySelectorAll('.vue-grid-item')].map(e => e.getBoundingClientRect().bottom))"
        )
        page.screenshot(path=str(path), clip={"x": 0, "y": 0, "width": VIEWPORT["width"], "height": bottom + 16})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m huzhu.viz.browser", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    shot = commands.add_parser("screenshot", help="a full-page screenshot of the app after some periods")
    shot.add_argument("path", type=Path)
    shot.add_argument("--steps", type=int, default=40)
    args = parser.parse_args(argv)
    screenshot(args.path, args.steps)
    print(f"wrote {args.path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
