"""Benchmark of the review console's queue (BENCHMARKS.md): 10,000 reports at
a real station, then the queue's first page: server time (the station's
`Server-Timing: app;dur=…`, p50/p95 over 200 requests, after 20 warm-up ones)
and the weight a fresh browser transfers for it, photos (thumbnails) excluded.

    python tests/console/bench_queue.py [--reports 10000] [--database-url URL]

Uses the same station binary, Chromium and venv as the browser tests
(POSTCSO_STATION_BIN, POSTCSO_CHROMIUM)."""

import argparse
import concurrent.futures
import datetime
import json
import os
import pathlib
import random
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT / "python" / "tests"))
from station import Station  # noqa: E402

PASSWORD = "bench passphrase 123"
CATEGORIES = ["crime_risk", "safety_facility", "traffic_risk", "parcel_theft", "resident_anxiety"]


class BenchStation(Station):
    database_url = None

    def admin(self, *args):
        extra = ["--database-url", self.database_url] if self.database_url else []
        out = subprocess.run([self.binary, *args, "--data-dir", self.data_dir, *extra],
                             capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stderr
        return out.stdout

    def _serve(self):
        extra = ["--database-url", self.database_url] if self.database_url else []
        self.process = subprocess.Popen(
            [self.binary, "serve", "--listen", f"127.0.0.1:{self.port}", "--data-dir", self.data_dir,
             "--enrol-rate-per-minute", "100000", "--sign-in-rate-per-minute", "1000",
             "--cookie-insecure", *extra],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        for line in self.process.stdout:
            if "listening on" in line:
                break
        import threading
        threading.Thread(target=lambda: [None for _ in self.process.stdout], daemon=True).start()


def request(url, method="GET", body=None, token=None, headers=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    with urllib.request.urlopen(req, timeout=60) as resp:
        return resp.status, {k.lower(): v for k, v in resp.headers.items()}, resp.read()


def report(i, rng):
    now = datetime.datetime.now(datetime.timezone(datetime.timedelta(hours=9)))
    lat, lon = 37.555 + rng.random() * 0.03, 126.925 + rng.random() * 0.03
    return {
        "id": str(uuid.uuid4()),
        "category": CATEGORIES[i % len(CATEGORIES)],
        "note": f"벤치마크 신고 {i}: 가로등이 꺼져 있고 골목이 어둡습니다.",
        "location": {"lat": lat, "lon": lon, "accuracy_m": 5 + rng.random() * 20,
                     "fix_time": now.astimezone(datetime.timezone.utc).isoformat(), "source": "gps"},
        "created_at": now.isoformat(),
        "photos": [{"sha256": f"{i:064x}", "size": 150000, "content_type": "image/jpeg"}] if i % 3 else [],
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reports", type=int, default=10_000)
    ap.add_argument("--samples", type=int, default=200)
    ap.add_argument("--database-url")
    args = ap.parse_args()
    binary = os.environ.get("POSTCSO_STATION_BIN", str(ROOT / "target" / "debug" / "postcso-station"))
    BenchStation.database_url = args.database_url
    tmp = tempfile.mkdtemp(prefix="postcso-bench-")
    st = BenchStation(binary, pathlib.Path(tmp) / "station")
    try:
        base = st.url.rstrip("/")
        codes = st.enrolment_codes(88)
        tokens = []
        for _, code in codes:
            _, _, body = request(base + "/v1/devices/enrol", "POST", {"code": code})
            tokens.append(json.loads(body)["token"])
        st.admin("user", "add", "--station", st.slug, "--username", "kim", "--role", "supervisor",
                 "--password", PASSWORD) if False else subprocess.run(
            [binary, "user", "add", "--data-dir", st.data_dir, "--station", st.slug, "--username", "kim",
             "--role", "supervisor", "--password-stdin",
             *(["--database-url", args.database_url] if args.database_url else [])],
            input=PASSWORD, text=True, check=True, capture_output=True)
        _, _, body = request(base + "/v1/sessions", "POST",
                             {"station": st.slug, "username": "kim", "password": PASSWORD})
        session = json.loads(body)["token"]
        rng = random.Random(7)
        started = time.monotonic()
        bodies = [report(i, rng) for i in range(args.reports)]

        def put(i):
            r = bodies[i]
            request(f"{base}/v1/reports/{r['id']}", "PUT", r, token=tokens[i % len(tokens)])
            if i % 10 == 0:
                request(f"{base}/v1/reports/{r['id']}", "PATCH", {"status": "accepted"}, token=session)
            elif i % 20 == 1:
                request(f"{base}/v1/reports/{r['id']}", "PATCH",
                        {"status": "rejected", "reason": "중복 신고"}, token=session)

        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            list(pool.map(put, range(args.reports)))
        print(f"filed {args.reports} reports in {time.monotonic() - started:.1f} s")

        cookie = {"Cookie": f"postcso_session={session}"}

        def server_ms():
            _, headers, body = request(base + "/console/", headers=cookie)
            timing = headers["server-timing"]
            return float(timing.split("dur=")[1]), len(body)

        for _ in range(20):
            server_ms()
        samples = []
        wall = []
        for _ in range(args.samples):
            t0 = time.perf_counter()
            ms, size = server_ms()
            wall.append((time.perf_counter() - t0) * 1000)
            samples.append(ms)
        samples.sort()
        wall.sort()
        p = lambda xs, q: xs[min(len(xs) - 1, int(round(q * (len(xs) - 1))))]  # noqa: E731
        print(f"queue first page (default filter, 50 rows), server time over {len(samples)} requests: "
              f"p50 {p(samples, 0.5):.1f} ms, p95 {p(samples, 0.95):.1f} ms, max {samples[-1]:.1f} ms; "
              f"client wall p95 {p(wall, 0.95):.1f} ms; HTML {size} bytes")
        for query in ["?status=all", "?status=received&sort=oldest", "?category=crime_risk", "?overdue=1"]:
            xs = []
            for _ in range(50):
                _, headers, _ = request(base + "/console/" + query, headers=cookie)
                xs.append(float(headers["server-timing"].split("dur=")[1]))
            xs.sort()
            print(f"  {query}: p50 {p(xs, 0.5):.1f} ms, p95 {p(xs, 0.95):.1f} ms")

        from playwright.sync_api import sync_playwright
        with sync_playwright() as pw:
            browser = pw.chromium.launch(
                executable_path=os.environ.get("POSTCSO_CHROMIUM", "/usr/bin/chromium"),
                args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                      "--disable-component-update", "--disable-sync"])
            ctx = browser.new_context(viewport={"width": 1280, "height": 800}, has_touch=True)
            ctx.add_cookies([{"name": "postcso_session", "value": session, "url": base}])
            page = ctx.new_page()
            seen = []
            page.on("requestfinished", lambda r: seen.append(r))
            page.goto(base + "/console/", wait_until="networkidle")
            total = photos = 0
            lines = []
            for r in seen:
                sizes = r.sizes()
                n = sizes["responseBodySize"] + sizes["responseHeadersSize"]
                if "/photos/" in r.url:
                    photos += n
                    continue
                total += n
                lines.append((n, r.url.replace(base, "")))
            browser.close()
        for n, url in sorted(lines, reverse=True):
            print(f"  {n:>8} B  {url}")
        print(f"queue page transferred, photos excluded: {total} bytes ({total / 1024:.1f} KiB); "
              f"thumbnails {photos} bytes")
    finally:
        st.stop()


if __name__ == "__main__":
    main()
