"""Referral to the agency in charge in a real browser, at both tablet
viewports with touch: the station has the Seodaemun agencies and routing
rules (imported with the real CLI); a supervisor opens a carrier's report,
follows "refer", finds the proposed agency (서대문구청) preselected and the
carrier's note beside the text (read-only, said not to be sent), refers it,
then records the agency's "fixed" with a note. After each step the carrier's
core syncs and shows the line. axe-core on both pages; screenshots."""

import pathlib
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
AGENCIES = ROOT / "station" / "data" / "seodaemun-agencies.toml"
# Near Yonsei University, inside 서대문구 (11410).
INSIDE = (37.5658, 126.9386)
NOTE = "연세로 골목 보안등이 꺼져 있어요 (010-1234-5678 주민 제보)"


@pytest.fixture
def lamp(station, carrier):
    """The Seodaemun agencies, and a safety-facility report filed by a core."""
    out = subprocess.run(
        [station.binary, "agency", "import", "--data-dir", station.data_dir,
         "--station", station.slug, str(AGENCIES)],
        capture_output=True, text=True, timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert "3 added" in out.stdout
    report_id = carrier.file("safety_facility", NOTE, *INSIDE)
    carrier.sync()
    return report_id


def test_refer_with_the_proposal_then_record_fixed(station, carrier, lamp, tablets):
    station.add_staff("kim")
    t = tablets()
    page = t.page
    t.sign_in("kim")
    page.goto(t.url(f"/console/reports/{lamp}"))
    t.ready()
    page.click("#refer")
    page.wait_for_url(f"**/console/reports/{lamp}/referral#refer")
    t.ready()

    proposed = page.locator("#agency-seodaemun-gu-office")
    assert proposed.is_checked(), "the proposed agency is preselected"
    assert "추천" in page.locator("label.choice", has=proposed).inner_text()
    note = page.locator("#carrier-note")
    assert note.inner_text() == NOTE, "the carrier's note is shown"
    assert "보내지 않습니다" in page.locator(".report-side").inner_text()
    assert page.locator("#referral-text").input_value() == "", "never copied in"
    assert page.locator("#carrier-note").evaluate("e => e.isContentEditable") is False
    t.shot("referral")
    t.axe("referral")

    page.fill("#referral-text", "연세로 4길 보안등 2기 소등. 교체를 요청합니다.")
    page.click("#refer-submit")
    page.wait_for_url(f"**/console/reports/{lamp}/referral?done=referred")
    t.ready()
    assert "이관했습니다" in page.locator("#referral-notice").inner_text()
    history = page.locator("#referrals").inner_text()
    assert "서대문구청" in history and "직접 연락할 것" in history
    assert "010-1234-5678" not in history, "the note stayed out of the referral"
    status, message = carrier.review(lamp)
    assert status.is_referred(), status
    assert message == "서대문구청에 이관되었습니다"

    page.check("#answer-fixed")
    page.fill("#answer-day", "2026-12-05")
    page.fill("#answer-note", "보안등 교체")
    t.shot("referral-answer")
    t.axe("referral-answer")
    page.click("#answer-submit")
    page.wait_for_url(f"**/console/reports/{lamp}/referral?done=answered")
    t.ready()
    assert "조치 완료" in page.locator("#referrals").inner_text()
    assert page.locator("#answer-submit").count() == 0, "a closed referral takes no answer"
    status, message = carrier.review(lamp)
    assert status.is_fixed(), status
    assert message == "12월 5일 조치 완료: 보안등 교체"

    page.goto(t.url(f"/console/reports/{lamp}"))
    t.ready()
    history = page.locator("#history").inner_text()
    assert "기관 이관" in history and "기관 회신" in history
    t.shot("referral-fixed-report")
