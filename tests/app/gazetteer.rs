//! The gazetteer import, from the files that ship in `gazetteer/` and from broken ones.

use reqwest::StatusCode;
use reqwest::multipart::{Form, Part};
use samleng::geo::import::{self, ImportError, Source};
use samleng::geo::shipped;

use crate::helpers::{TestApp, spawn_app};

fn shipped_file(name: &str) -> Source {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("gazetteer")
        .join(name);
    Source {
        name: name.into(),
        bytes: std::fs::read(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display())),
    }
}

fn shipped_files() -> Vec<Source> {
    ["provinces.csv", "districts.csv", "communes.csv"]
        .map(shipped_file)
        .into()
}

async fn counts(app: &TestApp) -> (i64, i64, i64) {
    (
        app.count("provinces").await,
        app.count("districts").await,
        app.count("communes").await,
    )
}

#[tokio::test]
async fn the_shipped_gazetteer_loads_once_and_importing_it_again_changes_nothing() {
    let app = spawn_app().await;
    assert_eq!(
        counts(&app).await,
        (25, 14, 0),
        "what the migrations hold, before a first start"
    );
    let first = shipped::load_if_new(&app.pool)
        .await
        .expect("load")
        .expect("loaded into an installation without communes");
    assert_eq!(counts(&app).await, (25, 210, 1652));
    assert_eq!(first.districts, 196, "Battambang's 14 were there already");
    assert_eq!(
        (first.communes, first.shapes, first.aliases),
        (1652, 210, 8),
        "of the 9 other spellings, Rukhak Kiri was there already"
    );
    assert!(
        shipped::load_if_new(&app.pool)
            .await
            .expect("load")
            .is_none(),
        "loaded once"
    );
    let again = import::import(&app.pool, &shipped_files())
        .await
        .expect("import again");
    assert_eq!(
        (again.provinces, again.districts, again.communes),
        (0, 0, 0)
    );
    assert_eq!(again.unchanged, 25 + 210 + 1652);
    assert_eq!(counts(&app).await, (25, 210, 1652));
}

#[tokio::test]
async fn a_file_with_one_bad_line_changes_nothing_and_names_every_bad_line() {
    let app = spawn_app().await;
    let broken = Source {
        name: "broken.csv".into(),
        bytes: "code,parent_code,type,name_en,name_km\n\
                0215,02,district,New District,ស្រុកថ្មី\n\
                9901,99,district,Orphan,\n\
                021501,0215,commune,Fine Commune,\n\
                02150,0215,commune,Short Code,\n\
                021502,0215,hamlet,Odd Type,\n"
            .as_bytes()
            .to_vec(),
    };
    let Err(ImportError::Invalid(errors)) = import::import(&app.pool, &[broken]).await else {
        panic!("the import must be refused");
    };
    let lines: Vec<(u64, &str)> = errors.iter().map(|error| (error.line, error.key)).collect();
    assert_eq!(
        lines,
        [
            (3, "import-unknown-parent"),
            (5, "import-bad-code"),
            (6, "import-bad-type")
        ]
    );
    assert_eq!(counts(&app).await, (25, 14, 0));
}

async fn upload(app: &TestApp, name: &str, bytes: Vec<u8>) -> (StatusCode, String) {
    let admin = app.login_as("admin@cpdd.example").await;
    let token = admin.csrf_token().await;
    let form = Form::new()
        .text("csrf_token", token)
        .part("file", Part::bytes(bytes).file_name(name.to_owned()));
    let response = admin
        .client
        .post(app.url("/admin/gazetteer/import"))
        .multipart(form)
        .send()
        .await
        .expect("upload");
    let status = response.status();
    let location = response
        .headers()
        .get("location")
        .map(|value| value.to_str().unwrap_or_default().to_owned());
    let body = match location {
        Some(location) => admin.get(&location).await.body,
        None => response.text().await.expect("body"),
    };
    (status, body)
}

#[tokio::test]
async fn an_administrator_uploads_the_districts_file() {
    let app = spawn_app().await;
    let (status, page) = upload(&app, "districts.csv", shipped_file("districts.csv").bytes).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(page.contains("Imported."));
    assert_eq!(counts(&app).await, (25, 210, 0));
    assert_eq!(
        app.count("audit_events where action = 'gazetteer_imported'")
            .await,
        1
    );
}

#[tokio::test]
async fn an_upload_with_a_wrong_header_or_broken_utf8_is_refused() {
    let app = spawn_app().await;
    let (status, page) = upload(&app, "wrong.csv", b"id,name\n01,Somewhere\n".to_vec()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("wrong.csv:1"));
    assert!(page.contains("The first line must be: code,parent_code,type,name_en,name_km"));
    let mut bytes = b"code,parent_code,type,name_en,name_km\n0215,02,district,Bad ".to_vec();
    bytes.extend([0xff, b'\n']);
    let (status, page) = upload(&app, "latin1.csv", bytes).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("latin1.csv:2"));
    assert!(page.contains("not UTF-8"));
    assert_eq!(counts(&app).await, (25, 14, 0));
}

/// The shared boundaries, cut down to the features whose code starts with `prefix`.
fn boundaries_of(prefix: &str) -> Vec<u8> {
    let mut collection: serde_json::Value =
        serde_json::from_slice(&shipped_file("districts.geojson").bytes).expect("GeoJSON");
    if let Some(features) = collection["features"].as_array_mut() {
        features.retain(|feature| {
            feature["properties"]["code"]
                .as_str()
                .is_some_and(|code| code.starts_with(prefix))
        });
    }
    serde_json::to_vec(&collection).expect("GeoJSON")
}

#[tokio::test]
async fn the_shared_district_boundaries_import_once_for_every_district() {
    let app = spawn_app().await;
    let mut files = shipped_files();
    files.push(shipped_file("districts.geojson"));
    let first = import::import(&app.pool, &files).await.expect("import");
    assert_eq!(first.shapes, 210);
    let again = import::import(&app.pool, &[shipped_file("districts.geojson")])
        .await
        .expect("import again");
    assert_eq!(again.shapes, 210, "replaced, not added");
    assert_eq!(app.count("district_shapes").await, 210);
    let (path, width): (String, f32) = sqlx::query_as(
        "select path, max_x - min_x from district_shapes where district_code = '0203'",
    )
    .fetch_one(&app.pool)
    .await
    .expect("Battambang's outline");
    assert!(path.starts_with('m') && path.ends_with('z'), "{path}");
    assert!(
        (1.0..100.0).contains(&width),
        "a district is a few dozen units of the 1000-wide frame: {width}"
    );
}

#[tokio::test]
async fn an_administrator_uploads_boundaries_and_a_bad_feature_changes_nothing() {
    let app = spawn_app().await;
    let (status, page) = upload(&app, "battambang.geojson", boundaries_of("02")).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{page}");
    assert!(page.contains("Imported."));
    assert_eq!(app.count("district_shapes").await, 14);

    // Kampong Cham's districts are not in the gazetteer yet: the whole file is refused.
    let (status, page) = upload(&app, "kampong-cham.geojson", boundaries_of("03")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("Unknown district 0302"), "{page}");
    let (status, page) = upload(&app, "broken.geojson", b"{\"type\": \"Feature".to_vec()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("not a GeoJSON FeatureCollection"));
    assert_eq!(app.count("district_shapes").await, 14);
}

#[tokio::test]
async fn the_district_search_finds_the_spellings_people_use() {
    let app = spawn_app().await;
    let ngo = app.login_as("ngo@ctod.example").await;
    for (spelling, code) in [
        ("Banna", "0201"),
        ("thma kuol", "0202"),
        ("Moung Russei", "0206"),
        ("Ratanak Mondol", "0207"),
        ("KOMREING", "0212"),
        ("Battambang krong", "0203"),
        ("Bável", "0204"),
        ("បវេល", "0204"),
    ] {
        let query = serde_urlencoded::to_string([("q", spelling)]).expect("query");
        let page = ngo.get(&format!("/districts?{query}")).await;
        assert_eq!(page.status, StatusCode::OK, "{spelling}");
        assert!(
            page.body.contains(&format!(r#"href="/districts/{code}""#)),
            "{spelling} finds {code}"
        );
    }
    let other = ngo.get("/districts?q=Banna").await;
    assert!(
        !other.body.contains(r#"href="/districts/0212""#),
        "and nothing else"
    );
}

#[tokio::test]
async fn other_spellings_are_imported_with_the_gazetteer_all_or_nothing() {
    let app = spawn_app().await;
    let source = |text: &str| Source {
        name: "aliases.csv".into(),
        bytes: text.as_bytes().to_vec(),
    };
    let refused = import::import(
        &app.pool,
        &[source("code,alias\n0204,Bovelle\n9999,Nowhere\n")],
    )
    .await;
    let Err(ImportError::Invalid(errors)) = refused else {
        panic!("an unknown district is refused");
    };
    assert_eq!(errors[0].key, "import-unknown-district");
    assert_eq!(errors[0].line, 3);
    let aliases = |app: &TestApp| {
        let pool = app.pool.clone();
        async move {
            sqlx::query_scalar::<_, i64>(
                "select count(*) from district_aliases where alias = 'Bovelle'",
            )
            .fetch_one(&pool)
            .await
            .expect("aliases")
        }
    };
    assert_eq!(aliases(&app).await, 0, "nothing was written");
    let summary = import::import(
        &app.pool,
        &[source("code,alias\n0204,Bovelle\n0204,Bovelle\n")],
    )
    .await
    .expect("imported");
    assert_eq!(summary.aliases, 1, "once each");
    let ngo = app.login_as("ngo@ctod.example").await;
    assert!(
        ngo.get("/districts?q=bovelle")
            .await
            .body
            .contains(r#"href="/districts/0204""#)
    );
}
