//! The plausibility rule for a report's `created_at`.
//!
//! `created_at` comes from the phone's clock when the draft was started, and a
//! phone clock can be wrong: a dead clock battery or a reset can leave it at 1970
//! or at the firmware's build date, and a hand-set date can be off by years. A
//! clock that is a few minutes or hours off is normal and harmless; one that is
//! off by more than a day is wrong, and the time it stamped is no information at
//! all. Such a report would sort and count in the wrong day, month or century in
//! every view that reads `created_at`, so both sides refuse it with the same rule:
//! the phone at submit, against its own clock, and the station at receipt,
//! against the station's clock. The station orders reports by its own
//! `received_at`, never by `created_at`.

use chrono::{DateTime, Duration, FixedOffset, Utc};

/// Earliest `created_at` accepted: 2020-01-01T00:00:00Z.
///
/// No report of this system can be older (it did not exist before), while a
/// clock that was reset shows 1970 or a date years back; so anything earlier is
/// a wrong clock, never an old report.
pub const CREATED_AT_EARLIEST: DateTime<Utc> = match DateTime::from_timestamp(1_577_836_800, 0) {
    Some(t) => t,
    None => panic!("2020-01-01T00:00:00Z is a valid timestamp"),
};

/// How far ahead of the checking clock a `created_at` may be: 24 hours.
///
/// The phone's UTC offset travels in the value, so time zones never make a
/// correct clock look ahead; a day covers ordinary drift between phone and
/// station and a date set off by one by hand. More than a day ahead is a wrong
/// clock (e.g. a year 9999 typo), not skew.
pub const CREATED_AT_MAX_AHEAD: Duration = Duration::hours(24);

/// Why a `created_at` was refused. Messages say which bound was broken and why
/// that points to a wrong clock; they do not echo the time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CreatedAtError {
    /// Before [`CREATED_AT_EARLIEST`].
    #[error(
        "is before 2020-01-01: the phone's clock was wrong when the report was started (check the phone's date and time)"
    )]
    TooEarly,
    /// More than [`CREATED_AT_MAX_AHEAD`] ahead of the checking clock.
    #[error(
        "is more than {} hours in the future: the phone's clock was wrong when the report was started, or is wrong now (check the phone's date and time)",
        CREATED_AT_MAX_AHEAD.num_hours()
    )]
    TooFarAhead,
}

/// Checks `created_at` against the clock reading `now` of whoever checks it
/// (the phone at submit, the station at receipt): not before
/// [`CREATED_AT_EARLIEST`] and at most [`CREATED_AT_MAX_AHEAD`] after `now`,
/// both bounds included. Instants are compared, so the offset does not matter.
pub fn check_created_at(
    created_at: &DateTime<FixedOffset>,
    now: DateTime<Utc>,
) -> Result<(), CreatedAtError> {
    let created_at = created_at.with_timezone(&Utc);
    if created_at < CREATED_AT_EARLIEST {
        Err(CreatedAtError::TooEarly)
    } else if created_at - now > CREATED_AT_MAX_AHEAD {
        Err(CreatedAtError::TooFarAhead)
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(rfc3339: &str) -> DateTime<FixedOffset> {
        DateTime::parse_from_rfc3339(rfc3339).expect("test time")
    }

    fn now() -> DateTime<Utc> {
        at("2026-12-07T09:00:00Z").with_timezone(&Utc)
    }

    #[test]
    fn the_earliest_bound_is_the_start_of_2020() {
        assert_eq!(
            CREATED_AT_EARLIEST.to_rfc3339(),
            "2020-01-01T00:00:00+00:00"
        );
    }

    #[test]
    fn exactly_24_hours_ahead_is_accepted_and_a_second_more_is_refused() {
        let limit = (now() + CREATED_AT_MAX_AHEAD).fixed_offset();
        assert_eq!(check_created_at(&limit, now()), Ok(()));
        let beyond = limit + Duration::seconds(1);
        assert_eq!(
            check_created_at(&beyond, now()),
            Err(CreatedAtError::TooFarAhead)
        );
        let just_beyond = limit + Duration::nanoseconds(1);
        assert_eq!(
            check_created_at(&just_beyond, now()),
            Err(CreatedAtError::TooFarAhead)
        );
    }

    #[test]
    fn the_offset_does_not_move_the_bound() {
        // 23:00 at +09:00 on the 8th is 14:00Z: 29 hours ahead, refused;
        // 08:00 at +09:00 on the 8th is 23:00Z on the 7th: 14 hours ahead, fine.
        assert_eq!(
            check_created_at(&at("2026-12-08T23:00:00+09:00"), now()),
            Err(CreatedAtError::TooFarAhead)
        );
        assert_eq!(
            check_created_at(&at("2026-12-08T08:00:00+09:00"), now()),
            Ok(())
        );
    }

    #[test]
    fn before_2020_is_refused_and_the_first_instant_of_2020_accepted() {
        assert_eq!(
            check_created_at(&at("2019-12-31T23:59:59Z"), now()),
            Err(CreatedAtError::TooEarly)
        );
        // Local midnight at +09:00 is still 2019 in UTC.
        assert_eq!(
            check_created_at(&at("2020-01-01T00:00:00+09:00"), now()),
            Err(CreatedAtError::TooEarly)
        );
        assert_eq!(
            check_created_at(&at("1970-01-01T00:00:00Z"), now()),
            Err(CreatedAtError::TooEarly)
        );
        assert_eq!(check_created_at(&at("2020-01-01T00:00:00Z"), now()), Ok(()));
    }

    #[test]
    fn the_year_9999_is_refused() {
        assert_eq!(
            check_created_at(&at("9999-01-01T00:00:00+09:00"), now()),
            Err(CreatedAtError::TooFarAhead)
        );
    }

    #[test]
    fn ordinary_times_are_accepted() {
        for t in [
            "2026-12-07T09:00:00Z",
            "2026-12-07T18:00:00+09:00",
            "2026-05-01T18:00:00+09:00",
            "2021-06-30T12:00:00-04:00",
        ] {
            assert_eq!(check_created_at(&at(t), now()), Ok(()), "{t}");
        }
    }

    #[test]
    fn messages_name_the_cause_without_the_time() {
        let ahead = CreatedAtError::TooFarAhead.to_string();
        assert!(ahead.contains("24 hours"), "{ahead}");
        assert!(ahead.contains("clock"), "{ahead}");
        assert!(CreatedAtError::TooEarly.to_string().contains("2020-01-01"));
    }
}
