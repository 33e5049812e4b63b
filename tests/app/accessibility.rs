//! WCAG 2.2 AA in a real Chromium: every page each role reaches (one of each
//! kind, found by following the links from its home), in English and in
//! Khmer, at 360 and 1280 px wide, checked by axe-core (installed from npm by
//! `scripts/test`): no violation. On the Khmer pages, no Khmer text falls back
//! to boxes: this machine has no Khmer system font, so only the shipped one
//! can draw it. At 360 px, no page is wider than the phone.

use std::collections::{BTreeSet, VecDeque};

use fantoccini::Client;

use crate::browser::{ChromeDriver, sign_in};
use crate::helpers::{TestApp, spawn_app};

/// The most kinds of page followed per role: enough for every kind its
/// navigation and records lead to.
const MOST_PAGES: usize = 60;

/// The checker's source, to inject into each page.
fn axe_source() -> String {
    let path = std::env::var("SAMLENG_TEST_AXE")
        .expect("SAMLENG_TEST_AXE: run the tests with scripts/test, which installs axe-core");
    std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{path}: {error}"))
}

/// The kind of a page: its path with numbers and codes made placeholders, so
/// that one study, one district, one activity… stands for all.
fn kind_of(path: &str) -> String {
    path.split('?')
        .next()
        .unwrap_or_default()
        .split('/')
        .map(|part| {
            if !part.is_empty() && part.chars().all(|c| c.is_ascii_digit()) {
                "{n}"
            } else {
                part
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// Links not to follow: files, signing out, the language switch.
fn is_page(path: &str) -> bool {
    let files = [
        ".csv", ".xlsx", ".json", ".pdf", ".geojson", ".svg", ".png", ".xml", ".atom",
    ];
    let bare = path.split('?').next().unwrap_or_default();
    !(path.contains("lang=")
        || bare.starts_with("/static/")
        || bare.starts_with("/attachments/")
        || bare.starts_with("/exports/")
        || bare.starts_with("/logout")
        || bare.ends_with("/snapshot")
        || files.iter().any(|suffix| bare.ends_with(suffix)))
}

/// The strings of a JSON array (none for anything else).
fn strings(value: &serde_json::Value) -> Vec<String> {
    value
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(|item| item.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// The same-site links of the page shown, as paths with their queries.
async fn links(browser: &Client) -> Vec<String> {
    let found = browser
        .execute(
            "return [...document.querySelectorAll('a[href]')]
                 .filter(a => a.origin === location.origin && !a.hasAttribute('download'))
                 .map(a => a.pathname + a.search);",
            Vec::new(),
        )
        .await
        .expect("the page's links");
    strings(&found)
}

/// One page of each kind the role reaches from `starts`.
async fn reachable(browser: &Client, app: &TestApp, starts: &[&str]) -> Vec<String> {
    let mut kinds = BTreeSet::new();
    let mut pages = Vec::new();
    let mut queue: VecDeque<String> = starts.iter().map(|start| (*start).to_owned()).collect();
    while let Some(path) = queue.pop_front() {
        if pages.len() == MOST_PAGES {
            break;
        }
        if !is_page(&path) || !kinds.insert(kind_of(&path)) {
            continue;
        }
        browser.goto(&app.url(&path)).await.expect("open a page");
        pages.push(path);
        queue.extend(links(browser).await);
    }
    pages
}

/// axe-core's violations on the page shown: rule, impact and where.
async fn violations(browser: &Client, axe: &str) -> Vec<String> {
    browser
        .execute(axe, Vec::new())
        .await
        .expect("axe-core loads");
    let found = browser
        .execute_async(
            "const done = arguments[arguments.length - 1];
             axe.run(document, {runOnly: {type: 'tag',
                 values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa']}})
               .then(result => done(result.violations.map(v => v.id + ' (' + v.impact + '): '
                   + v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(' | '))))
               .catch(error => done(['axe failed: ' + error]));",
            Vec::new(),
        )
        .await
        .expect("axe-core runs");
    strings(&found)
}

/// The Khmer texts of the page shown that are drawn as boxes: as wide, in
/// their own font, as the same number of glyphs no font has (U+0378), and
/// so are ten Khmer consonants in that font.
async fn khmer_boxes(browser: &Client) -> Vec<String> {
    let found = browser
        .execute_async(
            "const done = arguments[arguments.length - 1];
             document.fonts.ready.then(() => {
               const khmer = /[\\u1780-\\u17FF]/u;
               const pen = document.createElement('canvas').getContext('2d');
               const width = (font, text) => { pen.font = font; return pen.measureText(text).width; };
               const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
               const boxed = [];
               while (walker.nextNode()) {
                 const text = [...walker.currentNode.textContent].filter(c => khmer.test(c)).join('');
                 if (!text) continue;
                 const style = getComputedStyle(walker.currentNode.parentElement);
                 const font = `${style.fontStyle} ${style.fontWeight} ${style.fontSize} ${style.fontFamily}`;
                 // Boxes are all one width: the text, and ten consonants, as
                 // wide as as many glyphs no font has.
                 const boxes = (sample) =>
                   Math.abs(width(font, sample) - width(font, '\\u0378'.repeat([...sample].length))) < 0.05;
                 if (boxes(text) && boxes('កខគឃងចឆជឈញ')) {
                   boxed.push(walker.currentNode.parentElement.tagName + ': ' + text.slice(0, 30));
                 }
               }
               // The control: a font this machine does not have draws boxes,
               // or the measure proves nothing here.
               const control = '400 16px \"no-such-font\"';
               const controlBoxes = Math.abs(width(control, 'កខគឃងចឆជឈញ')
                   - width(control, '\\u0378'.repeat(10))) < 0.05;
               done({boxed, controlBoxes});
             });",
            Vec::new(),
        )
        .await
        .expect("the Khmer texts measured");
    assert_eq!(
        found["controlBoxes"].as_bool(),
        Some(true),
        "this machine draws Khmer without the shipped font: the check needs one without Khmer fonts"
    );
    strings(&found["boxed"])
}

/// Does the page shown stick out sideways (a phone would scroll it)?
async fn overflows(browser: &Client) -> bool {
    browser
        .execute(
            "return document.documentElement.scrollWidth > window.innerWidth;",
            Vec::new(),
        )
        .await
        .expect("the page's width")
        .as_bool()
        .unwrap_or(true)
}

/// Every page `email` (or a visitor) reaches, in both languages and at both
/// widths: no axe violation, and no Khmer text in boxes.
async fn every_page_passes_for(email: Option<&str>, starts: &[&str]) {
    let axe = axe_source();
    let app = spawn_app().await;
    let driver = ChromeDriver::start();
    let browser = driver.browser().await;
    browser
        .set_window_size(1280, 900)
        .await
        .expect("a wide window");
    if let Some(email) = email {
        sign_in(&browser, &app, email).await;
    }
    let pages = reachable(&browser, &app, starts).await;
    assert!(pages.len() >= starts.len(), "{pages:?}");
    let mut problems = Vec::new();
    let mut khmer_pages = 0;
    for lang in ["en", "km"] {
        browser
            .goto(&app.url(&format!("{}?lang={lang}", starts[0])))
            .await
            .expect("switch language");
        for (width, height) in [(360, 800), (1280, 900)] {
            browser
                .set_window_size(width, height)
                .await
                .expect("resize");
            for page in &pages {
                browser.goto(&app.url(page)).await.expect("open a page");
                for violation in violations(&browser, &axe).await {
                    problems.push(format!("{lang} {width}px {page}: {violation}"));
                }
                if width == 360 && overflows(&browser).await {
                    problems.push(format!("{lang} {page}: wider than a 360 px phone"));
                }
                if lang == "km" && width == 360 {
                    khmer_pages += 1;
                    for boxed in khmer_boxes(&browser).await {
                        problems.push(format!("{page}: Khmer in boxes: {boxed}"));
                    }
                }
            }
        }
    }
    assert_eq!(khmer_pages, pages.len());
    assert!(
        problems.is_empty(),
        "{} problems on {} pages ({pages:?}):\n{}",
        problems.len(),
        pages.len(),
        problems.join("\n")
    );
    browser.close().await.expect("close");
}

#[tokio::test]
async fn every_page_a_visitor_reaches_is_accessible() {
    every_page_passes_for(None, &["/login", "/public", "/password-reset"]).await;
}

#[tokio::test]
async fn every_page_an_administrator_reaches_is_accessible() {
    every_page_passes_for(Some("admin@cpdd.example"), &["/"]).await;
}

#[tokio::test]
async fn every_page_the_secretariat_reaches_is_accessible() {
    every_page_passes_for(Some("secretariat@cpdd.example"), &["/"]).await;
}

#[tokio::test]
async fn every_page_an_ngo_reaches_is_accessible() {
    every_page_passes_for(Some("ngo@ctod.example"), &["/"]).await;
}

#[tokio::test]
async fn every_page_a_district_official_reaches_is_accessible() {
    every_page_passes_for(Some("sna@battambang.example"), &["/"]).await;
}

#[tokio::test]
async fn every_page_a_donor_reaches_is_accessible() {
    every_page_passes_for(Some("donor@donor.example"), &["/"]).await;
}
