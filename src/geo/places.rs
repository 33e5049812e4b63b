//! Places as people choose them: provinces, each with its districts, by name
//! in the reader's language. The filters of the list pages and the plan form
//! offer them as selects grouped by province, never as code fields.

use std::sync::Arc;

use sqlx::PgPool;

use crate::db::cache::GenerationCache;

/// A district (or a commune) as a choice: its code and its two names.
pub struct Place {
    pub code: String,
    pub name_en: String,
    pub name_km: String,
}

/// A province with its districts, in gazetteer order.
pub struct Province {
    pub place: Place,
    pub districts: Vec<Place>,
}

/// What the list pages' filters offer: the places and the studies (id, title).
#[derive(Default)]
pub struct FilterChoices {
    pub provinces: Vec<Province>,
    pub studies: Vec<(i64, String)>,
}

/// Kept until the gazetteer or the studies change (they rarely do), so a list
/// page pays one tiny query for its filters instead of reading 235 places.
pub type ChoicesCache = GenerationCache<(), FilterChoices>;

pub async fn filter_choices(
    pool: &PgPool,
    cache: &ChoicesCache,
) -> Result<Arc<FilterChoices>, sqlx::Error> {
    cache.get(pool, (), async || load(pool).await).await
}

async fn load(pool: &PgPool) -> Result<FilterChoices, sqlx::Error> {
    let rows = sqlx::query!(
        r#"select 'province' as "kind!", code as "code!", name_en as "name_en!", name_km as "name_km!",
                  code as "province!", 0::bigint as "id!", '' as "sort!"
           from provinces
           union all
           select 'district', code, name_en, name_km, province_code, 0, '' from districts
           union all
           select 'study', '', title_en, title_km, '', id, period_start::text from studies
           order by 1 desc, 5, 2, 7 desc"#
    )
    .fetch_all(pool)
    .await?;
    let mut choices = FilterChoices::default();
    for row in rows {
        let place = Place {
            code: row.code,
            name_en: row.name_en,
            name_km: row.name_km,
        };
        match row.kind.as_str() {
            "province" => choices.provinces.push(Province {
                place,
                districts: Vec::new(),
            }),
            "district" => {
                if let Some(province) = choices
                    .provinces
                    .iter_mut()
                    .find(|province| province.place.code == row.province)
                {
                    province.districts.push(place);
                }
            }
            _ => choices.studies.push((row.id, place.name_en)),
        }
    }
    Ok(choices)
}
