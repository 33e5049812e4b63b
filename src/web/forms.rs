//! Reading forms: a form extractor whose failures are pages, not plain text, and
//! the per-field messages a refused form is shown with.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use serde::de::DeserializeOwned;

use crate::error::AppError;

/// Like `axum::Form`, but a body that cannot be read (broken UTF-8, a missing
/// field) answers with the bad-request page, and broken UTF-8 is never stored.
/// A field a form repeats (ticked boxes, a multiple choice) is read into a
/// `Vec` (serde_html_form).
pub struct Form<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Form<T> {
    type Rejection = AppError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(|_| AppError::BadRequest)?;
        read(&bytes).map(Form)
    }
}

/// A form sent as a query (a form's GET button that redraws it, keeping the
/// input), read as [`Form`] reads a body; no query is the empty form.
pub fn from_query<T: DeserializeOwned>(query: Option<&str>) -> Result<T, AppError> {
    read(query.unwrap_or_default().as_bytes())
}

fn read<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, AppError> {
    // Decoding would replace broken UTF-8 with U+FFFD and store the damage;
    // refuse it instead.
    if percent_encoding::percent_decode(bytes)
        .decode_utf8()
        .is_err()
    {
        return Err(AppError::BadRequest);
    }
    serde_html_form::from_bytes(bytes).map_err(|_| AppError::BadRequest)
}

/// A checkbox: ticked (sent as `on`) or not (not sent at all).
pub fn checkbox<'de, D: serde::Deserializer<'de>>(field: D) -> Result<bool, D::Error> {
    let value = <String as serde::Deserialize>::deserialize(field)?;
    Ok(value == "on")
}

/// What a form sent under one name: once, or repeated (ticked boxes).
#[derive(Debug, serde::Deserialize)]
#[serde(untagged)]
pub enum Sent {
    One(String),
    Many(Vec<String>),
}

impl Sent {
    pub fn into_vec(self) -> Vec<String> {
        match self {
            Sent::One(value) => vec![value],
            Sent::Many(values) => values,
        }
    }

    /// The value of a field the form sends once (the first, if repeated).
    pub fn first(self) -> String {
        self.into_vec().into_iter().next().unwrap_or_default()
    }
}

/// A field that may be sent once or repeated, inside a form whose other
/// fields are read by name (`#[serde(flatten)]`), where a single value does
/// not arrive as a list.
pub fn one_or_many<'de, D: serde::Deserializer<'de>>(field: D) -> Result<Vec<String>, D::Error> {
    <Sent as serde::Deserialize>::deserialize(field).map(Sent::into_vec)
}

/// A search term as a `LIKE` pattern that finds it anywhere in a text, with
/// `%`, `_` and `\` matching themselves; empty when there is nothing to find.
pub fn contains_pattern(term: &str) -> String {
    let term = term.trim();
    if term.is_empty() {
        return String::new();
    }
    let mut pattern = String::from("%");
    for c in term.chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

/// The messages a form is sent back with, by field name; each message is a key
/// into the Fluent files.
#[derive(Debug, Default, Clone)]
pub struct FieldErrors(Vec<(&'static str, &'static str)>);

impl FieldErrors {
    pub fn add(&mut self, field: &'static str, message_key: &'static str) {
        self.0.push((field, message_key));
    }

    pub fn get(&self, field: &str) -> Option<&'static str> {
        self.0
            .iter()
            .find(|(name, _)| *name == field)
            .map(|(_, key)| *key)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether `field` is the first refused, the one a returned form focuses.
    pub fn is_first(&self, field: &str) -> bool {
        self.0.first().is_some_and(|(name, _)| *name == field)
    }

    /// Each refused field with its message key, in the order found.
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, &'static str)> + '_ {
        self.0.iter().copied()
    }

    /// `Ok(value)` when no field was refused.
    pub fn into_result<T>(self, value: T) -> Result<T, FieldErrors> {
        if self.is_empty() {
            Ok(value)
        } else {
            Err(self)
        }
    }
}

/// Checks a required single-line text field: trimmed, not empty, not too long.
pub fn required_text(
    errors: &mut FieldErrors,
    field: &'static str,
    value: &str,
    max_chars: usize,
) -> String {
    let value = value.trim();
    if value.is_empty() {
        errors.add(field, "error-required");
    } else if value.chars().count() > max_chars {
        errors.add(field, "error-too-long");
    }
    value.to_owned()
}

/// Checks an optional single-line text field.
pub fn optional_text(
    errors: &mut FieldErrors,
    field: &'static str,
    value: &str,
    max_chars: usize,
) -> String {
    let value = value.trim();
    if value.chars().count() > max_chars {
        errors.add(field, "error-too-long");
    }
    value.to_owned()
}

/// A plausible e-mail address: one `@`, something on both sides, a dot in the domain.
pub fn email(errors: &mut FieldErrors, field: &'static str, value: &str) -> String {
    let value = required_text(errors, field, value, 254).to_lowercase();
    let plausible = value.split_once('@').is_some_and(|(local, domain)| {
        !local.is_empty()
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains('@')
            && !value.chars().any(char::is_whitespace)
    });
    if !value.is_empty() && !plausible && errors.get(field).is_none() {
        errors.add(field, "error-email");
    }
    value
}

/// An amount of riel as typed: "2,400,000", "2 400 000 ៛" or in Khmer digits
/// ("២៤០០០០០"); `None` unless it is a whole number from 0.
pub fn riel(text: &str) -> Option<i64> {
    let digits: String = text
        .chars()
        .filter(|c| !matches!(c, ',' | ' ' | '\u{a0}' | '៛'))
        .map(|c| match c {
            '០'..='៩' => char::from(b'0' + (c as u32 - '០' as u32) as u8),
            c => c,
        })
        .collect();
    if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// A date typed as `YYYY-MM-DD` (what `<input type="date">` sends).
pub fn date(errors: &mut FieldErrors, field: &'static str, value: &str) -> Option<time::Date> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let parsed = time::Date::parse(value.trim(), &format).ok();
    // Nothing the coalition records is older, and no plan runs longer: a
    // date outside is a slip of the keyboard (0202 for 2020).
    if parsed.is_some_and(|date| !(1970..=2100).contains(&date.year())) {
        errors.add(field, "error-date-range");
        return None;
    }
    if parsed.is_none() {
        errors.add(
            field,
            if value.trim().is_empty() {
                "error-required"
            } else {
                "error-date"
            },
        );
    }
    parsed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_outside_this_century_are_refused_with_the_range() {
        let mut errors = FieldErrors::default();
        assert!(date(&mut errors, "on", "0202-05-01").is_none());
        assert!(date(&mut errors, "until", "9999-12-31").is_none());
        assert!(date(&mut errors, "ok", "2026-12-02").is_some());
        assert_eq!(errors.get("on"), Some("error-date-range"));
        assert_eq!(errors.get("until"), Some("error-date-range"));
        assert_eq!(errors.get("ok"), None);
    }

    #[test]
    fn riel_amounts_are_read_as_people_write_them() {
        assert_eq!(riel("2,400,000"), Some(2_400_000));
        assert_eq!(riel("2 400 000 ៛"), Some(2_400_000));
        assert_eq!(riel("២៤០០០០០"), Some(2_400_000));
        assert_eq!(riel("-5"), None);
        assert_eq!(riel("2.5"), None);
        assert_eq!(riel("99999999999999999999"), None);
    }

    #[test]
    fn search_terms_match_themselves() {
        assert_eq!(contains_pattern("  "), "");
        assert_eq!(contains_pattern("Bavel"), "%Bavel%");
        assert_eq!(contains_pattern("50%_a\\b"), "%50\\%\\_a\\\\b%");
    }
}
