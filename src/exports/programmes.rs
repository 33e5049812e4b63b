//! The programmes' datasets: the projects the reader may read, and events.

use futures_util::TryStreamExt;
use sqlx::PgPool;

use super::datasets::{date, id, people};
use super::{Cell, Sink};
use crate::auth::reader::Reader;
use crate::disclosure::Table;
use crate::events::{ORGANIZATION_KINDS, SEXES};
use crate::web::filters::Selection;

pub const PROJECT_COLUMNS: &[&str] = &[
    "project_id",
    "title_en",
    "title_km",
    "lead_organization",
    "funders",
    "partners",
    "period_start",
    "period_end",
    "project_status",
    "published",
    "budget",
    "currency",
    "provinces",
    "districts",
];

/// Who reads which projects (`Action::ReadProgramme`), owned for the export's task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ProgrammeReader {
    pub every: bool,
    pub organization_id: i64,
}

/// The projects the reader may read, with the dashboard's filters: the
/// project, a province or district it covers, a period that overlaps the
/// dates, the project a study belongs to.
pub async fn projects(
    pool: &PgPool,
    selection: &Selection,
    programmes: ProgrammeReader,
    sink: &mut Sink,
) -> anyhow::Result<()> {
    let s = selection;
    let mut rows = sqlx::query!(
        r#"select p.id, p.title_en, p.title_km, o.name_en as lead, p.starts_on, p.ends_on,
                  p.status, p.published, p.budget, p.currency,
                  coalesce((select string_agg(x.name_en, '; ' order by x.name_en)
                            from project_organizations po join organizations x on x.id = po.organization_id
                            where po.project_id = p.id and po.role = 'funder'), '') as "funders!",
                  coalesce((select string_agg(x.name_en, '; ' order by x.name_en)
                            from project_organizations po join organizations x on x.id = po.organization_id
                            where po.project_id = p.id and po.role = 'partner'), '') as "partners!",
                  coalesce((select string_agg(pp.province_code, ' ' order by pp.province_code)
                            from project_provinces pp where pp.project_id = p.id), '') as "provinces!",
                  coalesce((select string_agg(pd.district_code, ' ' order by pd.district_code)
                            from project_districts pd where pd.project_id = p.id), '') as "districts!"
           from projects p join organizations o on o.id = p.lead_organization_id
           where ($1 or p.published or takes_part_in_project(p.id, $2))
             and ($3::bigint is null or p.id = $3)
             and ($4::bigint is null or p.id = (select st.project_id from studies st where st.id = $4))
             and ($5 = '' or exists (select 1 from project_provinces pp
                                     where pp.project_id = p.id and pp.province_code = $5))
             and ($6 = '' or exists (select 1 from project_districts pd
                                     where pd.project_id = p.id and pd.district_code = $6))
             and ($7::date is null or p.ends_on >= $7)
             and ($8::date is null or p.starts_on <= $8)
           order by p.starts_on, p.id"#,
        programmes.every,
        programmes.organization_id,
        s.project,
        s.study,
        s.province,
        s.district,
        s.from,
        s.to,
    )
    .fetch(pool);
    while let Some(row) = rows.try_next().await? {
        let cells = vec![
            Cell::Number(row.id),
            Cell::Text(row.title_en),
            Cell::Text(row.title_km),
            Cell::Text(row.lead),
            Cell::Text(row.funders),
            Cell::Text(row.partners),
            date(Some(row.starts_on)),
            date(Some(row.ends_on)),
            Cell::Text(row.status),
            Cell::Text(if row.published { "yes" } else { "no" }.into()),
            id(row.budget),
            Cell::Text(row.currency),
            Cell::Text(row.provinces),
            Cell::Text(row.districts),
        ];
        sink.push(cells).await?;
    }
    Ok(())
}

/// The events' columns: the event, then its participants by kind of
/// organization and sex (`from_{kind}_{sex}`), then the totals.
pub fn event_columns() -> &'static [String] {
    static COLUMNS: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    COLUMNS.get_or_init(|| {
        let head = [
            "event_id",
            "event_kind",
            "level",
            "title_en",
            "title_km",
            "first_day",
            "last_day",
            "province_code",
            "district_code",
            "commune_code",
            "venue",
            "organizer",
            "project_id",
            "agreement_id",
        ];
        let counts = ORGANIZATION_KINDS
            .iter()
            .flat_map(|kind| SEXES.map(|sex| format!("from_{kind}_{sex}")));
        head.iter()
            .map(|column| (*column).to_owned())
            .chain(counts)
            .chain(["participants", "female", "male"].map(String::from))
            .collect()
    })
}

/// Events, read by everyone signed in, each held where its level says: a
/// national event falls outside any province chosen, and none belongs to a
/// study. Counts as the reader may see them, as on the event's page.
pub async fn events(
    pool: &PgPool,
    selection: &Selection,
    reader: &Reader,
    sink: &mut Sink,
) -> anyhow::Result<()> {
    let s = selection;
    let mut rows = sqlx::query!(
        r#"select e.id, e.kind, e.level, e.title_en, e.title_km, e.starts_on, e.ends_on,
                  e.province_code, e.district_code, e.commune_code, e.venue, o.name_en as organizer,
                  e.project_id, e.agreement_id, g.exact as "exact!", g.rounded as "rounded!"
           from events e
           join organizations o on o.id = e.organizer_id
           cross join lateral (
               select array_agg(coalesce(n.count, 0) order by k.i, x.j) as exact,
                      array_agg(coalesce(rounded_count(n.count, count_key(e.disclosure_secret, k.kind || ' ' || x.sex)), 0)
                                order by k.i, x.j) as rounded
               from unnest($7::text[]) with ordinality k(kind, i)
               cross join unnest($8::text[]) with ordinality x(sex, j)
               left join event_participants n
                      on n.event_id = e.id and n.organization_kind = k.kind and n.sex = x.sex
           ) g
           where $1::bigint is null
             and ($2 = '' or e.province_code = $2)
             and ($3 = '' or e.district_code = $3)
             and ($4::date is null or e.ends_on >= $4)
             and ($5::date is null or e.starts_on <= $5)
             and ($6::bigint is null or e.project_id = $6
                  or e.agreement_id in (select a.id from agreements a where a.project_id = $6))
           order by e.starts_on, e.id"#,
        s.study,
        s.province,
        s.district,
        s.from,
        s.to,
        s.project,
        &ORGANIZATION_KINDS.map(String::from)[..],
        &SEXES.map(String::from)[..],
    )
    .fetch(pool);
    while let Some(row) = rows.try_next().await? {
        let grid = crate::events::grid(&row.exact, &row.rounded);
        let table = Table::new(
            &grid,
            reader.blurs_in(row.district_code.as_deref().unwrap_or("")),
        );
        let text = |value: Option<String>| value.map_or(Cell::Empty, Cell::Text);
        let mut cells = vec![
            Cell::Number(row.id),
            Cell::Text(row.kind),
            Cell::Text(row.level),
            Cell::Text(row.title_en),
            Cell::Text(row.title_km),
            date(Some(row.starts_on)),
            date(Some(row.ends_on)),
            text(row.province_code),
            text(row.district_code),
            text(row.commune_code),
            Cell::Text(row.venue),
            Cell::Text(row.organizer),
            id(row.project_id),
            id(row.agreement_id),
        ];
        cells.extend(
            (0..grid.len()).flat_map(|k| [people(table.cell(k, 0)), people(table.cell(k, 1))]),
        );
        cells.extend([
            people(table.total()),
            people(table.column_total(0)),
            people(table.column_total(1)),
        ]);
        sink.push(cells).await?;
    }
    Ok(())
}
