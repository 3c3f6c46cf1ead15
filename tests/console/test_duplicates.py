"""Duplicates in the review console, in a real browser at both tablet
viewports, against a real station whose reports were filed by real phone
cores: the report page lists the possible duplicates (distance, category,
status, age, thumbnail, note); the comparison shows the two reports side by
side with their photos at full size and both positions on one map; a merge
in one step makes the duplicate `merged`, shows its photo on the kept report
as a related photo, and the duplicate's carrier's core receives the status
and the message after a sync. A merge decided on a report someone changed
meanwhile is refused and asked again. axe-core runs on every new page, and
every new screen is photographed."""

import pytest

from conftest import Carrier

# 신촌, 서대문구: a dark alley, reported twice 10 m apart, and once far away.
ALLEY = (37.5597, 126.9423)
TEN_M_NORTH = (ALLEY[0] + 0.00009, ALLEY[1])
FAR = (37.5651, 126.9389)
MERGED_MESSAGE = "이미 처리 중인 신고에 병합되었습니다."


@pytest.fixture
def second_carrier(station, tmp_path):
    c = Carrier(station, tmp_path / "phone-2")
    yield c
    c.core.close()


@pytest.fixture
def twice(carrier, second_carrier):
    """The first carrier reports the alley; the second carrier reports the
    same alley 10 m away later, and a third report lies far off."""
    first = carrier.file("crime_risk", "골목이 어둡고 CCTV가 없습니다", *ALLEY)
    far = carrier.file("crime_risk", "공원 입구 가로등 고장", *FAR, photo=False)
    carrier.sync()
    second = second_carrier.file("crime_risk", "밤에 이 골목이 너무 어두워요", *TEN_M_NORTH)
    second_carrier.sync()
    return {"first": first, "second": second, "far": far}


def open_report(t, report_id):
    t.page.goto(t.url(f"/console/reports/{report_id}"))
    t.ready()


def wait_images(page, selector):
    page.wait_for_function(
        "(s) => [...document.querySelectorAll(s)].length > 0 && [...document.querySelectorAll(s)].every(i => i.complete && i.naturalWidth > 0)",
        arg=selector,
    )


def test_compare_and_merge_a_duplicate(station, carrier, second_carrier, twice, tablets, viewport):
    station.add_staff("kim")
    t = tablets()
    page = t.page
    t.sign_in("kim")
    open_report(t, twice["second"])

    # The possible duplicates: the first report, 10 m away, with what to judge by.
    dups = page.locator("#duplicates li.dup")
    assert dups.count() == 1, page.locator("#duplicates").inner_text()
    text = dups.first.inner_text()
    assert "10 m 거리" in text
    assert "범죄" in text or "crime" in text.lower(), text
    assert "접수됨" in text
    assert "골목이 어둡고" in text
    assert carrier.label in text
    assert twice["first"][-8:] in text
    assert twice["far"][-8:] not in page.locator("#duplicates").inner_text()
    page.locator("#duplicates").scroll_into_view_if_needed()  # thumbnails load lazily
    wait_images(page, "#duplicates img.dup-thumb")
    t.shot("report-duplicates")
    t.axe("report-duplicates")

    # Side by side, photos at full size, both positions on one map.
    dups.first.locator("a.dup-link").click()
    page.wait_for_url(f"**/console/reports/{twice['second']}/duplicates/{twice['first']}")
    t.ready()
    assert "m 떨어져 있습니다" in page.locator("#apart").inner_text()
    assert "밤에 이 골목이" in page.locator("#side-1").inner_text()
    assert "골목이 어둡고" in page.locator("#side-2").inner_text()
    wait_images(page, ".compare .zoomable img")
    widths = page.eval_on_selector_all(".compare .zoomable img", "els => els.map(i => i.getBoundingClientRect().width)")
    assert len(widths) == 2
    # Readable on a 10-inch tablet: half the landscape screen, the whole portrait one.
    least = 560 if viewport == "landscape" else 700
    assert min(widths) >= least, widths
    page.wait_for_selector("#compare-map .leaflet-tooltip")
    assert page.locator("#compare-map .leaflet-tooltip").count() == 2
    assert page.locator("#compare-map path.leaflet-interactive").count() >= 4
    assert MERGED_MESSAGE in page.locator("#carrier-told").inner_text()
    t.shot("compare")
    t.axe("compare")

    # Merge the newer report into the one already there, in one step.
    page.click("#merge-this")
    page.wait_for_url(f"**/console/reports/{twice['first']}?merged=1")
    t.ready()
    assert "병합했습니다" in page.locator("#merge-done").inner_text()
    related = page.locator("#related")
    assert twice["second"][-8:] in related.inner_text()
    wait_images(page, "#related img")
    assert "다른 신고가 이 신고에 병합됨" in page.locator("#history").inner_text()
    assert "접수됨" in page.locator(".report-head .badge").inner_text(), "the kept report is unchanged"
    t.shot("report-merged-in")
    t.axe("report-merged-in")

    # The merged report says where it went.
    open_report(t, twice["second"])
    assert "병합됨" in page.locator(".report-head .badge").inner_text()
    assert page.locator(".merged-into a").get_attribute("href") == f"/console/reports/{twice['first']}"
    assert "다른 신고에 병합됨" in page.locator("#history").inner_text()
    assert MERGED_MESSAGE in page.locator("#carrier-message-text").inner_text()

    # The duplicate's carrier hears of it; the kept report's carrier does not.
    status, message = second_carrier.review(twice["second"])
    assert status.is_merged(), status
    assert message == MERGED_MESSAGE
    status, message = carrier.review(twice["first"])
    assert (status is None or status.is_received()) and message is None


def test_a_merge_on_a_changed_report_is_asked_again(station, second_carrier, twice, tablets):
    station.add_staff("kim")
    lee = station.supervisor_session("lee")
    t = tablets()
    page = t.page
    t.sign_in("kim")
    page.goto(t.url(f"/console/reports/{twice['second']}/duplicates/{twice['first']}"))
    t.ready()
    # Lee accepts the duplicate while Kim looks at the comparison.
    station.triage(lee, twice["second"], "accepted")
    page.click("#merge-this")
    error = page.locator("#merge-error")
    error.wait_for()
    assert "다른 사람이 먼저" in error.inner_text()
    assert "수용" in page.locator("#side-1 .badge").inner_text(), "what it is now"
    t.shot("compare-stale")
    t.axe("compare-stale")
    status, _ = second_carrier.review(twice["second"])
    assert status.is_accepted(), "nothing was overwritten"
    # Asked again, on the version as it is now: merged.
    page.click("#merge-this")
    page.wait_for_url(f"**/console/reports/{twice['first']}?merged=1")
    status, message = second_carrier.review(twice["second"])
    assert status.is_merged() and message == MERGED_MESSAGE
