//! Signing in and out, `/account` (where everyone changes their own password
//! and chooses how they are told), and the one-time links that set a password:
//! invitations and resets.

pub mod links;
mod sign_in;

pub use sign_in::login;

use axum::Router;

use crate::state::AppState;

/// The routes besides `POST /login`, which the app rate-limits per address.
pub fn routes() -> Router<AppState> {
    Router::new()
        .merge(sign_in::routes())
        .merge(links::routes())
}
