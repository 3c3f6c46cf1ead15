//! The carrier's free-text note.

use serde::{Deserialize, Serialize};
use unicode_normalization::UnicodeNormalization;

/// The longest note accepted, in Unicode scalar values after trimming and NFC.
pub const MAX_NOTE_CHARS: usize = 2_000;

/// Why a note was refused. Messages never quote the note: it may hold personal data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NoteError {
    /// Longer than [`MAX_NOTE_CHARS`] after trimming.
    #[error("note is {chars} characters long; the limit is {MAX_NOTE_CHARS}")]
    TooLong {
        /// Length found, in characters.
        chars: usize,
    },
    /// Holds a control character other than a line break.
    #[error("note contains a control character (U+{code_point:04X}) at character {position}")]
    ControlCharacter {
        /// The offending code point.
        code_point: u32,
        /// Its index in the normalised note, counted in characters.
        position: usize,
    },
}

/// A validated note: trimmed, NFC-normalised, line breaks as `\n`, no other control
/// characters. NFC matters because iOS and Android keyboards may produce Korean in
/// decomposed jamo, and the same text must hash to the same content on the server.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Note(String);

impl Note {
    /// Validates `raw`. Returns `Ok(None)` when nothing is left after trimming, since
    /// an empty note is no note.
    pub fn parse(raw: &str) -> Result<Option<Self>, NoteError> {
        let unified = raw.replace("\r\n", "\n").replace('\r', "\n");
        let normalised: String = unified.trim().nfc().collect();
        if normalised.is_empty() {
            return Ok(None);
        }
        let mut chars = 0;
        for (position, c) in normalised.chars().enumerate() {
            if c.is_control() && c != '\n' {
                return Err(NoteError::ControlCharacter {
                    code_point: u32::from(c),
                    position,
                });
            }
            chars += 1;
        }
        if chars > MAX_NOTE_CHARS {
            return Err(NoteError::TooLong { chars });
        }
        Ok(Some(Self(normalised)))
    }

    /// The note's text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Note {
    type Error = NoteError;
    fn try_from(value: String) -> Result<Self, NoteError> {
        match Note::parse(&value)? {
            Some(note) => Ok(note),
            None => Ok(Note(String::new())),
        }
    }
}

impl From<Note> for String {
    fn from(value: Note) -> Self {
        value.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_and_normalises_to_nfc() {
        // "가" written as decomposed jamo (U+1100 U+1161) becomes the precomposed syllable.
        let note = Note::parse("  \u{1100}\u{1161}로등 고장 \r\n")
            .unwrap()
            .unwrap();
        assert_eq!(note.as_str(), "가로등 고장");
    }

    #[test]
    fn blank_is_no_note() {
        assert_eq!(Note::parse(" \n\t ").unwrap(), None);
    }

    #[test]
    fn keeps_line_breaks_but_rejects_other_control_characters() {
        assert_eq!(Note::parse("a\r\nb").unwrap().unwrap().as_str(), "a\nb");
        assert_eq!(
            Note::parse("dark\u{0007}alley"),
            Err(NoteError::ControlCharacter {
                code_point: 7,
                position: 4
            })
        );
        assert!(matches!(
            Note::parse("a\tb"),
            Err(NoteError::ControlCharacter { code_point: 9, .. })
        ));
    }

    #[test]
    fn counts_characters_not_bytes_and_after_trimming() {
        let korean = "가".repeat(MAX_NOTE_CHARS);
        assert!(Note::parse(&format!("  {korean}  ")).unwrap().is_some());
        assert_eq!(
            Note::parse(&format!("{korean}나")),
            Err(NoteError::TooLong {
                chars: MAX_NOTE_CHARS + 1
            })
        );
    }

    #[test]
    fn error_messages_do_not_quote_the_note() {
        let secret = format!("{}\u{0001}", "할머니 혼자 사는 집");
        let msg = Note::parse(&secret).unwrap_err().to_string();
        assert!(!msg.contains("할머니"));
    }
}
