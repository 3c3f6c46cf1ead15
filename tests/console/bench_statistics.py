"""Benchmark of the statistics page and the monthly programme report
(BENCHMARKS.md): 10,000 reports at a real station, as `bench_queue.py` files
them (88 devices, by PUT), with decisions through the API (every tenth
accepted, every twentieth rejected, every fifteenth referred, every
twenty-fifth fixed); then the station's own server time (`Server-Timing:
app;dur=…`), p50/p95 over 200 requests after 20 warm-up ones, of
`/console/statistics` (months, then weeks), the monthly report and its CSV.

    python tests/console/bench_statistics.py [--reports 10000] [--database-url URL]

Uses the same station binary as the browser tests (POSTCSO_STATION_BIN)."""

import argparse
import concurrent.futures
import datetime
import json
import os
import pathlib
import random
import subprocess
import tempfile
import time

from bench_queue import PASSWORD, BenchStation, report, request

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parents[1]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reports", type=int, default=10_000)
    ap.add_argument("--samples", type=int, default=200)
    ap.add_argument("--database-url")
    args = ap.parse_args()
    binary = os.environ.get("POSTCSO_STATION_BIN", str(ROOT / "target" / "debug" / "postcso-station"))
    BenchStation.database_url = args.database_url
    tmp = tempfile.mkdtemp(prefix="postcso-bench-stats-")
    st = BenchStation(binary, pathlib.Path(tmp) / "station")
    try:
        base = st.url.rstrip("/")
        tokens = []
        for _, code in st.enrolment_codes(88):
            _, _, body = request(base + "/v1/devices/enrol", "POST", {"code": code})
            tokens.append(json.loads(body)["token"])
        subprocess.run(
            [binary, "user", "add", "--data-dir", st.data_dir, "--station", st.slug, "--username", "kim",
             "--role", "supervisor", "--password-stdin",
             *(["--database-url", args.database_url] if args.database_url else [])],
            input=PASSWORD, text=True, check=True, capture_output=True)
        _, _, body = request(base + "/v1/sessions", "POST",
                             {"station": st.slug, "username": "kim", "password": PASSWORD})
        session = json.loads(body)["token"]
        rng = random.Random(7)
        bodies = [report(i, rng) for i in range(args.reports)]
        started = time.monotonic()

        def put(i):
            r = bodies[i]
            url = f"{base}/v1/reports/{r['id']}"
            request(url, "PUT", r, token=tokens[i % len(tokens)])
            if i % 10 == 0:
                request(url, "PATCH", {"status": "accepted"}, token=session)
            elif i % 20 == 1:
                request(url, "PATCH", {"status": "rejected", "reason": "중복 신고"}, token=session)
            elif i % 15 == 2:
                request(url, "PATCH", {"status": "referred"}, token=session)
            elif i % 25 == 3:
                request(url, "PATCH", {"status": "accepted"}, token=session)
                request(url, "PATCH", {"status": "fixed"}, token=session)

        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            list(pool.map(put, range(args.reports)))
        print(f"filed {args.reports} reports in {time.monotonic() - started:.1f} s")

        cookie = {"Cookie": f"postcso_session={session}"}
        month = datetime.datetime.now(datetime.timezone(datetime.timedelta(hours=9))).strftime("%Y-%m")
        p = lambda xs, q: xs[min(len(xs) - 1, int(round(q * (len(xs) - 1))))]  # noqa: E731

        def measure(path, samples):
            for _ in range(20):
                request(base + path, headers=cookie)
            xs, size = [], 0
            for _ in range(samples):
                _, headers, body = request(base + path, headers=cookie)
                xs.append(float(headers["server-timing"].split("dur=")[1]))
                size = len(body)
            xs.sort()
            print(f"{path}: server time over {samples} requests: p50 {p(xs, 0.5):.1f} ms, "
                  f"p95 {p(xs, 0.95):.1f} ms, max {xs[-1]:.1f} ms; {size} bytes")

        measure("/console/statistics", args.samples)
        measure("/console/statistics?period=week", args.samples)
        measure(f"/console/statistics/monthly?month={month}", args.samples // 2)
        measure(f"/console/statistics/monthly.csv?month={month}", args.samples // 2)
    finally:
        st.stop()


if __name__ == "__main__":
    main()
