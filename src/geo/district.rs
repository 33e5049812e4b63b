//! `/districts/{code}`: everything about one district, its participants and
//! the newest of its activities, case studies, recommendation lists and plans.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, State};
use axum::response::Html;
use sqlx::PgPool;

use super::routes::{Names, PlaceTypes};
use crate::auth::policy::{self, Action, Scope};
use crate::auth::session::CurrentUser;
use crate::db::cache::GenerationCache;
use crate::disclosure::{BySex, Count, Shown};
use crate::error::{AppError, render};
use crate::state::AppState;
use crate::web::Ctx;

pub struct CommuneRow {
    pub code: String,
    pub kind: String,
    pub name_en: String,
    pub name_km: String,
}

#[derive(Template)]
#[template(path = "geo/district.html")]
struct DistrictPage {
    types: PlaceTypes,
    ctx: Ctx,
    district: Arc<DistrictMaterial>,
    works_here: bool,
    /// Participants of the activities the reader may see in the district.
    participants: BySex,
    /// The latest activities, with their participants as shown.
    activities: Vec<(ActivityLine, Shown)>,
}

/// What a district's page shows, alike for every reader who may (or may
/// not) read the district's unpublished material. Its totals add up every
/// activity of the district, so it is kept until the data changes; its lists
/// hold the newest few of each kind, whatever the years of work behind them.
struct DistrictMaterial {
    code: String,
    kind: String,
    names: Names,
    province_code: String,
    province: Names,
    female: Count,
    total: Count,
    communes: Vec<CommuneRow>,
    case_studies: Vec<CaseStudyLine>,
    activities: Vec<ActivityLine>,
    lists: Vec<ListLine>,
    /// The recommendations of the newest list the reader may read.
    recommendations: Vec<RecommendationLine>,
    plans: Vec<PlanLine>,
}

/// By district and whether unpublished material counts; `None`: no such district.
type MaterialCache = GenerationCache<(String, bool), Option<Arc<DistrictMaterial>>>;

pub struct RecommendationLine {
    pub id: i64,
    pub text_en: String,
    pub text_km: String,
    pub addressee: String,
}

/// An action plan of the district, with its progress ("57").
pub struct PlanLine {
    pub id: i64,
    pub title_en: String,
    pub title_km: String,
    pub progress: String,
}

pub struct ListLine {
    pub id: i64,
    pub list_version: i32,
    pub status: String,
}

pub struct CaseStudyLine {
    pub id: i64,
    pub title_en: String,
    pub title_km: String,
    pub status: String,
}

#[derive(Clone)]
pub struct ActivityLine {
    pub id: i64,
    pub kind: String,
    pub held_on: time::Date,
    pub total: i32,
    /// The total as outsiders see it (`disclosure`).
    pub rounded_total: i32,
}

/// How many of the district's activities, case studies, lists and plans its
/// page lists, newest first; the list pages hold the rest.
const LATEST: i64 = 10;

/// The district's participants and its latest activities' totals, as `user` may
/// see them.
fn participants(
    user: &CurrentUser,
    district: &DistrictMaterial,
) -> (BySex, Vec<(ActivityLine, Shown)>) {
    let blurred = !policy::allows(
        user,
        Action::ReadSmallCounts,
        Scope::District(&district.code),
    );
    let activities = district
        .activities
        .iter()
        .map(|activity| {
            let shown = Count::new(activity.total, activity.rounded_total).shown(blurred);
            (activity.clone(), shown)
        })
        .collect();
    (
        BySex::of_total(district.female, district.total, blurred),
        activities,
    )
}

pub(super) async fn show(
    ctx: Ctx,
    user: CurrentUser,
    State(state): State<AppState>,
    Path(code): Path<String>,
) -> Result<Html<String>, AppError> {
    if !policy::allows(&user, Action::BrowseGeography, Scope::Anything) {
        return Err(AppError::Forbidden);
    }
    // Unpublished material of the district counts only for those who may read it.
    let unpublished = policy::allows(&user, Action::ReadActivity, Scope::District(&code));
    let pool = &state.pool;
    let district = state
        .kept("district_pages", MaterialCache::large)
        .get((code.clone(), unpublished), async || {
            district_material(pool, &code, unpublished).await
        })
        .await?;
    let Some(district) = Option::clone(&district) else {
        return Err(AppError::NotFound);
    };
    let (participants, activities) = participants(&user, &district);
    render(&DistrictPage {
        participants,
        activities,
        types: PlaceTypes::new(&ctx),
        works_here: !user.districts.is_empty() && policy::acts_in_district(&user, &district.code),
        ctx,
        district,
    })
}

async fn district_material(
    pool: &PgPool,
    code: &str,
    unpublished: bool,
) -> Result<Option<Arc<DistrictMaterial>>, sqlx::Error> {
    let Some(district) = sqlx::query!(
        r#"select d.code, d.type, d.name_en, d.name_km, p.code as province_code,
                  p.name_en as province_en, p.name_km as province_km,
                  coalesce(t.total, 0) as "total!", coalesce(t.female, 0) as "female!",
                  coalesce(t.rounded_total, 0) as "rounded_total!",
                  coalesce(t.rounded_female, 0) as "rounded_female!"
           from districts d join provinces p on p.code = d.province_code
           left join lateral (
               select sum(a.participants)::bigint as total, sum(a.participants_female)::bigint as female,
                      sum(a.rounded_participants)::bigint as rounded_total,
                      sum(a.rounded_participants_female)::bigint as rounded_female
               from activities a
               left join case_studies c on c.id = a.case_study_id
               where a.district_code = d.code and ($2 or case_study_published(c.status))
           ) t on true
           where d.code = $1"#,
        code,
        unpublished
    )
    .fetch_optional(pool)
    .await?
    else {
        return Ok(None);
    };
    let communes = sqlx::query_as!(
        CommuneRow,
        r#"select code, type as kind, name_en, name_km from communes
           where district_code = $1 order by code"#,
        code
    )
    .fetch_all(pool)
    .await?;
    // The district's newest case studies, recommendation lists and plans, and
    // the recommendations of its newest list, in one statement.
    let material = sqlx::query!(
        r#"(select 'case_study' as "kind!", id as "id!", title_en as "title_en!", title_km as "title_km!",
                   status as "status!", 0 as "list_version!", updated_at as "updated_at!"
            from case_studies
            where district_code = $1 and ($2 or case_study_published(status))
            order by updated_at desc, id desc limit $3)
           union all
           (select 'list', id, '', '', status, list_version, updated_at from recommendation_lists
            where district_code = $1 and ($2 or status in ('endorsed', 'superseded'))
            order by list_version desc, id desc limit $3)
           union all
           (select 'plan', p.id, p.title_en, p.title_km, p.progress::text, 0, p.created_at
            from action_plans p where p.district_code = $1
            order by p.created_at desc, p.id desc limit $3)
           union all
           -- The recommendations of the newest version the reader may read.
           select 'recommendation', r.id, r.text_en, r.text_km, r.addressee, r.position, now()
           from recommendations r
           where r.list_id = (select l.id from recommendation_lists l
                              where l.district_code = $1 and ($2 or l.status in ('endorsed', 'superseded'))
                              order by l.list_version desc, l.id desc limit 1)
           order by 1, 7 desc, 6"#,
        code,
        unpublished,
        LATEST,
    )
    .fetch_all(pool)
    .await?;
    let mut case_studies = Vec::new();
    let mut lists = Vec::new();
    let mut plans = Vec::new();
    let mut recommendations = Vec::new();
    for row in material {
        if row.kind == "recommendation" {
            recommendations.push(RecommendationLine {
                id: row.id,
                text_en: row.title_en,
                text_km: row.title_km,
                addressee: row.status,
            });
        } else if row.kind == "plan" {
            plans.push(PlanLine {
                id: row.id,
                title_en: row.title_en,
                title_km: row.title_km,
                progress: row.status,
            });
        } else if row.kind == "case_study" {
            case_studies.push(CaseStudyLine {
                id: row.id,
                title_en: row.title_en,
                title_km: row.title_km,
                status: row.status,
            });
        } else {
            lists.push(ListLine {
                id: row.id,
                list_version: row.list_version,
                status: row.status,
            });
        }
    }
    let activities = sqlx::query_as!(
        ActivityLine,
        r#"select a.id, a.kind, a.held_on,
                  a.participants as total, a.rounded_participants as rounded_total
           from activities a left join case_studies c on c.id = a.case_study_id
           where a.district_code = $1 and ($2 or case_study_published(c.status))
           order by a.held_on desc, a.id desc limit $3"#,
        code,
        unpublished,
        LATEST,
    )
    .fetch_all(pool)
    .await?;
    Ok(Some(Arc::new(DistrictMaterial {
        female: Count::new(district.female, district.rounded_female),
        total: Count::new(district.total, district.rounded_total),
        code: district.code,
        kind: district.r#type,
        names: Names {
            en: district.name_en,
            km: district.name_km,
        },
        province_code: district.province_code,
        province: Names {
            en: district.province_en,
            km: district.province_km,
        },
        communes,
        case_studies,
        activities,
        lists,
        recommendations,
        plans,
    })))
}
