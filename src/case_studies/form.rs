//! The case study form: bilingual title, six Markdown sections, the mechanisms
//! assessed, and the activities it draws on.

use std::collections::HashMap;

use serde::Deserialize;

use crate::revisions::Snapshot;
use crate::web::forms::{self, FieldErrors};

pub const SECTIONS: [&str; 6] = [
    "summary",
    "context",
    "findings",
    "good_practices",
    "challenges",
    "conclusion",
];
pub const MECHANISMS: [&str; 7] = [
    "council_public_forum",
    "information_boards",
    "planning_budgeting_consultation",
    "social_accountability",
    "complaint_handling",
    "women_children_committee",
    "open_council_meetings",
];
const MAX_SECTION: usize = 50_000;

/// One mechanism's assessment as typed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Assessment {
    pub exists: bool,
    pub functions: bool,
    pub aware: bool,
    pub comment: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct CaseStudyForm {
    pub study_id: String,
    pub district_code: String,
    pub author_organization_id: String,
    pub title_en: String,
    pub title_km: String,
    /// The sections (by name) and the mechanisms (`mech_{mechanism}_{part}`).
    #[serde(flatten)]
    pub text: Sections,
    #[serde(deserialize_with = "forms::one_or_many")]
    pub activities: Vec<String>,
    pub version: String,
    /// The one-time key that makes a second send of the form save nothing.
    pub once_key: String,
}

/// The sections and the mechanisms' assessments as typed, read from the
/// fields the form's other fields leave, by their names.
#[derive(Debug, Clone, Default)]
pub struct Sections {
    /// In `SECTIONS` order.
    pub sections: [String; 6],
    /// In `MECHANISMS` order.
    pub mechanisms: [Assessment; 7],
}

impl<'de> Deserialize<'de> for Sections {
    fn deserialize<D: serde::Deserializer<'de>>(fields: D) -> Result<Self, D::Error> {
        let named: HashMap<String, forms::Sent> = HashMap::deserialize(fields)?;
        let mut text = Sections::default();
        for (name, value) in named {
            text.set(&name, value.first());
        }
        Ok(text)
    }
}

impl Sections {
    fn set(&mut self, name: &str, value: String) {
        if let Some(index) = SECTIONS.iter().position(|section| *section == name) {
            self.sections[index] = value;
            return;
        }
        let Some(rest) = name.strip_prefix("mech_") else {
            return;
        };
        let Some((mechanism, part)) = rest.rsplit_once('_') else {
            return;
        };
        let Some(index) = MECHANISMS.iter().position(|known| *known == mechanism) else {
            return;
        };
        let assessment = &mut self.mechanisms[index];
        match part {
            "exists" => assessment.exists = value == "on",
            "functions" => assessment.functions = value == "on",
            "aware" => assessment.aware = value == "on",
            "comment" => assessment.comment = value,
            _ => {}
        }
    }
}

impl CaseStudyForm {
    pub fn links(&self, activity_id: &i64) -> bool {
        self.activities
            .iter()
            .any(|id| *id == activity_id.to_string())
    }

    pub fn section(&self, index: &usize) -> &str {
        &self.text.sections[*index]
    }

    pub fn mechanism(&self, index: &usize) -> &Assessment {
        &self.text.mechanisms[*index]
    }

    pub fn parse(&self, choices: &Choices) -> Result<ValidCaseStudy, FieldErrors> {
        let mut errors = FieldErrors::default();
        let study_id = self
            .study_id
            .parse::<i64>()
            .ok()
            .filter(|id| choices.studies.iter().any(|(known, ..)| known == id));
        if study_id.is_none() {
            errors.add("study_id", "error-choose");
        }
        if !choices
            .districts
            .iter()
            .any(|(code, _, _)| *code == self.district_code)
        {
            errors.add("district_code", "activity-district-not-yours");
        }
        let author = self
            .author_organization_id
            .parse::<i64>()
            .ok()
            .filter(|id| choices.organizations.iter().any(|(known, _)| known == id));
        if author.is_none() {
            errors.add("author_organization_id", "error-choose");
        }
        let title_en = forms::optional_text(&mut errors, "title_en", &self.title_en, 300);
        let title_km = forms::optional_text(&mut errors, "title_km", &self.title_km, 300);
        if title_en.is_empty() && title_km.is_empty() {
            errors.add("title_en", "case-study-title-required");
        }
        let mut sections: [String; 6] = Default::default();
        for (index, section) in SECTIONS.iter().enumerate() {
            let text = self.text.sections[index].trim();
            if text.chars().count() > MAX_SECTION {
                errors.add(section, "error-too-long");
            }
            sections[index] = text.to_owned();
        }
        let mut mechanisms = self.text.mechanisms.clone();
        for (index, mechanism) in mechanisms.iter_mut().enumerate() {
            mechanism.comment =
                forms::optional_text(&mut errors, MECHANISMS[index], &mechanism.comment, 1_000);
        }
        let mut activities = Vec::new();
        for activity in &self.activities {
            let known = activity.parse::<i64>().ok().filter(|id| {
                choices
                    .activities
                    .iter()
                    .any(|option| option.id == *id && option.district_code == self.district_code)
            });
            match known {
                Some(id) => activities.push(id),
                None => errors.add("activities", "case-study-activity-elsewhere"),
            }
        }
        match (study_id, author) {
            (Some(study_id), Some(author_organization_id)) if errors.is_empty() => {
                Ok(ValidCaseStudy {
                    study_id,
                    district_code: self.district_code.clone(),
                    author_organization_id,
                    title_en,
                    title_km,
                    sections,
                    mechanisms,
                    activities,
                })
            }
            _ => Err(errors),
        }
    }
}

/// An activity the case study may draw on.
pub struct ActivityOption {
    pub id: i64,
    pub district_code: String,
    pub held_on: String,
    pub kind: String,
    pub place: String,
}

pub struct Choices {
    /// (id, title in English, in Khmer).
    pub studies: Vec<(i64, String, String)>,
    pub districts: Vec<(String, String, String)>,
    pub organizations: Vec<(i64, String)>,
    pub activities: Vec<ActivityOption>,
}

#[derive(Debug, Clone)]
pub struct ValidCaseStudy {
    pub study_id: i64,
    pub district_code: String,
    pub author_organization_id: i64,
    pub title_en: String,
    pub title_km: String,
    pub sections: [String; 6],
    pub mechanisms: [Assessment; 7],
    pub activities: Vec<i64>,
}

impl ValidCaseStudy {
    pub fn snapshot(&self) -> Snapshot {
        let mut snapshot = Snapshot::new();
        snapshot.insert("study_id".into(), self.study_id.to_string());
        snapshot.insert("district_code".into(), self.district_code.clone());
        snapshot.insert(
            "author_organization_id".into(),
            self.author_organization_id.to_string(),
        );
        snapshot.insert("title_en".into(), self.title_en.clone());
        snapshot.insert("title_km".into(), self.title_km.clone());
        for (index, section) in SECTIONS.iter().enumerate() {
            snapshot.insert(section.to_string(), self.sections[index].clone());
        }
        for (index, mechanism) in MECHANISMS.iter().enumerate() {
            let m = &self.mechanisms[index];
            let yes_no = |value: bool| if value { "yes" } else { "no" };
            snapshot.insert(
                format!("mechanism_{mechanism}"),
                format!(
                    "exists {} · functions {} · aware {} · {}",
                    yes_no(m.exists),
                    yes_no(m.functions),
                    yes_no(m.aware),
                    m.comment
                ),
            );
        }
        let mut activities = self.activities.clone();
        activities.sort();
        snapshot.insert(
            "activities".into(),
            activities
                .iter()
                .map(i64::to_string)
                .collect::<Vec<_>>()
                .join(", "),
        );
        snapshot
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticked_activities_sections_and_mechanisms_are_read_by_name() {
        let read =
            |body: &str| -> CaseStudyForm { serde_html_form::from_str(body).expect("a form") };
        let one = read("title_en=Bavel&activities=3&summary=S&mech_information_boards_exists=on");
        assert_eq!(one.activities, ["3"]);
        assert_eq!(one.text.sections[0], "S");
        assert!(one.text.mechanisms[1].exists && !one.text.mechanisms[1].aware);
        let two = read(
            "activities=3&activities=4&mech_complaint_handling_comment=slow&csrf_token=a&csrf_token=a",
        );
        assert_eq!(two.activities, ["3", "4"]);
        assert_eq!(two.text.mechanisms[4].comment, "slow");
        assert!(read("").activities.is_empty());
    }
}
