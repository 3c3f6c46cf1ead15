"""The statistics page and the monthly programme report in a real browser,
at both tablet viewports with touch, against a real station whose reports
were filed by real phone cores: the page shows the expected counts; its
charts are SVG drawn by the station, there with JavaScript disabled; the
monthly report prints (print media, and a PDF from Chromium). axe-core runs
on each page; screenshots go to target/console-screenshots/."""

import datetime

from conftest import SCREENSHOTS

# Sinchon and Yeonhui-dong, Seodaemun-gu.
PLACES = [(37.5558, 126.9368), (37.5597, 126.9423), (37.5651, 126.9389), (37.5680, 126.9300)]


def this_month():
    """The current month in Korea, as the monthly report names it."""
    now = datetime.datetime.now(datetime.timezone(datetime.timedelta(hours=9)))
    return now.strftime("%Y-%m")


def seeded(station, carrier):
    """Four reports filed by the carrier's core and synced; a supervisor
    accepted one and marked one fixed through the API."""
    ids = [
        carrier.file("crime_risk", "골목이 어둡고 CCTV가 없습니다", *PLACES[0]),
        carrier.file("crime_risk", "밤에 인적이 드문 계단", *PLACES[1], photo=False),
        carrier.file("parcel_theft", "택배 분실이 잦은 빌라 입구", *PLACES[2], photo=False),
        carrier.file("safety_facility", "가로등이 3일째 꺼져 있어요", *PLACES[3], photo=False),
    ]
    carrier.sync()
    lee = station.supervisor_session("lee")
    station.triage(lee, ids[0], "accepted")
    station.triage(lee, ids[1], "fixed")
    return ids


def bars(page, chart):
    """(label, figure) of each bar of a bar chart, from the SVG itself."""
    return page.eval_on_selector_all(
        f"svg#{chart} g.bar title",
        "ts => ts.map(t => t.textContent)",
    )


def test_the_statistics_page(station, carrier, tablets):
    seeded(station, carrier)
    station.add_staff("kim")
    t = tablets()
    page = t.page
    t.sign_in("kim")
    page.click("a:has-text('통계')")
    page.wait_for_url("**/console/statistics")
    t.ready()
    assert page.locator("#stat-received").inner_text() == "4"
    assert page.locator("#stat-triaged").inner_text() == "2"
    assert page.locator("#stat-fixed").inner_text() == "1"
    assert page.locator("#stat-devices").inner_text() == "1"
    assert bars(page, "by-category-chart") == [
        "범죄발생 우려지역: 2", "택배절도 빈번지역: 1", "방범시설물 설치 필요지역: 1",
    ]
    # Every chart is an image named by its title, with a table of the same figures.
    for chart in ["by-period", "by-category", "by-status", "by-district", "by-zone", "participation"]:
        svg = page.locator(f"svg#{chart}-chart")
        assert svg.get_attribute("role") == "img"
        assert svg.locator("title").first.text_content() != ""
        assert page.locator(f"#{chart}-table").count() == 1
    status_rows = page.eval_on_selector_all(
        "#by-status-table tbody tr", "rs => rs.map(r => [r.cells[0].textContent, r.cells[1].textContent])"
    )
    assert dict(status_rows) == {"접수됨 (미분류)": "2", "수용": "1", "조치 완료": "1"}, status_rows
    assert page.locator("#by-district-table tbody tr th").first.inner_text() == "서대문구"
    # The period is in the address.
    page.select_option("#s-period", "week")
    page.click("form.stats-form button:has-text('보기')")
    page.wait_for_url("**/console/statistics?period=week")
    t.ready()
    assert page.locator("#stat-received").inner_text() == "4"
    assert "주별" in page.locator("#by-period-title").inner_text()
    page.click("details.devices summary")
    assert carrier.label in page.locator("#devices-table").inner_text()
    t.shot("statistics")
    t.axe("statistics")


def test_the_charts_need_no_javascript(station, carrier, tablets, browser, viewport):
    seeded(station, carrier)
    station.add_staff("kim")
    t = tablets()
    t.sign_in("kim")
    cookies = t.context.cookies()
    # A second tablet with JavaScript off, same session.
    plain = browser.new_context(
        viewport=t.page.viewport_size, has_touch=True, locale="ko-KR", java_script_enabled=False,
    )
    try:
        plain.add_cookies(cookies)
        page = plain.new_page()
        page.goto(t.url("/console/statistics"))
        assert page.evaluate("1 + 1") == 2  # Playwright's own evaluation still works
        assert page.locator("html").get_attribute("data-console-ready") is None, "no page script ran"
        box = page.locator("svg#by-category-chart").bounding_box()
        assert box and box["width"] > 300 and box["height"] > 40, box
        widths = page.eval_on_selector_all(
            "svg#by-category-chart rect.bar-fill", "rs => rs.map(r => r.getBBox().width)"
        )
        assert len(widths) == 3 and max(widths) > 100 and min(widths) > 0, widths
        columns = page.eval_on_selector_all(
            "svg#by-period-chart rect.bar-fill", "rs => rs.map(r => r.getBBox().height)"
        )
        assert len(columns) == 12 and max(columns) > 100, columns
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"statistics-no-js-{viewport}.png"), full_page=True)
    finally:
        plain.close()


def test_the_monthly_report_prints(station, carrier, tablets, viewport):
    seeded(station, carrier)
    station.add_staff("kim")
    t = tablets()
    page = t.page
    t.sign_in("kim")
    page.goto(t.url("/console/statistics"))
    t.ready()
    page.fill("#s-month", this_month())
    page.click("button:has-text('월간 보고서 열기')")
    page.wait_for_url(f"**/console/statistics/monthly?month={this_month()}")
    t.ready()
    assert "POST-CSO 월간 운영 보고서" in page.locator("#monthly-title").inner_text()
    summary = dict(page.eval_on_selector_all(
        "#monthly-summary tbody tr", "rs => rs.map(r => [r.cells[0].textContent, r.cells[1].textContent])"
    ))
    assert summary["접수된 신고"] == "4"
    assert summary["분류된 신고"] == "2"
    assert summary["조치 완료된 신고"] == "1"
    assert summary["신고한 단말"] == "1"
    t.shot("monthly")
    t.axe("monthly")
    # Printed: the console's bar and the tools are gone, the report stays.
    page.emulate_media(media="print")
    assert page.locator("header.top").is_hidden()
    assert page.locator(".report-tools").is_hidden()
    assert page.locator("#monthly-summary").is_visible()
    t.shot("monthly-print")
    pdf = page.pdf(format="A4", print_background=True)
    assert pdf.startswith(b"%PDF"), pdf[:8]
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    (SCREENSHOTS / f"monthly-{viewport}.pdf").write_bytes(pdf)
    page.emulate_media(media="screen")
    # The same figures as CSV, with the BOM.
    with page.expect_download() as download:
        page.click("#monthly-csv")
    data = open(download.value.path(), "rb").read()
    assert data.startswith(b"\xef\xbb\xbf"), data[:10]
    text = data.decode("utf-8-sig")
    assert "summary,received,접수된 신고,4" in text, text
