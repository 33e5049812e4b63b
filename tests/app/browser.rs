//! In a real Chromium: an administrator signs in, creates an NGO user, switches
//! to Khmer, and signs out. Needs Debian's `chromium` and `chromium-driver`.

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};

use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;

use crate::helpers::spawn_app;

/// A chromedriver of our own, stopped when the test ends.
struct ChromeDriver {
    process: Child,
    port: u16,
}

impl ChromeDriver {
    fn start() -> ChromeDriver {
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

    async fn browser(&self) -> Client {
        let mut capabilities = serde_json::Map::new();
        capabilities.insert(
            "goog:chromeOptions".into(),
            serde_json::json!({
                "binary": "/usr/bin/chromium",
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    "--no-first-run", "--window-size=360,800", "--lang=en"
                ]
            }),
        );
        ClientBuilder::new(HttpConnector::new())
            .capabilities(capabilities)
            .connect(&format!("http://127.0.0.1:{}", self.port))
            .await
            .expect("a Chromium session")
    }
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
    let flash = browser
        .wait()
        .for_element(css(".flash"))
        .await
        .expect("confirmation");
    assert!(flash.text().await.expect("text").contains("User created"));
    assert_eq!(
        app.count("users where email = 'bopha@ctod.example' and role = 'ngo'")
            .await,
        1
    );

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
