"""Browser mode in a real browser: Debian's Chromium, headless, driven by chromium-driver (selenium).

The kiosk is `yoshin-kiosk --serve` on loopback, on an appliance enrolled with the run's real host
(mutual TLS), reading the emulator's card through the run's pcscd and vpcd. Chromium clicks the words it
reads in the browser's own terminal buffer (the text xterm.js holds), types the PIN, answers every
question, and sends; each screen's screenshot is checked: not blank, different from the one before,
with kanji drawn from a real font (not the missing-glyph box). The large-text page's cells are
measured against the normal page's: at least 1.5 × in height and width.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from PIL import Image, ImageChops, ImageStat
from selenium import webdriver
from selenium.common.exceptions import JavascriptException, TimeoutException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

from yoshin.tui.web import LARGE_FONT_PX, NORMAL_FONT_PX

KIOSK = str(Path(sys.executable).parent / "yoshin-kiosk")
CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
WINDOW = (1920, 1080)  # the kiosk's full-HD touch display
SHOTS = Path(__file__).resolve().parents[2] / "docs" / "images"

# The terminal's text as the browser holds it: each row, wide (CJK) cells counted once.
READ_ROWS = """
const t = window.yoshinTerminal; if (!t) return null;
const rows = [];
for (let y = 0; y < t.rows; y++) rows.push(t.buffer.active.getLine(y).translateToString(true));
return rows;"""
# Where a text is on screen, in cells (a wide character spans two), or null.
FIND_CELL = """
const [text] = arguments; const t = window.yoshinTerminal;
for (let y = 0; y < t.rows; y++) {
  const line = t.buffer.active.getLine(y); let s = ""; const xs = [];
  for (let x = 0; x < t.cols; x++) { const c = line.getCell(x); const ch = c.getChars();
    if (c.getWidth() === 0) continue; for (const _ of ch || " ") xs.push(x); s += ch || " "; }
  const i = s.indexOf(text);
  if (i >= 0) return [xs[i], xs[i + text.length - 1] + 1, y];
}
return null;"""
GEOMETRY = """
const t = window.yoshinTerminal; const r = document.querySelector('.xterm-screen').getBoundingClientRect();
return {cols: t.cols, rows: t.rows, width: r.width, height: r.height, font: Number(t.options.fontSize)};"""
# Everything visible on the page that is not the terminal (or holding it): there must be nothing.
STRAY = """
const term = document.getElementById('terminal'); const stray = [];
for (const el of document.body.querySelectorAll('*')) {
  if (term.contains(el) || el.contains(term)) continue;
  const r = el.getBoundingClientRect(); const s = getComputedStyle(el);
  if (r.width > 0 && r.height > 0 && s.visibility !== 'hidden' && s.display !== 'none'
      && parseFloat(s.opacity) > 0 && r.right > 0 && r.bottom > 0) stray.push(el.tagName + '.' + el.className);
}
// xterm's input textarea follows the cursor (for the IME), so it must stay see-through.
const area = document.querySelector('.xterm-helper-textarea');
if (parseFloat(getComputedStyle(area).opacity) > 0) stray.push('helper textarea visible');
return stray;"""
# Does the terminal's font draw 予 as a glyph, or as the box of a character no font has?
GLYPH_DRAWN = """
const [font] = arguments;
function pixels(ch) { const c = document.createElement('canvas'); c.width = c.height = 64;
  const g = c.getContext('2d'); g.font = '48px ' + font; g.fillText(ch, 4, 52);
  return Array.from(g.getImageData(0, 0, 64, 64).data).join(','); }
return [pixels('予') !== pixels('\\u{10FFFD}'), pixels('予') !== pixels('検')];"""


@dataclass
class Kiosk:
    browser: webdriver.Chrome
    url: str
    shots: list[tuple[str, Image.Image]]

    def rows(self) -> list[str]:
        return self.browser.execute_script(READ_ROWS) or []

    def text(self) -> str:
        return "\n".join(self.rows())

    def wait_for(self, *words: str, timeout: float = 60) -> str:
        """Until every word is in the browser's terminal (the kiosk's process writes it over the websocket)."""
        return self.wait_until(lambda text: all(word in text for word in words), timeout, f"{words} not shown")

    def wait_until(self, condition: Callable[[str], bool], timeout: float = 60, message: str = "") -> str:
        """Until the terminal's text meets the condition, twice 0.1 s apart (a frame arrives in pieces)."""
        seen: list[str] = [""]

        def settled(_: object) -> bool:
            text = self.text()
            same, seen[0] = text == seen[0], text
            return same and condition(text)

        with contextlib.suppress(TimeoutException):
            WebDriverWait(self.browser, timeout, poll_frequency=0.1).until(settled)
            return seen[0]
        raise AssertionError(f"{message or 'condition not met'}:\n{seen[0]}")

    def click(self, word: str) -> None:
        """A click on the middle of the word's cells, as a finger on the touch screen."""
        found = self.browser.execute_script(FIND_CELL, word)
        assert found, f"{word!r} not on screen:\n{self.text()}"
        start, end, row = found
        geometry = self.geometry()
        cell_w, cell_h = geometry["width"] / geometry["cols"], geometry["height"] / geometry["rows"]
        screen = self.browser.find_element(By.CSS_SELECTOR, ".xterm-screen")
        x = (start + end) / 2 * cell_w - geometry["width"] / 2
        y = (row + 0.5) * cell_h - geometry["height"] / 2
        ActionChains(self.browser).move_to_element_with_offset(screen, int(x), int(y)).click().perform()

    def type(self, keys: str) -> None:
        ActionChains(self.browser).send_keys(keys).perform()

    def geometry(self) -> dict[str, float]:
        return self.browser.execute_script(GEOMETRY)

    def shot(self, name: str) -> Image.Image:
        image = Image.open(io.BytesIO(self.browser.get_screenshot_as_png())).convert("RGB")
        self.shots.append((name, image))
        return image


@pytest.fixture
def served(make_device, virtual_reader, tmp_path: Path) -> Iterator[str]:
    """`yoshin-kiosk --serve` on a free loopback port, on an appliance enrolled with the run's host."""
    device = make_device()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    log = (tmp_path / "serve.log").open("wb")
    server = subprocess.Popen(
        [KIOSK, "--serve", "--port", str(port), "--data-dir", str(device.appliance.data_dir),
         "--reader", "0", "--board", "none"],
        stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        assert _listening(port, server), "the kiosk server did not listen within 30 s"
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        assert server.wait(timeout=30) == 0
        log.close()


def _listening(port: int, server: subprocess.Popen[bytes]) -> bool:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert server.poll() is None, "the kiosk server exited"
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
        time.sleep(0.05)  # the server is still starting; the connection ends the wait
    return False


@pytest.fixture
def chromium(tmp_path: Path) -> Iterator[webdriver.Chrome]:
    assert shutil.which(CHROMIUM) and shutil.which(CHROMEDRIVER), "tools/setup-system.sh installs chromium"
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--force-device-scale-factor=1",
                     f"--window-size={WINDOW[0]},{WINDOW[1]}", f"--user-data-dir={tmp_path / 'chromium'}",
                     "--no-first-run", "--disable-background-networking", "--proxy-server=direct://",
                     "--lang=ja"):  # fmt: skip
        options.add_argument(argument)
    # The driver and browser are Debian's: selenium never looks for (or downloads) its own.
    browser = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER, env={**os.environ, "SE_OFFLINE": "1"}))
    browser.set_script_timeout(10)
    try:
        yield browser
    finally:
        browser.quit()


def _check_screens(shots: list[tuple[str, Image.Image]]) -> None:
    for (name, image), (_, before) in zip(shots, [(None, None), *shots], strict=False):
        spread = ImageStat.Stat(image.convert("L")).extrema[0]
        assert spread[1] - spread[0] > 100, f"{name}: blank screenshot"
        if before is not None:
            assert ImageChops.difference(image, before).getbbox() is not None, f"{name}: same as the screen before"


def _open(browser: webdriver.Chrome, url: str) -> Kiosk:
    browser.get(url)
    WebDriverWait(browser, 30, poll_frequency=0.1).until(
        lambda _: _safe(lambda: browser.execute_script("return !!window.yoshinTerminal"))
    )
    return Kiosk(browser, url, [])


def _safe(read):  # type: ignore[no-untyped-def]
    try:
        return read()
    except JavascriptException:
        return False


def test_a_whole_visit_in_chromium(served: str, chromium: webdriver.Chrome, card, tmp_path: Path) -> None:
    emulator = card("elderly")
    kiosk = _open(chromium, served + "/")
    assert kiosk.geometry()["font"] == NORMAL_FONT_PX
    assert chromium.execute_script(GLYPH_DRAWN, "'Noto Sans Mono CJK JP'") == [True, True]

    kiosk.wait_for("ことばを選んでください", "日本語", "English")
    # Once the kiosk draws, textual-serve's start dialog hides: the terminal is all there is.
    with contextlib.suppress(TimeoutException):
        WebDriverWait(chromium, 10, poll_frequency=0.1).until(lambda _: chromium.execute_script(STRAY) == [])
    assert chromium.execute_script(STRAY) == []
    kiosk.shot("welcome")
    kiosk.click("日本語")
    kiosk.wait_for("ご利用にあたって", "同意する")
    kiosk.shot("consent")
    kiosk.click("同意する")
    kiosk.wait_for("暗証番号", "残り3回")
    kiosk.shot("pin")
    kiosk.type("2580" + Keys.ENTER)
    shown = kiosk.wait_for("ご本人の確認", "多摩 一郎")
    assert "739041628575" not in shown  # the My Number is never shown
    kiosk.shot("identity")
    kiosk.click("はい")
    kiosk.wait_for("本日受ける予防接種", "高齢者インフルエンザ")
    kiosk.shot("vaccine")
    kiosk.click("高齢者インフルエンザ")
    kiosk.click("次へ")
    kiosk.wait_for("質問 1 /")
    kiosk.shot("question")
    text = kiosk.text()
    for _ in range(40):
        if "回答の確認" in text:
            break
        progress = next((line.strip() for line in text.splitlines() if "質問 " in line), None)
        assert progress, f"not a question:\n{text}"
        if "体温" in text and "はい" not in text:
            kiosk.type("36.5")
            kiosk.click("次へ")
        else:
            yes = "説明書を読みましたか" in text or "接種を希望しますか" in text
            kiosk.click("はい" if yes else "いいえ")
        # The next question (its own progress line, and its answers drawn) or the review.
        text = kiosk.wait_until(
            lambda text, seen=progress: "回答の確認" in text or (
                seen not in text and "質問 " in text and ("いいえ" in text or "体温" in text)),
            message=f"no question after {progress}",
        )  # fmt: skip
    else:
        raise AssertionError(f"the questionnaire did not end:\n{kiosk.text()}")
    kiosk.wait_for("回答の確認", "送信する")
    kiosk.shot("review")
    kiosk.click("送信する")
    kiosk.wait_for("カードをお取りください")
    kiosk.shot("remove-card")
    card.remove(emulator)
    kiosk.wait_for("ありがとうございました")
    kiosk.shot("thanks")

    _check_screens(kiosk.shots)
    assert chromium.execute_script(STRAY) == []
    for name, image in kiosk.shots:
        image.save(tmp_path / f"{name}.png")
    if os.environ.get("YOSHIN_UPDATE_SCREENSHOTS"):  # docs/kiosk.md keeps a few, made by this test
        for name, image in kiosk.shots:
            if name in {"welcome", "pin", "question", "remove-card"}:
                image.reduce(2).save(SHOTS / f"browser-{name}.png", optimize=True)


def test_large_text_is_at_least_one_and_a_half_times_in_chromium(served: str, chromium: webdriver.Chrome) -> None:
    """The welcome screen's box reloads the page at the large size, into a new kiosk session with the box
    ticked; its cells measure ≥ 1.5 × the normal page's, and clearing the box goes back."""
    kiosk = _open(chromium, served + "/")
    kiosk.wait_for("大きな文字で表示する")
    normal = kiosk.geometry()
    kiosk.click("大きな文字で表示する")
    WebDriverWait(chromium, 30, poll_frequency=0.1).until(lambda _: "text=large" in chromium.current_url)
    kiosk = _open(chromium, chromium.current_url)
    kiosk.wait_for("大きな文字で表示する")
    large = kiosk.geometry()
    assert large["font"] == LARGE_FONT_PX
    height = (large["height"] / large["rows"]) / (normal["height"] / normal["rows"])
    width = (large["width"] / large["cols"]) / (normal["width"] / normal["cols"])
    print(f"large/normal cell: height {height:.3f}, width {width:.3f}; {large} / {normal}")  # for docs/kiosk.md
    assert height >= 1.5 and width >= 1.5, (height, width)
    assert large["cols"] >= 80 and large["rows"] >= 24  # the screens' 80×24 layout still fits
    assert "X" in next(line for line in kiosk.rows() if "大きな文字" in line)  # the new session has it ticked
    assert chromium.execute_script(STRAY) == []
    kiosk.click("大きな文字で表示する")
    WebDriverWait(chromium, 30, poll_frequency=0.1).until(lambda _: "text=normal" in chromium.current_url)
    kiosk = _open(chromium, chromium.current_url)
    kiosk.wait_for("大きな文字で表示する")
    assert kiosk.geometry()["font"] == NORMAL_FONT_PX
