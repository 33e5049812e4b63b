//! The preview of a file: what it would create, or every problem it has by
//! row and column; once confirmed, what each row became.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};

use super::check::{self, Checked, Problem};
use super::columns::{self, Column};
use super::kept::{kept, recheck};
use super::lookup::Lookup;
use super::sheet::{MAX_ROWS, Table};
use crate::auth::policy::{Action, Scope};
use crate::auth::require;
use crate::auth::session::CurrentUser;
use crate::db::cache::GenerationCache;
use crate::error::{Answer, AppError, render};
use crate::i18n::Lang;
use crate::state::AppState;
use crate::web::Ctx;

/// The preview of a file: what it would create, or why it cannot.
#[derive(Template)]
#[template(path = "imports/preview.html")]
pub(super) struct PreviewPage {
    ctx: Ctx,
    file_name: String,
    /// Set once the file is kept, waiting for confirmation or confirmed.
    import_id: Option<i64>,
    lines: Arc<[Line]>,
    problems: Vec<ProblemLine>,
    /// Rows of submissions imported before: (line, UUID).
    already: Vec<(usize, String)>,
    female: i64,
    male: i64,
    findings: usize,
    /// Once confirmed: when, and the activities created.
    confirmed: Option<(String, Vec<Created>)>,
    studies: Vec<(i64, String, String)>,
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
        let lines = lines(ctx.lang, lookup, checked);
        PreviewPage::drawn(ctx, file_name, (table, lookup, checked), lines)
    }

    /// The page, with its lines already drawn in the reader's language.
    fn drawn(
        ctx: Ctx,
        file_name: String,
        (table, lookup, checked): (&Table, &Lookup, &Checked),
        lines: Arc<[Line]>,
    ) -> PreviewPage {
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

    /// The preview, refused (422) when the file has problems.
    pub(super) fn answer_for(&self, checked: &Checked) -> Result<Response, AppError> {
        if !checked.problems.is_empty() {
            return Err(AppError::invalid(self));
        }
        render(self).map(IntoResponse::into_response)
    }
}

/// The activities the file would create, as the preview lists them.
fn lines(lang: Lang, lookup: &Lookup, checked: &Checked) -> Arc<[Line]> {
    checked
        .ready
        .iter()
        .map(|ready| line(lang, lookup, ready))
        .collect()
}

fn line(lang: Lang, lookup: &Lookup, ready: &check::Ready) -> Line {
    let activity = &ready.activity;
    let district = lookup
        .choices
        .district(&activity.district_code)
        .map_or_else(String::new, |(_, en, km)| lang.pick(en, km).to_owned());
    let commune = activity
        .commune_code
        .as_deref()
        .and_then(|code| lookup.choices.commune(code))
        .map_or_else(String::new, |(_, _, en, km)| lang.pick(en, km).to_owned());
    let by_sex = |sex: usize| {
        (0..activity.counts.0.len())
            .map(|group| activity.counts.get(group, sex))
            .sum()
    };
    Line {
        line: ready.line,
        kind: lang.t(&format!("activity-kind-{}", activity.kind)),
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

/// A kept file read and checked again, by import and uploader, with its
/// lines drawn in each language: until the data changes, the preview shown
/// again is the same, and reading and checking two thousand rows is the
/// page's cost. Only its uploader sees an import, so a few are enough.
type RecheckedCache = GenerationCache<(i64, i64), Rechecked>;

struct Rechecked {
    table: Table,
    lookup: Lookup,
    checked: Checked,
    /// In `Lang::ALL` order.
    lines: [Arc<[Line]>; 2],
}

pub(super) async fn show(
    ctx: Ctx,
    user: CurrentUser,
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    let pool = state.pool.clone();
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
            lines: Arc::from([]),
            problems: Vec::new(),
            already: Vec::new(),
            female: 0,
            male: 0,
            findings: 0,
            confirmed: Some((crate::format::timestamp(at), created)),
            studies: Vec::new(),
            study_id: String::new(),
        };
        return page.answer();
    }
    let rechecked = state
        .kept("import_previews", |name, changes| {
            RecheckedCache::with_capacity(name, changes, 16)
        })
        .get((id, user.id), async || {
            let (table, lookup, checked) = recheck(&pool, &pool, &import, &user).await?;
            let lines = Lang::ALL.map(|lang| lines(lang, &lookup, &checked));
            Ok::<_, AppError>(Rechecked {
                table,
                lookup,
                checked,
                lines,
            })
        })
        .await?;
    let Rechecked {
        table,
        lookup,
        checked,
        lines,
    } = &*rechecked;
    let lines = Arc::clone(&lines[ctx.lang as usize]);
    PreviewPage {
        import_id: Some(id),
        ..PreviewPage::drawn(
            ctx,
            import.file_name.clone(),
            (table, lookup, checked),
            lines,
        )
    }
    .answer()
}
