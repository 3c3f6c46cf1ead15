"""The review console's flows in a real browser, at tablet landscape
(1280×800) and portrait (800×1280) with touch, against a real station whose
reports were filed by real phone cores: sign in; filter the queue; open a
report; accept; reject with a template; two supervisors racing on one report;
an internal note kept from the carrier; after each status change the
carrier's core receives it. axe-core runs on every page; screenshots of
every main screen go to target/console-screenshots/."""

import re

import pytest

# Sinchon, Seodaemun-gu: three reports a few hundred metres apart.
PLACES = [(37.5558, 126.9368), (37.5597, 126.9423), (37.5651, 126.9389)]


@pytest.fixture
def filed(carrier):
    """Three reports filed offline-first by the carrier's core, then synced."""
    ids = {
        "lamp": carrier.file("safety_facility", "가로등이 3일째 꺼져 있어요", *PLACES[0]),
        "alley": carrier.file("crime_risk", "골목이 어둡고 CCTV가 없습니다", *PLACES[1]),
        "parcel": carrier.file("parcel_theft", "택배 분실이 잦은 빌라 입구", *PLACES[2], photo=False),
    }
    carrier.sync()
    return ids


def row(page, report_id):
    return page.locator(f"#queue-rows li[data-id='{report_id}']")


def test_sign_in_and_the_queue(station, filed, tablets):
    station.add_staff("kim")
    t = tablets()
    page = t.page
    page.goto(t.url("/console/"))
    page.wait_for_url("**/console/sign-in**")
    t.ready()
    assert page.locator("html").get_attribute("lang") == "ko"
    t.shot("sign-in")
    t.axe("sign-in")
    # A wrong password says so, in Korean, and keeps the station filled in.
    page.fill("input[name=station]", station.slug)
    page.fill("input[name=username]", "kim")
    page.fill("input[name=password]", "wrong")
    page.click("button[type=submit]:has-text('로그인')")
    assert "맞지 않습니다" in page.locator("[role=alert]").inner_text()
    assert page.input_value("input[name=station]") == station.slug
    t.sign_in("kim")
    assert page.locator("#queue-count").inner_text() == "총 3건"
    for report_id in filed.values():
        assert row(page, report_id).count() == 1
    # Thumbnails of the reports with photos, made by the station.
    thumb = row(page, filed["lamp"]).locator("img.thumb")
    assert "size=thumb" in thumb.get_attribute("src")
    page.wait_for_function("() => [...document.querySelectorAll('img.thumb')].every(i => i.complete && i.naturalWidth > 0)")
    assert row(page, filed["parcel"]).locator(".thumb.none").count() == 1
    # The map beside the list clusters or shows every report.
    page.wait_for_selector("#queue-map .leaflet-interactive, #queue-map .marker-cluster")
    # Touch targets: every button, link and field of the page is at least 44 px.
    small = page.evaluate(
        """() => [...document.querySelectorAll('a.btn, button, select, input:not([type=hidden]):not([type=checkbox]), .row-link')]
            .filter(e => e.offsetParent !== null)
            .map(e => [e.outerHTML.slice(0, 60), e.getBoundingClientRect().height])
            .filter(([_, h]) => h < 44)"""
    )
    assert not small, small
    t.shot("queue")
    t.axe("queue")


def test_filter_the_queue(station, filed, tablets):
    station.add_staff("kim")
    t = tablets()
    page = t.page
    t.sign_in("kim")
    page.select_option("#f-category", "crime_risk")
    page.wait_for_function("() => document.querySelector('#queue-count').textContent === '총 1건'")
    assert row(page, filed["alley"]).count() == 1
    assert "category=crime_risk" in page.url
    t.shot("queue-filtered")
    t.axe("queue-filtered")
    # Text search narrows the list but never enters the address.
    page.select_option("#f-category", "")
    page.wait_for_function("() => document.querySelector('#queue-count').textContent === '총 3건'")
    page.fill("#f-q", "택배")
    page.press("#f-q", "Enter")
    page.wait_for_function("() => document.querySelector('#queue-count').textContent === '총 1건'")
    assert row(page, filed["parcel"]).count() == 1
    assert "택배" not in page.url and "%ED%83%9D" not in page.url and "q=" not in page.url
    # The address alone restores a filter (bookmark, reload).
    page.goto(t.url("/console/?status=all&sort=oldest"))
    t.ready()
    ids = page.eval_on_selector_all("#queue-rows li", "els => els.map(e => e.dataset.id)")
    assert ids == [filed["lamp"], filed["alley"], filed["parcel"]]
    assert page.input_value("#f-sort") == "oldest"
    # English on request, kept in a cookie.
    page.click("button:has-text('English')")
    t.ready()
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.locator("#queue-count").inner_text() == "3 reports"
    t.shot("queue-english")
    t.axe("queue-english")


def open_report(t, report_id):
    page = t.page
    page.goto(t.url("/console/"))
    t.ready()
    row(page, report_id).locator("a.row-link").click()
    page.wait_for_url(f"**/console/reports/{report_id}")
    t.ready()


def test_open_a_report_and_accept_it(station, carrier, filed, tablets):
    station.add_staff("kim")
    t = tablets()
    page = t.page
    t.sign_in("kim")
    report_id = filed["lamp"]
    open_report(t, report_id)
    assert "가로등이 3일째 꺼져 있어요" in page.locator(".carrier-note").inner_text()
    assert carrier.label in page.locator(".details").inner_text()
    # The photo is large, and the two kinds of text say who reads them.
    page.wait_for_function("() => { const i = document.querySelector('.zoomable img'); return i && i.complete && i.naturalWidth > 0; }")
    width = page.eval_on_selector(".zoomable img", "i => i.getBoundingClientRect().width")
    assert width >= 400, width
    assert "휴대폰에서 봅니다" in page.locator(".carrier-message").inner_text()
    assert "직원만 봅니다" in page.locator("#notes").inner_text()
    # Position with its accuracy circle.
    page.wait_for_selector("#report-map path.leaflet-interactive")
    history = page.locator("#history").inner_text()
    assert "신고 접수" in history and "사진 도착" in history
    t.shot("report")
    t.axe("report")
    # Pinch-zoom on the photo (two touch points through the DevTools protocol).
    box = page.eval_on_selector(".zoomable", "b => { const r = b.getBoundingClientRect(); return [r.x, r.y, r.width, r.height]; }")
    cx, cy = box[0] + box[2] / 2, box[1] + min(box[3], 300) / 2
    cdp = page.context.new_cdp_session(page)
    def touch(kind, spread):
        points = [] if kind == "touchEnd" else [
            {"x": cx - spread, "y": cy, "id": 1}, {"x": cx + spread, "y": cy, "id": 2}]
        cdp.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": points})
    touch("touchStart", 20)
    for spread in (40, 60, 80, 100):
        touch("touchMove", spread)
    touch("touchEnd", 0)
    scale = float(page.get_attribute(".zoomable", "data-scale") or "1")
    assert scale > 2, scale
    t.shot("report-zoomed")

    page.click("#accept")
    page.wait_for_url(f"**/console/reports/{report_id}?done=1")
    t.ready()
    assert "결정을 저장했습니다" in page.locator("[role=status]").inner_text()
    assert "수용" in page.locator(".report-head .badge").inner_text()
    assert "상태 변경" in page.locator("#history").inner_text()
    t.shot("report-accepted")
    t.axe("report-accepted")
    status, message = carrier.review(report_id)
    assert status.is_accepted(), status
    assert message is None


def test_reject_with_a_template(station, carrier, filed, tablets):
    station.add_staff("kim")
    t = tablets()
    page = t.page
    t.sign_in("kim")
    report_id = filed["alley"]
    open_report(t, report_id)
    # Rejecting without a reason is refused on the page, nothing changes.
    page.click("#reject")
    assert "사유를 고르거나" in page.locator(".decision [role=alert]").inner_text()
    page.check("input[name=template][value=duplicate]")
    t.shot("report-reject")
    page.click("#reject")
    page.wait_for_url(f"**/console/reports/{report_id}?done=1")
    t.ready()
    expected = "같은 장소에 대한 신고가 이미 접수되어 처리 중입니다."
    assert expected in page.locator("#carrier-message-text").inner_text()
    status, message = carrier.review(report_id)
    assert status.is_rejected(), status
    assert message == expected


def test_an_internal_note_stays_with_the_staff(station, carrier, filed, tablets):
    station.add_staff("kim")
    t = tablets()
    page = t.page
    t.sign_in("kim")
    report_id = filed["parcel"]
    open_report(t, report_id)
    page.fill("#note-body", "관리사무소와 통화함 — 신고자에게 알리지 말 것")
    page.click("button:has-text('내부 메모 저장')")
    page.wait_for_selector(".note-list li")
    assert "관리사무소와 통화함" in page.locator(".note-list").inner_text()
    assert "kim" in page.locator(".note-list .meta").inner_text()
    t.shot("report-note")
    t.axe("report-note")
    page.reload()
    t.ready()
    assert "내부 메모 추가" in page.locator("#history").inner_text()
    status, message = carrier.review(report_id)
    assert (status is None or status.is_received()) and message is None, "the carrier never hears of it"


def test_two_supervisors_race_on_one_report(station, carrier, filed, tablets):
    station.add_staff("kim")
    station.add_staff("lee")
    kim, lee = tablets(), tablets()
    kim.sign_in("kim")
    lee.sign_in("lee")
    report_id = filed["lamp"]
    open_report(kim, report_id)
    open_report(lee, report_id)
    # Lee prepares a rejection while Kim accepts.
    lee.page.check("input[name=template][value=already_fixed]")
    kim.page.click("#accept")
    kim.page.wait_for_url("**?done=1")
    lee.page.click("#reject")
    conflict = lee.page.locator(".conflict")
    conflict.wait_for()
    assert "다른 사람이 먼저" in conflict.inner_text()
    assert "수용" in conflict.locator(".after").inner_text(), "what it is now"
    assert "접수됨" in conflict.locator(".before").inner_text(), "what Lee saw"
    assert "kim" in conflict.inner_text(), "who changed it"
    assert lee.page.is_checked("input[name=template][value=already_fixed]"), "the choice is kept"
    assert lee.page.locator("#report-version").inner_text() == "버전 " + re.search(
        r"value=\"(\d+)\"", lee.page.inner_html("form.reject-form")).group(1)
    lee.shot("report-conflict")
    lee.axe("report-conflict")
    status, _ = carrier.review(report_id)
    assert status.is_accepted(), "nothing was overwritten"
    # Lee decides again, on the version as it is now.
    lee.page.click("#reject")
    lee.page.wait_for_url("**?done=1")
    status, message = carrier.review(report_id)
    assert status.is_rejected()
    assert message == "이미 조치가 완료된 사항입니다."


def test_sign_out_ends_the_session(station, filed, tablets):
    station.add_staff("kim")
    t = tablets()
    page = t.page
    t.sign_in("kim")
    page.click("button:has-text('로그아웃')")
    page.wait_for_url("**/console/sign-in?ended=1")
    assert "로그아웃되었습니다" in page.locator("[role=status]").inner_text()
    page.goto(t.url("/console/"))
    page.wait_for_url("**/console/sign-in**")
