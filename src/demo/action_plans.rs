//! Demo action plans: one joint plan for each district whose list is endorsed,
//! with actions in every state — completed, in progress, overdue, blocked and
//! cancelled — so that plan pages and home worklists show something real. Dates
//! are set relative to the day the demo loads. The content is illustrative.

use sqlx::PgConnection;

use crate::attachments;
use crate::files::FileStore;

/// (description, lead, owned by the district administration?, starts, due, updates)
/// where dates are SQL expressions and updates are (date, status, progress).
type DemoAction = (
    &'static str,
    &'static str,
    bool,
    &'static str,
    &'static str,
    &'static [(&'static str, &'static str, i32)],
);

const ACTIONS: [DemoAction; 5] = [
    (
        "Publish the budget and plan on every information board (illustrative)",
        "sna",
        true,
        "2022-02-01",
        "2022-06-30",
        &[
            ("2022-03-15", "in_progress", 40),
            ("2022-06-20", "completed", 100),
        ],
    ),
    (
        "Hold planning meetings in the evening (illustrative)",
        "joint",
        false,
        "2022-03-01",
        "far",
        &[("recent", "in_progress", 50)],
    ),
    (
        "Open a complaint desk at the district hall (illustrative)",
        "joint",
        true,
        "2022-04-01",
        "2022-12-31",
        &[("2022-08-01", "in_progress", 30)],
    ),
    (
        "Train CBO leaders on the planning calendar (illustrative)",
        "cso",
        false,
        "2022-05-01",
        "2023-06-30",
        &[("2023-03-01", "blocked", 20)],
    ),
    (
        "A radio programme on citizens' rights (illustrative)",
        "cso",
        false,
        "2022-01-15",
        "2022-09-30",
        &[("2022-05-01", "cancelled", 0)],
    ),
];

pub async fn load(tx: &mut PgConnection, files: &FileStore) -> anyhow::Result<()> {
    let lists = sqlx::query!(
        r#"select l.id, l.district_code, l.study_id, d.name_en,
                  (select o.id from organizations o where o.district_code = l.district_code) as "administration!",
                  (select od.organization_id from organization_districts od where od.district_code = l.district_code
                   order by od.organization_id limit 1) as "ngo!"
           from recommendation_lists l join districts d on d.code = l.district_code
           where l.status = 'endorsed' order by l.district_code"#
    )
    .fetch_all(&mut *tx)
    .await?;
    for list in lists {
        let plan = sqlx::query_scalar!(
            "insert into action_plans (title_en, title_km, district_code, province_code, study_id, period_start, period_end)
             values ('Joint action plan, ' || $1 || ' (illustrative)', '', $2, left($2, 2), $3, date '2022-01-01', current_date + 365)
             returning id",
            list.name_en,
            list.district_code,
            list.study_id,
        )
        .fetch_one(&mut *tx)
        .await?;
        for (description, lead, by_administration, starts, due, updates) in ACTIONS {
            let owner = if by_administration {
                list.administration
            } else {
                list.ngo
            };
            let action = sqlx::query_scalar!(
                "insert into actions (plan_id, description_en, owner_organization_id, lead, starts_on, due_on, budget_riel, budget_source)
                 values ($1, $2, $3, $4, $5::text::date,
                         case when $6 = 'far' then current_date + 200 else $6::text::date end, 2000000, 'District budget')
                 returning id",
                plan,
                description,
                owner,
                lead,
                starts,
                due,
            )
            .fetch_one(&mut *tx)
            .await?;
            sqlx::query!(
                "insert into action_recommendations (action_id, recommendation_id)
                 select $1, id from recommendations where list_id = $2 and position <= 2",
                action,
                list.id
            )
            .execute(&mut *tx)
            .await?;
            for (date, status, progress) in updates {
                let update = sqlx::query_scalar!(
                    "insert into action_updates (action_id, reported_on, status, progress, note, reporter_organization_id)
                     values ($1, case when $2 = 'recent' then current_date - 30 else $2::text::date end, $3, $4,
                             'Illustrative progress report.', $5)
                     returning id",
                    action,
                    date,
                    status,
                    progress,
                    owner,
                )
                .fetch_one(&mut *tx)
                .await?;
                if *status == "completed" {
                    evidence(tx, files, update).await?;
                }
            }
        }
    }
    Ok(())
}

/// A one-page PDF standing for the signed minutes that prove a completed action.
async fn evidence(tx: &mut PgConnection, files: &FileStore, update: i64) -> anyhow::Result<()> {
    let pdf =
        b"%PDF-1.4\n% Illustrative demo evidence: minutes of the completion meeting.\n%%EOF\n"
            .to_vec();
    let size = pdf.len() as i64;
    let stored = attachments::store(files, pdf)
        .await
        .map_err(|error| anyhow::anyhow!("{error}"))?;
    if let Some((stored_name, content_type)) = stored {
        sqlx::query!(
            "insert into attachments (parent, parent_id, stored_name, content_type, size_bytes, caption, public)
             values ('action_update', $1, $2, $3, $4, 'Minutes of the completion meeting (illustrative)', true)",
            update,
            stored_name,
            content_type,
            size,
        )
        .execute(&mut *tx)
        .await?;
    }
    Ok(())
}
