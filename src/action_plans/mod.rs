//! `/action-plans` and `/actions`: joint action plans that implement endorsed
//! recommendations, their actions, and the dated progress reports that follow
//! each action until it is done.

mod action_form;
mod actions;
mod chain;
mod plan_form;
mod plans;
mod reports;
mod timeline;

use axum::Router;
use axum::routing::{get, post};
use time::Date;

use crate::app::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/action-plans", get(plans::list).post(plan_form::create))
        .route("/action-plans/new", get(plan_form::new_form))
        .route("/action-plans/{id}", get(plans::show))
        .route(
            "/action-plans/{id}/edit",
            get(plan_form::edit_form).post(plan_form::update),
        )
        .route("/action-plans/{id}/actions", post(action_form::create))
        .route("/actions/{id}", get(actions::show))
        .route(
            "/actions/{id}/edit",
            get(action_form::edit_form).post(action_form::update),
        )
        .route("/actions/{id}/updates", post(reports::report))
        .route(
            "/actions/{id}/updates/{update}/confirm",
            post(reports::confirm),
        )
        .route(
            "/actions/{id}/updates/{update}/return",
            post(reports::send_back),
        )
        .route("/recommendations/{id}", get(chain::recommendation))
        .route("/findings/{id}", get(chain::finding))
}

pub const STATUSES: [&str; 5] = [
    "not_started",
    "in_progress",
    "completed",
    "blocked",
    "cancelled",
];
pub const LEADS: [&str; 3] = ["sna", "cso", "joint"];

/// An action is overdue when its due date has passed and it is neither completed
/// nor cancelled. Computed from the date every time, never stored.
pub fn is_overdue(due_on: Date, status: &str, today: Date) -> bool {
    due_on < today && !matches!(status, "completed" | "cancelled")
}

/// An action needs an update when it is overdue or nobody reported for 90 days.
pub const STALE_AFTER_DAYS: i64 = 90;

#[cfg(test)]
mod tests {
    use time::macros::date;

    use super::is_overdue;

    #[test]
    fn overdue_starts_the_day_after_the_due_date() {
        let due = date!(2026 - 03 - 31);
        assert!(!is_overdue(due, "in_progress", date!(2026 - 03 - 30)));
        assert!(
            !is_overdue(due, "in_progress", date!(2026 - 03 - 31)),
            "due today is not late"
        );
        assert!(is_overdue(due, "in_progress", date!(2026 - 04 - 01)));
        assert!(
            is_overdue(due, "not_started", date!(2027 - 01 - 01)),
            "across a year"
        );
        assert!(is_overdue(due, "blocked", date!(2026 - 04 - 01)));
        assert!(!is_overdue(due, "completed", date!(2026 - 04 - 01)));
        assert!(!is_overdue(due, "cancelled", date!(2026 - 04 - 01)));
        assert!(
            is_overdue(date!(2024 - 02 - 29), "in_progress", date!(2024 - 03 - 01)),
            "a leap day"
        );
    }
}
