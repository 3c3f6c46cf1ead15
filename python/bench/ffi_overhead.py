"""The Python side of the FFI overhead figures: `noop()` and `submit()` called
through the generated bindings (ctypes), to set beside the Rust-side criterion
bench (`cargo bench -p postcso-ffi --bench ffi_overhead`) and the Kotlin/JNA one.

    cargo build --release -p postcso-ffi --lib
    POSTCSO_FFI_LIB=target/release/libpostcso_ffi.so python3 python/bench/ffi_overhead.py
"""

import datetime
import os
import pathlib
import statistics
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "python" / "src" / "postcso_ffi"
lib = pathlib.Path(os.environ.get("POSTCSO_FFI_LIB", ROOT / "target" / "release" / "libpostcso_ffi.so"))
if not lib.is_file():
    sys.exit(f"no native library at {lib}")
link = PACKAGE / ("libpostcso_ffi.dylib" if sys.platform == "darwin" else "libpostcso_ffi.so")
if link.is_symlink() or link.exists():
    link.unlink()
link.symlink_to(lib.resolve())
sys.path.insert(0, str(PACKAGE.parent))

import postcso_ffi as ffi  # noqa: E402


def per_call_ns(fn, n):
    start = time.perf_counter_ns()
    for _ in range(n):
        fn()
    return (time.perf_counter_ns() - start) / n


def main():
    with tempfile.TemporaryDirectory() as d:
        core = ffi.PostCore.open(
            ffi.CoreConfig(data_dir=d, station_url="http://127.0.0.1:9/", credential=None),
            ffi.FileSecretStore(os.path.join(d, "secrets")),
        )
        core.set_network_state(ffi.NetworkState(online=False, metered=False, constrained=False))
        noop = [per_call_ns(core.noop, 100_000) for _ in range(5)]
        print(f"noop(): median of 5 x 100,000 calls: {statistics.median(noop):.0f} ns/call")
        samples = []
        for _ in range(2_000):
            rid = core.create_draft()
            core.set_category(rid, "crime_risk")
            core.set_location(rid, ffi.Location(
                lat=37.5658, lon=126.9386, accuracy_m=7.0, altitude_m=None,
                fix_time=datetime.datetime.now(datetime.timezone.utc), source=ffi.LocationSource.GPS))
            t = time.perf_counter_ns()
            core.submit(rid)
            samples.append((time.perf_counter_ns() - t) / 1e3)
        samples.sort()
        print(f"submit(): 2,000 calls: mean {statistics.mean(samples):.0f} us, "
              f"p50 {samples[1000]:.0f} us, p99 {samples[1980]:.0f} us")
        core.close()


if __name__ == "__main__":
    main()
