//! Who the user is and what they may do: passwords, sessions and the
//! permission policy. The pages that sign in and out are in `account`.

pub mod password;
pub mod policy;
pub mod reader;
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
