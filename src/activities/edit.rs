//! The form that records or edits an activity, with its conflict handling.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use sqlx::PgPool;

use super::form::{self, ActivityForm, Choices, Counts, GROUPS, KINDS, SEXES, ValidActivity};
use crate::audit::{self, Event};
use crate::auth::policy::{self, Action, Scope};
use crate::auth::require;
use crate::auth::session::CurrentUser;
use crate::error::{Answer, AppError};
use crate::revisions;
use crate::web::forms::{FieldErrors, Form};
use crate::web::versioned::{Field, Version};
use crate::web::{Actor, Ctx, flash, once};

#[derive(Template)]
#[template(path = "activities/form.html")]
struct FormPage {
    ctx: Ctx,
    activity_id: Option<i64>,
    form: ActivityForm,
    errors: FieldErrors,
    choices: Choices,
    kinds: [&'static str; 9],
    groups: [&'static str; 6],
    /// On a conflict: the fields someone else saved meanwhile, as stored now.
    /// After a stale save: what someone else saved meanwhile.
    theirs: Option<Vec<Field>>,
}

impl FormPage {
    fn count_name(&self, group: usize, sex: usize) -> String {
        form::count_name(group, sex)
    }
}

/// What the user may pick on the form: what an import's rows may name, and
/// the case studies an activity may count toward.
async fn form_choices(pool: &PgPool, user: &CurrentUser) -> Result<Choices, AppError> {
    let mut choices = choices(pool, user).await?;
    choices.case_studies = sqlx::query!(
        r#"select c.id, c.district_code, coalesce(nullif(c.title_en, ''), c.title_km) as "title!"
           from case_studies c where $1 or c.district_code = any($2)
           order by c.district_code, 3"#,
        policy::writes_everywhere(user),
        &user.districts
    )
    .fetch_all(pool)
    .await?
    .into_iter()
    .map(|row| (row.id, row.district_code, row.title))
    .collect();
    Ok(choices)
}

/// The places, organizations and studies an activity may name (an import's
/// rows, a KoboToolbox submission), without the case studies: those grow
/// with every cycle, and only the form offers them.
pub(crate) async fn choices(pool: &PgPool, user: &CurrentUser) -> Result<Choices, AppError> {
    let everywhere = policy::writes_everywhere(user);
    // Staff may record anywhere; their commune list is that of the provinces
    // where studies run, to keep the page small.
    let places = sqlx::query!(
        r#"select 'district' as "level!", d.code as "code!", '' as "parent!", d.name_en as "name_en!", d.name_km as "name_km!"
           from districts d where $1 or d.code = any($2)
           union all
           select 'commune', m.code, m.district_code, m.name_en, m.name_km
           from communes m join districts d on d.code = m.district_code
           where ($1 and d.province_code in (select province_code from studies)) or m.district_code = any($2)
           order by 1, 2"#,
        everywhere,
        &user.districts
    )
    .fetch_all(pool)
    .await?;
    let references = sqlx::query!(
        r#"select 'organization' as "kind!", o.id as "id!", o.name_en as "label!", o.name_km as "label_km!"
           from organizations o where o.kind in ('member_ngo', 'secretariat')
           union all
           select 'study', s.id, s.title_en, s.title_km from studies s
           order by 1, 3"#
    )
    .fetch_all(pool)
    .await?;
    let mut choices = Choices {
        districts: Vec::new(),
        communes: Vec::new(),
        organizations: Vec::new(),
        studies: Vec::new(),
        case_studies: Vec::new(),
    };
    for place in places {
        match place.level.as_str() {
            "district" => choices
                .districts
                .push((place.code, place.name_en, place.name_km)),
            _ => choices
                .communes
                .push((place.code, place.parent, place.name_en, place.name_km)),
        }
    }
    for reference in references {
        match reference.kind.as_str() {
            "organization" => choices.organizations.push((reference.id, reference.label)),
            _ => choices
                .studies
                .push((reference.id, reference.label, reference.label_km)),
        }
    }
    Ok(choices)
}

pub async fn new_form(
    ctx: Ctx,
    user: CurrentUser,
    State(pool): State<PgPool>,
) -> Result<Response, AppError> {
    require(&user, Action::RecordActivity, Scope::Anything)?;
    let choices = form_choices(&pool, &user).await?;
    let form = ActivityForm {
        held_on: crate::format::today().to_string(),
        district_code: choices
            .districts
            .first()
            .map(|d| d.0.clone())
            .unwrap_or_default(),
        facilitating_organization_id: user.organization_id.to_string(),
        study_id: choices
            .studies
            .first()
            .map(|s| s.0.to_string())
            .unwrap_or_default(),
        ..ActivityForm::default()
    };
    FormPage {
        ctx,
        activity_id: None,
        form,
        errors: FieldErrors::default(),
        choices,
        kinds: KINDS,
        groups: GROUPS,
        theirs: None,
    }
    .answer()
}

pub async fn create(
    ctx: Ctx,
    Actor { user, session, ip }: Actor,
    State(pool): State<PgPool>,
    Form(form): Form<ActivityForm>,
) -> Result<Response, AppError> {
    require(&user, Action::RecordActivity, Scope::Anything)?;
    let once_key = once::key(&form.once_key);
    let choices = form_choices(&pool, &user).await?;
    let valid = match form.parse(&choices, crate::format::today()) {
        Ok(valid) => valid,
        Err(errors) => {
            let page = FormPage {
                ctx,
                activity_id: None,
                form,
                errors,
                choices,
                kinds: KINDS,
                groups: GROUPS,
                theirs: None,
            };
            return Err(AppError::invalid(&page));
        }
    };
    once::write_once(&pool, &session, (once_key, user.id), "saved", async |tx| {
        let id = insert(tx, &user, &valid, None, ip).await?;
        Ok(format!("/activities/{id}"))
    })
    .await
}

/// Saves a new activity with its counts, first revision and audit event;
/// `import_id` names the import that brings it in, if one does.
pub(crate) async fn insert(
    tx: &mut sqlx::PgConnection,
    user: &CurrentUser,
    valid: &ValidActivity,
    import_id: Option<i64>,
    ip: Option<String>,
) -> Result<i64, sqlx::Error> {
    let id = sqlx::query_scalar!(
        "insert into activities (kind, held_on, district_code, commune_code, place, facilitating_organization_id,
                                 study_id, case_study_id, summary, youth, persons_with_disabilities, created_by)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) returning id",
        valid.kind,
        valid.held_on,
        valid.district_code,
        valid.commune_code,
        valid.place,
        valid.facilitating_organization_id,
        valid.study_id,
        valid.case_study_id,
        valid.summary,
        valid.youth,
        valid.persons_with_disabilities,
        user.id,
    )
    .fetch_one(&mut *tx)
    .await?;
    save_counts(tx, id, &valid.counts).await?;
    let snapshot = valid.snapshot();
    revisions::record_from(tx, ("activity", id, 1), user.id, &snapshot, import_id).await?;
    let action = match import_id {
        Some(_) => "activity_imported",
        None => "activity_created",
    };
    audit::record(&mut *tx, activity_event(user, action, id, valid, ip)).await?;
    Ok(id)
}

fn activity_event(
    user: &CurrentUser,
    action: &'static str,
    id: i64,
    activity: &ValidActivity,
    ip: Option<String>,
) -> Event<'static> {
    Event {
        actor_id: Some(user.id),
        action,
        entity: "activity",
        entity_id: Some(id.to_string()),
        summary: format!(
            "{} {} {}",
            activity.kind, activity.district_code, activity.held_on
        ),
        ip,
    }
}

async fn save_counts(
    tx: &mut sqlx::PgConnection,
    activity_id: i64,
    counts: &Counts,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "delete from participant_counts where activity_id = $1",
        activity_id
    )
    .execute(&mut *tx)
    .await?;
    let (groups, sexes, numbers) = counts.cells();
    sqlx::query!(
        "insert into participant_counts (activity_id, participant_group, sex, count)
         select $1, * from unnest($2::text[], $3::text[], $4::int[])",
        activity_id,
        &groups,
        &sexes,
        &numbers,
    )
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// The activity as stored, in the shape of the form.
async fn stored_form(pool: &PgPool, id: i64) -> Result<(ActivityForm, String), AppError> {
    let row = sqlx::query!(
        r#"select kind, held_on, district_code, commune_code, place, facilitating_organization_id, study_id,
                  case_study_id, summary, youth, persons_with_disabilities, version,
                  array(select p.participant_group || ' ' || p.sex from participant_counts p
                        where p.activity_id = a.id order by 1) as "cells!",
                  array(select p.count from participant_counts p
                        where p.activity_id = a.id order by p.participant_group || ' ' || p.sex) as "counts!"
           from activities a where id = $1"#,
        id
    )
    .fetch_optional(pool)
    .await?
    .ok_or(AppError::NotFound)?;
    let mut form = ActivityForm {
        kind: row.kind,
        held_on: row.held_on.to_string(),
        district_code: row.district_code.clone(),
        commune_code: row.commune_code.unwrap_or_default(),
        place: row.place,
        facilitating_organization_id: row.facilitating_organization_id.to_string(),
        study_id: row.study_id.map(|id| id.to_string()).unwrap_or_default(),
        case_study_id: row
            .case_study_id
            .map(|id| id.to_string())
            .unwrap_or_default(),
        summary: row.summary,
        youth: row.youth.to_string(),
        persons_with_disabilities: row.persons_with_disabilities.to_string(),
        version: row.version.to_string(),
        ..ActivityForm::default()
    };
    for g in 0..GROUPS.len() {
        for s in 0..SEXES.len() {
            form.counts[g][s] = "0".into();
        }
    }
    for (cell, count) in row.cells.iter().zip(&row.counts) {
        let Some((group, sex)) = cell.split_once(' ') else {
            continue;
        };
        let row_index = GROUPS.iter().position(|known| *known == group);
        let column = SEXES.iter().position(|known| *known == sex);
        if let (Some(g), Some(s)) = (row_index, column) {
            form.counts[g][s] = count.to_string();
        }
    }
    Ok((form, row.district_code))
}

pub async fn edit_form(
    ctx: Ctx,
    user: CurrentUser,
    State(pool): State<PgPool>,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    let (form, district) = stored_form(&pool, id).await?;
    require(&user, Action::RecordActivity, Scope::District(&district))?;
    FormPage {
        ctx,
        activity_id: Some(id),
        form,
        errors: FieldErrors::default(),
        choices: form_choices(&pool, &user).await?,
        kinds: KINDS,
        groups: GROUPS,
        theirs: None,
    }
    .answer()
}

pub async fn update(
    ctx: Ctx,
    Actor { user, session, ip }: Actor,
    State(pool): State<PgPool>,
    Path(id): Path<i64>,
    Form(form): Form<ActivityForm>,
) -> Result<Response, AppError> {
    let (_, district) = stored_form(&pool, id).await?;
    require(&user, Action::RecordActivity, Scope::District(&district))?;
    let choices = form_choices(&pool, &user).await?;
    let lang = ctx.lang;
    let page = |form, errors, choices, theirs| FormPage {
        ctx,
        activity_id: Some(id),
        form,
        errors,
        choices,
        kinds: KINDS,
        groups: GROUPS,
        theirs,
    };
    let valid = match form.parse(&choices, crate::format::today()) {
        Ok(valid) => valid,
        Err(errors) => {
            return Err(AppError::invalid(&page(form, errors, choices, None)));
        }
    };
    let expected = Version::parse(&form.version)?;
    let mut tx = pool.begin().await?;
    let version = sqlx::query_scalar!(
        "update activities set kind = $1, held_on = $2, district_code = $3, commune_code = $4, place = $5,
                facilitating_organization_id = $6, study_id = $7, case_study_id = $8, summary = $9, youth = $10,
                persons_with_disabilities = $11, version = version + 1, updated_at = now()
         where id = $12 and version = $13
         returning version",
        valid.kind,
        valid.held_on,
        valid.district_code,
        valid.commune_code,
        valid.place,
        valid.facilitating_organization_id,
        valid.study_id,
        valid.case_study_id,
        valid.summary,
        valid.youth,
        valid.persons_with_disabilities,
        id,
        expected.number(),
    )
    .fetch_optional(&mut *tx)
    .await?;
    let Some(version) = version else {
        drop(tx);
        let theirs = revisions::differences(&pool, lang, "activity", id, &valid.snapshot()).await?;
        let (mut current, _) = stored_form(&pool, id).await?;
        // Keep what this user typed, against the version now stored.
        current = ActivityForm {
            version: current.version,
            ..form
        };
        return Err(AppError::stale(&page(
            current,
            FieldErrors::default(),
            choices,
            Some(theirs),
        )));
    };
    save_counts(&mut tx, id, &valid.counts).await?;
    revisions::record(&mut tx, "activity", id, version, user.id, &valid.snapshot()).await?;
    audit::record(
        &mut *tx,
        activity_event(&user, "activity_updated", id, &valid, ip),
    )
    .await?;
    tx.commit().await?;
    flash(&session, "saved", "").await?;
    Ok(Redirect::to(&format!("/activities/{id}")).into_response())
}
