//! Telling people what waits for them. An event (a list submitted, a case
//! study sent for review, a report to confirm…) is told to the people it
//! concerns inside the transaction that makes it: a notification per person in
//! their language, listed in the app, and a message in the outbox for each
//! channel they want it on at once; a daily digest gathers the rest.
//! `outbox` delivers them.

pub mod outbox;
mod reminders;
mod routes;
pub mod telegram;

pub use reminders::{remind_due_actions, remind_expiring_agreements, remind_stale_actions};
pub use routes::{Choices, MODES, choices, routes};

use crate::auth::session::CurrentUser;
use crate::i18n::Lang;

/// What happened, to which record.
#[derive(Debug, Clone, Copy)]
pub enum Event {
    /// A list sent to the district's officials for endorsement.
    ListSubmitted(i64),
    /// A list sent back by the district's officials.
    ListReturned(i64),
    /// A list endorsed, online or on paper.
    ListEndorsed(i64),
    /// A case study sent to the secretariat for review.
    CaseStudyInReview(i64),
    CaseStudyPublished(i64),
    CaseStudyReturned(i64),
    /// A joint action's progress report waiting for the other side; the
    /// action and the side that reported ("sna" or "cso").
    ReportToConfirm {
        action: i64,
        reported_by: &'static str,
    },
    /// A joint action given to an organization, new or moved to it: for the
    /// owner's people.
    ActionAssigned(i64),
    /// A progress report sent back by the secretariat, for the organization
    /// that reported it.
    ReportReturned {
        action: i64,
        organization: i64,
    },
}

/// Who an event concerns, as the recipients query takes it.
#[derive(Default)]
struct Audience {
    officials: bool,
    district_ngos: bool,
    secretariat: bool,
    organization: Option<i64>,
}

/// An event made concrete: its message key, its page, where, and for whom.
struct Told {
    kind: &'static str,
    link: String,
    district: String,
    audience: Audience,
    /// The record's name in English and Khmer, for the message.
    title: (String, String),
}

async fn describe(tx: &mut sqlx::PgConnection, event: Event) -> Result<Option<Told>, sqlx::Error> {
    use Event::*;
    let told = match event {
        ListSubmitted(id) | ListReturned(id) | ListEndorsed(id) => {
            let district = sqlx::query_scalar!(
                "select district_code from recommendation_lists where id = $1",
                id
            )
            .fetch_one(&mut *tx)
            .await?;
            let (kind, audience) = match event {
                ListSubmitted(_) => (
                    "list-submitted",
                    Audience {
                        officials: true,
                        ..Audience::default()
                    },
                ),
                ListReturned(_) => (
                    "list-returned",
                    Audience {
                        district_ngos: true,
                        secretariat: true,
                        ..Audience::default()
                    },
                ),
                _ => (
                    "list-endorsed",
                    Audience {
                        district_ngos: true,
                        secretariat: true,
                        ..Audience::default()
                    },
                ),
            };
            Told {
                kind,
                link: format!("/recommendation-lists/{id}"),
                district,
                audience,
                title: (String::new(), String::new()),
            }
        }
        CaseStudyInReview(id) | CaseStudyPublished(id) | CaseStudyReturned(id) => {
            let row = sqlx::query!(
                "select district_code, author_organization_id, title_en, title_km from case_studies where id = $1",
                id
            )
            .fetch_one(&mut *tx)
            .await?;
            let (kind, audience) = match event {
                CaseStudyInReview(_) => (
                    "case-study-in-review",
                    Audience {
                        secretariat: true,
                        ..Audience::default()
                    },
                ),
                CaseStudyPublished(_) => (
                    "case-study-published",
                    Audience {
                        organization: Some(row.author_organization_id),
                        ..Audience::default()
                    },
                ),
                _ => (
                    "case-study-returned",
                    Audience {
                        organization: Some(row.author_organization_id),
                        ..Audience::default()
                    },
                ),
            };
            Told {
                kind,
                link: format!("/case-studies/{id}"),
                district: row.district_code,
                audience,
                title: (row.title_en, row.title_km),
            }
        }
        ActionAssigned(action) => {
            let row = sqlx::query!(
                "select coalesce(p.district_code, '') as \"district!\", a.owner_organization_id,
                        a.description_en, a.description_km
                 from actions a join action_plans p on p.id = a.plan_id where a.id = $1",
                action
            )
            .fetch_one(&mut *tx)
            .await?;
            Told {
                kind: "action-assigned",
                link: format!("/actions/{action}"),
                district: row.district,
                audience: Audience {
                    organization: Some(row.owner_organization_id),
                    ..Audience::default()
                },
                title: (row.description_en, row.description_km),
            }
        }
        ReportReturned {
            action,
            organization,
        } => {
            let row = sqlx::query!(
                "select coalesce(p.district_code, '') as \"district!\", a.description_en, a.description_km
                 from actions a join action_plans p on p.id = a.plan_id where a.id = $1",
                action
            )
            .fetch_one(&mut *tx)
            .await?;
            Told {
                kind: "report-returned",
                link: format!("/actions/{action}"),
                district: row.district,
                audience: Audience {
                    organization: Some(organization),
                    ..Audience::default()
                },
                title: (row.description_en, row.description_km),
            }
        }
        ReportToConfirm {
            action,
            reported_by,
        } => {
            let row = sqlx::query!(
                "select p.district_code, a.description_en, a.description_km
                 from actions a join action_plans p on p.id = a.plan_id where a.id = $1",
                action
            )
            .fetch_one(&mut *tx)
            .await?;
            // A province's plan has no district side to confirm.
            let Some(district) = row.district_code else {
                return Ok(None);
            };
            let audience = Audience {
                officials: reported_by == "cso",
                district_ngos: reported_by == "sna",
                ..Audience::default()
            };
            Told {
                kind: "report-to-confirm",
                link: format!("/actions/{action}"),
                district,
                audience,
                title: (row.description_en, row.description_km),
            }
        }
    };
    Ok(Some(told))
}

/// Tells `event` to the people it concerns, but not to whoever caused it.
/// Runs inside the event's own transaction.
pub async fn tell(
    tx: &mut sqlx::PgConnection,
    actor: &CurrentUser,
    event: Event,
) -> Result<(), sqlx::Error> {
    let Some(told) = describe(tx, event).await? else {
        return Ok(());
    };
    let recipients = sqlx::query!(
        r#"select u.id, u.email, u.preferred_language, coalesce(s.mode, 'immediate') as "email_mode!",
                  coalesce(ts.mode, 'immediate') as "telegram_mode!", l.chat_id as "chat_id?",
                  coalesce(d.name_en, '') as "place_en!", coalesce(d.name_km, '') as "place_km!"
           from users u
           join organizations o on o.id = u.organization_id
           left join districts d on d.code = $5
           left join notification_settings s on s.user_id = u.id and s.channel = 'email'
           left join notification_settings ts on ts.user_id = u.id and ts.channel = 'telegram'
           left join telegram_links l on l.user_id = u.id and l.chat_id is not null
           where u.active and u.id <> $6
             and (($1 and u.role = 'sna' and o.kind = 'sna' and o.district_code = $5)
                  or ($2 and u.role = 'ngo' and exists (select 1 from organization_districts od
                                                         where od.organization_id = o.id and od.district_code = $5))
                  or ($3 and u.role = 'secretariat')
                  or u.organization_id = $4)
           order by u.id"#,
        told.audience.officials,
        told.audience.district_ngos,
        told.audience.secretariat,
        told.audience.organization,
        told.district,
        actor.id,
    )
    .fetch_all(&mut *tx)
    .await?;
    for person in recipients {
        let lang = Lang::parse(&person.preferred_language).unwrap_or_default();
        let pick = |en: &str, km: &str| lang.pick(en, km).to_owned();
        let args = [
            ("place", pick(&person.place_en, &person.place_km)),
            ("title", pick(&told.title.0, &told.title.1)),
            ("who", actor.display_name.clone()),
        ];
        let recipient = Recipient {
            id: person.id,
            email: person.email,
            lang,
            email_mode: person.email_mode,
            telegram: person.chat_id.map(|chat| (chat, person.telegram_mode)),
        };
        write_to(tx, &recipient, told.kind, &told.link, &args).await?;
    }
    Ok(())
}

/// A person to tell, with how they want to be told.
struct Recipient {
    id: i64,
    email: String,
    lang: Lang,
    email_mode: String,
    /// Their linked chat and its mode.
    telegram: Option<(i64, String)>,
}

/// Writes the notification of `kind` for one person, in their language, and
/// queues it on each channel they want it on at once.
async fn write_to(
    tx: &mut sqlx::PgConnection,
    person: &Recipient,
    kind: &str,
    link: &str,
    args: &[(&'static str, String)],
) -> Result<(), sqlx::Error> {
    let lang = person.lang;
    let subject = lang.t_with(&format!("notify-{kind}-subject"), args);
    let body = lang.t_with(&format!("notify-{kind}-body"), args);
    let telegram_mode = person.telegram.as_ref().map(|(_, mode)| mode.as_str());
    let daily = person.email_mode == "daily" || telegram_mode == Some("daily");
    sqlx::query!(
        "insert into notifications (user_id, kind, subject, body, link, in_digest) values ($1, $2, $3, $4, $5, $6)",
        person.id,
        kind,
        subject,
        body,
        link,
        daily,
    )
    .execute(&mut *tx)
    .await?;
    let footer = lang.t("notify-footer");
    let written = outbox::Written {
        subject: &subject,
        body: &body,
        link,
        footer: &footer,
        secret: false,
    };
    if person.email_mode == "immediate" {
        outbox::queue_email(tx, person.id, &person.email, &written).await?;
    }
    if let Some((chat, "immediate")) = person
        .telegram
        .as_ref()
        .map(|(chat, mode)| (*chat, mode.as_str()))
    {
        outbox::queue_telegram(tx, person.id, chat, &written).await?;
    }
    Ok(())
}
