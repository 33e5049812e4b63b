//! The filters of the figures (`study`, `project`, `province`, `district`,
//! `from`, `to`),
//! which the dashboard, the exports, the study report and the public pages
//! share; with the reader (`auth::reader`) they decide which records are
//! counted.

use serde::Deserialize;
use time::Date;

use crate::web::forms::{self, FieldErrors};

/// The filters as typed in the query string, kept to show them back.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct Filters {
    #[serde(default)]
    pub study: String,
    #[serde(default)]
    pub project: String,
    #[serde(default)]
    pub province: String,
    #[serde(default)]
    pub district: String,
    #[serde(default)]
    pub from: String,
    #[serde(default)]
    pub to: String,
}

/// The filters checked: `''` and `None` mean "any".
#[derive(Debug, Default, Clone, PartialEq, Eq, Hash)]
pub struct Selection {
    pub study: Option<i64>,
    /// The studies and events of one project (`projects`).
    pub project: Option<i64>,
    pub province: String,
    pub district: String,
    pub from: Option<Date>,
    pub to: Option<Date>,
}

impl Filters {
    /// The selection, or the fields that make no sense and why.
    pub fn check(&self) -> Result<Selection, FieldErrors> {
        let mut errors = FieldErrors::default();
        let mut id = |field: &'static str, value: &str| match value.trim() {
            "" => None,
            text => {
                let id = text.parse::<i64>().ok();
                if id.is_none() {
                    errors.add(field, "error-choose");
                }
                id
            }
        };
        let study = id("study", &self.study);
        let project = id("project", &self.project);
        let code = |errors: &mut FieldErrors, field: &'static str, value: &str, digits: usize| {
            let value = value.trim();
            let valid = value.is_empty()
                || (value.len() == digits && value.chars().all(|c| c.is_ascii_digit()));
            if !valid {
                errors.add(field, "error-code");
            }
            value.to_owned()
        };
        let province = code(&mut errors, "province", &self.province, 2);
        let district = code(&mut errors, "district", &self.district, 4);
        let mut date = |field: &'static str, value: &str| {
            (!value.trim().is_empty())
                .then(|| forms::date(&mut errors, field, value))
                .flatten()
        };
        let from = date("from", &self.from);
        let to = date("to", &self.to);
        if matches!((from, to), (Some(from), Some(to)) if from > to) {
            errors.add("to", "error-end-before-start");
        }
        errors.into_result(Selection {
            study,
            project,
            province,
            district,
            from,
            to,
        })
    }

    /// These filters as a query string, for links that keep them.
    pub fn query(&self) -> String {
        serde_urlencoded::to_string([
            ("study", self.study.as_str()),
            ("project", &self.project),
            ("province", &self.province),
            ("district", &self.district),
            ("from", &self.from),
            ("to", &self.to),
        ])
        .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filters(study: &str, province: &str, district: &str, from: &str, to: &str) -> Filters {
        Filters {
            study: study.into(),
            project: String::new(),
            province: province.into(),
            district: district.into(),
            from: from.into(),
            to: to.into(),
        }
    }

    #[test]
    fn empty_filters_select_everything_and_bad_ones_are_named() {
        assert_eq!(
            filters("", "", "", "", "").check().ok(),
            Some(Selection::default())
        );
        let errors = filters("x", "2", "02031", "2021-02-30", "")
            .check()
            .err()
            .map(|errors| {
                ["study", "province", "district", "from"]
                    .map(|field| errors.get(field).unwrap_or_default())
            });
        assert_eq!(
            errors,
            Some(["error-choose", "error-code", "error-code", "error-date"])
        );
        let backwards = filters("", "", "", "2021-12-01", "2021-01-01").check();
        assert_eq!(
            backwards.err().and_then(|e| e.get("to")),
            Some("error-end-before-start")
        );
    }
}
