//! The API (issue 28): personal access tokens made on the account page, the
//! read endpoints answering what the token's owner may read, problem details,
//! ETags, the rate limit, and every response checked against the OpenAPI
//! document the server publishes.

use reqwest::StatusCode;
use reqwest::header::{HeaderMap, HeaderValue};
use samleng::state::Settings;
use serde_json::Value;

use crate::helpers::{TestApp, spawn_app, spawn_app_with, text_of};

/// Makes a token on `/account/tokens` as `email` would: the form, filled in
/// and sent; the secret read off the page that answers.
async fn token_for(app: &TestApp, email: &str, scope: &str) -> String {
    let visitor = app.login_as(email).await;
    let form = visitor.get("/account/tokens").await;
    assert_eq!(form.status, StatusCode::OK);
    let once_key = field_value(&form.body, "once_key");
    let expires_on = field_value(&form.body, "expires_on");
    let made = visitor
        .post(
            "/account/tokens",
            &[
                ("name", "R at the office"),
                ("scope", scope),
                ("expires_on", &expires_on),
                ("once_key", &once_key),
            ],
        )
        .await;
    assert_eq!(made.status, StatusCode::OK, "{}", text_of(&made.body));
    secret_on(&made.body).expect("the secret, shown once")
}

fn field_value(html: &str, name: &str) -> String {
    html.split(&format!("name=\"{name}\""))
        .nth(1)
        .and_then(|rest| rest.split("value=\"").nth(1))
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_else(|| panic!("the {name} field"))
        .to_owned()
}

fn secret_on(html: &str) -> Option<String> {
    html.split("<code id=\"token-secret\">")
        .nth(1)
        .and_then(|rest| rest.split("</code>").next())
        .map(str::to_owned)
}

/// An answer of the API: status, headers and the JSON body (`Null` if none).
struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Value,
}

async fn call(app: &TestApp, token: Option<&str>, path: &str, extra: &[(&str, &str)]) -> Answer {
    let mut request = reqwest::Client::new().get(app.url(path));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    for (name, value) in extra {
        request = request.header(*name, *value);
    }
    let response = request.send().await.expect("the API answers");
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.bytes().await.expect("body");
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| panic!("{path}: JSON, not {}", String::from_utf8_lossy(&bytes)))
    };
    Answer {
        status,
        headers,
        body,
    }
}

fn problem_code(answer: &Answer) -> &str {
    assert_eq!(
        answer.headers.get("content-type"),
        Some(&HeaderValue::from_static("application/problem+json"))
    );
    answer.body["code"].as_str().unwrap_or_default()
}

/// Every page of `path`, following `next_cursor`: the items in order.
async fn every_page(app: &TestApp, token: &str, path: &str, limit: i64) -> Vec<Value> {
    let mut items = Vec::new();
    let mut cursor = String::new();
    loop {
        let separator = if path.contains('?') { '&' } else { '?' };
        let page = call(
            app,
            Some(token),
            &format!("{path}{separator}limit={limit}&cursor={cursor}"),
            &[],
        )
        .await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        let data = page.body["data"].as_array().expect("data").clone();
        assert!(data.len() as i64 <= limit);
        items.extend(data);
        match page.body["next_cursor"].as_str() {
            Some(next) => cursor = next.to_owned(),
            None => return items,
        }
    }
}

#[tokio::test]
async fn a_token_is_shown_once_kept_as_a_hash_used_and_revoked_with_audit_entries() {
    let app = spawn_app().await;
    let secret = token_for(&app, "ngo@ctod.example", "read").await;
    assert!(
        secret.starts_with("samleng_") && secret.len() > 60,
        "{secret}"
    );
    let kept: i64 = sqlx::query_scalar(
        "select count(*) from api_tokens where secret_hash = sha256(convert_to($1, 'UTF8'))",
    )
    .bind(&secret)
    .fetch_one(&app.pool)
    .await
    .expect("the hash");
    assert_eq!(kept, 1);
    let anywhere: i64 = sqlx::query_scalar(
        "select count(*) from api_tokens t where row_to_json(t)::text like '%' || $1 || '%'",
    )
    .bind(&secret[8..])
    .fetch_one(&app.pool)
    .await
    .expect("a search");
    assert_eq!(anywhere, 0, "the secret itself is not kept");
    assert_eq!(
        app.count("audit_events where action = 'api_token_created'")
            .await,
        1
    );

    // The list shows the token, never its secret again.
    let owner = app.login_as("ngo@ctod.example").await;
    let list = owner.get("/account/tokens").await;
    assert!(text_of(&list.body).contains("R at the office"));
    assert!(!list.body.contains(&secret));

    // Used: answered, and its last use noted.
    let answer = call(&app, Some(&secret), "/api/v1/studies", &[]).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_eq!(
        app.count("api_tokens where last_used_at is not null").await,
        1
    );
    assert!(
        answer.headers.get("set-cookie").is_none(),
        "no cookie on the API"
    );

    // Revoked: it opens nothing, and says so as a problem.
    let id: i64 = sqlx::query_scalar("select id from api_tokens")
        .fetch_one(&app.pool)
        .await
        .expect("the token");
    let revoked = owner
        .post(&format!("/account/tokens/{id}/revoke"), &[])
        .await;
    assert_eq!(revoked.status, StatusCode::SEE_OTHER);
    assert_eq!(
        app.count("audit_events where action = 'api_token_revoked'")
            .await,
        1
    );
    let refused = call(&app, Some(&secret), "/api/v1/studies", &[]).await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    assert_eq!(problem_code(&refused), "unauthorized");
    assert!(refused.headers.get("www-authenticate").is_some());

    // Another's token is not found for them, and stays as it is.
    let other = app.login_as("ngo@as.example").await;
    let theirs = other
        .post(&format!("/account/tokens/{id}/revoke"), &[])
        .await;
    assert_eq!(theirs.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_token_form_sent_twice_makes_one_token_and_bad_input_comes_back() {
    let app = spawn_app().await;
    let visitor = app.login_as("donor@donor.example").await;
    let form = visitor.get("/account/tokens").await;
    let once_key = field_value(&form.body, "once_key");
    let fields = [
        ("name", "Power BI"),
        ("scope", "read"),
        ("expires_on", "2099-01-01"),
        ("once_key", once_key.as_str()),
    ];
    let far = visitor.post("/account/tokens", &fields).await;
    assert_eq!(far.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        far.body.contains("value=\"Power BI\""),
        "the input comes back"
    );
    assert!(text_of(&far.body).contains("from today to a year ahead"));
    // A donor's token does not write.
    let writes = visitor
        .post(
            "/account/tokens",
            &[
                ("name", "Kobo"),
                ("scope", "write"),
                ("expires_on", &field_value(&form.body, "expires_on")),
                ("once_key", &once_key),
            ],
        )
        .await;
    assert_eq!(writes.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(app.count("api_tokens").await, 0, "nothing written");

    let good = [
        ("name", "Power BI"),
        ("scope", "read"),
        ("expires_on", &field_value(&form.body, "expires_on")),
        ("once_key", &once_key),
    ];
    let first = visitor.post("/account/tokens", &good).await;
    assert_eq!(first.status, StatusCode::OK);
    let again = visitor.post("/account/tokens", &good).await;
    assert_eq!(again.status, StatusCode::SEE_OTHER);
    assert!(secret_on(&again.body).is_none());
    assert_eq!(app.count("api_tokens").await, 1);
}

#[tokio::test]
async fn expired_tokens_and_those_of_a_deactivated_user_open_nothing() {
    let app = spawn_app().await;
    let expiring = token_for(&app, "ngo@as.example", "read").await;
    let deactivated = token_for(&app, "ngo@ctod.example", "read").await;
    for secret in [&expiring, &deactivated] {
        assert_eq!(
            call(&app, Some(secret), "/api/v1/activities", &[])
                .await
                .status,
            StatusCode::OK
        );
    }
    sqlx::query(
        "update api_tokens set expires_on = current_date - 1
         where user_id = (select id from users where email = 'ngo@as.example')",
    )
    .execute(&app.pool)
    .await
    .expect("past its last day");
    // Changed beside the app, as another instance would: once heard, the
    // token kept in memory is read again, and is past its last day.
    app.heard_everything().await;
    let answer = call(&app, Some(&expiring), "/api/v1/activities", &[]).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    let admin = app.login_as("admin@cpdd.example").await;
    let user = app.user_id("ngo@ctod.example").await;
    let done = admin
        .post(&format!("/admin/users/{user}/deactivate"), &[])
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER);
    for secret in [&expiring, &deactivated] {
        let answer = call(&app, Some(secret), "/api/v1/activities", &[]).await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
        assert_eq!(problem_code(&answer), "unauthorized");
    }
    // Deactivating ends the tokens for good: activated again, they stay revoked.
    let back = admin
        .post(&format!("/admin/users/{user}/activate"), &[])
        .await;
    assert_eq!(back.status, StatusCode::SEE_OTHER);
    assert_eq!(
        call(&app, Some(&deactivated), "/api/v1/activities", &[])
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    // No token, a malformed one, and a session cookie alone: no way in.
    assert_eq!(
        call(&app, None, "/api/v1/activities", &[]).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        call(
            &app,
            None,
            "/api/v1/activities",
            &[("authorization", "Basic YTpi")]
        )
        .await
        .status,
        StatusCode::UNAUTHORIZED
    );
    let signed_in = app.login_as("secretariat@cpdd.example").await;
    let page = signed_in.get("/api/v1/activities").await;
    assert_eq!(page.status, StatusCode::UNAUTHORIZED);
    // CORS is off: a page elsewhere gets no permission to read an answer.
    let token = token_for(&app, "donor@donor.example", "read").await;
    let asked = call(
        &app,
        Some(&token),
        "/api/v1/studies",
        &[("origin", "https://elsewhere.example")],
    )
    .await;
    assert_eq!(asked.status, StatusCode::OK);
    assert!(asked.headers.get("access-control-allow-origin").is_none());
}

#[tokio::test]
async fn the_api_answers_what_the_owner_may_read_with_the_pages_rounding() {
    let app = spawn_app().await;
    let staff = token_for(&app, "secretariat@cpdd.example", "read").await;
    let donor = token_for(&app, "donor@donor.example", "read").await;

    // The secretariat reads every activity, a page of seven at a time.
    let all = every_page(&app, &staff, "/api/v1/activities", 7).await;
    assert_eq!(all.len() as i64, app.count("activities").await);
    let ids: Vec<i64> = all
        .iter()
        .map(|item| item["id"].as_i64().expect("id"))
        .collect();
    assert!(
        ids.windows(2).all(|pair| pair[0] < pair[1]),
        "each once, in order"
    );
    let exact: i64 = sqlx::query_scalar("select sum(participants)::bigint from activities")
        .fetch_one(&app.pool)
        .await
        .expect("the total");
    let summed: i64 = all
        .iter()
        .map(|item| item["participants"].as_i64().expect("exact"))
        .sum();
    assert_eq!(summed, exact);

    // A donor reads what the pages show them: published work, rounded.
    let read = every_page(&app, &donor, "/api/v1/activities", 50).await;
    let visible: i64 = sqlx::query_scalar(
        "select count(*) from activities a join case_studies c on c.id = a.case_study_id
         where c.status in ('published', 'archived')",
    )
    .fetch_one(&app.pool)
    .await
    .expect("published activities");
    assert_eq!(read.len() as i64, visible);
    for item in &read {
        assert_eq!(item["rounded"], Value::Bool(true));
        let id = item["id"].as_i64().expect("id");
        let rounded: i32 =
            sqlx::query_scalar("select rounded_participants from activities where id = $1")
                .bind(id)
                .fetch_one(&app.pool)
                .await
                .expect("rounded");
        match item["participants"].as_i64() {
            Some(shown) => assert_eq!(shown, i64::from(rounded)),
            None => assert!(rounded < 5, "null only for fewer than five"),
        }
    }
    // The dashboard's figures match the dashboard's page.
    let figures = call(&app, Some(&donor), "/api/v1/dashboard", &[]).await;
    assert_eq!(figures.status, StatusCode::OK);
    let page = app
        .login_as("donor@donor.example")
        .await
        .get("/dashboard")
        .await;
    let activities = figures.body["activities"].as_i64().expect("activities");
    assert!(
        page.body
            .contains(&format!("<dd id=\"figure-activities\">{activities}</dd>"))
    );

    // Filters as the pages', and nonsense refused as a problem.
    let gef: i64 =
        sqlx::query_scalar("select id from projects where title_en like 'GEF Small Grants%'")
            .fetch_one(&app.pool)
            .await
            .expect("GEF SGP");
    let refused = call(
        &app,
        Some(&donor),
        &format!("/api/v1/activities?project={gef}"),
        &[],
    )
    .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(problem_code(&refused), "forbidden");
    for nonsense in [
        "limit=0",
        "limit=501",
        "cursor=x",
        "district=02031",
        "colour=blue",
        "from=2025-02-30",
    ] {
        let answer = call(
            &app,
            Some(&donor),
            &format!("/api/v1/activities?{nonsense}"),
            &[],
        )
        .await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{nonsense}");
        assert_eq!(problem_code(&answer), "invalid_parameter");
    }
    let projects = every_page(&app, &donor, "/api/v1/projects", 10).await;
    assert_eq!(projects.len(), 2, "the donor's two projects, not GEF SGP");
    let pursat = every_page(&app, &donor, "/api/v1/events?province=15", 10).await;
    assert_eq!(pursat.len(), 1);
    let missing = call(&app, Some(&donor), "/api/v1/nothing-here", &[]).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(problem_code(&missing), "not_found");
}

#[tokio::test]
async fn problems_are_told_in_the_owners_language_and_etags_save_a_download() {
    let app = spawn_app().await;
    let token = token_for(&app, "ngo@as.example", "read").await;
    sqlx::query("update users set preferred_language = 'km' where email = 'ngo@as.example'")
        .execute(&app.pool)
        .await
        .expect("Khmer");
    app.heard_everything().await;
    let refused = call(&app, Some(&token), "/api/v1/activities?limit=0", &[]).await;
    assert_eq!(problem_code(&refused), "invalid_parameter");
    assert_eq!(
        refused.body["title"], "ប៉ារ៉ាម៉ែត្រមួយមិនសមហេតុផល",
        "{}",
        refused.body
    );
    let anonymous = call(
        &app,
        None,
        "/api/v1/activities",
        &[("accept-language", "km-KH")],
    )
    .await;
    assert_eq!(anonymous.body["title"], "គ្មានសញ្ញាសម្ងាត់ត្រឹមត្រូវ");

    let first = call(&app, Some(&token), "/api/v1/activities", &[]).await;
    let etag = first
        .headers
        .get("etag")
        .expect("an ETag")
        .to_str()
        .expect("text")
        .to_owned();
    let again = call(
        &app,
        Some(&token),
        "/api/v1/activities",
        &[("if-none-match", &etag)],
    )
    .await;
    assert_eq!(again.status, StatusCode::NOT_MODIFIED);
    assert_eq!(again.body, Value::Null);
    sqlx::query("update activities set youth = youth + 1 where district_code = '0207'")
        .execute(&app.pool)
        .await
        .expect("a change");
    // A change made beside the app (another instance) is heard, then answered.
    app.heard_everything().await;
    let changed = call(
        &app,
        Some(&token),
        "/api/v1/activities",
        &[("if-none-match", &etag)],
    )
    .await;
    assert_eq!(changed.status, StatusCode::OK);
    assert_ne!(
        changed
            .headers
            .get("etag")
            .and_then(|tag| tag.to_str().ok()),
        Some(etag.as_str())
    );
}

#[tokio::test]
async fn a_token_that_sends_too_much_waits_as_retry_after_says() {
    let app = spawn_app_with(Settings {
        api_burst: 3,
        ..Settings::default()
    })
    .await;
    let token = token_for(&app, "donor@donor.example", "read").await;
    let mut statuses = Vec::new();
    for _ in 0..6 {
        statuses.push(call(&app, Some(&token), "/api/v1/studies", &[]).await);
    }
    let limited = statuses
        .iter()
        .find(|answer| answer.status == StatusCode::TOO_MANY_REQUESTS)
        .expect("a 429 within six quick requests");
    assert_eq!(problem_code(limited), "rate_limited");
    let wait: u64 = limited.headers["retry-after"]
        .to_str()
        .expect("text")
        .parse()
        .expect("seconds");
    assert!(wait >= 1);
    // The refusals are in the audit log under the token's owner, as the
    // pages' are: the 429s, and a 403 for a project the donor may not read
    // (asked with a second token, which has a share of its own).
    let gef: i64 =
        sqlx::query_scalar("select id from projects where title_en like 'GEF Small Grants%'")
            .fetch_one(&app.pool)
            .await
            .expect("GEF SGP");
    let second = token_for(&app, "donor@donor.example", "read").await;
    let path = format!("/api/v1/studies?project={gef}");
    let forbidden = call(&app, Some(&second), &path, &[]).await;
    assert_eq!(forbidden.status, StatusCode::FORBIDDEN);
    let limited_count = statuses
        .iter()
        .filter(|answer| answer.status == StatusCode::TOO_MANY_REQUESTS)
        .count();
    let donor = app.user_id("donor@donor.example").await;
    let recorded: Vec<(String, String, i32)> = sqlx::query_as(
        "select kind, route, count from audit_refusals where actor_id = $1 order by kind",
    )
    .bind(donor)
    .fetch_all(&app.pool)
    .await
    .expect("refusals");
    let studies = "/api/v1/studies".to_owned();
    assert_eq!(
        recorded,
        [
            ("forbidden".to_owned(), studies.clone(), 1),
            (
                "rate_limited".to_owned(),
                studies,
                i32::try_from(limited_count).expect("a few")
            ),
        ],
    );
    // Another token has its own share.
    let other = token_for(&app, "ngo@as.example", "read").await;
    assert_eq!(
        call(&app, Some(&other), "/api/v1/studies", &[])
            .await
            .status,
        StatusCode::OK
    );
}

/// The schema of `reference` (`#/components/schemas/…`) in `document`, as a
/// JSON Schema whose references resolve inside the document.
fn schema(document: &Value, reference: &str) -> jsonschema::Validator {
    let schema = serde_json::json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$ref": reference,
        "components": document["components"],
    });
    jsonschema::validator_for(&schema).expect("a valid schema")
}

#[tokio::test]
async fn every_answer_of_every_endpoint_fits_the_published_openapi_document() {
    let app = spawn_app().await;
    let document = call(&app, None, "/api/v1/openapi.json", &[]).await;
    assert_eq!(document.status, StatusCode::OK);
    let doc = document.body;
    assert!(
        doc["openapi"]
            .as_str()
            .is_some_and(|version| version.starts_with("3.1"))
    );
    let paths = doc["paths"].as_object().expect("paths");
    assert!(paths.len() >= 5, "{:?}", paths.keys());
    let problem = schema(&doc, "#/components/schemas/ProblemDetails");
    let people = [
        "admin@cpdd.example",
        "secretariat@cpdd.example",
        "ngo@ctod.example",
        "sna@battambang.example",
        "donor@donor.example",
    ];
    let mut tokens = Vec::new();
    for email in people {
        tokens.push((email, token_for(&app, email, "read").await));
    }
    // Tokens that open nothing: revoked, past their last day, of a user
    // deactivated since, and one never made.
    let revoked = token_for(&app, "ngo@as.example", "read").await;
    let expired = token_for(&app, "ngo@as.example", "read").await;
    let deactivated = token_for(&app, "sna@banan.example", "read").await;
    for (sql, secret) in [
        (
            "update api_tokens set revoked_at = now() where secret_hash = sha256(convert_to($1, 'UTF8'))",
            &revoked,
        ),
        (
            "update api_tokens set expires_on = current_date - 1 where secret_hash = sha256(convert_to($1, 'UTF8'))",
            &expired,
        ),
    ] {
        let changed = sqlx::query(sql)
            .bind(secret)
            .execute(&app.pool)
            .await
            .expect(sql);
        assert_eq!(changed.rows_affected(), 1);
    }
    let admin = app.login_as("admin@cpdd.example").await;
    let banan = app.user_id("sna@banan.example").await;
    let done = admin
        .post(&format!("/admin/users/{banan}/deactivate"), &[])
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER);
    let refused = [revoked, expired, deactivated, "samleng_0000".to_owned()];
    let mut checked = 0;
    for (path, item) in paths {
        let Some(get) = item.get("get") else { continue };
        let reference = get["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
            .as_str()
            .unwrap_or_else(|| panic!("{path}: a 200 schema"));
        let fits = schema(&doc, reference);
        for (email, token) in &tokens {
            for query in ["", "?limit=2", "?province=02", "?limit=0"] {
                let answer = call(&app, Some(token), &format!("{path}{query}"), &[]).await;
                let (validator, what) = if answer.status == StatusCode::OK {
                    (&fits, reference)
                } else {
                    (&problem, "ProblemDetails")
                };
                let errors: Vec<String> = validator
                    .iter_errors(&answer.body)
                    .map(|error| error.to_string())
                    .collect();
                assert!(
                    errors.is_empty(),
                    "{path}{query} as {email} against {what}: {errors:?}"
                );
                let declared = get["responses"].get(answer.status.as_str()).is_some();
                assert!(
                    declared,
                    "{path}{query} as {email}: {} is not in the document",
                    answer.status
                );
                checked += 1;
            }
        }
        let anonymous = call(&app, None, path, &[]).await;
        assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
        assert!(problem.iter_errors(&anonymous.body).next().is_none());
        for token in &refused {
            let answer = call(&app, Some(token), path, &[]).await;
            assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{path}");
            assert_eq!(problem_code(&answer), "unauthorized");
        }
    }
    assert!(checked >= 80, "{checked} answers checked");
}

async fn post(app: &TestApp, token: &str, path: &str, body: impl Into<reqwest::Body>) -> Answer {
    let response = reqwest::Client::new()
        .post(app.url(path))
        .bearer_auth(token)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .expect("the API answers");
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.bytes().await.expect("body");
    let body = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| panic!("{path}: JSON, not {}", String::from_utf8_lossy(&bytes)));
    Answer {
        status,
        headers,
        body,
    }
}

/// A submission as KoboToolbox's REST service posts it: the questions under
/// their groups, and Kobo's own fields beside them.
fn kobo_submission(uuid: &str) -> String {
    serde_json::json!({
        "_id": 8812,
        "_uuid": uuid,
        "formhub/uuid": "5f2d1c0e8a7b4c3d",
        "start": "2025-06-10T08:02:11.000+07:00",
        "end": "2025-06-10T09:40:55.000+07:00",
        "__version__": "vXp3",
        "meta/instanceID": format!("uuid:{uuid}"),
        "_submission_time": "2025-06-10T03:01:02",
        "_attachments": [],
        "activity/kind": "fgd",
        "activity/held_on": "2025-06-10",
        "activity/district": "0203",
        "activity/place": "Pagoda hall",
        "people/citizen_female": "7",
        "people/citizen_male": "5",
        "people/youth": "3",
        "findings/finding_1": "Women said the health centre opens late.",
        "findings/theme_1": "Access to information",
    })
    .to_string()
}

#[tokio::test]
async fn a_kobo_push_made_twice_creates_one_activity() {
    let app = spawn_app().await;
    let token = token_for(&app, "ngo@ctod.example", "write").await;
    let before = app.count("activities").await;
    let uuid = "b4a6c2e0-8f7d-4e2a-9c1b-3d5e7f9a1b2c";
    let listed = |answer: &Answer| -> Vec<i64> {
        answer.body["data"]
            .as_array()
            .map(|data| data.iter().filter_map(|row| row["id"].as_i64()).collect())
            .unwrap_or_default()
    };
    let newest = "/api/v1/activities?district=0203&limit=500";
    let read_before = call(&app, Some(&token), newest, &[]).await;

    let first = post(&app, &token, "/api/v1/kobo", kobo_submission(uuid)).await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.body);
    assert_eq!(first.body["created"], Value::Bool(true));
    let id = first.body["id"].as_i64().expect("the new activity");
    // The list read just before is not answered again: the push shows at once.
    assert!(!listed(&read_before).contains(&id));
    let read_after = call(&app, Some(&token), newest, &[]).await;
    assert!(listed(&read_after).contains(&id), "{}", read_after.body);
    let (participants, female, place): (i32, i32, String) = sqlx::query_as(
        "select participants, participants_female, place from activities where id = $1",
    )
    .bind(id)
    .fetch_one(&app.pool)
    .await
    .expect("the activity");
    assert_eq!(
        (participants, female, place.as_str()),
        (12, 7, "Pagoda hall")
    );
    assert_eq!(
        app.count(&format!("findings where activity_id = {id}"))
            .await,
        1
    );

    // KoboToolbox retries a push it did not hear answered: nothing twice.
    let again = post(&app, &token, "/api/v1/kobo", kobo_submission(uuid)).await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(again.body["created"], Value::Bool(false));
    assert_eq!(again.body["id"].as_i64(), Some(id));
    assert_eq!(app.count("activities").await, before + 1);

    // Two at once, as a retry racing the first: one activity.
    let other = "0c1d2e3f-4a5b-4c6d-8e9f-a0b1c2d3e4f5";
    let (one, two) = tokio::join!(
        post(&app, &token, "/api/v1/kobo", kobo_submission(other)),
        post(&app, &token, "/api/v1/kobo", kobo_submission(other)),
    );
    let mut statuses = [one.status, two.status];
    statuses.sort();
    assert_eq!(statuses, [StatusCode::OK, StatusCode::CREATED]);
    assert_eq!(app.count("activities").await, before + 2);
    assert_eq!(
        app.count("imports where file_name like 'kobotoolbox-%'")
            .await,
        2
    );
}

#[tokio::test]
async fn writes_need_a_write_token_and_bad_records_come_back_as_problems() {
    let app = spawn_app().await;
    let writer = token_for(&app, "ngo@ctod.example", "write").await;
    let reader = token_for(&app, "ngo@ctod.example", "read").await;
    let before = app.count("activities").await;
    let document = call(&app, None, "/api/v1/openapi.json", &[]).await.body;
    let problem = schema(&document, "#/components/schemas/ProblemDetails");
    let pushed = schema(&document, "#/components/schemas/Pushed");

    let record = |district: &str, citizens: i64| {
        serde_json::json!({
            "kind": "interview",
            "held_on": "2025-05-02",
            "district": district,
            "citizen_female": citizens,
            "submission_uuid": format!("api-{district}-{citizens}"),
        })
        .to_string()
    };
    let refusals = [
        (
            reader.as_str(),
            record("0203", 4),
            StatusCode::FORBIDDEN,
            "insufficient_scope",
        ),
        (
            &writer,
            "not json".to_owned(),
            StatusCode::BAD_REQUEST,
            "bad_json",
        ),
        (
            &writer,
            "[1, 2]".to_owned(),
            StatusCode::BAD_REQUEST,
            "bad_json",
        ),
        (
            &writer,
            r#"{"kind": "fgd", "held_on": "2025-05-02", "district": "0203", "colour": "blue"}"#
                .to_owned(),
            StatusCode::BAD_REQUEST,
            "bad_json",
        ),
        (
            &writer,
            "x".repeat(100 * 1024),
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
        ),
        (
            &writer,
            record("0207", 4),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_record",
        ),
        (
            &writer,
            record("0203", -1),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_record",
        ),
    ];
    for (token, body, status, code) in refusals {
        let answer = post(&app, token, "/api/v1/activities", body).await;
        assert_eq!(answer.status, status, "{code}: {}", answer.body);
        assert_eq!(problem_code(&answer), code);
        let errors: Vec<String> = problem
            .iter_errors(&answer.body)
            .map(|e| e.to_string())
            .collect();
        assert!(errors.is_empty(), "{code}: {errors:?}");
    }
    // A finding without its theme: the field named is the one left out.
    let mut unthemed: Value = serde_json::from_str(&record("0203", 6)).expect("JSON");
    unthemed["finding_1"] = Value::from("The road floods each rainy season.");
    let answer = post(&app, &writer, "/api/v1/activities", unthemed.to_string()).await;
    assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        answer.body["errors"][0]["field"], "theme_1",
        "{}",
        answer.body
    );
    let outside = post(&app, &writer, "/api/v1/activities", record("0207", 4)).await;
    assert_eq!(
        outside.body["errors"][0]["field"], "district",
        "{}",
        outside.body
    );
    assert_eq!(app.count("activities").await, before, "nothing written");

    let made = post(&app, &writer, "/api/v1/activities", record("0203", 4)).await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.body);
    assert!(pushed.iter_errors(&made.body).next().is_none());
    let again = post(&app, &writer, "/api/v1/activities", record("0203", 4)).await;
    assert_eq!(again.status, StatusCode::OK);
    assert!(pushed.iter_errors(&again.body).next().is_none());
    assert_eq!(app.count("activities").await, before + 1);
    // The record is one the owner's pages show, with its counts as sent.
    let id = made.body["id"].as_i64().expect("id");
    let listed = every_page(&app, &reader, "/api/v1/activities?district=0203", 100).await;
    let item = listed.iter().find(|item| item["id"] == id).expect("listed");
    assert_eq!(item["female"], 4);
}

#[tokio::test]
async fn another_districts_drafts_stay_out_and_donors_read_public_findings_only() {
    let app = spawn_app().await;
    let as_ngo = token_for(&app, "ngo@as.example", "read").await;
    let ctod = token_for(&app, "ngo@ctod.example", "read").await;
    let donor = token_for(&app, "donor@donor.example", "read").await;
    // Rotonak Mondol (0207) is AS's, and its case study a draft.
    let own = every_page(&app, &as_ngo, "/api/v1/activities?district=0207", 100).await;
    let drafts = app.count("activities where district_code = '0207'").await;
    assert!(drafts > 0);
    assert_eq!(own.len() as i64, drafts);
    assert!(own.iter().all(|item| item["rounded"] == Value::Bool(false)));
    // CTOD asking for them by editing the filter finds none.
    let theirs = every_page(&app, &ctod, "/api/v1/activities?district=0207", 100).await;
    assert!(theirs.is_empty(), "{theirs:?}");
    let cases = every_page(&app, &ctod, "/api/v1/case-studies?district=0207", 100).await;
    assert!(cases.is_empty());

    // One finding of a published case study kept internal: for staff only.
    let internal: i64 = sqlx::query_scalar(
        "update findings set public = false where id = (
             select min(f.id) from findings f join activities a on a.id = f.activity_id
             join case_studies c on c.id = a.case_study_id where c.status = 'published')
         returning id",
    )
    .fetch_one(&app.pool)
    .await
    .expect("an internal finding");
    let read = every_page(&app, &donor, "/api/v1/findings", 100).await;
    assert!(
        read.iter()
            .all(|finding| finding["public"] == Value::Bool(true))
    );
    assert!(read.iter().all(|finding| finding["id"] != internal));
    let staff = token_for(&app, "secretariat@cpdd.example", "read").await;
    let everything = every_page(&app, &staff, "/api/v1/findings", 100).await;
    assert!(everything.iter().any(|finding| finding["id"] == internal));
    assert_eq!(everything.len() as i64, app.count("findings").await);
    // Every report of every action, an internal note kept from the donor.
    let internal_note: i64 = sqlx::query_scalar(
        "update action_updates set internal = true, note = 'Kept inside'
         where id = (select min(id) from action_updates) returning id",
    )
    .fetch_one(&app.pool)
    .await
    .expect("an internal note");
    let reports = every_page(&app, &staff, "/api/v1/action-updates", 100).await;
    assert_eq!(reports.len() as i64, app.count("action_updates").await);
    let to_donor = every_page(&app, &donor, "/api/v1/action-updates", 100).await;
    let kept = to_donor
        .iter()
        .find(|report| report["id"] == internal_note)
        .expect("the report itself is shown");
    assert_eq!(kept["note"], "");
    let endorsed = every_page(&app, &donor, "/api/v1/recommendation-lists", 100).await;
    assert!(!endorsed.is_empty() && !read.is_empty());
    assert!(endorsed.iter().all(|list| list["status"] == "endorsed"));
    assert!(
        endorsed
            .iter()
            .all(|list| list["endorsement"]["fingerprint"]
                .as_str()
                .is_some_and(|f| f.len() == 64)),
        "{endorsed:?}"
    );
}

/// The ids of every item of `path` as `token` reads it, and those `sql` selects.
async fn listed_and_selected(
    app: &TestApp,
    token: &str,
    path: &str,
    sql: &str,
) -> (Vec<i64>, Vec<i64>) {
    let listed = every_page(app, token, path, 100)
        .await
        .iter()
        .map(|item| item["id"].as_i64().expect("id"))
        .collect();
    let selected = sqlx::query_scalar(sql)
        .fetch_all(&app.pool)
        .await
        .expect(sql);
    (listed, selected)
}

#[tokio::test]
async fn each_list_takes_its_pages_own_filters_and_refuses_another_lists() {
    let app = spawn_app().await;
    let staff = token_for(&app, "secretariat@cpdd.example", "read").await;
    let partner: i64 = sqlx::query_scalar(
        "select organization_id from agreement_parties group by 1 order by count(*), 1 limit 1",
    )
    .fetch_one(&app.pool)
    .await
    .expect("a party to an agreement");
    let filtered = [
        (
            "/api/v1/activities?kind=fgd".to_owned(),
            "select id from activities where kind = 'fgd' order by id".to_owned(),
        ),
        (
            "/api/v1/case-studies?status=published".to_owned(),
            "select id from case_studies where status = 'published' order by id".to_owned(),
        ),
        (
            "/api/v1/recommendation-lists?status=endorsed".to_owned(),
            "select id from recommendation_lists where status = 'endorsed' order by id".to_owned(),
        ),
        (
            "/api/v1/events?level=national".to_owned(),
            "select id from events where level = 'national' order by id".to_owned(),
        ),
        (
            "/api/v1/agreements?status=signed".to_owned(),
            "select id from agreements where status = 'signed' order by id".to_owned(),
        ),
        (
            format!("/api/v1/agreements?partner={partner}"),
            format!(
                "select agreement_id from agreement_parties where organization_id = {partner} order by 1"
            ),
        ),
    ];
    for (path, sql) in &filtered {
        let (listed, selected) = listed_and_selected(&app, &staff, path, sql).await;
        assert!(!selected.is_empty(), "{path}: the demo has some");
        assert_eq!(listed, selected, "{path}");
    }
    // Each filter belongs to its own list; a value not among its page's
    // choices, or another list's filter, is a 400.
    for nonsense in [
        "/api/v1/activities?kind=picnic",
        "/api/v1/activities?status=published",
        "/api/v1/case-studies?status=lost",
        "/api/v1/case-studies?level=national",
        "/api/v1/events?level=galactic",
        "/api/v1/events?kind=fgd",
        "/api/v1/agreements?partner=ctod",
        "/api/v1/agreements?status=torn",
        "/api/v1/recommendation-lists?status=maybe",
        "/api/v1/studies?status=published",
    ] {
        let answer = call(&app, Some(&staff), nonsense, &[]).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{nonsense}");
        assert_eq!(problem_code(&answer), "invalid_parameter");
    }
    // The document names each list's own filters.
    let document = call(&app, None, "/api/v1/openapi.json", &[]).await.body;
    let names = |path: &str| -> Vec<String> {
        document["paths"][path]["get"]["parameters"]
            .as_array()
            .expect("parameters")
            .iter()
            .filter_map(|parameter| parameter["name"].as_str().map(str::to_owned))
            .collect()
    };
    assert!(names("/api/v1/events").contains(&"level".to_owned()));
    assert!(!names("/api/v1/activities").contains(&"level".to_owned()));
    assert!(names("/api/v1/agreements").contains(&"partner".to_owned()));
}
