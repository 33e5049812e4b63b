//! Demo field work: the Battambang 2021 study, FGDs and interview rounds in the
//! seven districts whose respondents add up to exactly 367, 209 of them women,
//! the joint consultation meetings of Nov–Dec 2021, and findings by theme. The
//! content is illustrative, and says so.

use sqlx::PgConnection;

use super::STUDY_DISTRICTS;

/// Respondents of one FGD (citizens F/M, CBO members F/M) and one interview
/// round (citizens F/M, SNA officials F/M) per district, in `STUDY_DISTRICTS` order.
const FGD_COUNTS: [[i32; 4]; 7] = [
    [12, 8, 6, 4],
    [11, 7, 5, 4],
    [10, 8, 6, 3],
    [12, 9, 5, 4],
    [11, 8, 6, 4],
    [10, 7, 5, 3],
    [9, 7, 5, 4],
];
const INTERVIEW_COUNTS: [[i32; 4]; 7] = [
    [10, 7, 2, 3],
    [9, 6, 2, 3],
    [9, 7, 3, 3],
    [11, 8, 2, 4],
    [10, 7, 3, 3],
    [11, 8, 3, 4],
    [17, 12, 4, 3],
];

/// Findings heard in every district, as (English, Khmer, theme positions, quote, descriptor).
const FINDINGS: [(&str, &str, &[i32], &str, &str); 3] = [
    (
        "Illustrative: most respondents had never seen the district's budget; information boards were empty or out of date.",
        "ឧទាហរណ៍៖ អ្នកឆ្លើយភាគច្រើនមិនដែលឃើញថវិការបស់ស្រុកទេ ក្ដារព័ត៌មានទទេ ឬហួសសម័យ។",
        &[1, 3],
        "We hear about the budget only after the road is built.",
        "woman, CBO member",
    ),
    (
        "Illustrative: women attend planning meetings but rarely speak; meetings held in the evening suit them better.",
        "ឧទាហរណ៍៖ ស្ត្រីចូលរួមកិច្ចប្រជុំធ្វើផែនការ ប៉ុន្តែកម្រនិយាយណាស់ កិច្ចប្រជុំពេលល្ងាចសមស្របជាង។",
        &[2, 5],
        "",
        "",
    ),
    (
        "Illustrative: citizens do not know where to take a complaint about public services.",
        "ឧទាហរណ៍៖ ពលរដ្ឋមិនដឹងថាត្រូវដាក់បណ្ដឹងអំពីសេវាសាធារណៈនៅកន្លែងណាទេ។",
        &[4, 7],
        "",
        "",
    ),
];

/// The state each district's case study is left in, in `STUDY_DISTRICTS` order.
const CASE_STUDY_STATUS: [&str; 7] = [
    "published",
    "published",
    "published",
    "published",
    "published",
    "in_review",
    "draft",
];

/// Loads the study, its activities and their findings; `ngo_for` names the
/// member NGO that works in each district.
pub async fn load(
    tx: &mut PgConnection,
    donor_id: i64,
    ngo_for: impl Fn(&str) -> i64,
    secretariat_id: i64,
) -> Result<(), sqlx::Error> {
    let study_id = sqlx::query_scalar!(
        // Public, so that a new user sees the public pages at once (/public).
        "insert into studies (title_en, title_km, province_code, period_start, period_end, public_since)
         values ('Civic Engagement at DM level, Battambang province, 2021',
                 'ការចូលរួមរបស់ពលរដ្ឋនៅថ្នាក់ស្រុក/ក្រុង ខេត្តបាត់ដំបង ឆ្នាំ២០២១',
                 '02', date '2021-06-01', date '2021-12-31', now())
         returning id"
    )
    .fetch_one(&mut *tx)
    .await?;
    sqlx::query!(
        "insert into study_funders (study_id, organization_id) values ($1, $2)",
        study_id,
        donor_id
    )
    .execute(&mut *tx)
    .await?;
    for (index, district) in STUDY_DISTRICTS.iter().enumerate() {
        let day = index as i32;
        let ngo = ngo_for(district);
        let case_study = case_study(tx, study_id, district, ngo, CASE_STUDY_STATUS[index]).await?;
        let fgd = activity(
            tx,
            "fgd",
            district,
            8 + day,
            ngo,
            study_id,
            "Village meeting hall",
        )
        .await?;
        link(tx, fgd, case_study).await?;
        counts(
            tx,
            fgd,
            &[
                ("citizen", FGD_COUNTS[index][0], FGD_COUNTS[index][1]),
                ("cbo", FGD_COUNTS[index][2], FGD_COUNTS[index][3]),
            ],
        )
        .await?;
        let interviews = activity(
            tx,
            "interview",
            district,
            20 + day,
            ngo,
            study_id,
            "Commune offices and homes",
        )
        .await?;
        link(tx, interviews, case_study).await?;
        let [citizen_f, citizen_m, official_f, official_m] = INTERVIEW_COUNTS[index];
        counts(
            tx,
            interviews,
            &[
                ("citizen", citizen_f, citizen_m),
                ("sna_official", official_f, official_m),
            ],
        )
        .await?;
        for (text_en, text_km, themes, quote, descriptor) in FINDINGS {
            finding(tx, fgd, text_en, text_km, themes, quote, descriptor).await?;
        }
        // The joint consultations of November and December 2021.
        let consultation = activity_on(
            tx,
            "joint_consultation",
            district,
            &format!(
                "2021-{}-{:02}",
                if index < 4 { 11 } else { 12 },
                3 + 4 * day
            ),
            secretariat_id,
            study_id,
            "District hall",
        )
        .await?;
        counts(
            tx,
            consultation,
            &[
                ("sna_official", 3, 5),
                ("council_member", 2, 4),
                ("cso", 4, 3),
            ],
        )
        .await?;
    }
    Ok(())
}

const SUMMARY: &str = "*Illustrative demo content.* Citizens in the district take part in commune and district \
meetings, but few know how the district plans and spends its budget.";
const CONTEXT: &str = "*Illustrative.* The district administration holds a public forum once a year. Member NGOs \
work with community-based organizations in most communes.";
const CONCLUSION: &str = "*Illustrative.* Better information and evening meetings would widen participation, \
especially of women and youth.";

async fn case_study(
    tx: &mut PgConnection,
    study_id: i64,
    district: &str,
    author: i64,
    status: &str,
) -> Result<i64, sqlx::Error> {
    let id = sqlx::query_scalar!(
        "insert into case_studies (study_id, district_code, author_organization_id, title_en, title_km, status,
                                   summary, context, conclusion, published_at)
         select $1, d.code, $2,
                'Civic engagement in ' || d.name_en || ' (illustrative)',
                'ការចូលរួមរបស់ពលរដ្ឋនៅ' || d.name_km || ' (ឧទាហរណ៍)',
                $3, $4, $5, $6, case when $3 = 'published' then timestamptz '2021-12-20' end
         from districts d where d.code = $7
         returning id",
        study_id,
        author,
        status,
        SUMMARY,
        CONTEXT,
        CONCLUSION,
        district,
    )
    .fetch_one(&mut *tx)
    .await?;
    sqlx::query!(
        "insert into case_study_mechanisms (case_study_id, mechanism, exists_here, functions, citizens_aware, comment)
         values ($1, 'council_public_forum', true, true, false, 'Held yearly; few citizens knew of it (illustrative).'),
                ($1, 'information_boards', true, false, false, 'Boards exist but are not updated (illustrative).'),
                ($1, 'planning_budgeting_consultation', true, true, true, ''),
                ($1, 'social_accountability', true, true, false, ''),
                ($1, 'complaint_handling', false, false, false, ''),
                ($1, 'women_children_committee', true, false, false, ''),
                ($1, 'open_council_meetings', false, false, false, '')",
        id
    )
    .execute(&mut *tx)
    .await?;
    Ok(id)
}

async fn link(
    tx: &mut PgConnection,
    activity_id: i64,
    case_study_id: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "update activities set case_study_id = $2 where id = $1",
        activity_id,
        case_study_id
    )
    .execute(&mut *tx)
    .await?;
    Ok(())
}

async fn activity(
    tx: &mut PgConnection,
    kind: &str,
    district: &str,
    day_of_september: i32,
    organization_id: i64,
    study_id: i64,
    place: &str,
) -> Result<i64, sqlx::Error> {
    activity_on(
        tx,
        kind,
        district,
        &format!("2021-09-{day_of_september:02}"),
        organization_id,
        study_id,
        place,
    )
    .await
}

async fn activity_on(
    tx: &mut PgConnection,
    kind: &str,
    district: &str,
    date: &str,
    organization_id: i64,
    study_id: i64,
    place: &str,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar!(
        "insert into activities (kind, held_on, district_code, place, facilitating_organization_id, study_id, summary)
         values ($1, $2::text::date, $3, $4, $5, $6, 'Illustrative demo record.') returning id",
        kind,
        date,
        district,
        place,
        organization_id,
        study_id,
    )
    .fetch_one(&mut *tx)
    .await
}

/// Stores (group, female, male) counts.
async fn counts(
    tx: &mut PgConnection,
    activity_id: i64,
    rows: &[(&str, i32, i32)],
) -> Result<(), sqlx::Error> {
    for (group, female, male) in rows {
        sqlx::query!(
            "insert into participant_counts (activity_id, participant_group, sex, count)
             values ($1, $2, 'female', $3), ($1, $2, 'male', $4)",
            activity_id,
            group,
            female,
            male,
        )
        .execute(&mut *tx)
        .await?;
    }
    Ok(())
}

async fn finding(
    tx: &mut PgConnection,
    activity_id: i64,
    text_en: &str,
    text_km: &str,
    theme_positions: &[i32],
    quote: &str,
    descriptor: &str,
) -> Result<(), sqlx::Error> {
    let id = sqlx::query_scalar!(
        "insert into findings (activity_id, text_en, text_km, quote, quote_descriptor, public)
         values ($1, $2, $3, $4, $5, true) returning id",
        activity_id,
        text_en,
        text_km,
        quote,
        descriptor,
    )
    .fetch_one(&mut *tx)
    .await?;
    sqlx::query!(
        "insert into finding_themes (finding_id, theme_id)
         select $1, id from themes where position = any($2)",
        id,
        theme_positions,
    )
    .execute(&mut *tx)
    .await?;
    Ok(())
}
