"""Geography through the FFI: zones found by point and distance, watch areas
entered and left as the carrier walks, what a sealed report records, this
phone's earlier reports at a place, and follow-ups delivered once.

Watch areas and the jurisdiction come from a simulated station's feed
(`feed.py`: the real station's CLI can only make beats so far); beats,
nearby reports and follow-ups run against the real `postcso-station`."""

import datetime
import json
import random

import pytest

import postcso_ffi as ffi
from conftest import fix, run
from feed import TOKEN, FakeStation, at, square, zone
from test_station import BUDGET_MS, enrolled_core

NOW = datetime.datetime.now(datetime.timezone.utc)


@pytest.fixture
def feed():
    station = FakeStation()
    yield station
    station.stop()


def alley():
    return zone(
        "yeonhui-dark-alley", "watch_area", square(100, 100, 100), "연희동 어두운 골목",
        theme="dark_alley", name_en="Yeonhui-dong dark alleys", guidance="check street lights",
    )


def district():
    return zone("seodaemun-gu", "jurisdiction", square(-1000, -1000, 2000), "서대문구",
                name_en="Seodaemun-gu")


def synced_core(open_core, feed):
    core = open_core(station_url=feed.url, credential=TOKEN)
    outcome = run(core.sync_now(BUDGET_MS))
    assert outcome.stop.is_drained(), outcome
    return core


def here(north, east, accuracy=6.0):
    lat, lon = at(north, east)
    return fix(lat=lat, lon=lon, accuracy=accuracy)


def test_zones_at_and_near_answer_offline_with_typed_errors(open_core, feed):
    later = zone("school-route", "watch_area", square(100, 100, 100), "등굣길",
                 valid_from=(NOW + datetime.timedelta(days=1)).isoformat())
    feed.publish(alley(), district(), later)
    core = synced_core(open_core, feed)
    assert [z.code for z in core.zones()] == ["yeonhui-dark-alley", "seodaemun-gu", "school-route"]
    assert core.zones()[0].kind == ffi.ZoneKind.WATCH_AREA

    hits = core.zones_at(*at(150, 150))
    assert [h.zone.code for h in hits] == ["yeonhui-dark-alley", "seodaemun-gu"], \
        "school-route is not in force until tomorrow"
    alley_hit = hits[0].zone
    assert alley_hit.kind == ffi.ZoneKind.WATCH_AREA and alley_hit.theme == "dark_alley"
    assert alley_hit.name == "연희동 어두운 골목" and alley_hit.guidance == "check street lights"
    assert hits[0].distance_m == 0
    assert core.zones_at(*at(5000, 5000)) == [], "outside every zone: empty, no error"

    near = core.zones_near(*at(150, 230), 50.0)  # 30 m east of the alley
    assert [h.zone.code for h in near] == ["seodaemun-gu", "yeonhui-dark-alley"]
    assert abs(near[1].distance_m - 30.0) < 0.5

    with pytest.raises(ffi.PostError.InvalidLocation):
        core.zones_at(float("nan"), 126.9)
    with pytest.raises(ffi.PostError.InvalidLocation):
        core.zones_near(91.0, 126.9, 10.0)
    with pytest.raises(ffi.PostError.InvalidRadius):
        core.zones_near(*at(0, 0), -1.0)


def test_walking_across_an_edge_with_jitter_enters_once_and_leaves_once(open_core, feed):
    feed.publish(alley(), district())
    core = synced_core(open_core, feed)
    rng = random.Random(16)
    entered, left = [], []

    def walk(easts):
        for east in easts:
            update = core.update_position(here(150, east + rng.uniform(-10, 10)))
            entered.extend(update.entered)
            left.extend(update.left)

    # From 60 m east of the alley's east edge (at 200 m) to 30 m inside, then
    # standing at the edge while GPS wanders ±10 m across it.
    walk(range(260, 169, -1))
    walk([200] * 300)
    assert [z.code for z in entered] == ["yeonhui-dark-alley"]
    assert entered[0].guidance == "check street lights" and entered[0].name_en
    assert left == []
    # A coarse network fix outside changes nothing, and says so.
    coarse = core.update_position(here(150, 150, accuracy=300.0))
    assert coarse.low_accuracy and coarse.entered == [] and coarse.left == []

    # Walking 30 m out, and lingering there, leaves exactly once.
    walk(range(200, 231))
    walk([230] * 100)
    assert [z.code for z in left] == ["yeonhui-dark-alley"]
    assert len(entered) == 1


def test_an_area_retired_by_the_station_while_inside_is_left(open_core, feed):
    feed.publish(alley(), district())
    core = synced_core(open_core, feed)
    assert [z.code for z in core.update_position(here(150, 150)).entered] == ["yeonhui-dark-alley"]

    feed.publish({**alley(), "retired": True})
    assert run(core.sync_now(BUDGET_MS)).stop.is_drained()
    update = core.update_position(here(150, 150))
    assert [(z.code, z.retired) for z in update.left] == [("yeonhui-dark-alley", True)]
    assert core.zones_at(*at(150, 150))[0].zone.code == "seodaemun-gu"


def test_a_restart_does_not_announce_the_area_again(open_core, feed):
    feed.publish(alley())
    core = synced_core(open_core, feed)
    assert len(core.update_position(here(150, 150)).entered) == 1
    core.close()
    again = open_core(station_url=feed.url, credential=TOKEN)
    assert again.update_position(here(150, 150)).entered == []
    assert len(again.update_position(here(150, 240)).left) == 1


def test_the_station_bound_report_carries_its_zones_and_district(open_core, feed):
    feed.publish(alley(), district())
    core = synced_core(open_core, feed)
    report_id = core.create_draft()
    core.set_category(report_id, "safety_facility")
    core.set_location(report_id, here(150, 150))
    receipt = core.submit(report_id)
    assert run(core.sync_now(BUDGET_MS)).stop.is_drained()
    assert core.get(report_id).state == ffi.ReportState.SENT

    [body] = feed.puts[report_id]
    assert body["zones"] == ["yeonhui-dark-alley", "seodaemun-gu"]
    assert body["district"] == "seodaemun-gu"
    assert "follow_up_of" not in body
    assert core.get(report_id).content_hash == receipt.content_hash


def test_nearby_reports_and_a_follow_up_delivered_once(open_core, station, recorder, tmp_path):
    core, enrolment = enrolled_core(open_core, station, recorder)
    outline = square(0, 0, 300)
    area_file = tmp_path / "route-12.geojson"
    area_file.write_text(json.dumps(outline))
    station.admin("zone", "add", "--station", "seodaemun", "--code", "route-12",
                  "--name", "Route 12", "--area-file", str(area_file),
                  "--device", enrolment.label)
    assert run(core.sync_now(BUDGET_MS)).stop.is_drained()
    [hit] = core.zones_at(*at(150, 150))
    assert (hit.zone.code, hit.zone.kind, hit.zone.assigned) == ("route-12", ffi.ZoneKind.BEAT, True)

    original = core.create_draft()
    core.set_category(original, "safety_facility")
    core.set_note(original, "가로등 고장")
    core.set_location(original, here(150, 150))
    core.submit(original)
    assert run(core.sync_now(BUDGET_MS)).stop.is_drained()
    session = station.supervisor_session("kim")
    content = station.report(session, original)["content"]
    assert content["zones"] == ["route-12"] and "district" not in content

    # A new draft at the same place offers the earlier report.
    draft = core.create_draft()
    core.set_category(draft, "safety_facility")
    core.set_location(draft, here(160, 150))
    [nearby] = core.nearby_reports(draft)
    assert nearby.id == original and nearby.state == ffi.ReportState.SENT
    assert abs(nearby.distance_m - 10.0) < 0.5 and nearby.photo_count == 0
    core.delete_draft(draft)

    # The carrier adds a photo to it instead: a follow-up, delivered once.
    with pytest.raises(ffi.PostError.InvalidFollowUp):
        core.create_follow_up(core.create_draft())
    with pytest.raises(ffi.PostError.NotFound):
        core.create_follow_up("019ad0a0-0000-7000-8000-000000000099")
    follow_up = core.create_follow_up(original)
    assert core.get(follow_up).follow_up_of == original
    assert core.get(follow_up).category == "safety_facility"
    with pytest.raises(ffi.PostError.InvalidFollowUp):
        core.set_category(follow_up, "parcel_theft")
    from test_station import PHOTO
    core.attach_photo(follow_up, str(PHOTO))
    core.submit(follow_up)
    assert run(core.sync_now(BUDGET_MS)).stop.is_drained()
    assert run(core.sync_now(BUDGET_MS)).stop.is_drained()
    assert core.get(follow_up).state == ffi.ReportState.SENT
    assert station.db_row("SELECT count(*), complete FROM reports WHERE id = ?", follow_up) == (1, 1)
    content = station.report(session, follow_up)["content"]
    assert content["follow_up_of"] == original
    assert content["category"] == "safety_facility"
    # A follow-up of the follow-up names the original.
    assert core.get(core.create_follow_up(follow_up)).follow_up_of == original
