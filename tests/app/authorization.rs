//! Every route, for a visitor and every role (and users of another district):
//! who is let in and with exactly which answer, who is refused, who is sent to
//! sign in. A 404, 409 or 422 is never taken for "let in" unless the table says
//! that is the answer. A route the app serves
//! that is missing from the table fails the test.

use std::collections::BTreeSet;
use std::path::Path;

use reqwest::StatusCode;

use samleng::state::Settings;

use crate::helpers::{Page, TestApp, Visitor, spawn_app_with};

/// Who the request comes from.
const PEOPLE: [&str; 8] = [
    "anonymous",
    "admin@cpdd.example",
    "secretariat@cpdd.example",
    "ngo@ctod.example",
    "ngo@as.example",
    "sna@battambang.example",
    "sna@banan.example",
    "donor@donor.example",
];

#[derive(Debug, Clone, Copy, PartialEq)]
enum Rule {
    /// Anyone, signed in or not.
    Public,
    /// Anyone signed in; visitors are sent to sign in.
    SignedIn,
    /// Administrators only.
    Admin,
    /// Administrators and secretariat staff.
    Staff,
    /// Staff and NGO staff: who may start recording or writing.
    Writers,
    /// Staff, and NGO staff whose organization covers the district.
    WriteIn(&'static str),
    /// Staff, and NGO staff or SNA officials of the district: unpublished material.
    ReadIn(&'static str),
    /// Staff, and NGO staff of the district: the internal text of what citizens
    /// said alone (FGDs, interviews), which the district's officials do not read.
    CitizensOnlyIn(&'static str),
    /// Only the district's own officials (SNA users), not even administrators.
    EndorseIn(&'static str),
    /// Staff and this one person (the owner organization's user).
    StaffOr(&'static str),
    /// Signing out: everyone ends up on the sign-in page.
    SignOut,
    /// This one person's own record; for everyone else it does not exist (404).
    Owner(&'static str),
    /// Staff and these people (whose organizations take part in the project
    /// or agreement).
    TakesPart(&'static [&'static str]),
    /// Served only on the private metrics address (`SAMLENG_METRICS_BIND`):
    /// on the public one it does not exist, for anyone.
    Private,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Outcome {
    /// Let in, answered with this status: the page (200), the step taken (303),
    /// the form sent back (422), or the state refusing it (409).
    Answered(u16),
    Refused,
    SentToSignIn,
}

/// What the people let in get from a route's URL, in `PEOPLE` order.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Answer {
    /// Everyone let in gets this status.
    Always(u16),
    /// A step that changes the record: the first person let in takes it, the
    /// rest find it already taken.
    Once { first: u16, then: u16 },
    /// Deleting: once the first person let in has, the record is gone (404)
    /// for everyone after, let in or not (field_work.rs tests who is refused).
    Deletes,
}

/// The answer to the empty forms and plain reads this table sends: a page
/// (200) for a GET, the form back (422) for a POST, but for these.
fn answer(method: &str, route: &str) -> Answer {
    use Answer::{Always, Once};
    match (method, route) {
        // Signed in, the sign-in page sends people home.
        ("GET", "/login") => Once {
            first: 200,
            then: 303,
        },
        ("POST", "/login") => Always(401),
        // An upload sent as a plain form is not one.
        ("POST", "/activities/{id}/attachments")
        | ("POST", "/activities/import")
        | ("POST", "/case-studies/{id}/attachments")
        | ("POST", "/actions/{id}/updates/{update}/attachments")
        | ("POST", "/admin/gazetteer/import")
        | ("POST", "/recommendation-lists/{id}/endorse-on-paper")
        | ("POST", "/recommendation-lists/{id}/attachments")
        | ("POST", "/recommendation-lists/{id}/recommendations/{item}/move")
        | ("POST", "/events/{id}/attachments")
        | ("POST", "/agreements/{id}/attachments") => Always(400),
        // The demo's news items show no photos.
        ("GET", "/public/news/{id}/photos/{photo}") => Always(404),
        // The demo's joint report waits for the other side, not for staff.
        ("POST", "/actions/{id}/updates/{update}/confirm") => Always(409),
        ("POST", "/notifications/read")
        | ("POST", "/account/tokens/{id}/revoke")
        | ("POST", "/notifications/{id}/open")
        | ("POST", "/telegram/unlink") => Always(303),
        // No Telegram bot is set up here (tests/app/telegram.rs has one).
        ("POST", "/telegram/link") => Always(404),
        // The same answer whatever the address; a link that does not work is gone.
        ("POST", "/password-reset") => Always(200),
        ("GET", "/password-reset/{token}")
        | ("POST", "/password-reset/{token}")
        | ("GET", "/invitation/{token}")
        | ("POST", "/invitation/{token}") => Always(410),
        // The owner confirms the import; it is done already the second time.
        ("POST", "/activities/import/{id}/confirm") => Always(303),
        // No failed message waits to be sent again.
        ("POST", "/admin/outbox/{id}/retry") => Always(409),
        // Restored or purged by the first, found gone (and told so) by the next.
        ("POST", "/bin/{id}/restore") | ("POST", "/bin/{id}/purge") => Always(303),
        // Sent without the list's version, as a stale form: refused, and the
        // list as it is now comes back.
        ("POST", "/recommendation-lists/{id}/consultation") => Always(409),
        // An earlier row sent Rotonak Mondol's draft for review: its
        // activities are chosen no more.
        ("POST", "/case-studies/{id}/activities") => Always(409),
        ("POST", "/admin/users/{id}/activate") | ("POST", "/admin/users/{id}/deactivate") => {
            Always(303)
        }
        // A link to set a new password is sent to the user.
        ("POST", "/admin/users/{id}/reset-password") => Always(303),
        ("POST", "/case-studies/{id}/submit")
        | ("POST", "/case-studies/{id}/publish")
        | ("POST", "/case-studies/{id}/archive")
        | ("POST", "/recommendation-lists/{id}/submit") => Once {
            first: 303,
            then: 409,
        },
        // No step named: refused, and the agreement comes back as it is.
        ("POST", "/agreements/{id}/status") => Always(409),
        // Bavel's endorsed list has been reopened already (`reopened`).
        ("POST", "/recommendation-lists/{id}/reopen") => Always(409),
        ("POST", "/attachments/{id}/withdraw") => Once {
            first: 303,
            then: 409,
        },
        ("POST", "/attachments/{id}/delete")
        | ("POST", "/findings/{id}/delete")
        | ("POST", "/activities/{id}/delete")
        | ("POST", "/case-studies/{id}/delete") => Answer::Deletes,
        ("POST", "/recommendation-lists/{id}/recommendations/{item}/delete") => Once {
            first: 303,
            then: 404,
        },
        ("GET", _) => Always(200),
        _ => Always(422),
    }
}

/// The districts each person's organization works in (the demo data).
fn districts_of(person: &str) -> &'static [&'static str] {
    match person {
        "ngo@ctod.example" => &["0203", "0201", "0202", "0204"],
        "ngo@as.example" => &["0206", "0212", "0207"],
        "sna@battambang.example" => &["0203"],
        "sna@banan.example" => &["0201"],
        _ => &[],
    }
}

fn expected(rule: Rule, person: &str, answer: Answer, let_in_before: usize) -> Outcome {
    let status = match answer {
        Answer::Always(status) => status,
        Answer::Once { first, .. } if let_in_before == 0 => first,
        Answer::Once { then, .. } => then,
        Answer::Deletes if let_in_before == 0 => 303,
        Answer::Deletes if person != "anonymous" => return Outcome::Answered(404),
        Answer::Deletes => 404,
    };
    let staff = matches!(person, "admin@cpdd.example" | "secretariat@cpdd.example");
    let ngo = person.starts_with("ngo@");
    let sna = person.starts_with("sna@");
    let allowed = |yes: bool| {
        if yes {
            Outcome::Answered(status)
        } else {
            Outcome::Refused
        }
    };
    match (rule, person) {
        (Rule::Public, _) => Outcome::Answered(status),
        (Rule::Private, _) => Outcome::Answered(404),
        (Rule::SignOut, _) => Outcome::SentToSignIn,
        (_, "anonymous") => Outcome::SentToSignIn,
        (Rule::SignedIn, _) => Outcome::Answered(status),
        (Rule::Admin, _) => allowed(person == "admin@cpdd.example"),
        (Rule::Staff, _) => allowed(staff),
        (Rule::Writers, _) => allowed(staff || ngo),
        (Rule::WriteIn(district), _) => {
            allowed(staff || (ngo && districts_of(person).contains(&district)))
        }
        (Rule::ReadIn(district), _) => {
            allowed(staff || ((ngo || sna) && districts_of(person).contains(&district)))
        }
        (Rule::CitizensOnlyIn(district), _) => {
            allowed(staff || (ngo && districts_of(person).contains(&district)))
        }
        (Rule::StaffOr(email), _) => allowed(staff || person == email),
        (Rule::Owner(email), _) if person == email => Outcome::Answered(status),
        (Rule::Owner(_), _) => Outcome::Answered(404),
        (Rule::TakesPart(people), _) if staff || people.contains(&person) => {
            Outcome::Answered(status)
        }
        (Rule::TakesPart(_), _) => Outcome::Refused,
        (Rule::EndorseIn(district), _) => allowed(sna && districts_of(person).contains(&district)),
    }
}

fn outcome(page: &Page) -> Outcome {
    assert!(page.status.as_u16() < 500, "server error: {}", page.status);
    match (page.status, page.location.as_deref()) {
        (StatusCode::FORBIDDEN, _) => Outcome::Refused,
        (StatusCode::SEE_OTHER, Some(location)) if location.starts_with("/login") => {
            Outcome::SentToSignIn
        }
        (status, _) => Outcome::Answered(status.as_u16()),
    }
}

/// The records the table's URLs point at.
struct Records {
    user: i64,
    /// An API token of CTOD's NGO user.
    token: i64,
    organization: i64,
    theme: i64,
    study: i64,
    /// An FGD in Battambang (0203), whose case study is published.
    published_activity: i64,
    /// An FGD in Rotonak Mondol (0207), whose case study is a draft.
    draft_activity: i64,
    /// The case studies of 0203 (published), 0207 (draft) and 0212 (in review).
    published_case: i64,
    draft_case: i64,
    review_case: i64,
    /// A public photo of the published activity, and a file of the draft one.
    public_file: i64,
    draft_file: i64,
    /// A public photo of the published activity.
    public_photo: i64,
    /// Recommendation lists: Battambang's waits, Banan's was returned, Bavel's is endorsed.
    waiting_list: i64,
    returned_list: i64,
    endorsed_list: i64,
    /// Bavel's list reopened: a draft second version.
    reopened_list: i64,
    returned_item: i64,
    endorsed_item: i64,
    /// Bavel's plan, a CSO-led action CTOD owns, a joint one and its report.
    plan: i64,
    cso_action: i64,
    joint_action: i64,
    joint_update: i64,
    public_finding: i64,
    /// A finding of the same FGD that no recommendation cites.
    loose_finding: i64,
    /// A draft activity and a draft case study (of a next round) of Rotonak
    /// Mondol (0207) that nothing refers to, for the deleting rows.
    spare_activity: i64,
    spare_case: i64,
    /// A notification of Battambang's official.
    notification: i64,
    /// A file CTOD's user uploaded to import, not yet confirmed.
    import: i64,
    /// Two findings of Rotonak Mondol's FGD in the bin: one to restore, one
    /// to purge.
    binned: i64,
    binned_too: i64,
    /// Projects: CTOD and the demo donor take part in the first; only the
    /// secretariat in the second; the third is published.
    transparency: i64,
    small_grants: i64,
    carbon: i64,
    /// The Pursat MoU (of the published project) and a draft letter of
    /// intent (of the first project).
    pursat_mou: i64,
    draft_letter: i64,
    /// The Pursat MoU meeting, and the published news of the national workshop.
    pursat_meeting: i64,
    news: i64,
}

async fn records(app: &TestApp) -> Records {
    let id = |sql: &'static str| async move {
        sqlx::query_scalar::<_, i64>(sql)
            .fetch_one(&app.pool)
            .await
            .expect(sql)
    };
    Records {
        user: target_user(app).await,
        token: id("insert into api_tokens (user_id, name, scope, secret_hash, expires_on)
                   select id, 'R at CTOD', 'read', sha256('a secret'::bytea), current_date + 30
                   from users where email = 'ngo@ctod.example' returning id")
        .await,
        organization: id("select id from organizations where acronym = 'AS'").await,
        theme: id("select id from themes where position = 7").await,
        study: id("select id from studies order by id limit 1").await,
        published_activity: id(
            "select id from activities where district_code = '0203' and kind = 'fgd'",
        )
        .await,
        draft_activity: id(
            "select id from activities where district_code = '0207' and kind = 'fgd'",
        )
        .await,
        published_case: id("select id from case_studies where district_code = '0203'").await,
        draft_case: id("select id from case_studies where district_code = '0207'").await,
        review_case: id("select id from case_studies where district_code = '0212'").await,
        public_file: attachment(app, "0203", true).await,
        draft_file: attachment(app, "0207", false).await,
        public_photo: photo(app).await,
        waiting_list: id("select id from recommendation_lists where district_code = '0203'").await,
        returned_list: id("select id from recommendation_lists where district_code = '0201'").await,
        endorsed_list: id("select id from recommendation_lists where district_code = '0204' order by id limit 1").await,
        reopened_list: reopened(app).await,
        plan: id("select id from action_plans where district_code = '0204'").await,
        cso_action: id("select a.id from actions a join action_plans p on p.id = a.plan_id where p.district_code = '0204' and a.lead = 'cso' and a.description_en like 'Train%'").await,
        joint_action: id("select a.id from actions a join action_plans p on p.id = a.plan_id where p.district_code = '0204' and a.description_en like 'Hold%'").await,
        joint_update: id("select u.id from action_updates u join actions a on a.id = u.action_id join action_plans p on p.id = a.plan_id where p.district_code = '0204' and a.description_en like 'Hold%'").await,
        public_finding: id("select f.id from findings f join activities a on a.id = f.activity_id where a.district_code = '0203' and f.public limit 1").await,
        spare_activity: id("insert into activities (kind, held_on, district_code, facilitating_organization_id)
                            select 'fgd', '2021-09-01', '0207', id from organizations where acronym = 'AS' returning id").await,
        spare_case: id("with study as (insert into studies (title_en, province_code, period_start, period_end)
                                        values ('Next round', '02', '2026-01-01', '2026-12-31') returning id)
                        insert into case_studies (study_id, district_code, author_organization_id, title_en)
                        select study.id, '0207', o.id, 'Spare draft' from study, organizations o
                        where o.acronym = 'AS' returning id").await,
        import: id("insert into imports (file_name, file_sha256, content, uploaded_by)
                    select 'tally.csv', '', convert_to('Kind,Date,District,Citizens · Female' || chr(10) || 'fgd,2026-11-20,Bavel,4', 'UTF8'), id
                    from users where email = 'ngo@ctod.example' returning id").await,
        notification: id("insert into notifications (user_id, kind, subject, body, link)
                          select id, 'list-submitted', 'Waiting', 'Waiting', '/' from users
                          where email = 'sna@battambang.example' returning id").await,
        loose_finding: id("insert into findings (activity_id, text_en) select id, 'Nobody cites this' from activities where district_code = '0203' and kind = 'fgd' returning id").await,
        binned: binned(app).await,
        binned_too: binned(app).await,
        transparency: id("select id from projects where title_en like 'Strengthening%'").await,
        small_grants: id("select id from projects where title_en like 'GEF%'").await,
        carbon: id("select id from projects where title_en like 'Community forests%'").await,
        pursat_mou: id("select id from agreements where title_en like '%Pursat%'").await,
        draft_letter: id("select id from agreements where status = 'draft'").await,
        pursat_meeting: id("select id from events where title_en like 'MoU meeting with the Pursat%'").await,
        news: id("select n.id from news_items n join events e on e.id = n.event_id where e.level = 'national' and e.kind = 'workshop'").await,
        endorsed_item: id(
            "select r.id from recommendations r join recommendation_lists l on l.id = r.list_id
             where l.district_code = '0204' order by r.position limit 1",
        )
        .await,
        returned_item: id(
            "select r.id from recommendations r join recommendation_lists l on l.id = r.list_id
             where l.district_code = '0201' order by r.position limit 1",
        )
        .await,
    }
}

/// A finding of Rotonak Mondol's FGD, deleted: its entry in the bin.
async fn binned(app: &TestApp) -> i64 {
    let finding: i64 = sqlx::query_scalar(
        "insert into findings (activity_id, text_en)
         select id, 'Deleted by mistake' from activities where district_code = '0207' and kind = 'fgd'
         returning id",
    )
    .fetch_one(&app.pool)
    .await
    .expect("a finding");
    sqlx::query_scalar("select bin_put('finding', $1, null, '0207')")
        .bind(finding)
        .fetch_one(&app.pool)
        .await
        .expect("in the bin")
}

/// A public photo of Battambang's FGD, in the store and in the database.
async fn photo(app: &TestApp) -> i64 {
    let name = "test-photo.jpg";
    std::fs::create_dir_all(app.files_dir.join("attachments")).expect("folder");
    std::fs::write(
        app.files_dir.join("attachments").join(name),
        b"\xFF\xD8\xFF\xE0\x00\x10JFIF\x00",
    )
    .expect("file");
    sqlx::query_scalar(
        "insert into attachments (parent, parent_id, stored_name, content_type, size_bytes, public)
         select 'activity', id, $1, 'image/jpeg', 11, true from activities
         where district_code = '0203' and kind = 'fgd'
         returning id",
    )
    .bind(name)
    .fetch_one(&app.pool)
    .await
    .expect("photo")
}

/// A second, draft version of Bavel's endorsed list, as reopening leaves it; and
/// a first revision of the published activity and case study, as their first
/// save leaves it.
async fn reopened(app: &TestApp) -> i64 {
    sqlx::query(
        "insert into revisions (entity, entity_id, version, snapshot)
         select 'activity', id, 1, '{}' from activities where district_code = '0203' and kind = 'fgd'
         union all
         select 'case_study', id, 1, '{}' from case_studies where district_code = '0203'
         union all
         select 'finding', f.id, 1, '{}' from findings f join activities a on a.id = f.activity_id
         where a.district_code = '0203' and f.public",
    )
    .execute(&app.pool)
    .await
    .expect("first revisions");
    sqlx::query_scalar(
        "insert into recommendation_lists (district_code, study_id, list_version, previous_id)
         select district_code, study_id, list_version + 1, id from recommendation_lists
         where district_code = '0204'
         returning id",
    )
    .fetch_one(&app.pool)
    .await
    .expect("a reopened list")
}

/// A file in the store and its record, attached to the district's FGD.
async fn attachment(app: &TestApp, district: &str, public: bool) -> i64 {
    let name = format!("test-{district}.pdf");
    std::fs::create_dir_all(app.files_dir.join("attachments")).expect("folder");
    std::fs::write(app.files_dir.join("attachments").join(&name), b"%PDF-1.7").expect("file");
    sqlx::query_scalar(
        "insert into attachments (parent, parent_id, stored_name, content_type, size_bytes, public)
         select 'activity', id, $2, 'application/pdf', 8, $3 from activities where district_code = $1 and kind = 'fgd'
         returning id",
    )
    .bind(district)
    .bind(name)
    .bind(public)
    .fetch_one(&app.pool)
    .await
    .expect("attachment")
}

/// (method, route as written in the router, URL tried, rule). State-changing
/// steps come after the reads of the same record; `/logout` comes last.
fn table(r: &Records) -> Vec<(&'static str, &'static str, String, Rule)> {
    let user = |suffix: &str| format!("/admin/users/{}{suffix}", r.user);
    let activity = |id: i64, suffix: &str| format!("/activities/{id}{suffix}");
    let case = |id: i64, suffix: &str| format!("/case-studies/{id}{suffix}");
    let list = |id: i64, suffix: &str| format!("/recommendation-lists/{id}{suffix}");
    vec![
        ("GET", "/healthz", "/healthz".into(), Rule::Public),
        ("GET", "/readyz", "/readyz".into(), Rule::Public),
        // The stylesheet and the font, nested under /static.
        ("GET", "/{*path}", "/static/app.css".into(), Rule::Public),
        ("GET", "/metrics", "/metrics".into(), Rule::Private),
        ("GET", "/caught-up", "/caught-up".into(), Rule::Private),
        ("GET", "/login", "/login".into(), Rule::Public),
        ("POST", "/login", "/login".into(), Rule::Public),
        ("GET", "/", "/".into(), Rule::SignedIn),
        ("GET", "/account", "/account".into(), Rule::SignedIn),
        (
            "POST",
            "/account/password",
            "/account/password".into(),
            Rule::SignedIn,
        ),
        ("GET", "/districts", "/districts".into(), Rule::SignedIn),
        (
            "GET",
            "/districts/{code}",
            "/districts/0204".into(),
            Rule::SignedIn,
        ),
        (
            "GET",
            "/provinces/{code}",
            "/provinces/02".into(),
            Rule::SignedIn,
        ),
        ("GET", "/studies", "/studies".into(), Rule::SignedIn),
        ("GET", "/studies/new", "/studies/new".into(), Rule::Staff),
        ("POST", "/studies", "/studies".into(), Rule::Staff),
        (
            "GET",
            "/studies/{id}",
            format!("/studies/{}", r.study),
            Rule::SignedIn,
        ),
        (
            "GET",
            "/studies/{id}/print",
            format!("/studies/{}/print", r.study),
            Rule::SignedIn,
        ),
        (
            "GET",
            "/studies/{id}/edit",
            format!("/studies/{}/edit", r.study),
            Rule::Staff,
        ),
        (
            "POST",
            "/studies/{id}",
            format!("/studies/{}", r.study),
            Rule::Staff,
        ),
        (
            "POST",
            "/studies/{id}/public",
            format!("/studies/{}/public", r.study),
            Rule::Staff,
        ),
        // The public pages: anyone, the public reader being whoever is not signed in.
        ("GET", "/public", "/public".into(), Rule::Public),
        (
            "GET",
            "/public/studies/{id}",
            format!("/public/studies/{}", r.study),
            Rule::Public,
        ),
        (
            "GET",
            "/public/studies/{id}/districts/{code}",
            format!("/public/studies/{}/districts/0202", r.study),
            Rule::Public,
        ),
        ("GET", "/public/data", "/public/data".into(), Rule::Public),
        (
            "GET",
            "/public/provinces/{code}/cycles",
            "/public/provinces/02/cycles".into(),
            Rule::Public,
        ),
        (
            "GET",
            "/provinces/{code}/cycles",
            "/provinces/02/cycles".into(),
            Rule::SignedIn,
        ),
        (
            "GET",
            "/public/studies/{id}/data/{file}",
            format!("/public/studies/{}/data/participation.json", r.study),
            Rule::Public,
        ),
        ("GET", "/projects", "/projects".into(), Rule::SignedIn),
        ("GET", "/projects/new", "/projects/new".into(), Rule::Staff),
        ("POST", "/projects", "/projects".into(), Rule::Staff),
        (
            "GET",
            "/projects/{id}",
            format!("/projects/{}", r.transparency),
            Rule::TakesPart(&["ngo@ctod.example", "donor@donor.example"]),
        ),
        (
            "GET",
            "/projects/{id}",
            format!("/projects/{}", r.small_grants),
            Rule::TakesPart(&[]),
        ),
        (
            "GET",
            "/projects/{id}",
            format!("/projects/{}", r.carbon),
            Rule::SignedIn,
        ),
        (
            "GET",
            "/projects/{id}/edit",
            format!("/projects/{}/edit", r.carbon),
            Rule::Staff,
        ),
        (
            "POST",
            "/projects/{id}",
            format!("/projects/{}", r.carbon),
            Rule::Staff,
        ),
        ("GET", "/agreements", "/agreements".into(), Rule::SignedIn),
        (
            "GET",
            "/agreements/new",
            "/agreements/new".into(),
            Rule::Staff,
        ),
        ("POST", "/agreements", "/agreements".into(), Rule::Staff),
        (
            "GET",
            "/agreements/{id}",
            format!("/agreements/{}", r.pursat_mou),
            Rule::SignedIn,
        ),
        (
            "GET",
            "/agreements/{id}",
            format!("/agreements/{}", r.draft_letter),
            Rule::TakesPart(&["ngo@ctod.example", "donor@donor.example"]),
        ),
        (
            "GET",
            "/agreements/{id}/edit",
            format!("/agreements/{}/edit", r.draft_letter),
            Rule::Staff,
        ),
        (
            "POST",
            "/agreements/{id}",
            format!("/agreements/{}", r.draft_letter),
            Rule::Staff,
        ),
        (
            "POST",
            "/agreements/{id}/status",
            format!("/agreements/{}/status", r.draft_letter),
            Rule::Staff,
        ),
        (
            "POST",
            "/agreements/{id}/attachments",
            format!("/agreements/{}/attachments", r.pursat_mou),
            Rule::Staff,
        ),
        ("GET", "/events", "/events".into(), Rule::SignedIn),
        ("GET", "/events/new", "/events/new".into(), Rule::Staff),
        ("POST", "/events", "/events".into(), Rule::Staff),
        (
            "GET",
            "/events/{id}",
            format!("/events/{}", r.pursat_meeting),
            Rule::SignedIn,
        ),
        (
            "GET",
            "/events/{id}/edit",
            format!("/events/{}/edit", r.pursat_meeting),
            Rule::Staff,
        ),
        (
            "POST",
            "/events/{id}",
            format!("/events/{}", r.pursat_meeting),
            Rule::Staff,
        ),
        (
            "POST",
            "/events/{id}/attachments",
            format!("/events/{}/attachments", r.pursat_meeting),
            Rule::Staff,
        ),
        (
            "GET",
            "/events/{id}/news",
            format!("/events/{}/news", r.pursat_meeting),
            Rule::Staff,
        ),
        (
            "POST",
            "/events/{id}/news",
            format!("/events/{}/news", r.pursat_meeting),
            Rule::Staff,
        ),
        ("GET", "/public/news", "/public/news".into(), Rule::Public),
        (
            "GET",
            "/public/news.atom",
            "/public/news.atom".into(),
            Rule::Public,
        ),
        (
            "GET",
            "/public/news/{id}",
            format!("/public/news/{}", r.news),
            Rule::Public,
        ),
        (
            "GET",
            "/public/news/{id}/photos/{photo}",
            format!("/public/news/{}/photos/{}", r.news, r.public_photo),
            Rule::Public,
        ),
        ("GET", "/activities", "/activities".into(), Rule::SignedIn),
        (
            "GET",
            "/activities/new",
            "/activities/new".into(),
            Rule::Writers,
        ),
        ("POST", "/activities", "/activities".into(), Rule::Writers),
        (
            "GET",
            "/activities/import",
            "/activities/import".into(),
            Rule::Writers,
        ),
        (
            "POST",
            "/activities/import",
            "/activities/import".into(),
            Rule::Writers,
        ),
        (
            "GET",
            "/activities/import/template.xlsx",
            "/activities/import/template.xlsx".into(),
            Rule::Writers,
        ),
        (
            "GET",
            "/activities/import/samleng-fgd.xlsx",
            "/activities/import/samleng-fgd.xlsx".into(),
            Rule::Writers,
        ),
        (
            "GET",
            "/activities/import/{id}",
            format!("/activities/import/{}", r.import),
            Rule::Owner("ngo@ctod.example"),
        ),
        (
            "POST",
            "/activities/import/{id}/confirm",
            format!("/activities/import/{}/confirm", r.import),
            Rule::Owner("ngo@ctod.example"),
        ),
        (
            "GET",
            "/activities/{id}",
            activity(r.published_activity, ""),
            Rule::SignedIn,
        ),
        (
            "GET",
            "/activities/{id}",
            activity(r.draft_activity, ""),
            Rule::ReadIn("0207"),
        ),
        (
            "GET",
            "/activities/{id}/edit",
            activity(r.published_activity, "/edit"),
            Rule::WriteIn("0203"),
        ),
        (
            "GET",
            "/activities/{id}/edit",
            activity(r.draft_activity, "/edit"),
            Rule::WriteIn("0207"),
        ),
        (
            "POST",
            "/activities/{id}",
            activity(r.draft_activity, ""),
            Rule::WriteIn("0207"),
        ),
        (
            "POST",
            "/activities/{id}/findings",
            activity(r.published_activity, "/findings"),
            Rule::WriteIn("0203"),
        ),
        (
            "GET",
            "/activities/{id}/revisions",
            activity(r.published_activity, "/revisions"),
            Rule::CitizensOnlyIn("0203"),
        ),
        (
            "GET",
            "/case-studies/{id}/revisions",
            case(r.draft_case, "/revisions"),
            Rule::ReadIn("0207"),
        ),
        (
            "GET",
            "/activities/{id}/revisions/{version}",
            activity(r.published_activity, "/revisions/1"),
            Rule::CitizensOnlyIn("0203"),
        ),
        (
            "POST",
            "/activities/{id}/attachments",
            activity(r.draft_activity, "/attachments"),
            Rule::WriteIn("0207"),
        ),
        (
            "GET",
            "/attachments/{id}",
            format!("/attachments/{}", r.public_file),
            Rule::SignedIn,
        ),
        (
            "GET",
            "/attachments/{id}",
            format!("/attachments/{}", r.draft_file),
            Rule::ReadIn("0207"),
        ),
        (
            "GET",
            "/attachments/{id}/preview",
            format!("/attachments/{}/preview", r.public_photo),
            Rule::SignedIn,
        ),
        (
            "POST",
            "/case-studies/{id}/attachments",
            case(r.draft_case, "/attachments"),
            Rule::WriteIn("0207"),
        ),
        (
            "GET",
            "/case-studies",
            "/case-studies".into(),
            Rule::SignedIn,
        ),
        (
            "GET",
            "/case-studies/new",
            "/case-studies/new".into(),
            Rule::Writers,
        ),
        (
            "POST",
            "/case-studies",
            "/case-studies".into(),
            Rule::Writers,
        ),
        (
            "GET",
            "/case-studies/{id}",
            case(r.published_case, ""),
            Rule::SignedIn,
        ),
        (
            "GET",
            "/case-studies/{id}",
            case(r.draft_case, ""),
            Rule::ReadIn("0207"),
        ),
        (
            "GET",
            "/case-studies/{id}/edit",
            case(r.draft_case, "/edit"),
            Rule::WriteIn("0207"),
        ),
        (
            "POST",
            "/case-studies/{id}",
            case(r.draft_case, ""),
            Rule::WriteIn("0207"),
        ),
        (
            "GET",
            "/case-studies/{id}/revisions/{version}",
            case(r.published_case, "/revisions/1"),
            Rule::ReadIn("0203"),
        ),
        (
            "POST",
            "/case-studies/{id}/submit",
            case(r.draft_case, "/submit"),
            Rule::WriteIn("0207"),
        ),
        (
            "POST",
            "/case-studies/{id}/return",
            case(r.review_case, "/return"),
            Rule::Staff,
        ),
        (
            "POST",
            "/case-studies/{id}/publish",
            case(r.review_case, "/publish"),
            Rule::Staff,
        ),
        (
            "POST",
            "/case-studies/{id}/archive",
            case(r.published_case, "/archive"),
            Rule::Staff,
        ),
        (
            "GET",
            "/recommendation-lists",
            "/recommendation-lists".into(),
            Rule::SignedIn,
        ),
        (
            "GET",
            "/recommendation-lists/new",
            "/recommendation-lists/new".into(),
            Rule::Writers,
        ),
        (
            "POST",
            "/recommendation-lists",
            "/recommendation-lists".into(),
            Rule::Writers,
        ),
        (
            "GET",
            "/recommendation-lists/{id}",
            list(r.endorsed_list, ""),
            Rule::SignedIn,
        ),
        (
            "GET",
            "/recommendation-lists/{id}",
            list(r.waiting_list, ""),
            Rule::ReadIn("0203"),
        ),
        (
            "GET",
            "/recommendation-lists/{id}/print",
            list(r.endorsed_list, "/print"),
            Rule::SignedIn,
        ),
        (
            "GET",
            "/recommendation-lists/{id}/snapshot",
            list(r.endorsed_list, "/snapshot"),
            Rule::SignedIn,
        ),
        (
            "GET",
            "/recommendation-lists/{id}/print",
            list(r.waiting_list, "/print"),
            Rule::ReadIn("0203"),
        ),
        (
            "POST",
            "/recommendation-lists/{id}/recommendations",
            list(r.returned_list, "/recommendations"),
            Rule::WriteIn("0201"),
        ),
        (
            "GET",
            "/recommendation-lists/{id}/recommendations/{item}",
            list(
                r.returned_list,
                &format!("/recommendations/{}", r.returned_item),
            ),
            Rule::WriteIn("0201"),
        ),
        (
            "POST",
            "/recommendation-lists/{id}/recommendations/{item}",
            list(
                r.returned_list,
                &format!("/recommendations/{}", r.returned_item),
            ),
            Rule::WriteIn("0201"),
        ),
        (
            "POST",
            "/recommendation-lists/{id}/recommendations/{item}/move",
            list(
                r.returned_list,
                &format!("/recommendations/{}/move", r.returned_item),
            ),
            Rule::WriteIn("0201"),
        ),
        (
            "POST",
            "/recommendation-lists/{id}/recommendations/{item}/delete",
            list(
                r.returned_list,
                &format!("/recommendations/{}/delete", r.returned_item),
            ),
            Rule::WriteIn("0201"),
        ),
        (
            "POST",
            "/recommendation-lists/{id}/endorse",
            list(r.waiting_list, "/endorse"),
            Rule::EndorseIn("0203"),
        ),
        (
            "POST",
            "/recommendation-lists/{id}/return",
            list(r.waiting_list, "/return"),
            Rule::EndorseIn("0203"),
        ),
        (
            "POST",
            "/recommendation-lists/{id}/reopen",
            list(r.endorsed_list, "/reopen"),
            Rule::Staff,
        ),
        (
            "POST",
            "/recommendation-lists/{id}/submit",
            list(r.returned_list, "/submit"),
            Rule::Staff,
        ),
        (
            "POST",
            "/recommendation-lists/{id}/withdraw",
            list(r.waiting_list, "/withdraw"),
            Rule::Staff,
        ),
        (
            "GET",
            "/recommendation-lists/{id}/endorse-on-paper",
            list(r.reopened_list, "/endorse-on-paper"),
            Rule::Staff,
        ),
        (
            "POST",
            "/recommendation-lists/{id}/endorse-on-paper",
            list(r.reopened_list, "/endorse-on-paper"),
            Rule::Staff,
        ),
        (
            "POST",
            "/case-studies/{id}/activities",
            case(r.draft_case, "/activities"),
            Rule::WriteIn("0207"),
        ),
        (
            "GET",
            "/notifications",
            "/notifications".into(),
            Rule::SignedIn,
        ),
        (
            "POST",
            "/notifications/read",
            "/notifications/read".into(),
            Rule::SignedIn,
        ),
        (
            "POST",
            "/notifications/{id}/open",
            format!("/notifications/{}/open", r.notification),
            Rule::Owner("sna@battambang.example"),
        ),
        (
            "POST",
            "/notifications/settings",
            "/notifications/settings".into(),
            Rule::SignedIn,
        ),
        (
            "GET",
            "/password-reset",
            "/password-reset".into(),
            Rule::Public,
        ),
        (
            "POST",
            "/password-reset",
            "/password-reset".into(),
            Rule::Public,
        ),
        (
            "GET",
            "/password-reset/{token}",
            "/password-reset/0123".into(),
            Rule::Public,
        ),
        (
            "POST",
            "/password-reset/{token}",
            "/password-reset/0123".into(),
            Rule::Public,
        ),
        (
            "GET",
            "/invitation/{token}",
            "/invitation/0123".into(),
            Rule::Public,
        ),
        (
            "POST",
            "/invitation/{token}",
            "/invitation/0123".into(),
            Rule::Public,
        ),
        (
            "POST",
            "/telegram/link",
            "/telegram/link".into(),
            Rule::SignedIn,
        ),
        (
            "POST",
            "/telegram/unlink",
            "/telegram/unlink".into(),
            Rule::SignedIn,
        ),
        ("GET", "/admin/outbox", "/admin/outbox".into(), Rule::Admin),
        (
            "POST",
            "/admin/outbox/{id}/retry",
            "/admin/outbox/0/retry".into(),
            Rule::Admin,
        ),
        (
            "POST",
            "/recommendation-lists/{id}/consultation",
            list(r.reopened_list, "/consultation"),
            Rule::WriteIn("0204"),
        ),
        (
            "POST",
            "/recommendation-lists/{id}/attachments",
            list(r.returned_list, "/attachments"),
            Rule::WriteIn("0201"),
        ),
        (
            "GET",
            "/recommendation-lists/{id}/changes",
            list(r.reopened_list, "/changes"),
            Rule::ReadIn("0204"),
        ),
        (
            "GET",
            "/provinces/{code}/recommendations",
            "/provinces/02/recommendations".into(),
            Rule::SignedIn,
        ),
        (
            "GET",
            "/recommendations/national",
            "/recommendations/national".into(),
            Rule::SignedIn,
        ),
        (
            "POST",
            "/recommendations/{id}/priorities",
            format!("/recommendations/{}/priorities", r.endorsed_item),
            Rule::Staff,
        ),
        (
            "GET",
            "/action-plans",
            "/action-plans".into(),
            Rule::SignedIn,
        ),
        (
            "GET",
            "/action-plans/new",
            "/action-plans/new".into(),
            Rule::Staff,
        ),
        ("POST", "/action-plans", "/action-plans".into(), Rule::Staff),
        (
            "GET",
            "/action-plans/{id}",
            format!("/action-plans/{}", r.plan),
            Rule::SignedIn,
        ),
        (
            "GET",
            "/action-plans/{id}/edit",
            format!("/action-plans/{}/edit", r.plan),
            Rule::Staff,
        ),
        (
            "POST",
            "/action-plans/{id}/edit",
            format!("/action-plans/{}/edit", r.plan),
            Rule::Staff,
        ),
        (
            "GET",
            "/actions/{id}/edit",
            format!("/actions/{}/edit", r.cso_action),
            Rule::Staff,
        ),
        (
            "POST",
            "/actions/{id}/edit",
            format!("/actions/{}/edit", r.cso_action),
            Rule::Staff,
        ),
        (
            "POST",
            "/actions/{id}/updates/{update}/return",
            format!(
                "/actions/{}/updates/{}/return",
                r.joint_action, r.joint_update
            ),
            Rule::Staff,
        ),
        (
            "POST",
            "/action-plans/{id}/actions",
            format!("/action-plans/{}/actions", r.plan),
            Rule::Staff,
        ),
        (
            "GET",
            "/actions/{id}",
            format!("/actions/{}", r.cso_action),
            Rule::SignedIn,
        ),
        (
            "POST",
            "/actions/{id}/updates",
            format!("/actions/{}/updates", r.cso_action),
            Rule::StaffOr("ngo@ctod.example"),
        ),
        (
            "POST",
            "/actions/{id}/updates/{update}/confirm",
            format!(
                "/actions/{}/updates/{}/confirm",
                r.joint_action, r.joint_update
            ),
            Rule::StaffOr("ngo@ctod.example"),
        ),
        (
            "POST",
            "/actions/{id}/updates/{update}/attachments",
            format!(
                "/actions/{}/updates/{}/attachments",
                r.joint_action, r.joint_update
            ),
            Rule::StaffOr("ngo@ctod.example"),
        ),
        (
            "GET",
            "/recommendations/{id}",
            format!("/recommendations/{}", r.endorsed_item),
            Rule::SignedIn,
        ),
        (
            "GET",
            "/findings/{id}",
            format!("/findings/{}", r.public_finding),
            Rule::SignedIn,
        ),
        (
            "GET",
            "/findings/{id}/edit",
            format!("/findings/{}/edit", r.public_finding),
            Rule::WriteIn("0203"),
        ),
        (
            "POST",
            "/findings/{id}/edit",
            format!("/findings/{}/edit", r.public_finding),
            Rule::WriteIn("0203"),
        ),
        (
            "GET",
            "/findings/{id}/revisions",
            format!("/findings/{}/revisions", r.public_finding),
            Rule::CitizensOnlyIn("0203"),
        ),
        (
            "GET",
            "/findings/{id}/revisions/{version}",
            format!("/findings/{}/revisions/1", r.public_finding),
            Rule::CitizensOnlyIn("0203"),
        ),
        (
            "POST",
            "/findings/{id}/redact",
            format!("/findings/{}/redact", r.public_finding),
            Rule::Staff,
        ),
        (
            "POST",
            "/findings/{id}/delete",
            format!("/findings/{}/delete", r.loose_finding),
            Rule::WriteIn("0203"),
        ),
        ("GET", "/admin/themes", "/admin/themes".into(), Rule::Staff),
        ("POST", "/admin/themes", "/admin/themes".into(), Rule::Staff),
        (
            "POST",
            "/admin/themes/{id}",
            format!("/admin/themes/{}", r.theme),
            Rule::Staff,
        ),
        ("GET", "/admin/users", "/admin/users".into(), Rule::Admin),
        ("POST", "/admin/users", "/admin/users".into(), Rule::Admin),
        (
            "GET",
            "/admin/users/new",
            "/admin/users/new".into(),
            Rule::Admin,
        ),
        ("GET", "/admin/users/{id}", user(""), Rule::Admin),
        ("POST", "/admin/users/{id}", user(""), Rule::Admin),
        (
            "POST",
            "/admin/users/{id}/deactivate",
            user("/deactivate"),
            Rule::Admin,
        ),
        (
            "POST",
            "/admin/users/{id}/activate",
            user("/activate"),
            Rule::Admin,
        ),
        (
            "POST",
            "/admin/users/{id}/reset-password",
            user("/reset-password"),
            Rule::Admin,
        ),
        (
            "GET",
            "/admin/organizations",
            "/admin/organizations".into(),
            Rule::Admin,
        ),
        (
            "POST",
            "/admin/organizations",
            "/admin/organizations".into(),
            Rule::Admin,
        ),
        (
            "GET",
            "/admin/organizations/new",
            "/admin/organizations/new".into(),
            Rule::Admin,
        ),
        (
            "GET",
            "/admin/organizations/{id}",
            format!("/admin/organizations/{}", r.organization),
            Rule::Admin,
        ),
        (
            "POST",
            "/admin/organizations/{id}",
            format!("/admin/organizations/{}", r.organization),
            Rule::Admin,
        ),
        (
            "GET",
            "/admin/gazetteer",
            "/admin/gazetteer".into(),
            Rule::Admin,
        ),
        (
            "POST",
            "/admin/gazetteer/import",
            "/admin/gazetteer/import".into(),
            Rule::Admin,
        ),
        ("GET", "/admin/audit", "/admin/audit".into(), Rule::Admin),
        ("GET", "/bin", "/bin".into(), Rule::Staff),
        (
            "POST",
            "/bin/{id}/restore",
            format!("/bin/{}/restore", r.binned),
            Rule::Staff,
        ),
        (
            "POST",
            "/bin/{id}/purge",
            format!("/bin/{}/purge", r.binned_too),
            Rule::Staff,
        ),
        // Everyone signed in has a dashboard and exports, each counting only what
        // they may read (tested in dashboard.rs), even when the URL names a
        // district's unpublished work.
        ("GET", "/dashboard", "/dashboard".into(), Rule::SignedIn),
        (
            "GET",
            "/dashboard",
            "/dashboard?district=0207".into(),
            Rule::SignedIn,
        ),
        ("GET", "/exports", "/exports".into(), Rule::SignedIn),
        // API tokens are each person's own; the API's description is public.
        (
            "GET",
            "/account/tokens",
            "/account/tokens".into(),
            Rule::SignedIn,
        ),
        (
            "POST",
            "/account/tokens",
            "/account/tokens".into(),
            Rule::SignedIn,
        ),
        (
            "POST",
            "/account/tokens/{id}/revoke",
            format!("/account/tokens/{}/revoke", r.token),
            Rule::Owner("ngo@ctod.example"),
        ),
        ("GET", "/api", "/api".into(), Rule::Public),
        (
            "GET",
            "/api/v1/openapi.json",
            "/api/v1/openapi.json".into(),
            Rule::Public,
        ),
        (
            "GET",
            "/exports/{file}",
            "/exports/activities.csv?district=0207".into(),
            Rule::SignedIn,
        ),
        (
            "GET",
            "/exports/{file}",
            "/exports/findings.xlsx".into(),
            Rule::SignedIn,
        ),
        (
            "GET",
            "/exports/{file}",
            "/exports/events.csv".into(),
            Rule::SignedIn,
        ),
        // Filtered by a project: as the project's own page.
        (
            "GET",
            "/dashboard",
            format!("/dashboard?project={}", r.transparency),
            Rule::TakesPart(&["ngo@ctod.example", "donor@donor.example"]),
        ),
        (
            "GET",
            "/exports/{file}",
            format!("/exports/projects.csv?project={}", r.small_grants),
            Rule::TakesPart(&[]),
        ),
        (
            "POST",
            "/attachments/{id}/withdraw",
            format!("/attachments/{}/withdraw", r.public_photo),
            Rule::WriteIn("0203"),
        ),
        // Deleting comes last: the records are gone afterwards.
        (
            "POST",
            "/attachments/{id}/delete",
            format!("/attachments/{}/delete", r.public_file),
            Rule::WriteIn("0203"),
        ),
        (
            "POST",
            "/activities/{id}/delete",
            activity(r.spare_activity, "/delete"),
            Rule::WriteIn("0207"),
        ),
        (
            "POST",
            "/case-studies/{id}/delete",
            case(r.spare_case, "/delete"),
            Rule::WriteIn("0207"),
        ),
        ("POST", "/logout", "/logout".into(), Rule::SignOut),
    ]
}

/// The routes the router declares, read from the source: `.route("/path", get(..).post(..))`.
fn declared_routes() -> BTreeSet<(String, String)> {
    let mut routes = BTreeSet::new();
    let mut stack = vec![Path::new(env!("CARGO_MANIFEST_DIR")).join("src")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("src").flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let source = std::fs::read_to_string(&path).expect("source file");
            // `.route("/path", get(..).post(..))`, on one line or spread over several.
            for declaration in source.split(".route(").skip(1) {
                let Some(rest) = declaration.trim_start().strip_prefix('"') else {
                    continue;
                };
                let Some((route, handlers)) = rest.split_once('"') else {
                    continue;
                };
                let handlers = handlers.split(';').next().unwrap_or_default();
                for (method, call) in [("GET", "get("), ("POST", "post(")] {
                    if handlers.contains(call) {
                        routes.insert((method.to_owned(), route.to_owned()));
                    }
                }
            }
        }
    }
    routes.insert(("GET".into(), "/healthz".into()));
    routes
}

#[tokio::test]
async fn every_route_lets_in_exactly_whom_the_policy_says() {
    // Every POST /login of the table is a wrong password, not a flood.
    let app = spawn_app_with(Settings {
        sign_in_burst: 1_000,
        ..Settings::default()
    })
    .await;
    let table = table(&records(&app).await);

    let listed: BTreeSet<(String, String)> = table
        .iter()
        .map(|(method, route, _, _)| (method.to_string(), route.to_string()))
        .collect();
    let missing: Vec<_> = declared_routes().difference(&listed).cloned().collect();
    assert!(
        missing.is_empty(),
        "routes missing from the authorization table: {missing:?}"
    );

    let mut visitors: Vec<(&str, Visitor)> = Vec::new();
    for person in PEOPLE {
        let visitor = if person == "anonymous" {
            app.visitor()
        } else {
            app.login_as(person).await
        };
        visitors.push((person, visitor));
    }
    let mut failures = Vec::new();
    for (method, route, url, rule) in &table {
        let mut let_in = 0;
        for (person, visitor) in &visitors {
            let page = match *method {
                "GET" => visitor.get(url).await,
                _ => visitor.post(url, &[]).await,
            };
            let got = outcome(&page);
            let want = expected(*rule, person, answer(method, route), let_in);
            if matches!(want, Outcome::Answered(_)) {
                let_in += 1;
            }
            if got != want {
                failures.push(format!(
                    "{method} {url} as {person}: {got:?} ({}) instead of {want:?}",
                    page.status
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// A user that the table's POSTs may deactivate and reset without touching the
/// people making the requests.
async fn target_user(app: &TestApp) -> i64 {
    sqlx::query_scalar(
        "insert into users (email, display_name, role, organization_id, password_hash)
         select 'target@ctod.example', 'Target', 'ngo', id, 'x' from organizations where acronym = 'CTOD'
         returning id",
    )
    .fetch_one(&app.pool)
    .await
    .expect("target user")
}
