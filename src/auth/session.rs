//! Signed-in sessions: what the session holds, the middleware that turns it into
//! a `CurrentUser` on every request, and signing in and out.
//!
//! Users are kept in memory and forgotten when their row, their organization or
//! their notifications change on any instance (`db::changes`), so a deactivated
//! user or a changed password still ends a session at once, without a database
//! round trip on every page view.

use axum::extract::{FromRequestParts, OptionalFromRequestParts, Request, State};
use axum::http::Method;
use axum::http::header;
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::Response;
use sqlx::PgPool;
use time::OffsetDateTime;
use tower_sessions::Session;

use crate::auth::password;
use crate::auth::policy::{Principal, Role};
use crate::db::cache::KeptMap;
use crate::db::changes::{AuthChange, Changes};
use crate::error::AppError;
use crate::i18n::Lang;
use crate::state::AppState;

const USER_ID: &str = "user_id";
const FINGERPRINT: &str = "password_fingerprint";
const SIGNED_IN_AT: &str = "signed_in_at";
const LAST_SEEN: &str = "last_seen";

/// How stale the session's last-seen time may get before a request refreshes it
/// (and with it the idle expiry). Refreshing on every request would write the
/// session on every page view.
const LAST_SEEN_PRECISION: i64 = 5 * 60;

/// A session ends after this long without a request…
pub const IDLE_TIMEOUT: time::Duration = time::Duration::hours(1);
/// …and this long after signing in, whatever happens.
pub const ABSOLUTE_TIMEOUT: time::Duration = time::Duration::hours(12);

/// The signed-in user, as the policy and the pages need them.
#[derive(Debug, Clone)]
pub struct CurrentUser {
    pub id: i64,
    pub email: String,
    pub display_name: String,
    pub role: Role,
    pub organization_id: i64,
    pub organization_name: String,
    pub language: Lang,
    pub districts: Vec<String>,
    /// Notifications not yet read, for the header.
    pub unread: i64,
}

impl Principal for CurrentUser {
    fn role(&self) -> Role {
        self.role
    }

    fn districts(&self) -> &[String] {
        &self.districts
    }

    fn organization_id(&self) -> i64 {
        self.organization_id
    }
}

impl From<tower_sessions::session::Error> for AppError {
    fn from(error: tower_sessions::session::Error) -> Self {
        use tower_sessions::session::Error;
        use tower_sessions::session_store::Error as Store;
        match error {
            // The store's database could not be reached (or answered with an
            // error): the session could be neither read nor written.
            Error::Store(Store::Backend(message)) => AppError::Unavailable(message),
            error => AppError::Internal(error.into()),
        }
    }
}

/// A user as their sessions are checked against and their pages show them.
#[derive(Debug, Clone)]
pub struct KnownUser {
    user: CurrentUser,
    active: bool,
    password_fingerprint: String,
}

/// The users signed in on this instance, kept until a change concerns them.
type KeptUsers = KeptMap<i64, KnownUser>;

fn kept_users(name: &'static str, changes: &Changes) -> KeptUsers {
    let kept = KeptUsers::new(name, changes);
    let forgetful = kept.clone();
    changes.on_auth_change(move |change| match change {
        AuthChange::User(id) => forgetful.forget(|kept, _| kept == id),
        AuthChange::AllUsers | AuthChange::Everything => forgetful.forget(|_, _| true),
        AuthChange::Session(_) => {}
    });
    kept
}

/// Middleware: puts the `CurrentUser` into the request when its session is valid,
/// and ends a session that is not.
pub async fn authenticate(
    State(state): State<AppState>,
    session: Session,
    mut request: Request,
    next: Next,
) -> Result<Response, AppError> {
    let user = current_user(&state.pool, &state.kept("users", kept_users), &session).await?;
    let signed_in = user.is_some();
    if let Some(user) = user {
        request.extensions_mut().insert(user);
    }
    let writes = signed_in && !matches!(*request.method(), Method::GET | Method::HEAD);
    let mut response = next.run(request).await;
    // What this instance wrote shows on its next page, without waiting for the
    // database's announcement of it. (Forms sent without signing in change no
    // kept figure, and must not make every signed-in user be read again.)
    if writes {
        state.changes.changed_here();
    }
    // What a signed-in person sees is theirs: no browser or proxy keeps it.
    if signed_in {
        response.headers_mut().insert(
            header::CACHE_CONTROL,
            header::HeaderValue::from_static("no-store"),
        );
    }
    Ok(response)
}

async fn current_user(
    pool: &PgPool,
    users: &KeptUsers,
    session: &Session,
) -> Result<Option<CurrentUser>, AppError> {
    let Some(user_id) = session.get::<i64>(USER_ID).await? else {
        return Ok(None);
    };
    let fingerprint = session.get::<String>(FINGERPRINT).await?;
    let signed_in_at = session.get::<i64>(SIGNED_IN_AT).await?.unwrap_or_default();
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let valid = |known: &KnownUser| {
        known.active
            && now - signed_in_at <= ABSOLUTE_TIMEOUT.whole_seconds()
            && fingerprint.as_deref() == Some(known.password_fingerprint.as_str())
    };
    // A kept user that no longer fits the session is read again before the
    // session ends: the session may be newer than what is kept.
    let known = match users.get(&user_id) {
        Some(known) if valid(&known) => Some(known),
        _ => read_user(pool, users, user_id).await?.filter(valid),
    };
    let Some(known) = known else {
        session.flush().await?;
        return Ok(None);
    };
    let last_seen = session.get::<i64>(LAST_SEEN).await?.unwrap_or_default();
    if now - last_seen > LAST_SEEN_PRECISION {
        session.insert(LAST_SEEN, now).await?;
    }
    Ok(Some(known.user))
}

/// The active user `user_id`, from what is kept when it is: the API reads its
/// token's user this way (`api::auth`), as sessions do.
pub async fn active_user(state: &AppState, user_id: i64) -> Result<Option<CurrentUser>, AppError> {
    let users = state.kept("users", kept_users);
    let known = match users.get(&user_id) {
        Some(known) => Some(known),
        None => read_user(&state.pool, &users, user_id).await?,
    };
    Ok(known.filter(|known| known.active).map(|known| known.user))
}

async fn read_user(
    pool: &PgPool,
    users: &KeptUsers,
    user_id: i64,
) -> Result<Option<KnownUser>, AppError> {
    let epoch = users.epoch();
    let row = sqlx::query!(
        r#"select u.id, u.email, u.display_name, u.role, u.organization_id,
                  o.name_en as organization_name, u.preferred_language, u.password_hash, u.active,
                  case when o.kind = 'sna' then array[o.district_code]
                       else array(select d.district_code from organization_districts d
                                  where d.organization_id = o.id order by d.district_code)
                  end as "districts!: Vec<String>",
                  (select count(*) from notifications n where n.user_id = u.id and n.read_at is null) as "unread!"
           from users u join organizations o on o.id = u.organization_id
           where u.id = $1"#,
        user_id
    )
    .fetch_optional(pool)
    .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let Some(role) = Role::parse(&row.role) else {
        return Err(AppError::Internal(anyhow::anyhow!(
            "user {} has unknown role {}",
            row.id,
            row.role
        )));
    };
    let known = KnownUser {
        active: row.active,
        password_fingerprint: password::fingerprint(&row.password_hash),
        user: CurrentUser {
            id: row.id,
            email: row.email,
            display_name: row.display_name,
            role,
            organization_id: row.organization_id,
            organization_name: row.organization_name,
            language: Lang::parse(&row.preferred_language).unwrap_or_default(),
            districts: row.districts,
            unread: row.unread,
        },
    };
    users.keep_read(epoch, user_id, known.clone());
    Ok(Some(known))
}

/// Starts a signed-in session under a new id, so that an id planted before
/// sign-in is worth nothing after it. The caller then renews its CSRF token
/// (`web::csrf::renew_token`).
pub async fn sign_in(session: &Session, user_id: i64, password_hash: &str) -> Result<(), AppError> {
    session.cycle_id().await?;
    session.insert(USER_ID, user_id).await?;
    session
        .insert(FINGERPRINT, password::fingerprint(password_hash))
        .await?;
    session
        .insert(SIGNED_IN_AT, OffsetDateTime::now_utc().unix_timestamp())
        .await?;
    Ok(())
}

/// Keeps the current session valid after its user changed their password; every
/// other session of theirs still holds the old fingerprint and ends.
pub async fn keep_after_password_change(
    session: &Session,
    password_hash: &str,
) -> Result<(), AppError> {
    session.cycle_id().await?;
    session
        .insert(FINGERPRINT, password::fingerprint(password_hash))
        .await?;
    Ok(())
}

/// Ends the session on the server, not just in the browser.
pub async fn sign_out(session: &Session) -> Result<(), AppError> {
    session.flush().await?;
    Ok(())
}

impl<S: Send + Sync> FromRequestParts<S> for CurrentUser {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<CurrentUser>()
            .cloned()
            .ok_or_else(|| {
                // A page asked for by a GET opens after signing in; a form sent
                // after the session ended cannot be replayed that way.
                let next = (parts.method == axum::http::Method::GET)
                    .then(|| {
                        parts
                            .uri
                            .path_and_query()
                            .map(|path| path.as_str().to_owned())
                    })
                    .flatten()
                    .filter(|path| local_path(path).is_some_and(|path| path != "/"));
                AppError::SignInRequired(next)
            })
    }
}

impl<S: Send + Sync> OptionalFromRequestParts<S> for CurrentUser {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Option<Self>, Self::Rejection> {
        Ok(parts.extensions.get::<CurrentUser>().cloned())
    }
}

/// `next` if it is a path of this site to send someone to after signing in:
/// never another site (`//host`, `/\\host`, `https:`), never the sign-in
/// page itself.
pub fn local_path(next: &str) -> Option<&str> {
    // A longer address is no page anyone bookmarked; repeated in a `Location`
    // header it would only make the answer heavy.
    const LONGEST: usize = 2_000;
    let local = next.len() <= LONGEST
        && next.starts_with('/')
        && !next.starts_with("//")
        && !next.starts_with("/\\")
        && !next.chars().any(|c| c.is_control() || c == '\\')
        && !next.starts_with("/login")
        && !next.starts_with("/logout");
    local.then_some(next)
}
