//! Adding, editing, removing and reordering the recommendations of a list that
//! is still a draft (or was returned). Each change locks the list first, so no
//! recommendation changes while the list is being submitted or endorsed.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use sqlx::PgPool;

use super::ADDRESSEES;
use super::ListStatus;
use super::show::{ListView, form_choices, load};
use crate::audit::{self, Event};
use crate::auth::policy::{Action, Scope};
use crate::auth::require;
use crate::auth::session::CurrentUser;
use crate::error::{AppError, render};
use crate::state::AppState;
use crate::web::forms::{self, FieldErrors, Form};
use crate::web::versioned::{self, Field, Version};
use crate::web::{Actor, ClientIp, Ctx, flash, once};

/// The recommendation form as sent; evidence comes as repeated `evidence` fields.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default)]
pub struct ItemForm {
    pub text_en: String,
    pub text_km: String,
    pub addressee: String,
    pub theme_id: String,
    pub evidence: Vec<String>,
    pub version: String,
    /// The one-time key that makes a second send of the form save nothing.
    pub once_key: String,
}

impl ItemForm {
    /// The form's values as the conflict box names them.
    fn labelled(&self, ctx: &Ctx, themes: &[(i64, String, String)]) -> Vec<Field> {
        let theme = themes
            .iter()
            .find(|(id, _, _)| id.to_string() == self.theme_id)
            .map(|(_, en, km)| ctx.pick(en, km).to_owned())
            .unwrap_or_default();
        let mut evidence = self.evidence.clone();
        evidence.sort();
        evidence.dedup();
        vec![
            (
                ctx.t("recommendation-text-en"),
                self.text_en.trim().to_owned(),
            ),
            (
                ctx.t("recommendation-text-km"),
                self.text_km.trim().to_owned(),
            ),
            (
                ctx.t("recommendation-addressee"),
                ctx.label("addressee", &self.addressee),
            ),
            (ctx.t("recommendation-theme"), theme),
            (ctx.t("recommendation-evidence"), evidence.join(", ")),
        ]
    }

    pub fn cites(&self, finding: &i64) -> bool {
        self.evidence.iter().any(|id| *id == finding.to_string())
    }

    fn parse(
        &self,
        themes: &[(i64, String, String)],
        evidence: &[(i64, String)],
    ) -> Result<ValidItem, FieldErrors> {
        let mut errors = FieldErrors::default();
        let text_en = forms::optional_text(&mut errors, "text_en", &self.text_en, 2_000);
        let text_km = forms::optional_text(&mut errors, "text_km", &self.text_km, 2_000);
        if text_en.is_empty() && text_km.is_empty() {
            errors.add("text_en", "recommendation-text-required");
        }
        if !ADDRESSEES.contains(&self.addressee.as_str()) {
            errors.add("addressee", "error-choose");
        }
        let theme_id = match self.theme_id.trim() {
            "" => None,
            text => {
                let id = text
                    .parse::<i64>()
                    .ok()
                    .filter(|id| themes.iter().any(|(known, _, _)| known == id));
                if id.is_none() {
                    errors.add("theme_id", "error-choose");
                }
                id
            }
        };
        let mut findings = Vec::new();
        for finding in &self.evidence {
            match finding
                .parse::<i64>()
                .ok()
                .filter(|id| evidence.iter().any(|(known, _)| known == id))
            {
                Some(id) => findings.push(id),
                None => errors.add("evidence", "recommendation-evidence-elsewhere"),
            }
        }
        errors.into_result(ValidItem {
            text_en,
            text_km,
            addressee: self.addressee.clone(),
            theme_id,
            evidence: findings,
        })
    }
}

struct ValidItem {
    text_en: String,
    text_km: String,
    addressee: String,
    theme_id: Option<i64>,
    evidence: Vec<i64>,
}

#[derive(Template)]
#[template(path = "recommendations/item.html")]
struct ItemPage {
    ctx: Ctx,
    list: ListView,
    item_id: Option<i64>,
    form: ItemForm,
    errors: FieldErrors,
    themes: Vec<(i64, String, String)>,
    evidence: Vec<(i64, String)>,
    addressees: [&'static str; 5],
    /// After a stale save: what someone else saved meanwhile.
    theirs: Option<Vec<Field>>,
}

impl ItemPage {
    fn action(&self) -> String {
        match self.item_id {
            Some(item) => format!(
                "/recommendation-lists/{}/recommendations/{item}",
                self.list.id
            ),
            None => format!("/recommendation-lists/{}/recommendations", self.list.id),
        }
    }
}

/// The list, if the user may change its recommendations now.
async fn editable(pool: &PgPool, user: &CurrentUser, id: i64) -> Result<ListView, AppError> {
    let list = load(pool, id).await?;
    require(
        user,
        Action::WriteRecommendations,
        Scope::District(&list.district_code),
    )?;
    if !list.editable() {
        return Err(AppError::IllegalTransition);
    }
    Ok(list)
}

/// Locks the list for the change and checks, under the lock, that it is still editable.
/// Locks a list that is being written, returning its version.
async fn lock_editable(tx: &mut sqlx::PgConnection, id: i64) -> Result<i32, AppError> {
    let list = sqlx::query!(
        r#"select status as "status: ListStatus", version from recommendation_lists where id = $1 for update"#,
        id
    )
    .fetch_one(&mut *tx)
    .await?;
    if list.status.is_editable() {
        Ok(list.version)
    } else {
        Err(AppError::IllegalTransition)
    }
}

async fn item_page(
    ctx: Ctx,
    pool: &PgPool,
    list: ListView,
    item_id: Option<i64>,
    form: ItemForm,
    errors: FieldErrors,
) -> Result<ItemPage, AppError> {
    let (themes, evidence) = form_choices(pool, &list.district_code).await?;
    Ok(ItemPage {
        themes,
        evidence,
        addressees: ADDRESSEES,
        ctx,
        list,
        item_id,
        form,
        errors,
        theirs: None,
    })
}

fn event(
    user: &CurrentUser,
    action: &'static str,
    list_id: i64,
    item: i64,
    ip: Option<String>,
) -> Event<'static> {
    Event {
        actor_id: Some(user.id),
        action,
        entity: "recommendation",
        entity_id: Some(item.to_string()),
        summary: format!("list {list_id}"),
        ip,
    }
}

async fn save_evidence(
    tx: &mut sqlx::PgConnection,
    item: i64,
    evidence: &[i64],
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "delete from recommendation_evidence where recommendation_id = $1",
        item
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query!(
        "insert into recommendation_evidence (recommendation_id, finding_id)
         select $1, unnest($2::bigint[]) on conflict do nothing",
        item,
        evidence
    )
    .execute(&mut *tx)
    .await?;
    Ok(())
}

pub async fn create(
    ctx: Ctx,
    Actor { user, session, ip }: Actor,
    State(pool): State<PgPool>,
    Path(id): Path<i64>,
    Form(form): Form<ItemForm>,
) -> Result<Response, AppError> {
    let list = editable(&pool, &user, id).await?;
    let once_key = once::key(&form.once_key);
    let page = item_page(ctx, &pool, list, None, form, FieldErrors::default()).await?;
    let valid = match page.form.parse(&page.themes, &page.evidence) {
        Ok(valid) => valid,
        Err(errors) => {
            let page = ItemPage { errors, ..page };
            return Err(AppError::invalid(&page));
        }
    };
    once::write_once(&pool, &session, (once_key, user.id), "saved", async |tx| {
        lock_editable(tx, id).await?;
        let item = sqlx::query_scalar!(
            "insert into recommendations (list_id, position, text_en, text_km, addressee, theme_id)
             values ($1, (select coalesce(max(position), 0) + 1 from recommendations where list_id = $1), $2, $3, $4, $5)
             returning id",
            id,
            valid.text_en,
            valid.text_km,
            valid.addressee,
            valid.theme_id,
        )
        .fetch_one(&mut *tx)
        .await?;
        save_evidence(tx, item, &valid.evidence).await?;
        touch(tx, id).await?;
        audit::record(&mut *tx, event(&user, "recommendation_added", id, item, ip)).await?;
        Ok(format!("/recommendation-lists/{id}#recommendation-{item}"))
    })
    .await
}

/// Marks the list as changed.
async fn touch(tx: &mut sqlx::PgConnection, id: i64) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "update recommendation_lists set version = version + 1, updated_at = now() where id = $1",
        id
    )
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// A recommendation as its form shows it.
async fn stored_item(pool: &PgPool, list: i64, item: i64) -> Result<ItemForm, AppError> {
    let row = sqlx::query!(
        r#"select text_en, text_km, addressee, theme_id, version,
                  array(select finding_id::text from recommendation_evidence where recommendation_id = r.id) as "evidence!"
           from recommendations r where id = $1 and list_id = $2"#,
        item,
        list
    )
    .fetch_optional(pool)
    .await?
    .ok_or(AppError::NotFound)?;
    Ok(ItemForm {
        text_en: row.text_en,
        text_km: row.text_km,
        addressee: row.addressee,
        theme_id: row.theme_id.map(|id| id.to_string()).unwrap_or_default(),
        evidence: row.evidence,
        version: row.version.to_string(),
        once_key: String::new(),
    })
}

pub async fn edit_form(
    ctx: Ctx,
    user: CurrentUser,
    State(pool): State<PgPool>,
    Path((id, item)): Path<(i64, i64)>,
) -> Result<Response, AppError> {
    let list = editable(&pool, &user, id).await?;
    let form = stored_item(&pool, id, item).await?;
    render(&item_page(ctx, &pool, list, Some(item), form, FieldErrors::default()).await?)
        .map(IntoResponse::into_response)
}

pub async fn update(
    ctx: Ctx,
    Actor { user, session, ip }: Actor,
    State(pool): State<PgPool>,
    Path((id, item)): Path<(i64, i64)>,
    Form(form): Form<ItemForm>,
) -> Result<Response, AppError> {
    let list = editable(&pool, &user, id).await?;
    let page = item_page(ctx, &pool, list, Some(item), form, FieldErrors::default()).await?;
    let valid = match page.form.parse(&page.themes, &page.evidence) {
        Ok(valid) => valid,
        Err(errors) => {
            let page = ItemPage { errors, ..page };
            return Err(AppError::invalid(&page));
        }
    };
    let expected = Version::parse(&page.form.version)?;
    let mut tx = pool.begin().await?;
    lock_editable(&mut tx, id).await?;
    let updated = sqlx::query!(
        "update recommendations set text_en = $3, text_km = $4, addressee = $5, theme_id = $6,
                                    version = version + 1
         where id = $1 and list_id = $2 and version = $7",
        item,
        id,
        valid.text_en,
        valid.text_km,
        valid.addressee,
        valid.theme_id,
        expected.number(),
    )
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if updated == 0 {
        drop(tx);
        let current = stored_item(&pool, id, item).await?;
        let theirs = versioned::changed_since(
            current.labelled(&page.ctx, &page.themes),
            &page.form.labelled(&page.ctx, &page.themes),
        );
        let page = ItemPage {
            theirs: Some(theirs),
            form: ItemForm {
                version: current.version,
                ..page.form
            },
            ..page
        };
        return Err(AppError::stale(&page));
    }
    save_evidence(&mut tx, item, &valid.evidence).await?;
    touch(&mut tx, id).await?;
    audit::record(
        &mut *tx,
        event(&user, "recommendation_updated", id, item, ip),
    )
    .await?;
    tx.commit().await?;
    flash(&session, "saved", "").await?;
    Ok(Redirect::to(&format!("/recommendation-lists/{id}#recommendation-{item}")).into_response())
}

pub async fn delete(
    Actor { user, session, ip }: Actor,
    State(pool): State<PgPool>,
    Path((id, item)): Path<(i64, i64)>,
) -> Result<Response, AppError> {
    editable(&pool, &user, id).await?;
    let mut tx = pool.begin().await?;
    lock_editable(&mut tx, id).await?;
    let deleted = sqlx::query!(
        "delete from recommendations where id = $1 and list_id = $2",
        item,
        id
    )
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if deleted == 0 {
        return Err(AppError::NotFound);
    }
    touch(&mut tx, id).await?;
    audit::record(
        &mut *tx,
        event(&user, "recommendation_removed", id, item, ip),
    )
    .await?;
    tx.commit().await?;
    flash(&session, "saved", "").await?;
    Ok(Redirect::to(&format!("/recommendation-lists/{id}")).into_response())
}

#[derive(Debug, Default, Deserialize)]
pub struct MoveForm {
    #[serde(default)]
    direction: String,
    #[serde(default)]
    version: String,
}

/// Swaps a recommendation with its neighbour above or below. Sent from a page
/// drawn before the list last changed (a double click, another writer's
/// edit), it moves nothing: the list comes back as it is now.
pub async fn move_item(
    ctx: Ctx,
    user: CurrentUser,
    ClientIp(ip): ClientIp,
    State(state): State<AppState>,
    Path((id, item)): Path<(i64, i64)>,
    Form(form): Form<MoveForm>,
) -> Result<Response, AppError> {
    let pool = state.pool.clone();
    editable(&pool, &user, id).await?;
    let up = match form.direction.as_str() {
        "up" => true,
        "down" => false,
        _ => return Err(AppError::BadRequest),
    };
    let mut tx = pool.begin().await?;
    let version = lock_editable(&mut tx, id).await?;
    if form.version.trim() != version.to_string() {
        drop(tx);
        let page =
            super::show::page(ctx, &user, &state, id, Some(super::show::Stale::Order)).await?;
        return Err(AppError::stale(&page));
    }
    let swapped = sqlx::query!(
        "with this as (select id, position from recommendations where id = $1 and list_id = $2),
              other as (select r.id, r.position from recommendations r, this
                        where r.list_id = $2 and r.id <> this.id
                          and (case when $3 then r.position < this.position else r.position > this.position end)
                        order by case when $3 then -r.position else r.position end limit 1)
         update recommendations r set position = case when r.id = this.id then other.position else this.position end
         from this, other where r.id in (this.id, other.id)",
        item,
        id,
        up,
    )
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if swapped == 2 {
        touch(&mut tx, id).await?;
        audit::record(&mut *tx, event(&user, "recommendation_moved", id, item, ip)).await?;
    }
    tx.commit().await?;
    Ok(Redirect::to(&format!("/recommendation-lists/{id}#recommendation-{item}")).into_response())
}
