//! What an import's rows are checked against: the activity form's choices for
//! this user, and every name a row may use for a district, an organization or
//! a theme.

use std::collections::HashSet;

use sqlx::PgPool;
use time::Date;

use crate::activities::edit::choices;
use crate::activities::form::Choices;
use crate::auth::session::CurrentUser;
use crate::error::AppError;

/// What the rows are checked against, loaded once per file.
pub struct Lookup {
    /// What the activity form accepts from this user.
    pub choices: Choices,
    /// Every district of the country, (code, English, Khmer): a district that
    /// does not exist is told apart from one the user does not cover.
    pub districts: Vec<(String, String, String)>,
    /// The organizations the form accepts: (id, English, Khmer, acronym).
    pub organizations: Vec<(i64, String, String, String)>,
    pub themes: Vec<(i64, String, String)>,
    /// A row without an organization is the importer's own.
    pub own_organization: i64,
    pub study_id: Option<i64>,
    pub today: Date,
    /// The submissions of this file imported before.
    pub imported: HashSet<String>,
}

impl Lookup {
    /// What `user` may import into, with no study chosen yet.
    pub async fn load(pool: &PgPool, user: &CurrentUser) -> Result<Lookup, AppError> {
        let rows = sqlx::query!(
            r#"select 'district' as "kind!", 0::bigint as "id!", code as "code!", name_en as "en!",
                      name_km as "km!", '' as "acronym!", 0 as "position!"
               from districts
               union all
               select 'organization', id, '', name_en, name_km, acronym, 0 from organizations
               where kind in ('member_ngo', 'secretariat')
               union all
               select 'theme', id, '', name_en, name_km, '', position from themes where active
               order by 1, 7, 2, 3"#
        )
        .fetch_all(pool)
        .await?;
        let mut lookup = Lookup {
            choices: choices(pool, user).await?,
            districts: Vec::new(),
            organizations: Vec::new(),
            themes: Vec::new(),
            own_organization: user.organization_id,
            study_id: None,
            today: crate::format::today(),
            imported: HashSet::new(),
        };
        for row in rows {
            match row.kind.as_str() {
                "district" => lookup.districts.push((row.code, row.en, row.km)),
                "organization" => lookup
                    .organizations
                    .push((row.id, row.en, row.km, row.acronym)),
                _ => lookup.themes.push((row.id, row.en, row.km)),
            }
        }
        Ok(lookup)
    }
}
