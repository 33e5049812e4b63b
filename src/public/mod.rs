//! `/public`: what became of the recommendations, for anyone, without an
//! account: the studies the secretariat turned public, their results, and
//! their open data. Read as a donor reads, by a principal of its own
//! (`PublicReader`), and stricter still: no photos, no people's names. Every
//! page is the same for all readers of a language, so it is rendered once per
//! data change and answered with `ETag` and `Last-Modified`, `304` when the
//! reader already has it.

mod data;
mod district;
mod study;

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use sha2::{Digest as _, Sha256};
use time::OffsetDateTime;
use time::macros::format_description;

use crate::auth::policy::{Principal, Role};
use crate::db::cache::GenerationCache;
use crate::error::AppError;
use crate::i18n::Lang;
use crate::state::AppState;
use crate::web::Ctx;
use crate::web::language;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/public", get(index))
        .route("/public/studies/{id}", get(study::show))
        .route(
            "/public/studies/{id}/districts/{code}",
            get(district::district),
        )
        .route("/public/data", get(data::index))
        .route("/public/provinces/{code}/cycles", get(cycles))
        .route("/public/studies/{id}/data/{file}", get(data::dataset))
}

/// Whoever reads the public pages: the policy treats them as a donor with
/// no organization and no district.
pub struct PublicReader;

impl Principal for PublicReader {
    fn role(&self) -> Role {
        Role::Donor
    }

    fn districts(&self) -> &[String] {
        &[]
    }

    fn organization_id(&self) -> i64 {
        0
    }
}

/// A public answer as sent: the same bytes for every reader of its language.
pub struct Rendered {
    body: Vec<u8>,
    content_type: &'static str,
    etag: String,
    last_modified: String,
}

impl Rendered {
    pub(crate) fn new(body: Vec<u8>, content_type: &'static str) -> Rendered {
        Rendered {
            etag: format!("\"{:.20x}\"", Sha256::digest(&body)),
            last_modified: OffsetDateTime::now_utc()
                .format(HTTP_DATE)
                .unwrap_or_default(),
            body,
            content_type,
        }
    }

    pub(crate) fn html(page: &impl Template) -> Result<Rendered, AppError> {
        Ok(Rendered::new(
            page.render()?.into_bytes(),
            "text/html; charset=utf-8",
        ))
    }
}

/// Dates in HTTP headers (IMF-fixdate), always in GMT.
const HTTP_DATE: &[time::format_description::BorrowedFormatItem<'static>] = format_description!(
    "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
);

/// Is the copy the reader has from `since` (an HTTP date) still current?
fn not_modified_since(last_modified: &str, since: &str) -> bool {
    let parse = |date: &str| time::PrimitiveDateTime::parse(date, HTTP_DATE).ok();
    matches!((parse(last_modified), parse(since)), (Some(modified), Some(since)) if modified <= since)
}

/// Public answers by path and language, until the data changes; `None` is
/// a 404 (a study that is not public, or not there).
type PublicCache = GenerationCache<(String, Lang), Option<Rendered>>;

/// The cache key: the address (the query chooses, on the comparison of
/// cycles) and the language asked for (`?lang=`, then the cookie).
fn key_of(uri: &Uri, headers: &HeaderMap) -> (String, Lang) {
    let lang = language::of_reader(uri, headers, None);
    let address = uri
        .path_and_query()
        .map_or(uri.path(), |address| address.as_str());
    (address.to_owned(), lang)
}

/// A page's context: no one signed in, whoever is.
pub(crate) fn ctx(lang: Lang, path: &str) -> Ctx {
    Ctx::for_page(lang, None, String::new(), path.to_owned())
}

/// The cached answer for this request, rendered by `render` on a miss.
pub(crate) async fn cached<F>(
    state: &AppState,
    uri: &Uri,
    headers: &HeaderMap,
    render: F,
) -> Response
where
    F: AsyncFnOnce(Lang) -> Result<Option<Rendered>, AppError>,
{
    let (path, lang) = key_of(uri, headers);
    // Public pages are tens of kilobytes each: a few hundred at most.
    let pages = state.kept("public_pages", |name, changes| {
        PublicCache::with_capacity(name, changes, 300)
    });
    match pages.get((path, lang), async || render(lang).await).await {
        Ok(rendered) => match rendered.as_ref() {
            Some(rendered) => answer(rendered, lang, headers),
            None => AppError::NotFound.into_response(),
        },
        Err(error) => error.into_response(),
    }
}

fn answer(rendered: &Rendered, lang: Lang, headers: &HeaderMap) -> Response {
    let matches = |name: header::HeaderName, value: &str| {
        headers
            .get(name)
            .is_some_and(|sent| sent.as_bytes() == value.as_bytes())
    };
    let fresh = if headers.contains_key(header::IF_NONE_MATCH) {
        matches(header::IF_NONE_MATCH, &rendered.etag)
    } else {
        headers
            .get(header::IF_MODIFIED_SINCE)
            .and_then(|since| since.to_str().ok())
            .is_some_and(|since| not_modified_since(&rendered.last_modified, since))
    };
    let header_value =
        |text: &str| HeaderValue::from_str(text).unwrap_or(HeaderValue::from_static(""));
    let cache = [
        // Fresh for a minute, then revalidated: data changes show soon.
        (
            header::CACHE_CONTROL,
            HeaderValue::from_static("public, max-age=60"),
        ),
        (header::ETAG, header_value(&rendered.etag)),
        (header::LAST_MODIFIED, header_value(&rendered.last_modified)),
        // The language can come from the cookie.
        (header::VARY, HeaderValue::from_static("Cookie")),
        (
            header::CONTENT_LANGUAGE,
            HeaderValue::from_static(lang.code()),
        ),
    ];
    if fresh {
        return (StatusCode::NOT_MODIFIED, cache).into_response();
    }
    (
        cache,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static(rendered.content_type),
        )],
        rendered.body.clone(),
    )
        .into_response()
}

/// Where a licence's text is.
pub fn licence_url(code: &str) -> &'static str {
    match code {
        "CC-BY-SA-4.0" => "https://creativecommons.org/licenses/by-sa/4.0/",
        "CC0-1.0" => "https://creativecommons.org/publicdomain/zero/1.0/",
        _ => "https://creativecommons.org/licenses/by/4.0/",
    }
}

/// A public study, as the index lists it.
pub struct PublicStudy {
    pub id: i64,
    pub province_code: String,
    pub title_en: String,
    pub title_km: String,
    pub province_en: String,
    pub province_km: String,
    pub period_start: time::Date,
    pub period_end: time::Date,
    pub licence: String,
}

async fn public_studies(pool: &sqlx::PgPool) -> Result<Vec<PublicStudy>, sqlx::Error> {
    sqlx::query_as!(
        PublicStudy,
        "select s.id, s.province_code, s.title_en, s.title_km, p.name_en as province_en,
                p.name_km as province_km, s.period_start, s.period_end, s.licence
         from studies s join provinces p on p.code = s.province_code
         where s.public_since is not null
         order by s.period_start desc, s.id desc"
    )
    .fetch_all(pool)
    .await
}

#[derive(Template)]
#[template(path = "public/index.html")]
struct IndexPage {
    ctx: Ctx,
    studies: Vec<PublicStudy>,
}

/// `/public`: the studies whose results are public.
async fn index(State(state): State<AppState>, uri: Uri, headers: HeaderMap) -> Response {
    let pool = state.pool.clone();
    cached(&state, &uri, &headers, async |lang| {
        let studies = public_studies(&pool).await?;
        let page = IndexPage {
            ctx: ctx(lang, "/public"),
            studies,
        };
        Ok(Some(Rendered::html(&page)?))
    })
    .await
}

#[derive(Template)]
#[template(path = "public/cycles.html")]
struct CyclesPage {
    ctx: Ctx,
    comparison: crate::cycles::Comparison,
}

/// `/public/provinces/{code}/cycles`: the comparison of public studies only.
async fn cycles(
    State(state): State<AppState>,
    axum::extract::Path(code): axum::extract::Path<String>,
    axum::extract::Query(chosen): axum::extract::Query<crate::cycles::Chosen>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let pool = state.pool.clone();
    cached(&state, &uri, &headers, async |lang| {
        // No such public study of the province: nothing here (404).
        let Some(comparison) = crate::cycles::load(&pool, &code, &chosen, &PublicReader, true)
            .await?
            .filter(|comparison| !comparison.unknown_study)
        else {
            return Ok(None);
        };
        let page = CyclesPage {
            ctx: ctx(lang, uri.path()),
            comparison,
        };
        Ok(Some(Rendered::html(&page)?))
    })
    .await
}
