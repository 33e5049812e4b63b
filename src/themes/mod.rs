//! `/admin/themes`: the list of themes findings are tagged with, in English and
//! Khmer. The secretariat adds, renames, reorders and retires them; a retired
//! theme stays on the findings that have it.

use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use sqlx::PgPool;

use crate::audit::{self, Event};
use crate::auth::policy::{Action, Scope};
use crate::auth::require;
use crate::auth::session::CurrentUser;
use crate::error::{AppError, render};
use crate::state::AppState;
use crate::web::forms::{self, FieldErrors, Form};
use crate::web::versioned::{self, Field, Version};
use crate::web::{Actor, Ctx, flash};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin/themes", get(list).post(create))
        .route("/admin/themes/{id}", post(update))
}

pub struct ThemeRow {
    pub id: i64,
    pub name_en: String,
    pub name_km: String,
    pub position: i32,
    pub active: bool,
    pub findings: i64,
    pub version: i32,
}

#[derive(Debug, Default, Deserialize)]
pub struct ThemeForm {
    #[serde(default)]
    name_en: String,
    #[serde(default)]
    name_km: String,
    #[serde(default)]
    position: String,
    #[serde(default)]
    active: Option<String>,
    #[serde(default)]
    version: String,
}

struct ValidTheme {
    name_en: String,
    name_km: String,
    position: i32,
    active: bool,
}

impl ThemeForm {
    fn parse(&self) -> Result<ValidTheme, FieldErrors> {
        let mut errors = FieldErrors::default();
        let name_en = forms::required_text(&mut errors, "name_en", &self.name_en, 200);
        let name_km = forms::optional_text(&mut errors, "name_km", &self.name_km, 200);
        let position = match self.position.trim() {
            "" => 0,
            text => text
                .parse::<i32>()
                .ok()
                .filter(|n| (0..=1000).contains(n))
                .unwrap_or_else(|| {
                    errors.add("position", "theme-position-range");
                    0
                }),
        };
        errors.into_result(ValidTheme {
            name_en,
            name_km,
            position,
            active: self.active.is_some(),
        })
    }
}

#[derive(Template)]
#[template(path = "themes/list.html")]
struct ListPage {
    ctx: Ctx,
    themes: Vec<ThemeRow>,
    form: ThemeForm,
    errors: FieldErrors,
    /// After a stale save: what someone else saved meanwhile.
    theirs: Option<Vec<Field>>,
}

async fn themes(pool: &PgPool) -> Result<Vec<ThemeRow>, AppError> {
    Ok(sqlx::query_as!(
        ThemeRow,
        r#"select t.id, t.name_en, t.name_km, t.position, t.active,
                  (select count(*) from finding_themes ft where ft.theme_id = t.id) as "findings!",
                  t.version
           from themes t order by t.active desc, t.position, t.id"#
    )
    .fetch_all(pool)
    .await?)
}

async fn list(
    ctx: Ctx,
    user: CurrentUser,
    State(pool): State<PgPool>,
) -> Result<Response, AppError> {
    require(&user, Action::ManageStudies, Scope::Anything)?;
    let page = ListPage {
        ctx,
        themes: themes(&pool).await?,
        form: ThemeForm::default(),
        errors: FieldErrors::default(),
        theirs: None,
    };
    render(&page).map(IntoResponse::into_response)
}

async fn refuse(
    ctx: Ctx,
    pool: &PgPool,
    form: ThemeForm,
    errors: FieldErrors,
    refusal: fn(&ListPage) -> AppError,
) -> Result<Response, AppError> {
    let page = ListPage {
        ctx,
        themes: themes(pool).await?,
        form,
        errors,
        theirs: None,
    };
    Err(refusal(&page))
}

async fn create(
    ctx: Ctx,
    Actor { user, session, ip }: Actor,
    State(pool): State<PgPool>,
    Form(form): Form<ThemeForm>,
) -> Result<Response, AppError> {
    require(&user, Action::ManageStudies, Scope::Anything)?;
    let form = ThemeForm {
        active: Some("on".into()),
        ..form
    };
    let valid = match form.parse() {
        Ok(valid) => valid,
        Err(errors) => {
            return refuse(ctx, &pool, form, errors, AppError::invalid).await;
        }
    };
    let mut tx = pool.begin().await?;
    let id = sqlx::query_scalar!(
        "insert into themes (name_en, name_km, position) values ($1, $2, $3)
         on conflict ((lower(name_en))) do nothing returning id",
        valid.name_en,
        valid.name_km,
        valid.position,
    )
    .fetch_optional(&mut *tx)
    .await?;
    let Some(id) = id else {
        let mut errors = FieldErrors::default();
        errors.add("name_en", "theme-name-taken");
        return refuse(ctx, &pool, form, errors, AppError::stale).await;
    };
    audit::record(
        &mut *tx,
        theme_event(&user, "theme_created", id, &valid.name_en, ip),
    )
    .await?;
    tx.commit().await?;
    flash(&session, "saved", "").await?;
    Ok(Redirect::to("/admin/themes").into_response())
}

/// A theme's values as the conflict box names them.
fn labelled(ctx: &Ctx, theme: &ThemeRow) -> Vec<Field> {
    theme_fields(
        ctx,
        &theme.name_en,
        &theme.name_km,
        theme.position,
        theme.active,
    )
}

fn labelled_valid(ctx: &Ctx, theme: &ValidTheme) -> Vec<Field> {
    theme_fields(
        ctx,
        &theme.name_en,
        &theme.name_km,
        theme.position,
        theme.active,
    )
}

fn theme_fields(
    ctx: &Ctx,
    name_en: &str,
    name_km: &str,
    position: i32,
    active: bool,
) -> Vec<Field> {
    vec![
        (ctx.t("field-name-en"), name_en.to_owned()),
        (ctx.t("field-name-km"), name_km.to_owned()),
        (ctx.t("theme-position"), position.to_string()),
        (
            ctx.t("theme-active"),
            ctx.t(if active { "yes" } else { "no" }),
        ),
    ]
}

fn theme_event(
    user: &CurrentUser,
    action: &'static str,
    id: i64,
    name: &str,
    ip: Option<String>,
) -> Event<'static> {
    Event {
        actor_id: Some(user.id),
        action,
        entity: "theme",
        entity_id: Some(id.to_string()),
        summary: name.to_owned(),
        ip,
    }
}

async fn update(
    ctx: Ctx,
    Actor { user, session, ip }: Actor,
    State(pool): State<PgPool>,
    Path(id): Path<i64>,
    Form(form): Form<ThemeForm>,
) -> Result<Response, AppError> {
    require(&user, Action::ManageStudies, Scope::Anything)?;
    let valid = match form.parse() {
        Ok(valid) => valid,
        Err(errors) => {
            return refuse(ctx, &pool, form, errors, AppError::invalid).await;
        }
    };
    let expected = Version::parse(&form.version)?;
    let mut tx = pool.begin().await?;
    let updated = sqlx::query!(
        "update themes set name_en = $2, name_km = $3, position = $4, active = $5, version = version + 1
         where id = $1 and version = $6
           and not exists (select 1 from themes other where other.id <> $1 and lower(other.name_en) = lower($2))",
        id,
        valid.name_en,
        valid.name_km,
        valid.position,
        valid.active,
        expected.number(),
    )
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if updated == 0 {
        drop(tx);
        let mut rows = themes(&pool).await?;
        let stored = rows
            .iter_mut()
            .find(|row| row.id == id)
            .ok_or(AppError::NotFound)?;
        if stored.version != expected.number() {
            // The row shows what this user typed, at the version now stored.
            let theirs =
                versioned::changed_since(labelled(&ctx, stored), &labelled_valid(&ctx, &valid));
            stored.name_en = valid.name_en;
            stored.name_km = valid.name_km;
            stored.position = valid.position;
            stored.active = valid.active;
            let page = ListPage {
                ctx,
                themes: rows,
                form: ThemeForm::default(),
                errors: FieldErrors::default(),
                theirs: Some(theirs),
            };
            return Err(AppError::stale(&page));
        }
        let mut errors = FieldErrors::default();
        errors.add("name_en", "theme-name-taken");
        return refuse(ctx, &pool, form, errors, AppError::stale).await;
    }
    audit::record(
        &mut *tx,
        theme_event(&user, "theme_updated", id, &valid.name_en, ip),
    )
    .await?;
    tx.commit().await?;
    flash(&session, "saved", "").await?;
    Ok(Redirect::to("/admin/themes").into_response())
}
