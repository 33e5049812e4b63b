//! Who the user is and what they may do: passwords, sessions, the permission
//! policy, and the sign-in, sign-out and account pages.

pub mod password;
pub mod policy;
pub mod routes;
pub mod session;
