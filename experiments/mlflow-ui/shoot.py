"""Screenshots of the MLflow UI in headless Chromium (Debian's `chromium`), driven by Playwright.

    PYTHONPATH=/path/to/playwright python experiments/mlflow-ui/shoot.py http://127.0.0.1:5077 OUT_DIR \
        name=URL_FRAGMENT [name=URL_FRAGMENT ...] [--text]

Each page is opened at 1400 x 1000, given time to fetch its data, and saved as OUT_DIR/name.png (PNG,
palette-reduced with Pillow to stay small). ``--text`` also prints the page's visible text, to check what a
reader sees. Playwright is not a project dependency: install it anywhere (``pip install --target DIR
playwright``); it drives the system Chromium, no browser download.
"""

from __future__ import annotations

import contextlib
import sys
import time
from pathlib import Path
from typing import Any

CHROMIUM = "/usr/bin/chromium"


def shrink(path: Path) -> None:
    """Quantise to 256 colours: UI screenshots stay sharp and well under 300 KB."""
    from PIL import Image

    with Image.open(path) as image:
        image.convert("RGB").quantize(colors=256).save(path, optimize=True)


def settle(page: Any, seconds: float) -> None:
    """Wait for the page's requests to calm down (the UI polls: never fully idle), then a little more."""
    with contextlib.suppress(Exception):
        page.wait_for_load_state("networkidle", timeout=10_000)
    time.sleep(seconds)


def shoot(base: str, out: Path, pages: list[tuple[str, str]], text: bool = False,
          actions: dict | None = None, full_page: set[str] = frozenset()) -> None:
    """Open each ``(name, url fragment)``, run its ``actions``, save ``name.png`` (whole page if named
    in ``full_page``)."""
    from playwright.sync_api import sync_playwright

    out.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        for name, fragment in pages:
            page.goto(base.rstrip("/") + "/" + fragment.lstrip("/"))
            settle(page, 4)
            for step in (actions or {}).get(name, []):
                step(page)
                settle(page, 2)
            target = out / f"{name}.png"
            page.screenshot(path=str(target), full_page=name in full_page)  # the UI scrolls inside
            shrink(target)
            print(f"{target} {target.stat().st_size // 1024} KB")
            if text:
                print(page.inner_text("body")[:4000])
        browser.close()


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if a != "--text"]
    shoot(args[0], Path(args[1]), [tuple(a.split("=", 1)) for a in args[2:]], text="--text" in sys.argv)
