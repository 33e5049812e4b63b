//! `/events/{id}/news`: the secretariat tells an event as news: a headline and
//! a text in each language, the photos chosen from the event's files (each
//! needs a note of the consent of the people in it), then publishes it or
//! keeps it as a draft. One item per event, so a form sent twice saves the
//! same item twice, never a second one.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use sqlx::PgPool;

use crate::audit::{self, Event};
use crate::auth::policy::{Action, Scope};
use crate::auth::require;
use crate::auth::session::CurrentUser;
use crate::error::{Answer, AppError};
use crate::web::forms::{self, FieldErrors, Form};
use crate::web::versioned::Field;
use crate::web::{Actor, Ctx, flash};

/// A photo of the event that the item may show.
pub struct Photo {
    pub id: i64,
    pub caption: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct NewsForm {
    headline_en: String,
    headline_km: String,
    body_en: String,
    body_km: String,
    /// The photos ticked, by attachment id.
    photos: Vec<String>,
    /// A consent note per photo offered, in the order they are offered.
    consent: Vec<String>,
    /// `published` or `draft`: the button pressed.
    state: String,
    version: String,
}

struct ValidNews {
    headline_en: String,
    headline_km: String,
    body_en: String,
    body_km: String,
    photos: Vec<(i64, String)>,
    published: bool,
}

impl NewsForm {
    pub fn ticked(&self, photo: i64) -> bool {
        self.photos.iter().any(|id| *id == photo.to_string())
    }

    pub fn consent_of(&self, index: usize) -> &str {
        self.consent.get(index).map_or("", String::as_str)
    }

    fn parse(&self, offered: &[Photo]) -> Result<ValidNews, FieldErrors> {
        let mut errors = FieldErrors::default();
        let headline_en = forms::required_text(&mut errors, "headline_en", &self.headline_en, 200);
        let headline_km = forms::optional_text(&mut errors, "headline_km", &self.headline_km, 200);
        let body_en = forms::optional_text(&mut errors, "body_en", &self.body_en, 20_000);
        let body_km = forms::optional_text(&mut errors, "body_km", &self.body_km, 20_000);
        if self
            .photos
            .iter()
            .any(|id| !offered.iter().any(|photo| photo.id.to_string() == *id))
        {
            errors.add("photos", "error-choose");
        }
        let mut photos = Vec::new();
        for (index, photo) in offered.iter().enumerate() {
            if !self.ticked(photo.id) {
                continue;
            }
            let note = self.consent_of(index).trim();
            if note.is_empty() {
                errors.add("photos", "news-consent-needed");
            } else if note.chars().count() > 300 {
                errors.add("photos", "error-too-long");
            }
            photos.push((photo.id, note.to_owned()));
        }
        if !["published", "draft"].contains(&self.state.as_str()) {
            errors.add("state", "error-choose");
        }
        errors.into_result(ValidNews {
            headline_en,
            headline_km,
            body_en,
            body_km,
            photos,
            published: self.state == "published",
        })
    }
}

#[derive(Template)]
#[template(path = "news/form.html")]
struct FormPage {
    ctx: Ctx,
    event_id: i64,
    event_title: String,
    news: Option<(i64, bool)>,
    form: NewsForm,
    photos: Vec<Photo>,
    errors: FieldErrors,
    theirs: Option<Vec<Field>>,
}

/// The event's title, and its photos the item may show.
async fn event_and_photos(pool: &PgPool, id: i64) -> Result<(String, Vec<Photo>), AppError> {
    let title = sqlx::query_scalar!("select title_en from events where id = $1", id)
        .fetch_optional(pool)
        .await?
        .ok_or(AppError::NotFound)?;
    let photos = sqlx::query_as!(
        Photo,
        "select id, caption from attachments where parent = 'event' and parent_id = $1
         and content_type like 'image/%' order by id",
        id
    )
    .fetch_all(pool)
    .await?;
    Ok((title, photos))
}

/// The item told of event `id` as its form shows it, or one drawn from the
/// event when there is none yet; with (id, published) of the item.
async fn stored(
    pool: &PgPool,
    id: i64,
    photos: &[Photo],
) -> Result<(NewsForm, Option<(i64, bool)>), AppError> {
    let row = sqlx::query!(
        r#"select n.id, n.headline_en, n.headline_km, n.body_en, n.body_km, n.version,
                  n.published_at is not null as "published!",
                  array(select attachment_id::text from news_photos where news_id = n.id) as "photos!",
                  array(select coalesce(f.consent_note, '') from unnest($2::bigint[]) with ordinality p(id, i)
                        left join news_photos f on f.news_id = n.id and f.attachment_id = p.id
                        order by p.i) as "consent!"
           from news_items n where n.event_id = $1"#,
        id,
        &photos.iter().map(|photo| photo.id).collect::<Vec<_>>(),
    )
    .fetch_optional(pool)
    .await?;
    if let Some(row) = row {
        let form = NewsForm {
            headline_en: row.headline_en,
            headline_km: row.headline_km,
            body_en: row.body_en,
            body_km: row.body_km,
            photos: row.photos,
            consent: row.consent,
            state: if row.published { "published" } else { "draft" }.into(),
            version: row.version.to_string(),
        };
        return Ok((form, Some((row.id, row.published))));
    }
    let event = sqlx::query!(
        "select title_en, title_km, summary_en, summary_km from events where id = $1",
        id
    )
    .fetch_one(pool)
    .await?;
    let form = NewsForm {
        headline_en: event.title_en,
        headline_km: event.title_km,
        body_en: event.summary_en,
        body_km: event.summary_km,
        state: "draft".into(),
        ..NewsForm::default()
    };
    Ok((form, None))
}

pub(super) async fn edit(
    ctx: Ctx,
    user: CurrentUser,
    State(pool): State<PgPool>,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    require(&user, Action::ManageProgrammes, Scope::Anything)?;
    let (event_title, photos) = event_and_photos(&pool, id).await?;
    let (form, news) = stored(&pool, id, &photos).await?;
    let page = FormPage {
        ctx,
        event_id: id,
        event_title,
        news,
        form,
        photos,
        errors: FieldErrors::default(),
        theirs: None,
    };
    page.answer()
}

pub(super) async fn save(
    ctx: Ctx,
    Actor { user, session, ip }: Actor,
    State(pool): State<PgPool>,
    Path(id): Path<i64>,
    Form(form): Form<NewsForm>,
) -> Result<Response, AppError> {
    require(&user, Action::ManageProgrammes, Scope::Anything)?;
    let (event_title, photos) = event_and_photos(&pool, id).await?;
    let (current, news) = stored(&pool, id, &photos).await?;
    let parsed = form.parse(&photos);
    // An item saved by someone else since this form was drawn: theirs is shown.
    let stale = news.is_some() && form.version != current.version;
    let (errors, theirs) = match &parsed {
        Err(errors) => (errors.clone(), None),
        Ok(_) if stale => {
            let theirs = [
                ("news-headline-en", current.headline_en.clone()),
                ("news-headline-km", current.headline_km.clone()),
                ("news-body-en", current.body_en.clone()),
                ("news-body-km", current.body_km.clone()),
            ]
            .map(|(key, value)| (ctx.t(key), value))
            .to_vec();
            (FieldErrors::default(), Some(theirs))
        }
        Ok(_) => (FieldErrors::default(), None),
    };
    let valid = match parsed {
        Ok(valid) if !stale => valid,
        _ => {
            let page = FormPage {
                ctx,
                event_id: id,
                event_title,
                news,
                form: if stale {
                    NewsForm {
                        version: current.version,
                        ..form
                    }
                } else {
                    form
                },
                photos,
                errors,
                theirs,
            };
            return Err(if stale {
                AppError::stale(&page)
            } else {
                AppError::invalid(&page)
            });
        }
    };
    let mut tx = pool.begin().await?;
    let news_id = sqlx::query_scalar!(
        "insert into news_items (event_id, headline_en, headline_km, body_en, body_km, published_at)
         values ($1, $2, $3, $4, $5, case when $6 then now() end)
         on conflict (event_id) do update
         set headline_en = excluded.headline_en, headline_km = excluded.headline_km,
             body_en = excluded.body_en, body_km = excluded.body_km,
             published_at = case when $6 then coalesce(news_items.published_at, now()) end,
             version = news_items.version + 1, updated_at = now()
         returning id",
        id,
        valid.headline_en,
        valid.headline_km,
        valid.body_en,
        valid.body_km,
        valid.published,
    )
    .fetch_one(&mut *tx)
    .await?;
    let (chosen, notes): (Vec<i64>, Vec<String>) = valid.photos.into_iter().unzip();
    sqlx::query!(
        "with gone as (delete from news_photos where news_id = $1)
         insert into news_photos (news_id, attachment_id, consent_note, position)
         select $1, p.id, p.note, p.i from unnest($2::bigint[], $3::text[]) with ordinality p(id, note, i)",
        news_id,
        &chosen,
        &notes,
    )
    .execute(&mut *tx)
    .await?;
    audit::record(
        &mut *tx,
        Event {
            actor_id: Some(user.id),
            action: if valid.published {
                "news_published"
            } else {
                "news_saved"
            },
            entity: "news",
            entity_id: Some(news_id.to_string()),
            summary: valid.headline_en,
            ip,
        },
    )
    .await?;
    tx.commit().await?;
    flash(&session, "saved", "").await?;
    Ok(Redirect::to(&format!("/events/{id}")).into_response())
}
