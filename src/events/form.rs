//! Recording and editing an event (the secretariat): its level and place, as
//! precise as the level and no more; its dates; its organizer, partners,
//! project or agreement; and its participants, a grid of kinds of
//! organization × sex whose totals the database derives.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::Response;
use serde::Deserialize;
use sqlx::PgPool;
use time::Date;

use super::{KINDS, LEVELS, ORGANIZATION_KINDS, SEXES};
use crate::activities::form::MAX_COUNT;
use crate::auth::policy::{Action, Scope};
use crate::auth::require;
use crate::auth::session::CurrentUser;
use crate::error::{Answer, AppError};
use crate::projects::choices::{self, Choice, DistrictChoice};
use crate::web::Ctx;
use crate::web::forms::{self, FieldErrors};
use crate::web::versioned::{Field, VersionedForm};

mod save;
pub(super) use save::{create, update};

/// The longest event the form takes: a series of days, not a programme.
const LONGEST_DAYS: i64 = 60;
const CELLS: usize = ORGANIZATION_KINDS.len() * SEXES.len();

/// The form as sent. `counts` are the grid's cells in `ORGANIZATION_KINDS` ×
/// `SEXES` order, as the form lays them out.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct EventForm {
    kind: String,
    level: String,
    title_en: String,
    title_km: String,
    starts_on: String,
    ends_on: String,
    province_code: String,
    district_code: String,
    commune_code: String,
    venue: String,
    summary_en: String,
    summary_km: String,
    organizer: String,
    partners: Vec<String>,
    project: String,
    agreement: String,
    counts: Vec<String>,
    version: String,
    once_key: String,
}

struct ValidEvent {
    kind: String,
    level: String,
    title_en: String,
    title_km: String,
    starts_on: Date,
    ends_on: Date,
    province_code: Option<String>,
    district_code: Option<String>,
    commune_code: Option<String>,
    venue: String,
    summary_en: String,
    summary_km: String,
    organizer: i64,
    partners: Vec<i64>,
    project: Option<i64>,
    agreement: Option<i64>,
    /// (kind, sex, count) of every cell above zero.
    counts: (Vec<String>, Vec<String>, Vec<i32>),
}

pub struct Choices {
    pub organizations: Vec<Choice<i64>>,
    pub provinces: Vec<Choice<String>>,
    pub districts: Vec<DistrictChoice>,
    pub projects: Vec<Choice<i64>>,
    pub agreements: Vec<Choice<i64>>,
    /// The communes of the district chosen, when one is.
    pub communes: Vec<Choice<String>>,
}

async fn choices(pool: &PgPool, district: &str) -> Result<Choices, AppError> {
    let communes = sqlx::query!(
        "select code, name_en, name_km from communes where district_code = $1 order by code",
        district.trim()
    )
    .fetch_all(pool)
    .await?
    .into_iter()
    .map(|row| Choice {
        key: row.code,
        en: row.name_en,
        km: row.name_km,
    })
    .collect();
    let agreements = sqlx::query!(
        "select id, title_en, title_km from agreements order by signed_on desc nulls first, id desc"
    )
    .fetch_all(pool)
    .await?
    .into_iter()
    .map(|row| Choice {
        key: row.id,
        en: row.title_en,
        km: row.title_km,
    })
    .collect();
    Ok(Choices {
        organizations: choices::organizations(pool).await?,
        provinces: choices::provinces(pool).await?,
        districts: choices::districts(pool).await?,
        projects: choices::projects(pool).await?,
        agreements,
        communes,
    })
}

impl VersionedForm for EventForm {
    fn labelled(&self, ctx: &Ctx) -> Vec<Field> {
        let mut partners = self.partners.clone();
        partners.sort();
        [
            ("field-kind", self.kind.clone()),
            ("event-level", self.level.clone()),
            ("field-title-en", self.title_en.trim().to_owned()),
            ("field-title-km", self.title_km.trim().to_owned()),
            ("event-starts-on", self.starts_on.clone()),
            ("event-ends-on", self.ends_on.clone()),
            ("field-province", self.province_code.clone()),
            ("field-district", self.district_code.clone()),
            ("field-commune", self.commune_code.clone()),
            ("event-venue", self.venue.trim().to_owned()),
            ("event-summary-en", self.summary_en.trim().to_owned()),
            ("event-summary-km", self.summary_km.trim().to_owned()),
            ("event-organizer", self.organizer.clone()),
            ("event-partners", partners.join(", ")),
            ("field-project", self.project.clone()),
            ("field-agreement", self.agreement.clone()),
            ("counts-everyone", self.typed_total(None).to_string()),
        ]
        .map(|(key, value)| (ctx.t(key), value))
        .to_vec()
    }

    fn at_version_of(self, stored: &Self) -> Self {
        EventForm {
            version: stored.version.clone(),
            ..self
        }
    }
}

impl EventForm {
    pub fn ticked(&self, value: impl ToString) -> bool {
        choices::ticked(&self.partners, value)
    }

    /// The cell of the grid as typed.
    pub fn count(&self, kind: usize, sex: usize) -> &str {
        self.counts
            .get(kind * SEXES.len() + sex)
            .map_or("", String::as_str)
    }

    /// The sum of the cells as typed, of one sex or (`None`) of both: what the
    /// running total starts at.
    pub fn typed_total(&self, sex: Option<usize>) -> i64 {
        self.counts
            .iter()
            .enumerate()
            .filter(|(cell, _)| sex.is_none_or(|sex| cell % SEXES.len() == sex))
            .filter_map(|(_, value)| value.trim().parse::<i64>().ok())
            .sum()
    }

    fn parse(&self, choices: &Choices) -> Result<ValidEvent, FieldErrors> {
        let mut errors = FieldErrors::default();
        if !KINDS.contains(&self.kind.as_str()) {
            errors.add("kind", "error-choose");
        }
        if !LEVELS.contains(&self.level.as_str()) {
            errors.add("level", "error-choose");
        }
        let title_en = forms::required_text(&mut errors, "title_en", &self.title_en, 300);
        let title_km = forms::optional_text(&mut errors, "title_km", &self.title_km, 300);
        let starts_on = forms::date(&mut errors, "starts_on", &self.starts_on);
        let ends_on = match self.ends_on.trim() {
            "" => starts_on,
            text => forms::date(&mut errors, "ends_on", text),
        };
        if let (Some(start), Some(end)) = (starts_on, ends_on) {
            if end < start {
                errors.add("ends_on", "error-end-before-start");
            } else if (end - start).whole_days() > LONGEST_DAYS {
                errors.add("ends_on", "event-too-long");
            }
        }
        let (province_code, district_code, commune_code) = self.place(&mut errors, choices);
        let venue = forms::optional_text(&mut errors, "venue", &self.venue, 300);
        let summary_en = forms::optional_text(&mut errors, "summary_en", &self.summary_en, 5000);
        let summary_km = forms::optional_text(&mut errors, "summary_km", &self.summary_km, 5000);
        let organizer = choices::optional_id(
            &mut errors,
            "organizer",
            &self.organizer,
            &choices.organizations,
        );
        if organizer.is_none() && errors.get("organizer").is_none() {
            errors.add("organizer", "error-required");
        }
        let partners = choices::ids(
            &mut errors,
            "partners",
            &self.partners,
            &choices.organizations,
        );
        let project =
            choices::optional_id(&mut errors, "project", &self.project, &choices.projects);
        let agreement = choices::optional_id(
            &mut errors,
            "agreement",
            &self.agreement,
            &choices.agreements,
        );
        let counts = self.cells(&mut errors);
        match (starts_on, ends_on, organizer) {
            (Some(starts_on), Some(ends_on), Some(organizer)) if errors.is_empty() => {
                Ok(ValidEvent {
                    kind: self.kind.clone(),
                    level: self.level.clone(),
                    title_en,
                    title_km,
                    starts_on,
                    ends_on,
                    province_code,
                    district_code,
                    commune_code,
                    venue,
                    summary_en,
                    summary_km,
                    organizer,
                    partners,
                    project,
                    agreement,
                    counts,
                })
            }
            _ => Err(errors),
        }
    }

    /// The place, as precise as the level: a national event has none; a
    /// provincial one a province; a district one its district (whose
    /// province it is in); a commune one its commune too. What is more
    /// precise than the level is left out.
    fn place(
        &self,
        errors: &mut FieldErrors,
        choices: &Choices,
    ) -> (Option<String>, Option<String>, Option<String>) {
        let depth = LEVELS.iter().position(|level| *level == self.level);
        let Some(depth) = depth else {
            return (None, None, None);
        };
        let mut province = None;
        let mut district = None;
        let mut commune = None;
        if depth >= 2 {
            match choices
                .districts
                .iter()
                .find(|choice| choice.code == self.district_code.trim())
            {
                Some(choice) => {
                    province = Some(choice.province_code.clone());
                    district = Some(choice.code.clone());
                }
                None => errors.add("district_code", "event-district-needed"),
            }
        } else if depth == 1 {
            let code = self.province_code.trim();
            if choices.provinces.iter().any(|choice| choice.key == code) {
                province = Some(code.to_owned());
            } else {
                errors.add("province_code", "event-province-needed");
            }
        }
        if depth == 3 {
            let code = self.commune_code.trim();
            // `communes` are those of the district chosen.
            if district.is_some() && choices.communes.iter().any(|choice| choice.key == code) {
                commune = Some(code.to_owned());
            } else {
                errors.add("commune_code", "event-commune-needed");
            }
        }
        (province, district, commune)
    }

    fn cells(&self, errors: &mut FieldErrors) -> (Vec<String>, Vec<String>, Vec<i32>) {
        let mut cells = (Vec::new(), Vec::new(), Vec::new());
        if self.counts.len() > CELLS {
            errors.add("counts", "error-count");
            return cells;
        }
        for (index, value) in self.counts.iter().enumerate() {
            let count = match value.trim() {
                "" => 0,
                text => match text.parse::<i32>() {
                    Ok(count) if (0..=MAX_COUNT).contains(&count) => count,
                    _ => {
                        errors.add("counts", "error-count");
                        continue;
                    }
                },
            };
            if count > 0 {
                cells
                    .0
                    .push(ORGANIZATION_KINDS[index / SEXES.len()].to_owned());
                cells.1.push(SEXES[index % SEXES.len()].to_owned());
                cells.2.push(count);
            }
        }
        cells
    }
}

#[derive(Template)]
#[template(path = "events/form.html")]
struct FormPage {
    ctx: Ctx,
    event_id: Option<i64>,
    form: EventForm,
    errors: FieldErrors,
    choices: Choices,
    theirs: Option<Vec<Field>>,
}

impl FormPage {
    fn grid(&self) -> impl Iterator<Item = (usize, &'static str)> {
        ORGANIZATION_KINDS.iter().copied().enumerate()
    }
}

pub(super) async fn new_form(
    ctx: Ctx,
    user: CurrentUser,
    State(pool): State<PgPool>,
) -> Result<Response, AppError> {
    require(&user, Action::ManageProgrammes, Scope::Anything)?;
    let page = FormPage {
        ctx,
        event_id: None,
        form: EventForm {
            kind: "workshop".into(),
            level: "provincial".into(),
            organizer: user.organization_id.to_string(),
            ..EventForm::default()
        },
        errors: FieldErrors::default(),
        choices: choices(&pool, "").await?,
        theirs: None,
    };
    page.answer()
}

async fn stored_form(pool: &PgPool, id: i64) -> Result<EventForm, AppError> {
    let row = sqlx::query!(
        r#"select kind, level, title_en, title_km, starts_on, ends_on, province_code, district_code,
                  commune_code, venue, summary_en, summary_km, organizer_id, project_id, agreement_id,
                  version,
                  array(select organization_id::text from event_partners where event_id = e.id) as "partners!",
                  array(select coalesce(n.count, 0)::text
                        from unnest($2::text[]) with ordinality k(kind, i)
                        cross join unnest($3::text[]) with ordinality s(sex, j)
                        left join event_participants n on n.event_id = e.id and n.organization_kind = k.kind and n.sex = s.sex
                        order by k.i, s.j) as "counts!"
           from events e where id = $1"#,
        id,
        &ORGANIZATION_KINDS.map(String::from)[..],
        &SEXES.map(String::from)[..],
    )
    .fetch_optional(pool)
    .await?
    .ok_or(AppError::NotFound)?;
    let id_text = |id: Option<i64>| id.map(|id| id.to_string()).unwrap_or_default();
    Ok(EventForm {
        kind: row.kind,
        level: row.level,
        title_en: row.title_en,
        title_km: row.title_km,
        starts_on: row.starts_on.to_string(),
        ends_on: row.ends_on.to_string(),
        province_code: row.province_code.unwrap_or_default(),
        district_code: row.district_code.unwrap_or_default(),
        commune_code: row.commune_code.unwrap_or_default(),
        venue: row.venue,
        summary_en: row.summary_en,
        summary_km: row.summary_km,
        organizer: row.organizer_id.to_string(),
        partners: row.partners,
        project: id_text(row.project_id),
        agreement: id_text(row.agreement_id),
        counts: row.counts,
        version: row.version.to_string(),
        once_key: String::new(),
    })
}

pub(super) async fn edit_form(
    ctx: Ctx,
    user: CurrentUser,
    State(pool): State<PgPool>,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    require(&user, Action::ManageProgrammes, Scope::Anything)?;
    let form = stored_form(&pool, id).await?;
    let choices = choices(&pool, &form.district_code).await?;
    let page = FormPage {
        ctx,
        event_id: Some(id),
        form,
        errors: FieldErrors::default(),
        choices,
        theirs: None,
    };
    page.answer()
}
