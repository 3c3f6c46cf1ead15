"""The core through the FFI without a station: drafts, the queue, typed errors,
closing. Every test opens a real core (SQLite file, photo store) in a temp dir."""

import pytest

import postcso_ffi as ffi
from conftest import PHOTOS, fix

OFFLINE = ffi.NetworkState(online=False, metered=False, constrained=False)
PHOTO = PHOTOS / "npm-exif-parser-0.1.12" / "starfish.jpg"
NOT_A_PHOTO = PHOTOS / "pypi-piexif-1.1.3" / "notjpeg.jpg"


def test_a_draft_is_built_submitted_and_withdrawn(open_core):
    core = open_core()
    core.set_network_state(OFFLINE)
    report_id = core.create_draft()
    core.set_category(report_id, "safety_facility")
    core.set_note(report_id, "가로등 고장")
    core.set_location(report_id, fix())
    attached = core.attach_photo(report_id, str(PHOTO))
    assert attached.photo.position == 0
    assert len(attached.photo.sha256) == 64
    assert max(attached.photo.width, attached.photo.height) <= 1600

    draft = core.get(report_id)
    assert draft.state == ffi.ReportState.DRAFT
    assert draft.note == "가로등 고장"
    assert draft.category == "safety_facility"
    assert [p.sha256 for p in draft.photos] == [attached.photo.sha256]
    assert draft.content_hash is None

    receipt = core.submit(report_id)
    assert len(receipt.content_hash) == 64
    assert receipt.flags == ffi.LocationFlags(low_accuracy=False, stale=False)
    sealed = core.get(report_id)
    assert sealed.state == ffi.ReportState.QUEUED
    assert sealed.content_hash == receipt.content_hash
    assert core.stats().queued == 1

    # A sealed report is no longer a draft: edits raise a typed error.
    with pytest.raises(ffi.PostError.NotADraft):
        core.set_note(report_id, "changed")
    core.withdraw(report_id)
    assert core.get(report_id).state == ffi.ReportState.WITHDRAWN
    summary = core.list()
    assert [(s.id, s.state, s.photo_count) for s in summary] == [
        (report_id, ffi.ReportState.WITHDRAWN, 1)
    ]


def test_bad_gps_raises_invalid_location_and_leaves_the_draft_as_it_was(open_core):
    core = open_core()
    report_id = core.create_draft()
    for bad in (fix(lat=91.0), fix(lon=-180.5), fix(lat=0.0, lon=0.0), fix(accuracy=None),
                fix(lat=float("nan"))):
        with pytest.raises(ffi.PostError.InvalidLocation) as raised:
            core.set_location(report_id, bad)
        # The message names the problem without quoting the position.
        assert "37.5" not in str(raised.value) and "126.9" not in str(raised.value)
    assert core.get(report_id).location is None
    with pytest.raises(ffi.PostError.MissingField):
        core.submit(report_id)


def test_a_bad_photo_raises_bad_photo_and_attaches_nothing(open_core, tmp_path):
    core = open_core()
    report_id = core.create_draft()
    with pytest.raises(ffi.PostError.BadPhoto):
        core.attach_photo(report_id, str(NOT_A_PHOTO))
    truncated = tmp_path / "truncated.jpg"
    truncated.write_bytes(PHOTO.read_bytes()[:2000])
    with pytest.raises(ffi.PostError.BadPhoto):
        core.attach_photo(report_id, str(truncated))
    with pytest.raises(ffi.PostError.BadPhoto):
        core.attach_photo(report_id, str(tmp_path / "missing.jpg"))
    with pytest.raises(ffi.PostError.BadPhoto):
        core.attach_photo_bytes(report_id, b"")
    assert core.get(report_id).photos == []


def test_photos_from_bytes_are_deduplicated_and_removable(open_core):
    core = open_core()
    report_id = core.create_draft()
    first = core.attach_photo_bytes(report_id, PHOTO.read_bytes())
    again = core.attach_photo(report_id, str(PHOTO))
    assert again.photo == first.photo
    assert len(core.get(report_id).photos) == 1
    with pytest.raises(ffi.PostError.NoSuchPhoto):
        core.remove_photo(report_id, 3)
    core.remove_photo(report_id, 0)
    assert core.get(report_id).photos == []


def test_ids_categories_and_notes_are_checked(open_core):
    core = open_core()
    with pytest.raises(ffi.PostError.InvalidId):
        core.get("not-a-uuid")
    with pytest.raises(ffi.PostError.NotFound):
        core.get("01890a5d-ac96-774b-bcce-b302099a8057")
    report_id = core.create_draft()
    with pytest.raises(ffi.PostError.InvalidCategory):
        core.set_category(report_id, "no_such_category")
    with pytest.raises(ffi.PostError.InvalidNote):
        core.set_note(report_id, "x" * 2001)
    codes = [c.code for c in core.categories()]
    assert codes[:2] == ["crime_risk", "safety_facility"] and len(codes) == 6
    core.delete_draft(report_id)
    with pytest.raises(ffi.PostError.NotFound):
        core.get(report_id)


def test_the_queue_survives_closing_and_reopening(open_core):
    core = open_core(name="phone")
    core.set_network_state(OFFLINE)
    report_id = core.create_draft()
    core.set_category(report_id, "crime_risk")
    core.set_location(report_id, fix())
    core.submit(report_id)
    core.close()
    again = open_core(name="phone")
    assert again.get(report_id).state == ffi.ReportState.QUEUED


def test_close_is_idempotent_and_later_calls_raise_closed(open_core):
    core = open_core()
    report_id = core.create_draft()
    assert not core.is_closed()
    core.close()
    core.close()
    assert core.is_closed()
    core.cancel()  # never raises
    core.noop()
    for call in (core.create_draft, core.stats, core.list, lambda: core.get(report_id),
                 lambda: core.set_network_state(OFFLINE)):
        with pytest.raises(ffi.PostError.Closed):
            call()


def test_syncing_while_offline_or_unenrolled(open_core):
    from conftest import run

    core = open_core()
    core.set_network_state(OFFLINE)
    outcome = run(core.sync_now(5_000))
    assert outcome.stop.is_offline()
    core.set_network_state(ffi.NetworkState(online=True, metered=False, constrained=False))
    with pytest.raises(ffi.PostError.NotEnrolled):
        run(core.sync_now(5_000))
