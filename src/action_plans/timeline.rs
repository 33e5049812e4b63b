//! The plan's timeline, drawn on the server as SVG: one bar per action from its
//! start to its due date, filled as far as its progress, across the plan period.

use time::Date;

use super::ActionStatus;

/// One bar, in SVG units of a 600-wide drawing.
pub struct Bar {
    pub y: i64,
    pub x: i64,
    pub width: i64,
    pub done_width: i64,
    pub label: String,
    pub status: ActionStatus,
    pub overdue: bool,
}

pub const WIDTH: i64 = 600;
pub const ROW: i64 = 28;

/// Lays out the bars; `today` draws the "today" line when inside the period.
pub fn layout(
    start: Date,
    end: Date,
    actions: &[(String, Date, Date, i32, ActionStatus, bool)],
    today: Date,
) -> (Vec<Bar>, Option<i64>) {
    let days = (end - start).whole_days().max(1);
    let x_of = |date: Date| ((date - start).whole_days().clamp(0, days) * WIDTH) / days;
    let bars = actions
        .iter()
        .enumerate()
        .map(|(index, (label, starts, due, progress, status, overdue))| {
            let x = x_of(*starts);
            let width = (x_of(*due) - x).max(4);
            Bar {
                y: index as i64 * ROW,
                x,
                width,
                done_width: width * i64::from((*progress).clamp(0, 100)) / 100,
                label: label.chars().take(60).collect(),
                status: *status,
                overdue: *overdue,
            }
        })
        .collect();
    let today_x = (today >= start && today <= end).then(|| x_of(today));
    (bars, today_x)
}

#[cfg(test)]
mod tests {
    use time::macros::date;

    use super::*;

    #[test]
    fn bars_are_placed_on_the_plan_period() {
        let actions = vec![(
            "A".to_owned(),
            date!(2026 - 01 - 01),
            date!(2026 - 07 - 01),
            50,
            ActionStatus::InProgress,
            false,
        )];
        let (bars, today) = layout(
            date!(2026 - 01 - 01),
            date!(2026 - 12 - 31),
            &actions,
            date!(2027 - 01 - 01),
        );
        assert_eq!(bars[0].x, 0);
        assert_eq!(bars[0].width, 181 * WIDTH / 364);
        assert_eq!(bars[0].done_width, bars[0].width / 2);
        assert_eq!(today, None, "today lies after the period");
    }
}
