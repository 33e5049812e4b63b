//! One recommendation list: its page with recommendations, evidence, history and
//! the steps the reader may take, its printable version, and the endorsed
//! snapshot as a download.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use sqlx::PgPool;
use time::OffsetDateTime;

use super::ListStatus;
use crate::auth::policy::{self, Action, InternalScope, Scope};
use crate::auth::require;
use crate::auth::session::CurrentUser;
use crate::db::cache::GenerationCache;
use crate::error::{AppError, render};
use crate::format;
use crate::state::AppState;
use crate::web::Ctx;

/// A list's header.
#[derive(Clone)]
pub struct ListView {
    pub id: i64,
    pub district_code: String,
    pub district_en: String,
    pub district_km: String,
    pub study_title: String,
    pub study_title_km: String,
    pub consultation: Option<String>,
    pub consultation_id: Option<i64>,
    pub list_version: i32,
    pub previous_id: Option<i64>,
    pub next_id: Option<i64>,
    pub status: ListStatus,
    /// The record's version, which a form sends back (`docs/records.md`).
    pub version: i32,
}

impl ListView {
    pub fn endorsed(&self) -> bool {
        self.status.is_endorsed()
    }

    pub fn editable(&self) -> bool {
        self.status.is_editable()
    }
}

pub async fn load(pool: &PgPool, id: i64) -> Result<ListView, AppError> {
    sqlx::query_as!(
        ListView,
        r#"select l.id, l.district_code, d.name_en as district_en, d.name_km as district_km,
                  s.title_en as study_title, s.title_km as study_title_km, a.held_on::text as "consultation?", l.consultation_id, l.list_version, l.previous_id,
                  (select n.id from recommendation_lists n where n.previous_id = l.id) as "next_id?",
                  l.status as "status: ListStatus", l.version
           from recommendation_lists l
           join districts d on d.code = l.district_code
           join studies s on s.id = l.study_id
           left join activities a on a.id = l.consultation_id
           where l.id = $1"#,
        id
    )
    .fetch_optional(pool)
    .await?
    .ok_or(AppError::NotFound)
}

/// A recommendation with its theme and the findings it rests on.
#[derive(Clone)]
pub struct ItemView {
    pub id: i64,
    pub text_en: String,
    pub text_km: String,
    pub addressee: String,
    pub theme_en: Option<String>,
    pub theme_km: Option<String>,
    /// The text of each finding cited, empty for one the reader may not read
    /// (an internal finding: the page says one is there, never what it says).
    pub evidence_texts: Vec<String>,
}

pub async fn items(
    pool: &PgPool,
    list_id: i64,
    reader: &InternalScope,
) -> Result<Vec<ItemView>, AppError> {
    Ok(sqlx::query_as!(
        ItemView,
        r#"select r.id, r.text_en, r.text_km, r.addressee,
                  t.name_en as "theme_en?", t.name_km as "theme_km?",
                  array(select case when f.public or reads_internal_text(a.district_code, a.kind, $2, $3, $4)
                                    then coalesce(nullif(f.text_en, ''), f.text_km) else '' end
                        from recommendation_evidence e
                        join findings f on f.id = e.finding_id
                        join activities a on a.id = f.activity_id
                        where e.recommendation_id = r.id order by e.finding_id) as "evidence_texts!"
           from recommendations r left join themes t on t.id = r.theme_id
           where r.list_id = $1 order by r.position, r.id"#,
        list_id,
        reader.everywhere,
        &reader.districts,
        &reader.meeting_districts,
    )
    .fetch_all(pool)
    .await?)
}

/// One transition of the list's history.
#[derive(Clone)]
pub struct Transition {
    pub transition: String,
    pub actor_name: String,
    pub actor_position: String,
    pub at: OffsetDateTime,
    pub comment: String,
    pub fingerprint: Option<String>,
    /// An endorsement given on paper: the day, and the scanned letter.
    pub given_on: Option<time::Date>,
    pub letter_attachment_id: Option<i64>,
    /// Who took the step in the app (for a paper endorsement, who recorded it).
    pub recorded_by: Option<String>,
    /// What was endorsed, for an endorsement.
    pub snapshot: Option<String>,
}

impl Transition {
    pub fn at_text(&self) -> String {
        format::timestamp(self.at)
    }
}

/// The recommendations as they read on the page: for an endorsed list, as
/// they were endorsed (its frozen snapshot), so that a theme renamed later does
/// not change what the district endorsed. The evidence stays live, so that a
/// redacted finding is redacted here too.
fn as_endorsed(mut items: Vec<ItemView>, history: &[Transition]) -> Vec<ItemView> {
    let frozen = history
        .iter()
        .rev()
        .find(|step| step.transition == "endorsed")
        .and_then(|step| step.snapshot.as_deref())
        .and_then(|text| serde_json::from_str::<super::snapshot::Snapshot>(text).ok());
    let Some(frozen) = frozen.filter(|frozen| frozen.recommendations.len() == items.len()) else {
        return items;
    };
    for (item, endorsed) in items.iter_mut().zip(frozen.recommendations) {
        item.text_en = endorsed.text_en;
        item.text_km = endorsed.text_km;
        item.addressee = endorsed.addressee;
        item.theme_km = endorsed.theme_km.or_else(|| endorsed.theme.clone());
        item.theme_en = endorsed.theme;
    }
    items
}

/// The list's steps; a reopened version begins with the reopening of the
/// version before, and its reason.
async fn history(
    pool: &PgPool,
    list_id: i64,
    previous_id: Option<i64>,
) -> Result<Vec<Transition>, AppError> {
    Ok(sqlx::query_as!(
        Transition,
        r#"select e.transition, e.actor_name, e.actor_position, e.at, e.comment, e.fingerprint,
                  e.given_on, e.letter_attachment_id, u.display_name as "recorded_by?", e.snapshot
           from endorsements e left join users u on u.id = e.actor_id
           where e.list_id = $1 or (e.list_id = $2 and e.transition = 'reopened')
           order by e.at, e.id"#,
        list_id,
        previous_id,
    )
    .fetch_all(pool)
    .await?)
}

/// What the recommendation form offers, in one statement: the themes (id,
/// English, Khmer) and the district's findings a recommendation can rest on (id, text).
pub async fn form_choices(
    pool: &PgPool,
    district: &str,
) -> Result<(Vec<(i64, String, String)>, Vec<(i64, String)>), AppError> {
    let rows = sqlx::query!(
        r#"select 'theme' as "kind!", id as "id!", name_en as "text!", name_km as "text_km!", position::bigint as "sort!"
           from themes where active
           union all
           select 'finding', f.id, coalesce(nullif(f.text_en, ''), f.text_km), '', f.id
           from findings f join activities a on a.id = f.activity_id
           where a.district_code = $1
           order by 1, 5, 2"#,
        district
    )
    .fetch_all(pool)
    .await?;
    let mut themes = Vec::new();
    let mut evidence = Vec::new();
    for row in rows {
        if row.kind == "theme" {
            themes.push((row.id, row.text, row.text_km));
        } else {
            evidence.push((row.id, row.text));
        }
    }
    Ok((themes, evidence))
}

/// The joint consultations held in a district, newest first: (id, date).
async fn consultations(pool: &PgPool, district: &str) -> Result<Vec<(i64, String)>, AppError> {
    Ok(sqlx::query!(
        "select id, held_on from activities where kind = 'joint_consultation' and district_code = $1
         order by held_on desc",
        district
    )
    .fetch_all(pool)
    .await?
    .into_iter()
    .map(|row| (row.id, row.held_on.to_string()))
    .collect())
}

#[derive(Template)]
#[template(path = "recommendations/show.html")]
pub(super) struct ShowPage {
    ctx: Ctx,
    list: ListView,
    items: Vec<ItemView>,
    history: Vec<Transition>,
    evidence: Vec<(i64, String)>,
    themes: Vec<(i64, String, String)>,
    addressees: [&'static str; 5],
    can_edit: bool,
    can_submit: bool,
    can_endorse: bool,
    can_reopen: bool,
    can_withdraw: bool,
    can_record_paper: bool,
    can_attach: bool,
    /// The district's joint consultations (id, date), for a version being written.
    consultations: Vec<(i64, String)>,
    /// A consultation link sent against an older version of the list: what
    /// the person chose, shown back beside the list as it is now.
    stale_consultation: Option<String>,
    /// A move sent from a page drawn before the list last changed.
    stale_order: bool,
    attachments: Vec<crate::attachments::AttachmentLine>,
}

impl ShowPage {
    /// The consultation the form shows chosen: the one sent on a stale form,
    /// or the list's.
    fn consultation_selected(&self, id: i64) -> bool {
        match &self.stale_consultation {
            Some(chosen) => *chosen == id.to_string(),
            None => self.list.consultation_id == Some(id),
        }
    }

    fn snapshot_file(&self) -> String {
        snapshot_file_name(self.list.id)
    }

    fn upload_action(&self) -> String {
        format!("/recommendation-lists/{}/attachments", self.list.id)
    }
}

impl ShowPage {
    fn endorsement(&self) -> Option<&Transition> {
        self.history
            .iter()
            .rev()
            .find(|step| step.transition == "endorsed")
    }
}

/// Reads a list after checking that the user may.
pub(super) async fn readable(
    pool: &PgPool,
    user: &CurrentUser,
    id: i64,
) -> Result<ListView, AppError> {
    let list = load(pool, id).await?;
    may_read(user, &list)?;
    Ok(list)
}

fn may_read(user: &CurrentUser, list: &ListView) -> Result<(), AppError> {
    require(
        user,
        Action::ReadRecommendations,
        Scope::Record {
            district: &list.district_code,
            published: list.endorsed(),
        },
    )
}

pub async fn show(
    ctx: Ctx,
    user: CurrentUser,
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    render(&page(ctx, &user, &state, id, None).await?).map(IntoResponse::into_response)
}

/// A list with its history and its recommendations as they read (as
/// endorsed, from the history's snapshot), by id and whose internal text
/// counts: what a plain view of the page reads, kept until the data changes,
/// the three read together so that they agree. A page drawn after a conflict
/// reads afresh.
type ListCache = GenerationCache<(i64, InternalScope), (ListView, Vec<Transition>, Vec<ItemView>)>;

async fn list_as_read(
    pool: &PgPool,
    id: i64,
    reader: &InternalScope,
) -> Result<(ListView, Vec<Transition>, Vec<ItemView>), AppError> {
    let list = load(pool, id).await?;
    let history = history(pool, id, list.previous_id).await?;
    let items = as_endorsed(items(pool, id, reader).await?, &history);
    Ok((list, history, items))
}

/// What a form drawn before the list last changed asked for.
pub(super) enum Stale {
    /// The consultation chosen.
    Consultation(String),
    /// A recommendation moved up or down.
    Order,
}

/// The list's page; with `stale`, what a form that was out of date asked for,
/// beside the list as it is now.
pub(super) async fn page(
    ctx: Ctx,
    user: &CurrentUser,
    state: &AppState,
    id: i64,
    stale: Option<Stale>,
) -> Result<ShowPage, AppError> {
    let pool = &state.pool;
    let reader = policy::internal_text_scope(user);
    let (list, history, items) = if stale.is_none() {
        Arc::unwrap_or_clone(
            state
                .kept("recommendation_lists", ListCache::large)
                .get((id, reader.clone()), async || {
                    list_as_read(pool, id, &reader).await
                })
                .await?,
        )
    } else {
        list_as_read(pool, id, &reader).await?
    };
    may_read(user, &list)?;
    let district = Scope::District(&list.district_code);
    let can_edit = list.editable() && policy::allows(user, Action::WriteRecommendations, district);
    let (themes, evidence) = if can_edit {
        form_choices(pool, &list.district_code).await?
    } else {
        (Vec::new(), Vec::new())
    };
    let page = ShowPage {
        themes,
        evidence,
        items,
        history,
        addressees: super::ADDRESSEES,
        can_edit,
        can_submit: list.editable()
            && policy::allows(user, Action::SubmitRecommendations, district),
        can_endorse: list.status == ListStatus::Submitted
            && policy::allows(user, Action::EndorseList, district),
        can_reopen: list.status == ListStatus::Endorsed
            && policy::allows(user, Action::SubmitRecommendations, district),
        can_withdraw: list.status == ListStatus::Submitted
            && policy::allows(user, Action::SubmitRecommendations, district),
        can_record_paper: matches!(list.status, ListStatus::Draft | ListStatus::Submitted)
            && policy::allows(user, Action::SubmitRecommendations, district),
        can_attach: policy::allows(user, Action::WriteRecommendations, district),
        consultations: if can_edit {
            consultations(pool, &list.district_code).await?
        } else {
            Vec::new()
        },
        attachments: crate::attachments::of(
            pool,
            "recommendation_list",
            id,
            policy::allows(user, Action::ReadInternalText, district),
        )
        .await?,
        stale_order: matches!(stale, Some(Stale::Order)),
        stale_consultation: match stale {
            Some(Stale::Consultation(chosen)) => Some(chosen),
            _ => None,
        },
        list,
        ctx,
    };
    Ok(page)
}

#[derive(Template)]
#[template(path = "recommendations/print.html")]
struct PrintPage {
    ctx: Ctx,
    list: ListView,
    items: Vec<ItemView>,
    endorsement: Option<Transition>,
}

/// `GET /recommendation-lists/{id}/snapshot`: exactly what was endorsed, the
/// bytes its fingerprint is the SHA-256 of, for anyone who may read the list to
/// check with `sha256sum`.
pub async fn snapshot(
    user: CurrentUser,
    State(pool): State<PgPool>,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    readable(&pool, &user, id).await?;
    let snapshot = sqlx::query_scalar!(
        r#"select snapshot as "snapshot!" from endorsements
           where list_id = $1 and transition = 'endorsed' and snapshot is not null
           order by at desc, id desc limit 1"#,
        id
    )
    .fetch_optional(&pool)
    .await?
    .ok_or(AppError::NotFound)?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/json".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{}\"", snapshot_file_name(id)),
            ),
        ],
        snapshot,
    )
        .into_response())
}

/// The name the endorsed snapshot downloads under, which the page's
/// `sha256sum` line repeats.
fn snapshot_file_name(id: i64) -> String {
    format!("samleng-list-{id}-endorsed.json")
}

/// The list on paper: both languages, the signature block and the fingerprint.
pub async fn print(
    ctx: Ctx,
    user: CurrentUser,
    State(pool): State<PgPool>,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    let list = readable(&pool, &user, id).await?;
    let history = history(&pool, id, None).await?;
    let items = as_endorsed(
        items(&pool, id, &policy::internal_text_scope(&user)).await?,
        &history,
    );
    let endorsement = history
        .into_iter()
        .rev()
        .find(|step| step.transition == "endorsed");
    render(&PrintPage {
        items,
        ctx,
        list,
        endorsement,
    })
    .map(IntoResponse::into_response)
}
