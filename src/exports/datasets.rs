//! The seven datasets: one query each over what the reader may see, with the
//! dashboard's filters (project included: a study's records belong to its
//! study's project).

use sqlx::{PgPool, Postgres, QueryBuilder};
use time::Date;

use futures_util::TryStreamExt;

use super::{Cell, Sink};
use crate::activities::form::GROUPS;
use crate::auth::policy::{self, InternalScope};
use crate::auth::reader::Reader;
use crate::disclosure::{BySex, Count, Shown, Table};
use crate::events::{ORGANIZATION_KINDS, SEXES};
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

pub const RECOMMENDATION_COLUMNS: &[&str] = &[
    "recommendation_id",
    "list_id",
    "list_version",
    "list_status",
    "study_id",
    "province_code",
    "district_code",
    "district_en",
    "district_km",
    "position",
    "text_en",
    "text_km",
    "addressee",
    "theme",
    "evidence_findings",
    "endorsed_on",
    "endorsed_how",
    "endorsed_by",
    "endorser_position",
    "fingerprint",
    "provincial_rank",
    "national_rank",
];

pub const ACTION_COLUMNS: &[&str] = &[
    "action_id",
    "plan_id",
    "plan_title",
    "province_code",
    "district_code",
    "description_en",
    "description_km",
    "owner",
    "lead",
    "starts_on",
    "due_on",
    "budget_riel",
    "budget_source",
    "indicator",
    "target",
    "status",
    "progress",
    "reported_on",
    "overdue",
    "note",
    "recommendation_ids",
];

pub const CASE_STUDY_COLUMNS: &[&str] = &[
    "case_study_id",
    "study_id",
    "province_code",
    "district_code",
    "district_en",
    "district_km",
    "title_en",
    "title_km",
    "author",
    "status",
    "published_on",
    "activities",
    "participants",
    "female",
];

fn date(value: Option<Date>) -> Cell {
    value.map_or(Cell::Empty, |date| Cell::Text(date.to_string()))
}

/// A count of people as the reader may see it: numbers stay numbers, small
/// ones are text ("<5").
fn people(shown: Shown) -> Cell {
    match shown {
        Shown::Exact(count) => Cell::Number(count),
        hidden => Cell::Text(hidden.to_string()),
    }
}

fn id(value: Option<i64>) -> Cell {
    value.map_or(Cell::Empty, Cell::Number)
}

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

/// Recommendations of the current version of each list, with the endorsement
/// and the priorities.
pub async fn recommendations(
    pool: &PgPool,
    selection: &Selection,
    reader: &Reader,
    sink: &mut Sink,
) -> anyhow::Result<()> {
    let s = selection;
    let mut rows = sqlx::query!(
        r#"select r.id, l.id as "list_id!", l.list_version as "list_version!", l.status as "status!",
                  l.study_id as "study_id!", d.province_code, l.district_code as "district_code!", d.name_en as district_en, d.name_km as district_km,
                  r.position, r.text_en, r.text_km, r.addressee,
                  coalesce(t.name_en, '') as "theme!",
                  (select count(*) from recommendation_evidence e
                   where e.recommendation_id = r.id) as "evidence!",
                  coalesce(e.given_on, (e.at at time zone 'Asia/Phnom_Penh')::date) as "endorsed_on?",
                  case when e.given_on is not null then 'paper' when e.id is not null then 'online' end as "endorsed_how?",
                  e.actor_name as "endorsed_by?",
                  e.actor_position as "endorser_position?", e.fingerprint as "fingerprint?",
                  pp.rank as "provincial_rank?", np.rank as "national_rank?"
           from visible_recommendation_lists($1, $2, $3, $4, $5, $6, $7) l
           join recommendations r on r.list_id = l.id
           join districts d on d.code = l.district_code
           left join themes t on t.id = r.theme_id
           left join endorsements e on e.list_id = l.id and e.transition = 'endorsed'
           left join priorities pp on pp.recommendation_id = r.id and pp.level = 'provincial'
           left join priorities np on np.recommendation_id = r.id and np.level = 'national'
           where ($8::bigint is null or l.study_id in (select s.id from studies s where s.project_id = $8))
           order by d.province_code, d.name_en, l.id, r.position"#,
        s.study,
        s.province,
        s.district,
        s.from,
        s.to,
        reader.everywhere,
        &reader.own_districts,
        s.project,
    )
    .fetch(pool);
    while let Some(row) = rows.try_next().await? {
        let cells = {
            let text = |value: Option<String>| value.map_or(Cell::Empty, Cell::Text);
            vec![
                Cell::Number(row.id),
                Cell::Number(row.list_id),
                Cell::Number(i64::from(row.list_version)),
                Cell::Text(row.status),
                Cell::Number(row.study_id),
                Cell::Text(row.province_code),
                Cell::Text(row.district_code),
                Cell::Text(row.district_en),
                Cell::Text(row.district_km),
                Cell::Number(i64::from(row.position)),
                Cell::Text(row.text_en),
                Cell::Text(row.text_km),
                Cell::Text(row.addressee),
                Cell::Text(row.theme),
                Cell::Number(row.evidence),
                date(row.endorsed_on),
                text(row.endorsed_how),
                text(row.endorsed_by),
                text(row.endorser_position),
                text(row.fingerprint),
                id(row.provincial_rank.map(i64::from)),
                id(row.national_rank.map(i64::from)),
            ]
        };
        sink.push(cells).await?;
    }
    Ok(())
}

/// Actions with their latest progress report; its note only where the reader
/// may read internal notes or the note is not internal.
pub async fn actions(
    pool: &PgPool,
    selection: &Selection,
    today: Date,
    internal: &InternalScope,
    sink: &mut Sink,
) -> anyhow::Result<()> {
    let s = selection;
    let mut rows = sqlx::query!(
        r#"select a.id as "id!", a.plan_id as "plan_id!",
                  coalesce(nullif(p.title_en, ''), p.title_km) as "plan_title!",
                  a.province_code as "province_code!", a.district_code,
                  x.description_en, x.description_km, o.name_en as owner, x.lead,
                  x.starts_on, x.due_on, x.budget_riel, x.budget_source, x.indicator, x.target,
                  a.status as "status!", a.progress as "progress!", a.reported_on,
                  (a.due_on < $6 and a.status not in ('completed', 'cancelled')) as "overdue!",
                  coalesce((select u.note from action_updates u
                            where u.id = a.update_id
                              and (not u.internal or $7 or a.district_code = any($8))), '') as "note!",
                  coalesce((select string_agg(ar.recommendation_id::text, ' ' order by ar.recommendation_id)
                            from action_recommendations ar where ar.action_id = a.id), '') as "recommendation_ids!"
           from current_actions($1, $2, $3, $4, $5) a
           join actions x on x.id = a.id
           join action_plans p on p.id = a.plan_id
           join organizations o on o.id = x.owner_organization_id
           where ($9::bigint is null or p.study_id in (select s.id from studies s where s.project_id = $9))
           order by a.plan_id, x.starts_on, a.id"#,
        s.study,
        s.province,
        s.district,
        s.from,
        s.to,
        today,
        internal.everywhere,
        &internal.any_districts(),
        s.project,
    )
    .fetch(pool);
    while let Some(row) = rows.try_next().await? {
        let cells = vec![
            Cell::Number(row.id),
            Cell::Number(row.plan_id),
            Cell::Text(row.plan_title),
            Cell::Text(row.province_code),
            row.district_code.map_or(Cell::Empty, Cell::Text),
            Cell::Text(row.description_en),
            Cell::Text(row.description_km),
            Cell::Text(row.owner),
            Cell::Text(row.lead),
            date(Some(row.starts_on)),
            date(Some(row.due_on)),
            Cell::Number(row.budget_riel),
            Cell::Text(row.budget_source),
            Cell::Text(row.indicator),
            Cell::Text(row.target),
            Cell::Text(row.status),
            Cell::Number(i64::from(row.progress)),
            date(row.reported_on),
            Cell::Text(if row.overdue { "yes" } else { "no" }.into()),
            Cell::Text(row.note),
            Cell::Text(row.recommendation_ids),
        ];
        sink.push(cells).await?;
    }
    Ok(())
}

/// Case studies with the activities linked to them that the reader may see.
pub async fn case_studies(
    pool: &PgPool,
    selection: &Selection,
    reader: &Reader,
    sink: &mut Sink,
) -> anyhow::Result<()> {
    let s = selection;
    let mut rows = sqlx::query!(
        r#"select c.id as "id!", c.study_id as "study_id!", d.province_code,
                  c.district_code as "district_code!", d.name_en as district_en,
                  d.name_km as district_km, c.title_en as "title_en!", c.title_km as "title_km!",
                  o.name_en as author, c.status as "status!",
                  c.published_at,
                  t.activities as "activities!", t.participants as "participants!", t.female as "female!",
                  t.rounded_participants as "rounded_participants!", t.rounded_female as "rounded_female!"
           from visible_case_studies($1, $2, $3, $4, $5, $6, $7) c
           cross join lateral (
               select count(*) as activities, coalesce(sum(a.participants), 0) as participants,
                      coalesce(sum(a.participants_female), 0) as female,
                      coalesce(sum(a.rounded_participants), 0) as rounded_participants,
                      coalesce(sum(a.rounded_participants_female), 0) as rounded_female
               from activities a where a.case_study_id = c.id
           ) t
           join districts d on d.code = c.district_code
           join organizations o on o.id = c.author_organization_id
           where ($8::bigint is null or c.study_id in (select s.id from studies s where s.project_id = $8))
           order by d.province_code, d.name_en, c.study_id"#,
        s.study,
        s.province,
        s.district,
        s.from,
        s.to,
        reader.everywhere,
        &reader.own_districts,
        s.project,
    )
    .fetch(pool);
    while let Some(row) = rows.try_next().await? {
        let participants = BySex::of_total(
            Count::new(row.female, row.rounded_female),
            Count::new(row.participants, row.rounded_participants),
            reader.blurs_in(&row.district_code),
        );
        let cells = vec![
            Cell::Number(row.id),
            Cell::Number(row.study_id),
            Cell::Text(row.province_code),
            Cell::Text(row.district_code),
            Cell::Text(row.district_en),
            Cell::Text(row.district_km),
            Cell::Text(row.title_en),
            Cell::Text(row.title_km),
            Cell::Text(row.author),
            Cell::Text(row.status),
            date(row.published_at.map(crate::format::local_date)),
            Cell::Number(row.activities),
            people(participants.total),
            people(participants.female),
        ];
        sink.push(cells).await?;
    }
    Ok(())
}

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
#[derive(Debug, Clone, Copy)]
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
