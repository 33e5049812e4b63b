//! The field work's datasets: activities with their participants, and their
//! findings, over the activities the reader may see.

use futures_util::TryStreamExt;
use sqlx::{PgPool, Postgres, QueryBuilder};
use time::Date;

use super::datasets::{date, id, people};
use super::{Cell, Sink};
use crate::activities::form::GROUPS;
use crate::auth::policy::{self, InternalScope};
use crate::auth::reader::Reader;
use crate::disclosure::{Count, Table};
use crate::web::filters::Selection;

pub const ACTIVITY_COLUMNS: &[&str] = &[
    "activity_id",
    "kind",
    "held_on",
    "province_code",
    "district_code",
    "district_en",
    "district_km",
    "commune_code",
    "organization",
    "study_id",
    "case_study_id",
    "place",
    "citizen_female",
    "citizen_male",
    "cbo_female",
    "cbo_male",
    "cso_female",
    "cso_male",
    "sna_official_female",
    "sna_official_male",
    "council_member_female",
    "council_member_male",
    "other_female",
    "other_male",
    "youth",
    "persons_with_disabilities",
    "participants",
    "female",
    "male",
];

pub const FINDING_COLUMNS: &[&str] = &[
    "finding_id",
    "activity_id",
    "kind",
    "held_on",
    "province_code",
    "district_code",
    "district_en",
    "district_km",
    "text_en",
    "text_km",
    "quote",
    "quote_descriptor",
    "themes",
    "public",
];

/// Narrows a statement over `activities a` to what `visible_activities`
/// returns, with only the filters in use: each combination is then prepared
/// once with a plan the indexes serve, where one statement of every filter
/// was planned again on every download.
fn push_visible_activities<'a>(
    query: &mut QueryBuilder<'a, Postgres>,
    selection: &'a Selection,
    reader: &'a Reader,
) {
    if let Some(study) = selection.study {
        query.push(" and a.study_id = ").push_bind(study);
    }
    if !selection.province.is_empty() {
        query
            .push(" and left(a.district_code, 2) = ")
            .push_bind(&selection.province);
    }
    if !selection.district.is_empty() {
        query
            .push(" and a.district_code = ")
            .push_bind(&selection.district);
    }
    if let Some(from) = selection.from {
        query.push(" and a.held_on >= ").push_bind(from);
    }
    if let Some(to) = selection.to {
        query.push(" and a.held_on <= ").push_bind(to);
    }
    if let Some(project) = selection.project {
        query
            .push(" and a.study_id in (select s.id from studies s where s.project_id = ")
            .push_bind(project)
            .push(")");
    }
    if !reader.everywhere {
        query
            .push(" and (a.district_code = any(")
            .push_bind(&reader.own_districts)
            .push(
                ") or exists (select 1 from case_studies c
                              where c.id = a.case_study_id and case_study_published(c.status)))",
            );
    }
}

#[derive(sqlx::FromRow)]
struct ExportedActivity {
    id: i64,
    kind: String,
    held_on: Date,
    province_code: String,
    district_code: String,
    district_en: String,
    district_km: String,
    commune_code: Option<String>,
    organization: String,
    study_id: Option<i64>,
    case_study_id: Option<i64>,
    place: String,
    youth: i32,
    persons_with_disabilities: i32,
    rounded_youth: i32,
    rounded_persons_with_disabilities: i32,
    female_by_group: Vec<i32>,
    male_by_group: Vec<i32>,
    rounded_female_by_group: Vec<i32>,
    rounded_male_by_group: Vec<i32>,
}

#[derive(sqlx::FromRow)]
struct ExportedFinding {
    id: i64,
    activity_id: i64,
    kind: String,
    held_on: Date,
    province_code: String,
    district_code: String,
    district_en: String,
    district_km: String,
    text_en: String,
    text_km: String,
    quote: String,
    quote_descriptor: String,
    public: bool,
    themes: String,
}

/// Activities with their participants by group and sex. Donors see counts of one
/// to four people as "<5", and never the place.
pub async fn activities(
    pool: &PgPool,
    selection: &Selection,
    reader: &Reader,
    internal: &InternalScope,
    sink: &mut Sink,
) -> anyhow::Result<()> {
    let mut query = QueryBuilder::new(
        "select a.id, a.kind, a.held_on, d.province_code, a.district_code, d.name_en as district_en,
                d.name_km as district_km, a.commune_code, o.name_en as organization,
                a.study_id, a.case_study_id, a.place, a.youth, a.persons_with_disabilities,
                a.rounded_youth, a.rounded_persons_with_disabilities,
                -- Every group in `participant_groups()` order, which is `GROUPS`.
                a.female_by_group, a.male_by_group, a.rounded_female_by_group, a.rounded_male_by_group
         from activities a
         join districts d on d.code = a.district_code
         join organizations o on o.id = a.facilitating_organization_id
         where true",
    );
    push_visible_activities(&mut query, selection, reader);
    query.push(" order by a.held_on, a.id");
    let mut rows = query.build_query_as::<ExportedActivity>().fetch(pool);
    while let Some(row) = rows.try_next().await? {
        let cells = {
            let blurred = reader.blurs_in(&row.district_code);
            let place = internal.reads(&row.district_code, policy::citizens_only(&row.kind));
            let at = |list: &[i32], group: usize| list.get(group).copied().unwrap_or(0);
            let grid: Vec<[Count; 2]> = (0..GROUPS.len())
                .map(|group| {
                    [
                        Count::new(
                            at(&row.female_by_group, group),
                            at(&row.rounded_female_by_group, group),
                        ),
                        Count::new(
                            at(&row.male_by_group, group),
                            at(&row.rounded_male_by_group, group),
                        ),
                    ]
                })
                .collect();
            let table = Table::new(&grid, blurred);
            let mut cells = vec![
                Cell::Number(row.id),
                Cell::Text(row.kind),
                date(Some(row.held_on)),
                Cell::Text(row.province_code),
                Cell::Text(row.district_code),
                Cell::Text(row.district_en),
                Cell::Text(row.district_km),
                row.commune_code.map_or(Cell::Empty, Cell::Text),
                Cell::Text(row.organization),
                id(row.study_id),
                id(row.case_study_id),
                if place {
                    Cell::Text(row.place)
                } else {
                    Cell::Empty
                },
            ];
            cells.extend(
                (0..grid.len()).flat_map(|g| [people(table.cell(g, 0)), people(table.cell(g, 1))]),
            );
            cells.extend([
                people(Count::new(row.youth, row.rounded_youth).shown(blurred)),
                people(
                    Count::new(
                        row.persons_with_disabilities,
                        row.rounded_persons_with_disabilities,
                    )
                    .shown(blurred),
                ),
                people(table.total()),
                people(table.column_total(0)),
                people(table.column_total(1)),
            ]);
            cells
        };
        sink.push(cells).await?;
    }
    Ok(())
}

/// Findings of the activities the reader may see; donors only those marked public.
pub async fn findings(
    pool: &PgPool,
    selection: &Selection,
    reader: &Reader,
    internal: &InternalScope,
    sink: &mut Sink,
) -> anyhow::Result<()> {
    let mut query = QueryBuilder::new(
        "select f.id, f.activity_id, a.kind, a.held_on, d.province_code, a.district_code,
                d.name_en as district_en, d.name_km as district_km, f.text_en, f.text_km,
                f.quote, f.quote_descriptor, f.public,
                coalesce((select string_agg(t.name_en, '; ' order by t.position)
                          from finding_themes ft join themes t on t.id = ft.theme_id
                          where ft.finding_id = f.id), '') as themes
         from activities a
         join findings f on f.activity_id = a.id
         join districts d on d.code = a.district_code
         where (f.public or reads_internal_text(a.district_code, a.kind, ",
    );
    query
        .push_bind(internal.everywhere)
        .push(", ")
        .push_bind(&internal.districts)
        .push(", ")
        .push_bind(&internal.meeting_districts)
        .push("))");
    push_visible_activities(&mut query, selection, reader);
    query.push(" order by a.held_on, f.id");
    let mut rows = query.build_query_as::<ExportedFinding>().fetch(pool);
    while let Some(row) = rows.try_next().await? {
        let cells = vec![
            Cell::Number(row.id),
            Cell::Number(row.activity_id),
            Cell::Text(row.kind),
            date(Some(row.held_on)),
            Cell::Text(row.province_code),
            Cell::Text(row.district_code),
            Cell::Text(row.district_en),
            Cell::Text(row.district_km),
            Cell::Text(row.text_en),
            Cell::Text(row.text_km),
            Cell::Text(row.quote),
            Cell::Text(row.quote_descriptor),
            Cell::Text(row.themes),
            Cell::Text(if row.public { "yes" } else { "no" }.into()),
        ];
        sink.push(cells).await?;
    }
    Ok(())
}
