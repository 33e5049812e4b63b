//! `/districts`, `/districts/{code}` and `/provinces/{code}`: the geography every
//! signed-in user can browse. Later features add their material to the district page.

use std::sync::Arc;

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::Html;
use axum::routing::get;
use serde::Deserialize;
use sqlx::PgPool;

use crate::auth::policy::{self, Action, Scope};
use crate::auth::session::CurrentUser;
use crate::db::cache::{GenerationCache, KEPT_LARGE};
use crate::disclosure::{BySex, Count, Shown};
use crate::error::{AppError, render};
use crate::state::AppState;
use crate::web::{Ctx, forms};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/districts", get(list))
        .route("/districts/{code}", get(show))
        .route("/provinces/{code}", get(province))
}

/// The names of the types of place in the page's language, looked up once per
/// page rather than once per row.
pub struct PlaceTypes(Vec<(&'static str, String)>);

impl PlaceTypes {
    pub fn new(ctx: &Ctx) -> Self {
        let types = [
            "province",
            "capital",
            "municipality",
            "district",
            "khan",
            "commune",
            "sangkat",
        ];
        PlaceTypes(
            types
                .into_iter()
                .map(|code| (code, ctx.label("type", code)))
                .collect(),
        )
    }

    pub fn get<'a>(&'a self, code: &'a str) -> &'a str {
        self.0
            .iter()
            .find(|(known, _)| *known == code)
            .map_or(code, |(_, label)| label.as_str())
    }
}

/// A place's two names; pages show the reader's language first.
pub struct Names {
    pub en: String,
    pub km: String,
}

#[derive(Debug, Default, Deserialize)]
pub struct DistrictFilters {
    #[serde(default)]
    q: String,
    #[serde(default)]
    province: String,
}

pub struct DistrictRow {
    pub code: String,
    pub kind: String,
    pub name_en: String,
    pub name_km: String,
    pub communes: i64,
}

pub struct ProvinceGroup {
    pub code: String,
    pub name_en: String,
    pub name_km: String,
    pub districts: Vec<DistrictRow>,
}

pub struct ProvinceOption {
    pub code: String,
    pub name_en: String,
    pub name_km: String,
}

#[derive(Template)]
#[template(path = "geo/districts.html")]
struct DistrictsPage {
    types: PlaceTypes,
    ctx: Ctx,
    filters: DistrictFilters,
    listed: Arc<Listed>,
}

/// The provinces to filter by, and the districts found, by province.
struct Listed {
    provinces: Vec<ProvinceOption>,
    groups: Vec<ProvinceGroup>,
}

/// The whole country or one province, unsearched, kept until the gazetteer
/// changes: every district with its communes counted is the page's cost.
type ListedCache = GenerationCache<String, Listed>;

async fn list(
    ctx: Ctx,
    user: CurrentUser,
    State(state): State<AppState>,
    Query(filters): Query<DistrictFilters>,
) -> Result<Html<String>, AppError> {
    if !policy::allows(&user, Action::BrowseGeography, Scope::Anything) {
        return Err(AppError::Forbidden);
    }
    let pool = &state.pool;
    let search = filters.q.trim();
    let listed = if search.is_empty() {
        state
            .kept("district_lists", ListedCache::new)
            .get(filters.province.clone(), async || {
                listed(pool, "", &filters.province).await
            })
            .await?
    } else {
        Arc::new(listed(pool, search, &filters.province).await?)
    };
    render(&DistrictsPage {
        types: PlaceTypes::new(&ctx),
        ctx,
        filters,
        listed,
    })
}

/// The districts named like `search` (every one if empty), in `province` (any if empty).
async fn listed(pool: &PgPool, search: &str, province: &str) -> Result<Listed, sqlx::Error> {
    let provinces = sqlx::query_as!(
        ProvinceOption,
        "select code, name_en, name_km from provinces order by code"
    )
    .fetch_all(pool)
    .await?;
    let rows = sqlx::query!(
        r#"select d.code, d.type, d.name_en, d.name_km,
                  p.code as province_code, p.name_en as province_en, p.name_km as province_km,
                  coalesce(c.communes, 0) as "communes!"
           from districts d join provinces p on p.code = d.province_code
           left join (select district_code, count(*) as communes from communes group by district_code) c
                  on c.district_code = d.code
           where ($1 = '' or unaccent(d.name_en) ilike unaccent($1) or d.name_km like $1 or d.code = $3
                  or exists (select 1 from district_aliases a
                             where a.district_code = d.code and unaccent(a.alias) ilike unaccent($1)))
             and ($2 = '' or d.province_code = $2)
           order by p.code, d.code"#,
        forms::contains_pattern(search),
        province,
        search,
    )
    .fetch_all(pool)
    .await?;
    let mut groups: Vec<ProvinceGroup> = Vec::new();
    for row in rows {
        let district = DistrictRow {
            code: row.code,
            kind: row.r#type,
            name_en: row.name_en,
            name_km: row.name_km,
            communes: row.communes,
        };
        match groups.last_mut() {
            Some(group) if group.code == row.province_code => group.districts.push(district),
            _ => groups.push(ProvinceGroup {
                code: row.province_code,
                name_en: row.province_en,
                name_km: row.province_km,
                districts: vec![district],
            }),
        }
    }
    Ok(Listed { provinces, groups })
}

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

async fn show(
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
        .kept("district_pages", |name, changes| {
            MaterialCache::with_capacity(name, changes, KEPT_LARGE)
        })
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

#[derive(Template)]
#[template(path = "geo/province.html")]
struct ProvincePage {
    types: PlaceTypes,
    ctx: Ctx,
    province: Arc<Province>,
}

/// A province and its districts with their communes counted, kept until the
/// gazetteer changes.
struct Province {
    code: String,
    kind: String,
    names: Names,
    districts: Vec<DistrictRow>,
}

/// By code; `None`: no such province.
type ProvinceCache = GenerationCache<String, Option<Arc<Province>>>;

async fn province(
    ctx: Ctx,
    user: CurrentUser,
    State(state): State<AppState>,
    Path(code): Path<String>,
) -> Result<Html<String>, AppError> {
    if !policy::allows(&user, Action::BrowseGeography, Scope::Anything) {
        return Err(AppError::Forbidden);
    }
    let pool = &state.pool;
    let province = state
        .kept("provinces", ProvinceCache::new)
        .get(code.clone(), async || {
            province_with_districts(pool, &code).await
        })
        .await?;
    let Some(province) = Option::clone(&province) else {
        return Err(AppError::NotFound);
    };
    render(&ProvincePage {
        types: PlaceTypes::new(&ctx),
        ctx,
        province,
    })
}

async fn province_with_districts(
    pool: &PgPool,
    code: &str,
) -> Result<Option<Arc<Province>>, sqlx::Error> {
    let Some(province) = sqlx::query!(
        "select code, type, name_en, name_km from provinces where code = $1",
        code
    )
    .fetch_optional(pool)
    .await?
    else {
        return Ok(None);
    };
    let districts = sqlx::query_as!(
        DistrictRow,
        r#"select d.code, d.type as kind, d.name_en, d.name_km,
                  (select count(*) from communes c where c.district_code = d.code) as "communes!"
           from districts d where d.province_code = $1 order by d.code"#,
        code
    )
    .fetch_all(pool)
    .await?;
    Ok(Some(Arc::new(Province {
        code: province.code,
        kind: province.r#type,
        names: Names {
            en: province.name_en,
            km: province.name_km,
        },
        districts,
    })))
}
