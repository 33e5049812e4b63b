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

use crate::state::AppState;

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

/// Where an action stands, as its latest progress report says. Stored as its
/// `code` in `actions.status` and `action_updates.status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::Type)]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum ActionStatus {
    NotStarted,
    InProgress,
    Completed,
    Blocked,
    Cancelled,
}

impl ActionStatus {
    pub const ALL: [ActionStatus; 5] = [
        ActionStatus::NotStarted,
        ActionStatus::InProgress,
        ActionStatus::Completed,
        ActionStatus::Blocked,
        ActionStatus::Cancelled,
    ];

    pub fn parse(code: &str) -> Option<ActionStatus> {
        ActionStatus::ALL
            .into_iter()
            .find(|status| status.code() == code)
    }

    pub fn code(self) -> &'static str {
        match self {
            ActionStatus::NotStarted => "not_started",
            ActionStatus::InProgress => "in_progress",
            ActionStatus::Completed => "completed",
            ActionStatus::Blocked => "blocked",
            ActionStatus::Cancelled => "cancelled",
        }
    }

    /// Still to be done: neither completed nor cancelled.
    pub fn is_open(self) -> bool {
        !matches!(self, ActionStatus::Completed | ActionStatus::Cancelled)
    }
}

impl std::fmt::Display for ActionStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

/// Who leads an action: the district administration, civil society, or both
/// together (whose two sides then confirm each other's reports). Stored as its
/// `code` in `actions.lead`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::Type)]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum Lead {
    Sna,
    Cso,
    Joint,
}

impl Lead {
    pub const ALL: [Lead; 3] = [Lead::Sna, Lead::Cso, Lead::Joint];

    pub fn parse(code: &str) -> Option<Lead> {
        Lead::ALL.into_iter().find(|lead| lead.code() == code)
    }

    pub fn code(self) -> &'static str {
        match self {
            Lead::Sna => "sna",
            Lead::Cso => "cso",
            Lead::Joint => "joint",
        }
    }
}

impl std::fmt::Display for Lead {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

/// An action is overdue when its due date has passed and it is neither completed
/// nor cancelled. Computed from the date every time, never stored.
pub fn is_overdue(due_on: Date, status: ActionStatus, today: Date) -> bool {
    due_on < today && status.is_open()
}

#[cfg(test)]
mod tests {
    use time::macros::date;

    use super::{ActionStatus, is_overdue};

    #[test]
    fn overdue_starts_the_day_after_the_due_date() {
        let due = date!(2026 - 03 - 31);
        assert!(!is_overdue(
            due,
            ActionStatus::InProgress,
            date!(2026 - 03 - 30)
        ));
        assert!(
            !is_overdue(due, ActionStatus::InProgress, date!(2026 - 03 - 31)),
            "due today is not late"
        );
        assert!(is_overdue(
            due,
            ActionStatus::InProgress,
            date!(2026 - 04 - 01)
        ));
        assert!(
            is_overdue(due, ActionStatus::NotStarted, date!(2027 - 01 - 01)),
            "across a year"
        );
        assert!(is_overdue(
            due,
            ActionStatus::Blocked,
            date!(2026 - 04 - 01)
        ));
        assert!(!is_overdue(
            due,
            ActionStatus::Completed,
            date!(2026 - 04 - 01)
        ));
        assert!(!is_overdue(
            due,
            ActionStatus::Cancelled,
            date!(2026 - 04 - 01)
        ));
        assert!(
            is_overdue(
                date!(2024 - 02 - 29),
                ActionStatus::InProgress,
                date!(2024 - 03 - 01)
            ),
            "a leap day"
        );
    }
}
