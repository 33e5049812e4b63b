//! The coalition's news: events the secretariat chose to tell, in English and
//! Khmer, as its posts read: the date, the place, the partners, what
//! happened, how many took part (counts as outsiders see them,
//! docs/disclosure.md), and photos picked from the event's files, each with
//! a note of the consent of the people in it. Published items are public
//! (`/public/news`, one page each, an Atom feed) and answered like the other
//! public pages: rendered once per data change, with `ETag`.

mod form;

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Uri};
use axum::response::Response;
use axum::routing::get;
use serde::Deserialize;
use sqlx::PgPool;
use time::{Date, OffsetDateTime};

use crate::disclosure::{BySex, Count};
use crate::error::AppError;
use crate::events::{self, Place};
use crate::i18n::Lang;
use crate::public::{Rendered, cached, ctx};
use crate::state::AppState;
use crate::web::{Ctx, Page};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/events/{id}/news", get(form::edit).post(form::save))
        .route("/public/news", get(list))
        .route("/public/news.atom", get(feed))
        .route("/public/news/{id}", get(show))
        .route("/public/news/{id}/photos/{photo}", get(photo))
}

/// A published item with what its page and the feed show.
pub struct Item {
    pub id: i64,
    pub headline_en: String,
    pub headline_km: String,
    pub body_en: String,
    pub body_km: String,
    pub published_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
    pub starts_on: Date,
    pub ends_on: Date,
    pub place: Place,
    pub partners: Vec<String>,
    pub people: BySex,
    /// The attachments shown as photos. Their captions stay inside: written
    /// for colleagues, they may name people (docs/disclosure.md).
    pub photos: Vec<i64>,
}

impl Item {
    pub fn headline(&self, lang: Lang) -> &str {
        lang.pick(&self.headline_en, &self.headline_km)
    }

    /// The body in the reader's language, as safe HTML.
    pub fn body_html(&self, lang: Lang) -> String {
        crate::web::markdown::to_safe_html(lang.pick(&self.body_en, &self.body_km))
    }

    /// The first lines of the body, for previews (Open Graph, the list).
    pub fn teaser(&self, lang: Lang) -> String {
        let body = lang.pick(&self.body_en, &self.body_km);
        let plain: String = body
            .chars()
            .filter(|c| !matches!(c, '#' | '*' | '_' | '`' | '[' | ']'))
            .collect();
        let mut teaser: String = plain.split_whitespace().collect::<Vec<_>>().join(" ");
        if teaser.chars().count() > 200 {
            teaser = teaser.chars().take(199).collect::<String>() + "…";
        }
        teaser
    }
}

/// Published items, newest first: a page of them, or (`only`) one.
async fn items(pool: &PgPool, only: Option<i64>, page: Page) -> Result<Vec<Item>, AppError> {
    let rows = sqlx::query!(
        r#"select n.id, n.headline_en, n.headline_km, n.body_en, n.body_km,
                  n.published_at as "published_at!", n.updated_at, e.starts_on, e.ends_on, e.venue,
                  v.name_en as "province_en?", v.name_km as "province_km?",
                  d.name_en as "district_en?", d.name_km as "district_km?",
                  e.participants, e.rounded_participants, e.participants_female, e.rounded_participants_female,
                  array(select o.name_en from event_partners p join organizations o on o.id = p.organization_id
                        where p.event_id = e.id order by o.name_en) as "partners!",
                  array(select f.attachment_id from news_photos f where f.news_id = n.id
                        order by f.position, f.attachment_id) as "photos!"
           from news_items n join events e on e.id = n.event_id
           left join provinces v on v.code = e.province_code
           left join districts d on d.code = e.district_code
           where n.published_at is not null and ($1::bigint is null or n.id = $1)
           order by n.published_at desc, n.id desc
           limit $2 offset $3"#,
        only,
        page.limit(),
        page.offset(),
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| Item {
            id: row.id,
            headline_en: row.headline_en,
            headline_km: row.headline_km,
            body_en: row.body_en,
            body_km: row.body_km,
            published_at: row.published_at,
            updated_at: row.updated_at,
            starts_on: row.starts_on,
            ends_on: row.ends_on,
            place: Place {
                province_en: row.province_en,
                province_km: row.province_km,
                district_en: row.district_en,
                district_km: row.district_km,
                venue: row.venue,
            },
            partners: row.partners,
            // Outsiders' figures: sums of rounded counts, as everywhere public.
            people: BySex::of_total(
                Count::new(row.participants_female, row.rounded_participants_female),
                Count::new(row.participants, row.rounded_participants),
                true,
            ),
            photos: row.photos,
        })
        .collect())
}

/// What an item's page and the list ask of an item.
trait Told {
    fn ctx(&self) -> &Ctx;

    fn dates(&self, item: &Item) -> String {
        events::dates(self.ctx(), item.starts_on, item.ends_on)
    }

    fn place(&self, item: &Item) -> String {
        item.place.line(self.ctx())
    }

    fn took_part(&self, item: &Item) -> String {
        let ctx = self.ctx();
        ctx.lang.t_with(
            "news-took-part",
            &[
                ("total", item.people.total.to_string()),
                ("women", item.people.female.to_string()),
            ],
        )
    }
}

#[derive(Deserialize)]
struct ListQuery {
    page: Option<i64>,
}

#[derive(Template)]
#[template(path = "news/list.html")]
struct ListPage {
    ctx: Ctx,
    items: Vec<Item>,
    page: Page,
    has_next: bool,
}

impl Told for ListPage {
    fn ctx(&self) -> &Ctx {
        &self.ctx
    }
}

const PAGE_SIZE: i64 = 20;

/// `/public/news`: the published items, newest first.
async fn list(
    State(state): State<AppState>,
    Query(query): Query<ListQuery>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let pool = state.pool.clone();
    cached(&state, &uri, &headers, async |lang| {
        let page = Page::new(query.page, PAGE_SIZE);
        let mut items = items(&pool, None, page).await?;
        let has_next = page.has_next(&mut items);
        let page = ListPage {
            ctx: ctx(lang, "/public/news"),
            items,
            page,
            has_next,
        };
        Ok(Some(Rendered::html(&page)?))
    })
    .await
}

#[derive(Template)]
#[template(path = "news/show.html")]
struct ShowPage {
    ctx: Ctx,
    item: Item,
    /// The app's address, for Open Graph (which wants whole URLs).
    site: String,
}

impl Told for ShowPage {
    fn ctx(&self) -> &Ctx {
        &self.ctx
    }
}

/// `/public/news/{id}`: one published item.
async fn show(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let pool = state.pool.clone();
    let site = state.settings.public_url.clone();
    cached(&state, &uri, &headers, async |lang| {
        let Some(item) = items(&pool, Some(id), Page::new(None, 1))
            .await?
            .into_iter()
            .next()
        else {
            return Ok(None);
        };
        let page = ShowPage {
            ctx: ctx(lang, uri.path()),
            item,
            site,
        };
        Ok(Some(Rendered::html(&page)?))
    })
    .await
}

#[derive(Template)]
#[template(path = "news/feed.xml", escape = "xml")]
struct Feed {
    ctx: Ctx,
    items: Vec<Item>,
    site: String,
    updated: String,
}

impl Feed {
    fn stamp(&self, at: OffsetDateTime) -> String {
        at.format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default()
    }
}

impl Told for Feed {
    fn ctx(&self) -> &Ctx {
        &self.ctx
    }
}

/// `/public/news.atom`: the newest items as an Atom feed, in the reader's language.
async fn feed(State(state): State<AppState>, uri: Uri, headers: HeaderMap) -> Response {
    let pool = state.pool.clone();
    let site = state.settings.public_url.clone();
    cached(&state, &uri, &headers, async |lang| {
        let mut items = items(&pool, None, Page::new(None, PAGE_SIZE)).await?;
        items.truncate(PAGE_SIZE as usize);
        let newest = items.iter().map(|item| item.updated_at).max();
        let mut feed = Feed {
            ctx: ctx(lang, "/public/news.atom"),
            items,
            site,
            updated: String::new(),
        };
        feed.updated = feed.stamp(newest.unwrap_or(OffsetDateTime::UNIX_EPOCH));
        Ok(Some(Rendered::new(
            feed.render()?.into_bytes(),
            "application/atom+xml; charset=utf-8",
        )))
    })
    .await
}

/// `/public/news/{id}/photos/{photo}`: a photo of a published item, to anyone.
async fn photo(
    State(state): State<AppState>,
    Path((id, photo)): Path<(i64, i64)>,
) -> Result<Response, AppError> {
    let shown = sqlx::query_scalar!(
        r#"select exists (select 1 from news_photos f join news_items n on n.id = f.news_id
                          where n.id = $1 and f.attachment_id = $2 and n.published_at is not null) as "shown!""#,
        id,
        photo
    )
    .fetch_one(&state.pool)
    .await?;
    if !shown {
        return Err(AppError::NotFound);
    }
    crate::attachments::public_photo(&state, photo).await
}
