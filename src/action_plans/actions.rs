//! Actions: adding one to a plan, its page, progress reports by its owner
//! organization, and the other side's confirmation of a joint action's report.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use sqlx::PgPool;
use time::{Date, OffsetDateTime};
use tower_sessions::Session;

use super::plans::PlanView;
use super::{LEADS, STATUSES, is_overdue};
use crate::activities::form::today;
use crate::audit::{self, Event};
use crate::auth::policy::{self, Action, Role, Scope};
use crate::auth::require;
use crate::auth::session::CurrentUser;
use crate::error::{AppError, render};
use crate::web::forms::{self, FieldErrors, Form};
use crate::web::{ClientIp, Ctx, flash, format_timestamp};

/// What the action form offers.
#[derive(Default)]
pub struct Choices {
    /// Endorsed recommendations of the plan's district or province: (id, label).
    pub recommendations: Vec<(i64, String)>,
    /// Organizations that can own an action: (id, name).
    pub owners: Vec<(i64, String)>,
}

pub async fn choices(pool: &PgPool, plan: &PlanView) -> Result<Choices, AppError> {
    let rows = sqlx::query!(
        r#"select 'recommendation' as "kind!", r.id as "id!",
                  l.district_code || ' · ' || coalesce(nullif(r.text_en, ''), r.text_km) as "label!"
           from recommendations r join recommendation_lists l on l.id = r.list_id
           where l.status = 'endorsed' and left(l.district_code, 2) = $1
             and ($2::text is null or l.district_code = $2)
           union all
           select 'owner', o.id, o.name_en from organizations o
           where o.kind in ('member_ngo', 'partner', 'secretariat')
              or (o.kind = 'sna' and ($2::text is null or o.district_code = $2) and left(o.district_code, 2) = $1)
           order by 1, 3"#,
        plan.province_code,
        plan.district_code,
    )
    .fetch_all(pool)
    .await?;
    let mut choices = Choices::default();
    for row in rows {
        if row.kind == "recommendation" {
            choices.recommendations.push((row.id, row.label));
        } else {
            choices.owners.push((row.id, row.label));
        }
    }
    Ok(choices)
}

/// Adds an action to a plan. Refusals go back as a page with a message, since
/// the form lives on the plan page.
pub async fn create(
    user: CurrentUser,
    session: Session,
    ClientIp(ip): ClientIp,
    State(pool): State<PgPool>,
    Path(plan_id): Path<i64>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    require(&user, Action::ManagePlans, Scope::Anything)?;
    let plan = sqlx::query_as!(
        PlanView,
        r#"select p.id, p.title_en, p.title_km, p.district_code, p.province_code, '' as "place_en!", '' as "place_km!",
                  p.period_start, p.period_end, 0 as "progress!"
           from action_plans p where p.id = $1"#,
        plan_id
    )
    .fetch_optional(&pool)
    .await?
    .ok_or(AppError::NotFound)?;
    let choices = choices(&pool, &plan).await?;
    let field = |name: &str| {
        pairs
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
            .unwrap_or_default()
    };
    let mut errors = FieldErrors::default();
    let description_en = forms::optional_text(
        &mut errors,
        "description_en",
        field("description_en"),
        2_000,
    );
    let description_km = forms::optional_text(
        &mut errors,
        "description_km",
        field("description_km"),
        2_000,
    );
    if description_en.is_empty() && description_km.is_empty() {
        return Err(AppError::Refused("error-action-description"));
    }
    let mut recommendations = Vec::new();
    for (_, value) in pairs.iter().filter(|(key, _)| key == "recommendations") {
        match value
            .parse::<i64>()
            .ok()
            .filter(|id| choices.recommendations.iter().any(|(known, _)| known == id))
        {
            Some(id) => recommendations.push(id),
            None => return Err(AppError::Refused("error-action-recommendation")),
        }
    }
    if recommendations.is_empty() {
        return Err(AppError::Refused("error-action-recommendation"));
    }
    let owner = field("owner_organization_id")
        .parse::<i64>()
        .ok()
        .filter(|id| choices.owners.iter().any(|(known, _)| known == id))
        .ok_or(AppError::Refused("error-action-owner"))?;
    let lead = LEADS
        .iter()
        .find(|lead| **lead == field("lead"))
        .ok_or(AppError::Refused("error-action-owner"))?;
    let starts = forms::date(&mut errors, "starts_on", field("starts_on"));
    let due = forms::date(&mut errors, "due_on", field("due_on"));
    let (Some(starts), Some(due)) = (starts, due) else {
        return Err(AppError::Refused("error-action-dates"));
    };
    if due < starts {
        return Err(AppError::Refused("error-action-dates"));
    }
    let budget = match field("budget_riel").trim() {
        "" => 0,
        text => forms::riel(text).ok_or(AppError::Refused("error-action-budget"))?,
    };
    let source = forms::optional_text(&mut errors, "budget_source", field("budget_source"), 300);
    let indicator = forms::optional_text(&mut errors, "indicator", field("indicator"), 500);
    let target = forms::optional_text(&mut errors, "target", field("target"), 300);
    if !errors.is_empty() {
        return Err(AppError::Refused("error-action-too-long"));
    }
    let mut tx = pool.begin().await?;
    let id = sqlx::query_scalar!(
        "insert into actions (plan_id, description_en, description_km, owner_organization_id, lead, starts_on, due_on,
                              budget_riel, budget_source, indicator, target)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) returning id",
        plan_id,
        description_en,
        description_km,
        owner,
        lead,
        starts,
        due,
        budget,
        source,
        indicator,
        target,
    )
    .fetch_one(&mut *tx)
    .await?;
    sqlx::query!(
        "insert into action_recommendations (action_id, recommendation_id) select $1, unnest($2::bigint[]) on conflict do nothing",
        id,
        &recommendations,
    )
    .execute(&mut *tx)
    .await?;
    audit::record(
        &mut *tx,
        action_event(&user, "action_created", id, &format!("plan {plan_id}"), ip),
    )
    .await?;
    tx.commit().await?;
    flash(&session, "saved", "").await?;
    Ok(Redirect::to(&format!("/actions/{id}")).into_response())
}

fn action_event(
    user: &CurrentUser,
    action: &'static str,
    id: i64,
    summary: &str,
    ip: Option<String>,
) -> Event<'static> {
    Event {
        actor_id: Some(user.id),
        action,
        entity: "action",
        entity_id: Some(id.to_string()),
        summary: summary.to_owned(),
        ip,
    }
}

/// An action with its plan and current state.
pub struct ActionView {
    pub id: i64,
    pub plan_id: i64,
    pub plan_title: String,
    pub district_code: Option<String>,
    pub description_en: String,
    pub description_km: String,
    pub owner_organization_id: i64,
    pub owner: String,
    pub lead: String,
    pub starts_on: Date,
    pub due_on: Date,
    pub budget_riel: i64,
    pub budget_source: String,
    pub indicator: String,
    pub target: String,
    pub status: String,
    pub progress: i32,
    pub recommendation_ids: Vec<i64>,
    pub recommendation_texts: Vec<String>,
}

impl ActionView {
    pub fn budget_text(&self) -> String {
        crate::web::riel(self.budget_riel)
    }
}

async fn load(pool: &PgPool, id: i64) -> Result<ActionView, AppError> {
    sqlx::query_as!(
        ActionView,
        r#"select a.id, a.plan_id, coalesce(nullif(p.title_en, ''), p.title_km) as "plan_title!", p.district_code,
                  a.description_en, a.description_km, a.owner_organization_id, o.name_en as owner, a.lead,
                  a.starts_on, a.due_on, a.budget_riel, a.budget_source, a.indicator, a.target,
                  a.status as "status!", a.progress as "progress!",
                  array(select ar.recommendation_id from action_recommendations ar
                        where ar.action_id = a.id order by 1) as "recommendation_ids!",
                  array(select coalesce(nullif(r.text_en, ''), r.text_km) from action_recommendations ar
                        join recommendations r on r.id = ar.recommendation_id
                        where ar.action_id = a.id order by ar.recommendation_id) as "recommendation_texts!"
           from actions a join action_plans p on p.id = a.plan_id
           join organizations o on o.id = a.owner_organization_id
           where a.id = $1"#,
        id
    )
    .fetch_optional(pool)
    .await?
    .ok_or(AppError::NotFound)
}

/// A progress report as the action page lists it.
pub struct UpdateRow {
    pub id: i64,
    pub reported_on: Date,
    pub status: String,
    pub progress: i32,
    pub note: String,
    pub internal: bool,
    pub reporter: Option<String>,
    pub reporter_side: String,
    pub confirmed_by: Option<String>,
    pub confirmed_at: Option<OffsetDateTime>,
}

impl UpdateRow {
    pub fn confirmed_text(&self) -> String {
        self.confirmed_at.map(format_timestamp).unwrap_or_default()
    }
}

/// Which side of the partnership a user or organization speaks for.
fn side_of(role: Role) -> &'static str {
    if role == Role::Sna { "sna" } else { "cso" }
}

#[derive(Template)]
#[template(path = "action_plans/action.html")]
struct ActionPage {
    ctx: Ctx,
    action: ActionView,
    overdue: bool,
    updates: Vec<UpdateRow>,
    statuses: [&'static str; 5],
    can_report: bool,
    my_side: &'static str,
    evidence: Vec<(i64, crate::attachments::AttachmentLine)>,
    today: String,
}

impl ActionPage {
    /// The other side may confirm a joint action's report.
    fn evidence_of(&self, update: &i64) -> Vec<&crate::attachments::AttachmentLine> {
        self.evidence
            .iter()
            .filter(|(parent, _)| parent == update)
            .map(|(_, line)| line)
            .collect()
    }

    fn upload_action(&self, update: &i64) -> String {
        format!("/actions/{}/updates/{update}/attachments", self.action.id)
    }

    fn can_confirm(&self, update: &UpdateRow) -> bool {
        self.action.lead == "joint"
            && update.confirmed_by.is_none()
            && update.reporter_side != self.my_side
            && self.can_report
    }
}

pub async fn show(
    ctx: Ctx,
    user: CurrentUser,
    State(pool): State<PgPool>,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    let action = load(&pool, id).await?;
    // Internal notes are for the plan's district and the action's owner.
    let district = action.district_code.as_deref();
    let internal = policy::allows(
        &user,
        Action::ReadInternalText,
        district.map_or(Scope::Anything, Scope::District),
    ) || policy::allows(
        &user,
        Action::ReportProgress,
        Scope::OwnedBy(action.owner_organization_id),
    );
    let updates = sqlx::query_as!(
        UpdateRow,
        r#"select u.id, u.reported_on, u.status, u.progress, case when u.internal and not $2 then '' else u.note end as "note!",
                  u.internal, r.display_name as "reporter?",
                  case when ro.kind = 'sna' then 'sna' else 'cso' end as "reporter_side!",
                  c.display_name as "confirmed_by?", u.confirmed_at
           from action_updates u
           left join users r on r.id = u.reported_by
           left join organizations ro on ro.id = u.reporter_organization_id
           left join users c on c.id = u.confirmed_by
           where u.action_id = $1 order by u.reported_on desc, u.id desc"#,
        id,
        internal
    )
    .fetch_all(&pool)
    .await?;
    let can_report = can_report(&user, &action);
    let update_ids: Vec<i64> = updates.iter().map(|update| update.id).collect();
    let evidence = crate::attachments::of_updates(&pool, &update_ids, internal).await?;
    render(&ActionPage {
        evidence,
        overdue: is_overdue(action.due_on, &action.status, today()),
        can_report,
        my_side: side_of(user.role),
        statuses: STATUSES,
        today: today().to_string(),
        ctx,
        action,
        updates,
    })
    .map(IntoResponse::into_response)
}

/// The owner organization's users and staff report; for a joint action, so do
/// the other side's people of the district (who confirm each other's reports).
fn can_report(user: &CurrentUser, action: &ActionView) -> bool {
    let owner = policy::allows(
        user,
        Action::ReportProgress,
        Scope::OwnedBy(action.owner_organization_id),
    );
    let partner = action.lead == "joint"
        && matches!(user.role, Role::Ngo | Role::Sna)
        && action
            .district_code
            .as_deref()
            .is_some_and(|district| user.districts.iter().any(|code| code == district));
    owner || partner
}

#[derive(Debug, Default, serde::Deserialize)]
pub struct ReportForm {
    #[serde(default)]
    reported_on: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    progress: String,
    #[serde(default)]
    note: String,
    #[serde(default)]
    internal: Option<String>,
}

/// A dated progress report. Refused, with nothing written: progress outside
/// 0–100, "completed" under 100, a date before the start or in the future, an
/// update on a cancelled action, a reporter outside the owner organization.
pub async fn report(
    user: CurrentUser,
    session: Session,
    ClientIp(ip): ClientIp,
    State(pool): State<PgPool>,
    Path(id): Path<i64>,
    Form(form): Form<ReportForm>,
) -> Result<Response, AppError> {
    let action = load(&pool, id).await?;
    if !can_report(&user, &action) {
        return Err(AppError::Forbidden);
    }
    if action.status == "cancelled" {
        return Err(AppError::IllegalTransition);
    }
    let status = STATUSES
        .iter()
        .find(|status| **status == form.status)
        .ok_or(AppError::Refused("error-update-status"))?;
    let progress = form
        .progress
        .trim()
        .parse::<i32>()
        .ok()
        .filter(|progress| (0..=100).contains(progress))
        .ok_or(AppError::Refused("error-update-progress"))?;
    if *status == "completed" && progress != 100 {
        return Err(AppError::Refused("error-update-completed"));
    }
    let mut errors = FieldErrors::default();
    let reported_on = forms::date(&mut errors, "reported_on", &form.reported_on)
        .ok_or(AppError::Refused("error-update-date"))?;
    if reported_on < action.starts_on || reported_on > today() {
        return Err(AppError::Refused("error-update-date"));
    }
    let note = forms::optional_text(&mut errors, "note", &form.note, 5_000);
    if !errors.is_empty() {
        return Err(AppError::Refused("error-action-too-long"));
    }
    let mut tx = pool.begin().await?;
    sqlx::query!(
        "insert into action_updates (action_id, reported_on, status, progress, note, internal, reported_by, reporter_organization_id)
         values ($1, $2, $3, $4, $5, $6, $7, $8)",
        id,
        reported_on,
        status,
        progress,
        note,
        form.internal.is_some(),
        user.id,
        user.organization_id,
    )
    .execute(&mut *tx)
    .await?;
    audit::record(
        &mut *tx,
        action_event(
            &user,
            "action_progress_reported",
            id,
            &format!("{status} {progress}%"),
            ip,
        ),
    )
    .await?;
    tx.commit().await?;
    flash(&session, "saved", "").await?;
    Ok(Redirect::to(&format!("/actions/{id}")).into_response())
}

/// The other side of a joint action confirms a report.
pub async fn confirm(
    user: CurrentUser,
    session: Session,
    ClientIp(ip): ClientIp,
    State(pool): State<PgPool>,
    Path((id, update)): Path<(i64, i64)>,
) -> Result<Response, AppError> {
    let action = load(&pool, id).await?;
    if action.lead != "joint" || !can_report(&user, &action) {
        return Err(AppError::Forbidden);
    }
    let mut tx = pool.begin().await?;
    let confirmed = sqlx::query!(
        "update action_updates u set confirmed_by = $3, confirmed_at = now()
         from organizations o
         where u.id = $1 and u.action_id = $2 and u.confirmed_by is null and o.id = u.reporter_organization_id
           and (case when o.kind = 'sna' then 'sna' else 'cso' end) <> $4",
        update,
        id,
        user.id,
        side_of(user.role),
    )
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if confirmed == 0 {
        return Err(AppError::IllegalTransition);
    }
    audit::record(
        &mut *tx,
        action_event(
            &user,
            "action_progress_confirmed",
            id,
            &format!("update {update}"),
            ip,
        ),
    )
    .await?;
    tx.commit().await?;
    flash(&session, "saved", "").await?;
    Ok((
        StatusCode::SEE_OTHER,
        Redirect::to(&format!("/actions/{id}")),
    )
        .into_response())
}
