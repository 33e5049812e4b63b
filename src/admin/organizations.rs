//! `/admin/organizations`: the secretariat, member NGOs with the districts they
//! cover, district administrations (each of exactly one district), donors and
//! partners.

use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use serde::Deserialize;
use sqlx::PgPool;
use tower_sessions::Session;

use super::require_admin;
use crate::audit::{self, Event};
use crate::auth::session::CurrentUser;
use crate::error::{Answer, AppError, render};
use crate::state::AppState;
use crate::web::forms::{self, FieldErrors, Form};
use crate::web::versioned::{self, Field, Version, VersionedForm};
use crate::web::{ClientIp, Ctx, flash};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin/organizations", get(list).post(create))
        .route("/admin/organizations/new", get(new_form))
        .route("/admin/organizations/{id}", get(edit_form).post(update))
}

pub const KINDS: [&str; 7] = [
    "secretariat",
    "member_ngo",
    "sna",
    "donor",
    "partner",
    "government",
    "company",
];

pub struct OrganizationRow {
    pub id: i64,
    pub name_en: String,
    pub name_km: String,
    pub acronym: String,
    pub kind: String,
    pub districts: Vec<String>,
    pub users: i64,
}

#[derive(Template)]
#[template(path = "admin/organizations.html")]
struct ListPage {
    ctx: Ctx,
    organizations: Vec<OrganizationRow>,
}

async fn list(
    ctx: Ctx,
    user: CurrentUser,
    State(pool): State<PgPool>,
) -> Result<Response, AppError> {
    require_admin(&user)?;
    let organizations = sqlx::query_as!(
        OrganizationRow,
        r#"select o.id, o.name_en, o.name_km, o.acronym, o.kind,
                  case when o.kind = 'sna' then array[o.district_code]
                       else array(select d.district_code from organization_districts d
                                  where d.organization_id = o.id order by d.district_code)
                  end as "districts!: Vec<String>",
                  (select count(*) from users u where u.organization_id = o.id) as "users!"
           from organizations o
           order by o.kind, lower(o.name_en)"#
    )
    .fetch_all(&pool)
    .await?;
    Ok(render(&ListPage { ctx, organizations })?.into_response())
}

/// The organization form as sent. Districts come as repeated `districts` fields,
/// hence a list of pairs rather than a struct.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct OrganizationForm {
    name_en: String,
    name_km: String,
    acronym: String,
    kind: String,
    district_code: String,
    districts: Vec<String>,
    version: String,
}

impl VersionedForm for OrganizationForm {
    fn labelled(&self, ctx: &Ctx) -> Vec<Field> {
        let mut districts = self.districts.clone();
        districts.sort();
        vec![
            (ctx.t("field-name-en"), self.name_en.trim().to_owned()),
            (ctx.t("field-name-km"), self.name_km.trim().to_owned()),
            (ctx.t("field-acronym"), self.acronym.trim().to_owned()),
            (ctx.t("field-kind"), ctx.label("kind", &self.kind)),
            (
                ctx.t("organizations-sna-district"),
                self.district_code.clone(),
            ),
            (ctx.t("organizations-covered"), districts.join(", ")),
        ]
    }

    fn at_version_of(self, stored: &Self) -> Self {
        OrganizationForm {
            version: stored.version.clone(),
            ..self
        }
    }
}

impl OrganizationForm {
    pub fn covers(&self, code: &str) -> bool {
        self.districts.iter().any(|district| district == code)
    }

    fn parse(&self, known_districts: &[DistrictOption]) -> Result<ValidOrganization, FieldErrors> {
        let mut errors = FieldErrors::default();
        let known = |code: &str| known_districts.iter().any(|district| district.code == code);
        let name_en = forms::required_text(&mut errors, "name_en", &self.name_en, 200);
        let name_km = forms::optional_text(&mut errors, "name_km", &self.name_km, 200);
        let acronym = forms::optional_text(&mut errors, "acronym", &self.acronym, 20);
        let kind = KINDS.into_iter().find(|kind| *kind == self.kind);
        let mut district_code = None;
        let mut districts = Vec::new();
        match kind {
            None => errors.add("kind", "error-choose"),
            Some("sna") if known(&self.district_code) => {
                district_code = Some(self.district_code.clone())
            }
            Some("sna") => errors.add("district_code", "organization-sna-needs-district"),
            Some("member_ngo") => {
                if self.districts.iter().any(|code| !known(code)) {
                    errors.add("districts", "error-unknown-district");
                }
                districts = self.districts.clone();
                districts.sort();
                districts.dedup();
            }
            Some(_) => {}
        }
        errors.into_result(ValidOrganization {
            name_en,
            name_km,
            acronym,
            kind: kind.unwrap_or_default(),
            district_code,
            districts,
        })
    }
}

struct ValidOrganization {
    name_en: String,
    name_km: String,
    acronym: String,
    kind: &'static str,
    district_code: Option<String>,
    districts: Vec<String>,
}

pub struct DistrictOption {
    pub code: String,
    pub name_en: String,
    pub name_km: String,
    pub province_en: String,
}

#[derive(Template)]
#[template(path = "admin/organization_form.html")]
struct FormPage {
    ctx: Ctx,
    organization_id: Option<i64>,
    form: OrganizationForm,
    errors: FieldErrors,
    districts: Vec<DistrictOption>,
    kinds: [&'static str; 7],
    /// After a stale save: what someone else saved meanwhile.
    theirs: Option<Vec<Field>>,
}

impl FormPage {
    fn new(
        ctx: Ctx,
        organization_id: Option<i64>,
        form: OrganizationForm,
        districts: Vec<DistrictOption>,
    ) -> Self {
        FormPage {
            ctx,
            organization_id,
            form,
            errors: FieldErrors::default(),
            districts,
            kinds: KINDS,
            theirs: None,
        }
    }
}

async fn districts(pool: &PgPool) -> Result<Vec<DistrictOption>, AppError> {
    Ok(sqlx::query_as!(
        DistrictOption,
        "select d.code, d.name_en, d.name_km, p.name_en as province_en
         from districts d join provinces p on p.code = d.province_code
         order by d.code"
    )
    .fetch_all(pool)
    .await?)
}

async fn new_form(
    ctx: Ctx,
    user: CurrentUser,
    State(pool): State<PgPool>,
) -> Result<Response, AppError> {
    require_admin(&user)?;
    FormPage::new(
        ctx,
        None,
        OrganizationForm::default(),
        districts(&pool).await?,
    )
    .answer()
}

async fn create(
    ctx: Ctx,
    admin: CurrentUser,
    session: Session,
    ClientIp(ip): ClientIp,
    State(pool): State<PgPool>,
    Form(form): Form<OrganizationForm>,
) -> Result<Response, AppError> {
    require_admin(&admin)?;
    let districts = districts(&pool).await?;
    let valid = match form.parse(&districts) {
        Ok(valid) => valid,
        Err(errors) => {
            let page = FormPage {
                errors,
                ..FormPage::new(ctx, None, form, districts)
            };
            return Err(AppError::invalid(&page));
        }
    };
    let mut tx = pool.begin().await?;
    let inserted = sqlx::query_scalar!(
        "insert into organizations (name_en, name_km, acronym, kind, district_code)
         values ($1, $2, $3, $4, $5)
         on conflict do nothing
         returning id",
        valid.name_en,
        valid.name_km,
        valid.acronym,
        valid.kind,
        valid.district_code,
    )
    .fetch_optional(&mut *tx)
    .await?;
    let Some(id) = inserted else {
        return refuse_duplicate(ctx, &pool, None, form, districts, &valid).await;
    };
    save_districts(&mut tx, id, &valid.districts).await?;
    audit::record(
        &mut *tx,
        event(&admin, "organization_created", id, &valid, ip),
    )
    .await?;
    tx.commit().await?;
    flash(&session, "saved", "").await?;
    Ok(Redirect::to(&format!("/admin/organizations/{id}")).into_response())
}

/// Another organization has the name, or the district already has its administration.
async fn refuse_duplicate(
    ctx: Ctx,
    pool: &PgPool,
    organization_id: Option<i64>,
    form: OrganizationForm,
    districts: Vec<DistrictOption>,
    valid: &ValidOrganization,
) -> Result<Response, AppError> {
    let taken = sqlx::query!(
        r#"select exists(select 1 from organizations where lower(name_en) = lower($1) and id <> $3) as "name!",
                  exists(select 1 from organizations where district_code = $2 and id <> $3) as "district!""#,
        valid.name_en,
        valid.district_code,
        organization_id.unwrap_or_default(),
    )
    .fetch_one(pool)
    .await?;
    let mut errors = FieldErrors::default();
    if taken.name {
        errors.add("name_en", "organization-name-taken");
    }
    if taken.district {
        errors.add("district_code", "organization-sna-district-taken");
    }
    let page = FormPage {
        errors,
        ..FormPage::new(ctx, organization_id, form, districts)
    };
    Err(AppError::stale(&page))
}

fn event(
    admin: &CurrentUser,
    action: &'static str,
    id: i64,
    valid: &ValidOrganization,
    ip: Option<String>,
) -> Event<'static> {
    Event {
        actor_id: Some(admin.id),
        action,
        entity: "organization",
        entity_id: Some(id.to_string()),
        summary: format!("{} ({})", valid.name_en, valid.kind),
        ip,
    }
}

async fn save_districts(
    tx: &mut sqlx::PgConnection,
    organization_id: i64,
    districts: &[String],
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "delete from organization_districts where organization_id = $1",
        organization_id
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query!(
        "insert into organization_districts (organization_id, district_code)
         select $1, code from unnest($2::text[]) as code",
        organization_id,
        districts,
    )
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// An organization with users keeps its kind: their roles depend on it.
async fn has_users(pool: &PgPool, id: i64) -> Result<bool, AppError> {
    Ok(sqlx::query_scalar!(
        r#"select exists(select 1 from users where organization_id = $1) as "exists!""#,
        id
    )
    .fetch_one(pool)
    .await?)
}

async fn stored_form(pool: &PgPool, id: i64) -> Result<OrganizationForm, AppError> {
    let row = sqlx::query!(
        r#"select o.name_en, o.name_km, o.acronym, o.kind, o.district_code, o.version,
                  array(select d.district_code from organization_districts d
                        where d.organization_id = o.id order by d.district_code) as "districts!"
           from organizations o where o.id = $1"#,
        id
    )
    .fetch_optional(pool)
    .await?
    .ok_or(AppError::NotFound)?;
    Ok(OrganizationForm {
        name_en: row.name_en,
        name_km: row.name_km,
        acronym: row.acronym,
        kind: row.kind,
        district_code: row.district_code.unwrap_or_default(),
        districts: row.districts,
        version: row.version.to_string(),
    })
}

async fn edit_form(
    ctx: Ctx,
    user: CurrentUser,
    State(pool): State<PgPool>,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    require_admin(&user)?;
    let form = stored_form(&pool, id).await?;
    FormPage::new(ctx, Some(id), form, districts(&pool).await?).answer()
}

async fn update(
    ctx: Ctx,
    admin: CurrentUser,
    session: Session,
    ClientIp(ip): ClientIp,
    State(pool): State<PgPool>,
    Path(id): Path<i64>,
    Form(form): Form<OrganizationForm>,
) -> Result<Response, AppError> {
    require_admin(&admin)?;
    let stored = stored_form(&pool, id).await?;
    let districts = districts(&pool).await?;
    let valid = match form.parse(&districts) {
        Ok(valid) => valid,
        Err(errors) => {
            let page = FormPage {
                errors,
                ..FormPage::new(ctx, Some(id), form, districts)
            };
            return Err(AppError::invalid(&page));
        }
    };
    if valid.kind != stored.kind && has_users(&pool, id).await? {
        let mut errors = FieldErrors::default();
        errors.add("kind", "organization-kind-has-users");
        let page = FormPage {
            errors,
            ..FormPage::new(ctx, Some(id), form, districts)
        };
        return Err(AppError::invalid(&page));
    }
    let expected = Version::parse(&form.version)?;
    let mut tx = pool.begin().await?;
    let updated = sqlx::query!(
        "update organizations set name_en = $1, name_km = $2, acronym = $3, kind = $4,
                                  district_code = $5, version = version + 1
         where id = $6 and version = $7
           and not exists (select 1 from organizations other
                           where other.id <> $6
                             and (lower(other.name_en) = lower($1) or other.district_code = $5))",
        valid.name_en,
        valid.name_km,
        valid.acronym,
        valid.kind,
        valid.district_code,
        id,
        expected.number(),
    )
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if updated == 0 {
        drop(tx);
        let current = stored_form(&pool, id).await?;
        if Version::parse(&current.version)? == expected {
            return refuse_duplicate(ctx, &pool, Some(id), form, districts, &valid).await;
        }
        let (form, theirs) = versioned::conflict(&ctx, &current, form);
        let page = FormPage {
            theirs: Some(theirs),
            ..FormPage::new(ctx, Some(id), form, districts)
        };
        return Err(AppError::stale(&page));
    }
    save_districts(&mut tx, id, &valid.districts).await?;
    audit::record(
        &mut *tx,
        event(&admin, "organization_updated", id, &valid, ip),
    )
    .await?;
    tx.commit().await?;
    flash(&session, "saved", "").await?;
    Ok(Redirect::to(&format!("/admin/organizations/{id}")).into_response())
}
