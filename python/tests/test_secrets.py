"""The core's secrets through the FFI: the device token and the queue's data key
live in the app's `SecretStore` (here `FileSecretStore`) and never in the queue
database; a lost key, a wrong key and a damaged key check are three distinct
errors; and a store that throws, declared or not, is a typed `PostError`."""

import sqlite3

import pytest

import postcso_ffi as ffi
from conftest import NOWHERE, run
from test_station import BUDGET_MS, ONLINE, enrolled_core, file_report

KEY = "postcso.queue_key.1"
TOKEN = "postcso.device_token"


class Throwing(ffi.FileSecretStore):
    """A file store that throws on demand: a declared `SecretStoreError`, or
    any other exception (what a buggy platform store does)."""

    def __init__(self, directory):
        super().__init__(directory)
        self.failure = None
        self.fail_on = {"get", "put", "delete"}

    def _maybe_fail(self, op):
        if self.failure is not None and op in self.fail_on:
            raise self.failure

    def get(self, name):
        self._maybe_fail("get")
        return super().get(name)

    def put(self, name, value):
        self._maybe_fail("put")
        return super().put(name, value)

    def delete(self, name):
        self._maybe_fail("delete")
        return super().delete(name)


def files_of(data_dir):
    return [p for p in data_dir.rglob("*") if p.is_file()]


def test_enrolment_saves_the_token_in_the_store_and_a_reopen_uses_it(open_core, station, tmp_path):
    core, enrolment = enrolled_core(open_core, station, name="carrier")
    store = ffi.FileSecretStore(tmp_path / "carrier-secrets")
    assert store.get(TOKEN) == enrolment.token.encode()
    assert len(store.get(KEY)) == 32
    core.close()

    # Nothing in the data directory holds the token or the key.
    for path in files_of(tmp_path / "carrier"):
        data = path.read_bytes()
        assert enrolment.token.encode() not in data, path
        assert store.get(KEY) not in data, path

    # Opened again without a credential: the stored token is used.
    core = open_core(station_url=station.url, name="carrier")
    core.set_network_state(ONLINE)
    report_id = file_report(core)
    outcome = run(core.sync_now(BUDGET_MS))
    assert outcome.stop.is_drained(), outcome
    assert core.get(report_id).state == ffi.ReportState.SENT

    # Signing out deletes it.
    core.set_credential(None)
    assert store.get(TOKEN) is None
    with pytest.raises(ffi.PostError.NotEnrolled):
        run(core.sync_now(BUDGET_MS))


def test_an_app_that_keeps_its_own_token_hands_it_in(open_core, tmp_path):
    core = open_core(credential="app-held-token")
    assert ffi.FileSecretStore(tmp_path / "phone-secrets").get(TOKEN) == b"app-held-token"
    core.set_credential("another-token")
    assert ffi.FileSecretStore(tmp_path / "phone-secrets").get(TOKEN) == b"another-token"


def test_a_lost_key_a_wrong_key_and_damaged_data_are_three_errors(open_core, tmp_path):
    core = open_core(name="phone")
    report_id = core.create_draft()
    core.close()
    store = ffi.FileSecretStore(tmp_path / "phone-secrets")
    key = store.get(KEY)

    store.delete(KEY)
    with pytest.raises(ffi.PostError.DataKeyLost) as lost:
        open_core(name="phone")
    assert "enrol again" in str(lost.value)
    assert store.get(KEY) is None

    store.put(KEY, bytes(32))
    with pytest.raises(ffi.PostError.DataKeyWrong):
        open_core(name="phone")

    store.put(KEY, key)
    with sqlite3.connect(tmp_path / "phone" / "queue.db") as db:
        (sealed,) = db.execute("SELECT sealed FROM key_canary").fetchone()
        damaged = bytearray(sealed)
        damaged[40] ^= 0x10
        db.execute("UPDATE key_canary SET sealed = ?", (bytes(damaged),))
    with pytest.raises(ffi.PostError.DataDamaged):
        open_core(name="phone")

    with sqlite3.connect(tmp_path / "phone" / "queue.db") as db:
        db.execute("UPDATE key_canary SET sealed = ?", (sealed,))
    assert open_core(name="phone").get(report_id).state == ffi.ReportState.DRAFT


@pytest.mark.parametrize(
    "failure, expected, words",
    [
        (ffi.SecretStoreError.Unavailable("before first unlock"), ffi.PostError.SecretsUnavailable, "first unlock"),
        (ffi.SecretStoreError.Failed("keystore said no"), ffi.PostError.SecretStoreFailed, "keystore said no"),
        (RuntimeError("a bug in the store"), ffi.PostError.SecretStoreFailed, "unexpectedly"),
    ],
)
def test_a_store_that_throws_at_open_is_a_typed_error(open_core, tmp_path, failure, expected, words):
    store = Throwing(tmp_path / "secrets")
    store.failure = failure
    with pytest.raises(expected) as raised:
        open_core(secrets=store)
    assert words in str(raised.value)

    store.failure = None
    assert open_core(secrets=store).stats().drafts == 0


def test_a_store_that_throws_later_leaves_the_core_working(open_core, tmp_path):
    store = Throwing(tmp_path / "secrets")
    core = open_core(secrets=store, credential="first-token")
    store.failure = ValueError("not today")
    with pytest.raises(ffi.PostError.SecretStoreFailed):
        core.set_credential("second-token")
    with pytest.raises(ffi.PostError.SecretStoreFailed):
        core.set_credential(None)
    store.failure = None
    assert store.get(TOKEN) == b"first-token"
    assert core.create_draft()


def test_enrolment_with_a_store_that_cannot_save_still_enrols_this_session(open_core, station, tmp_path):
    store = Throwing(tmp_path / "secrets")
    core = open_core(station_url=station.url, secrets=store)
    core.set_network_state(ONLINE)
    store.failure = ffi.SecretStoreError.Unavailable("locked")
    store.fail_on = {"put"}
    _, code = station.enrolment_codes(1)[0]
    with pytest.raises(ffi.PostError.SecretsUnavailable) as raised:
        run(core.enrol(code))
    assert "enrolled" in str(raised.value)
    assert store.get(TOKEN) is None

    # The code is spent, but the device is enrolled for this session.
    report_id = file_report(core)
    outcome = run(core.sync_now(BUDGET_MS))
    assert outcome.stop.is_drained(), outcome
    assert core.get(report_id).state == ffi.ReportState.SENT
