//! Counting what arrived: the station's database against what the phones filed.

use std::io::Write;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::time::Duration;

use super::flaky_link::LinkStats;
use super::fleet::Phone;

/// The demo's figures.
#[derive(Debug, Default)]
pub struct Tally {
    /// Reports the carriers filed.
    pub filed: u64,
    /// Filed reports the station holds complete (metadata and every photo).
    pub delivered: u64,
    /// Filed reports the station holds more than once, plus reports it holds that
    /// nobody filed. Must be 0.
    pub duplicated: u64,
    /// Filed reports the station does not hold complete. Must be 0 at the end.
    pub lost: u64,
    /// Photo bytes the phones sent.
    pub photo_bytes_sent: u64,
    /// Photo bytes sent again because an interruption lost them. An upper bound:
    /// a chunk counts as sent when its request starts, even if a refused
    /// connection took none of it.
    pub photo_bytes_resent: u64,
    /// HTTP requests the phones made.
    pub requests: u64,
    /// Outages of the link.
    pub outages: u64,
    /// Connections the outages cut.
    pub connections_cut: u64,
    /// Watch areas the phones announced entering as carriers walked.
    pub watch_area_alerts: u64,
    /// Delivered reports whose sealed content names a watch area: what the
    /// phones saw, offline, at submit.
    pub in_watch_area_phone: u64,
    /// Delivered reports the station placed in a watch area on arrival.
    pub in_watch_area_station: u64,
    /// Delivered reports the station flagged as outside its jurisdiction.
    pub outside_jurisdiction: u64,
    /// Delivered reports within 50 m of the jurisdiction's line (either side).
    pub near_the_line: u64,
    /// Reports per district the station named, most first.
    pub districts: Vec<(String, u64)>,
}

impl Tally {
    /// Counts from the station's database file and the phones' counters.
    pub fn count(db: &Path, filed: &[String], phones: &[Phone], link: &LinkStats) -> Self {
        let mut t = Self {
            filed: filed.len() as u64,
            outages: link.outages.load(Ordering::Relaxed),
            connections_cut: link.cut.load(Ordering::Relaxed)
                + link.refused.load(Ordering::Relaxed),
            ..Self::default()
        };
        for phone in phones {
            let s = phone.engine.transfer_stats();
            t.photo_bytes_sent += s.photo_bytes_sent;
            t.photo_bytes_resent += s.photo_bytes_resent;
            t.requests += s.requests;
        }
        if let Ok(conn) =
            rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        {
            let complete = |id: &String| -> (i64, i64) {
                conn.query_row(
                    "SELECT count(*), coalesce(sum(complete), 0) FROM reports WHERE id = ?1",
                    [id],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .unwrap_or((0, 0))
            };
            for id in filed {
                let (copies, complete) = complete(id);
                if copies > 1 {
                    t.duplicated += (copies - 1) as u64;
                }
                if complete >= 1 {
                    t.delivered += 1;
                }
            }
            let total: i64 = conn
                .query_row("SELECT count(*) FROM reports", [], |r| r.get(0))
                .unwrap_or(0);
            t.duplicated += (total as u64).saturating_sub(filed.len() as u64);
            t.count_places(&conn);
        }
        t.lost = t.filed - t.delivered;
        t
    }

    /// Where the reports were, as the phones sealed it and as the station
    /// placed it on arrival.
    fn count_places(&mut self, conn: &rusqlite::Connection) {
        let count = |sql: &str| -> u64 {
            conn.query_row(sql, [], |r| r.get::<_, i64>(0))
                .map_or(0, |n| n as u64)
        };
        let watch = "(SELECT code FROM zones WHERE kind = 'watch_area')";
        self.in_watch_area_phone = count(&format!(
            "SELECT count(*) FROM reports r WHERE EXISTS (SELECT 1 FROM \
             json_each(r.content_json, '$.zones') z WHERE z.value IN {watch})"
        ));
        self.in_watch_area_station = count(&format!(
            "SELECT count(*) FROM reports r WHERE EXISTS (SELECT 1 FROM \
             json_each(r.zones_json) z WHERE z.value IN {watch})"
        ));
        self.outside_jurisdiction =
            count("SELECT count(*) FROM reports WHERE outside_jurisdiction = 1");
        self.near_the_line = count(
            "SELECT count(*) FROM reports WHERE boundary_distance_m IS NOT NULL \
             AND boundary_distance_m <= 50",
        );
        self.districts = conn
            .prepare(
                "SELECT coalesce(district_name, '(none)'), count(*) FROM reports \
                 GROUP BY 1 ORDER BY 2 DESC, 1",
            )
            .and_then(|mut stmt| {
                stmt.query_map([], |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as u64))
                })?
                .collect::<Result<Vec<_>, _>>()
            })
            .unwrap_or_default();
    }

    /// Prints the closing table.
    pub fn print(&self, out: &mut impl Write, sync_time: Duration, total_time: Duration) {
        let rows = [
            ("reports filed", self.filed.to_string()),
            ("delivered (with every photo)", self.delivered.to_string()),
            ("duplicated (must be 0)", self.duplicated.to_string()),
            ("lost (must be 0)", self.lost.to_string()),
            (
                "photo bytes sent",
                format!("{:.1} MB", self.photo_bytes_sent as f64 / 1e6),
            ),
            (
                "photo bytes re-sent (upper bound)",
                format!(
                    "{:.1} KB ({:.2}%)",
                    self.photo_bytes_resent as f64 / 1e3,
                    100.0 * self.photo_bytes_resent as f64 / self.photo_bytes_sent.max(1) as f64
                ),
            ),
            ("HTTP requests", self.requests.to_string()),
            (
                "link outages / connections cut",
                format!("{} / {}", self.outages, self.connections_cut),
            ),
            (
                "watch areas entered (phone alerts)",
                self.watch_area_alerts.to_string(),
            ),
            (
                "in watch areas (phone / station)",
                format!(
                    "{} / {}",
                    self.in_watch_area_phone, self.in_watch_area_station
                ),
            ),
            (
                "outside the jurisdiction (flagged)",
                self.outside_jurisdiction.to_string(),
            ),
            (
                "within 50 m of the district line",
                self.near_the_line.to_string(),
            ),
            (
                "by district",
                self.districts
                    .iter()
                    .map(|(name, n)| format!("{name} {n}"))
                    .collect::<Vec<_>>()
                    .join(", "),
            ),
            (
                "sync time / whole demo",
                format!(
                    "{:.1}s / {:.1}s",
                    sync_time.as_secs_f64(),
                    total_time.as_secs_f64()
                ),
            ),
        ];
        let value_width = rows
            .iter()
            .map(|(_, value)| display_width(value))
            .max()
            .unwrap_or(0)
            .max(22);
        let _ = writeln!(out, "┌{:─<36}┬{:─<w$}┐", "", "", w = value_width + 2);
        for (name, value) in rows {
            let pad = " ".repeat(value_width - display_width(&value));
            let _ = writeln!(out, "│ {name:<34} │ {pad}{value} │");
        }
        let _ = writeln!(out, "└{:─<36}┴{:─<w$}┘", "", "", w = value_width + 2);
    }
}

/// Columns a string takes in a terminal: Hangul is two wide, the rest one.
/// (Written here rather than pulling a crate: the table holds only Korean
/// district names and ASCII.)
fn display_width(s: &str) -> usize {
    s.chars()
        .map(|c| match c {
            '\u{1100}'..='\u{115F}' | '\u{3130}'..='\u{318F}' | '\u{AC00}'..='\u{D7A3}' => 2,
            _ => 1,
        })
        .sum()
}
