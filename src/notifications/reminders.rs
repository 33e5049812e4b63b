//! The reminders the worker sends on its own: each Monday, how many of an
//! organization's actions wait for a report; each day, an action due within
//! the week or just overdue.

use sqlx::PgPool;

use super::{Recipient, write_to};
use crate::i18n::Lang;

/// The weekly reminder: each organization's people hear how many of the
/// actions it owns are overdue or have had no report for 90 days. Returns
/// how many people were reminded.
pub async fn remind_stale_actions(pool: &PgPool) -> Result<usize, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let people = sqlx::query!(
        r#"with waiting as (
               select a.owner_organization_id as organization_id, count(*) as actions
               from actions a
               where action_awaits_report(a.status, a.due_on, a.reported_on, a.starts_on,
                                          current_date)
               group by a.owner_organization_id
           )
           select u.id, u.email, u.preferred_language, w.actions as "actions!",
                  coalesce(s.mode, 'immediate') as "email_mode!",
                  coalesce(ts.mode, 'immediate') as "telegram_mode!", l.chat_id as "chat_id?"
           from waiting w
           join users u on u.organization_id = w.organization_id and u.active
           left join notification_settings s on s.user_id = u.id and s.channel = 'email'
           left join notification_settings ts on ts.user_id = u.id and ts.channel = 'telegram'
           left join telegram_links l on l.user_id = u.id and l.chat_id is not null
           order by u.id"#
    )
    .fetch_all(&mut *tx)
    .await?;
    for person in &people {
        let recipient = Recipient {
            id: person.id,
            email: person.email.clone(),
            lang: Lang::parse(&person.preferred_language).unwrap_or_default(),
            email_mode: person.email_mode.clone(),
            telegram: person
                .chat_id
                .map(|chat| (chat, person.telegram_mode.clone())),
        };
        let args = [("count", person.actions.to_string())];
        write_to(&mut tx, &recipient, "actions-reminder", "/", &args).await?;
    }
    tx.commit().await?;
    Ok(people.len())
}

/// The due-date reminders: an open action's owner hears of it once in the
/// week before it is due and once when it becomes overdue (for a week after,
/// so a day the server was down is caught up). Each is told once per due
/// date: moving the date starts again. Returns how many people were told.
pub async fn remind_due_actions(pool: &PgPool, today: time::Date) -> Result<usize, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let people = sqlx::query!(
        r#"with due as (
               insert into action_reminders (action_id, kind, due_on)
               select a.id, case when a.due_on >= $1 then 'due-soon' else 'overdue' end, a.due_on
               from actions a
               where a.status not in ('completed', 'cancelled')
                 and a.due_on between $1 - 7 and $1 + 7
               on conflict do nothing
               returning action_id, kind, due_on
           )
           select due.action_id as "action_id!", due.kind as "kind!", due.due_on::text as "due_on!",
                  a.description_en, a.description_km,
                  u.id, u.email, u.preferred_language,
                  coalesce(s.mode, 'immediate') as "email_mode!",
                  coalesce(ts.mode, 'immediate') as "telegram_mode!", l.chat_id as "chat_id?"
           from due
           join actions a on a.id = due.action_id
           join users u on u.organization_id = a.owner_organization_id and u.active
           left join notification_settings s on s.user_id = u.id and s.channel = 'email'
           left join notification_settings ts on ts.user_id = u.id and ts.channel = 'telegram'
           left join telegram_links l on l.user_id = u.id and l.chat_id is not null
           order by due.action_id, u.id"#,
        today
    )
    .fetch_all(&mut *tx)
    .await?;
    for person in &people {
        let lang = Lang::parse(&person.preferred_language).unwrap_or_default();
        let recipient = Recipient {
            id: person.id,
            email: person.email.clone(),
            lang,
            email_mode: person.email_mode.clone(),
            telegram: person
                .chat_id
                .map(|chat| (chat, person.telegram_mode.clone())),
        };
        let title = lang.pick(&person.description_en, &person.description_km);
        let args = [("title", title.to_owned()), ("due", person.due_on.clone())];
        let kind = format!("action-{}", person.kind);
        let link = format!("/actions/{}", person.action_id);
        write_to(&mut tx, &recipient, &kind, &link, &args).await?;
    }
    tx.commit().await?;
    Ok(people.len())
}

/// Agreements running out: the secretariat hears of a signed agreement 60
/// and 14 days before its last valid day (each once per valid-until date, so
/// extending it starts again, and a day the server was down is caught up
/// while the reminder is still ahead). One past its last day is marked
/// expired, audited with no actor. Returns how many people were told.
pub async fn remind_expiring_agreements(
    pool: &PgPool,
    today: time::Date,
) -> Result<usize, sqlx::Error> {
    let mut tx = pool.begin().await?;
    sqlx::query!(
        "with expired as (
             update agreements set status = 'expired', version = version + 1
             where status = 'signed' and valid_until < $1
             returning id)
         insert into audit_events (action, entity, entity_id, summary)
         select 'agreement_expired', 'agreement', id::text, 'signed → expired' from expired",
        today
    )
    .execute(&mut *tx)
    .await?;
    let people = sqlx::query!(
        r#"with due as (
               insert into agreement_reminders (agreement_id, days_before, valid_until)
               select a.id, d.days, a.valid_until
               from agreements a cross join (values (60), (14)) d(days)
               where a.status = 'signed' and a.valid_until - $1 between 0 and d.days
                 and (d.days = 14 or a.valid_until - $1 > 14)
               on conflict do nothing
               returning agreement_id, days_before, valid_until
           )
           select due.agreement_id as "agreement_id!", (due.valid_until - $1) as "days!",
                  due.valid_until::text as "valid_until!", a.title_en, a.title_km,
                  u.id, u.email, u.preferred_language,
                  coalesce(s.mode, 'immediate') as "email_mode!",
                  coalesce(ts.mode, 'immediate') as "telegram_mode!", l.chat_id as "chat_id?"
           from due
           join agreements a on a.id = due.agreement_id
           join users u on u.role = 'secretariat' and u.active
           left join notification_settings s on s.user_id = u.id and s.channel = 'email'
           left join notification_settings ts on ts.user_id = u.id and ts.channel = 'telegram'
           left join telegram_links l on l.user_id = u.id and l.chat_id is not null
           order by due.agreement_id, u.id"#,
        today
    )
    .fetch_all(&mut *tx)
    .await?;
    for person in &people {
        let lang = Lang::parse(&person.preferred_language).unwrap_or_default();
        let recipient = Recipient {
            id: person.id,
            email: person.email.clone(),
            lang,
            email_mode: person.email_mode.clone(),
            telegram: person
                .chat_id
                .map(|chat| (chat, person.telegram_mode.clone())),
        };
        let args = [
            (
                "title",
                lang.pick(&person.title_en, &person.title_km).to_owned(),
            ),
            ("days", person.days.to_string()),
            ("until", person.valid_until.clone()),
        ];
        let link = format!("/agreements/{}", person.agreement_id);
        write_to(&mut tx, &recipient, "agreement-expiring", &link, &args).await?;
    }
    tx.commit().await?;
    Ok(people.len())
}
