//! Photos (JPEG, PNG, WebP), documents (PDF) and tally sheets (XLSX without
//! macros) attached to activities and case studies: checked for size and for type by their content, stored under
//! generated names in the file store (a folder, or S3-compatible storage), and
//! handed out as downloads only to those who may read what they belong to.

mod download;
mod manage;
pub mod remove;
mod sniff;
mod upload;

pub use download::public_photo;
pub use sniff::{XLSX, plain_workbook};
pub use upload::{NewAttachment, Upload, insert, read_upload, store};

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use sqlx::PgPool;
use time::OffsetDateTime;

use crate::auth::policy::{self, Action, Scope};
use crate::auth::session::CurrentUser;
use crate::error::AppError;
use crate::state::AppState;

/// The routes that take a file: their bodies may be as large as an upload
/// (`web::input::BodyLimits`). The last brings in field data (`imports`).
pub const UPLOAD_ROUTES: [&str; 8] = [
    "/activities/{id}/attachments",
    "/events/{id}/attachments",
    "/agreements/{id}/attachments",
    "/actions/{id}/updates/{update}/attachments",
    "/case-studies/{id}/attachments",
    "/recommendation-lists/{id}/attachments",
    "/recommendation-lists/{id}/endorse-on-paper",
    "/activities/import",
];

pub fn routes() -> Router<AppState> {
    // The body was read within its limit before the handler runs
    // (`web::csrf::protect`); axum's own default limit would cut it shorter.
    Router::new()
        .route(
            "/activities/{id}/attachments",
            post(upload::upload_to_activity).layer(DefaultBodyLimit::disable()),
        )
        .route(
            "/actions/{id}/updates/{update}/attachments",
            post(upload::upload_to_update).layer(DefaultBodyLimit::disable()),
        )
        .route(
            "/case-studies/{id}/attachments",
            post(upload::upload_to_case_study).layer(DefaultBodyLimit::disable()),
        )
        .route(
            "/recommendation-lists/{id}/attachments",
            post(upload::upload_to_list).layer(DefaultBodyLimit::disable()),
        )
        .route(
            "/events/{id}/attachments",
            post(upload::upload_to_event).layer(DefaultBodyLimit::disable()),
        )
        .route(
            "/agreements/{id}/attachments",
            post(upload::upload_to_agreement).layer(DefaultBodyLimit::disable()),
        )
        .route("/attachments/{id}", get(download::download))
        .route("/attachments/{id}/preview", get(download::preview))
        .route("/attachments/{id}/withdraw", post(manage::withdraw))
        .route("/attachments/{id}/delete", post(manage::delete))
}

/// What an attachment belongs to, with what the policy needs to know of it.
struct Parent {
    kind: &'static str,
    id: i64,
    district: String,
    published: bool,
    /// For a progress report: its action.
    action: Option<ActionOf>,
    /// Whether its files not marked public record what citizens said alone.
    citizens_only: bool,
    /// For an event or an agreement: what the policy asks of it instead of a
    /// district (`Action::ReadProgramme`).
    programme: Option<Programme>,
}

/// An event or agreement, as the policy sees it: whether the reader's
/// organization takes part, and whether the record is for everyone signed in
/// (an event always; an agreement when its project is published). Its files
/// not marked public are for those taking part.
struct Programme {
    takes_part: bool,
    published: bool,
}

/// The action a progress report belongs to, with what the policy asks of it.
struct ActionOf {
    id: i64,
    owner: i64,
    /// A joint action's district, whose both sides report.
    joint_district: Option<String>,
}

impl Parent {
    async fn activity(pool: &PgPool, id: i64) -> Result<Parent, AppError> {
        let row = sqlx::query!(
            r#"select a.district_code, a.kind, coalesce(case_study_published(c.status), false) as "published!"
               from activities a left join case_studies c on c.id = a.case_study_id where a.id = $1"#,
            id
        )
        .fetch_optional(pool)
        .await?
        .ok_or(AppError::NotFound)?;
        Ok(Parent {
            kind: "activity",
            id,
            district: row.district_code,
            published: row.published,
            action: None,
            citizens_only: policy::citizens_only(&row.kind),
            programme: None,
        })
    }

    async fn case_study(pool: &PgPool, id: i64) -> Result<Parent, AppError> {
        let row = sqlx::query!(
            r#"select district_code, case_study_published(status) as "published!"
               from case_studies where id = $1"#,
            id
        )
        .fetch_optional(pool)
        .await?
        .ok_or(AppError::NotFound)?;
        Ok(Parent {
            kind: "case_study",
            id,
            district: row.district_code,
            published: row.published,
            action: None,
            // Compiled mostly from FGDs and interviews.
            citizens_only: true,
            programme: None,
        })
    }

    /// Minutes and signed letters of a recommendation list.
    async fn recommendation_list(pool: &PgPool, id: i64) -> Result<Parent, AppError> {
        let row = sqlx::query!(
            r#"select district_code, status in ('endorsed', 'superseded') as "published!"
               from recommendation_lists where id = $1"#,
            id
        )
        .fetch_optional(pool)
        .await?
        .ok_or(AppError::NotFound)?;
        Ok(Parent {
            kind: "recommendation_list",
            id,
            district: row.district_code,
            published: row.published,
            action: None,
            citizens_only: false,
            programme: None,
        })
    }

    /// Evidence for a progress report. Plans are read by everyone signed in.
    async fn action_update(pool: &PgPool, id: i64) -> Result<Parent, AppError> {
        let row = sqlx::query!(
            r#"select a.id as action_id, a.owner_organization_id,
                      case when a.lead = 'joint' then p.district_code end as joint_district,
                      coalesce(p.district_code, p.province_code) as "district!"
               from action_updates u join actions a on a.id = u.action_id join action_plans p on p.id = a.plan_id
               where u.id = $1"#,
            id
        )
        .fetch_optional(pool)
        .await?
        .ok_or(AppError::NotFound)?;
        Ok(Parent {
            kind: "action_update",
            id,
            district: row.district,
            published: true,
            action: Some(ActionOf {
                id: row.action_id,
                owner: row.owner_organization_id,
                joint_district: row.joint_district,
            }),
            citizens_only: false,
            programme: None,
        })
    }

    /// Photos and minutes of an event, read by `organization`'s people.
    async fn event(pool: &PgPool, id: i64, organization: i64) -> Result<Parent, AppError> {
        let takes_part = sqlx::query_scalar!(
            r#"select takes_part_in_event(id, $2) as "takes_part!" from events where id = $1"#,
            id,
            organization
        )
        .fetch_optional(pool)
        .await?
        .ok_or(AppError::NotFound)?;
        Ok(Parent::of_programme("event", id, takes_part, true))
    }

    /// The signed document of an agreement, read by `organization`'s people.
    async fn agreement(pool: &PgPool, id: i64, organization: i64) -> Result<Parent, AppError> {
        let row = sqlx::query!(
            r#"select takes_part_in_agreement(a.id, $2) as "takes_part!",
                      coalesce(p.published, false) as "published!"
               from agreements a left join projects p on p.id = a.project_id where a.id = $1"#,
            id,
            organization
        )
        .fetch_optional(pool)
        .await?
        .ok_or(AppError::NotFound)?;
        Ok(Parent::of_programme(
            "agreement",
            id,
            row.takes_part,
            row.published,
        ))
    }

    fn of_programme(kind: &'static str, id: i64, takes_part: bool, published: bool) -> Parent {
        Parent {
            kind,
            id,
            district: String::new(),
            published,
            action: None,
            citizens_only: false,
            programme: Some(Programme {
                takes_part,
                published,
            }),
        }
    }

    /// May `user` read the record, and (`internal`) its files not marked public?
    fn may_read(&self, user: &CurrentUser, internal: bool) -> bool {
        match &self.programme {
            Some(programme) => policy::allows(
                user,
                Action::ReadProgramme,
                Scope::Programme {
                    takes_part: programme.takes_part,
                    published: programme.published && !internal,
                },
            ),
            None => {
                policy::allows(
                    user,
                    self.read_action(),
                    Scope::Record {
                        district: &self.district,
                        published: self.published,
                    },
                ) && (!internal
                    || policy::allows(user, Action::ReadInternalText, self.field_work()))
            }
        }
    }

    /// What its files not marked public are about, for the policy.
    fn field_work(&self) -> Scope<'_> {
        Scope::FieldWork {
            district: &self.district,
            citizens_only: self.citizens_only,
        }
    }

    /// May `user` attach files to this parent?
    fn may_write(&self, user: &CurrentUser) -> bool {
        if self.programme.is_some() {
            return policy::allows(user, Action::ManageProgrammes, Scope::Anything);
        }
        match (self.kind, &self.action) {
            ("activity", _) => policy::allows(
                user,
                Action::RecordActivity,
                Scope::District(&self.district),
            ),
            (_, Some(action)) => policy::allows(
                user,
                Action::ReportProgress,
                Scope::ActionOf {
                    owner: action.owner,
                    joint_district: action.joint_district.as_deref(),
                },
            ),
            ("recommendation_list", _) => policy::allows(
                user,
                Action::WriteRecommendations,
                Scope::District(&self.district),
            ),
            _ => policy::allows(
                user,
                Action::WriteCaseStudy,
                Scope::District(&self.district),
            ),
        }
    }

    fn read_action(&self) -> Action {
        match self.kind {
            "activity" => Action::ReadActivity,
            "case_study" => Action::ReadCaseStudy,
            _ => Action::ReadRecommendations,
        }
    }

    fn page(&self) -> String {
        match (self.kind, &self.action) {
            ("activity", _) => format!("/activities/{}", self.id),
            (_, Some(action)) => format!("/actions/{}", action.id),
            ("recommendation_list", _) => format!("/recommendation-lists/{}", self.id),
            ("event", _) => format!("/events/{}", self.id),
            ("agreement", _) => format!("/agreements/{}", self.id),
            _ => format!("/case-studies/{}", self.id),
        }
    }

    fn upload_action(&self) -> String {
        match &self.action {
            Some(action) => format!("/actions/{}/updates/{}/attachments", action.id, self.id),
            None => format!("{}/attachments", self.page()),
        }
    }
}

/// An attachment as a page lists it.
#[derive(Clone)]
pub struct AttachmentLine {
    pub id: i64,
    pub content_type: String,
    pub size_bytes: i64,
    pub caption: String,
    pub public: bool,
    pub uploaded_at: OffsetDateTime,
}

impl AttachmentLine {
    pub fn size_text(&self) -> String {
        size_text(self.size_bytes)
    }

    pub fn is_image(&self) -> bool {
        self.content_type.starts_with("image/")
    }
}

/// "1.5 MB" or "200 KB".
fn size_text(bytes: i64) -> String {
    if bytes >= 1024 * 1024 {
        format!("{:.1} MB", bytes as f64 / (1024.0 * 1024.0))
    } else {
        format!("{} KB", (bytes + 1023) / 1024)
    }
}

/// The attachments of several progress reports, for the action page.
pub async fn of_updates(
    pool: &PgPool,
    updates: &[i64],
    internal: bool,
) -> Result<Vec<(i64, AttachmentLine)>, AppError> {
    Ok(sqlx::query!(
        "select parent_id, id, content_type, size_bytes, caption, public, uploaded_at from attachments
         where parent = 'action_update' and parent_id = any($1) and (public or $2) order by id",
        updates,
        internal
    )
    .fetch_all(pool)
    .await?
    .into_iter()
    .map(|row| {
        let line = AttachmentLine {
            id: row.id,
            content_type: row.content_type,
            size_bytes: row.size_bytes,
            caption: row.caption,
            public: row.public,
            uploaded_at: row.uploaded_at,
        };
        (row.parent_id, line)
    })
    .collect())
}

/// The attachments of a record that the reader may see: donors only public ones.
pub async fn of(
    pool: &PgPool,
    parent: &str,
    parent_id: i64,
    internal: bool,
) -> Result<Vec<AttachmentLine>, AppError> {
    Ok(sqlx::query_as!(
        AttachmentLine,
        "select id, content_type, size_bytes, caption, public, uploaded_at from attachments
         where parent = $1 and parent_id = $2 and (public or $3) order by id",
        parent,
        parent_id,
        internal
    )
    .fetch_all(pool)
    .await?)
}
