//! Who the user is and what they may do: passwords, sessions, the permission
//! policy, and the sign-in, sign-out and account pages.

pub mod links;
pub mod password;
pub mod policy;
pub mod routes;
pub mod session;
pub mod store;

use crate::error::AppError;
use policy::{Action, Principal, Scope};

/// The start of every handler: go on only if the policy allows it.
pub fn require(user: &impl Principal, action: Action, scope: Scope) -> Result<(), AppError> {
    if policy::allows(user, action, scope) {
        Ok(())
    } else {
        Err(AppError::Forbidden)
    }
}
