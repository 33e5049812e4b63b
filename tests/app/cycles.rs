//! One cycle against the last (issue 15): the demo's 2021 and 2024
//! Battambang studies side by side, every figure checked against SQL written
//! here independently of the app's.

use reqwest::StatusCode;
use sqlx::PgPool;

use crate::helpers::{TestApp, spawn_app, text_of};

/// The two cells (earlier, later) of the comparison's row `id`.
fn cells(page: &str, id: &str) -> (String, String) {
    let start = page
        .find(&format!("<tr id=\"cycles-{id}\">"))
        .unwrap_or_else(|| panic!("row {id} missing"));
    let row = &page[start..start + page[start..].find("</tr>").unwrap_or(0)];
    let values: Vec<String> = row
        .split("<td")
        .skip(1)
        .map(|cell| {
            let cell = &cell[cell.find('>').map_or(0, |end| end + 1)..];
            text_of(cell.split("</td>").next().unwrap_or_default())
                .trim()
                .to_owned()
        })
        .collect();
    (values[0].clone(), values[1].clone())
}

async fn number(pool: &PgPool, sql: &str, study: i64) -> i64 {
    sqlx::query_scalar::<_, i64>(sql)
        .bind(study)
        .fetch_one(pool)
        .await
        .unwrap_or_else(|error| panic!("{sql}: {error}"))
}

/// What each row should say for one study, as the secretariat reads it.
async fn expected(app: &TestApp, study: i64) -> Vec<(&'static str, String)> {
    let pool = &app.pool;
    let people = |sex: &str| {
        format!(
            "select coalesce(sum(pc.count), 0)::bigint from participant_counts pc
             join activities a on a.id = pc.activity_id
             where a.study_id = $1 and a.kind in ('fgd', 'interview') {sex}"
        )
    };
    let respondents = number(pool, &people(""), study).await;
    let women = number(pool, &people("and pc.sex = 'female'"), study).await;
    let progress: Option<i64> = sqlx::query_scalar(
        "select round(avg(a.progress))::bigint from actions a join action_plans p on p.id = a.plan_id
         where p.study_id = $1 and a.status <> 'cancelled'",
    )
    .bind(study)
    .fetch_one(pool)
    .await
    .expect("progress");
    let actions = "from actions a join action_plans p on p.id = a.plan_id where p.study_id = $1";
    vec![
        (
            "districts",
            number(
                pool,
                "select count(distinct code) from (
                     select district_code as code from activities where study_id = $1
                     union all select district_code from recommendation_lists where study_id = $1) x",
                study,
            )
            .await
            .to_string(),
        ),
        ("respondents", respondents.to_string()),
        (
            "women",
            format!("{}%", (women as f64 * 100.0 / respondents as f64).round()),
        ),
        (
            "listed",
            number(
                pool,
                "select count(*) from recommendations r join recommendation_lists l on l.id = r.list_id
                 where l.study_id = $1 and l.status <> 'superseded'",
                study,
            )
            .await
            .to_string(),
        ),
        (
            "endorsed",
            number(
                pool,
                "select count(*) from recommendations r join recommendation_lists l on l.id = r.list_id
                 where l.study_id = $1 and l.status = 'endorsed'",
                study,
            )
            .await
            .to_string(),
        ),
        (
            "prioritized",
            number(
                pool,
                "select count(distinct p.recommendation_id) from priorities p
                 join recommendations r on r.id = p.recommendation_id
                 join recommendation_lists l on l.id = r.list_id
                 where l.study_id = $1 and l.status = 'endorsed'",
                study,
            )
            .await
            .to_string(),
        ),
        (
            "actions",
            number(pool, &format!("select count(*) {actions}"), study)
                .await
                .to_string(),
        ),
        (
            "completed",
            number(
                pool,
                &format!("select count(*) {actions} and a.status = 'completed'"),
                study,
            )
            .await
            .to_string(),
        ),
        (
            "overdue",
            number(
                pool,
                &format!(
                    "select count(*) {actions} and a.due_on < current_date
                     and a.status not in ('completed', 'cancelled')"
                ),
                study,
            )
            .await
            .to_string(),
        ),
        (
            "progress",
            progress.map_or("–".to_owned(), |progress| format!("{progress}%")),
        ),
    ]
}

#[tokio::test]
async fn the_second_cycle_is_compared_with_the_first_figure_by_figure() {
    let app = spawn_app().await;
    let studies: Vec<i64> = sqlx::query_scalar(
        "select id from studies where province_code = '02' order by period_start",
    )
    .fetch_all(&app.pool)
    .await
    .expect("studies");
    assert_eq!(studies.len(), 2, "the demo's 2021 and 2024 cycles");
    let secretariat = app.login_as("secretariat@cpdd.example").await;
    let page = secretariat.get("/provinces/02/cycles").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("2024 (illustrative second cycle)"));
    let earlier = expected(&app, studies[0]).await;
    let later = expected(&app, studies[1]).await;
    for ((row, first), (_, second)) in earlier.iter().zip(&later) {
        assert_eq!(
            cells(&page.body, row),
            (first.clone(), second.clone()),
            "{row}"
        );
    }
    // Something to compare: the later cycle is smaller, and under way.
    assert_ne!(earlier, later);

    // The recurring theme: budget information in the three districts of 2024.
    let recurring: Vec<(String, i64, i64, i64, i64)> = sqlx::query_as(
        "with e as (
             select l.study_id, l.district_code, r.theme_id, r.id,
                    (select count(*) from action_recommendations ar where ar.recommendation_id = r.id) as taken,
                    (select count(*) from action_recommendations ar join actions a on a.id = ar.action_id
                     where ar.recommendation_id = r.id and a.status = 'completed') as finished
             from recommendations r join recommendation_lists l on l.id = r.list_id
             where l.status = 'endorsed' and r.theme_id is not null)
         select d.name_en,
                sum(case when e.study_id = $1 then 1 else 0 end)::bigint,
                sum(case when e.study_id = $1 and e.taken > 0 and e.finished = e.taken then 1 else 0 end)::bigint,
                sum(case when e.study_id = $1 and e.taken > 0 and e.finished < e.taken then 1 else 0 end)::bigint,
                sum(case when e.study_id = $2 then 1 else 0 end)::bigint
         from e join districts d on d.code = e.district_code
         group by d.code, d.name_en, e.theme_id
         having sum(case when e.study_id = $1 then 1 else 0 end) > 0
            and sum(case when e.study_id = $2 then 1 else 0 end) > 0
         order by d.code, e.theme_id",
    )
    .bind(studies[0])
    .bind(studies[1])
    .fetch_all(&app.pool)
    .await
    .expect("recurring");
    assert_eq!(recurring.len(), 3, "{recurring:?}");
    let table = &page.body[page
        .body
        .find("id=\"cycles-recurring\"")
        .expect("the table")..];
    let rows: Vec<String> = table
        .split("<tr>")
        .skip(2)
        .map(|row| text_of(row.split("</tr>").next().unwrap_or_default()))
        .take(recurring.len())
        .collect();
    for ((district, earlier, done, planned, later), row) in recurring.iter().zip(&rows) {
        assert!(row.starts_with(district.as_str()), "{row}");
        assert!(
            row.ends_with(&format!("{earlier}{done}{planned}{later}")),
            "{row} against {earlier} {done} {planned} {later}"
        );
    }

    // A donor counts only endorsed lists as listed; the public page the same.
    let donor = app.login_as("donor@donor.example").await;
    let donor_page = donor.get("/provinces/02/cycles").await;
    let endorsed = cells(&donor_page.body, "endorsed");
    assert_eq!(cells(&donor_page.body, "listed"), endorsed);
    let public = app.visitor().get("/public/provinces/02/cycles").await;
    assert_eq!(public.status, StatusCode::OK);
    assert_eq!(cells(&public.body, "listed"), endorsed);
    // Respondents as the public study page counts them: only what donors read.
    let study_page = app
        .visitor()
        .get(&format!("/public/studies/{}", studies[0]))
        .await;
    assert_eq!(
        cells(&public.body, "respondents").0,
        crate::dashboard::figure_by_id(&study_page.body, "report-respondents")
    );
    // Choosing the same study twice compares nothing.
    let same = secretariat
        .get(&format!("/provinces/02/cycles?a={0}&b={0}", studies[0]))
        .await;
    assert!(same.body.contains("Choose two different studies"));
    // A study that is not one of the province's: the choice back, with why.
    let unknown = secretariat.get("/provinces/02/cycles?a=999999&b=x").await;
    assert_eq!(unknown.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(unknown.body.contains("is not a study of this province"));
    let khmer = secretariat
        .get("/provinces/02/cycles?a=999999&lang=km")
        .await;
    assert!(khmer.body.contains("មិនមែនជាការសិក្សានៃខេត្តនេះ"));
    assert_eq!(
        app.visitor()
            .get("/public/provinces/02/cycles?a=999999")
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.visitor()
            .get("/public/provinces/99/cycles")
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}

async fn scalar_list(pool: &PgPool, recommendation: i64) -> i64 {
    sqlx::query_scalar("select list_id from recommendations where id = $1")
        .bind(recommendation)
        .fetch_one(pool)
        .await
        .expect("list")
}

/// Ranks count within one study: the 2024 cycle starts again at 1 though a
/// 2021 recommendation holds provincial #1, and a rank taken within the cycle
/// is refused with the form kept and the holder named.
#[tokio::test]
async fn priorities_are_ranked_within_one_cycle() {
    let app = spawn_app().await;
    let pool = &app.pool;
    let studies: Vec<i64> = sqlx::query_scalar(
        "select id from studies where province_code = '02' order by period_start",
    )
    .fetch_all(pool)
    .await
    .expect("studies");
    let held_in_2021: i64 = sqlx::query_scalar(
        "select count(*) from priorities p join recommendations r on r.id = p.recommendation_id
         join recommendation_lists l on l.id = r.list_id
         where l.study_id = $1 and p.level = 'provincial' and p.rank = 1",
    )
    .bind(studies[0])
    .fetch_one(pool)
    .await
    .expect("2021 holder");
    assert_eq!(held_in_2021, 1, "the demo's 2021 cycle holds provincial #1");
    let unranked: Vec<(i64, i32, String)> = sqlx::query_as(
        "select r.id, r.priorities_version, r.text_en from recommendations r
         join recommendation_lists l on l.id = r.list_id
         where l.study_id = $1 and l.status = 'endorsed'
           and not exists (select 1 from priorities p where p.recommendation_id = r.id)
         order by r.id limit 2",
    )
    .bind(studies[1])
    .fetch_all(pool)
    .await
    .expect("2024 recommendations");
    assert_eq!(unranked.len(), 2, "two unranked 2024 recommendations");
    let staff = app.login_as("secretariat@cpdd.example").await;
    let set_first = |(id, version): (i64, i32)| {
        let staff = &staff;
        async move {
            staff
                .post(
                    &format!("/recommendations/{id}/priorities"),
                    &[
                        ("level", "provincial"),
                        ("rank", "1"),
                        ("version", &version.to_string()),
                        ("back", "/provinces/02/recommendations"),
                    ],
                )
                .await
        }
    };
    let (first, first_version, first_text) = &unranked[0];
    let saved = set_first((*first, *first_version)).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let rank: i32 = sqlx::query_scalar(
        "select rank from priorities where recommendation_id = $1 and level = 'provincial'",
    )
    .bind(first)
    .fetch_one(pool)
    .await
    .expect("the new cycle's #1");
    assert_eq!(rank, 1);

    let (second, second_version, _) = &unranked[1];
    let refused = set_first((*second, *second_version)).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        refused
            .body
            .contains("name=\"rank\" inputmode=\"numeric\" size=\"4\" value=\"1\""),
        "the rank typed is kept"
    );
    assert!(
        refused.body.contains(&format!(
            "Held by: <a href=\"/recommendation-lists/{}#recommendation-{first}\">",
            scalar_list(pool, *first).await
        )) && refused.body.contains(&first_text.replace('\'', "&#39;")),
        "the holder is named and linked"
    );

    // The province's page shows the newest cycle, and the earlier one on request.
    let newest = staff.get("/provinces/02/recommendations").await;
    assert!(
        newest
            .body
            .contains(&format!("id=\"recommendation-{first}\"")),
        "the 2024 cycle is shown first"
    );
    let earlier = staff
        .get(&format!(
            "/provinces/02/recommendations?study={}",
            studies[0]
        ))
        .await;
    assert_eq!(earlier.status, StatusCode::OK);
    assert!(
        !earlier
            .body
            .contains(&format!("id=\"recommendation-{first}\""))
    );
    assert!(earlier.body.contains("Provincial priority #1"));
}
