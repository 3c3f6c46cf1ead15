"""Fixtures: the generated bindings loaded from an explicit native library, a
fresh core per test, a real station process, and an event recorder."""

import asyncio
import os
import pathlib
import threading
import time

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "python" / "src" / "postcso_ffi"
LIB_NAME = "libpostcso_ffi.dylib" if os.uname().sysname == "Darwin" else "libpostcso_ffi.so"


def _link_native_library():
    """The generated module loads the library from its own directory; put the
    build named by $POSTCSO_FFI_LIB (default: the debug build) there."""
    lib = pathlib.Path(os.environ.get("POSTCSO_FFI_LIB", ROOT / "target" / "debug" / LIB_NAME))
    if not lib.is_file():
        raise pytest.UsageError(
            f"no native library at {lib}: run `cargo build -p postcso-ffi` or set POSTCSO_FFI_LIB"
        )
    link = PACKAGE / LIB_NAME
    if link.is_symlink() or link.exists():
        link.unlink()
    link.symlink_to(lib.resolve())


_link_native_library()

import postcso_ffi as ffi  # noqa: E402  (needs the library linked first)
from station import Station  # noqa: E402

PHOTOS = ROOT / "tests" / "fixtures" / "photos"
# A loopback port nothing listens on: a core that must stay offline.
NOWHERE = "http://127.0.0.1:9/"


@pytest.fixture
def station(tmp_path):
    binary = os.environ.get("POSTCSO_STATION_BIN", str(ROOT / "target" / "debug" / "postcso-station"))
    if not os.path.isfile(binary):
        raise pytest.UsageError(f"no station binary at {binary}: run `cargo build -p postcso-station`")
    s = Station(binary, tmp_path / "station")
    yield s
    s.stop()


@pytest.fixture
def open_core(tmp_path):
    """Opens cores in fresh data directories and closes them after the test."""
    cores = []

    def opener(station_url=NOWHERE, credential=None, name="phone", secrets=None):
        if secrets is None:
            secrets = ffi.FileSecretStore(tmp_path / f"{name}-secrets")
        core = ffi.PostCore.open(
            ffi.CoreConfig(data_dir=str(tmp_path / name), station_url=station_url, credential=credential),
            secrets,
        )
        cores.append(core)
        return core

    yield opener
    for core in cores:
        core.close()


class Recorder(ffi.SyncListener):
    """Keeps every event; tests wait on it."""

    def __init__(self):
        self.events = []
        self.cond = threading.Condition()

    def on_event(self, event):
        with self.cond:
            self.events.append(event)
            self.cond.notify_all()

    def wait_for(self, predicate, timeout=30):
        deadline = time.monotonic() + timeout
        with self.cond:
            while not any(predicate(e) for e in self.events):
                left = deadline - time.monotonic()
                assert left > 0, f"event not seen; got {[type(e).__name__ for e in self.events]}"
                self.cond.wait(left)
            return next(e for e in self.events if predicate(e))


@pytest.fixture
def recorder():
    return Recorder()


def run(coro):
    """Awaits one core coroutine (enrol, sync_now) on a fresh event loop."""
    return asyncio.run(coro)


def fix(lat=37.5658, lon=126.9386, accuracy=7.0):
    import datetime

    return ffi.Location(
        lat=lat,
        lon=lon,
        accuracy_m=accuracy,
        altitude_m=None,
        fix_time=datetime.datetime.now(datetime.timezone.utc),
        source=ffi.LocationSource.GPS,
    )
