//! The printable enrolment sheet: a CSV of codes and one QR PNG per code.
//!
//! Files are first written under staging names and moved into place only after
//! the codes are stored, so a failed run leaves neither orphan files that look
//! valid nor stored codes nobody can read.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::{DateTime, SecondsFormat, Utc};
use image::Luma;
use qrcode::{EcLevel, QrCode};

use crate::exit::{CliError, Exit};

/// Smallest side of a QR image in pixels: prints sharp at about 5 cm.
const QR_MIN_PIXELS: u32 = 400;

/// One line of the sheet.
#[derive(Debug, Clone)]
pub struct SheetEntry {
    /// Printed label, also the PNG's file name.
    pub label: String,
    /// The code in clear, as it is printed and encoded.
    pub code: String,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
}

/// Where the sheet goes and where it is staged.
#[derive(Debug, Clone)]
pub struct SheetPaths {
    /// Final CSV path.
    pub csv: PathBuf,
    /// Final folder of PNGs.
    pub qr_dir: PathBuf,
    staging_csv: PathBuf,
    staging_qr_dir: PathBuf,
}

fn io_error(what: &str, path: &Path, e: std::io::Error) -> CliError {
    CliError::new(Exit::Io, format!("cannot {what} {}: {e}", path.display()))
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

/// Percent-encodes a query value (RFC 3986 unreserved characters pass).
fn query_value(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// What the QR code holds: the code alone, or an enrolment link with the server.
fn qr_payload(code: &str, server_url: Option<&str>) -> String {
    match server_url {
        Some(url) => format!(
            "postcso://enrol?server={}&code={}",
            query_value(url),
            query_value(code)
        ),
        None => code.to_owned(),
    }
}

impl SheetPaths {
    /// Derives the QR folder (`<stem>-qr` beside the CSV) and staging names.
    pub fn for_csv(csv: &Path) -> Result<Self, CliError> {
        let stem = csv
            .file_stem()
            .and_then(|s| s.to_str())
            .filter(|s| !s.is_empty())
            .ok_or_else(|| {
                CliError::new(
                    Exit::Usage,
                    format!("--out {} must name a file", csv.display()),
                )
            })?;
        let dir = csv.parent().unwrap_or_else(|| Path::new(""));
        let file_name = csv.file_name().and_then(|s| s.to_str()).unwrap_or(stem);
        let pid = std::process::id();
        Ok(Self {
            csv: csv.to_owned(),
            qr_dir: dir.join(format!("{stem}-qr")),
            staging_csv: dir.join(format!(".{file_name}.{pid}.partial")),
            staging_qr_dir: dir.join(format!(".{stem}-qr.{pid}.partial")),
        })
    }

    /// Refuses to overwrite an earlier sheet: those codes may still be in use.
    pub fn ensure_free(&self) -> Result<(), CliError> {
        for path in [&self.csv, &self.qr_dir] {
            if path.exists() {
                return Err(CliError::new(
                    Exit::Conflict,
                    format!("{} already exists; choose another --out", path.display()),
                ));
            }
        }
        Ok(())
    }

    /// Writes the CSV and PNGs under the staging names.
    pub fn write_staging(
        &self,
        entries: &[SheetEntry],
        server_url: Option<&str>,
    ) -> Result<(), CliError> {
        let result = self.write_staging_inner(entries, server_url);
        if result.is_err() {
            self.remove_staging();
        }
        result
    }

    fn write_staging_inner(
        &self,
        entries: &[SheetEntry],
        server_url: Option<&str>,
    ) -> Result<(), CliError> {
        if let Some(parent) = self.csv.parent().filter(|p| !p.as_os_str().is_empty()) {
            fs::create_dir_all(parent).map_err(|e| io_error("create", parent, e))?;
        }
        fs::create_dir(&self.staging_qr_dir)
            .map_err(|e| io_error("create", &self.staging_qr_dir, e))?;
        let qr_dir_name = self
            .qr_dir
            .file_name()
            .and_then(|s| s.to_str())
            .unwrap_or("qr");
        let mut csv = String::from("label,code,expires_at,qr_png\n");
        for entry in entries {
            let png_name = format!("{}.png", entry.label);
            let png_path = self.staging_qr_dir.join(&png_name);
            let qr = QrCode::with_error_correction_level(
                qr_payload(&entry.code, server_url).as_bytes(),
                EcLevel::M,
            )
            .map_err(|e| CliError::new(Exit::Failure, format!("cannot make a QR code: {e}")))?;
            let image = qr
                .render::<Luma<u8>>()
                .min_dimensions(QR_MIN_PIXELS, QR_MIN_PIXELS)
                .quiet_zone(true)
                .build();
            image
                .save_with_format(&png_path, image::ImageFormat::Png)
                .map_err(|e| {
                    CliError::new(
                        Exit::Io,
                        format!("cannot write {}: {e}", png_path.display()),
                    )
                })?;
            csv.push_str(&format!(
                "{},{},{},{}\n",
                csv_field(&entry.label),
                csv_field(&entry.code),
                entry.expires_at.to_rfc3339_opts(SecondsFormat::Secs, true),
                csv_field(&format!("{qr_dir_name}/{png_name}"))
            ));
        }
        let mut file = fs::File::create(&self.staging_csv)
            .map_err(|e| io_error("create", &self.staging_csv, e))?;
        file.write_all(csv.as_bytes())
            .and_then(|()| file.sync_all())
            .map_err(|e| io_error("write", &self.staging_csv, e))?;
        Ok(())
    }

    /// Moves the staged files to their final names.
    pub fn commit(&self) -> Result<(), CliError> {
        fs::rename(&self.staging_qr_dir, &self.qr_dir).map_err(|e| {
            io_error(
                &format!(
                    "move the QR codes into place (they are in {}):",
                    self.staging_qr_dir.display()
                ),
                &self.qr_dir,
                e,
            )
        })?;
        fs::rename(&self.staging_csv, &self.csv).map_err(|e| {
            io_error(
                &format!(
                    "move the CSV into place (it is at {}):",
                    self.staging_csv.display()
                ),
                &self.csv,
                e,
            )
        })
    }

    /// Deletes staged files after a failure; best effort.
    pub fn remove_staging(&self) {
        let _ = fs::remove_file(&self.staging_csv);
        let _ = fs::remove_dir_all(&self.staging_qr_dir);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qr_payload_links_to_the_server_when_given() {
        assert_eq!(qr_payload("AB-CD", None), "AB-CD");
        assert_eq!(
            qr_payload("AB-CD", Some("https://st.example/x?y")),
            "postcso://enrol?server=https%3A%2F%2Fst.example%2Fx%3Fy&code=AB-CD"
        );
    }

    #[test]
    fn csv_fields_are_quoted_only_when_needed() {
        assert_eq!(csv_field("carrier-001"), "carrier-001");
        assert_eq!(csv_field("a,\"b\""), "\"a,\"\"b\"\"\"");
    }
}
