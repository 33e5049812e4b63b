//! What every page shares: the language, the signed-in user and their
//! navigation, the CSRF token, flash messages, form parsing and pagination.

pub mod assets;
pub mod client;
pub mod csrf;
pub mod error_pages;
pub mod filters;
pub mod forms;
pub mod input;
pub mod language;
pub mod markdown;
pub mod once;
pub mod versioned;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use serde::{Deserialize, Serialize};
use tower_sessions::Session;

use crate::auth::policy::{self, Action, Scope};
use crate::auth::session::CurrentUser;
use crate::error::AppError;
use crate::i18n::Lang;

const FLASH_KEY: &str = "flash";

/// The context every page template receives as `ctx`.
pub struct Ctx {
    pub lang: Lang,
    pub user: Option<CurrentUser>,
    pub csrf_token: String,
    pub flash: Option<Flash>,
    path: String,
    /// The page's query without its `lang`, kept by the language links.
    query: String,
    /// The largest file an upload may carry, in bytes (`UploadLimit`).
    upload_limit: usize,
}

/// The upload limit of this server, handed to every request for its forms.
#[derive(Debug, Clone, Copy)]
pub struct UploadLimit(pub usize);

/// A one-time message shown on the next page, e.g. after a redirect.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Flash {
    pub key: String,
    /// Filled into the message's `{ $value }`.
    pub value: String,
}

/// A link in the navigation bar.
pub struct NavLink {
    pub href: &'static str,
    pub label: String,
    pub current: bool,
}

impl Ctx {
    /// "Files up to 10 MB.", for an upload form.
    pub fn upload_limit(&self) -> String {
        let megabytes = self.upload_limit.div_ceil(1024 * 1024).to_string();
        self.lang.t_with("upload-limit", &[("value", megabytes)])
    }

    /// The context of a page drawn outside a handler (an error page).
    pub fn for_page(
        lang: Lang,
        user: Option<CurrentUser>,
        csrf_token: String,
        path: String,
    ) -> Ctx {
        Ctx {
            lang,
            user,
            csrf_token,
            flash: None,
            path,
            query: String::new(),
            upload_limit: 0,
        }
    }

    /// The message `key` in the page's language.
    pub fn t(&self, key: &str) -> String {
        self.lang.t(key)
    }

    /// A message chosen by a code, e.g. `label("role", "ngo")` is `role-ngo`.
    pub fn label(&self, prefix: &str, code: &str) -> String {
        self.lang.t(&format!("{prefix}-{code}"))
    }

    /// Of a text kept in both languages, the one in the reader's language, or
    /// the other one where it was written in one language only.
    pub fn pick<'a>(&self, en: &'a str, km: &'a str) -> &'a str {
        self.lang.pick(en, km)
    }

    /// "(in Khmer)" or "(in English)" where `pick` had to show the other
    /// language, so that nobody takes the text for a translation.
    pub fn other_language_note(&self, en: &str, km: &str) -> Option<String> {
        match self.lang {
            Lang::En if en.is_empty() && !km.is_empty() => Some(self.t("written-in-khmer")),
            Lang::Km if km.is_empty() && !en.is_empty() => Some(self.t("written-in-english")),
            _ => None,
        }
    }

    /// The code of the language the page is not in, for a `lang` attribute.
    pub fn other_lang(&self) -> &'static str {
        match self.lang {
            Lang::En => "km",
            Lang::Km => "en",
        }
    }

    /// The name in the other language, shown beside the first.
    pub fn other<'a>(&self, en: &'a str, km: &'a str) -> &'a str {
        if self.lang == Lang::Km && !km.is_empty() {
            en
        } else {
            km
        }
    }

    pub fn flash_text(&self, flash: &Flash) -> String {
        self.lang
            .t_with(&flash.key, &[("value", flash.value.clone())])
    }

    /// The navigation bar: only what the user may use.
    pub fn nav(&self) -> Vec<NavLink> {
        let Some(user) = &self.user else {
            return Vec::new();
        };
        let mut links = vec![
            ("/", "nav-home"),
            ("/dashboard", "nav-dashboard"),
            ("/recommendation-lists", "nav-recommendations"),
            ("/action-plans", "nav-action-plans"),
            ("/case-studies", "nav-case-studies"),
            ("/activities", "nav-activities"),
            ("/studies", "nav-studies"),
            ("/districts", "nav-districts"),
            ("/projects", "nav-projects"),
            ("/agreements", "nav-agreements"),
            ("/events", "nav-events"),
        ];
        if policy::allows(user, Action::ManageStudies, Scope::Anything) {
            links.push(("/admin/themes", "nav-themes"));
        }
        if policy::allows(user, Action::EmptyBin, Scope::Anything) {
            links.push(("/bin", "nav-bin"));
        }
        if policy::allows(user, Action::Administer, Scope::Anything) {
            links.extend([
                ("/admin/users", "nav-users"),
                ("/admin/organizations", "nav-organizations"),
                ("/admin/gazetteer", "nav-gazetteer"),
                ("/admin/audit", "nav-audit"),
                ("/admin/outbox", "outbox-title"),
            ]);
        }
        links.push(("/account", "nav-account"));
        links
            .into_iter()
            .map(|(href, key)| NavLink {
                href,
                label: self.t(key),
                current: if href == "/" {
                    self.path == "/"
                } else {
                    self.path.starts_with(href)
                },
            })
            .collect()
    }

    /// This page in the other language(s).
    pub fn language_links(&self) -> Vec<(Lang, String)> {
        Lang::ALL
            .into_iter()
            .filter(|lang| *lang != self.lang)
            .map(|lang| {
                let query = if self.query.is_empty() {
                    String::new()
                } else {
                    format!("{}&", self.query)
                };
                (lang, format!("{}?{query}lang={}", self.path, lang.code()))
            })
            .collect()
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Ctx {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let session = Session::from_request_parts(parts, state)
            .await
            .map_err(|(_, message)| AppError::Internal(anyhow::anyhow!(message)))?;
        let user = parts.extensions.get::<CurrentUser>().cloned();
        let lang = language::of_reader(&parts.uri, &parts.headers, user.as_ref());
        Ok(Ctx {
            lang,
            user,
            csrf_token: csrf::token(&session).await?,
            flash: take_flash(&session).await?,
            path: parts.uri.path().to_owned(),
            query: query_without_lang(parts.uri.query()),
            upload_limit: parts
                .extensions
                .get::<UploadLimit>()
                .map_or(0, |limit| limit.0),
        })
    }
}

/// A page's query string less its `lang`, for links to the same page in
/// another language; a query that does not parse is dropped.
fn query_without_lang(query: Option<&str>) -> String {
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(query.unwrap_or_default()).unwrap_or_default();
    let kept: Vec<&(String, String)> = pairs.iter().filter(|(name, _)| name != "lang").collect();
    serde_urlencoded::to_string(kept).unwrap_or_default()
}

/// The waiting message, if any. Only a session that had one is changed, so that
/// an ordinary page view does not write the session back.
async fn take_flash(session: &Session) -> Result<Option<Flash>, AppError> {
    let flash = session.get::<Flash>(FLASH_KEY).await?;
    if flash.is_some() {
        session.remove::<Flash>(FLASH_KEY).await?;
    }
    Ok(flash)
}

/// Leaves a message for the next page this session sees.
pub async fn flash(session: &Session, key: &str, value: impl Into<String>) -> Result<(), AppError> {
    let flash = Flash {
        key: key.to_owned(),
        value: value.into(),
    };
    session.insert(FLASH_KEY, flash).await?;
    Ok(())
}

/// Who acts in a request that changes something: the signed-in user, their
/// session (for the message shown after the redirect) and their address (for
/// the audit log). Without a signed-in user it asks them to sign in.
pub struct Actor {
    pub user: CurrentUser,
    pub session: Session,
    pub ip: Option<String>,
}

impl<S: Send + Sync> FromRequestParts<S> for Actor {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let user = CurrentUser::from_request_parts(parts, state).await?;
        let session = Session::from_request_parts(parts, state)
            .await
            .map_err(|(_, message)| AppError::Internal(anyhow::anyhow!(message)))?;
        let ClientIp(ip) = ClientIp::of(&parts.extensions);
        Ok(Actor { user, session, ip })
    }
}

/// The address a request came from, for the audit log.
pub struct ClientIp(pub Option<String>);

impl ClientIp {
    /// The client's address, as `client::find` found it.
    pub fn of(extensions: &axum::http::Extensions) -> ClientIp {
        ClientIp(
            extensions
                .get::<client::ClientAddr>()
                .map(|client::ClientAddr(address)| address.to_string()),
        )
    }
}

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientIp::of(&parts.extensions))
    }
}

/// Which page of a long list to show.
#[derive(Debug, Clone, Copy)]
pub struct Page {
    pub number: i64,
    pub size: i64,
}

impl Page {
    pub fn new(number: Option<i64>, size: i64) -> Self {
        Page {
            number: number.unwrap_or(1).clamp(1, 100_000),
            size,
        }
    }

    pub fn offset(self) -> i64 {
        (self.number - 1) * self.size
    }

    /// Lists fetch one row more than they show, to know whether a next page exists.
    pub fn limit(self) -> i64 {
        self.size + 1
    }

    /// Ends a list's statement with the page's limit and offset, written as
    /// numbers: with parameters there, PostgreSQL cannot tell that a plan made
    /// once fits every page, and plans the statement again on every view.
    pub fn push_limit(self, query: &mut sqlx::QueryBuilder<'_, sqlx::Postgres>) {
        query.push(format_args!(
            " limit {} offset {}",
            self.limit(),
            self.offset()
        ));
    }

    pub fn has_next<T>(self, rows: &mut Vec<T>) -> bool {
        let more = rows.len() as i64 > self.size;
        rows.truncate(self.size as usize);
        more
    }
}

/// The run of `sorted` (in the order of `key`) whose key is `wanted`, found
/// by binary search: a page that lists items under each of many headings
/// finds each heading's items without reading the whole list again.
pub fn run_of<'a, T>(sorted: &'a [T], wanted: &str, key: impl Fn(&T) -> &str) -> &'a [T] {
    let start = sorted.partition_point(|item| key(item) < wanted);
    let end = sorted.partition_point(|item| key(item) <= wanted);
    &sorted[start..end]
}
