//! A second, later Battambang cycle (2024, illustrative), so that the
//! comparison of cycles has something to show: three of the districts of
//! 2021 again, an FGD each, an endorsed list each in which the 2021 theme of
//! budget information comes back, and one district's action plan taking it up.

use sqlx::PgConnection;

use super::recommendations::{endorse, step};

/// The districts of the second cycle, all endorsed in 2021 too.
const DISTRICTS: [&str; 3] = ["0202", "0204", "0206"];

/// (English, Khmer, addressee, theme position) of each 2024 list.
const RECOMMENDATIONS: [(&str, &str, &str, i32); 2] = [
    (
        "Post the district budget on every commune's board, as asked in 2021 (illustrative second cycle).",
        "បិទផ្សាយថវិកាស្រុកលើក្ដារព័ត៌មានរបស់គ្រប់ឃុំ ដូចដែលបានស្នើក្នុងឆ្នាំ២០២១ (វដ្តទីពីរ ឧទាហរណ៍)។",
        "sna",
        3,
    ),
    (
        "Answer citizens' questions on services at each district council meeting (illustrative second cycle).",
        "ឆ្លើយសំណួររបស់ពលរដ្ឋអំពីសេវានៅរាល់កិច្ចប្រជុំក្រុមប្រឹក្សាស្រុក (វដ្តទីពីរ ឧទាហរណ៍)។",
        "joint",
        1,
    ),
];

pub async fn load(tx: &mut PgConnection, secretariat: (i64, &str)) -> Result<(), sqlx::Error> {
    let study = sqlx::query_scalar!(
        "insert into studies (title_en, title_km, province_code, period_start, period_end, public_since)
         values ('Civic Engagement at DM level, Battambang province, 2024 (illustrative second cycle)',
                 'ការចូលរួមរបស់ពលរដ្ឋនៅថ្នាក់ស្រុក/ក្រុង ខេត្តបាត់ដំបង ឆ្នាំ២០២៤ (វដ្តទីពីរ ឧទាហរណ៍)',
                 '02', date '2024-03-01', date '2024-12-31', now())
         returning id"
    )
    .fetch_one(&mut *tx)
    .await?;
    for district in DISTRICTS {
        // An FGD and a joint consultation, by the NGO that covers the district.
        let consultation = sqlx::query_scalar!(
            r#"with ngo as (
                   select organization_id as id from organization_districts
                   where district_code = $2 order by organization_id limit 1),
               held as (
                   insert into activities (kind, held_on, district_code, facilitating_organization_id,
                                           study_id, place, summary)
                   select kind, held_on, $2, ngo.id, $1, 'Illustrative place', 'Illustrative demo record (second cycle).'
                   from ngo, (values ('fgd', date '2024-04-10'), ('joint_consultation', date '2024-06-05'))
                        as planned(kind, held_on)
                   returning id, kind),
               counted as (
                   insert into participant_counts (activity_id, participant_group, sex, count)
                   select held.id, g, s, n from held,
                          (values ('citizen', 'female', 9), ('citizen', 'male', 5),
                                  ('cbo', 'female', 6), ('cbo', 'male', 5)) counts(g, s, n)
                   where held.kind = 'fgd')
               select id as "id!" from held where kind = 'joint_consultation'"#,
            study,
            district
        )
        .fetch_one(&mut *tx)
        .await?;
        let list = sqlx::query_scalar!(
            "insert into recommendation_lists (district_code, study_id, consultation_id)
             values ($1, $2, $3) returning id",
            district,
            study,
            consultation
        )
        .fetch_one(&mut *tx)
        .await?;
        for (position, (text_en, text_km, addressee, theme)) in RECOMMENDATIONS.iter().enumerate() {
            sqlx::query!(
                "insert into recommendations (list_id, position, text_en, text_km, addressee, theme_id)
                 select $1, $2, $3, $4, $5, id from themes where position = $6",
                list,
                position as i32 + 1,
                text_en,
                text_km,
                addressee,
                theme,
            )
            .execute(&mut *tx)
            .await?;
        }
        step(
            tx,
            list,
            "submitted",
            Some(secretariat.0),
            secretariat.1,
            "",
            "",
        )
        .await?;
        endorse(tx, list).await?;
    }
    // Thma Koul's plan takes the budget theme up again: one action under way.
    sqlx::query!(
        "with plan as (
             insert into action_plans (title_en, title_km, district_code, province_code, study_id, period_start, period_end)
             values ('Joint action plan, Thma Koul, 2024 (illustrative second cycle)', '', '0202', '02', $1,
                     date '2024-07-01', date '2025-06-30')
             returning id),
         action as (
             insert into actions (plan_id, description_en, owner_organization_id, lead, starts_on, due_on)
             select plan.id, 'Post the budget on the commune boards every quarter (illustrative).',
                    (select o.id from organizations o where o.district_code = '0202'), 'sna',
                    date '2024-07-01', date '2025-06-30'
             from plan
             returning id, owner_organization_id)
         insert into action_recommendations (action_id, recommendation_id)
         select action.id, r.id from action, recommendations r join recommendation_lists l on l.id = r.list_id
         where l.study_id = $1 and l.district_code = '0202' and r.position = 1",
        study
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query!(
        "insert into action_updates (action_id, reported_on, status, progress, note, reporter_organization_id)
         select a.id, date '2024-10-01', 'in_progress', 40, 'Illustrative progress report.', a.owner_organization_id
         from actions a join action_plans p on p.id = a.plan_id where p.study_id = $1",
        study
    )
    .execute(&mut *tx)
    .await?;
    Ok(())
}
