//! `/admin/users`: list, create and edit accounts. A new account's password is
//! generated and shown once; access (deactivation, resets) is in `access`.

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use sqlx::PgPool;
use tower_sessions::Session;

use super::{OrganizationOption, require_admin};
use crate::account::links::{self, Purpose};
use crate::audit::{self, Event};
use crate::auth::password;
use crate::auth::policy::Role;
use crate::auth::session::CurrentUser;
use crate::error::{Answer, AppError, render};
use crate::i18n::Lang;
use crate::state::AppState;
use crate::web::forms::{self, FieldErrors, Form};
use crate::web::versioned::{self, Field, Version};
use crate::web::{ClientIp, Ctx, flash, once};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin/users", get(list).post(create))
        .route("/admin/users/new", get(new_form))
        .route("/admin/users/{id}", get(edit_form).post(update))
        .route(
            "/admin/users/{id}/deactivate",
            post(super::access::deactivate),
        )
        .route("/admin/users/{id}/activate", post(super::access::activate))
        .route(
            "/admin/users/{id}/reset-password",
            post(super::access::reset_password),
        )
}

pub struct UserRow {
    pub id: i64,
    pub email: String,
    pub display_name: String,
    pub role: String,
    pub organization: String,
    pub active: bool,
    pub locked: bool,
}

#[derive(Debug, Default, Deserialize)]
pub struct Filters {
    #[serde(default)]
    q: String,
    #[serde(default)]
    role: String,
}

#[derive(Template)]
#[template(path = "admin/users.html")]
struct ListPage {
    ctx: Ctx,
    filters: Filters,
    users: Vec<UserRow>,
    roles: [Role; 5],
}

async fn list(
    ctx: Ctx,
    user: CurrentUser,
    State(pool): State<PgPool>,
    Query(filters): Query<Filters>,
) -> Result<Response, AppError> {
    require_admin(&user)?;
    let users = sqlx::query_as!(
        UserRow,
        r#"select u.id, u.email, u.display_name, u.role, o.name_en as organization, u.active,
                  coalesce(u.locked_until > now(), false) as "locked!"
           from users u join organizations o on o.id = u.organization_id
           where ($1 = '' or u.email ilike $1 or u.display_name ilike $1)
             and ($2 = '' or u.role = $2)
           order by u.active desc, lower(u.display_name)"#,
        forms::contains_pattern(&filters.q),
        filters.role,
    )
    .fetch_all(&pool)
    .await?;
    Ok(render(&ListPage {
        ctx,
        filters,
        users,
        roles: Role::ALL,
    })?
    .into_response())
}

/// The user form as sent: every field a string, so it can be shown back as typed.
#[derive(Debug, Default, Deserialize)]
pub struct UserForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    organization_id: String,
    #[serde(default)]
    preferred_language: String,
    #[serde(default)]
    version: String,
    /// A new user's form carries a one-time key (`web::once`).
    #[serde(default)]
    once_key: String,
}

/// A user form that passed every check.
struct ValidUser {
    email: String,
    display_name: String,
    role: Role,
    organization_id: i64,
    language: Lang,
}

impl UserForm {
    /// The form's values as the conflict box names them.
    fn labelled(&self, lang: Lang, organizations: &[OrganizationOption]) -> Vec<Field> {
        let organization = organizations
            .iter()
            .find(|option| option.id.to_string() == self.organization_id)
            .map_or_else(
                || self.organization_id.clone(),
                |option| option.name_en.clone(),
            );
        vec![
            (lang.t("field-email"), self.email.trim().to_lowercase()),
            (lang.t("field-name"), self.display_name.trim().to_owned()),
            (lang.t("field-role"), lang.t(&format!("role-{}", self.role))),
            (lang.t("field-organization"), organization),
            (lang.t("field-language"), self.preferred_language.clone()),
        ]
    }

    fn parse(&self, organizations: &[OrganizationOption]) -> Result<ValidUser, FieldErrors> {
        let mut errors = FieldErrors::default();
        let email = forms::email(&mut errors, "email", &self.email);
        let display_name =
            forms::required_text(&mut errors, "display_name", &self.display_name, 200);
        let role = Role::parse(&self.role);
        if role.is_none() {
            errors.add("role", "error-choose");
        }
        let organization = self.organization_id.parse::<i64>().ok().and_then(|id| {
            organizations
                .iter()
                .find(|organization| organization.id == id)
        });
        match (organization, role) {
            (None, _) => errors.add("organization_id", "error-choose"),
            (Some(organization), Some(role)) if organization.kind != role.organization_kind() => {
                errors.add("organization_id", "user-organization-kind-mismatch")
            }
            _ => {}
        }
        // No choice sent is the default; a choice that is none of ours is refused.
        let language = match self.preferred_language.trim() {
            "" => Some(Lang::default()),
            code => Lang::parse(code),
        };
        if language.is_none() {
            errors.add("preferred_language", "error-choose");
        }
        match (role, organization, language) {
            (Some(role), Some(organization), Some(language)) if errors.is_empty() => {
                Ok(ValidUser {
                    email,
                    display_name,
                    role,
                    organization_id: organization.id,
                    language,
                })
            }
            _ => Err(errors),
        }
    }
}

#[derive(Template)]
#[template(path = "admin/user_form.html")]
struct FormPage {
    ctx: Ctx,
    /// `None` for a new user.
    user_id: Option<i64>,
    active: bool,
    form: UserForm,
    errors: FieldErrors,
    organizations: Vec<OrganizationOption>,
    roles: [Role; 5],
    /// After a stale save: what someone else saved meanwhile.
    theirs: Option<Vec<Field>>,
}

impl FormPage {
    fn new(ctx: Ctx, form: UserForm, organizations: Vec<OrganizationOption>) -> Self {
        FormPage {
            ctx,
            user_id: None,
            active: true,
            form,
            errors: FieldErrors::default(),
            organizations,
            roles: Role::ALL,
            theirs: None,
        }
    }
}

async fn organizations(pool: &PgPool) -> Result<Vec<OrganizationOption>, AppError> {
    Ok(sqlx::query_as!(
        OrganizationOption,
        "select id, name_en, kind from organizations order by kind, lower(name_en)"
    )
    .fetch_all(pool)
    .await?)
}

async fn new_form(
    ctx: Ctx,
    user: CurrentUser,
    State(pool): State<PgPool>,
) -> Result<Response, AppError> {
    require_admin(&user)?;
    let form = UserForm {
        preferred_language: "km".into(),
        ..UserForm::default()
    };
    FormPage::new(ctx, form, organizations(&pool).await?).answer()
}

async fn create(
    ctx: Ctx,
    admin: CurrentUser,
    session: Session,
    ClientIp(ip): ClientIp,
    State(pool): State<PgPool>,
    Form(form): Form<UserForm>,
) -> Result<Response, AppError> {
    require_admin(&admin)?;
    let once_key = once::key(&form.once_key);
    let organizations = organizations(&pool).await?;
    let valid = match form.parse(&organizations) {
        Ok(valid) => valid,
        Err(errors) => {
            let page = FormPage {
                errors,
                ..FormPage::new(ctx, form, organizations)
            };
            return Err(AppError::invalid(&page));
        }
    };
    // Nobody knows this password: the person chooses theirs through the invitation.
    let hash = password::hash(password::generate()).await?;
    let mut tx = pool.begin().await?;
    // Sent twice, the form invites once, and leads to the account it made.
    if let Some(first) = once::claim(&mut tx, once_key.as_deref(), admin.id).await? {
        return once::already_saved(&session, &first).await;
    }
    let id = insert(
        &mut tx,
        &NewUser {
            email: &valid.email,
            display_name: &valid.display_name,
            role: valid.role,
            organization_id: valid.organization_id,
            language: valid.language,
            password_hash: &hash,
        },
    )
    .await?;
    let Some(id) = id else {
        let mut errors = FieldErrors::default();
        errors.add("email", "user-email-taken");
        let page = FormPage {
            errors,
            ..FormPage::new(ctx, form, organizations)
        };
        return Err(AppError::stale(&page));
    };
    audit::record(
        &mut *tx,
        user_event(
            admin.id,
            "user_created",
            id,
            format!("{} ({})", valid.email, valid.role.code()),
            ip,
        ),
    )
    .await?;
    links::send(&mut tx, id, Purpose::Invitation).await?;
    once::done(&mut tx, once_key.as_deref(), &format!("/admin/users/{id}")).await?;
    tx.commit().await?;
    Ok(render(&Invited {
        ctx,
        user_id: id,
        email: valid.email,
    })?
    .into_response())
}

/// The answer to creating an account: the invitation is on its way.
#[derive(Template)]
#[template(path = "admin/invited.html")]
struct Invited {
    ctx: Ctx,
    user_id: i64,
    email: String,
}

pub(super) fn user_event(
    actor_id: i64,
    action: &'static str,
    id: i64,
    summary: String,
    ip: Option<String>,
) -> Event<'static> {
    Event {
        actor_id: Some(actor_id),
        action,
        entity: "user",
        entity_id: Some(id.to_string()),
        summary,
        ip,
    }
}

/// An account about to be created, its password already hashed.
pub struct NewUser<'a> {
    pub email: &'a str,
    pub display_name: &'a str,
    pub role: Role,
    pub organization_id: i64,
    pub language: Lang,
    pub password_hash: &'a str,
}

/// Creates an account; `None` when the e-mail is taken. Used by the form, the
/// `create-user` command and the demo data.
pub async fn insert(
    tx: &mut sqlx::PgConnection,
    user: &NewUser<'_>,
) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar!(
        "insert into users (email, display_name, role, organization_id, preferred_language, password_hash)
         values (lower($1), $2, $3, $4, $5, $6)
         on conflict ((lower(email))) do nothing
         returning id",
        user.email,
        user.display_name,
        user.role.code(),
        user.organization_id,
        user.language.code(),
        user.password_hash,
    )
    .fetch_optional(tx)
    .await
}

async fn edit_form(
    ctx: Ctx,
    admin: CurrentUser,
    State(pool): State<PgPool>,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    require_admin(&admin)?;
    let (form, active) = stored_form(&pool, id).await?;
    let page = FormPage {
        user_id: Some(id),
        active,
        ..FormPage::new(ctx, form, organizations(&pool).await?)
    };
    page.answer()
}

/// The user as stored, in the shape of the form.
async fn stored_form(pool: &PgPool, id: i64) -> Result<(UserForm, bool), AppError> {
    let row = sqlx::query!(
        "select email, display_name, role, organization_id, preferred_language, version, active
         from users where id = $1",
        id
    )
    .fetch_optional(pool)
    .await?
    .ok_or(AppError::NotFound)?;
    let form = UserForm {
        email: row.email,
        display_name: row.display_name,
        role: row.role,
        organization_id: row.organization_id.to_string(),
        preferred_language: row.preferred_language,
        version: row.version.to_string(),
        once_key: String::new(),
    };
    Ok((form, row.active))
}

async fn update(
    ctx: Ctx,
    admin: CurrentUser,
    session: Session,
    ClientIp(ip): ClientIp,
    State(pool): State<PgPool>,
    Path(id): Path<i64>,
    Form(form): Form<UserForm>,
) -> Result<Response, AppError> {
    require_admin(&admin)?;
    let (_, active) = stored_form(&pool, id).await?;
    let organizations = organizations(&pool).await?;
    let lang = ctx.lang;
    let page = |form, errors, organizations, theirs| FormPage {
        user_id: Some(id),
        active,
        errors,
        theirs,
        ..FormPage::new(ctx, form, organizations)
    };
    let valid = match form.parse(&organizations) {
        Ok(valid) => valid,
        Err(errors) => {
            return Err(AppError::invalid(&page(form, errors, organizations, None)));
        }
    };
    let expected = Version::parse(&form.version)?;
    let mut tx = pool.begin().await?;
    let email_taken = sqlx::query_scalar!(
        r#"select exists(select 1 from users where lower(email) = $1 and id <> $2) as "taken!""#,
        valid.email,
        id
    )
    .fetch_one(&mut *tx)
    .await?;
    if email_taken {
        let mut errors = FieldErrors::default();
        errors.add("email", "user-email-taken");
        return Err(AppError::stale(&page(form, errors, organizations, None)));
    }
    let updated = sqlx::query!(
        "update users set email = $1, display_name = $2, role = $3, organization_id = $4,
                          preferred_language = $5, version = version + 1
         where id = $6 and version = $7",
        valid.email,
        valid.display_name,
        valid.role.code(),
        valid.organization_id,
        valid.language.code(),
        id,
        expected.number(),
    )
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if updated == 0 {
        drop(tx);
        let (current, _) = stored_form(&pool, id).await?;
        let theirs = versioned::changed_since(
            current.labelled(lang, &organizations),
            &form.labelled(lang, &organizations),
        );
        let kept = UserForm {
            version: current.version,
            ..form
        };
        return Err(AppError::stale(&page(
            kept,
            FieldErrors::default(),
            organizations,
            Some(theirs),
        )));
    }
    audit::record(
        &mut *tx,
        user_event(
            admin.id,
            "user_updated",
            id,
            format!("{} ({})", valid.email, valid.role.code()),
            ip,
        ),
    )
    .await?;
    tx.commit().await?;
    flash(&session, "saved", "").await?;
    Ok(Redirect::to(&format!("/admin/users/{id}")).into_response())
}
