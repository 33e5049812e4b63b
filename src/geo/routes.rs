//! `/districts` and `/provinces/{code}`: the geography every
//! signed-in user can browse (a district's own page is `district`).

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
use crate::db::cache::GenerationCache;
use crate::error::{AppError, render};
use crate::state::AppState;
use crate::web::{Ctx, forms};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/districts", get(list))
        .route("/districts/{code}", get(super::district::show))
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
