//! Demo recommendation lists: each study district has its joint list of a few
//! recommendations resting on the demo findings. Five are endorsed (with their
//! snapshot and fingerprint), Battambang's waits for endorsement, and Banan's was
//! returned with a reason. The content is illustrative.

use sqlx::PgConnection;

use super::STUDY_DISTRICTS;
use crate::recommendations::snapshot;

/// (English, Khmer, addressee, theme position) of each list's recommendations.
const RECOMMENDATIONS: [(&str, &str, &str, i32); 3] = [
    (
        "Publish the district budget and plan on the information boards every quarter (illustrative).",
        "ផ្សព្វផ្សាយថវិកា និងផែនការស្រុកលើក្ដារព័ត៌មានរៀងរាល់ត្រីមាស (ឧទាហរណ៍)។",
        "sna",
        3,
    ),
    (
        "Hold planning meetings in the evening so that women and youth can attend (illustrative).",
        "រៀបចំកិច្ចប្រជុំធ្វើផែនការពេលល្ងាច ដើម្បីឱ្យស្ត្រី និងយុវជនអាចចូលរួម (ឧទាហរណ៍)។",
        "joint",
        5,
    ),
    (
        "Explain in every commune where and how to make a complaint about public services (illustrative).",
        "ពន្យល់នៅគ្រប់ឃុំ អំពីកន្លែង និងរបៀបដាក់បណ្ដឹងអំពីសេវាសាធារណៈ (ឧទាហរណ៍)។",
        "cso",
        4,
    ),
];

pub async fn load(tx: &mut PgConnection) -> Result<(), sqlx::Error> {
    let secretariat =
        sqlx::query!("select id, display_name from users where email = 'secretariat@cpdd.example'")
            .fetch_one(&mut *tx)
            .await?;
    for district in STUDY_DISTRICTS {
        let list = sqlx::query_scalar!(
            "insert into recommendation_lists (district_code, study_id, consultation_id)
             select $1, a.study_id, a.id from activities a
             where a.district_code = $1 and a.kind = 'joint_consultation'
             returning id",
            district
        )
        .fetch_one(&mut *tx)
        .await?;
        for (index, (text_en, text_km, addressee, theme)) in RECOMMENDATIONS.iter().enumerate() {
            sqlx::query!(
                "with item as (
                     insert into recommendations (list_id, position, text_en, text_km, addressee, theme_id)
                     select $1, $2, $3, $4, $5, id from themes where position = $6
                     returning id)
                 insert into recommendation_evidence (recommendation_id, finding_id)
                 select item.id, f.id from item, findings f join activities a on a.id = f.activity_id
                 join finding_themes ft on ft.finding_id = f.id join themes t on t.id = ft.theme_id
                 where a.district_code = $7 and t.position = $6",
                list,
                index as i32 + 1,
                text_en,
                text_km,
                addressee,
                theme,
                district,
            )
            .execute(&mut *tx)
            .await?;
        }
        step(
            tx,
            list,
            "submitted",
            Some(secretariat.id),
            &secretariat.display_name,
            "",
            "",
        )
        .await?;
        match district {
            "0203" => set_status(tx, list, "submitted").await?,
            "0201" => {
                let reason = "Add who pays for the evening meetings (illustrative).";
                step(
                    tx,
                    list,
                    "returned",
                    None,
                    "Rithy (Banan)",
                    "Deputy Governor",
                    reason,
                )
                .await?;
                set_status(tx, list, "returned").await?;
            }
            _ => endorse(tx, list).await?,
        }
    }
    workshops(tx, secretariat.id).await
}

/// The provincial and national workshops, and the priorities they chose.
async fn workshops(tx: &mut PgConnection, secretariat: i64) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "with workshops as (
             insert into activities (kind, held_on, district_code, place, facilitating_organization_id, study_id, summary)
             select w.kind, w.held_on, '0203', w.place, o.id, s.id, 'Illustrative demo record.'
             from (values ('provincial_workshop', date '2022-01-20', 'Provincial hall, Battambang'),
                          ('national_workshop', date '2022-02-15', 'Phnom Penh')) as w(kind, held_on, place),
                  organizations o, studies s
             where o.acronym = 'CPDD'
             returning id, kind),
         first_items as (
             select r.id, row_number() over (order by l.district_code) as rank
             from recommendations r join recommendation_lists l on l.id = r.list_id
             where l.status = 'endorsed' and r.position = 1)
         insert into priorities (recommendation_id, level, rank, workshop_id, set_by)
         select f.id, 'provincial', f.rank::int, w.id, $1::bigint from first_items f, workshops w
         where w.kind = 'provincial_workshop' and f.rank <= 3
         union all
         select f.id, 'national', 1, w.id, $1::bigint from first_items f, workshops w
         where w.kind = 'national_workshop' and f.rank = 1",
        secretariat
    )
    .execute(&mut *tx)
    .await?;
    Ok(())
}

pub(super) async fn endorse(tx: &mut PgConnection, list: i64) -> Result<(), sqlx::Error> {
    let snapshot = snapshot::take(tx, list).await?.to_json();
    let fingerprint = snapshot::fingerprint(&snapshot);
    sqlx::query!(
        "insert into endorsements (list_id, transition, actor_name, actor_position, at, snapshot, fingerprint)
         select $1, 'endorsed', 'District Governor (illustrative)', 'Governor',
                -- Ten days after the list's joint consultation.
                ((a.held_on + 10) + time '10:00') at time zone 'Asia/Phnom_Penh', $2, $3
         from recommendation_lists l join activities a on a.id = l.consultation_id where l.id = $1",
        list,
        snapshot,
        fingerprint,
    )
    .execute(&mut *tx)
    .await?;
    set_status(tx, list, "endorsed").await
}

pub(super) async fn step(
    tx: &mut PgConnection,
    list: i64,
    transition: &str,
    actor_id: Option<i64>,
    actor_name: &str,
    position: &str,
    comment: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "insert into endorsements (list_id, transition, actor_id, actor_name, actor_position, at, comment)
         select $1, $2, $3, $4, $5,
                -- Submitted three days after the joint consultation, returned three later.
                ((a.held_on + case when $2 = 'submitted' then 3 else 6 end) + time '09:00')
                    at time zone 'Asia/Phnom_Penh',
                $6
         from recommendation_lists l join activities a on a.id = l.consultation_id where l.id = $1",
        list,
        transition,
        actor_id,
        actor_name,
        position,
        comment,
    )
    .execute(&mut *tx)
    .await?;
    Ok(())
}

async fn set_status(tx: &mut PgConnection, list: i64, status: &str) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "update recommendation_lists set status = $2 where id = $1",
        list,
        status
    )
    .execute(&mut *tx)
    .await?;
    Ok(())
}
