//! Charts drawn on the server as SVG: the geometry is worked out here and the
//! template only prints it, so the browser needs no script. Below the geometry,
//! the dashboard's four charts drawn from its figures.

use super::figures::{DistrictFigures, Figures};
use super::people::People;
use crate::action_plans::ActionStatus;
use crate::disclosure::Shown;
use crate::web::Ctx;

/// Horizontal bars, each split into coloured parts, with a label above and the
/// total after each bar.
pub struct BarChart {
    pub rows: Vec<BarRow>,
    pub legend: Vec<LegendItem>,
    pub height: u32,
}

pub struct BarRow {
    pub label: String,
    pub href: Option<String>,
    pub label_y: u32,
    pub bar_y: u32,
    pub parts: Vec<BarPart>,
    pub total: String,
    pub total_x: f64,
}

pub struct BarPart {
    pub x: f64,
    pub width: f64,
    /// A CSS class naming the part's colour.
    pub class: &'static str,
    /// What a pointer or a screen reader is told about the part.
    pub title: String,
}

pub struct LegendItem {
    pub class: &'static str,
    pub label: String,
}

/// One bar before it is drawn: its parts as (value, class, title).
pub struct Bar {
    pub label: String,
    pub href: Option<String>,
    pub parts: Vec<(i64, &'static str, String)>,
    pub total: String,
}

pub const WIDTH: u32 = 400;
const BAR_AREA: f64 = 330.0;
const ROW_HEIGHT: u32 = 34;

pub fn bar_chart(bars: Vec<Bar>, legend: Vec<LegendItem>) -> BarChart {
    let longest = bars
        .iter()
        .map(|bar| bar.parts.iter().map(|part| part.0).sum::<i64>())
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let rows: Vec<BarRow> = bars
        .into_iter()
        .enumerate()
        .map(|(index, bar)| {
            let top = index as u32 * ROW_HEIGHT;
            let mut x = 0.0;
            let parts = bar
                .parts
                .into_iter()
                .filter(|part| part.0 > 0)
                .map(|(value, class, title)| {
                    let width = value as f64 / longest * BAR_AREA;
                    let part = BarPart {
                        x,
                        width,
                        class,
                        title,
                    };
                    x += width;
                    part
                })
                .collect();
            BarRow {
                label: bar.label,
                href: bar.href,
                label_y: top + 12,
                bar_y: top + 16,
                parts,
                total: bar.total,
                total_x: x + 4.0,
            }
        })
        .collect();
    BarChart {
        height: (rows.len() as u32 * ROW_HEIGHT).max(ROW_HEIGHT),
        rows,
        legend,
    }
}

/// Vertical columns over time, e.g. activities per month.
pub struct ColumnChart {
    pub columns: Vec<Column>,
    pub max_label: String,
}

pub struct Column {
    pub x: f64,
    pub y: f64,
    pub width: f64,
    pub height: f64,
    pub title: String,
    /// Shown under the column when there is room: January of each year, or all
    /// months when there are few.
    pub label: Option<String>,
}

pub const COLUMN_AREA_HEIGHT: f64 = 120.0;

/// `values` as (period "YYYY-MM", count), in order.
pub fn column_chart(values: &[(String, i64)]) -> ColumnChart {
    let highest = values
        .iter()
        .map(|(_, count)| *count)
        .max()
        .unwrap_or(0)
        .max(1);
    let slot = f64::from(WIDTH) / values.len().max(1) as f64;
    let few = values.len() <= 12;
    let columns = values
        .iter()
        .enumerate()
        .map(|(index, (period, count))| {
            let height = *count as f64 / highest as f64 * COLUMN_AREA_HEIGHT;
            Column {
                x: index as f64 * slot + slot * 0.1,
                y: COLUMN_AREA_HEIGHT - height,
                width: slot * 0.8,
                height,
                title: format!("{period}: {count}"),
                label: (few || period.ends_with("-01")).then(|| {
                    if few {
                        period[2..].to_owned()
                    } else {
                        period[..4].to_owned()
                    }
                }),
            }
        })
        .collect();
    ColumnChart {
        columns,
        max_label: highest.to_string(),
    }
}

/// More bars than this would not fit a phone screen; the table has them all.
const MOST_BARS: usize = 25;

/// The dashboard's charts.
pub struct Charts {
    pub participants: BarChart,
    pub themes: BarChart,
    pub actions: BarChart,
    pub months: ColumnChart,
}

/// The dashboard's four charts from its figures, as this reader may see them.
pub fn draw(ctx: &Ctx, people: &People, figures: &Figures) -> Charts {
    let name = |district: &DistrictFigures| district.name(ctx).to_owned();
    let link = |district: &DistrictFigures| {
        district
            .code
            .as_ref()
            .map(|code| format!("/districts/{code}"))
    };
    // Districts whose total may be drawn to scale, the busiest first.
    let mut busiest: Vec<(&DistrictFigures, i64, usize)> = figures
        .districts
        .iter()
        .enumerate()
        .filter_map(|(row, district)| {
            let length = people.district(row).total.drawn();
            (length > 0).then_some((district, length, row))
        })
        .collect();
    busiest.sort_by_key(|(_, length, _)| std::cmp::Reverse(*length));
    let participants = busiest
        .into_iter()
        .take(MOST_BARS)
        .map(|(district, length, row)| {
            let shown = people.district(row);
            // A bar whose sexes are not both shown is drawn whole, so neither
            // can be read off it.
            let parts = match (shown.female, shown.male) {
                (Shown::Exact(female), Shown::Exact(male)) => vec![
                    (
                        female,
                        "female",
                        format!("{}: {female}", ctx.t("sex-female")),
                    ),
                    (male, "male", format!("{}: {male}", ctx.t("sex-male"))),
                ],
                _ => vec![(length, "blurred", ctx.t("dashboard-by-sex-hidden"))],
            };
            Bar {
                label: name(district),
                href: link(district),
                parts,
                total: shown.total.to_string(),
            }
        })
        .collect();
    let participants = bar_chart(
        participants,
        vec![
            legend("female", ctx.t("sex-female")),
            legend("male", ctx.t("sex-male")),
        ],
    );
    let themes = figures
        .breakdown("theme")
        .map(|theme| {
            let label = if theme.key.is_empty() {
                ctx.t("dashboard-no-theme")
            } else {
                ctx.pick(&theme.name_en, &theme.name_km).to_owned()
            };
            Bar {
                label,
                href: None,
                parts: vec![
                    (
                        theme.second,
                        "endorsed",
                        format!("{}: {}", ctx.t("dashboard-endorsed"), theme.second),
                    ),
                    (
                        theme.first - theme.second,
                        "not-endorsed",
                        format!(
                            "{}: {}",
                            ctx.t("dashboard-not-endorsed"),
                            theme.first - theme.second
                        ),
                    ),
                ],
                total: theme.first.to_string(),
            }
        })
        .collect();
    let themes = bar_chart(
        themes,
        vec![
            legend("endorsed", ctx.t("dashboard-endorsed")),
            legend("not-endorsed", ctx.t("dashboard-not-endorsed")),
        ],
    );
    let mut with_actions: Vec<&DistrictFigures> = figures
        .districts
        .iter()
        .filter(|district| district.actions > 0)
        .collect();
    with_actions.sort_by_key(|district| std::cmp::Reverse(district.actions));
    let actions = with_actions
        .into_iter()
        .take(MOST_BARS)
        .map(|district| {
            let counts = [
                district.not_started,
                district.in_progress,
                district.completed,
                district.blocked,
                district.cancelled,
            ];
            Bar {
                label: name(district),
                href: link(district),
                parts: ActionStatus::ALL
                    .iter()
                    .map(|status| status.code())
                    .zip(counts)
                    .map(|(status, count)| {
                        (
                            count,
                            status,
                            format!("{}: {count}", ctx.label("action-status", status)),
                        )
                    })
                    .collect(),
                total: district.actions.to_string(),
            }
        })
        .collect();
    let actions = bar_chart(
        actions,
        ActionStatus::ALL
            .iter()
            .map(|status| legend(status.code(), ctx.label("action-status", status.code())))
            .collect(),
    );
    let months: Vec<(String, i64)> = figures
        .breakdown("month")
        .map(|month| (month.key.clone(), month.first))
        .collect();
    Charts {
        participants,
        themes,
        actions,
        months: column_chart(&months),
    }
}

fn legend(class: &'static str, label: String) -> LegendItem {
    LegendItem { class, label }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_longest_bar_fills_the_area_and_parts_follow_each_other() {
        let bar = |label: &str, female: i64, male: i64| Bar {
            label: label.into(),
            href: None,
            parts: vec![
                (female, "female", String::new()),
                (male, "male", String::new()),
            ],
            total: (female + male).to_string(),
        };
        let chart = bar_chart(vec![bar("a", 30, 10), bar("b", 10, 0)], Vec::new());
        let a = &chart.rows[0].parts;
        assert_eq!(
            (a[0].x, a[0].width, a[1].x, a[1].width),
            (0.0, 247.5, 247.5, 82.5)
        );
        assert_eq!(chart.rows[1].parts.len(), 1, "an empty part is not drawn");
        assert_eq!((chart.rows[1].bar_y, chart.height), (50, 68));
    }

    #[test]
    fn columns_scale_to_the_busiest_month_and_label_years() {
        let months: Vec<(String, i64)> = (1..=14)
            .map(|n| {
                (
                    format!("{}-{:02}", 2020 + (n - 1) / 12, (n - 1) % 12 + 1),
                    n,
                )
            })
            .collect();
        let chart = column_chart(&months);
        assert_eq!(chart.columns[13].height, COLUMN_AREA_HEIGHT);
        let labels: Vec<&str> = chart
            .columns
            .iter()
            .filter_map(|c| c.label.as_deref())
            .collect();
        assert_eq!(labels, ["2020", "2021"]);
    }
}
