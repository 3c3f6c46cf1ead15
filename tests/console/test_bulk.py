"""Bulk decisions in the review console's queue, in a real browser at both
tablet viewports, against a real station whose reports were filed by real
phone cores: select every report of the page (44 px checkbox targets), a
confirmation that states the exact count, a progress bar that moves as each
decision lands, a summary; the carriers' cores then see `accepted`. A report
another supervisor changed meanwhile is skipped, not overwritten, and the
summary links to it. axe-core runs on each new screen, which is photographed."""

import pytest

# 연희동, 서대문구: reports spread over a few blocks.
BASE = (37.5660, 126.9290)

PROGRESS_LOG = """() => {
    window.__progress = [];
    const bar = document.getElementById('bulk-progress');
    new MutationObserver(() => window.__progress.push(Number(bar.getAttribute('value'))))
        .observe(bar, {attributes: true, attributeFilter: ['value']});
}"""


def file_many(carrier, n):
    ids = [
        carrier.file("safety_facility", f"가로등 고장 {i + 1}번", BASE[0] + 0.0004 * (i % 10), BASE[1] + 0.0004 * (i // 10), photo=False)
        for i in range(n)
    ]
    carrier.sync()
    return ids


def select_all(t, n):
    page = t.page
    page.check("#queue-results .bulk-all")
    assert page.locator("#queue-results .bulk-count").inner_text() == f"{n}건 선택됨"
    assert page.locator("#queue-rows .bulk-pick:checked").count() == n


def summary_of(page):
    page.wait_for_selector("#bulk-dialog[data-done='1'] #bulk-summary:not([hidden])")
    return page.locator("#bulk-summary")


def test_bulk_accept_fifty_reports(station, carrier, tablets):
    ids = file_many(carrier, 50)
    station.add_staff("kim")
    t = tablets()
    page = t.page
    t.sign_in("kim")
    assert page.locator("#queue-count").inner_text() == "총 50건"
    # Touch targets of the checkboxes: at least 44 px each way.
    sizes = page.eval_on_selector_all(
        ".pick", "els => els.map(e => { const r = e.getBoundingClientRect(); return [r.width, r.height]; })")
    assert len(sizes) == 51 and all(w >= 44 and h >= 44 for w, h in sizes), sizes[:3]
    # One by one, then the whole page.
    page.check(f"#queue-rows li[data-id='{ids[0]}'] .bulk-pick")
    assert page.locator("#queue-results .bulk-count").inner_text() == "1건 선택됨"
    select_all(t, 50)
    t.shot("queue-bulk-selected")
    t.axe("queue-bulk-selected")

    page.click("#queue-results .bulk-accept")
    dialog = page.locator("#bulk-dialog")
    dialog.wait_for()
    assert page.locator("#bulk-title").inner_text() == "신고 50건을 수용할까요?"
    assert page.locator("#bulk-go").inner_text() == "50건 수용"
    t.shot("queue-bulk-confirm")
    t.axe("queue-bulk-confirm")

    page.evaluate(PROGRESS_LOG)
    page.click("#bulk-go")
    summary = summary_of(page)
    progress = page.evaluate("window.__progress")
    # The bar moved with each decision, not in one jump.
    assert progress[-1] == 50, progress
    assert len(set(progress)) >= 25, progress
    assert progress == sorted(progress), progress
    assert "수용: 50건" in summary.inner_text()
    assert "건너뜀 (다른 사람이 먼저 변경): 0건" in summary.inner_text()
    assert page.locator("#bulk-skipped-list").is_hidden()
    t.shot("queue-bulk-summary")
    t.axe("queue-bulk-summary")
    page.click("#bulk-reload")
    t.ready()
    page.select_option("#f-status", "accepted")
    page.wait_for_function("() => document.querySelector('#queue-count').textContent === '총 50건'")

    carrier.sync()
    for report_id in ids:
        status = carrier.core.get(report_id).review_status
        assert status is not None and status.is_accepted(), (report_id, status)


def test_a_report_changed_meanwhile_is_skipped_and_named(station, carrier, tablets):
    ids = file_many(carrier, 6)
    station.add_staff("kim")
    lee = station.supervisor_session("lee")
    t = tablets()
    page = t.page
    t.sign_in("kim")
    select_all(t, 6)
    # Lee rejects one of them while Kim's list is open.
    changed = ids[2]
    station.triage(lee, changed, "rejected", "사진으로 현장 상황을 확인하기 어렵습니다.")
    page.click("#queue-results .bulk-accept")
    assert page.locator("#bulk-title").inner_text() == "신고 6건을 수용할까요?"
    page.click("#bulk-go")
    summary = summary_of(page)
    text = summary.inner_text()
    assert "수용: 5건" in text
    assert "건너뜀 (다른 사람이 먼저 변경): 1건" in text
    skipped = page.locator("#bulk-skipped-list a")
    assert skipped.count() == 1
    assert skipped.get_attribute("href") == f"/console/reports/{changed}"
    assert skipped.inner_text() == "#" + changed[-8:]
    t.shot("queue-bulk-skipped")
    t.axe("queue-bulk-skipped")

    carrier.sync()
    statuses = {i: carrier.core.get(i).review_status for i in ids}
    assert statuses[changed].is_rejected(), "Lee's decision stands"
    assert all(s.is_accepted() for i, s in statuses.items() if i != changed)
    # The skipped report opens for a decision on what it is now.
    skipped.click()
    page.wait_for_url(f"**/console/reports/{changed}")
    t.ready()
    assert "반려" in page.locator(".report-head .badge").inner_text()
