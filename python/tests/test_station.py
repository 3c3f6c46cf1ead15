"""End to end through the FFI against a real `postcso-station serve` on
127.0.0.1: enrolment, a report with a real photo delivered exactly once, the
supervisor's triage coming back through the core, a refused report corrected
and delivered under its id, a revoked device, and a listener that throws."""

import json

import pytest

import postcso_ffi as ffi
from conftest import PHOTOS, Recorder, fix, run

ONLINE = ffi.NetworkState(online=True, metered=False, constrained=False)
OFFLINE = ffi.NetworkState(online=False, metered=False, constrained=False)
PHOTO = PHOTOS / "npm-exif-0.6.0" / "test1.jpg"
BUDGET_MS = 30_000


def file_report(core, note="가로등 고장"):
    report_id = core.create_draft()
    core.set_category(report_id, "safety_facility")
    core.set_note(report_id, note)
    core.set_location(report_id, fix())
    core.attach_photo(report_id, str(PHOTO))
    core.submit(report_id)
    return report_id


def enrolled_core(open_core, station, recorder=None, name="phone"):
    label, code = station.enrolment_codes(1)[0]
    core = open_core(station_url=station.url, name=name)
    if recorder is not None:
        core.set_listener(recorder)
    enrolment = run(core.enrol(code))
    assert enrolment.label == label and len(enrolment.token) > 20
    return core, enrolment


def test_a_report_reaches_the_station_and_its_review_comes_back(open_core, station, recorder):
    core, enrolment = enrolled_core(open_core, station, recorder)
    core.set_network_state(OFFLINE)
    report_id = file_report(core)
    photo = core.get(report_id).photos[0]
    content_hash = core.get(report_id).content_hash
    assert station.db_row("SELECT count(*) FROM reports WHERE id = ?", report_id) == (0,)

    core.set_network_state(ONLINE)
    outcome = run(core.sync_now(BUDGET_MS))
    assert outcome.stop.is_drained(), outcome
    assert outcome.remaining == 0
    recorder.wait_for(lambda e: e.is_state_changed() and e.id == report_id
                      and e.state == ffi.ReportState.SENT)
    assert core.get(report_id).state == ffi.ReportState.SENT
    assert core.stats().sent == 1

    # At the station: once, complete, with the photo the phone processed.
    assert station.db_row("SELECT count(*), complete FROM reports WHERE id = ?", report_id) == (1, 1)
    assert station.db_row(
        "SELECT sha256, size FROM report_photos WHERE report_id = ?", report_id
    ) == (photo.sha256, photo.size)
    session = station.supervisor_session("kim")
    seen = station.report(session, report_id)
    assert seen["content_hash"] == content_hash
    assert seen["device_id"] == enrolment.device_id
    assert seen["content"]["category"] == "safety_facility"
    assert seen["content"]["note"] == "가로등 고장"

    station.triage(session, report_id, "rejected", "already reported by a resident")
    outcome = run(core.sync_now(BUDGET_MS))
    assert outcome.stop.is_drained(), outcome
    # The first run's feed already said "received"; this one brings the triage.
    recorder.wait_for(lambda e: e.is_review_changed() and e.id == report_id
                      and e.status.is_received())
    recorder.wait_for(lambda e: e.is_review_changed() and e.id == report_id
                      and e.status.is_rejected())
    report = core.get(report_id)
    assert report.review_status.is_rejected()
    assert report.server_message == "already reported by a resident"
    assert core.transfer_stats().photo_bytes_sent >= photo.size


def test_a_refused_report_is_corrected_and_delivered_under_its_id(open_core, station, recorder):
    core, _ = enrolled_core(open_core, station, recorder)
    core.set_network_state(OFFLINE)
    report_id = file_report(core)
    first_hash = core.get(report_id).content_hash
    # While the carrier was offline the admin retired the report's category.
    station.retire_category(station.staff_session("lee", "admin"), "safety_facility")

    core.set_network_state(ONLINE)
    outcome = run(core.sync_now(BUDGET_MS))
    assert outcome.stop.is_drained(), outcome
    refused = core.get(report_id)
    assert refused.state == ffi.ReportState.REJECTED_BY_SERVER
    assert "/category" in refused.server_message
    assert station.db_row("SELECT count(*) FROM reports WHERE id = ?", report_id) == (0,)

    # Back to a draft with the station's reason; unchanged, the phone refuses to seal it.
    assert core.retry_rejected(report_id) == ffi.ReportState.DRAFT
    recorder.wait_for(lambda e: e.is_state_changed() and e.id == report_id
                      and e.state == ffi.ReportState.DRAFT)
    assert core.get(report_id).content_hash is None
    with pytest.raises(ffi.PostError.InvalidCategory):
        core.submit(report_id)

    core.set_category(report_id, "crime_risk")
    receipt = core.submit(report_id)
    assert receipt.content_hash != first_hash
    outcome = run(core.sync_now(BUDGET_MS))
    assert outcome.stop.is_drained(), outcome
    sent = core.get(report_id)
    assert sent.state == ffi.ReportState.SENT
    assert sent.server_message is None
    assert station.db_row(
        "SELECT count(*), category, content_hash, complete FROM reports WHERE id = ?", report_id
    ) == (1, "crime_risk", receipt.content_hash, 1)
    # Only a refused report can be taken back.
    with pytest.raises(ffi.PostError.NotADraft):
        core.retry_rejected(report_id)


def test_a_revoked_device_raises_re_enrol_required_and_keeps_its_queue(open_core, station, recorder):
    core, enrolment = enrolled_core(open_core, station, recorder)
    core.set_network_state(OFFLINE)
    station.revoke(enrolment.label)
    report_id = file_report(core)
    core.set_network_state(ONLINE)
    with pytest.raises(ffi.PostError.ReEnrolRequired):
        run(core.sync_now(BUDGET_MS))
    recorder.wait_for(lambda e: e.is_re_enrol_required())
    assert core.get(report_id).state == ffi.ReportState.QUEUED
    assert station.db_row("SELECT count(*) FROM reports WHERE id = ?", report_id) == (0,)

    # A fresh code puts the device back in business; the kept report goes.
    _, code = station.enrolment_codes(1)[0]
    run(core.enrol(code))
    outcome = run(core.sync_now(BUDGET_MS))
    assert outcome.stop.is_drained(), outcome
    assert core.get(report_id).state == ffi.ReportState.SENT


def test_a_refused_enrolment_code_raises_enrolment_refused(open_core, station):
    core = open_core(station_url=station.url)
    with pytest.raises(ffi.PostError.EnrolmentRefused):
        run(core.enrol("NOT-A-REAL-CODE"))


def test_an_unreachable_station_raises_network_on_enrol(open_core):
    core = open_core()  # a loopback port nothing listens on
    with pytest.raises(ffi.PostError.Network):
        run(core.enrol("ANY-CODE"))


class Throwing(ffi.SyncListener):
    """Throws on every event: declared errors and undeclared exceptions alike."""

    def __init__(self, declared):
        self.declared = declared
        self.calls = 0

    def on_event(self, event):
        self.calls += 1
        if self.declared:
            raise ffi.ListenerError.Failed("the UI went away")
        raise RuntimeError("a bug in the app's listener")


@pytest.mark.parametrize("declared", [True, False], ids=["listener-error", "unexpected-exception"])
def test_a_throwing_listener_never_breaks_sync(open_core, station, declared):
    listener = Throwing(declared)
    core, _ = enrolled_core(open_core, station)
    core.set_network_state(OFFLINE)
    core.set_listener(listener)
    report_id = file_report(core)
    core.set_network_state(ONLINE)
    outcome = run(core.sync_now(BUDGET_MS))
    assert outcome.stop.is_drained(), outcome
    assert listener.calls > 3
    assert core.get(report_id).state == ffi.ReportState.SENT
    assert station.db_row("SELECT count(*) FROM reports WHERE id = ?", report_id) == (1,)


def test_cancel_stops_a_sync_and_close_ends_it(open_core, station):
    import asyncio
    import threading

    core, _ = enrolled_core(open_core, station)
    core.set_network_state(OFFLINE)
    for _ in range(3):
        file_report(core)
    # With the station down every attempt fails and the run backs off and
    # retries inside its 60 s budget; only cancel() can end it within seconds.
    station.stop()
    core.set_network_state(ONLINE)

    async def sync_then_cancel():
        task = asyncio.ensure_future(core.sync_now(60_000))
        await asyncio.sleep(0.5)
        threading.Thread(target=core.cancel).start()
        return await asyncio.wait_for(task, timeout=10)

    outcome = run(sync_then_cancel())
    assert outcome.stop.is_cancelled(), outcome
    assert core.stats().queued == 3

    # close() while a sync is in flight ends it as cancelled, too.
    async def sync_then_close():
        task = asyncio.ensure_future(core.sync_now(60_000))
        await asyncio.sleep(0.5)
        core.close()
        return await asyncio.wait_for(task, timeout=10)

    assert run(sync_then_close()).stop.is_cancelled()


def test_zones_from_the_station_reach_the_core(open_core, station, recorder, tmp_path):
    core, enrolment = enrolled_core(open_core, station, recorder)
    outline = {"type": "Polygon", "coordinates": [[
        [126.9312, 37.5641], [126.9401, 37.5641], [126.9401, 37.5702], [126.9312, 37.5641]
    ]]}
    area_file = tmp_path / "route-12.geojson"
    area_file.write_text(json.dumps(outline))
    station.admin("zone", "add", "--station", "seodaemun", "--code", "route-12",
                  "--name", "Route 12", "--area-file", str(area_file),
                  "--device", enrolment.label)
    station.admin("zone", "add", "--station", "seodaemun", "--code", "route-13",
                  "--name", "Route 13")

    outcome = run(core.sync_now(BUDGET_MS))
    assert outcome.stop.is_drained(), outcome
    recorder.wait_for(lambda e: e.is_zones_updated())
    zones = core.zones()
    assert [z.code for z in zones] == ["route-12", "route-13"]
    assert zones[0].assigned and not zones[1].assigned
    assert json.loads(zones[0].area_geojson) == outline
    assert zones[1].area_geojson is None
