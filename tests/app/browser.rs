//! In a real Chromium: an administrator signs in, creates an NGO user, switches
//! to Khmer, and signs out. Needs Debian's `chromium` and `chromium-driver`.

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};

use fantoccini::key::Key;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;

use crate::helpers::spawn_app;

/// A chromedriver of our own, stopped when the test ends.
pub(crate) struct ChromeDriver {
    process: Child,
    port: u16,
}

impl ChromeDriver {
    pub(crate) fn start() -> ChromeDriver {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free port")
            .port();
        let mut process = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver is not installed: apt-get install chromium chromium-driver");
        let stdout = process.stdout.take().expect("chromedriver output");
        let started = BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
            .any(|line| line.contains("started successfully"));
        assert!(started, "chromedriver did not start");
        ChromeDriver { process, port }
    }

    pub(crate) async fn browser(&self) -> Client {
        self.browser_saving_to(&std::env::temp_dir()).await
    }

    /// A browser whose downloads land in `folder`, without asking.
    async fn browser_saving_to(&self, folder: &std::path::Path) -> Client {
        let mut capabilities = serde_json::Map::new();
        capabilities.insert(
            "goog:chromeOptions".into(),
            serde_json::json!({
                "binary": "/usr/bin/chromium",
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    "--no-first-run", "--window-size=360,800", "--lang=en"
                ],
                "prefs": {
                    "download.default_directory": folder,
                    "download.prompt_for_download": false,
                    "download.directory_upgrade": true
                }
            }),
        );
        ClientBuilder::new(HttpConnector::new())
            .capabilities(capabilities)
            .connect(&format!("http://127.0.0.1:{}", self.port))
            .await
            .expect("a Chromium session")
    }
}

/// The file Chromium finished saving into `folder` whose name ends with
/// `suffix`, once it is there (Chromium writes `.crdownload` first).
async fn saved_file(folder: &std::path::Path, suffix: &str) -> Vec<u8> {
    let finished = || {
        std::fs::read_dir(folder).ok()?.flatten().find_map(|entry| {
            let name = entry.file_name().to_string_lossy().into_owned();
            name.ends_with(suffix).then(|| entry.path())
        })
    };
    let mut poll = tokio::time::interval(std::time::Duration::from_millis(50));
    let path = tokio::time::timeout(std::time::Duration::from_secs(30), async {
        loop {
            poll.tick().await;
            if let Some(path) = finished() {
                return path;
            }
        }
    })
    .await
    .expect("Chromium saved the download");
    std::fs::read(path).expect("the saved file")
}

impl Drop for ChromeDriver {
    fn drop(&mut self) {
        self.process.kill().ok();
        self.process.wait().ok();
    }
}

#[tokio::test]
async fn an_administrator_creates_a_user_switches_to_khmer_and_signs_out() {
    let app = spawn_app().await;
    let driver = ChromeDriver::start();
    let browser = driver.browser().await;
    let css = |selector: &'static str| Locator::Css(selector);

    browser
        .goto(&app.url("/login"))
        .await
        .expect("open sign-in");
    browser
        .find(css("#email"))
        .await
        .expect("e-mail")
        .send_keys("admin@cpdd.example")
        .await
        .expect("type");
    let password = app.password_of("admin@cpdd.example");
    browser
        .find(css("#password"))
        .await
        .expect("password")
        .send_keys(&password)
        .await
        .expect("type");
    browser
        .find(css("main button[type=submit]"))
        .await
        .expect("button")
        .click()
        .await
        .expect("sign in");
    browser
        .wait()
        .for_element(css("nav a[href='/admin/users']"))
        .await
        .expect("signed in");

    browser
        .goto(&app.url("/admin/users/new"))
        .await
        .expect("new user form");
    browser
        .find(css("#email"))
        .await
        .expect("e-mail")
        .send_keys("bopha@ctod.example")
        .await
        .expect("type");
    browser
        .find(css("#display_name"))
        .await
        .expect("name")
        .send_keys("Bopha")
        .await
        .expect("type");
    browser
        .find(css("#role"))
        .await
        .expect("role")
        .select_by_value("ngo")
        .await
        .expect("role");
    let ctod: i64 = sqlx::query_scalar("select id from organizations where acronym = 'CTOD'")
        .fetch_one(&app.pool)
        .await
        .expect("CTOD");
    browser
        .find(css("#organization_id"))
        .await
        .expect("organization")
        .select_by_value(&ctod.to_string())
        .await
        .expect("organization");
    browser
        .find(css("main form button[type=submit]"))
        .await
        .expect("save")
        .click()
        .await
        .expect("save");
    // The answer page is there once its invitation note is: the form had an h1 too.
    browser
        .wait()
        .for_element(css("#invited"))
        .await
        .expect("the invitation is sent");
    let heading = browser.find(css("main h1")).await.expect("heading");
    assert_eq!(heading.text().await.expect("text"), "Invitation sent");
    assert_eq!(
        app.count("users where email = 'bopha@ctod.example' and role = 'ngo'")
            .await,
        1
    );
    browser
        .find(css("main a.button"))
        .await
        .expect("on to the user's page")
        .click()
        .await
        .expect("continue");
    browser
        .wait()
        .for_element(css("#display_name"))
        .await
        .expect("the user's page");

    browser
        .find(css("a[hreflang=km]"))
        .await
        .expect("language switch")
        .click()
        .await
        .expect("switch");
    let heading = browser
        .wait()
        .for_element(css("html[lang=km] h1"))
        .await
        .expect("Khmer page");
    assert_eq!(heading.text().await.expect("text"), "កែសម្រួលអ្នកប្រើប្រាស់");
    let nav = browser
        .find(css("header nav"))
        .await
        .expect("nav")
        .text()
        .await
        .expect("text");
    assert!(
        nav.contains("អ្នកប្រើប្រាស់") && nav.contains("គណនីរបស់ខ្ញុំ"),
        "{nav}"
    );
    let screenshot = browser.screenshot().await.expect("screenshot");
    let target = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/browser");
    std::fs::create_dir_all(&target).expect("target/browser");
    std::fs::write(target.join("admin-user-form-km.png"), screenshot).expect("save the screenshot");

    browser
        .find(css("header button.link"))
        .await
        .expect("sign out")
        .click()
        .await
        .expect("sign out");
    browser
        .wait()
        .for_element(css("form[action='/login']"))
        .await
        .expect("back at sign-in");
    assert!(
        browser
            .current_url()
            .await
            .expect("url")
            .path()
            .ends_with("/login")
    );
    browser.close().await.expect("close");
}

pub(crate) async fn sign_in(browser: &Client, app: &crate::helpers::TestApp, email: &str) {
    browser
        .goto(&app.url("/login"))
        .await
        .expect("open sign-in");
    browser
        .find(Locator::Css("#email"))
        .await
        .expect("e-mail")
        .send_keys(email)
        .await
        .expect("type");
    let password = app.password_of(email);
    browser
        .find(Locator::Css("#password"))
        .await
        .expect("password")
        .send_keys(&password)
        .await
        .expect("type");
    browser
        .find(Locator::Css("main button[type=submit]"))
        .await
        .expect("button")
        .click()
        .await
        .expect("sign in");
    browser
        .wait()
        .for_element(Locator::Css("header nav"))
        .await
        .expect("signed in");
}

async fn sign_out(browser: &Client) {
    browser
        .find(Locator::Css("header button.link"))
        .await
        .expect("sign out")
        .click()
        .await
        .expect("sign out");
    browser
        .wait()
        .for_element(Locator::Css("form[action='/login']"))
        .await
        .expect("signed out");
}

/// Signs in as AS's NGO user and opens a new FGD in Rotonak Mondol (0207).
async fn start_an_fgd(browser: &Client, app: &crate::helpers::TestApp) {
    sign_in(browser, app, "ngo@as.example").await;
    browser
        .goto(&app.url("/activities/new"))
        .await
        .expect("form");
    browser
        .find(Locator::Css("#kind"))
        .await
        .expect("kind")
        .select_by_value("fgd")
        .await
        .expect("kind");
    browser
        .find(Locator::Css("#district_code"))
        .await
        .expect("district")
        .select_by_value("0207")
        .await
        .expect("district");
}

/// Presses Tab until `selector` has the focus, as a keyboard user would.
async fn tab_to(browser: &Client, selector: &str) {
    for _ in 0..200 {
        let there = browser
            .execute(
                "return document.activeElement.matches(arguments[0]);",
                vec![serde_json::json!(selector)],
            )
            .await
            .expect("the focus");
        if there.as_bool() == Some(true) {
            return;
        }
        press(browser, Key::Tab).await;
    }
    panic!("{selector} is not reached with Tab");
}

/// A key pressed where the focus is.
async fn press(browser: &Client, key: Key) {
    browser
        .active_element()
        .await
        .expect("the focus")
        .send_keys(&key.to_string())
        .await
        .expect("a key");
}

/// Tabs to a field and types into it.
async fn type_into(browser: &Client, selector: &str, text: &str) {
    tab_to(browser, selector).await;
    browser
        .active_element()
        .await
        .expect("the focus")
        .send_keys(text)
        .await
        .expect("typing");
}

async fn fill(browser: &Client, selector: &str, text: &str) {
    browser
        .find(Locator::Css(selector))
        .await
        .expect(selector)
        .send_keys(text)
        .await
        .expect(selector);
}

async fn click(browser: &Client, selector: &str) {
    browser
        .find(Locator::Css(selector))
        .await
        .expect(selector)
        .click()
        .await
        .expect(selector);
}

#[tokio::test]
async fn an_fgd_recorded_in_the_field_reaches_a_donor_through_a_published_case_study() {
    let app = spawn_app().await;
    let driver = ChromeDriver::start();
    let browser = driver.browser().await;
    let case_study: i64 =
        sqlx::query_scalar("select id from case_studies where district_code = '0207'")
            .fetch_one(&app.pool)
            .await
            .expect("the draft case study of Rotonak Mondol");

    start_an_fgd(&browser, &app).await;
    browser
        .find(Locator::Css("#case_study_id"))
        .await
        .expect("case study")
        .select_by_value(&case_study.to_string())
        .await
        .expect("case study");
    fill(&browser, "#place", "Community hall").await;
    fill(&browser, "input[name=count_citizen_female]", "11").await;
    fill(&browser, "input[name=count_citizen_male]", "7").await;
    fill(&browser, "input[name=count_cbo_female]", "3").await;
    click(&browser, "main form button[type=submit]").await;
    let total = browser
        .wait()
        .for_element(Locator::Css(".participants tfoot strong"))
        .await
        .expect("saved");
    assert_eq!(total.text().await.expect("total"), "21");
    let percent = browser
        .find(Locator::Css(".percent-female"))
        .await
        .expect("percent")
        .text()
        .await
        .expect("text");
    assert_eq!(percent, "67%");

    fill(
        &browser,
        "#text_en",
        "Youth want meetings after work hours.",
    )
    .await;
    click(&browser, "input[name=themes]").await;
    click(&browser, "input[name=public]").await;
    click(&browser, "form[action$='/findings'] button[type=submit]").await;
    browser
        .wait()
        .for_element(Locator::Css(".finding"))
        .await
        .expect("finding saved");

    let photo = std::env::temp_dir().join(format!("samleng-browser-{}.jpg", std::process::id()));
    std::fs::write(&photo, b"\xFF\xD8\xFF\xE0\x00\x10JFIF\x00\x01 photo").expect("photo");
    fill(&browser, "#file-main", &photo.display().to_string()).await;
    fill(&browser, "#caption-main", "The hall after the meeting").await;
    click(&browser, "form[action$='/attachments'] button[type=submit]").await;
    browser
        .wait()
        .for_element(Locator::Css("#attachments li a"))
        .await
        .expect("photo listed");
    std::fs::remove_file(&photo).ok();
    assert_eq!(
        app.count("attachments where content_type = 'image/jpeg'")
            .await,
        1
    );

    browser
        .goto(&app.url(&format!("/case-studies/{case_study}")))
        .await
        .expect("case study");
    click(&browser, "form[action$='/submit'] button").await;
    browser
        .wait()
        .for_element(Locator::Css(".flash"))
        .await
        .expect("submitted");
    sign_out(&browser).await;

    sign_in(&browser, &app, "secretariat@cpdd.example").await;
    browser
        .goto(&app.url(&format!("/case-studies/{case_study}")))
        .await
        .expect("case study");
    click(&browser, "form[action$='/publish'] button").await;
    browser
        .wait()
        .for_element(Locator::Css(".flash"))
        .await
        .expect("published");
    let status = browser
        .find(Locator::Css("dd.status"))
        .await
        .expect("status");
    assert_eq!(status.text().await.expect("status"), "Published");
    sign_out(&browser).await;

    sign_in(&browser, &app, "donor@donor.example").await;
    browser
        .goto(&app.url("/case-studies?district=0207"))
        .await
        .expect("list");
    click(&browser, "main table a").await;
    let heading = browser
        .wait()
        .for_element(Locator::Css("article h1"))
        .await
        .expect("case study");
    assert!(
        heading
            .text()
            .await
            .expect("title")
            .contains("Rotonak Mondol")
    );
    let page = browser.source().await.expect("page");
    assert!(
        page.contains("Youth want meetings after work hours."),
        "the donor reads the public finding"
    );
    assert!(page.contains("Published"));
    let screenshot = browser.screenshot().await.expect("screenshot");
    let target = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/browser");
    std::fs::create_dir_all(&target).expect("target/browser");
    std::fs::write(target.join("donor-case-study.png"), screenshot).expect("save the screenshot");
    browser.close().await.expect("close");
}

#[tokio::test]
async fn a_district_official_endorses_the_waiting_list_and_the_secretariat_sees_it() {
    let app = spawn_app().await;
    let driver = ChromeDriver::start();
    let browser = driver.browser().await;

    sign_in(&browser, &app, "sna@battambang.example").await;
    let waiting = browser
        .find(Locator::Css("li.waiting a"))
        .await
        .expect("the waiting list on the home page");
    assert!(
        waiting
            .text()
            .await
            .expect("text")
            .contains("Waiting for your endorsement")
    );
    waiting.click().await.expect("open the list");
    browser
        .wait()
        .for_element(Locator::Css("ol.recommendations"))
        .await
        .expect("the list");
    let recommendations = browser
        .find_all(Locator::Css("ol.recommendations > li"))
        .await
        .expect("items");
    assert_eq!(recommendations.len(), 3);
    fill(&browser, "#position", "Deputy Governor").await;
    click(&browser, "form[action$='/endorse'] button").await;
    browser
        .wait()
        .for_element(Locator::Css(".flash"))
        .await
        .expect("endorsed");
    let endorsement = browser
        .find(Locator::Css(".endorsement"))
        .await
        .expect("endorsement")
        .text()
        .await
        .expect("text");
    assert!(
        endorsement.contains("Vannak (Battambang)") && endorsement.contains("Deputy Governor"),
        "{endorsement}"
    );
    let fingerprint = browser
        .find(Locator::Css("code.fingerprint"))
        .await
        .expect("fingerprint")
        .text()
        .await
        .expect("text");
    assert_eq!(fingerprint.len(), 64);
    sign_out(&browser).await;

    sign_in(&browser, &app, "secretariat@cpdd.example").await;
    browser
        .goto(&app.url("/recommendation-lists?district=0203"))
        .await
        .expect("lists");
    let row = browser
        .find(Locator::Css("main table tbody tr"))
        .await
        .expect("the list")
        .text()
        .await
        .expect("text");
    assert!(row.contains("Endorsed"), "{row}");
    click(&browser, "main table tbody a").await;
    let shown = browser
        .wait()
        .for_element(Locator::Css("code.fingerprint"))
        .await
        .expect("fingerprint")
        .text()
        .await
        .expect("text");
    assert_eq!(shown, fingerprint);
    let screenshot = browser.screenshot().await.expect("screenshot");
    let target = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/browser");
    std::fs::create_dir_all(&target).expect("target/browser");
    std::fs::write(target.join("endorsed-list.png"), screenshot).expect("save the screenshot");
    browser.close().await.expect("close");
}

#[tokio::test]
async fn a_district_official_reports_progress_with_a_photo_and_the_plan_shows_it() {
    let app = spawn_app().await;
    sqlx::query(
        "insert into users (email, display_name, role, organization_id, password_hash)
         select 'sna@bavel.example', 'Sophal (Bavel)', 'sna', o.id, u.password_hash
         from organizations o, users u where o.district_code = '0204' and u.email = 'sna@battambang.example'",
    )
    .execute(&app.pool)
    .await
    .expect("an official of Bavel");
    let action: i64 = sqlx::query_scalar(
        "select a.id from actions a join action_plans p on p.id = a.plan_id
         where p.district_code = '0204' and a.description_en like 'Open a complaint desk%'",
    )
    .fetch_one(&app.pool)
    .await
    .expect("an action the Bavel administration owns");
    let driver = ChromeDriver::start();
    let browser = driver.browser().await;
    browser.goto(&app.url("/login")).await.expect("sign-in");
    fill(&browser, "#email", "sna@bavel.example").await;
    fill(
        &browser,
        "#password",
        &app.password_of("sna@battambang.example"),
    )
    .await;
    click(&browser, "main button[type=submit]").await;
    let stale = browser
        .wait()
        .for_element(Locator::Css("ul.owned-actions a"))
        .await
        .expect("the home worklist");
    assert!(stale.text().await.expect("text").contains("complaint desk"));
    browser
        .goto(&app.url(&format!("/actions/{action}")))
        .await
        .expect("the action");
    let progress = browser
        .find(Locator::Css("#progress-new"))
        .await
        .expect("progress");
    progress.clear().await.expect("clear");
    progress.send_keys("75").await.expect("type");
    fill(
        &browser,
        "#note-new",
        "The desk opens on Mondays and Thursdays.",
    )
    .await;
    click(&browser, "#new-report button").await;
    browser
        .wait()
        .for_element(Locator::Css(".flash"))
        .await
        .expect("reported");
    let photo = std::env::temp_dir().join(format!("samleng-desk-{}.jpg", std::process::id()));
    std::fs::write(&photo, b"\xFF\xD8\xFF\xE0\x00\x10JFIF\x00\x01 the desk").expect("photo");
    click(&browser, "ol.updates li:first-child details summary").await;
    let file = browser
        .find(Locator::Css("ol.updates li:first-child input[type=file]"))
        .await
        .expect("file input");
    file.send_keys(&photo.display().to_string())
        .await
        .expect("choose the photo");
    click(
        &browser,
        "ol.updates li:first-child form[action$='/attachments'] button",
    )
    .await;
    browser
        .wait()
        .for_element(Locator::Css("ul.evidence a"))
        .await
        .expect("the photo is listed");
    std::fs::remove_file(&photo).ok();
    click(&browser, ".crumbs a").await;
    let row = browser
        .wait()
        .for_element(Locator::XPath("//tr[td/a[contains(., 'complaint desk')]]"))
        .await
        .expect("the plan lists the action")
        .text()
        .await
        .expect("text");
    assert!(row.contains("75%") && row.contains("In progress"), "{row}");
    let screenshot = browser.screenshot().await.expect("screenshot");
    let target = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/browser");
    std::fs::create_dir_all(&target).expect("target/browser");
    std::fs::write(target.join("action-plan.png"), screenshot).expect("save the screenshot");
    let on_the_action = format!(
        "attachments t join action_updates u on u.id = t.parent_id \
         where t.parent = 'action_update' and u.action_id = {action}"
    );
    assert_eq!(app.count(&on_the_action).await, 1);
    browser.close().await.expect("close");
}

#[tokio::test]
async fn a_donor_filters_the_dashboard_downloads_a_csv_and_sees_the_map() {
    let app = spawn_app().await;
    let shared = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("gazetteer");
    let sources = ["districts.csv", "districts.geojson"].map(|name| samleng::geo::import::Source {
        name: name.into(),
        bytes: std::fs::read(shared.join(name)).expect("shared data"),
    });
    samleng::geo::import::import(&app.pool, &sources)
        .await
        .expect("boundaries");
    let driver = ChromeDriver::start();
    let downloads = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(format!("target/browser/downloads-{}", std::process::id()));
    std::fs::remove_dir_all(&downloads).ok();
    std::fs::create_dir_all(&downloads).expect("a download folder");
    let browser = driver.browser_saving_to(&downloads).await;

    sign_in(&browser, &app, "donor@donor.example").await;
    let national = browser
        .find_all(Locator::Css("svg.districts path"))
        .await
        .expect("the map");
    assert_eq!(
        national.len(),
        210,
        "the donor's home is the dashboard, with the country's map"
    );
    browser
        .find(Locator::Css("#province option[value='02']"))
        .await
        .expect("Battambang")
        .click()
        .await
        .expect("choose Battambang");
    click(&browser, "form.filters button[type=submit]").await;
    // The home page has the same form: wait for the answer to the filter,
    // which marks the province chosen in its HTML.
    browser
        .wait()
        .for_element(Locator::Css("#province option[value='02'][selected]"))
        .await
        .expect("the filtered dashboard");
    browser
        .wait()
        .for_element(Locator::Css("select#district"))
        .await
        .expect("the province's districts to choose from");
    let address = browser.current_url().await.expect("address");
    assert!(
        address
            .query()
            .is_some_and(|query| query.contains("province=02")),
        "the filter is in the address, to share: {address}"
    );
    let districts = browser
        .find_all(Locator::Css("svg.districts path"))
        .await
        .expect("the map");
    assert_eq!(districts.len(), 14, "only Battambang's districts");
    let participants = browser
        .find(Locator::Css("#figure-participants"))
        .await
        .expect("participants")
        .text()
        .await
        .expect("text");
    let href = browser
        .find(Locator::Css(
            "ul.downloads a[href^='/exports/activities.csv']",
        ))
        .await
        .expect("the CSV link")
        .attr("href")
        .await
        .expect("href")
        .expect("an address");
    assert!(href.contains("province=02"), "{href}");
    // The file as a person gets it: a click on the link, saved by Chromium.
    browser
        .find(Locator::Css(
            "ul.downloads a[href^='/exports/activities.csv']",
        ))
        .await
        .expect("the CSV link")
        .click()
        .await
        .expect("download");
    let csv = saved_file(&downloads, ".csv").await;
    let csv = csv
        .strip_prefix(b"\xEF\xBB\xBF")
        .expect("a byte-order mark, for Excel");
    let mut reader = csv::Reader::from_reader(csv);
    let column = reader
        .headers()
        .expect("header")
        .iter()
        .position(|name| name == "participants")
        .expect("participants column");
    let total: i64 = reader
        .records()
        .map(|row| row.expect("row")[column].parse::<i64>().expect("a number"))
        .sum();
    assert_eq!(total.to_string(), participants);

    let target = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/browser");
    std::fs::create_dir_all(&target).expect("target/browser");
    for (selector, name) in [
        ("#chart-participants", "dashboard-chart.png"),
        ("section.map figure", "dashboard-map.png"),
    ] {
        let element = browser.find(Locator::Css(selector)).await.expect(selector);
        let picture = element.screenshot().await.expect("screenshot");
        std::fs::write(target.join(name), picture).expect("save the screenshot");
    }
    // The whole page as a phone shows it, for a person to look at.
    browser
        .set_window_size(360, 3600)
        .await
        .expect("a tall phone window");
    let page = browser.screenshot().await.expect("screenshot");
    std::fs::write(target.join("dashboard-phone.png"), page).expect("save the screenshot");
    let overflow = browser
        .execute(
            "return document.documentElement.scrollWidth > window.innerWidth;",
            Vec::new(),
        )
        .await
        .expect("measure the page");
    assert_eq!(
        overflow,
        serde_json::json!(false),
        "nothing wider than the phone"
    );
    browser.close().await.expect("close");
}

#[tokio::test]
async fn the_study_report_prints_to_a_pdf_with_the_whole_report() {
    let app = spawn_app().await;
    let study: i64 = sqlx::query_scalar("select min(id) from studies")
        .fetch_one(&app.pool)
        .await
        .expect("the demo study");
    let recommendation: String = sqlx::query_scalar(
        "select r.text_en from recommendations r join recommendation_lists l on l.id = r.list_id
         where l.status = 'endorsed' and r.text_en <> '' order by r.position limit 1",
    )
    .fetch_one(&app.pool)
    .await
    .expect("an endorsed recommendation");
    let driver = ChromeDriver::start();
    let browser = driver.browser().await;
    browser
        .goto(&app.url("/login"))
        .await
        .expect("sign-in page");
    browser
        .find(Locator::Css("#email"))
        .await
        .expect("email")
        .send_keys("donor@donor.example")
        .await
        .expect("type");
    browser
        .find(Locator::Css("#password"))
        .await
        .expect("password")
        .send_keys(&app.password_of("donor@donor.example"))
        .await
        .expect("type");
    browser
        .find(Locator::Css("main form button[type=submit]"))
        .await
        .expect("sign in")
        .click()
        .await
        .expect("sign in");
    browser
        .wait()
        .for_element(Locator::Css("header.site nav"))
        .await
        .expect("signed in");
    browser
        .goto(&app.url(&format!("/studies/{study}")))
        .await
        .expect("the study");
    browser
        .find(Locator::Css("a[href$='/print']"))
        .await
        .expect("the printable report")
        .click()
        .await
        .expect("open it");
    browser
        .wait()
        .for_element(Locator::Css("#study-report"))
        .await
        .expect("the printable report");
    let pdf = browser
        .print(fantoccini::wd::PrintConfiguration::default())
        .await
        .expect("printed to PDF");
    assert!(pdf.starts_with(b"%PDF"));
    let target = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/browser");
    std::fs::create_dir_all(&target).expect("target/browser");
    let file = target.join("study-report.pdf");
    std::fs::write(&file, &pdf).expect("save the PDF");
    let text = Command::new("pdftotext")
        .args(["-layout"])
        .arg(&file)
        .arg("-")
        .output()
        .expect("pdftotext is not installed: apt-get install poppler-utils");
    // Words as a reader follows them, whatever the line breaks.
    let text = String::from_utf8_lossy(&text.stdout)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    for expected in [
        "Who took part",
        "District by district",
        "The endorsed recommendations",
        "Summary",
        recommendation.as_str(),
    ] {
        assert!(text.contains(expected), "the PDF has {expected:?}");
    }
    assert!(!text.contains("Sign out"), "no navigation on paper");
    browser.close().await.expect("close");
}

/// Does anything stick out of the phone's width, and are the charts' labels
/// (SVG text, scaled with their drawing) at least 11 px on screen?
async fn phone_fit(browser: &Client) -> (bool, f64) {
    let measured = browser
        .execute(
            "const sizes = [...document.querySelectorAll('svg text')].map(text => {
                 const scale = text.ownerSVGElement.getScreenCTM().a;
                 return parseFloat(getComputedStyle(text).fontSize) * scale;
             });
             return [document.documentElement.scrollWidth > window.innerWidth,
                     sizes.length ? Math.min(...sizes) : 99];",
            Vec::new(),
        )
        .await
        .expect("measure the page");
    (
        measured[0].as_bool().unwrap_or(true),
        measured[1].as_f64().unwrap_or(0.0),
    )
}

#[tokio::test]
async fn on_a_phone_a_finding_is_corrected_and_redacted_and_a_paper_endorsement_recorded() {
    let app = spawn_app().await;
    let (activity, corrected, named): (i64, i64, i64) = sqlx::query_as(
        "select a.id, min(f.id), max(f.id) from activities a join findings f on f.activity_id = a.id
         where a.district_code = '0203' and a.kind = 'fgd' group by a.id having count(*) > 1 limit 1",
    )
    .fetch_one(&app.pool)
    .await
    .expect("an FGD with two findings");
    let list: i64 = sqlx::query_scalar(
        "select id from recommendation_lists where status = 'submitted' limit 1",
    )
    .fetch_one(&app.pool)
    .await
    .expect("a list waiting for endorsement");
    let driver = ChromeDriver::start();
    let browser = driver.browser().await;
    sign_in(&browser, &app, "secretariat@cpdd.example").await;

    // The activity page fits the phone, and the charts' labels stay readable.
    for path in [format!("/activities/{activity}"), "/dashboard".to_owned()] {
        browser.goto(&app.url(&path)).await.expect("the page");
        let (overflows, smallest) = phone_fit(&browser).await;
        assert!(!overflows, "{path}: nothing wider than the phone");
        assert!(smallest >= 11.0, "{path}: chart labels at {smallest:.1} px");
    }
    let plan: i64 = sqlx::query_scalar("select id from action_plans where district_code = '0204'")
        .fetch_one(&app.pool)
        .await
        .expect("Bavel's plan");
    browser
        .goto(&app.url(&format!("/action-plans/{plan}")))
        .await
        .expect("the plan");
    let (overflows, smallest) = phone_fit(&browser).await;
    assert!(
        !overflows && smallest >= 11.0,
        "the plan's timeline: {smallest:.1} px"
    );

    // A finding corrected: its edit form, saved.
    browser
        .goto(&app.url(&format!("/activities/{activity}")))
        .await
        .expect("the activity");
    click(&browser, &format!("a[href='/findings/{corrected}/edit']")).await;
    let text = browser
        .wait()
        .for_element(Locator::Css("#text_en"))
        .await
        .expect("the finding's form");
    text.clear().await.expect("clear");
    text.send_keys("Citizens do not know when the council meets.")
        .await
        .expect("type");
    click(&browser, "main form button[type=submit]").await;
    let finding = browser
        .wait()
        .for_element(Locator::Css(&format!("#finding-{corrected}")))
        .await
        .expect("back on the activity");
    assert!(
        finding
            .text()
            .await
            .expect("text")
            .contains("Citizens do not know when the council meets.")
    );

    // A finding that names someone, redacted with its history.
    click(
        &browser,
        &format!("#finding-{named} details.redact summary"),
    )
    .await;
    fill(&browser, &format!("#reason-{named}"), "Names a respondent").await;
    click(
        &browser,
        &format!("form[action='/findings/{named}/redact'] button"),
    )
    .await;
    let redacted = browser
        .wait()
        .for_element(Locator::XPath(&format!(
            "//*[@id='finding-{named}']//p[contains(., 'Redacted by')]"
        )))
        .await
        .expect("the redaction note")
        .text()
        .await
        .expect("text");
    assert!(redacted.contains("Names a respondent"), "{redacted}");
    let left: i64 = sqlx::query_scalar(&format!(
        "select count(*) from revisions where entity = 'finding' and entity_id = {named} and snapshot like '%text_en\":\"_%'"
    ))
    .fetch_one(&app.pool)
    .await
    .expect("revisions");
    assert_eq!(left, 0, "no revision keeps the text");

    // A paper endorsement, with its scanned letter.
    browser
        .goto(&app.url(&format!("/recommendation-lists/{list}")))
        .await
        .expect("the list");
    click(
        &browser,
        &format!("a[href='/recommendation-lists/{list}/endorse-on-paper']"),
    )
    .await;
    browser
        .wait()
        .for_element(Locator::Css("#given_on"))
        .await
        .expect("the paper form");
    browser
        .execute(
            "document.querySelector('#given_on').value = '2021-12-15';",
            Vec::new(),
        )
        .await
        .expect("the date");
    fill(&browser, "#endorser_name", "Chea Sokha").await;
    fill(&browser, "#endorser_position", "District Governor").await;
    let letter = std::env::temp_dir().join(format!("samleng-letter-{}.pdf", std::process::id()));
    std::fs::write(&letter, b"%PDF-1.7\n the signed letter").expect("the letter");
    browser
        .find(Locator::Css("#letter"))
        .await
        .expect("the file input")
        .send_keys(&letter.display().to_string())
        .await
        .expect("choose the letter");
    click(&browser, "main form button[type=submit]").await;
    let note = browser
        .wait()
        .for_element(Locator::Css("p.endorsement"))
        .await
        .expect("the endorsement")
        .text()
        .await
        .expect("text");
    std::fs::remove_file(&letter).ok();
    assert!(note.contains("Endorsed on paper on 2021-12-15"), "{note}");
    assert!(note.contains("recorded by Dara Secretariat"), "{note}");
    let target = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/browser");
    std::fs::create_dir_all(&target).expect("target/browser");
    let screenshot = browser.screenshot().await.expect("screenshot");
    std::fs::write(target.join("paper-endorsement.png"), screenshot).expect("save the screenshot");
    browser.close().await.expect("close");
}

#[tokio::test]
async fn an_official_follows_the_emails_link_and_endorses_the_list_by_keyboard_alone() {
    let app = spawn_app().await;
    let smtp = crate::notifications::SmtpServer::start().await;
    let list: i64 =
        sqlx::query_scalar("select id from recommendation_lists where district_code = '0201'")
            .fetch_one(&app.pool)
            .await
            .expect("Banan's list");
    let staff = app.login_as("secretariat@cpdd.example").await;
    let sent = staff
        .post(&format!("/recommendation-lists/{list}/submit"), &[])
        .await;
    assert_eq!(sent.status.as_u16(), 303);
    let mailer = smtp.mailer_for(&app.url(""));
    samleng::notifications::outbox::deliver_due(&app.app_pool, &mailer)
        .await
        .expect("delivered");
    let mail = smtp.received();
    let mail = mail
        .iter()
        .find(|mail| mail.to == "sna@banan.example")
        .expect("the official's e-mail");
    assert!(
        mail.subject.contains("wait for your endorsement"),
        "{}",
        mail.subject
    );
    let link = mail
        .text
        .split_whitespace()
        .find(|word| word.starts_with(&app.url("/")))
        .expect("a link in the e-mail")
        .to_owned();

    // Keyboard only, from the e-mail's link to the endorsement.
    let driver = ChromeDriver::start();
    let browser = driver.browser().await;
    browser.goto(&link).await.expect("the e-mail's link");
    browser
        .wait()
        .for_element(Locator::Css("form[action^='/login'] #email"))
        .await
        .expect("asked to sign in first");
    type_into(&browser, "#email", "sna@banan.example").await;
    type_into(&browser, "#password", &app.password_of("sna@banan.example")).await;
    press(&browser, Key::Enter).await;
    browser
        .wait()
        .for_element(Locator::Css("#position"))
        .await
        .expect("the list, ready to endorse");
    assert!(
        browser
            .current_url()
            .await
            .expect("url")
            .as_str()
            .ends_with(&format!("/recommendation-lists/{list}"))
    );
    type_into(&browser, "#position", "District Governor").await;
    tab_to(&browser, "form[action$='/endorse'] button").await;
    press(&browser, Key::Enter).await;
    let endorsement = browser
        .wait()
        .for_element(Locator::Css(".endorsement"))
        .await
        .expect("endorsed")
        .text()
        .await
        .expect("text");
    assert!(endorsement.contains("District Governor"), "{endorsement}");
    browser.close().await.expect("close");
}

#[tokio::test]
async fn anyone_on_a_phone_follows_a_study_to_its_district_reads_it_in_khmer_and_downloads_the_open_data()
 {
    let app = spawn_app().await;
    let driver = ChromeDriver::start();
    let downloads = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(format!(
        "target/browser/public-downloads-{}",
        std::process::id()
    ));
    std::fs::remove_dir_all(&downloads).ok();
    std::fs::create_dir_all(&downloads).expect("a download folder");
    let browser = driver.browser_saving_to(&downloads).await;

    // No account: the public index, then the 2021 study, then Thma Koul.
    browser.goto(&app.url("/public")).await.expect("/public");
    browser
        .find(Locator::LinkText(
            "Civic Engagement at DM level, Battambang province, 2021",
        ))
        .await
        .expect("the 2021 study")
        .click()
        .await
        .expect("open the study");
    browser
        .find(Locator::LinkText("Thma Koul"))
        .await
        .expect("the district table")
        .click()
        .await
        .expect("open the district");
    let heading = browser
        .find(Locator::Css("h1"))
        .await
        .expect("heading")
        .text()
        .await
        .expect("text");
    assert_eq!(heading, "Thma Koul");
    let fingerprint = browser
        .find(Locator::Css("code.fingerprint"))
        .await
        .expect("the endorsement's fingerprint")
        .text()
        .await
        .expect("text");
    assert_eq!(fingerprint.len(), 64);
    assert!(!phone_fit(&browser).await.0, "nothing wider than the phone");

    // The same page in Khmer, through the language link.
    click(&browser, "a[hreflang='km']").await;
    let khmer = browser
        .find(Locator::Css("html"))
        .await
        .expect("page")
        .attr("lang")
        .await
        .expect("lang");
    assert_eq!(khmer.as_deref(), Some("km"));
    assert!(
        browser
            .source()
            .await
            .expect("source")
            .contains("អនុសាសន៍ដែលបានគាំទ្រ")
    );

    // The open data, downloaded by a click on its link as a person does.
    browser
        .goto(&app.url("/public/data?lang=en"))
        .await
        .expect("data");
    click(&browser, "a[href$='/data/recommendations.csv']").await;
    let csv = saved_file(&downloads, ".csv").await;
    let csv = csv
        .strip_prefix(b"\xEF\xBB\xBF")
        .expect("a byte-order mark, for spreadsheets");
    let rows = csv::Reader::from_reader(csv).records().count() as i64;
    let endorsed: i64 = sqlx::query_scalar(
        "select count(*) from recommendations r join recommendation_lists l on l.id = r.list_id
         where l.status = 'endorsed' and l.study_id = (
             select id from studies where public_since is not null order by period_start desc limit 1)",
    )
    .fetch_one(&app.pool)
    .await
    .expect("count");
    assert_eq!(rows, endorsed, "the first study listed is the latest");
    browser.close().await.expect("close");
}

#[tokio::test]
async fn an_ngo_fills_in_the_downloaded_template_uploads_it_and_confirms_the_preview() {
    use crate::imports::{Cell, add_bavel_commune, filled_in, sheets};

    let app = spawn_app().await;
    add_bavel_commune(&app).await;
    let driver = ChromeDriver::start();
    let folder = std::env::temp_dir().join(format!("samleng-import-{}", std::process::id()));
    std::fs::create_dir_all(&folder).expect("download folder");
    let browser = driver.browser_saving_to(&folder).await;
    sign_in(&browser, &app, "ngo@ctod.example").await;
    browser
        .goto(&app.url("/activities"))
        .await
        .expect("activities");
    click(&browser, "main a[href='/activities/import']").await;
    click(&browser, "main a[href='/activities/import/template.xlsx']").await;
    let template = saved_file(&folder, "samleng-import-template.xlsx").await;
    let headings = sheets(&template)[0].1[0].clone();
    let file = folder.join("tally-bavel.xlsx");
    let row = vec![
        ("Kind", Cell::Text("Focus group discussion")),
        ("Date", Cell::Text("2026-11-21")),
        ("District", Cell::Text("Bavel")),
        ("Commune", Cell::Text("020401")),
        ("Citizens · Female", Cell::Number(14.0)),
        ("Citizens · Male", Cell::Number(9.0)),
        ("Finding 1", Cell::Text("ពលរដ្ឋស្នើឲ្យបិទផ្សាយថវិកាឃុំ។")),
        ("Themes of finding 1", Cell::Text("Budget transparency")),
    ];
    std::fs::write(&file, filled_in(&headings, &[row])).expect("the filled-in file");
    let activities = app.count("activities").await;
    browser
        .find(Locator::Css("#import-file"))
        .await
        .expect("file input")
        .send_keys(&file.display().to_string())
        .await
        .expect("choose the file");
    click(&browser, "main form[enctype='multipart/form-data'] button").await;
    let preview = browser
        .wait()
        .for_element(Locator::Css("table.preview"))
        .await
        .expect("the preview")
        .text()
        .await
        .expect("text");
    assert!(
        preview.contains("Bavel") && preview.contains("Ampil Pram Daeum"),
        "{preview}"
    );
    assert_eq!(
        app.count("activities").await,
        activities,
        "nothing saved yet"
    );
    browser
        .set_window_size(360, 1600)
        .await
        .expect("a phone window");
    let (wide, _) = phone_fit(&browser).await;
    assert!(
        !wide,
        "the preview fits a phone: its table scrolls inside the page"
    );
    click(&browser, "main form[action$='/confirm'] button").await;
    let flash = browser
        .wait()
        .for_element(Locator::Css(".flash"))
        .await
        .expect("confirmed")
        .text()
        .await
        .expect("text");
    assert!(flash.contains("Activities created: 1"), "{flash}");
    assert_eq!(app.count("activities").await, activities + 1);
    // The same page in Khmer, through the header's language link.
    click(&browser, "header a[hreflang=km]").await;
    let khmer = browser
        .wait()
        .for_element(Locator::Css("html[lang=km] main"))
        .await
        .expect("the page in Khmer")
        .text()
        .await
        .expect("text");
    assert!(
        khmer.contains("បាននាំចូលនៅ") && khmer.contains("បវេល"),
        "{khmer}"
    );
    let screenshot = browser.screenshot().await.expect("screenshot");
    let target = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/browser");
    std::fs::create_dir_all(&target).expect("target/browser");
    std::fs::write(target.join("import-done.png"), screenshot).expect("save the screenshot");
    std::fs::remove_dir_all(&folder).ok();
    browser.close().await.expect("close");
}

#[tokio::test]
async fn a_double_click_on_save_records_one_activity() {
    use fantoccini::actions::{InputSource as _, MOUSE_BUTTON_LEFT, MouseActions, PointerAction};
    let app = spawn_app().await;
    let driver = ChromeDriver::start();
    let browser = driver.browser().await;
    let count = async || -> i64 {
        sqlx::query_scalar("select count(*) from activities")
            .fetch_one(&app.pool)
            .await
            .expect("count")
    };
    let before = count().await;
    start_an_fgd(&browser, &app).await;
    fill(&browser, "input[name=count_citizen_female]", "11").await;
    fill(&browser, "input[name=count_citizen_male]", "7").await;
    let save = browser
        .find(Locator::Css("main form button[type=submit]"))
        .await
        .expect("Save");
    // Two clicks in one gesture, as an impatient thumb on a slow phone gives them.
    let double_click = MouseActions::new("mouse".into())
        .then(PointerAction::MoveToElement {
            element: save,
            duration: None,
            x: 0.0,
            y: 0.0,
        })
        .then(PointerAction::Down {
            button: MOUSE_BUTTON_LEFT,
        })
        .then(PointerAction::Up {
            button: MOUSE_BUTTON_LEFT,
        })
        .then(PointerAction::Down {
            button: MOUSE_BUTTON_LEFT,
        })
        .then(PointerAction::Up {
            button: MOUSE_BUTTON_LEFT,
        });
    browser
        .perform_actions(double_click)
        .await
        .expect("double click");
    // The page shown answers the last request sent, which waited for any
    // earlier one with the same key to commit.
    browser
        .wait()
        .for_element(Locator::Css(".participants tfoot strong"))
        .await
        .expect("the activity's page");
    assert_eq!(count().await, before + 1, "one activity");
    browser.close().await.expect("close");
}

/// The counts form adds up as people type; the server draws the same totals
/// when it sends the form back, and stays the judge of the counts.
#[tokio::test]
async fn the_counts_form_shows_a_running_total_as_people_type() {
    let app = spawn_app().await;
    let driver = ChromeDriver::start();
    let browser = driver.browser().await;
    sign_in(&browser, &app, "ngo@ctod.example").await;
    browser
        .goto(&app.url("/activities/new"))
        .await
        .expect("the form");
    let total = async |sex: &str| {
        browser
            .find(Locator::Css(&format!("output[data-sex='{sex}']")))
            .await
            .expect("a total")
            .text()
            .await
            .expect("text")
    };
    assert_eq!(total("all").await, "0");
    fill(&browser, "input[name='count_citizen_female']", "3").await;
    fill(&browser, "input[name='count_citizen_male']", "4").await;
    fill(&browser, "input[name='count_cbo_female']", "2").await;
    assert_eq!(total("female").await, "5");
    assert_eq!(total("male").await, "4");
    assert_eq!(total("all").await, "9");
    // A form sent back draws the totals of what was typed; a cell that is no
    // count adds nothing and is named.
    let ngo = app.login_as("ngo@ctod.example").await;
    let refused = ngo
        .post(
            "/activities",
            &[
                ("kind", "fgd"),
                ("held_on", "not a date"),
                ("district_code", "0203"),
                ("count_citizen_female", "3"),
                ("count_citizen_male", "4"),
                ("count_cbo_female", "2"),
                ("count_cbo_male", "x"),
            ],
        )
        .await;
    assert_eq!(refused.status.as_u16(), 422);
    assert!(
        refused
            .body
            .contains("<output data-sex=\"all\" aria-live=\"polite\">9</output>")
    );
    browser.close().await.expect("close");
}

#[tokio::test]
async fn on_a_phone_the_secretariat_records_the_pursat_mou_meeting_and_anyone_reads_it_as_news() {
    let app = spawn_app().await;
    let ids = |sql: &'static str| {
        let pool = app.pool.clone();
        async move {
            sqlx::query_scalar::<_, i64>(sql)
                .fetch_one(&pool)
                .await
                .unwrap_or_else(|error| panic!("{sql}: {error}"))
                .to_string()
        }
    };
    let cpdd = ids("select id from organizations where acronym = 'CPDD'").await;
    let pdaff = ids("select id from organizations where name_en like '%Pursat%Agriculture%'").await;
    let driver = ChromeDriver::start();
    let browser = driver.browser().await;
    sign_in(&browser, &app, "secretariat@cpdd.example").await;

    // The meeting of 4 July 2025, typed on the phone: 13 people, 5 of them women.
    browser
        .goto(&app.url("/events/new"))
        .await
        .expect("the form");
    fill(&browser, "#title_en", "MoU signed with the Pursat PDAFF").await;
    browser
        .find(Locator::Css("#kind"))
        .await
        .expect("kind")
        .select_by_value("signing")
        .await
        .expect("kind");
    // A date picker's typing depends on the locale; set the day as it would.
    browser
        .execute(
            "document.querySelector('#starts_on').value = '2025-07-04';",
            Vec::new(),
        )
        .await
        .expect("the day");
    click(&browser, "input[name=level][value=provincial]").await;
    browser
        .find(Locator::Css("#province_code"))
        .await
        .expect("province")
        .select_by_value("15")
        .await
        .expect("Pursat");
    fill(&browser, "#venue", "Pursat PDAFF meeting room").await;
    browser
        .find(Locator::Css("#organizer"))
        .await
        .expect("organizer")
        .select_by_value(&cpdd)
        .await
        .expect("CPDD");
    click(&browser, &format!("input[name=partners][value='{pdaff}']")).await;
    let counts = browser
        .find_all(Locator::Css("input[name=counts]"))
        .await
        .expect("the counts grid");
    for (cell, count) in [(0, "3"), (1, "6"), (4, "2"), (5, "2")] {
        counts[cell].send_keys(count).await.expect("a count");
    }
    let everyone = browser
        .find(Locator::Css("output[data-sex=all]"))
        .await
        .expect("the running total")
        .text()
        .await
        .expect("text");
    assert_eq!(everyone.trim(), "13");
    fill(
        &browser,
        "#summary_en",
        "CPDD and the Pursat PDAFF signed an MoU on community forestry.",
    )
    .await;
    let (overflows, _) = phone_fit(&browser).await;
    assert!(!overflows, "the event form fits the phone");
    click(&browser, "form[action='/events'] button[type=submit]").await;
    let facts = browser
        .wait()
        .for_element(Locator::Css("main dl"))
        .await
        .expect("the event's page")
        .text()
        .await
        .expect("text");
    assert!(facts.contains("Pursat"), "{facts}");
    let page = browser.find(Locator::Css("main")).await.expect("main");
    assert!(
        page.text().await.expect("text").contains("13"),
        "13 took part"
    );
    let event_url = browser.current_url().await.expect("the URL");

    // The signed MoU, attached from the phone.
    let document = std::env::temp_dir().join(format!("samleng-mou-{}.pdf", std::process::id()));
    std::fs::write(&document, b"%PDF-1.4\n the signed MoU").expect("the PDF");
    browser
        .find(Locator::Css("#file-event"))
        .await
        .expect("file input")
        .send_keys(&document.display().to_string())
        .await
        .expect("choose the PDF");
    fill(&browser, "#caption-event", "Signed MoU").await;
    click(&browser, "form[action$='/attachments'] button").await;
    let listed = browser
        .wait()
        .for_element(Locator::Css("ul.attachments li"))
        .await
        .expect("the document is listed")
        .text()
        .await
        .expect("text");
    assert!(listed.contains("Signed MoU"), "{listed}");
    std::fs::remove_file(&document).ok();

    // Published as news.
    click(&browser, "a[href$='/news']").await;
    browser
        .wait()
        .for_element(Locator::Css("#headline_en"))
        .await
        .expect("the news form");
    // The headline starts as the event's title, and is kept.
    let headline = browser
        .find(Locator::Css("#headline_en"))
        .await
        .expect("headline")
        .prop("value")
        .await
        .expect("its value");
    assert_eq!(
        headline.as_deref(),
        Some("MoU signed with the Pursat PDAFF")
    );
    browser
        .find(Locator::Css("#body_en"))
        .await
        .expect("body")
        .clear()
        .await
        .expect("cleared");
    fill(
        &browser,
        "#body_en",
        "On 4 July 2025 CPDD and the Pursat Provincial Department of Agriculture, Forestry and Fisheries signed an MoU.",
    )
    .await;
    click(&browser, "button[name=state][value=published]").await;
    browser
        .wait()
        .for_element(Locator::Css(".flash"))
        .await
        .expect("published");
    assert_eq!(
        browser.current_url().await.expect("the URL"),
        event_url,
        "back on the event"
    );
    sign_out(&browser).await;

    // Anyone, on the same phone, finds it among the news and reads it.
    browser
        .goto(&app.url("/public/news"))
        .await
        .expect("the news");
    click(&browser, "article.news h2 a").await;
    let item = browser
        .wait()
        .for_element(Locator::Css("main h1"))
        .await
        .expect("the item")
        .text()
        .await
        .expect("text");
    assert_eq!(item, "MoU signed with the Pursat PDAFF");
    let (overflows, _) = phone_fit(&browser).await;
    assert!(!overflows, "the news item fits the phone");
    let shown = browser
        .find(Locator::Css("main"))
        .await
        .expect("main")
        .text()
        .await
        .expect("text");
    let rounded: i32 = sqlx::query_scalar(
        "select rounded_participants from events where title_en = 'MoU signed with the Pursat PDAFF'",
    )
    .fetch_one(&app.pool)
    .await
    .expect("the event's public total");
    assert!(shown.contains("4 July 2025"), "{shown}");
    assert!(shown.contains("Pursat PDAFF meeting room"), "{shown}");
    assert!(
        shown.contains(&format!("{rounded} took part")),
        "{rounded} in {shown}"
    );
    assert!(!shown.contains("Signed MoU"), "the document is not public");

    // A feed reader follows the page's Atom link.
    let feed = browser
        .find(Locator::Css(
            "link[rel=alternate][type='application/atom+xml']",
        ))
        .await
        .expect("the feed's link")
        .attr("href")
        .await
        .expect("href")
        .expect("an address");
    let atom = app.visitor().get(&feed).await;
    assert!(
        atom.body
            .contains("<title>MoU signed with the Pursat PDAFF</title>"),
        "{}",
        atom.body
    );
    browser.close().await.expect("close");
}
