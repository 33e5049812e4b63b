//! Adding an anonymized finding to an activity: text in English and/or Khmer,
//! one or more themes, and optionally a quote with a descriptor. There is no
//! field for a respondent's name or contact.

use axum::extract::{Path, State};
use axum::response::Response;
use serde::Deserialize;
use sqlx::PgPool;

use super::show::{show_page, theme_choices};
use crate::audit::{self, Event};
use crate::auth::policy::{Action, Scope};
use crate::auth::require;
use crate::auth::session::CurrentUser;
use crate::error::AppError;
use crate::revisions::{self, Snapshot};
use crate::web::forms::{self, FieldErrors, Form};
use crate::web::{Actor, Ctx, once};

/// The finding form as sent; themes come as repeated `themes` fields.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default)]
pub struct FindingForm {
    pub text_en: String,
    pub text_km: String,
    pub quote: String,
    pub quote_descriptor: String,
    pub themes: Vec<String>,
    #[serde(deserialize_with = "forms::checkbox")]
    pub public: bool,
    pub version: String,
    /// The one-time key that makes a second send of the form save nothing.
    pub once_key: String,
}

impl FindingForm {
    pub fn has_theme(&self, id: &i64) -> bool {
        self.themes.iter().any(|theme| *theme == id.to_string())
    }

    pub(crate) fn parse(
        &self,
        known_themes: &[(i64, String, String)],
    ) -> Result<ValidFinding, FieldErrors> {
        let mut errors = FieldErrors::default();
        let text_en = forms::optional_text(&mut errors, "text_en", &self.text_en, 5_000);
        let text_km = forms::optional_text(&mut errors, "text_km", &self.text_km, 5_000);
        if text_en.is_empty() && text_km.is_empty() {
            errors.add("text_en", "finding-text-required");
        }
        let quote = forms::optional_text(&mut errors, "quote", &self.quote, 2_000);
        let quote_descriptor =
            forms::optional_text(&mut errors, "quote_descriptor", &self.quote_descriptor, 200);
        if !quote.is_empty() && quote_descriptor.is_empty() {
            errors.add("quote_descriptor", "finding-descriptor-required");
        }
        let mut themes = Vec::new();
        for theme in &self.themes {
            match theme
                .parse::<i64>()
                .ok()
                .filter(|id| known_themes.iter().any(|(known, _, _)| known == id))
            {
                Some(id) => themes.push(id),
                None => errors.add("themes", "error-choose"),
            }
        }
        if self.themes.is_empty() {
            errors.add("themes", "finding-theme-required");
        }
        errors.into_result(ValidFinding {
            text_en,
            text_km,
            quote,
            quote_descriptor,
            themes,
            public: self.public,
        })
    }
}

pub(crate) struct ValidFinding {
    pub text_en: String,
    pub text_km: String,
    pub quote: String,
    pub quote_descriptor: String,
    pub themes: Vec<i64>,
    pub public: bool,
}

impl ValidFinding {
    /// The finding as its history keeps it, themes by name.
    pub(crate) fn snapshot(&self, known_themes: &[(i64, String, String)]) -> Snapshot {
        let themes: Vec<&str> = known_themes
            .iter()
            .filter(|(id, _, _)| self.themes.contains(id))
            .map(|(_, name_en, _)| name_en.as_str())
            .collect();
        Snapshot::from([
            ("text_en".into(), self.text_en.clone()),
            ("text_km".into(), self.text_km.clone()),
            ("quote".into(), self.quote.clone()),
            ("quote_descriptor".into(), self.quote_descriptor.clone()),
            ("themes".into(), themes.join(", ")),
            (
                "public".into(),
                if self.public { "yes" } else { "no" }.into(),
            ),
        ])
    }
}

pub async fn create(
    ctx: Ctx,
    Actor { user, session, ip }: Actor,
    State(pool): State<PgPool>,
    Path(activity_id): Path<i64>,
    Form(form): Form<FindingForm>,
) -> Result<Response, AppError> {
    let district = sqlx::query_scalar!(
        "select district_code from activities where id = $1",
        activity_id
    )
    .fetch_optional(&pool)
    .await?
    .ok_or(AppError::NotFound)?;
    require(&user, Action::RecordActivity, Scope::District(&district))?;
    let once_key = once::key(&form.once_key);
    let known_themes = theme_choices(&pool).await?;
    let valid = match form.parse(&known_themes) {
        Ok(valid) => valid,
        Err(errors) => {
            let page = super::show::ShowPage {
                finding_form: form,
                finding_errors: errors,
                ..show_page(ctx, &user, &pool, activity_id).await?
            };
            return Err(AppError::invalid(&page));
        }
    };
    let snapshot = valid.snapshot(&known_themes);
    once::write_once(&pool, &session, (once_key, user.id), "saved", async |tx| {
        insert(tx, (activity_id, &valid, &snapshot), &user, None, ip).await?;
        Ok(format!("/activities/{activity_id}#findings"))
    })
    .await
}

/// Saves a new finding of `activity_id` with its themes, first revision
/// (`snapshot`) and audit event; `import_id` names the import that brings it in.
pub(crate) async fn insert(
    tx: &mut sqlx::PgConnection,
    (activity_id, valid, snapshot): (i64, &ValidFinding, &Snapshot),
    user: &CurrentUser,
    import_id: Option<i64>,
    ip: Option<String>,
) -> Result<i64, sqlx::Error> {
    let id = sqlx::query_scalar!(
        "insert into findings (activity_id, text_en, text_km, quote, quote_descriptor, public, created_by)
         values ($1, $2, $3, $4, $5, $6, $7) returning id",
        activity_id,
        valid.text_en,
        valid.text_km,
        valid.quote,
        valid.quote_descriptor,
        valid.public,
        user.id,
    )
    .fetch_one(&mut *tx)
    .await?;
    sqlx::query!(
        "insert into finding_themes (finding_id, theme_id) select $1, unnest($2::bigint[]) on conflict do nothing",
        id,
        &valid.themes,
    )
    .execute(&mut *tx)
    .await?;
    revisions::record_from(tx, ("finding", id, 1), user.id, snapshot, import_id).await?;
    audit::record(
        &mut *tx,
        Event {
            actor_id: Some(user.id),
            action: "finding_created",
            entity: "finding",
            entity_id: Some(id.to_string()),
            summary: format!("activity {activity_id}"),
            ip,
        },
    )
    .await?;
    Ok(id)
}
