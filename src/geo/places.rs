//! Places as people choose them: provinces, each with its districts, by name
//! in the reader's language. The filters of the list pages and the plan form
//! offer them as selects grouped by province, never as code fields.

use std::collections::HashMap;
use std::sync::Arc;

use sqlx::PgPool;

use crate::db::cache::GenerationCache;
use crate::state::AppState;

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

/// What the list pages' filters offer: the places and the studies (id, title);
/// and the names the lists show, so that their statements read no other table.
#[derive(Default)]
pub struct FilterChoices {
    pub provinces: Vec<Province>,
    /// (id, title in English, in Khmer), newest first.
    pub studies: Vec<(i64, String, String)>,
    /// Where each district is in `provinces` (province, district).
    districts: HashMap<String, (usize, usize)>,
    organizations: HashMap<i64, String>,
}

impl FilterChoices {
    /// A district's names, or (for the code of a province) the province's.
    fn place(&self, code: &str) -> Option<&Place> {
        match self.districts.get(code) {
            Some(&(province, district)) => Some(&self.provinces[province].districts[district]),
            None => self
                .provinces
                .iter()
                .find(|province| province.place.code == code)
                .map(|province| &province.place),
        }
    }

    /// A place's English and Khmer names, to show beside a row (empty for a
    /// code the gazetteer does not know).
    pub fn names(&self, code: &str) -> (String, String) {
        self.place(code).map_or_else(Default::default, |place| {
            (place.name_en.clone(), place.name_km.clone())
        })
    }

    /// A study's titles, in English and in Khmer.
    pub fn study(&self, id: i64) -> (&str, &str) {
        self.studies
            .iter()
            .find(|(study, ..)| *study == id)
            .map_or(("", ""), |(_, en, km)| (en.as_str(), km.as_str()))
    }

    /// An organization's English name.
    pub fn organization(&self, id: i64) -> &str {
        self.organizations.get(&id).map_or("", String::as_str)
    }
}

/// Kept until the data changes, so a list page reads neither its filters'
/// choices nor the names of its rows' places and organizations.
type ChoicesCache = GenerationCache<(), FilterChoices>;

pub async fn filter_choices(state: &AppState) -> Result<Arc<FilterChoices>, sqlx::Error> {
    state
        .kept("filter_choices", ChoicesCache::new)
        .get((), async || load(&state.pool).await)
        .await
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
           union all
           select 'organization', '', name_en, name_km, '', id, '' from organizations
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
                if let Some(index) = choices
                    .provinces
                    .iter()
                    .position(|province| province.place.code == row.province)
                {
                    let districts = &mut choices.provinces[index].districts;
                    choices
                        .districts
                        .insert(place.code.clone(), (index, districts.len()));
                    districts.push(place);
                }
            }
            "organization" => {
                choices.organizations.insert(row.id, place.name_en);
            }
            _ => choices.studies.push((row.id, place.name_en, place.name_km)),
        }
    }
    Ok(choices)
}
