//! `/case-studies/{id}`: one case study, its sections, mechanisms, participants,
//! findings by theme, linked activities, files and revisions.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use sqlx::PgPool;

use super::Status;
use super::form::{Assessment, MECHANISMS, SECTIONS};
use crate::activities::form::GROUPS;
use crate::activities::participants::{GroupCounts, Participants};
use crate::attachments::AttachmentLine;
use crate::auth::policy::{self, Action, Scope};
use crate::auth::require;
use crate::auth::session::CurrentUser;
use crate::db::cache::GenerationCache;
use crate::disclosure::{Count, Shown};
use crate::error::{AppError, render};
use crate::recommendations::ListStatus;
use crate::revisions;
use crate::state::AppState;
use crate::web::Ctx;
use crate::web::markdown::to_safe_html;

/// A case study as its page shows it.
#[derive(Clone)]
pub struct CaseStudyView {
    pub id: i64,
    pub study_id: i64,
    pub study_title: String,
    pub study_title_km: String,
    pub district_code: String,
    pub district_en: String,
    pub district_km: String,
    pub author: String,
    pub title_en: String,
    pub title_km: String,
    pub status: Status,
    pub summary: String,
    pub context: String,
    pub findings: String,
    pub good_practices: String,
    pub challenges: String,
    pub conclusion: String,
    pub review_comment: String,
    pub version: i32,
    /// The version of which activities it draws on (`links`).
    pub activities_version: i32,
    pub author_organization_id: i64,
    /// The district's recommendation list of the same study: its latest
    /// version and state, and its latest endorsed version.
    latest_list_id: Option<i64>,
    latest_list_status: Option<ListStatus>,
    endorsed_list_id: Option<i64>,
    mechanism_codes: Vec<String>,
    mechanism_exists: Vec<bool>,
    mechanism_functions: Vec<bool>,
    mechanism_aware: Vec<bool>,
    mechanism_comments: Vec<String>,
    /// The linked activities' participants per group (`GROUPS` order), exact
    /// and rounded (`disclosure`).
    female: Vec<i64>,
    male: Vec<i64>,
    rounded_female: Vec<i64>,
    rounded_male: Vec<i64>,
}

impl CaseStudyView {
    /// Every mechanism of the reference list, in its order, with what was assessed.
    pub fn mechanisms(&self) -> Vec<(String, Assessment)> {
        MECHANISMS
            .iter()
            .map(|code| {
                let index = self.mechanism_codes.iter().position(|known| known == code);
                let assessment = index.map_or_else(Assessment::default, |index| {
                    let rating = |column: &[bool]| column.get(index).copied().unwrap_or(false);
                    Assessment {
                        exists: rating(&self.mechanism_exists),
                        functions: rating(&self.mechanism_functions),
                        aware: rating(&self.mechanism_aware),
                        comment: self
                            .mechanism_comments
                            .get(index)
                            .cloned()
                            .unwrap_or_default(),
                    }
                });
                (code.to_string(), assessment)
            })
            .collect()
    }

    /// Participants of the linked activities by group and sex, and the
    /// activities' own totals, as `user` may see them.
    fn participants(
        &self,
        activities: &[LinkedActivity],
        user: &CurrentUser,
    ) -> (Participants, Vec<Shown>) {
        let blurred = !policy::allows(
            user,
            Action::ReadSmallCounts,
            Scope::District(&self.district_code),
        );
        let counts = GroupCounts {
            female: &self.female,
            male: &self.male,
            rounded_female: &self.rounded_female,
            rounded_male: &self.rounded_male,
        };
        let totals = activities
            .iter()
            .map(|activity| Count::new(activity.total, activity.rounded_total).shown(blurred))
            .collect();
        (Participants::new(counts, blurred), totals)
    }

    pub fn published(&self) -> bool {
        self.status.is_published()
    }

    /// The sections that have text, as (name, sanitized HTML).
    pub fn sections(&self) -> Vec<(&'static str, String)> {
        let texts = [
            &self.summary,
            &self.context,
            &self.findings,
            &self.good_practices,
            &self.challenges,
            &self.conclusion,
        ];
        SECTIONS
            .iter()
            .zip(texts)
            .filter(|(_, text)| !text.trim().is_empty())
            .map(|(name, text)| (*name, to_safe_html(text)))
            .collect()
    }
}

pub async fn load(pool: &PgPool, id: i64) -> Result<CaseStudyView, AppError> {
    sqlx::query_as!(
        CaseStudyView,
        r#"select c.id, c.study_id, s.title_en as study_title, s.title_km as study_title_km, c.district_code,
                  d.name_en as district_en, d.name_km as district_km, o.name_en as author,
                  c.title_en, c.title_km, c.status as "status: Status", c.summary, c.context, c.findings, c.good_practices,
                  c.challenges, c.conclusion, c.review_comment, c.version, c.activities_version, c.author_organization_id,
                  latest.id as "latest_list_id?", latest.status as "latest_list_status?: ListStatus",
                  (select l.id from recommendation_lists l
                   where l.district_code = c.district_code and l.study_id = c.study_id
                     and l.status in ('endorsed', 'superseded')
                   order by l.list_version desc limit 1) as "endorsed_list_id?",
                  array(select m.mechanism from case_study_mechanisms m where m.case_study_id = c.id
                        order by m.mechanism) as "mechanism_codes!",
                  array(select m.exists_here from case_study_mechanisms m where m.case_study_id = c.id
                        order by m.mechanism) as "mechanism_exists!",
                  array(select m.functions from case_study_mechanisms m where m.case_study_id = c.id
                        order by m.mechanism) as "mechanism_functions!",
                  array(select m.citizens_aware from case_study_mechanisms m where m.case_study_id = c.id
                        order by m.mechanism) as "mechanism_aware!",
                  array(select m.comment from case_study_mechanisms m where m.case_study_id = c.id
                        order by m.mechanism) as "mechanism_comments!",
                  g.female as "female!", g.male as "male!",
                  g.rounded_female as "rounded_female!", g.rounded_male as "rounded_male!"
           from case_studies c
           cross join lateral (
               select array_agg(coalesce(t.female, 0) order by t.i) as female,
                      array_agg(coalesce(t.male, 0) order by t.i) as male,
                      array_agg(coalesce(t.rounded_female, 0) order by t.i) as rounded_female,
                      array_agg(coalesce(t.rounded_male, 0) order by t.i) as rounded_male
               from (select g.i, sum(a.female_by_group[g.i]) as female, sum(a.male_by_group[g.i]) as male,
                            sum(a.rounded_female_by_group[g.i]) as rounded_female,
                            sum(a.rounded_male_by_group[g.i]) as rounded_male
                     from unnest(participant_groups()) with ordinality g(name, i)
                     left join activities a on a.case_study_id = c.id
                     group by g.i) t
           ) g
           join studies s on s.id = c.study_id
           join districts d on d.code = c.district_code
           join organizations o on o.id = c.author_organization_id
           left join lateral (
               select l.id, l.status from recommendation_lists l
               where l.district_code = c.district_code and l.study_id = c.study_id
               order by l.list_version desc limit 1
           ) latest on true
           where c.id = $1"#,
        id
    )
    .fetch_optional(pool)
    .await?
    .ok_or(AppError::NotFound)
}

/// Findings of the linked activities, by theme.
#[derive(Clone)]
pub struct ThemeFindings {
    pub theme_en: String,
    pub theme_km: String,
    pub findings: Vec<FindingLine>,
}

#[derive(Clone)]
pub struct FindingLine {
    pub text_en: String,
    pub text_km: String,
    pub quote: String,
    pub quote_descriptor: String,
}

async fn findings_by_theme(
    pool: &PgPool,
    id: i64,
    internal: bool,
) -> Result<Vec<ThemeFindings>, AppError> {
    let rows = sqlx::query!(
        r#"select t.name_en, t.name_km, f.text_en, f.text_km, f.quote, f.quote_descriptor
           from findings f
           join activities a on a.id = f.activity_id
           join finding_themes ft on ft.finding_id = f.id
           join themes t on t.id = ft.theme_id
           where a.case_study_id = $1 and (f.public or $2)
           order by t.position, t.id, f.id"#,
        id,
        internal
    )
    .fetch_all(pool)
    .await?;
    let mut themes: Vec<ThemeFindings> = Vec::new();
    for row in rows {
        let line = FindingLine {
            text_en: row.text_en,
            text_km: row.text_km,
            quote: row.quote,
            quote_descriptor: row.quote_descriptor,
        };
        match themes.last_mut() {
            Some(theme) if theme.theme_en == row.name_en => theme.findings.push(line),
            _ => themes.push(ThemeFindings {
                theme_en: row.name_en,
                theme_km: row.name_km,
                findings: vec![line],
            }),
        }
    }
    Ok(themes)
}

#[derive(Clone)]
pub struct LinkedActivity {
    pub id: i64,
    pub kind: String,
    pub held_on: time::Date,
    pub total: i32,
    /// The total as outsiders see it (`disclosure`).
    pub rounded_total: i32,
}

impl CaseStudyView {
    /// The district's list as `user` may read it: the latest version, or
    /// for readers of endorsed lists only, the latest endorsed one.
    fn list_for(&self, user: &CurrentUser) -> Option<i64> {
        let published = self.latest_list_status.is_some_and(ListStatus::is_endorsed);
        let reads_latest = policy::allows(
            user,
            Action::ReadRecommendations,
            Scope::Record {
                district: &self.district_code,
                published,
            },
        );
        if reads_latest {
            self.latest_list_id
        } else {
            self.endorsed_list_id
        }
    }
}

/// The case study page.
#[derive(Template)]
#[template(path = "case_studies/show.html")]
pub(super) struct ShowPage {
    ctx: Ctx,
    case_study: CaseStudyView,
    mechanisms: Vec<(String, Assessment)>,
    participants: Participants,
    groups: [&'static str; 6],
    themes: Vec<ThemeFindings>,
    /// The linked activities with their totals of participants as shown.
    activities: Vec<(LinkedActivity, Shown)>,
    attachments: Vec<AttachmentLine>,
    can_attach: bool,
    internal: bool,
    can_edit: bool,
    can_submit: bool,
    can_review: bool,
    /// The district's recommendation list this reader may open.
    list_id: Option<i64>,
    /// The district's activities a writer may link to this draft: (activity, linked).
    linkable: Vec<(LinkedActivity, bool)>,
    /// Activities chosen on a page drawn before someone else changed them:
    /// the choice is shown back, beside what is linked now.
    stale_choice: bool,
}

impl ShowPage {
    fn upload_action(&self) -> String {
        format!("/case-studies/{}/attachments", self.case_study.id)
    }

    fn delete_action(&self) -> String {
        format!("/case-studies/{}/delete", self.case_study.id)
    }
}

pub async fn show(
    ctx: Ctx,
    user: CurrentUser,
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    render(&page(ctx, &user, &state, id, None).await?).map(IntoResponse::into_response)
}

/// A case study and the activities it draws on, by id; and its findings and
/// files, by id and whether internal ones count: what every reader of the
/// page reads alike, kept until the data changes.
type CaseStudyCache = GenerationCache<i64, (CaseStudyView, Vec<LinkedActivity>)>;
type EvidenceCache = GenerationCache<(i64, bool), (Vec<ThemeFindings>, Vec<AttachmentLine>)>;

async fn linked_activities(pool: &PgPool, id: i64) -> Result<Vec<LinkedActivity>, AppError> {
    Ok(sqlx::query_as!(
        LinkedActivity,
        r#"select a.id, a.kind, a.held_on, a.participants as total, a.rounded_participants as rounded_total
           from activities a where a.case_study_id = $1 order by a.held_on, a.id"#,
        id
    )
    .fetch_all(pool)
    .await?)
}

/// The case study's page; with `chosen`, the activities someone ticked on a
/// page drawn before the links changed, shown back instead of the links.
pub(super) async fn page(
    ctx: Ctx,
    user: &CurrentUser,
    state: &AppState,
    id: i64,
    chosen: Option<Vec<i64>>,
) -> Result<ShowPage, AppError> {
    let pool = &state.pool;
    let read = state
        .kept("case_studies", CaseStudyCache::large)
        .get(id, async || {
            Ok::<_, AppError>((load(pool, id).await?, linked_activities(pool, id).await?))
        })
        .await?;
    let (case_study, activities) = Arc::unwrap_or_clone(read);
    let district = case_study.district_code.clone();
    require(
        user,
        Action::ReadCaseStudy,
        Scope::Record {
            district: &district,
            published: case_study.published(),
        },
    )?;
    // The internal findings of a case study come mostly from FGDs and
    // interviews: officials of the district do not read them here.
    let internal = policy::allows(
        user,
        Action::ReadInternalText,
        Scope::FieldWork {
            district: &district,
            citizens_only: true,
        },
    );
    let evidence = state
        .kept("case_study_evidence", EvidenceCache::large)
        .get((id, internal), async || {
            Ok::<_, AppError>((
                findings_by_theme(pool, id, internal).await?,
                crate::attachments::of(pool, "case_study", id, internal).await?,
            ))
        })
        .await?;
    let (themes, attachments) = Arc::unwrap_or_clone(evidence);
    let draft = case_study.status == Status::Draft;
    let write = policy::allows(user, Action::WriteCaseStudy, Scope::District(&district));
    let (participants, activity_totals) = case_study.participants(&activities, user);
    let mut linkable = if write && draft {
        super::links::linkable(pool, &case_study).await?
    } else {
        Vec::new()
    };
    if let Some(chosen) = &chosen {
        for (activity, linked) in &mut linkable {
            *linked = chosen.contains(&activity.id);
        }
    }
    let page = ShowPage {
        list_id: case_study.list_for(user),
        linkable,
        stale_choice: chosen.is_some(),
        mechanisms: case_study.mechanisms(),
        participants,
        groups: GROUPS,
        themes,
        activities: activities.into_iter().zip(activity_totals).collect(),
        attachments,
        can_attach: write,
        internal,
        can_edit: write && draft,
        can_submit: write && draft,
        can_review: policy::allows(user, Action::ReviewCaseStudy, Scope::District(&district)),
        case_study,
        ctx,
    };
    Ok(page)
}

pub async fn revision(
    ctx: Ctx,
    user: CurrentUser,
    State(pool): State<PgPool>,
    Path((id, version)): Path<(i64, i32)>,
) -> Result<Response, AppError> {
    let view = load(&pool, id).await?;
    require(
        &user,
        Action::ReadCaseStudy,
        Scope::District(&view.district_code),
    )?;
    require(
        &user,
        Action::ReadInternalText,
        Scope::District(&view.district_code),
    )?;
    revisions::revision_page(
        ctx,
        &pool,
        "case_study",
        id,
        version,
        format!("/case-studies/{id}"),
    )
    .await
}

pub async fn history(
    ctx: Ctx,
    user: CurrentUser,
    State(pool): State<PgPool>,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    let view = load(&pool, id).await?;
    require(
        &user,
        Action::ReadCaseStudy,
        Scope::District(&view.district_code),
    )?;
    require(
        &user,
        Action::ReadInternalText,
        Scope::District(&view.district_code),
    )?;
    revisions::history_page(ctx, &pool, "case_study", id, format!("/case-studies/{id}")).await
}
