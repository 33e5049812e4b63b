//! `seed --scale large|xlarge`: the data volumes the budgets are measured at (docs/design.md), for
//! measuring the budgets and how they grow. Set-based SQL (`large.sql`) in one transaction: all of it
//! or nothing.

use anyhow::{Context, bail};
use sqlx::PgPool;

use crate::auth::password;

/// Every seeded account signs in with this; the data is for benchmarks only.
pub const SEED_PASSWORD: &str = "seed-large-scale-2026";

/// What the database holds once seeded.
pub struct Counts {
    pub districts: i64,
    pub case_studies: i64,
    pub activities: i64,
    pub participant_counts: i64,
    pub findings: i64,
    pub recommendations: i64,
    pub actions: i64,
    pub action_updates: i64,
    pub users: i64,
}

/// How much to seed: `large` is one coalition over ten years; `xlarge` ten
/// of them in every district, ten times as much of everything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scale {
    Large,
    Xlarge,
}

impl Scale {
    pub fn named(name: &str) -> Option<Scale> {
        match name {
            "large" => Some(Scale::Large),
            "xlarge" => Some(Scale::Xlarge),
            _ => None,
        }
    }

    fn coalitions(self) -> i32 {
        match self {
            Scale::Large => 1,
            Scale::Xlarge => 10,
        }
    }
}

pub async fn seed(pool: &PgPool, scale: Scale) -> anyhow::Result<Counts> {
    let password_hash = password::hash(SEED_PASSWORD.to_owned())
        .await
        .map_err(|error| anyhow::anyhow!("{error}"))?;
    let mut tx = pool.begin().await?;
    let seeded = sqlx::query_scalar!(
        r#"select exists(select 1 from studies where title_en like 'Seed study %') as "seeded!""#
    )
    .fetch_one(&mut *tx)
    .await?;
    if seeded {
        bail!("this database is already seeded");
    }
    sqlx::query_scalar!(
        "select set_config('seed.password_hash', $1, true) || set_config('seed.scale', $2::int::text, true)",
        password_hash,
        scale.coalitions()
    )
    .fetch_one(&mut *tx)
    .await?;
    sqlx::raw_sql(include_str!("large.sql"))
        .execute(&mut *tx)
        .await
        .context("seeding")?;
    tx.commit().await?;
    // As after any bulk load: fresh statistics for the planner, and visibility
    // maps for index-only scans.
    sqlx::raw_sql("vacuum analyze").execute(pool).await?;
    Ok(sqlx::query_as!(
        Counts,
        r#"select (select count(*) from districts) as "districts!",
                  (select count(*) from case_studies) as "case_studies!",
                  (select count(*) from activities) as "activities!",
                  (select count(*) from participant_counts) as "participant_counts!",
                  (select count(*) from findings) as "findings!",
                  (select count(*) from recommendations) as "recommendations!",
                  (select count(*) from actions) as "actions!",
                  (select count(*) from action_updates) as "action_updates!",
                  (select count(*) from users) as "users!""#
    )
    .fetch_one(pool)
    .await?)
}
