"""Exports from the queue in a real browser, at both tablet viewports with
touch, against a real station whose reports were filed by real phone cores:
the queue offers "export these N reports" for its current filter; the CSV
downloaded through the browser has the BOM, parses, holds the filtered
count and the carriers' Korean notes as filed; the GeoJSON leaves out notes
and device labels when asked. axe-core runs on the queue with the form."""

import csv
import io
import json

PLACES = [(37.5558, 126.9368), (37.5597, 126.9423), (37.5651, 126.9389)]
NOTES = {
    "a": "골목이 어둡고 \"CCTV\"가 없습니다, 밤에 특히",
    "b": "계단 조명이 꺼져 있어요",
    "c": "택배 분실이 잦은 빌라 입구",
}


def test_export_the_filtered_queue(station, carrier, tablets):
    ids = {
        "a": carrier.file("crime_risk", NOTES["a"], *PLACES[0]),
        "b": carrier.file("crime_risk", NOTES["b"], *PLACES[1], photo=False),
        "c": carrier.file("parcel_theft", NOTES["c"], *PLACES[2], photo=False),
    }
    carrier.sync()
    station.add_staff("kim")
    t = tablets()
    page = t.page
    t.sign_in("kim")
    assert page.locator(".export-title").inner_text() == "이 신고 3건 내보내기"
    # Filter: the form follows, with the new count.
    page.select_option("#f-category", "crime_risk")
    page.wait_for_function("() => document.querySelector('.export-title')?.textContent === '이 신고 2건 내보내기'")
    t.shot("queue-export")
    t.axe("queue-export")

    with page.expect_download() as download:
        page.click("button[name=format][value=csv]")
    name = download.value.suggested_filename
    assert name.startswith("postcso-reports-") and name.endswith(".csv"), name
    data = open(download.value.path(), "rb").read()
    assert data.startswith(b"\xef\xbb\xbf"), "UTF-8 with a BOM, for Excel"
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    assert len(rows) == 2, rows
    assert {r["id"] for r in rows} == {ids["a"], ids["b"]}
    by_id = {r["id"]: r for r in rows}
    assert by_id[ids["a"]]["note"] == NOTES["a"], "the Korean note as filed"
    assert by_id[ids["a"]]["device_label"] == carrier.label
    assert by_id[ids["a"]]["photos"] == "1" and by_id[ids["b"]]["photos"] == "0"
    assert by_id[ids["a"]]["category"] == "crime_risk"
    assert by_id[ids["a"]]["district_name"] == "서대문구"

    # The same filter as GeoJSON, without notes or device labels.
    page.check("input[name=omit_notes]")
    page.check("input[name=omit_labels]")
    with page.expect_download() as download:
        page.click("button[name=format][value=geojson]")
    assert download.value.suggested_filename.endswith(".geojson")
    geo = json.loads(open(download.value.path(), "rb").read().decode("utf-8"))
    assert geo["type"] == "FeatureCollection"
    assert len(geo["features"]) == 2
    for feature in geo["features"]:
        assert feature["geometry"]["type"] == "Point"
        lon, lat = feature["geometry"]["coordinates"]
        assert 37.5 < lat < 37.6 and 126.9 < lon < 127.0
        assert "note" not in feature["properties"] and "device_label" not in feature["properties"]
        assert feature["properties"]["category"] == "crime_risk"
    # The page is still the queue, filtered as before.
    assert page.locator("#queue-count").inner_text() == "총 2건"
