"""The report page's "assign an inspection" and "mark fixed", in a real
browser at both tablet viewports, against a real station whose report was
filed by a real phone core: the supervisor picks an inspector (the carrier's
core then sees `inspecting`), then marks the report fixed (the core sees
`fixed` with the thank-you message). An assignment on a report another
supervisor changed meanwhile comes back with what changed (412), the choice
kept, and is made again on the version as it is now."""

import pytest

LAMP = (37.5558, 126.9368)
FIXED_MESSAGE = "조치가 완료되었습니다. 신고해 주셔서 감사합니다."


@pytest.fixture
def lamp(carrier):
    report_id = carrier.file("safety_facility", "가로등이 3일째 꺼져 있어요", *LAMP)
    carrier.sync()
    return report_id


def open_report(t, report_id):
    t.page.goto(t.url(f"/console/reports/{report_id}"))
    t.ready()


def test_assign_an_inspection_then_mark_fixed(station, carrier, lamp, tablets):
    station.add_staff("kim")
    station.add_staff("ahn", role="inspector")
    station.add_staff("cho", role="inspector")
    t = tablets()
    page = t.page
    t.sign_in("kim")
    open_report(t, lamp)
    # Without a choice nothing is sent.
    page.click("#assign")
    assert "점검자를 고르세요" in page.locator(".decision [role=alert]").inner_text()
    page.check("input[name=inspector][value=ahn]")
    t.shot("report-assign")
    t.axe("report-assign")
    page.click("#assign")
    page.wait_for_url(f"**/console/reports/{lamp}?done=1")
    t.ready()
    assert "현장 점검 중" in page.locator(".report-head .badge").inner_text()
    assert "ahn" in page.locator("#inspection-current").inner_text()
    assert "점검 배정" in page.locator("#history").inner_text()
    status, _ = carrier.review(lamp)
    assert status.is_inspecting(), status

    page.click("#mark-fixed")
    page.wait_for_url(f"**/console/reports/{lamp}?done=1")
    t.ready()
    assert "조치 완료" in page.locator(".report-head .badge").inner_text()
    assert FIXED_MESSAGE in page.locator("#carrier-message-text").inner_text()
    t.shot("report-fixed")
    t.axe("report-fixed")
    status, message = carrier.review(lamp)
    assert status.is_fixed(), status
    assert message == FIXED_MESSAGE


def test_an_assignment_on_a_changed_report_is_asked_again(station, carrier, lamp, tablets):
    station.add_staff("kim")
    station.add_staff("ahn", role="inspector")
    lee = station.supervisor_session("lee")
    t = tablets()
    page = t.page
    t.sign_in("kim")
    open_report(t, lamp)
    page.check("input[name=inspector][value=ahn]")
    station.triage(lee, lamp, "accepted")
    page.click("#assign")
    conflict = page.locator(".conflict")
    conflict.wait_for()
    assert "수용" in conflict.locator(".after").inner_text()
    assert "ahn" in conflict.locator(".mine").inner_text()
    assert page.is_checked("input[name=inspector][value=ahn]"), "the choice is kept"
    t.shot("report-assign-conflict")
    t.axe("report-assign-conflict")
    status, _ = carrier.review(lamp)
    assert status.is_accepted(), "nothing was overwritten"
    page.click("#assign")
    page.wait_for_url(f"**/console/reports/{lamp}?done=1")
    status, _ = carrier.review(lamp)
    assert status.is_inspecting()
