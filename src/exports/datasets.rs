//! The datasets of the cycle after the field work (recommendations, actions,
//! case studies), and the cells every dataset writes. Each is one query over
//! what the reader may see, with the dashboard's filters (project included: a
//! study's records belong to its study's project). The field work's datasets
//! are in `field_work`, the programmes' in `programmes`.

use sqlx::PgPool;
use time::Date;

use futures_util::TryStreamExt;

use super::{Cell, Sink};
use crate::auth::policy::InternalScope;
use crate::auth::reader::Reader;
use crate::disclosure::{BySex, Count, Shown};
use crate::web::filters::Selection;

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

pub(super) fn date(value: Option<Date>) -> Cell {
    value.map_or(Cell::Empty, |date| Cell::Text(date.to_string()))
}

/// A count of people as the reader may see it: numbers stay numbers, small
/// ones are text ("<5").
pub(super) fn people(shown: Shown) -> Cell {
    match shown {
        Shown::Exact(count) => Cell::Number(count),
        hidden => Cell::Text(hidden.to_string()),
    }
}

pub(super) fn id(value: Option<i64>) -> Cell {
    value.map_or(Cell::Empty, Cell::Number)
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
