//! Endorsements given on signed paper: the secretariat records the day, the
//! endorser and the scanned letter (required); the list is frozen and
//! fingerprinted; every page says it was given on paper and who recorded it;
//! the letter stays. Lists also take attachments of their own.

use reqwest::StatusCode;
use reqwest::multipart::{Form, Part};
use sha2::{Digest, Sha256};

use crate::helpers::{TestApp, Visitor, spawn_app};

const STAFF: &str = "secretariat@cpdd.example";
const PDF: &[u8] = b"%PDF-1.7\n the signed letter";

async fn scalar(app: &TestApp, sql: &str) -> i64 {
    sqlx::query_scalar::<_, i64>(sql)
        .fetch_one(&app.pool)
        .await
        .expect(sql)
}

/// Sends the paper endorsement form as a browser does (multipart).
async fn record(
    app: &TestApp,
    visitor: &Visitor,
    list: i64,
    fields: &[(&str, &str)],
    letter: Option<&[u8]>,
) -> (StatusCode, String) {
    let mut form = Form::new().text("csrf_token", visitor.csrf_token().await);
    for (name, value) in fields {
        form = form.text(name.to_string(), value.to_string());
    }
    let file = Part::bytes(letter.unwrap_or_default().to_vec()).file_name("letter.pdf");
    form = form.part("file", file);
    let response = visitor
        .client
        .post(app.url(&format!("/recommendation-lists/{list}/endorse-on-paper")))
        .multipart(form)
        .send()
        .await
        .expect("the form");
    let status = response.status();
    (status, response.text().await.expect("body"))
}

const FIELDS: [(&str, &str); 3] = [
    ("given_on", "2021-12-15"),
    ("endorser_name", "Chea Sokha"),
    ("endorser_position", "District Governor"),
];

#[tokio::test]
async fn the_secretariat_records_a_paper_endorsement_with_its_signed_letter() {
    let app = spawn_app().await;
    let list = scalar(
        &app,
        "select id from recommendation_lists where status = 'submitted' order by id limit 1",
    )
    .await;
    let staff = app.login_as(STAFF).await;
    let page = staff.get(&format!("/recommendation-lists/{list}")).await;
    assert!(page.body.contains(&format!(
        "href=\"/recommendation-lists/{list}/endorse-on-paper\""
    )));
    assert_eq!(
        staff
            .get(&format!("/recommendation-lists/{list}/endorse-on-paper"))
            .await
            .status,
        StatusCode::OK
    );
    let counts = async || {
        (
            scalar(&app, "select count(*) from endorsements").await,
            scalar(&app, "select count(*) from attachments").await,
        )
    };
    let before = counts().await;

    // Refused, the input kept, nothing written.
    let (status, body) = record(&app, &staff, list, &FIELDS, None).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body.contains("Attach the scanned signed letter"));
    assert!(body.contains("value=\"Chea Sokha\"") && body.contains("value=\"2021-12-15\""));
    let tomorrow = (samleng::format::today() + time::Duration::days(1)).to_string();
    let future = [("given_on", tomorrow.as_str()), FIELDS[1], FIELDS[2]];
    let (status, body) = record(&app, &staff, list, &future, Some(PDF)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body.contains("The date cannot be in the future"));
    let (status, body) = record(&app, &staff, list, &FIELDS, Some(b"GIF89a not a letter")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body.contains(
        "Only JPEG, PNG and WebP photos, PDF documents and Excel workbooks (.xlsx) without macros"
    ));
    let (status, _) = record(&app, &staff, list, &[FIELDS[0], FIELDS[2]], Some(PDF)).await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "the endorser's name is required"
    );
    assert_eq!(counts().await, before);

    // Only the secretariat records it, not the district's officials or NGOs.
    for person in [
        "sna@battambang.example",
        "ngo@ctod.example",
        "donor@donor.example",
    ] {
        let visitor = app.login_as(person).await;
        let (status, _) = record(&app, &visitor, list, &FIELDS, Some(PDF)).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{person}");
    }
    assert_eq!(counts().await, before);

    let (status, body) = record(&app, &staff, list, &FIELDS, Some(PDF)).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    assert_eq!(
        scalar(&app, &format!("select count(*) from recommendation_lists where id = {list} and status = 'endorsed'")).await,
        1
    );
    let (status, _) = record(&app, &staff, list, &FIELDS, Some(PDF)).await;
    assert_eq!(
        status,
        StatusCode::CONFLICT,
        "the form sent twice endorses once"
    );
    let letter = scalar(&app, &format!("select letter_attachment_id from endorsements where list_id = {list} and given_on = '2021-12-15'")).await;

    // Every reader sees that it was given on paper and who recorded it.
    let donor = app.login_as("donor@donor.example").await;
    let page = donor.get(&format!("/recommendation-lists/{list}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains("Endorsed on paper on 2021-12-15"),
        "{}",
        page.body
    );
    assert!(page.body.contains("recorded by Dara Secretariat"));
    assert!(page.body.contains("Chea Sokha, District Governor"));
    assert_eq!(
        donor.get_bytes(&format!("/attachments/{letter}")).await,
        PDF,
        "the letter, for everyone who reads the list"
    );
    let item = scalar(
        &app,
        &format!("select min(id) from recommendations where list_id = {list}"),
    )
    .await;
    let chain = donor.get(&format!("/recommendations/{item}")).await;
    assert!(chain.body.contains("Endorsed on paper on 2021-12-15"));
    let study = scalar(
        &app,
        &format!("select study_id from recommendation_lists where id = {list}"),
    )
    .await;
    assert!(
        staff
            .get(&format!("/studies/{study}"))
            .await
            .body
            .contains("(on paper)")
    );

    // Frozen and fingerprinted like an online endorsement.
    let snapshot = donor
        .get_bytes(&format!("/recommendation-lists/{list}/snapshot"))
        .await;
    let digest: String = Sha256::digest(&snapshot)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert!(
        page.body.contains(&digest),
        "the page shows the snapshot's SHA-256"
    );
    let item_edit = format!("/recommendation-lists/{list}/recommendations/{item}");
    assert_eq!(
        staff
            .post(&item_edit, &[("text_en", "changed"), ("version", "1")])
            .await
            .status,
        StatusCode::CONFLICT
    );

    // The letter is the proof: it is neither withdrawn nor deleted.
    for step in ["withdraw", "delete"] {
        let answer = staff
            .post(&format!("/attachments/{letter}/{step}"), &[])
            .await;
        assert_eq!(answer.status, StatusCode::CONFLICT, "{step}");
    }
    assert_eq!(
        scalar(
            &app,
            &format!("select count(*) from attachments where id = {letter} and public")
        )
        .await,
        1
    );
}

#[tokio::test]
async fn recommendation_lists_take_minutes_and_letters() {
    let app = spawn_app().await;
    let list = scalar(
        &app,
        "select id from recommendation_lists where district_code = '0203' order by id limit 1",
    )
    .await;
    let path = format!("/recommendation-lists/{list}/attachments");
    let upload = async |visitor: &Visitor| {
        let form = Form::new()
            .text("csrf_token", visitor.csrf_token().await)
            .text("caption", "Minutes of the joint consultation")
            .part("file", Part::bytes(PDF.to_vec()).file_name("minutes.pdf"));
        visitor
            .client
            .post(app.url(&path))
            .multipart(form)
            .send()
            .await
            .expect("upload")
            .status()
    };
    assert_eq!(
        upload(&app.login_as("ngo@as.example").await).await,
        StatusCode::FORBIDDEN,
        "another district's NGO"
    );
    assert_eq!(
        upload(&app.login_as("donor@donor.example").await).await,
        StatusCode::FORBIDDEN
    );
    let staff = app.login_as(STAFF).await;
    assert_eq!(upload(&staff).await, StatusCode::SEE_OTHER);
    let page = staff.get(&format!("/recommendation-lists/{list}")).await;
    assert!(page.body.contains("Minutes of the joint consultation"));
    assert_eq!(
        scalar(&app, &format!("select count(*) from audit_events where action = 'attachment_added' and summary like 'recommendation_list {list} %'")).await,
        1
    );
}

#[tokio::test]
async fn a_reopened_version_is_linked_to_the_consultation_that_produced_it() {
    let app = spawn_app().await;
    let staff = app.login_as(STAFF).await;
    let endorsed = scalar(
        &app,
        "select id from recommendation_lists where district_code = '0204' order by id limit 1",
    )
    .await;
    let reopened = staff
        .post(
            &format!("/recommendation-lists/{endorsed}/reopen"),
            &[("comment", "The commune chiefs met again in March")],
        )
        .await;
    assert_eq!(reopened.status, StatusCode::SEE_OTHER);
    let list = scalar(
        &app,
        &format!("select id from recommendation_lists where previous_id = {endorsed}"),
    )
    .await;
    let own = scalar(&app, &format!("select a.id from activities a join recommendation_lists l on l.district_code = a.district_code where l.id = {list} and a.kind = 'joint_consultation' order by a.held_on desc limit 1")).await;
    let elsewhere = scalar(&app, &format!("select a.id from activities a join recommendation_lists l on l.district_code <> a.district_code where l.id = {list} and a.kind = 'joint_consultation' limit 1")).await;
    let path = format!("/recommendation-lists/{list}/consultation");
    let linked = async || {
        sqlx::query_scalar::<_, Option<i64>>(&format!(
            "select consultation_id from recommendation_lists where id = {list}"
        ))
        .fetch_one(&app.pool)
        .await
        .expect("the list")
    };
    let version = async || {
        sqlx::query_scalar::<_, i32>(&format!(
            "select version from recommendation_lists where id = {list}"
        ))
        .fetch_one(&app.pool)
        .await
        .expect("the list")
        .to_string()
    };
    let page = staff.get(&format!("/recommendation-lists/{list}")).await;
    assert!(
        page.body.contains("The commune chiefs met again in March"),
        "the reason shows on the new version"
    );
    assert!(page.body.contains(&format!("action=\"{path}\"")));
    // A form drawn before a change is refused with the list as it is now.
    let stale = staff
        .post(&path, &[("consultation_id", ""), ("version", "0")])
        .await;
    assert_eq!(stale.status, StatusCode::CONFLICT);
    assert!(stale.body.contains("id=\"conflict\""));
    assert_eq!(
        staff
            .post(
                &path,
                &[("consultation_id", ""), ("version", &version().await)]
            )
            .await
            .status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(linked().await, None);
    let refused = staff
        .post(
            &path,
            &[
                ("consultation_id", &elsewhere.to_string()),
                ("version", &version().await),
            ],
        )
        .await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "another district's consultation"
    );
    assert_eq!(linked().await, None);
    assert_eq!(
        staff
            .post(
                &path,
                &[
                    ("consultation_id", &own.to_string()),
                    ("version", &version().await),
                ],
            )
            .await
            .status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(linked().await, Some(own));
    let page = staff.get(&format!("/recommendation-lists/{list}")).await;
    assert!(
        page.body
            .contains(&format!("<a href=\"/activities/{own}\">"))
    );
    assert!(
        page.body
            .contains(&format!("<option value=\"{own}\" selected>"))
    );
    let frozen = staff
        .post(
            &format!("/recommendation-lists/{endorsed}/consultation"),
            &[("consultation_id", "")],
        )
        .await;
    assert_eq!(
        frozen.status,
        StatusCode::CONFLICT,
        "an endorsed version stays as it was"
    );
    let ngo = app.login_as("ngo@as.example").await;
    assert_eq!(
        ngo.post(&path, &[("consultation_id", "")]).await.status,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn the_endorsed_page_shows_what_was_endorsed_even_after_a_theme_is_renamed() {
    let app = spawn_app().await;
    let (list, theme, name): (i64, i64, String) = sqlx::query_as(
        "select l.id, t.id, t.name_en from recommendation_lists l join recommendations r on r.list_id = l.id
         join themes t on t.id = r.theme_id where l.status = 'endorsed' order by r.position limit 1",
    )
    .fetch_one(&app.pool)
    .await
    .expect("an endorsed recommendation with a theme");
    let staff = app.login_as(STAFF).await;
    let renamed = staff
        .post(
            &format!("/admin/themes/{theme}"),
            &[
                ("name_en", "Renamed later"),
                ("name_km", "ប្តូរឈ្មោះ"),
                ("version", "1"),
            ],
        )
        .await;
    assert_eq!(renamed.status, StatusCode::SEE_OTHER, "{}", renamed.body);
    let page = app
        .login_as("donor@donor.example")
        .await
        .get(&format!("/recommendation-lists/{list}"))
        .await;
    assert!(page.body.contains(&name), "the theme as endorsed");
    assert!(!page.body.contains("Renamed later"));
    let print = staff
        .get(&format!("/recommendation-lists/{list}/print"))
        .await;
    assert!(print.body.contains(&name) && !print.body.contains("Renamed later"));
    let draft = scalar(&app, &format!("select l.id from recommendation_lists l join recommendations r on r.list_id = l.id where l.status in ('draft', 'returned', 'submitted') and r.theme_id = {theme} limit 1")).await;
    assert!(
        staff
            .get(&format!("/recommendation-lists/{draft}"))
            .await
            .body
            .contains("Renamed later"),
        "a list being written shows the theme as it is now"
    );
}
