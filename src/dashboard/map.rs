//! The district map: the imported outlines, shaded in five steps by the figure
//! the reader picks.

use super::figures::{DistrictFigures, Figures};
use super::people::People;
use crate::disclosure::Shown;
use crate::web::Ctx;

/// The figures a map can be shaded by, as `?map=` takes them.
pub const MEASURES: [&str; 5] = [
    "participants",
    "activities",
    "recommendations_endorsed",
    "progress",
    "overdue",
];

pub struct Map {
    pub view_box: String,
    pub districts: Vec<MapDistrict>,
    /// The upper bound of each shade, from the lightest.
    pub steps: Vec<(&'static str, String)>,
}

pub struct MapDistrict {
    pub code: String,
    /// Whole numbers and `m`, `l`, `z` only (`geo::shapes`): drawn as it is,
    /// since escaping would read the map's tens of kilobytes on every view.
    pub path: String,
    pub class: &'static str,
    pub title: String,
}

const SHADES: [&str; 5] = ["q1", "q2", "q3", "q4", "q5"];

/// The value of `measure` for one district, or `None` where it means nothing
/// (no actions to average). Participants are counted as the reader sees them.
fn value(measure: &str, district: &DistrictFigures, participants: Shown) -> Option<i64> {
    match measure {
        "activities" => Some(district.activities),
        "recommendations_endorsed" => Some(district.recommendations_endorsed),
        "progress" => district.average_progress(),
        "overdue" => Some(district.overdue),
        _ => Some(participants.drawn()),
    }
}

/// The map of the districts that have an outline, or `None` when none has.
pub fn draw(measure: &str, figures: &Figures, people_shown: &People, ctx: &Ctx) -> Option<Map> {
    let (total, districts) = (&figures.total, &figures.districts);
    let (min_x, min_y, max_x, max_y) = (total.min_x?, total.min_y?, total.max_x?, total.max_y?);
    let margin = 4.0;
    let view_box = format!(
        "{:.0} {:.0} {:.0} {:.0}",
        min_x - margin,
        min_y - margin,
        max_x - min_x + 2.0 * margin,
        max_y - min_y + 2.0 * margin
    );
    let people = measure == "participants" || !MEASURES.contains(&measure);
    // The legend's steps come from the highest value shown, never a hidden one.
    let highest = districts
        .iter()
        .enumerate()
        .filter_map(|(row, district)| value(measure, district, people_shown.district(row).total))
        .max()
        .unwrap_or(0)
        .max(1);
    let shade = |value: i64| SHADES[((value * 5 - 1) / highest).clamp(0, 4) as usize];
    let districts = districts
        .iter()
        .enumerate()
        .filter_map(|(row, district)| {
            let path = district.path.clone()?;
            let value = value(measure, district, people_shown.district(row).total);
            let participants = people.then(|| people_shown.district(row).total);
            let class = match (value, participants) {
                (_, Some(Shown::Small)) => "blurred",
                (None | Some(0), _) => "q0",
                (Some(count), _) => shade(count),
            };
            let shown = match (value, participants) {
                (None, _) => "–".to_owned(),
                (_, Some(shown)) => shown.to_string(),
                (Some(count), None) if measure == "progress" => format!("{count}%"),
                (Some(count), None) => count.to_string(),
            };
            Some(MapDistrict {
                code: district.code.clone().unwrap_or_default(),
                title: format!("{}: {shown}", district.name(ctx)),
                path,
                class,
            })
        })
        .collect();
    let steps = SHADES
        .iter()
        .enumerate()
        .map(|(index, class)| {
            (
                *class,
                format!("≤ {}", (highest * (index as i64 + 1) + 4) / 5),
            )
        })
        .collect();
    Some(Map {
        view_box,
        districts,
        steps,
    })
}
