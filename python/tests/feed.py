"""A simulated station for the geography tests: it serves a changes feed
whose zone entries the test writes (watch areas with themes and validity,
a jurisdiction), and records the report bodies phones `PUT`, so a test sees
the exact station-bound JSON. The real station's admin CLI can only make
beats so far; everything else the phone does here is real (the core, its
sync engine, HTTP on 127.0.0.1).

The wire forms are the model's (`model/src/feed.rs`, `model/src/zone/`):
`GET /v1/changes?cursor=N` gives `{"changes": [...], "cursor": "...",
"has_more": false}` and a per-zone delta is `{"kind": "zone", "zone": {...}}`."""

import json
import math
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

TOKEN = "simulated-device-token-0123456789"

# The local frame the tests lay zones out in: metres north and east of a
# point near Seodaemun Police Station (the Rust tests use the same one).
ORIGIN = (37.5658, 126.9386)
PER_LAT = 110_574.0
PER_LON = 111_320.0 * math.cos(math.radians(ORIGIN[0]))


def at(north, east):
    """(lat, lon) of a point `north` and `east` metres from the origin."""
    return ORIGIN[0] + north / PER_LAT, ORIGIN[1] + east / PER_LON


def square(south, west, side):
    """A GeoJSON Polygon: a square of `side` metres, south-west corner given."""
    corners = [(south, west), (south, west + side), (south + side, west + side),
               (south + side, west), (south, west)]
    ring = []
    for north, east in corners:
        lat, lon = at(north, east)
        ring.append([lon, lat])
    return {"type": "Polygon", "coordinates": [ring]}


def zone(code, kind, area, name, **extra):
    """A zone as the feed carries it."""
    return {"code": code, "kind": kind, "name": name, "area": area,
            "assigned": False, "retired": False, **extra}


class FakeStation:
    """Serves `GET /v1/changes` and `PUT /v1/reports/{id}` until `stop()`."""

    def __init__(self):
        self.entries = []
        self.puts = {}
        self.lock = threading.Lock()
        station = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _authorised(self):
                if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                    self._reply(401, {"type": "about:blank", "title": "unauthorised"})
                    return False
                return True

            def _reply(self, status, body):
                raw = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def do_GET(self):
                url = urlparse(self.path)
                if url.path != "/v1/changes":
                    return self._reply(404, {})
                if not self._authorised():
                    return None
                cursor = int(parse_qs(url.query).get("cursor", ["0"])[0])
                with station.lock:
                    changes = station.entries[cursor:]
                    end = len(station.entries)
                self._reply(200, {"changes": changes, "cursor": str(end), "has_more": False})

            def do_PUT(self):
                match = re.fullmatch(r"/v1/reports/([0-9a-f-]{36})", self.path)
                if match is None:
                    return self._reply(404, {})
                if not self._authorised():
                    return None
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with station.lock:
                    first = match.group(1) not in station.puts
                    station.puts.setdefault(match.group(1), []).append(body)
                self._reply(201 if first else 200, {"id": match.group(1)})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.server.server_address[1]}/"

    def publish(self, *zones):
        """Adds one `zone` delta per zone to the feed."""
        with self.lock:
            self.entries.extend({"kind": "zone", "zone": z} for z in zones)

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
