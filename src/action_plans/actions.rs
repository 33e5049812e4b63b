//! An action's page: its state, its progress reports with their evidence, and
//! who may report, confirm, correct or send back (the steps are in `reports`).

use askama::Template;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use sqlx::PgPool;
use time::{Date, OffsetDateTime};

use super::plans::PlanView;
use super::reports::ReportForm;
use super::{ActionStatus, Lead, is_overdue};
use crate::audit::Event;
use crate::auth::policy::{self, Action, Scope};
use crate::auth::session::CurrentUser;
use crate::error::{AppError, render};
use crate::format;
use crate::format::today;
use crate::web::Ctx;
use crate::web::forms::FieldErrors;

/// What the action form offers.
#[derive(Default)]
pub struct Choices {
    /// Endorsed recommendations of the plan's district or province: (id, label).
    pub recommendations: Vec<(i64, String)>,
    /// Organizations that can own an action: (id, name).
    pub owners: Vec<(i64, String)>,
}

/// What an action of `plan` may implement and who may own it; `linked` are the
/// recommendations the action already implements, offered even when their list
/// has since been superseded. A plan that follows a study implements that
/// cycle's recommendations: a district's ten years of lists would put
/// thousands of boxes on its page.
pub async fn choices(pool: &PgPool, plan: &PlanView, linked: &[i64]) -> Result<Choices, AppError> {
    // The offered and the linked recommendations apart, then together: an
    // `or` between them read every recommendation of the country.
    let rows = sqlx::query!(
        r#"select 'recommendation' as "kind!", r.id as "id!",
                  d.name_en || ' · ' || coalesce(nullif(r.text_en, ''), r.text_km) as "label!"
           from recommendation_lists l
           join districts d on d.code = l.district_code
           join recommendations r on r.list_id = l.id
           where l.status = 'endorsed' and d.province_code = $1
             and ($2::text is null or l.district_code = $2)
             and ($4::bigint is null or l.study_id = $4)
           union
           select 'recommendation', r.id, d.name_en || ' · ' || coalesce(nullif(r.text_en, ''), r.text_km)
           from recommendations r join recommendation_lists l on l.id = r.list_id
           join districts d on d.code = l.district_code
           where r.id = any($3)
           union all
           select 'owner', o.id, o.name_en from organizations o
           where o.kind in ('member_ngo', 'partner', 'secretariat')
              or (o.kind = 'sna' and ($2::text is null or o.district_code = $2) and left(o.district_code, 2) = $1)
           order by 1, 3"#,
        plan.province_code,
        plan.district_code,
        linked,
        plan.study_id,
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

pub(super) fn action_event(
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
    pub lead: Lead,
    pub starts_on: Date,
    pub due_on: Date,
    pub budget_riel: i64,
    pub budget_source: String,
    pub indicator: String,
    pub target: String,
    pub status: ActionStatus,
    pub progress: i32,
    pub recommendation_ids: Vec<i64>,
    pub recommendation_texts: Vec<String>,
}

impl ActionView {
    /// What the policy asks of an action.
    pub fn scope(&self) -> Scope<'_> {
        Scope::ActionOf {
            owner: self.owner_organization_id,
            joint_district: if self.lead == Lead::Joint {
                self.district_code.as_deref()
            } else {
                None
            },
        }
    }

    pub fn budget_text(&self) -> String {
        crate::format::riel(self.budget_riel)
    }
}

pub(super) async fn load(pool: &PgPool, id: i64) -> Result<ActionView, AppError> {
    sqlx::query_as!(
        ActionView,
        r#"select a.id, a.plan_id, coalesce(nullif(p.title_en, ''), p.title_km) as "plan_title!", p.district_code,
                  a.description_en, a.description_km, a.owner_organization_id, o.name_en as owner, a.lead as "lead: Lead",
                  a.starts_on, a.due_on, a.budget_riel, a.budget_source, a.indicator, a.target,
                  a.status as "status!: ActionStatus", a.progress as "progress!",
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
    pub status: ActionStatus,
    pub progress: i32,
    pub note: String,
    pub internal: bool,
    pub reporter: Option<String>,
    pub reporter_side: String,
    pub confirmed_by: Option<String>,
    pub confirmed_at: Option<OffsetDateTime>,
    /// The report this one corrects, and its date.
    pub corrects_id: Option<i64>,
    pub corrects_on: Option<Date>,
    /// The report that corrects this one, and its date.
    pub corrected_by_id: Option<i64>,
    pub corrected_on: Option<Date>,
    pub returned_by: Option<String>,
    pub returned_at: Option<OffsetDateTime>,
    pub return_reason: String,
}

impl UpdateRow {
    pub fn confirmed_text(&self) -> String {
        self.confirmed_at.map(format::timestamp).unwrap_or_default()
    }

    pub fn returned_text(&self) -> String {
        self.returned_at.map(format::timestamp).unwrap_or_default()
    }

    /// Still part of the action's story: neither corrected nor sent back.
    pub fn stands(&self) -> bool {
        self.corrected_by_id.is_none() && self.returned_at.is_none()
    }
}

#[derive(Template)]
#[template(path = "action_plans/action.html")]
pub(super) struct ActionPage {
    ctx: Ctx,
    /// A report sent back with its problems (or none: the new report's form).
    draft: ReportForm,
    errors: FieldErrors,
    action: ActionView,
    overdue: bool,
    updates: Vec<UpdateRow>,
    statuses: [ActionStatus; 5],
    can_report: bool,
    /// The secretariat corrects the action and may send a report back.
    can_manage: bool,
    /// Reads internal notes and why a report was sent back.
    internal: bool,
    my_side: &'static str,
    evidence: Vec<(i64, crate::attachments::AttachmentLine)>,
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
        self.action.lead == Lead::Joint
            && update.confirmed_by.is_none()
            && update.reporter_side != self.my_side
            && self.can_report
            && update.stands()
    }

    /// A report is corrected by a new one, even on a cancelled action (the
    /// cancellation may be the mistake).
    fn can_correct(&self, update: &UpdateRow) -> bool {
        self.can_report && update.corrected_by_id.is_none()
    }

    fn can_return(&self, update: &UpdateRow) -> bool {
        self.can_manage && update.stands()
    }
}

pub async fn show(
    ctx: Ctx,
    user: CurrentUser,
    State(pool): State<PgPool>,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    render(&page(ctx, &user, &pool, id, None).await?).map(IntoResponse::into_response)
}

/// The action's page; with `refused`, the report form as it was sent and
/// what is wrong with it.
pub(super) async fn page(
    ctx: Ctx,
    user: &CurrentUser,
    pool: &PgPool,
    id: i64,
    refused: Option<(ReportForm, FieldErrors)>,
) -> Result<ActionPage, AppError> {
    let action = load(pool, id).await?;
    // Internal notes are for the plan's district and the action's owner.
    let district = action.district_code.as_deref();
    let internal = policy::allows(
        user,
        Action::ReadInternalText,
        district.map_or(Scope::Anything, Scope::District),
    ) || policy::allows(
        user,
        Action::ReportProgress,
        Scope::ActionOf {
            owner: action.owner_organization_id,
            joint_district: None,
        },
    );
    let updates = sqlx::query_as!(
        UpdateRow,
        r#"select u.id, u.reported_on, u.status as "status: ActionStatus", u.progress, case when u.internal and not $2 then '' else u.note end as "note!",
                  u.internal, r.display_name as "reporter?",
                  case when ro.kind = 'sna' then 'sna' else 'cso' end as "reporter_side!",
                  c.display_name as "confirmed_by?", u.confirmed_at,
                  u.corrects_id, old.reported_on as "corrects_on?",
                  fix.id as "corrected_by_id?", fix.reported_on as "corrected_on?",
                  b.display_name as "returned_by?", u.returned_at, u.return_reason
           from action_updates u
           left join users r on r.id = u.reported_by
           left join organizations ro on ro.id = u.reporter_organization_id
           left join users c on c.id = u.confirmed_by
           left join users b on b.id = u.returned_by
           left join action_updates old on old.id = u.corrects_id
           left join action_updates fix on fix.corrects_id = u.id
           where u.action_id = $1 order by u.reported_on desc, u.id desc"#,
        id,
        internal
    )
    .fetch_all(pool)
    .await?;
    let can_report = can_report(user, &action);
    let update_ids: Vec<i64> = updates.iter().map(|update| update.id).collect();
    let evidence = crate::attachments::of_updates(pool, &update_ids, internal).await?;
    let (draft, errors) = refused.unwrap_or_else(|| {
        let fresh = ReportForm::new(today(), action.status, action.progress);
        (fresh, FieldErrors::default())
    });
    Ok(ActionPage {
        draft,
        errors,
        evidence,
        overdue: is_overdue(action.due_on, action.status, today()),
        can_report,
        can_manage: policy::allows(user, Action::ManagePlans, Scope::Anything),
        internal,
        my_side: policy::side_of(user),
        statuses: ActionStatus::ALL,
        ctx,
        action,
        updates,
    })
}

/// May `user` report on `action` (`Action::ReportProgress`)?
pub(super) fn can_report(user: &CurrentUser, action: &ActionView) -> bool {
    policy::allows(user, Action::ReportProgress, action.scope())
}
