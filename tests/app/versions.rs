//! One versioned update for every editable record (web::versioned): a form
//! saved after someone else saved the same record is answered 409, with the
//! user's input kept, what the other person saved listed, and nothing of the
//! stale form written.

use reqwest::StatusCode;

use crate::helpers::{TestApp, Visitor, spawn_app};

/// The fields a browser would send from the first POST form of a page with a
/// hidden `version`: inputs with their values, checked boxes, textareas and
/// selected options.
fn form_fields(html: &str) -> Vec<(String, String)> {
    let form = html
        .split("<form method=\"post\"")
        .skip(1)
        .find(|form| form.contains("name=\"version\""))
        .expect("a form with a version");
    let form = form.split("</form>").next().unwrap_or_default();
    let attribute = |tag: &str, name: &str| {
        tag.split(&format!(" {name}=\""))
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .map(|value| value.replace("&#38;", "&").replace("&amp;", "&"))
    };
    let mut fields = Vec::new();
    for tag in form.split('<').skip(1) {
        let Some(name) = attribute(tag, "name") else {
            continue;
        };
        if tag.starts_with("input") {
            let checkbox = tag.contains("type=\"checkbox\"");
            if checkbox && !tag.contains(" checked") {
                continue;
            }
            let value = attribute(tag, "value")
                .unwrap_or_else(|| if checkbox { "on".into() } else { String::new() });
            fields.push((name, value));
        } else if tag.starts_with("textarea") {
            let text = tag
                .split_once('>')
                .map(|(_, text)| text)
                .unwrap_or_default();
            fields.push((name, text.replace("&#38;", "&")));
        } else if tag.starts_with("select") {
            let select = &form[form.find(tag).unwrap_or(0)..];
            let select = select.split("</select>").next().unwrap_or_default();
            if let Some(option) = select
                .split("<option")
                .find(|option| option.contains(" selected"))
            {
                fields.push((name, attribute(option, "value").unwrap_or_default()));
            }
        }
    }
    fields
}

fn set(fields: &mut [(String, String)], name: &str, value: &str) {
    let field = fields
        .iter_mut()
        .find(|(field, _)| field == name)
        .unwrap_or_else(|| panic!("no field {name}"));
    field.1 = value.to_owned();
}

/// Sends a form's fields as a browser would.
async fn submit(
    visitor: &Visitor,
    action: &str,
    fields: &[(String, String)],
) -> crate::helpers::Page {
    let body: Vec<(&str, &str)> = fields
        .iter()
        .map(|(name, value)| (name.as_str(), value.as_str()))
        .collect();
    visitor.post(action, &body).await
}

/// Opens the edit form in two tabs; the second saves `field` as `theirs`, then
/// the first sends it as `ours` (`values` is `(ours, theirs)`): 409, our input
/// kept, theirs listed, the record still as they saved it.
async fn a_stale_save_is_refused(
    app: &TestApp,
    visitor: &Visitor,
    edit: &str,
    action: &str,
    field: &str,
    (ours, theirs): (&str, &str),
    stored: &str,
) {
    let page = visitor.get(edit).await;
    assert_eq!(page.status, StatusCode::OK, "{edit}");
    let mut fields = form_fields(&page.body);
    let mut other_tab = form_fields(&visitor.get(edit).await.body);
    set(&mut other_tab, field, theirs);
    let first = submit(visitor, action, &other_tab).await;
    assert_eq!(
        first.status,
        StatusCode::SEE_OTHER,
        "{action}: the other tab saves: {}",
        first.body
    );
    set(&mut fields, field, ours);
    let answer = submit(visitor, action, &fields).await;
    assert_eq!(
        answer.status,
        StatusCode::CONFLICT,
        "{action}: {}",
        answer.body
    );
    assert!(
        answer.body.contains("id=\"conflict\""),
        "{action}: the conflict is explained"
    );
    assert!(answer.body.contains(ours), "{action}: our input is kept");
    assert!(
        answer.body.contains(theirs),
        "{action}: what they saved is listed"
    );
    let now: String = sqlx::query_scalar(stored)
        .fetch_one(&app.pool)
        .await
        .expect("stored value");
    assert_eq!(now, theirs, "{action}: the stale form wrote nothing");
    // Sent again from the form as it came back, it saves.
    let saved = submit(visitor, action, &form_fields(&answer.body)).await;
    assert_eq!(
        saved.status,
        StatusCode::SEE_OTHER,
        "{action}: saved the second time"
    );
    let now: String = sqlx::query_scalar(stored)
        .fetch_one(&app.pool)
        .await
        .expect("stored value");
    assert_eq!(now, ours, "{action}");
}

async fn id(app: &TestApp, sql: &str) -> i64 {
    sqlx::query_scalar(sql)
        .fetch_one(&app.pool)
        .await
        .expect(sql)
}

#[tokio::test]
async fn every_editable_record_refuses_a_stale_save_and_keeps_the_input() {
    let app = spawn_app().await;
    let admin = app.login_as("admin@cpdd.example").await;
    let ngo = app.login_as("ngo@ctod.example").await;

    // AS writes the draft of Rotonak Mondol (0207).
    let case = id(
        &app,
        "select id from case_studies where status = 'draft' and district_code = '0207'",
    )
    .await;
    a_stale_save_is_refused(
        &app,
        &app.login_as("ngo@as.example").await,
        &format!("/case-studies/{case}/edit"),
        &format!("/case-studies/{case}"),
        "title_en",
        ("Our title", "Their title"),
        &format!("select title_en from case_studies where id = {case}"),
    )
    .await;

    let activity = id(
        &app,
        "select min(id) from activities where district_code = '0203'",
    )
    .await;
    a_stale_save_is_refused(
        &app,
        &ngo,
        &format!("/activities/{activity}/edit"),
        &format!("/activities/{activity}"),
        "place",
        ("Our pagoda", "Their hall"),
        &format!("select place from activities where id = {activity}"),
    )
    .await;

    let study = id(&app, "select min(id) from studies").await;
    a_stale_save_is_refused(
        &app,
        &admin,
        &format!("/studies/{study}/edit"),
        &format!("/studies/{study}"),
        "title_en",
        ("Our study", "Their study"),
        &format!("select title_en from studies where id = {study}"),
    )
    .await;

    let organization = id(&app, "select id from organizations where acronym = 'CTOD'").await;
    a_stale_save_is_refused(
        &app,
        &admin,
        &format!("/admin/organizations/{organization}"),
        &format!("/admin/organizations/{organization}"),
        "name_en",
        ("Our NGO", "Their NGO"),
        &format!("select name_en from organizations where id = {organization}"),
    )
    .await;

    let user = app.user_id("donor@donor.example").await;
    a_stale_save_is_refused(
        &app,
        &admin,
        &format!("/admin/users/{user}"),
        &format!("/admin/users/{user}"),
        "display_name",
        ("Our name", "Their name"),
        &format!("select display_name from users where id = {user}"),
    )
    .await;

    let plan = id(
        &app,
        "select id from action_plans where district_code = '0204'",
    )
    .await;
    a_stale_save_is_refused(
        &app,
        &admin,
        &format!("/action-plans/{plan}/edit"),
        &format!("/action-plans/{plan}/edit"),
        "title_en",
        ("Our plan", "Their plan"),
        &format!("select title_en from action_plans where id = {plan}"),
    )
    .await;

    let action = id(
        &app,
        &format!("select min(id) from actions where plan_id = {plan}"),
    )
    .await;
    a_stale_save_is_refused(
        &app,
        &admin,
        &format!("/actions/{action}/edit"),
        &format!("/actions/{action}/edit"),
        "indicator",
        ("Our indicator", "Their indicator"),
        &format!("select indicator from actions where id = {action}"),
    )
    .await;

    let (list, item): (i64, i64) = sqlx::query_as(
        "select l.id, r.id from recommendation_lists l join recommendations r on r.list_id = l.id
         where l.status in ('draft', 'returned') order by r.id limit 1",
    )
    .fetch_one(&app.pool)
    .await
    .expect("a recommendation of a list being written");
    a_stale_save_is_refused(
        &app,
        &admin,
        &format!("/recommendation-lists/{list}/recommendations/{item}"),
        &format!("/recommendation-lists/{list}/recommendations/{item}"),
        "text_en",
        ("Our wording", "Their wording"),
        &format!("select text_en from recommendations where id = {item}"),
    )
    .await;
}

#[tokio::test]
async fn a_stale_theme_edit_is_refused_with_the_input_kept() {
    let app = spawn_app().await;
    let staff = app.login_as("secretariat@cpdd.example").await;
    let (theme, version): (i64, i32) =
        sqlx::query_as("select id, version from themes order by position limit 1")
            .fetch_one(&app.pool)
            .await
            .expect("a theme");
    sqlx::query("update themes set name_en = 'Their theme', version = version + 1 where id = $1")
        .bind(theme)
        .execute(&app.pool)
        .await
        .expect("someone else saves");
    let version = version.to_string();
    let answer = staff
        .post(
            &format!("/admin/themes/{theme}"),
            &[
                ("name_en", "Our theme"),
                ("position", "1"),
                ("active", "on"),
                ("version", &version),
            ],
        )
        .await;
    assert_eq!(answer.status, StatusCode::CONFLICT);
    assert!(
        answer.body.contains("value=\"Our theme\""),
        "our input is kept"
    );
    assert!(answer.body.contains("Their theme"), "theirs is listed");
    let name: String = sqlx::query_scalar("select name_en from themes where id = $1")
        .bind(theme)
        .fetch_one(&app.pool)
        .await
        .expect("name");
    assert_eq!(name, "Their theme");
    // A form without a version was not sent by our page.
    let unversioned = staff
        .post(&format!("/admin/themes/{theme}"), &[("name_en", "Ours")])
        .await;
    assert_eq!(unversioned.status, StatusCode::BAD_REQUEST);
}

/// The fields of the form posting to `action`: its hidden inputs and the
/// boxes ticked.
fn fields_of_form(html: &str, action: &str) -> Vec<(String, String)> {
    let form = html
        .split(&format!("action=\"{action}\""))
        .nth(1)
        .and_then(|rest| rest.split("</form>").next())
        .unwrap_or_else(|| panic!("a form to {action}"));
    form.split("<input")
        .skip(1)
        .filter(|tag| !tag.contains("type=\"checkbox\"") || tag.contains(" checked"))
        .filter_map(|tag| {
            let value_of = |name: &str| {
                tag.split(&format!(" {name}=\""))
                    .nth(1)
                    .and_then(|rest| rest.split('"').next())
                    .map(str::to_owned)
            };
            Some((value_of("name")?, value_of("value").unwrap_or_default()))
        })
        .collect()
}

#[tokio::test]
async fn activities_linked_from_a_stale_case_study_page_save_nothing_and_keep_the_choice() {
    let app = spawn_app().await;
    let writer = app.login_as("ngo@as.example").await;
    let case = id(
        &app,
        "select id from case_studies where district_code = '0207'",
    )
    .await;
    let page = format!("/case-studies/{case}");
    let action = format!("/case-studies/{case}/activities");
    let sql = format!("select count(*) from activities where case_study_id = {case}");
    let linked = async || id(&app, &sql).await;
    let before = linked().await;
    assert!(before >= 2, "the draft draws on activities");
    let ours = fields_of_form(&writer.get(&page).await.body, &action);
    assert!(ours.iter().any(|(name, _)| name == "activities_version"));
    // The other tab unlinks one activity and saves first.
    let mut theirs = ours.clone();
    let dropped = theirs
        .iter()
        .position(|(name, _)| name == "activities")
        .expect("a linked activity");
    let (_, unlinked) = theirs.remove(dropped);
    assert_eq!(
        submit(&writer, &action, &theirs).await.status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(linked().await, before - 1);
    // Ours still has it ticked: refused, the choice shown back, nothing written.
    let stale = submit(&writer, &action, &ours).await;
    assert_eq!(stale.status, StatusCode::CONFLICT, "{}", stale.body);
    assert!(stale.body.contains("id=\"conflict\""));
    assert!(
        stale
            .body
            .contains(&format!("value=\"{unlinked}\" checked")),
        "our choice is ticked"
    );
    assert_eq!(linked().await, before - 1, "the stale form wrote nothing");
    // Sent again from the page as it came back, it saves.
    let again = fields_of_form(&stale.body, &action);
    assert_eq!(
        submit(&writer, &action, &again).await.status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(linked().await, before);
    // Five tabs at once with the same version: one saves.
    let current = fields_of_form(&writer.get(&page).await.body, &action);
    let go = || submit(&writer, &action, &current);
    let (a, b, c, d, e) = tokio::join!(go(), go(), go(), go(), go());
    let saved = [a, b, c, d, e]
        .iter()
        .filter(|answer| answer.status == StatusCode::SEE_OTHER)
        .count();
    assert_eq!(saved, 1);
}
