//! `/activities/{id}`: one activity with its participants, findings, files and revisions.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use sqlx::PgPool;
use time::Date;

use super::form::GROUPS;
use super::participants::{GroupCounts, Participants};
use crate::auth::policy::{self, Action, Scope};
use crate::auth::require;
use crate::auth::session::CurrentUser;
use crate::disclosure::{Count, Shown};
use crate::error::{AppError, render};
use crate::revisions;
use crate::web::Ctx;
use crate::web::forms::FieldErrors;

/// One activity as its page shows it.
pub struct ActivityView {
    pub id: i64,
    pub kind: String,
    pub held_on: Date,
    pub district_code: String,
    pub district_en: String,
    pub district_km: String,
    pub commune_en: Option<String>,
    pub commune_km: Option<String>,
    pub place: String,
    pub organization: String,
    pub study_id: Option<i64>,
    pub study_title: Option<String>,
    pub study_title_km: Option<String>,
    pub case_study_id: Option<i64>,
    pub case_study_title: Option<String>,
    pub case_study_title_km: Option<String>,
    pub published: bool,
    pub summary: String,
    pub youth: i32,
    pub persons_with_disabilities: i32,
    pub rounded_youth: i32,
    pub rounded_persons_with_disabilities: i32,
    /// Participants per group (`GROUPS` order), exact and rounded (`disclosure`).
    pub female_by_group: Vec<i32>,
    pub male_by_group: Vec<i32>,
    pub rounded_female_by_group: Vec<i32>,
    pub rounded_male_by_group: Vec<i32>,
}

impl ActivityView {
    /// What the activity's internal text is about, for the policy.
    pub fn field_work(&self) -> Scope<'_> {
        Scope::FieldWork {
            district: &self.district_code,
            citizens_only: policy::citizens_only(&self.kind),
        }
    }
}

pub(super) async fn load(pool: &PgPool, id: i64) -> Result<ActivityView, AppError> {
    sqlx::query_as!(
        ActivityView,
        r#"select a.id, a.kind, a.held_on, a.district_code, d.name_en as district_en, d.name_km as district_km,
                  m.name_en as "commune_en?", m.name_km as "commune_km?", a.place,
                  o.name_en as organization, a.study_id, s.title_en as "study_title?", s.title_km as "study_title_km?",
                  a.case_study_id, c.title_en as "case_study_title?", c.title_km as "case_study_title_km?",
                  coalesce(case_study_published(c.status), false) as "published!",
                  a.summary, a.youth, a.persons_with_disabilities,
                  a.rounded_youth as "rounded_youth!",
                  a.rounded_persons_with_disabilities as "rounded_persons_with_disabilities!",
                  a.female_by_group, a.male_by_group, a.rounded_female_by_group, a.rounded_male_by_group
           from activities a
           join districts d on d.code = a.district_code
           join organizations o on o.id = a.facilitating_organization_id
           left join communes m on m.code = a.commune_code
           left join studies s on s.id = a.study_id
           left join case_studies c on c.id = a.case_study_id
           where a.id = $1"#,
        id
    )
    .fetch_optional(pool)
    .await?
    .ok_or(AppError::NotFound)
}

/// A finding as the activity page lists it.
pub struct FindingView {
    pub id: i64,
    pub text_en: String,
    pub text_km: String,
    pub quote: String,
    pub quote_descriptor: String,
    pub public: bool,
    pub themes_en: Vec<String>,
    pub themes_km: Vec<String>,
    pub redacted_at: Option<time::OffsetDateTime>,
    pub redacted_by: Option<String>,
    pub redaction_reason: String,
}

impl FindingView {
    /// "Redacted by … on … (reason)", for a finding whose text was removed.
    pub fn redaction(&self, ctx: &Ctx) -> Option<String> {
        let at = self.redacted_at?;
        Some(ctx.lang.t_with(
            "finding-redacted",
            &[
                ("who", self.redacted_by.clone().unwrap_or_default()),
                ("when", crate::format::timestamp(at)),
                ("reason", self.redaction_reason.clone()),
            ],
        ))
    }
}

async fn findings_of(
    pool: &PgPool,
    activity_id: i64,
    internal: bool,
) -> Result<Vec<FindingView>, AppError> {
    Ok(sqlx::query_as!(
        FindingView,
        r#"select f.id, f.text_en, f.text_km, f.quote, f.quote_descriptor, f.public,
                  f.redacted_at, u.display_name as "redacted_by?", f.redaction_reason,
                  array(select t.name_en from finding_themes ft join themes t on t.id = ft.theme_id
                        where ft.finding_id = f.id order by t.position) as "themes_en!",
                  array(select t.name_km from finding_themes ft join themes t on t.id = ft.theme_id
                        where ft.finding_id = f.id order by t.position) as "themes_km!"
           from findings f left join users u on u.id = f.redacted_by
           where f.activity_id = $1 and (f.public or $2) order by f.id"#,
        activity_id,
        internal,
    )
    .fetch_all(pool)
    .await?)
}

/// The themes a finding can be tagged with: (id, English, Khmer).
pub async fn theme_choices(pool: &PgPool) -> Result<Vec<(i64, String, String)>, AppError> {
    Ok(
        sqlx::query!("select id, name_en, name_km from themes where active order by position, id")
            .fetch_all(pool)
            .await?
            .into_iter()
            .map(|row| (row.id, row.name_en, row.name_km))
            .collect(),
    )
}

#[derive(Template)]
#[template(path = "activities/show.html")]
pub struct ShowPage {
    pub ctx: Ctx,
    pub activity: ActivityView,
    pub participants: Participants,
    pub youth: Shown,
    pub persons_with_disabilities: Shown,
    pub groups: [&'static str; 6],
    pub findings: Vec<FindingView>,
    pub themes: Vec<(i64, String, String)>,
    pub internal: bool,
    pub can_edit: bool,
    /// May correct what was recorded by redacting a finding's text.
    pub can_redact: bool,
    pub finding_form: super::findings::FindingForm,
    pub finding_errors: FieldErrors,
    pub attachments: Vec<crate::attachments::AttachmentLine>,
}

impl ShowPage {
    fn upload_action(&self) -> String {
        format!("/activities/{}/attachments", self.activity.id)
    }

    fn delete_action(&self) -> String {
        format!("/activities/{}/delete", self.activity.id)
    }
}

/// Everything the activity page needs, after checking that `user` may read it.
pub async fn show_page(
    ctx: Ctx,
    user: &CurrentUser,
    pool: &PgPool,
    id: i64,
) -> Result<ShowPage, AppError> {
    let activity = load(pool, id).await?;
    require(
        user,
        Action::ReadActivity,
        Scope::Record {
            district: &activity.district_code,
            published: activity.published,
        },
    )?;
    let internal = policy::allows(user, Action::ReadInternalText, activity.field_work());
    let can_edit = policy::allows(
        user,
        Action::RecordActivity,
        Scope::District(&activity.district_code),
    );
    let blurred = !policy::allows(
        user,
        Action::ReadSmallCounts,
        Scope::District(&activity.district_code),
    );
    Ok(ShowPage {
        participants: Participants::new(
            GroupCounts {
                female: &activity.female_by_group,
                male: &activity.male_by_group,
                rounded_female: &activity.rounded_female_by_group,
                rounded_male: &activity.rounded_male_by_group,
            },
            blurred,
        ),
        youth: Count::new(activity.youth, activity.rounded_youth).shown(blurred),
        persons_with_disabilities: Count::new(
            activity.persons_with_disabilities,
            activity.rounded_persons_with_disabilities,
        )
        .shown(blurred),
        findings: findings_of(pool, id, internal).await?,
        attachments: crate::attachments::of(pool, "activity", id, internal).await?,
        // Only the form for adding a finding needs the themes.
        themes: if can_edit {
            theme_choices(pool).await?
        } else {
            Vec::new()
        },
        can_edit,
        can_redact: policy::allows(user, Action::RedactFinding, Scope::Anything),
        groups: GROUPS,
        internal,
        activity,
        ctx,
        finding_form: Default::default(),
        finding_errors: FieldErrors::default(),
    })
}

pub async fn show(
    ctx: Ctx,
    user: CurrentUser,
    State(pool): State<PgPool>,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    render(&show_page(ctx, &user, &pool, id).await?).map(IntoResponse::into_response)
}

pub async fn revision(
    ctx: Ctx,
    user: CurrentUser,
    State(pool): State<PgPool>,
    Path((id, version)): Path<(i64, i32)>,
) -> Result<Response, AppError> {
    let activity = load(&pool, id).await?;
    require(
        &user,
        Action::ReadActivity,
        Scope::District(&activity.district_code),
    )?;
    require(&user, Action::ReadInternalText, activity.field_work())?;
    revisions::revision_page(
        ctx,
        &pool,
        "activity",
        id,
        version,
        format!("/activities/{id}"),
    )
    .await
}

pub async fn history(
    ctx: Ctx,
    user: CurrentUser,
    State(pool): State<PgPool>,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    let activity = load(&pool, id).await?;
    require(
        &user,
        Action::ReadActivity,
        Scope::District(&activity.district_code),
    )?;
    require(&user, Action::ReadInternalText, activity.field_work())?;
    revisions::history_page(ctx, &pool, "activity", id, format!("/activities/{id}")).await
}
