//! Administration: users, organizations and the gazetteer. Only administrators
//! reach any of it.

mod access;
pub mod command_line;
pub mod gazetteer;
pub mod organizations;
pub mod users;

use axum::Router;

use crate::auth::policy::{self, Action, Scope};
use crate::auth::session::CurrentUser;
use crate::error::AppError;
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .merge(users::routes())
        .merge(organizations::routes())
        .merge(gazetteer::routes())
}

/// Every administration handler starts here.
fn require_admin(user: &CurrentUser) -> Result<(), AppError> {
    if policy::allows(user, Action::Administer, Scope::Anything) {
        Ok(())
    } else {
        Err(AppError::Forbidden)
    }
}

/// An organization as the user forms offer it.
pub struct OrganizationOption {
    pub id: i64,
    pub name_en: String,
    pub kind: String,
}
