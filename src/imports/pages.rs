//! The import pages: where to start (the template, the XLSForm, the upload
//! form), and the preview of a file with every problem it has.

use askama::Template;
use axum::extract::multipart::MultipartRejection;
use axum::extract::{Multipart, Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use sha2::{Digest as _, Sha256};
use sqlx::PgPool;

use super::check::{self, Checked, Lookup, Problem};
use super::columns::{self, Column};
use super::sheet::{self, MAX_ROWS, Table};
use super::{template, xlsform};
use crate::app::AppState;
use crate::attachments::{Upload, read_upload};
use crate::audit::{self, Event};
use crate::auth::policy::{Action, Scope};
use crate::auth::require;
use crate::auth::session::CurrentUser;
use crate::error::{AppError, render};
use crate::web::{ClientIp, Ctx};

/// The start page: what to download, and the upload form, with the reason a
/// file was refused.
#[derive(Template)]
#[template(path = "imports/start.html")]
pub(super) struct StartPage {
    ctx: Ctx,
    studies: Vec<(i64, String)>,
    study_id: String,
    refusal: Option<String>,
}

async fn studies(pool: &PgPool) -> Result<Vec<(i64, String)>, AppError> {
    Ok(
        sqlx::query!("select id, title_en from studies order by id desc")
            .fetch_all(pool)
            .await?
            .into_iter()
            .map(|row| (row.id, row.title_en))
            .collect(),
    )
}

pub(super) async fn start(
    ctx: Ctx,
    user: CurrentUser,
    State(pool): State<PgPool>,
) -> Result<Response, AppError> {
    require(&user, Action::RecordActivity, Scope::Anything)?;
    let studies = studies(&pool).await?;
    let study_id = studies
        .first()
        .map(|(id, _)| id.to_string())
        .unwrap_or_default();
    let page = StartPage {
        ctx,
        studies,
        study_id,
        refusal: None,
    };
    Ok(render(&page)?.into_response())
}

fn xlsx_download(name: &str, bytes: Vec<u8>) -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet".to_owned(),
            ),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
            (header::CACHE_CONTROL, "private, no-store".to_owned()),
        ],
        bytes,
    )
        .into_response()
}

/// The template, its lists those of this user.
pub(super) async fn template(
    user: CurrentUser,
    State(pool): State<PgPool>,
) -> Result<Response, AppError> {
    require(&user, Action::RecordActivity, Scope::Anything)?;
    let lookup = Lookup::load(&pool, &user).await?;
    let bytes = template::workbook(&lookup).map_err(anyhow::Error::from)?;
    Ok(xlsx_download("samleng-import-template.xlsx", bytes))
}

pub(super) async fn xlsform(user: CurrentUser) -> Result<Response, AppError> {
    require(&user, Action::RecordActivity, Scope::Anything)?;
    let bytes = xlsform::workbook().map_err(anyhow::Error::from)?;
    Ok(xlsx_download("samleng-fgd.xlsx", bytes))
}

/// The preview of a file: what it would create, or why it cannot.
#[derive(Template)]
#[template(path = "imports/preview.html")]
pub(super) struct PreviewPage {
    ctx: Ctx,
    file_name: String,
    /// Set once the file is kept, waiting for confirmation or confirmed.
    import_id: Option<i64>,
    lines: Vec<Line>,
    problems: Vec<ProblemLine>,
    /// Rows of submissions imported before: (line, UUID).
    already: Vec<(usize, String)>,
    female: i64,
    male: i64,
    findings: usize,
    /// Once confirmed: when, and the activities created.
    confirmed: Option<(String, Vec<Created>)>,
    studies: Vec<(i64, String)>,
    study_id: String,
}

impl PreviewPage {
    /// A message with a number in it.
    fn counted(&self, key: &str, number: impl std::fmt::Display) -> String {
        self.ctx.lang.t_with(key, &[("value", number.to_string())])
    }

    fn shown_lines(&self) -> &[Line] {
        &self.lines[..self.lines.len().min(SHOWN_LINES)]
    }
}

/// The preview lists this many activities; the totals count them all.
const SHOWN_LINES: usize = 200;

/// An activity the file would create, as the preview shows it.
struct Line {
    line: usize,
    kind: String,
    held_on: String,
    district: String,
    commune: String,
    female: i32,
    male: i32,
    youth: i32,
    persons_with_disabilities: i32,
    findings: usize,
}

/// A row of a confirmed import and the activity it became, if still there.
struct Created {
    line: i32,
    activity_id: Option<i64>,
    what: String,
}

/// A problem in words: where, what, and the cell as written.
struct ProblemLine {
    row: String,
    column: String,
    message: String,
    value: String,
}

impl PreviewPage {
    pub(super) fn new(
        ctx: Ctx,
        file_name: String,
        (table, lookup, checked): (&Table, &Lookup, &Checked),
    ) -> PreviewPage {
        let lines: Vec<Line> = checked
            .ready
            .iter()
            .map(|ready| line(&ctx, lookup, ready))
            .collect();
        let problems = checked
            .problems
            .iter()
            .map(|problem| problem_line(&ctx, table, problem))
            .collect();
        PreviewPage {
            female: lines.iter().map(|line| i64::from(line.female)).sum(),
            male: lines.iter().map(|line| i64::from(line.male)).sum(),
            findings: checked.ready.iter().map(|ready| ready.findings.len()).sum(),
            lines,
            problems,
            already: checked.already_imported.clone(),
            file_name,
            import_id: None,
            confirmed: None,
            studies: lookup.choices.studies.clone(),
            study_id: lookup.study_id.map(|id| id.to_string()).unwrap_or_default(),
            ctx,
        }
    }

    pub(super) fn respond(&self, status: StatusCode) -> Result<Response, AppError> {
        Ok((status, render(self)?).into_response())
    }
}

fn line(ctx: &Ctx, lookup: &Lookup, ready: &check::Ready) -> Line {
    let activity = &ready.activity;
    let district = lookup
        .choices
        .districts
        .iter()
        .find(|(code, _, _)| *code == activity.district_code)
        .map_or_else(String::new, |(_, en, km)| ctx.pick(en, km).to_owned());
    let commune = lookup
        .choices
        .communes
        .iter()
        .find(|(code, ..)| Some(code) == activity.commune_code.as_ref())
        .map_or_else(String::new, |(_, _, en, km)| ctx.pick(en, km).to_owned());
    let by_sex = |sex: usize| {
        (0..activity.counts.0.len())
            .map(|group| activity.counts.get(group, sex))
            .sum()
    };
    Line {
        line: ready.line,
        kind: ctx.label("activity-kind", &activity.kind),
        held_on: activity.held_on.to_string(),
        district,
        commune,
        female: by_sex(0),
        male: by_sex(1),
        youth: activity.youth,
        persons_with_disabilities: activity.persons_with_disabilities,
        findings: ready.findings.len(),
    }
}

fn problem_line(ctx: &Ctx, table: &Table, problem: &Problem) -> ProblemLine {
    let column = problem.column.map_or_else(String::new, |position| {
        let heading = table.headings.get(position).map_or("", String::as_str);
        let name = Column::recognize(heading)
            .map_or_else(|| heading.to_owned(), |column| column.label(ctx.lang));
        format!(
            "{} · {name}",
            columns::letter(table.first_column + position)
        )
    });
    ProblemLine {
        row: problem
            .line
            .map_or_else(String::new, |line| line.to_string()),
        column,
        message: ctx
            .lang
            .t_with(problem.message, &[("value", MAX_ROWS.to_string())]),
        value: problem.value.clone(),
    }
}

/// A file's name as kept: its last part, without control characters, short.
fn clean_file_name(name: &str) -> String {
    let name = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let clean: String = name.chars().filter(|c| !c.is_control()).take(200).collect();
    if clean.trim().is_empty() {
        "upload".to_owned()
    } else {
        clean.trim().to_owned()
    }
}

pub(super) async fn upload(
    ctx: Ctx,
    user: CurrentUser,
    ClientIp(ip): ClientIp,
    State(state): State<AppState>,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Response, AppError> {
    require(&user, Action::RecordActivity, Scope::Anything)?;
    let max_bytes = state.files.max_bytes;
    let upload = read_upload(multipart.map_err(|_| AppError::BadRequest)?, max_bytes).await?;
    let study_id = upload
        .fields
        .iter()
        .find(|(name, _)| name == "study_id")
        .map_or_else(String::new, |(_, value)| value.trim().to_owned());
    let mut lookup = Lookup::load(&state.pool, &user).await?;
    let studies = lookup.choices.studies.clone();
    let (study, table) = match readable(&ctx, &upload, max_bytes, &study_id, &studies) {
        Ok(readable) => readable,
        Err((status, message)) => {
            let page = StartPage {
                ctx,
                studies,
                study_id,
                refusal: Some(message),
            };
            return Ok((status, render(&page)?).into_response());
        }
    };
    let file_name = clean_file_name(&upload.file_name);
    lookup.study_id = study;
    lookup.imported = imported_before(&state.pool, &check::submissions(&table)).await?;
    let checked = check::check(&table, &lookup);
    let kept = if checked.problems.is_empty() && !checked.ready.is_empty() {
        Some(keep(&state.pool, &file_name, &upload.bytes, study, &user).await?)
    } else {
        None
    };
    audit::record(
        &state.pool,
        Event {
            actor_id: Some(user.id),
            action: "import_uploaded",
            entity: "import",
            entity_id: kept.map(|id| id.to_string()),
            summary: format!(
                "{file_name}: {} ready, {} problems, {} imported before",
                checked.ready.len(),
                checked.problems.len(),
                checked.already_imported.len()
            ),
            ip,
        },
    )
    .await?;
    if let Some(id) = kept {
        return Ok(Redirect::to(&format!("/activities/import/{id}")).into_response());
    }
    let status = if checked.problems.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    PreviewPage::new(ctx, file_name, (&table, &lookup, &checked)).respond(status)
}

/// The study chosen and the file as a table, or why the file is refused.
fn readable(
    ctx: &Ctx,
    upload: &Upload,
    max_bytes: usize,
    study_id: &str,
    studies: &[(i64, String)],
) -> Result<(Option<i64>, Table), (StatusCode, String)> {
    let refused = |message| (StatusCode::UNPROCESSABLE_ENTITY, message);
    if upload.too_large {
        let limit = format!("{} MB", max_bytes / (1024 * 1024));
        let message = ctx.lang.t_with("import-too-large", &[("value", limit)]);
        return Err((StatusCode::PAYLOAD_TOO_LARGE, message));
    }
    if upload.bytes.is_empty() {
        return Err(refused(ctx.t("import-missing-file")));
    }
    let study = match study_id {
        "" => None,
        id => Some(
            id.parse::<i64>()
                .ok()
                .filter(|id| studies.iter().any(|(known, _)| known == id))
                .ok_or_else(|| refused(ctx.t("import-not-a-study")))?,
        ),
    };
    let table = sheet::read(&upload.bytes)
        .map_err(|message| refused(ctx.lang.t_with(message, &[("value", MAX_ROWS.to_string())])))?;
    Ok((study, table))
}

/// The submissions among `ids` that an earlier import brought in.
pub(super) async fn imported_before(
    executor: impl sqlx::PgExecutor<'_>,
    ids: &[String],
) -> Result<std::collections::HashSet<String>, sqlx::Error> {
    let found = sqlx::query_scalar!(
        r#"select submission_uuid as "uuid!" from imported_rows where submission_uuid = any($1)"#,
        ids
    )
    .fetch_all(executor)
    .await?;
    Ok(found.into_iter().collect())
}

/// Keeps a file that passed its checks until it is confirmed; files left
/// unconfirmed for a day go.
async fn keep(
    pool: &PgPool,
    file_name: &str,
    bytes: &[u8],
    study_id: Option<i64>,
    user: &CurrentUser,
) -> Result<i64, AppError> {
    let sha256: String = Sha256::digest(bytes)
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect();
    let mut tx = pool.begin().await?;
    sqlx::query!(
        "delete from imports where confirmed_at is null and uploaded_at < now() - interval '1 day'"
    )
    .execute(&mut *tx)
    .await?;
    let id = sqlx::query_scalar!(
        "insert into imports (file_name, file_sha256, content, study_id, uploaded_by)
         values ($1, $2, $3, $4, $5) returning id",
        file_name,
        sha256,
        bytes,
        study_id,
        user.id
    )
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// A kept import as its pages need it.
pub(super) struct Kept {
    pub id: i64,
    pub file_name: String,
    pub content: Vec<u8>,
    pub study_id: Option<i64>,
    pub confirmed_at: Option<time::OffsetDateTime>,
}

/// The import `id`, if `user` uploaded it: an import is its uploader's alone
/// until confirmed, and its page stays theirs.
pub(super) async fn kept(
    executor: impl sqlx::PgExecutor<'_>,
    id: i64,
    user: &CurrentUser,
) -> Result<Kept, AppError> {
    let row = sqlx::query_as!(
        Kept,
        "select id, file_name, content, study_id, confirmed_at from imports
         where id = $1 and uploaded_by = $2",
        id,
        user.id
    )
    .fetch_optional(executor)
    .await?;
    row.ok_or(AppError::NotFound)
}

/// Reads a kept file again and checks it against today's data.
pub(super) async fn recheck(
    pool: &PgPool,
    executor: impl sqlx::PgExecutor<'_>,
    import: &Kept,
    user: &CurrentUser,
) -> Result<(Table, Lookup, Checked), AppError> {
    let table = sheet::read(&import.content)
        .map_err(|message| anyhow::anyhow!("kept import {} unreadable: {message}", import.id))?;
    let mut lookup = Lookup::load(pool, user).await?;
    lookup.study_id = import.study_id;
    lookup.imported = imported_before(executor, &check::submissions(&table)).await?;
    let checked = check::check(&table, &lookup);
    Ok((table, lookup, checked))
}

pub(super) async fn show(
    ctx: Ctx,
    user: CurrentUser,
    State(pool): State<PgPool>,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    let import = kept(&pool, id, &user).await?;
    require(&user, Action::RecordActivity, Scope::Anything)?;
    if let Some(at) = import.confirmed_at {
        let created = sqlx::query!(
            r#"select r.line, r.activity_id, a.kind as "kind?", a.held_on as "held_on?",
                      d.name_en as "district_en?", d.name_km as "district_km?"
               from imported_rows r left join activities a on a.id = r.activity_id
               left join districts d on d.code = a.district_code
               where r.import_id = $1 order by r.line"#,
            id
        )
        .fetch_all(&pool)
        .await?
        .into_iter()
        .map(|row| Created {
            line: row.line,
            activity_id: row.activity_id,
            what: match (row.kind, row.held_on) {
                (Some(kind), Some(held_on)) => format!(
                    "{} · {held_on} · {}",
                    ctx.label("activity-kind", &kind),
                    ctx.pick(
                        row.district_en.as_deref().unwrap_or_default(),
                        row.district_km.as_deref().unwrap_or_default()
                    )
                ),
                _ => String::new(),
            },
        })
        .collect();
        let page = PreviewPage {
            ctx,
            file_name: import.file_name,
            import_id: Some(id),
            lines: Vec::new(),
            problems: Vec::new(),
            already: Vec::new(),
            female: 0,
            male: 0,
            findings: 0,
            confirmed: Some((crate::web::format_timestamp(at), created)),
            studies: Vec::new(),
            study_id: String::new(),
        };
        return page.respond(StatusCode::OK);
    }
    let (table, lookup, checked) = recheck(&pool, &pool, &import, &user).await?;
    PreviewPage {
        import_id: Some(id),
        ..PreviewPage::new(ctx, import.file_name.clone(), (&table, &lookup, &checked))
    }
    .respond(StatusCode::OK)
}
