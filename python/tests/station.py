"""A real `postcso-station` process on 127.0.0.1 for the tests, driven like the
Rust harness (`tests/src/station.rs`): admin CLI for setup, HTTP for sessions
and triage, the station's SQLite file (read-only) to see what arrived."""

import csv
import json
import os
import socket
import sqlite3
import subprocess
import threading
import time
import urllib.request


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Station:
    """One station with its own data directory, serving until `stop()`."""

    slug = "seodaemun"

    def __init__(self, binary, data_dir):
        self.binary = binary
        self.data_dir = str(data_dir)
        self.port = _free_port()
        self.process = None
        self.admin("station", "create", "--slug", self.slug, "--name", "Seodaemun Police Station")
        self._serve()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}/"

    def admin(self, *args):
        out = subprocess.run(
            [self.binary, *args, "--data-dir", self.data_dir],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert out.returncode == 0, f"postcso-station {args} failed: {out.stderr}"
        return out.stdout

    def _serve(self):
        self.process = subprocess.Popen(
            [
                self.binary, "serve",
                "--listen", f"127.0.0.1:{self.port}",
                "--data-dir", self.data_dir,
                "--enrol-rate-per-minute", "100000",
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
        # Keep draining stdout so the station never blocks on a full pipe.
        threading.Thread(target=lambda: [None for _ in self.process.stdout], daemon=True).start()

    def stop(self):
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None

    def enrolment_codes(self, count):
        """(label, code) pairs of fresh one-time codes."""
        out = os.path.join(self.data_dir, f"codes-{time.monotonic_ns()}.csv")
        self.admin("enrol", "--station", self.slug, "--count", str(count), "--out", out)
        with open(out, newline="") as f:
            rows = list(csv.reader(f))[1:]
        return [(r[0], r[1]) for r in rows]

    def revoke(self, label):
        self.admin("device", "revoke", "--station", self.slug, "--device", label)

    def supervisor_session(self, username):
        return self.staff_session(username, "supervisor")

    def staff_session(self, username, role):
        """Adds a staff user with `role` and signs them in; returns the session token."""
        out = self.admin(
            "user", "add", "--station", self.slug, "--username", username, "--role", role
        )
        password = next(
            l.split("password (shown once): ", 1)[1].strip()
            for l in out.splitlines()
            if l.startswith("password (shown once): ")
        )
        reply = self._request(
            "POST", "v1/sessions",
            {"station": self.slug, "username": username, "password": password},
        )
        return reply["token"]

    def retire_category(self, admin_session, code):
        """Retires a category as an admin does: new reports in it are refused."""
        return self._request("POST", f"v1/categories/{code}/retire", token=admin_session)

    def report(self, session, report_id):
        """`GET /v1/reports/{id}` as a supervisor: the full report."""
        return self._request("GET", f"v1/reports/{report_id}", token=session)

    def triage(self, session, report_id, status, reason=None):
        return self._request(
            "PATCH", f"v1/reports/{report_id}", {"status": status, "reason": reason}, token=session
        )

    def db_row(self, sql, *params):
        db = sqlite3.connect(f"file:{os.path.join(self.data_dir, 'station.db')}?mode=ro", uri=True)
        try:
            return db.execute(sql, params).fetchone()
        finally:
            db.close()

    def _request(self, method, path, body=None, token=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        if token is not None:
            req.add_header("Authorization", f"Bearer {token}")
        with urllib.request.urlopen(req, timeout=30) as resp:
            raw = resp.read()
        return json.loads(raw) if raw else None
