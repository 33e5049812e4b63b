//! The gazetteer that ships with the app, in `gazetteer/` (see its
//! `SOURCES.md`): names and codes from the NCDD gazetteer via pumi (MIT),
//! district boundaries from geoBoundaries (CC BY 4.0), and other spellings of
//! district names. Every new installation loads it at its first start, so
//! that pickers and the map work at once; `import-gazetteer` brings updates.

use sqlx::PgPool;

use super::import::{self, ImportError, Source, Summary};

/// The files, in the order they are checked: parents before children.
const FILES: [(&str, &[u8]); 5] = [
    (
        "provinces.csv",
        include_bytes!("../../gazetteer/provinces.csv"),
    ),
    (
        "districts.csv",
        include_bytes!("../../gazetteer/districts.csv"),
    ),
    (
        "communes.csv",
        include_bytes!("../../gazetteer/communes.csv"),
    ),
    (
        "districts.geojson",
        include_bytes!("../../gazetteer/districts.geojson"),
    ),
    ("aliases.csv", include_bytes!("../../gazetteer/aliases.csv")),
];

/// The shipped files, as the import reads them.
pub fn sources() -> Vec<Source> {
    FILES
        .iter()
        .map(|(name, bytes)| Source {
            name: format!("gazetteer/{name}"),
            bytes: bytes.to_vec(),
        })
        .collect()
}

/// Loads the shipped gazetteer into an installation that has no communes
/// yet; `None` when it has them already. Instances that start together load
/// it once: the others wait for the first, then find it there.
pub async fn load_if_new(pool: &PgPool) -> Result<Option<Summary>, ImportError> {
    let mut lock = pool.begin().await?;
    sqlx::query!("select pg_advisory_xact_lock(hashtext('samleng gazetteer'))")
        .execute(&mut *lock)
        .await?;
    let communes = sqlx::query_scalar!(r#"select count(*) as "count!" from communes"#)
        .fetch_one(&mut *lock)
        .await?;
    if communes > 0 {
        return Ok(None);
    }
    let summary = import::import(pool, &sources()).await?;
    lock.commit().await?;
    Ok(Some(summary))
}
