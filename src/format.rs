//! Dates and times in Cambodia's time (UTC+7, no daylight saving), and
//! numbers as pages show them. Every feature formats through here, so that a
//! day or an amount reads the same on every page.

use time::{Date, OffsetDateTime, UtcOffset};

/// Cambodia's offset from UTC.
pub const CAMBODIA: UtcOffset = time::macros::offset!(+7);

/// Today in Cambodia, for the date bound.
pub fn today() -> Date {
    OffsetDateTime::now_utc().to_offset(CAMBODIA).date()
}

/// The day a moment fell on in Cambodia.
pub fn local_date(at: OffsetDateTime) -> Date {
    at.to_offset(CAMBODIA).date()
}

/// A moment as people here read it, in Cambodia's time.
pub fn timestamp(at: OffsetDateTime) -> String {
    let local = at.to_offset(CAMBODIA);
    let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]");
    local.format(&format).unwrap_or_default()
}

/// An amount of riel as people write it: "2,400,000 ៛".
pub fn riel(amount: i64) -> String {
    format!("{} ៛", grouped(amount))
}

/// A whole number with its thousands grouped: "2,400,000".
pub fn grouped(amount: i64) -> String {
    let digits = amount.unsigned_abs().to_string();
    let mut grouped = String::new();
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    let sign = if amount < 0 { "-" } else { "" };
    format!("{sign}{grouped}")
}

/// "57%", or "–" when there is nobody to count.
pub fn percent(part: i64, whole: i64) -> String {
    if whole == 0 {
        "–".into()
    } else {
        format!("{}%", (part * 100 + whole / 2) / whole)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_moments_and_shares_read_as_people_write_them() {
        assert_eq!(riel(2_400_000), "2,400,000 ៛");
        assert_eq!(riel(0), "0 ៛");
        assert_eq!(riel(999), "999 ៛");
        assert_eq!(percent(1, 3), "33%");
        assert_eq!(percent(0, 0), "–");
        let late_evening_utc = time::macros::datetime!(2026-12-01 22:14 UTC);
        assert_eq!(timestamp(late_evening_utc), "2026-12-02 05:14");
        assert_eq!(
            local_date(late_evening_utc),
            time::macros::date!(2026 - 12 - 02)
        );
    }
}
