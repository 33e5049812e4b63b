//! The activity form: every field as typed, parsed once into a `ValidActivity`
//! or a list of field errors. Participant counts are a 6 × 2 grid of numbers.

use std::collections::HashMap;

use serde::Deserialize;
use time::{Date, Duration};

use crate::revisions::Snapshot;
use crate::web::forms::{self, FieldErrors};

pub const KINDS: [&str; 9] = [
    "fgd",
    "interview",
    "consultation",
    "joint_consultation",
    "technical_meeting",
    "provincial_workshop",
    "national_workshop",
    "training",
    "other",
];
pub const GROUPS: [&str; 6] = [
    "citizen",
    "cbo",
    "cso",
    "sna_official",
    "council_member",
    "other",
];
pub const SEXES: [&str; 2] = ["female", "male"];
pub const MAX_COUNT: i32 = 100_000;
const EARLIEST: Date = time::macros::date!(2000 - 01 - 01);

/// Participants by group (rows, in `GROUPS` order) and sex (`SEXES` order).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counts(pub [[i32; 2]; 6]);

impl Counts {
    pub fn get(&self, group: usize, sex: usize) -> i32 {
        self.0[group][sex]
    }

    /// Each non-zero cell as (group, sex, count), for storing.
    pub fn cells(&self) -> (Vec<String>, Vec<String>, Vec<i32>) {
        let mut groups = Vec::new();
        let mut sexes = Vec::new();
        let mut counts = Vec::new();
        for (g, group) in GROUPS.iter().enumerate() {
            for (s, sex) in SEXES.iter().enumerate() {
                if self.0[g][s] > 0 {
                    groups.push(group.to_string());
                    sexes.push(sex.to_string());
                    counts.push(self.0[g][s]);
                }
            }
        }
        (groups, sexes, counts)
    }
}

/// The form as sent, every field a string so it can be shown back as typed.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ActivityForm {
    pub kind: String,
    pub held_on: String,
    pub district_code: String,
    pub commune_code: String,
    pub place: String,
    pub facilitating_organization_id: String,
    pub study_id: String,
    pub case_study_id: String,
    pub summary: String,
    pub youth: String,
    pub persons_with_disabilities: String,
    /// The count fields, `count_{group}_{sex}`.
    #[serde(flatten)]
    pub counts: CountFields,
    pub version: String,
    /// The one-time key that makes a second send of the form save nothing.
    pub once_key: String,
}

/// The count fields as typed, in `GROUPS` × `SEXES` order. Read from the
/// fields the form's other fields leave, by their names.
#[derive(Debug, Clone, Default)]
pub struct CountFields([[String; 2]; 6]);

impl CountFields {
    /// The sum of the counts as typed, of one sex or (`None`) of both: what
    /// the form's running total starts at. Cells that are no count add nothing;
    /// the server's check names them.
    pub fn typed_total(&self, sex: Option<usize>) -> i64 {
        self.0
            .iter()
            .flat_map(|row| row.iter().enumerate())
            .filter(|(column, _)| sex.is_none_or(|sex| sex == *column))
            .filter_map(|(_, value)| count_value(value).ok())
            .map(i64::from)
            .sum()
    }
}

impl std::ops::Index<usize> for CountFields {
    type Output = [String; 2];

    fn index(&self, group: usize) -> &[String; 2] {
        &self.0[group]
    }
}

impl std::ops::IndexMut<usize> for CountFields {
    fn index_mut(&mut self, group: usize) -> &mut [String; 2] {
        &mut self.0[group]
    }
}

impl<'de> Deserialize<'de> for CountFields {
    fn deserialize<D: serde::Deserializer<'de>>(fields: D) -> Result<Self, D::Error> {
        let named: HashMap<String, forms::Sent> = HashMap::deserialize(fields)?;
        let mut counts = CountFields::default();
        for (name, value) in named {
            if let Some((g, s)) = count_field(&name) {
                counts.0[g][s] = value.first();
            }
        }
        Ok(counts)
    }
}

impl ActivityForm {
    pub fn count(&self, group: usize, sex: usize) -> &str {
        &self.counts[group][sex]
    }
}

/// `count_cbo_female` → the cell it names.
fn count_field(name: &str) -> Option<(usize, usize)> {
    let rest = name.strip_prefix("count_")?;
    let (group, sex) = rest.rsplit_once('_')?;
    Some((
        GROUPS.iter().position(|known| *known == group)?,
        SEXES.iter().position(|known| *known == sex)?,
    ))
}

/// The name of a count field, for the template.
pub fn count_name(group: usize, sex: usize) -> String {
    format!("count_{}_{}", GROUPS[group], SEXES[sex])
}

/// What the form may refer to, loaded before parsing.
pub struct Choices {
    /// Districts the user may record in: (code, English, Khmer), by code.
    pub districts: Vec<(String, String, String)>,
    /// Communes of those districts: (code, district code, English, Khmer), by code.
    pub communes: Vec<(String, String, String, String)>,
    pub organizations: Vec<(i64, String)>,
    /// Studies: (id, title in English, in Khmer).
    pub studies: Vec<(i64, String, String)>,
    /// Case studies: (id, district code, title), by district. Only the
    /// form offers them: an import never links one.
    pub case_studies: Vec<(i64, String, String)>,
}

impl Choices {
    /// The district `code`, found by binary search: a preview names one on
    /// each of its rows.
    pub fn district(&self, code: &str) -> Option<&(String, String, String)> {
        crate::web::run_of(&self.districts, code, |(code, ..)| code).first()
    }

    /// The commune `code`, found by binary search.
    pub fn commune(&self, code: &str) -> Option<&(String, String, String, String)> {
        crate::web::run_of(&self.communes, code, |(code, ..)| code).first()
    }
}

impl Choices {
    /// The case studies of `district` (the list is sorted by district).
    pub fn case_studies_in(&self, district: &str) -> &[(i64, String, String)] {
        crate::web::run_of(&self.case_studies, district, |(_, code, _)| code)
    }
}

/// An activity that passed every check.
#[derive(Debug, Clone)]
pub struct ValidActivity {
    pub kind: String,
    pub held_on: Date,
    pub district_code: String,
    pub commune_code: Option<String>,
    pub place: String,
    pub facilitating_organization_id: i64,
    pub study_id: Option<i64>,
    pub case_study_id: Option<i64>,
    pub summary: String,
    pub youth: i32,
    pub persons_with_disabilities: i32,
    pub counts: Counts,
}

impl ValidActivity {
    /// The fields as a revision keeps them.
    pub fn snapshot(&self) -> Snapshot {
        let mut snapshot = Snapshot::new();
        let mut put = |field: &str, value: String| {
            snapshot.insert(field.to_owned(), value);
        };
        put("kind", self.kind.clone());
        put("held_on", self.held_on.to_string());
        put("district_code", self.district_code.clone());
        put(
            "commune_code",
            self.commune_code.clone().unwrap_or_default(),
        );
        put("place", self.place.clone());
        put(
            "facilitating_organization_id",
            self.facilitating_organization_id.to_string(),
        );
        put(
            "study_id",
            self.study_id.map(|id| id.to_string()).unwrap_or_default(),
        );
        put(
            "case_study_id",
            self.case_study_id
                .map(|id| id.to_string())
                .unwrap_or_default(),
        );
        put("summary", self.summary.clone());
        put("youth", self.youth.to_string());
        put(
            "persons_with_disabilities",
            self.persons_with_disabilities.to_string(),
        );
        for (g, group) in GROUPS.iter().enumerate() {
            for (s, sex) in SEXES.iter().enumerate() {
                put(
                    &format!("count_{group}_{sex}"),
                    self.counts.0[g][s].to_string(),
                );
            }
        }
        snapshot
    }
}

impl ActivityForm {
    /// Checks every field; `today` bounds the date, so tests can fix it.
    pub fn parse(&self, choices: &Choices, today: Date) -> Result<ValidActivity, FieldErrors> {
        let mut errors = FieldErrors::default();
        if !KINDS.contains(&self.kind.as_str()) {
            errors.add("kind", "error-choose");
        }
        let held_on = forms::date(&mut errors, "held_on", &self.held_on);
        if let Some(date) = held_on
            && (date < EARLIEST || date > today + Duration::days(366))
        {
            errors.add("held_on", "activity-date-out-of-range");
        }
        if !choices
            .districts
            .iter()
            .any(|(code, _, _)| *code == self.district_code)
        {
            errors.add("district_code", "activity-district-not-yours");
        }
        let commune_code =
            Some(self.commune_code.trim().to_owned()).filter(|code| !code.is_empty());
        if let Some(commune) = &commune_code
            && !choices
                .communes
                .iter()
                .any(|(code, district, _, _)| code == commune && *district == self.district_code)
        {
            errors.add("commune_code", "activity-commune-outside-district");
        }
        let place = forms::optional_text(&mut errors, "place", &self.place, 200);
        let summary = forms::optional_text(&mut errors, "summary", &self.summary, 10_000);
        let organization = self
            .facilitating_organization_id
            .parse::<i64>()
            .ok()
            .filter(|id| choices.organizations.iter().any(|(known, _)| known == id));
        if organization.is_none() {
            errors.add("facilitating_organization_id", "error-choose");
        }
        let study_id = optional_choice(&mut errors, "study_id", &self.study_id, |id| {
            choices.studies.iter().any(|(known, ..)| *known == id)
        });
        let case_study_id =
            optional_choice(&mut errors, "case_study_id", &self.case_study_id, |id| {
                choices
                    .case_studies
                    .iter()
                    .any(|(known, district, _)| *known == id && *district == self.district_code)
            });
        let mut counts = Counts::default();
        for g in 0..GROUPS.len() {
            for s in 0..SEXES.len() {
                counts.0[g][s] = count(&mut errors, "counts", &self.counts[g][s]);
            }
        }
        let youth = count(&mut errors, "youth", &self.youth);
        let persons_with_disabilities = count(
            &mut errors,
            "persons_with_disabilities",
            &self.persons_with_disabilities,
        );
        let total: i64 = counts
            .0
            .iter()
            .flatten()
            .map(|count| i64::from(*count))
            .sum();
        if i64::from(youth) > total {
            errors.add("youth", "activity-subgroup-over-total");
        }
        if i64::from(persons_with_disabilities) > total {
            errors.add("persons_with_disabilities", "activity-subgroup-over-total");
        }
        match (held_on, organization) {
            (Some(held_on), Some(facilitating_organization_id)) if errors.is_empty() => {
                Ok(ValidActivity {
                    kind: self.kind.clone(),
                    held_on,
                    district_code: self.district_code.clone(),
                    commune_code,
                    place,
                    facilitating_organization_id,
                    study_id,
                    case_study_id,
                    summary,
                    youth,
                    persons_with_disabilities,
                    counts,
                })
            }
            _ => Err(errors),
        }
    }
}

/// An optional reference: empty, or an id that `known` accepts.
fn optional_choice(
    errors: &mut FieldErrors,
    field: &'static str,
    value: &str,
    known: impl Fn(i64) -> bool,
) -> Option<i64> {
    let value = value.trim();
    if value.is_empty() {
        return None;
    }
    let id = value.parse::<i64>().ok().filter(|id| known(*id));
    if id.is_none() {
        errors.add(field, "error-choose");
    }
    id
}

/// A count: empty means 0; otherwise a whole number from 0 to `MAX_COUNT`.
fn count(errors: &mut FieldErrors, field: &'static str, value: &str) -> i32 {
    count_value(value).unwrap_or_else(|message_key| {
        errors.add(field, message_key);
        0
    })
}

/// A count as typed: empty is 0; otherwise a whole number from 0 to
/// `MAX_COUNT`, or the key of the message saying why not.
pub fn count_value(value: &str) -> Result<i32, &'static str> {
    let value = value.trim();
    if value.is_empty() {
        return Ok(0);
    }
    match value.parse::<i32>() {
        Ok(count) if (0..=MAX_COUNT).contains(&count) => Ok(count),
        Ok(_) => Err("activity-count-out-of-range"),
        Err(_) => Err("activity-count-not-a-number"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sent_form_is_read_by_its_field_names() {
        let body = "kind=fgd&count_cbo_female=3&count_other_male=12&csrf_token=t&once_key=k";
        let form: ActivityForm = serde_html_form::from_str(body).expect("a form");
        assert_eq!(form.kind, "fgd");
        assert_eq!(form.count(1, 0), "3");
        assert_eq!(form.count(5, 1), "12");
        assert_eq!(form.count(0, 0), "");
        assert_eq!(form.once_key, "k");
    }

    fn choices() -> Choices {
        Choices {
            districts: vec![("0204".into(), "Bavel".into(), "បវេល".into())],
            communes: vec![
                (
                    "020401".into(),
                    "0204".into(),
                    "Bavel".into(),
                    String::new(),
                ),
                (
                    "020101".into(),
                    "0201".into(),
                    "Kantueu Muoy".into(),
                    String::new(),
                ),
            ],
            organizations: vec![(7, "CTOD".into())],
            studies: vec![(1, "Study".into(), String::new())],
            case_studies: vec![(3, "0203".into(), "Battambang case".into())],
        }
    }

    fn valid_form() -> ActivityForm {
        let mut form = ActivityForm {
            kind: "fgd".into(),
            held_on: "2021-11-10".into(),
            district_code: "0204".into(),
            facilitating_organization_id: "7".into(),
            youth: "3".into(),
            ..ActivityForm::default()
        };
        form.counts[0] = ["12".into(), "8".into()];
        form
    }

    const TODAY: Date = time::macros::date!(2026 - 11 - 26);

    /// A change that makes a good form bad.
    type Spoil = fn(&mut ActivityForm);

    #[test]
    fn a_good_form_parses_into_counts() {
        let activity = valid_form().parse(&choices(), TODAY).expect("valid");
        assert_eq!(activity.counts.get(0, 0), 12);
        assert_eq!(activity.counts.get(0, 1), 8);
        assert_eq!(activity.counts.cells().2, vec![12, 8]);
    }

    #[test]
    fn bad_values_name_their_fields() {
        let cases: Vec<(Spoil, &str, &str)> = vec![
            (
                |f| f.counts[1][0] = "-1".into(),
                "counts",
                "activity-count-out-of-range",
            ),
            (
                |f| f.counts[1][0] = "many".into(),
                "counts",
                "activity-count-not-a-number",
            ),
            (
                |f| f.counts[1][0] = "100001".into(),
                "counts",
                "activity-count-out-of-range",
            ),
            (
                |f| f.held_on = "1999-12-31".into(),
                "held_on",
                "activity-date-out-of-range",
            ),
            (
                |f| f.held_on = "2030-01-01".into(),
                "held_on",
                "activity-date-out-of-range",
            ),
            (|f| f.held_on = "10/11/2021".into(), "held_on", "error-date"),
            (
                |f| f.district_code = "0203".into(),
                "district_code",
                "activity-district-not-yours",
            ),
            (
                |f| f.commune_code = "020101".into(),
                "commune_code",
                "activity-commune-outside-district",
            ),
            (|f| f.kind = "party".into(), "kind", "error-choose"),
            (
                |f| f.case_study_id = "3".into(),
                "case_study_id",
                "error-choose",
            ),
            (
                |f| f.youth = "21".into(),
                "youth",
                "activity-subgroup-over-total",
            ),
            (|f| f.place = "x".repeat(201), "place", "error-too-long"),
        ];
        for (spoil, field, key) in cases {
            let mut form = valid_form();
            spoil(&mut form);
            let errors = form.parse(&choices(), TODAY).expect_err(key);
            assert_eq!(errors.get(field), Some(key), "{field}");
        }
    }
}
