//! The console's languages: Korean first, English available. Every string
//! lives in one catalogue per language (`i18n/ko.toml`, `i18n/en.toml`),
//! embedded in the binary; the user's choice is a cookie, and without one
//! the browser's `Accept-Language` decides (Korean unless it prefers English).

use std::collections::BTreeMap;
use std::sync::LazyLock;

use axum::http::HeaderMap;
use axum::http::header::{ACCEPT_LANGUAGE, COOKIE};

/// The cookie that holds the user's language choice (`ko` or `en`); not
/// personal data, so not HttpOnly-sensitive, but set HttpOnly anyway.
pub const LANG_COOKIE: &str = "postcso_lang";

/// A language of the console.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    /// 한국어, the default.
    Ko,
    /// English.
    En,
}

impl Lang {
    /// The BCP 47 tag, for `<html lang>` and the cookie.
    pub fn tag(self) -> &'static str {
        match self {
            Self::Ko => "ko",
            Self::En => "en",
        }
    }

    /// The other language: what the switch offers.
    pub fn other(self) -> Self {
        match self {
            Self::Ko => Self::En,
            Self::En => Self::Ko,
        }
    }

    /// A tag as stored in the cookie or sent by a form.
    pub fn parse(tag: &str) -> Option<Self> {
        match tag.trim() {
            "ko" => Some(Self::Ko),
            "en" => Some(Self::En),
            _ => None,
        }
    }

    /// The language of a request: the cookie if set, else the first of
    /// Korean or English in `Accept-Language` by preference, else Korean.
    pub fn of_request(headers: &HeaderMap) -> Self {
        cookie(headers)
            .and_then(Self::parse)
            .or_else(|| from_accept_language(headers))
            .unwrap_or(Self::Ko)
    }

    /// The catalogue of this language.
    pub fn catalogue(self) -> &'static Catalogue {
        match self {
            Self::Ko => &KO,
            Self::En => &EN,
        }
    }
}

fn cookie(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == LANG_COOKIE)
        .map(|(_, value)| value)
}

/// Korean or English from `Accept-Language`, by the client's q-values.
fn from_accept_language(headers: &HeaderMap) -> Option<Lang> {
    let value = headers.get(ACCEPT_LANGUAGE)?.to_str().ok()?;
    let mut best: Option<(f32, Lang)> = None;
    for item in value.split(',') {
        let mut parts = item.trim().split(';');
        let tag = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
        let q = parts
            .find_map(|p| p.trim().strip_prefix("q="))
            .and_then(|q| q.parse::<f32>().ok())
            .unwrap_or(1.0);
        let primary = tag.split('-').next().unwrap_or_default();
        let Some(lang) = Lang::parse(primary) else {
            continue;
        };
        if best.is_none_or(|(bq, _)| q > bq) {
            best = Some((q, lang));
        }
    }
    best.map(|(_, lang)| lang)
}

/// The strings of one language, by dotted key (`queue.title`).
#[derive(Debug)]
pub struct Catalogue {
    lang: Lang,
    strings: BTreeMap<String, String>,
}

impl Catalogue {
    fn load(lang: Lang, source: &str) -> Self {
        // The catalogues are part of the binary, not input; a unit test
        // proves both parse. Should one ever fail, keys show instead of text.
        let table: toml::Table = toml::from_str(source).unwrap_or_default();
        let mut strings = BTreeMap::new();
        flatten("", &toml::Value::Table(table), &mut strings);
        Self { lang, strings }
    }

    /// The language.
    pub fn lang(&self) -> Lang {
        self.lang
    }

    /// The string for `key`; the key itself when missing (a test keeps
    /// every key the templates and code use in both catalogues).
    pub fn get<'a>(&'a self, key: &'a str) -> &'a str {
        self.strings.get(key).map_or(key, String::as_str)
    }

    /// The string for `key` with `{n}` replaced by `n`.
    pub fn fill(&self, key: &str, n: impl std::fmt::Display) -> String {
        self.get(key).replace("{n}", &n.to_string())
    }

    /// Every key, for tests.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.strings.keys().map(String::as_str)
    }
}

fn flatten(prefix: &str, value: &toml::Value, out: &mut BTreeMap<String, String>) {
    match value {
        toml::Value::Table(table) => {
            for (key, inner) in table {
                let path = if prefix.is_empty() {
                    key.clone()
                } else {
                    format!("{prefix}.{key}")
                };
                flatten(&path, inner, out);
            }
        }
        toml::Value::String(text) => {
            out.insert(prefix.to_owned(), text.clone());
        }
        // Catalogues hold only strings; anything else is left out (and
        // then shows as its key, which the tests catch).
        _ => {}
    }
}

static KO: LazyLock<Catalogue> =
    LazyLock::new(|| Catalogue::load(Lang::Ko, include_str!("i18n/ko.toml")));
static EN: LazyLock<Catalogue> =
    LazyLock::new(|| Catalogue::load(Lang::En, include_str!("i18n/en.toml")));

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn both_catalogues_parse_and_have_the_same_keys() {
        for source in [include_str!("i18n/ko.toml"), include_str!("i18n/en.toml")] {
            toml::from_str::<toml::Table>(source).expect("catalogue parses");
        }
        let ko: Vec<&str> = KO.keys().collect();
        let en: Vec<&str> = EN.keys().collect();
        assert!(ko.len() > 100, "{} keys", ko.len());
        let only_ko: Vec<_> = ko.iter().filter(|k| !en.contains(k)).collect();
        let only_en: Vec<_> = en.iter().filter(|k| !ko.contains(k)).collect();
        assert!(only_ko.is_empty(), "missing in en.toml: {only_ko:?}");
        assert!(only_en.is_empty(), "missing in ko.toml: {only_en:?}");
        for key in &ko {
            assert!(!KO.get(key).trim().is_empty(), "{key} empty in ko");
            assert!(!EN.get(key).trim().is_empty(), "{key} empty in en");
            assert_eq!(
                KO.get(key).contains("{n}"),
                EN.get(key).contains("{n}"),
                "{key}: both or neither take a value"
            );
        }
    }

    /// Every `t.get("…")` / `t.fill("…", …)` key in the templates and the
    /// console's code is in the catalogues.
    #[test]
    fn every_key_used_is_in_the_catalogues() {
        let sources = [
            include_str!("templates/base.html"),
            include_str!("templates/sign_in.html"),
            include_str!("templates/queue.html"),
            include_str!("templates/queue_list.html"),
            include_str!("templates/report.html"),
            include_str!("templates/notes.html"),
            include_str!("templates/message.html"),
            include_str!("templates/referral.html"),
            include_str!("referral.rs"),
            include_str!("templates/compare.html"),
            include_str!("queue.rs"),
            include_str!("duplicates.rs"),
            include_str!("bulk.rs"),
            include_str!("inspect.rs"),
            include_str!("report.rs"),
            include_str!("views.rs"),
            include_str!("mod.rs"),
            include_str!("signin.rs"),
        ];
        let mut used = 0;
        for source in sources {
            for marker in ["t.get(\"", "t.fill(\"", "key: \""] {
                for (at, _) in source.match_indices(marker) {
                    let rest = &source[at + marker.len()..];
                    let key = &rest[..rest.find('"').unwrap_or(0)];
                    if key.contains('{') {
                        continue;
                    }
                    used += 1;
                    assert_ne!(KO.get(key), key, "`{key}` is not in ko.toml");
                    assert_ne!(EN.get(key), key, "`{key}` is not in en.toml");
                }
            }
        }
        assert!(used > 50, "{used} keys found");
    }

    #[test]
    fn the_cookie_wins_then_accept_language_then_korean() {
        let mut h = HeaderMap::new();
        assert_eq!(Lang::of_request(&h), Lang::Ko);
        h.insert(ACCEPT_LANGUAGE, HeaderValue::from_static("en-US,en;q=0.9"));
        assert_eq!(Lang::of_request(&h), Lang::En);
        h.insert(
            ACCEPT_LANGUAGE,
            HeaderValue::from_static("fr, en;q=0.5, ko;q=0.8"),
        );
        assert_eq!(Lang::of_request(&h), Lang::Ko);
        h.insert(ACCEPT_LANGUAGE, HeaderValue::from_static("de, fr"));
        assert_eq!(Lang::of_request(&h), Lang::Ko);
        h.insert(ACCEPT_LANGUAGE, HeaderValue::from_static("en"));
        h.insert(
            COOKIE,
            HeaderValue::from_static("postcso_session=x; postcso_lang=ko"),
        );
        assert_eq!(Lang::of_request(&h), Lang::Ko);
        assert_eq!(EN.fill("queue.count", 3), "3 reports");
    }
}
