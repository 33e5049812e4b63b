//! The command line's account work: `samleng create-user`, which also makes
//! the first administrator's organization on a new installation
//! (`--create-org`), and `samleng set-password`, which gets an account back
//! when its password is lost (the demo's, printed only once, among them).
//! What it does is audited with no one signed in as actor.

use std::io::Read as _;

use anyhow::bail;
use sqlx::PgPool;

use crate::admin::users::{self, NewUser};
use crate::auth::password;
use crate::auth::policy::Role;
use crate::i18n::Lang;

/// `samleng create-user`'s arguments.
#[derive(clap::Args)]
pub struct NewAccount {
    #[arg(long)]
    email: String,
    #[arg(long)]
    name: String,
    /// admin, secretariat, ngo, sna or donor.
    #[arg(long)]
    role: String,
    /// The organization's acronym or English name.
    #[arg(long)]
    org: String,
    /// Read the password from standard input instead of generating one.
    #[arg(long)]
    password_stdin: bool,
    /// Create the organization (named ORG, of the role's kind) when none has
    /// that acronym or name: for the first administrator of a new installation.
    #[arg(long)]
    create_org: bool,
}

pub async fn create_user(pool: &PgPool, account: &NewAccount) -> anyhow::Result<()> {
    let NewAccount {
        email,
        name,
        role,
        org,
        password_stdin,
        create_org,
    } = account;
    let Some(role) = Role::parse(role) else {
        bail!("unknown role {role:?}: use admin, secretariat, ngo, sna or donor");
    };
    let found = sqlx::query!(
        "select id, kind from organizations
         where lower(acronym) = lower($1) or lower(name_en) = lower($1) order by id limit 1",
        org
    )
    .fetch_optional(pool)
    .await?;
    let organization = match found {
        Some(found) => OrganizationOf {
            id: found.id,
            kind: found.kind,
        },
        None if *create_org => create_organization(pool, org, role).await?,
        None => {
            bail!("no organization has the acronym or name {org:?} (add --create-org to create it)")
        }
    };
    if organization.kind != role.organization_kind() {
        bail!(
            "a {} user belongs to a {} organization, and {org} is a {}",
            role.code(),
            role.organization_kind(),
            organization.kind
        );
    }
    let (password, generated) = new_password(*password_stdin, email)?;
    let hash = password::hash(password.clone()).await?;
    let mut tx = pool.begin().await?;
    let new_user = NewUser {
        email,
        display_name: name,
        role,
        organization_id: organization.id,
        language: Lang::En,
        password_hash: &hash,
    };
    let Some(id) = users::insert(&mut tx, &new_user).await? else {
        bail!("a user with the e-mail {email} exists already");
    };
    let summary = format!("{email} ({}) from the command line", role.code());
    audit_command_line(&mut tx, "user_created", "user", id, summary).await?;
    tx.commit().await?;
    println!("Created {} user {email} (id {id}).", role.code());
    if generated {
        println!("Password (shown only this once): {password}");
    }
    Ok(())
}

/// `samleng set-password`'s arguments.
#[derive(clap::Args)]
pub struct PasswordChange {
    #[arg(long)]
    email: String,
    /// Read the password from standard input instead of generating one.
    #[arg(long)]
    password_stdin: bool,
}

/// Gives an account a new password and lifts a lock-out; its sessions end
/// (they hold the old password's fingerprint).
pub async fn set_password(pool: &PgPool, change: &PasswordChange) -> anyhow::Result<()> {
    let (password, generated) = new_password(change.password_stdin, &change.email)?;
    let hash = password::hash(password.clone()).await?;
    let mut tx = pool.begin().await?;
    let Some(id) = sqlx::query_scalar!(
        "update users set password_hash = $2, failed_sign_ins = 0, locked_until = null
         where lower(email) = lower($1) returning id",
        change.email,
        hash
    )
    .fetch_optional(&mut *tx)
    .await?
    else {
        bail!("no user has the e-mail {}", change.email);
    };
    let summary = format!("{} from the command line", change.email);
    audit_command_line(&mut tx, "password_set", "user", id, summary).await?;
    tx.commit().await?;
    println!("Set a new password for {} (id {id}).", change.email);
    if generated {
        println!("Password (shown only this once): {password}");
    }
    Ok(())
}

/// The password typed on standard input, or a generated one (`true`), refused
/// when it is weak.
fn new_password(from_stdin: bool, email: &str) -> anyhow::Result<(String, bool)> {
    let (password, generated) = if from_stdin {
        let mut password = String::new();
        std::io::stdin().read_to_string(&mut password)?;
        (password.trim_end_matches(['\r', '\n']).to_owned(), false)
    } else {
        (password::generate(), true)
    };
    if let Some(weakness) = password::weakness(&password, email) {
        bail!("{}", Lang::En.t(weakness));
    }
    Ok((password, generated))
}

/// What the command line did, in the audit log: no one signed in did it.
async fn audit_command_line(
    tx: &mut sqlx::PgConnection,
    action: &'static str,
    entity: &'static str,
    id: i64,
    summary: String,
) -> anyhow::Result<()> {
    let event = crate::audit::Event {
        actor_id: None,
        action,
        entity,
        entity_id: Some(id.to_string()),
        summary,
        ip: None,
    };
    crate::audit::record(tx, event).await?;
    Ok(())
}

struct OrganizationOf {
    id: i64,
    kind: String,
}

/// An organization named `name` (its acronym too), of the kind the role
/// belongs to; a district administration needs its district, so it is made
/// in the app instead.
async fn create_organization(
    pool: &PgPool,
    name: &str,
    role: Role,
) -> anyhow::Result<OrganizationOf> {
    let kind = role.organization_kind();
    if kind == "sna" {
        bail!(
            "create a district administration in the app (Admin → Organizations), with its district"
        );
    }
    let mut tx = pool.begin().await?;
    let id = sqlx::query_scalar!(
        "insert into organizations (name_en, acronym, kind) values ($1, $1, $2) returning id",
        name,
        kind
    )
    .fetch_one(&mut *tx)
    .await?;
    let summary = format!("{name} ({kind}) from the command line");
    audit_command_line(&mut tx, "organization_created", "organization", id, summary).await?;
    tx.commit().await?;
    println!("Created the {kind} organization {name} (id {id}); complete its names in the app.");
    Ok(OrganizationOf {
        id,
        kind: kind.to_owned(),
    })
}
