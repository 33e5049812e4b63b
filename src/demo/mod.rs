//! Demo data for `serve --demo` on an empty database: the CPDD secretariat, the
//! member NGOs CTOD and AS, the seven Battambang district administrations of the
//! 2021 study, a donor, and one account per role with a random password.

mod action_plans;
mod cycle;
mod field_work;
pub mod large;
mod programmes;
mod recommendations;

use sqlx::PgPool;

use crate::files::FileStore;

use crate::admin::users::{self, NewUser};
use crate::auth::password;
use crate::auth::policy::Role;
use crate::i18n::Lang;

/// The seven districts of the Battambang study.
pub const STUDY_DISTRICTS: [&str; 7] = ["0203", "0201", "0202", "0204", "0206", "0212", "0207"];

/// A demo account, with the password printed once at start-up.
pub struct DemoAccount {
    pub role: Role,
    pub email: String,
    pub password: String,
}

/// Loads the demo data unless the database already holds organizations; returns
/// the accounts created.
pub async fn load(pool: &PgPool, files: &FileStore) -> anyhow::Result<Option<Vec<DemoAccount>>> {
    let mut tx = pool.begin().await?;
    // Two servers started at once must not both load it.
    sqlx::query!("lock table organizations in exclusive mode")
        .execute(&mut *tx)
        .await?;
    let populated =
        sqlx::query_scalar!(r#"select exists(select 1 from organizations) as "exists!""#)
            .fetch_one(&mut *tx)
            .await?;
    if populated {
        return Ok(None);
    }
    let cpdd = organization(
        &mut tx,
        "Coalition for Partnership in Democratic Development",
        "CPDD",
        "secretariat",
    )
    .await?;
    let ctod = organization(
        &mut tx,
        "Community Training Organization for Development",
        "CTOD",
        "member_ngo",
    )
    .await?;
    let aphivat_strey = organization(&mut tx, "Aphivat Strey", "AS", "member_ngo").await?;
    cover(&mut tx, ctod, &STUDY_DISTRICTS[..4]).await?;
    cover(&mut tx, aphivat_strey, &STUDY_DISTRICTS[4..]).await?;
    let donor = organization(
        &mut tx,
        "Demo Donor Partnership (illustrative)",
        "DDP",
        "donor",
    )
    .await?;
    let administrations = sqlx::query!(
        r#"insert into organizations (name_en, name_km, acronym, kind, district_code)
           select case d.type when 'municipality' then d.name_en || ' Municipal Administration'
                              else d.name_en || ' District Administration' end,
                  case d.type when 'municipality' then 'រដ្ឋបាលក្រុង' else 'រដ្ឋបាលស្រុក' end || d.name_km,
                  '', 'sna', d.code
           from districts d where d.code = any($1)
           returning id, district_code as "district_code!""#,
        &STUDY_DISTRICTS.map(String::from)[..]
    )
    .fetch_all(&mut *tx)
    .await?;
    let administration = |code: &str| {
        administrations
            .iter()
            .find(|row| row.district_code == code)
            .map(|row| row.id)
            .unwrap_or_default()
    };
    let people = [
        (Role::Admin, "admin@cpdd.example", "Sokha Admin", cpdd),
        (
            Role::Secretariat,
            "secretariat@cpdd.example",
            "Dara Secretariat",
            cpdd,
        ),
        (Role::Ngo, "ngo@ctod.example", "Srey Mom (CTOD)", ctod),
        (Role::Ngo, "ngo@as.example", "Chanthy (AS)", aphivat_strey),
        (
            Role::Sna,
            "sna@battambang.example",
            "Vannak (Battambang)",
            administration("0203"),
        ),
        (
            Role::Sna,
            "sna@banan.example",
            "Rithy (Banan)",
            administration("0201"),
        ),
        (Role::Donor, "donor@donor.example", "Demo Donor", donor),
    ];
    field_work::load(
        &mut tx,
        donor,
        |district| {
            if STUDY_DISTRICTS[..4].contains(&district) {
                ctod
            } else {
                aphivat_strey
            }
        },
        cpdd,
    )
    .await?;
    let mut accounts = Vec::new();
    for (role, email, name, organization_id) in people {
        let password = password::generate();
        let hash = password::hash(password.clone()).await?;
        let new_user = NewUser {
            email,
            display_name: name,
            role,
            organization_id,
            language: Lang::En,
            password_hash: &hash,
        };
        users::insert(&mut tx, &new_user).await?;
        accounts.push(DemoAccount {
            role,
            email: email.to_owned(),
            password,
        });
    }
    recommendations::load(&mut tx).await?;
    action_plans::load(&mut tx, files).await?;
    let secretariat =
        sqlx::query_scalar!("select id from users where email = 'secretariat@cpdd.example'")
            .fetch_one(&mut *tx)
            .await?;
    cycle::load(&mut tx, (secretariat, "Dara Secretariat")).await?;
    programmes::load(&mut tx, secretariat).await?;
    // The public studies publish their exact totals, as turning their pages
    // on does, now that their field work is in.
    sqlx::query!("select publish_headline(id) from studies where public_since is not null")
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(Some(accounts))
}

async fn organization(
    tx: &mut sqlx::PgConnection,
    name_en: &str,
    acronym: &str,
    kind: &str,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar!(
        "insert into organizations (name_en, acronym, kind) values ($1, $2, $3) returning id",
        name_en,
        acronym,
        kind,
    )
    .fetch_one(tx)
    .await
}

async fn cover(
    tx: &mut sqlx::PgConnection,
    organization_id: i64,
    districts: &[&str],
) -> Result<(), sqlx::Error> {
    let districts: Vec<String> = districts.iter().map(|code| code.to_string()).collect();
    sqlx::query!(
        "insert into organization_districts (organization_id, district_code) select $1, unnest($2::text[])",
        organization_id,
        &districts,
    )
    .execute(tx)
    .await?;
    Ok(())
}
