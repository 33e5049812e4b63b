//! The recommendation lists: the index, and starting a new list.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use sqlx::{PgPool, QueryBuilder};

use super::ListStatus;
use crate::audit::{self, Event};
use crate::auth::policy::{self, Action, Scope};
use crate::auth::require;
use crate::auth::session::CurrentUser;
use crate::error::{AppError, render};
use crate::geo::places::{self, FilterChoices};
use crate::state::AppState;
use crate::web::forms::{FieldErrors, Form};
use crate::web::{Actor, Ctx, Page, flash};

#[derive(sqlx::FromRow)]
pub struct ListRow {
    pub id: i64,
    district_code: String,
    study_id: i64,
    pub list_version: i32,
    pub status: ListStatus,
    pub recommendations: i64,
    /// Names, from the places and studies kept in memory.
    #[sqlx(skip)]
    pub district_en: String,
    #[sqlx(skip)]
    pub district_km: String,
    #[sqlx(skip)]
    pub study_en: String,
    #[sqlx(skip)]
    pub study_km: String,
}

#[derive(Debug, Default, Deserialize)]
pub struct Filters {
    #[serde(default)]
    status: String,
    #[serde(default)]
    district: String,
    page: Option<i64>,
}

impl Filters {
    fn link(&self, page: i64) -> String {
        let query = serde_urlencoded::to_string([
            ("status", self.status.as_str()),
            ("district", &self.district),
            ("page", &page.to_string()),
        ])
        .unwrap_or_default();
        format!("/recommendation-lists?{query}")
    }
}

const PAGE_SIZE: i64 = 50;

#[derive(Template)]
#[template(path = "recommendations/index.html")]
struct IndexPage {
    ctx: Ctx,
    filters: Filters,
    lists: Vec<ListRow>,
    choices: Arc<FilterChoices>,
    page: Page,
    has_next: bool,
    statuses: [ListStatus; 5],
    can_create: bool,
}

pub async fn list(
    ctx: Ctx,
    user: CurrentUser,
    State(state): State<AppState>,
    Query(filters): Query<Filters>,
) -> Result<Response, AppError> {
    let pool = &state.pool;
    let scope = policy::unpublished_read_scope(&user);
    let page = Page::new(filters.page, PAGE_SIZE);
    // Only the filters in use go into the statement: each combination is then
    // prepared once, with a plan of its own that the indexes serve.
    let mut query = QueryBuilder::new(
        "select l.id, l.district_code, l.study_id, l.list_version, l.status,
                l.recommendation_count::bigint as recommendations
         from recommendation_lists l
         where true",
    );
    if !filters.status.is_empty() {
        query.push(" and l.status = ").push_bind(&filters.status);
    }
    if !filters.district.is_empty() {
        query
            .push(" and l.district_code = ")
            .push_bind(&filters.district);
    }
    if !scope.everywhere {
        query
            .push(" and (l.district_code = any(")
            .push_bind(scope.districts)
            .push(") or l.status in ('endorsed', 'superseded'))");
    }
    query.push(" order by l.district_code, l.list_version desc, l.id");
    page.push_limit(&mut query);
    let mut lists: Vec<ListRow> = query.build_query_as().fetch_all(pool).await?;
    let has_next = page.has_next(&mut lists);
    let choices = places::filter_choices(&state).await?;
    for row in &mut lists {
        (row.district_en, row.district_km) = choices.names(&row.district_code);
        let (study_en, study_km) = choices.study(row.study_id);
        (row.study_en, row.study_km) = (study_en.to_owned(), study_km.to_owned());
    }
    render(&IndexPage {
        choices,
        page,
        has_next,
        can_create: policy::allows(&user, Action::WriteRecommendations, Scope::Anything),
        ctx,
        filters,
        lists,
        statuses: ListStatus::ALL,
    })
    .map(IntoResponse::into_response)
}

#[derive(Debug, Default, Deserialize)]
pub struct NewListForm {
    #[serde(default)]
    district_code: String,
    #[serde(default)]
    study_id: String,
    #[serde(default)]
    consultation_id: String,
}

#[derive(Template)]
#[template(path = "recommendations/new.html")]
struct NewPage {
    ctx: Ctx,
    form: NewListForm,
    errors: FieldErrors,
    districts: Vec<(String, String, String)>,
    studies: Vec<(i64, String, String)>,
    consultations: Vec<(i64, String, String)>,
}

async fn new_page(
    ctx: Ctx,
    pool: &PgPool,
    user: &CurrentUser,
    form: NewListForm,
    errors: FieldErrors,
) -> Result<NewPage, AppError> {
    let everywhere = policy::writes_everywhere(user);
    let districts = sqlx::query!(
        "select code, name_en, name_km from districts where $1 or code = any($2) order by code",
        everywhere,
        &user.districts
    )
    .fetch_all(pool)
    .await?
    .into_iter()
    .map(|row| (row.code, row.name_en, row.name_km))
    .collect();
    let references = sqlx::query!(
        r#"select 'study' as "kind!", s.id as "id!", '' as "district!", s.title_en as "label!",
                  s.title_km as "label_km!" from studies s
           union all
           select 'consultation', a.id, a.district_code, a.held_on || ' · ' || d.name_en, a.held_on || ' · ' || d.name_km
           from activities a join districts d on d.code = a.district_code
           where a.kind = 'joint_consultation' and ($1 or a.district_code = any($2))
           order by 1, 3, 4"#,
        everywhere,
        &user.districts
    )
    .fetch_all(pool)
    .await?;
    let mut studies = Vec::new();
    let mut consultations = Vec::new();
    for row in references {
        if row.kind == "study" {
            studies.push((row.id, row.label, row.label_km));
        } else {
            consultations.push((row.id, row.district, row.label));
        }
    }
    Ok(NewPage {
        ctx,
        form,
        errors,
        districts,
        studies,
        consultations,
    })
}

pub async fn new_form(
    ctx: Ctx,
    user: CurrentUser,
    State(pool): State<PgPool>,
) -> Result<Response, AppError> {
    require(&user, Action::WriteRecommendations, Scope::Anything)?;
    render(
        &new_page(
            ctx,
            &pool,
            &user,
            NewListForm::default(),
            FieldErrors::default(),
        )
        .await?,
    )
    .map(IntoResponse::into_response)
}

pub async fn create(
    ctx: Ctx,
    Actor { user, session, ip }: Actor,
    State(pool): State<PgPool>,
    Form(form): Form<NewListForm>,
) -> Result<Response, AppError> {
    require(&user, Action::WriteRecommendations, Scope::Anything)?;
    let page = new_page(ctx, &pool, &user, form, FieldErrors::default()).await?;
    let mut errors = FieldErrors::default();
    let district = page.form.district_code.clone();
    if !page.districts.iter().any(|(code, _, _)| *code == district) {
        errors.add("district_code", "activity-district-not-yours");
    }
    let study = page
        .form
        .study_id
        .parse::<i64>()
        .ok()
        .filter(|id| page.studies.iter().any(|(known, ..)| known == id));
    if study.is_none() {
        errors.add("study_id", "error-choose");
    }
    let consultation = match page.form.consultation_id.trim() {
        "" => None,
        text => {
            let id = text.parse::<i64>().ok().filter(|id| {
                page.consultations
                    .iter()
                    .any(|(known, code, _)| known == id && *code == district)
            });
            if id.is_none() {
                errors.add("consultation_id", "recommendations-consultation-elsewhere");
            }
            id
        }
    };
    let Some(study) = study.filter(|_| errors.is_empty()) else {
        let page = NewPage { errors, ..page };
        return Err(AppError::invalid(&page));
    };
    let mut tx = pool.begin().await?;
    let id = sqlx::query_scalar!(
        "insert into recommendation_lists (district_code, study_id, consultation_id)
         select $1, $2, $3
         where not exists (select 1 from recommendation_lists where district_code = $1 and study_id = $2)
         returning id",
        district,
        study,
        consultation,
    )
    .fetch_optional(&mut *tx)
    .await?;
    let Some(id) = id else {
        let mut errors = FieldErrors::default();
        errors.add("district_code", "recommendations-list-exists");
        let page = NewPage { errors, ..page };
        return Err(AppError::stale(&page));
    };
    audit::record(
        &mut *tx,
        Event {
            actor_id: Some(user.id),
            action: "recommendation_list_created",
            entity: "recommendation_list",
            entity_id: Some(id.to_string()),
            summary: format!("{district} study {study}"),
            ip,
        },
    )
    .await?;
    tx.commit().await?;
    flash(&session, "saved", "").await?;
    Ok(Redirect::to(&format!("/recommendation-lists/{id}")).into_response())
}

#[derive(Debug, Default, Deserialize)]
pub struct ConsultationForm {
    #[serde(default)]
    consultation_id: String,
    /// The list's version the form was drawn from.
    #[serde(default)]
    version: String,
}

/// Links a version being written to the joint consultation that produced it
/// (a reopened version starts with the one before's); empty unlinks it.
pub async fn set_consultation(
    ctx: Ctx,
    Actor { user, session, ip }: Actor,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Form(form): Form<ConsultationForm>,
) -> Result<Response, AppError> {
    let pool = state.pool.clone();
    let mut tx = pool.begin().await?;
    let list = super::workflow::lock_for(
        &mut tx,
        &user,
        id,
        Action::WriteRecommendations,
        &[ListStatus::Draft, ListStatus::Returned],
    )
    .await?;
    // A form drawn from an older version is not saved over what changed
    // since: the page comes back as it is now, with the choice beside it.
    if form.version.trim() != list.version.to_string() {
        drop(tx);
        let chosen = super::show::Stale::Consultation(form.consultation_id.trim().to_owned());
        let page = super::show::page(ctx, &user, &state, id, Some(chosen)).await?;
        return Err(AppError::stale(&page));
    }
    let consultation = match form.consultation_id.trim() {
        "" => None,
        text => {
            let held = match text.parse::<i64>() {
                Ok(activity) => sqlx::query_scalar!(
                    r#"select exists(select 1 from activities where id = $1 and kind = 'joint_consultation'
                                     and district_code = $2) as "held!""#,
                    activity,
                    list.district_code
                )
                .fetch_one(&mut *tx)
                .await?
                .then_some(activity),
                Err(_) => None,
            };
            Some(held.ok_or(AppError::Refused("error-consultation"))?)
        }
    };
    sqlx::query!(
        "update recommendation_lists set consultation_id = $2, version = version + 1, updated_at = now() where id = $1",
        id,
        consultation,
    )
    .execute(&mut *tx)
    .await?;
    audit::record(
        &mut *tx,
        Event {
            actor_id: Some(user.id),
            action: "recommendation_list_consultation",
            entity: "recommendation_list",
            entity_id: Some(id.to_string()),
            summary: consultation.map_or_else(
                || "none".to_owned(),
                |activity| format!("activity {activity}"),
            ),
            ip,
        },
    )
    .await?;
    tx.commit().await?;
    flash(&session, "saved", "").await?;
    Ok(Redirect::to(&format!("/recommendation-lists/{id}")).into_response())
}
