//! What the forms of the wider work (projects, agreements, events) offer:
//! organizations, provinces, districts and projects, each in both languages,
//! and the checks that what was sent is among them.

use std::sync::Arc;

use sqlx::PgPool;

use crate::auth::policy;
use crate::auth::session::CurrentUser;
use crate::db::cache::GenerationCache;
use crate::error::AppError;
use crate::state::AppState;
use crate::web::forms::FieldErrors;

/// A choice with its name in English and Khmer.
pub struct Choice<K> {
    pub key: K,
    pub en: String,
    pub km: String,
}

/// A district, with the province it lies in (the form groups them).
pub struct DistrictChoice {
    pub code: String,
    pub province_code: String,
    pub en: String,
    pub km: String,
}

pub async fn organizations(pool: &PgPool) -> Result<Vec<Choice<i64>>, AppError> {
    Ok(sqlx::query!(
        r#"select id, case when acronym = '' then name_en else name_en || ' (' || acronym || ')' end as "en!",
                  name_km from organizations order by lower(name_en)"#
    )
    .fetch_all(pool)
    .await?
    .into_iter()
    .map(|row| Choice {
        key: row.id,
        en: row.en,
        km: row.name_km,
    })
    .collect())
}

pub async fn provinces(pool: &PgPool) -> Result<Vec<Choice<String>>, AppError> {
    Ok(
        sqlx::query!("select code, name_en, name_km from provinces order by code")
            .fetch_all(pool)
            .await?
            .into_iter()
            .map(|row| Choice {
                key: row.code,
                en: row.name_en,
                km: row.name_km,
            })
            .collect(),
    )
}

pub async fn districts(pool: &PgPool) -> Result<Vec<DistrictChoice>, AppError> {
    Ok(sqlx::query_as!(
        DistrictChoice,
        "select code, province_code, name_en as en, name_km as km from districts order by code"
    )
    .fetch_all(pool)
    .await?)
}

/// Every project, newest first: the secretariat links records to any of them.
pub async fn projects(pool: &PgPool) -> Result<Vec<Choice<i64>>, AppError> {
    Ok(
        sqlx::query!(
            "select id, title_en, title_km from projects order by starts_on desc, id desc"
        )
        .fetch_all(pool)
        .await?
        .into_iter()
        .map(|row| Choice {
            key: row.id,
            en: row.title_en,
            km: row.title_km,
        })
        .collect(),
    )
}

/// The projects `user` may read (`Action::ReadProgramme`), newest first: the
/// filters of the events and the dashboard offer these, and only these.
pub async fn readable_projects(
    pool: &PgPool,
    user: &CurrentUser,
) -> Result<Vec<Choice<i64>>, AppError> {
    Ok(sqlx::query!(
        "select id, title_en, title_km from projects
         where $1 or published or takes_part_in_project(id, $2)
         order by starts_on desc, id desc",
        policy::reads_every_programme(user),
        user.organization_id,
    )
    .fetch_all(pool)
    .await?
    .into_iter()
    .map(|row| Choice {
        key: row.id,
        en: row.title_en,
        km: row.title_km,
    })
    .collect())
}

/// What `readable_projects` gives, kept until the data changes by what
/// decides it: whether the reader reads every programme, and their organization.
type ReadableCache = GenerationCache<(bool, i64), Vec<Choice<i64>>>;

/// `readable_projects`, kept: the dashboard offers them on every view.
pub async fn kept_readable_projects(
    state: &AppState,
    user: &CurrentUser,
) -> Result<Arc<Vec<Choice<i64>>>, AppError> {
    let key = (policy::reads_every_programme(user), user.organization_id);
    state
        .kept("readable_projects", ReadableCache::new)
        .get(key, async || readable_projects(&state.pool, user).await)
        .await
}

/// The ids sent under `field` (ticked boxes), each one of `choices`.
pub fn ids(
    errors: &mut FieldErrors,
    field: &'static str,
    sent: &[String],
    choices: &[Choice<i64>],
) -> Vec<i64> {
    let mut chosen = Vec::new();
    for value in sent.iter().filter(|value| !value.trim().is_empty()) {
        match value
            .trim()
            .parse::<i64>()
            .ok()
            .filter(|id| choices.iter().any(|choice| choice.key == *id))
        {
            Some(id) if !chosen.contains(&id) => chosen.push(id),
            Some(_) => {}
            None => errors.add(field, "error-choose"),
        }
    }
    chosen
}

/// One id sent under `field`, among `choices`; none when left empty.
pub fn optional_id(
    errors: &mut FieldErrors,
    field: &'static str,
    sent: &str,
    choices: &[Choice<i64>],
) -> Option<i64> {
    if sent.trim().is_empty() {
        return None;
    }
    let chosen = ids(errors, field, &[sent.to_owned()], choices);
    chosen.first().copied()
}

/// The codes sent under `field`, each one of `known`.
pub fn codes<'a>(
    errors: &mut FieldErrors,
    field: &'static str,
    sent: &[String],
    known: impl Iterator<Item = &'a str> + Clone,
) -> Vec<String> {
    let mut chosen: Vec<String> = Vec::new();
    for value in sent.iter().map(|value| value.trim()) {
        if value.is_empty() || chosen.iter().any(|code| code == value) {
            continue;
        }
        if known.clone().any(|code| code == value) {
            chosen.push(value.to_owned());
        } else {
            errors.add(field, "error-choose");
        }
    }
    chosen
}

/// Is `value` among `sent` (a box to draw ticked)?
pub fn ticked(sent: &[String], value: impl ToString) -> bool {
    let value = value.to_string();
    sent.contains(&value)
}
