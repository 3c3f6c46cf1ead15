"""Fixtures of the review console's browser tests: a real `postcso-station`
process, carriers' reports filed by real phone cores through the Python
bindings, Debian's Chromium driven by Playwright at the two tablet viewports
with touch, axe-core on every page, and screenshots of every main screen."""

import asyncio
import concurrent.futures
import datetime
import os
import pathlib
import subprocess
import sys
import threading
import time

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT / "python" / "tests"))
sys.path.insert(0, str(ROOT / "python" / "src"))

LIB_NAME = "libpostcso_ffi.so"
PACKAGE = ROOT / "python" / "src" / "postcso_ffi"


def _link_native_library():
    """The generated bindings load the core from their own directory."""
    lib = pathlib.Path(os.environ.get("POSTCSO_FFI_LIB", ROOT / "target" / "debug" / LIB_NAME))
    if not lib.is_file():
        raise pytest.UsageError(f"no native library at {lib}: run `cargo build -p postcso-ffi --lib`")
    link = PACKAGE / LIB_NAME
    if link.is_symlink() or link.exists():
        link.unlink()
    link.symlink_to(lib.resolve())


_link_native_library()

import postcso_ffi as ffi  # noqa: E402
from station import Station  # noqa: E402  (python/tests/station.py)

CHROMIUM = os.environ.get("POSTCSO_CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = pathlib.Path(os.environ.get("POSTCSO_SCREENSHOTS", ROOT / "target" / "console-screenshots"))
AXE = (HERE / "node_modules" / "axe-core" / "axe.min.js")
PHOTO = ROOT / "tests" / "fixtures" / "photos" / "npm-exif-0.6.0" / "test1.jpg"
PASSWORD = "console test passphrase 1"
ONLINE = ffi.NetworkState(online=True, metered=False, constrained=False)
BUDGET_MS = 30_000

VIEWPORTS = {
    "landscape": {"width": 1280, "height": 800},
    "portrait": {"width": 800, "height": 1280},
}


class ConsoleStation(Station):
    """The python suite's station, served with a non-Secure cookie (plain
    HTTP on loopback) and staff whose passwords the tests type."""

    def _serve(self):
        self.process = subprocess.Popen(
            [
                self.binary, "serve",
                "--listen", f"127.0.0.1:{self.port}",
                "--data-dir", self.data_dir,
                "--enrol-rate-per-minute", "100000",
                "--sign-in-rate-per-minute", "1000",
                "--cookie-insecure",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        deadline = time.monotonic() + 30
        for line in self.process.stdout:
            if "listening on" in line:
                break
            assert time.monotonic() < deadline, "station did not start"
        else:
            raise AssertionError("the station exited before listening")
        threading.Thread(target=lambda: [None for _ in self.process.stdout], daemon=True).start()

    def add_staff(self, username, role="supervisor"):
        out = subprocess.run(
            [self.binary, "user", "add", "--data-dir", self.data_dir, "--station", self.slug,
             "--username", username, "--role", role, "--password-stdin"],
            input=PASSWORD, capture_output=True, text=True, timeout=60,
        )
        assert out.returncode == 0, out.stderr
        return username


def run(coro_factory):
    """Runs a core coroutine on its own loop in a worker thread, away from
    Playwright's loop in the main thread."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(lambda: asyncio.run(coro_factory())).result(timeout=120)


def fix(lat, lon, accuracy=8.0):
    return ffi.Location(
        lat=lat, lon=lon, accuracy_m=accuracy, altitude_m=None,
        fix_time=datetime.datetime.now(datetime.timezone.utc),
        source=ffi.LocationSource.GPS,
    )


class Carrier:
    """A carrier's phone: a real core enrolled at the station."""

    def __init__(self, station, data_dir):
        label, code = station.enrolment_codes(1)[0]
        self.label = label
        self.core = ffi.PostCore.open(
            ffi.CoreConfig(data_dir=str(data_dir), station_url=station.url),
            ffi.FileSecretStore(pathlib.Path(data_dir).with_name(pathlib.Path(data_dir).name + "-secrets")),
        )
        self.core.set_network_state(ONLINE)
        run(lambda: self.core.enrol(code))

    def file(self, category, note, lat, lon, photo=True):
        report_id = self.core.create_draft()
        self.core.set_category(report_id, category)
        self.core.set_note(report_id, note)
        self.core.set_location(report_id, fix(lat, lon))
        if photo:
            self.core.attach_photo(report_id, str(PHOTO))
        self.core.submit(report_id)
        return report_id

    def sync(self):
        outcome = run(lambda: self.core.sync_now(BUDGET_MS))
        assert outcome.stop.is_drained(), outcome
        return outcome

    def review(self, report_id):
        """What the carrier's phone shows after a sync: status and message."""
        self.sync()
        report = self.core.get(report_id)
        return report.review_status, report.server_message


@pytest.fixture
def station(tmp_path):
    binary = os.environ.get("POSTCSO_STATION_BIN", str(ROOT / "target" / "debug" / "postcso-station"))
    if not os.path.isfile(binary):
        raise pytest.UsageError(f"no station binary at {binary}: run `cargo build -p postcso-station`")
    s = ConsoleStation(binary, tmp_path / "station")
    yield s
    s.stop()


@pytest.fixture
def carrier(station, tmp_path):
    c = Carrier(station, tmp_path / "phone")
    yield c
    c.core.close()


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    if not os.path.isfile(CHROMIUM):
        raise pytest.UsageError(f"no Chromium at {CHROMIUM}: apt-get install chromium (cargo xtask deps does)")
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": [
            "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync",
        ],
    }


@pytest.fixture(params=list(VIEWPORTS))
def viewport(request):
    return request.param


class Tablet:
    """One supervisor's tablet: a fresh browser context (its own profile and
    cookies) at a tablet viewport with touch, Korean by default, that fails
    the test on any script error or Content-Security-Policy violation."""

    def __init__(self, browser, station, viewport, locale="ko-KR"):
        self.station = station
        self.viewport = viewport
        self.context = browser.new_context(
            viewport=VIEWPORTS[viewport], has_touch=True, locale=locale, device_scale_factor=1,
        )
        self.page = self.context.new_page()
        self.problems = []
        self.page.on("pageerror", lambda e: self.problems.append(f"script error: {e}"))
        self.page.on("console", self._console)

    def _console(self, message):
        text = message.text
        if "Content Security Policy" in text or "Refused to" in text:
            self.problems.append(f"CSP: {text}")

    def url(self, path):
        return self.station.url.rstrip("/") + path

    def sign_in(self, username):
        page = self.page
        page.goto(self.url("/console/"))
        page.wait_for_url("**/console/sign-in**")
        page.fill("input[name=station]", self.station.slug)
        page.fill("input[name=username]", username)
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]:has-text('로그인')")
        page.wait_for_url(self.url("/console/"))
        self.ready()

    def ready(self):
        self.page.wait_for_selector("html[data-console-ready='1']")

    def shot(self, name):
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(SCREENSHOTS / f"{name}-{self.viewport}.png"), full_page=True)

    def axe(self, name):
        """axe-core on the page as it is: no serious or critical violation.
        Injected through the DevTools protocol, which the page's CSP (rightly)
        does not govern; the station never serves axe."""
        self.page.evaluate(AXE.read_text())
        violations = self.page.evaluate(
            """async () => {
                const r = await axe.run(document, {resultTypes: ['violations']});
                return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                    nodes: v.nodes.slice(0, 5).map(n => n.target.join(' '))}));
            }"""
        )
        bad = [v for v in violations if v["impact"] in ("serious", "critical")]
        assert not bad, f"axe on {name} ({self.viewport}): {bad}"

    def check_clean(self):
        assert not self.problems, self.problems

    def close(self):
        self.check_clean()
        self.context.close()


@pytest.fixture
def tablets(browser, station, viewport):
    opened = []

    def open_tablet(locale="ko-KR"):
        t = Tablet(browser, station, viewport, locale)
        opened.append(t)
        return t

    yield open_tablet
    for t in opened:
        t.close()
