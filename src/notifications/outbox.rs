//! Delivering the outbox. A worker in each running server claims the messages
//! that are due, a few at a time (`FOR UPDATE SKIP LOCKED`, then a lease: the
//! next attempt moves on before sending, so another worker leaves them alone),
//! sends them, and records the outcome: sent, or tried again later with
//! growing waits, and after the last attempt marked failed for an
//! administrator to see at /admin/outbox and retry.
//!
//! E-mail goes over SMTP when `SAMLENG_SMTP_URL` is set; without it, each
//! message is written as an `.eml` file under the data folder's `mail/`, so a
//! machine without a mail server still shows what would have been sent.

use std::path::PathBuf;
use std::time::Duration;

use askama::Template;
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::AsyncSmtpTransport;
use lettre::{AsyncFileTransport, AsyncTransport, Message, Tokio1Executor};
use sqlx::PgPool;

/// Attempts before a message is marked failed.
pub const MAX_ATTEMPTS: i32 = 6;
/// Messages claimed at once by one worker.
const BATCH: i64 = 20;
/// How long a claimed message is left to its worker before another may try,
/// unless set (`SAMLENG_OUTBOX_LEASE_SECS`). The lease is renewed as each
/// message's send begins, and a send that takes more than half of it is given
/// up (and tried again later): so no other worker takes a message while it is
/// being sent.
pub const LEASE: Duration = Duration::from_secs(300);
/// How often the worker looks for due messages.
const POLL: Duration = Duration::from_secs(5);
/// The hour of the day (Cambodia's time) the daily digests go out.
const DIGEST_HOUR: u8 = 7;

/// Queues an e-mail inside the event's transaction.
pub async fn queue_email(
    tx: &mut sqlx::PgConnection,
    user_id: i64,
    address: &str,
    message: &Written<'_>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "insert into outbox (channel, user_id, recipient, subject, body, link, footer, secret)
         values ('email', $1, $2, $3, $4, $5, $6, $7)",
        user_id,
        address,
        message.subject,
        message.body,
        message.link,
        message.footer,
        message.secret,
    )
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// Queues a Telegram message to a linked chat inside the event's transaction.
pub async fn queue_telegram(
    tx: &mut sqlx::PgConnection,
    user_id: i64,
    chat_id: i64,
    message: &Written<'_>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "insert into outbox (channel, user_id, recipient, subject, body, link, footer)
         values ('telegram', $1, $2, $3, $4, $5, $6)",
        user_id,
        chat_id.to_string(),
        message.subject,
        message.body,
        message.link,
        message.footer,
    )
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// A message as written for one person, in their language.
pub struct Written<'a> {
    pub subject: &'a str,
    pub body: &'a str,
    /// A local path; the sender makes it a full address.
    pub link: &'a str,
    pub footer: &'a str,
    /// The link opens an account: it is forgotten once sent.
    pub secret: bool,
}

/// Where e-mail goes.
pub enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Files(AsyncFileTransport<Tokio1Executor>),
}

/// Sends the outbox: e-mail through its transport from its sender, Telegram
/// through the bot when one is set, with links to the public address.
pub struct Mailer {
    transport: Transport,
    from: Mailbox,
    public_url: String,
    telegram: Option<super::telegram::Telegram>,
    lease: Duration,
}

impl Mailer {
    /// From the configuration, with links to its public address.
    pub fn from_config(config: &crate::config::Config) -> anyhow::Result<Mailer> {
        Mailer::new(
            config.smtp_url.as_deref(),
            &config.mail_from,
            &config.site_url(),
            config.data_dir.join("mail"),
        )
    }

    /// From the settings: SMTP at `smtp_url`, or `.eml` files in `mail_dir`.
    /// `smtp://` uses STARTTLS (required) except to this machine itself;
    /// `smtps://` uses TLS from the start.
    pub fn new(
        smtp_url: Option<&str>,
        from: &str,
        public_url: &str,
        mail_dir: PathBuf,
    ) -> anyhow::Result<Mailer> {
        let transport = match smtp_url {
            Some(url) => Transport::Smtp(
                AsyncSmtpTransport::<Tokio1Executor>::from_url(&with_tls_rule(url))?.build(),
            ),
            None => {
                std::fs::create_dir_all(&mail_dir)?;
                Transport::Files(AsyncFileTransport::new(mail_dir))
            }
        };
        Ok(Mailer {
            transport,
            from: from.parse()?,
            public_url: public_url.trim_end_matches('/').to_owned(),
            telegram: None,
            lease: LEASE,
        })
    }

    /// Also sends Telegram messages through `bot`.
    pub fn with_telegram(self, bot: super::telegram::Telegram) -> Mailer {
        Mailer {
            telegram: Some(bot),
            ..self
        }
    }

    /// Holds each message it sends for `lease` (at least two seconds).
    pub fn with_lease(self, lease: Duration) -> Mailer {
        Mailer {
            lease: lease.max(Duration::from_secs(2)),
            ..self
        }
    }

    /// Sends one message of the outbox (row `id`) on its channel.
    async fn deliver(
        &self,
        id: i64,
        channel: &str,
        to: &str,
        message: &Written<'_>,
    ) -> Result<(), String> {
        if channel == "email" {
            return self.send(id, to, message).await;
        }
        let bot = self
            .telegram
            .as_ref()
            .ok_or("Telegram is not set up (SAMLENG_TELEGRAM_BOT_TOKEN)")?;
        let chat = to.parse::<i64>().map_err(|error| error.to_string())?;
        let text = format!(
            "{}\n\n{}\n\n{}{}",
            message.subject, message.body, self.public_url, message.link
        );
        bot.send(chat, &text).await
    }

    pub fn writes_files(&self) -> bool {
        matches!(self.transport, Transport::Files(_))
    }

    async fn send(&self, id: i64, to: &str, message: &Written<'_>) -> Result<(), String> {
        let url = format!("{}{}", self.public_url, message.link);
        let text = format!("{}\n\n{url}\n\n-- \n{}\n", message.body, message.footer);
        let html = EmailHtml {
            subject: message.subject,
            body: message.body,
            url: &url,
            footer: message.footer,
        }
        .render()
        .map_err(|error| error.to_string())?;
        // The same for every attempt at this outbox row, so that a receiving
        // system can tell a message sent twice.
        let message_id = format!("<outbox-{id}@{}>", self.from.email.domain());
        let email = Message::builder()
            .message_id(Some(message_id))
            .from(self.from.clone())
            .to(to
                .parse()
                .map_err(|error: lettre::address::AddressError| error.to_string())?)
            .subject(message.subject)
            .multipart(MultiPart::alternative_plain_html(text, html))
            .map_err(|error| error.to_string())?;
        match &self.transport {
            Transport::Smtp(smtp) => smtp.send(email).await.map(drop).map_err(|e| e.to_string()),
            Transport::Files(files) => files.send(email).await.map(drop).map_err(|e| e.to_string()),
        }
    }
}

/// `smtp://` to another machine must upgrade to TLS; lettre reads that from
/// the address's `tls` parameter.
fn with_tls_rule(url: &str) -> String {
    let local = ["smtp://127.0.0.1", "smtp://localhost", "smtp://[::1]"]
        .iter()
        .any(|prefix| {
            url.starts_with(prefix) || url.contains("@127.0.0.1") || url.contains("@localhost")
        });
    if url.starts_with("smtp://") && !local && !url.contains("tls=") {
        let joiner = if url.contains('?') { '&' } else { '?' };
        format!("{url}{joiner}tls=required")
    } else {
        url.to_owned()
    }
}

#[derive(Template)]
#[template(path = "notifications/email.html")]
struct EmailHtml<'a> {
    subject: &'a str,
    body: &'a str,
    url: &'a str,
    footer: &'a str,
}

/// A claimed message.
struct Due {
    id: i64,
    channel: String,
    recipient: String,
    subject: String,
    body: String,
    link: String,
    footer: String,
    attempts: i32,
}

/// How long to wait before the next attempt, after `attempts` failed ones.
fn backoff_seconds(attempts: i32) -> f64 {
    60.0 * 4f64.powi(attempts.clamp(1, MAX_ATTEMPTS) - 1)
}

/// Sends the e-mails that are due; returns how many went out.
pub async fn deliver_due(pool: &PgPool, mailer: &Mailer) -> Result<usize, sqlx::Error> {
    let lease = mailer.lease.as_secs_f64();
    let send_timeout = mailer.lease / 2;
    let due = sqlx::query_as!(
        Due,
        r#"with due as (
               select id from outbox
               where status = 'pending' and next_attempt_at <= now()
               order by next_attempt_at, id
               limit $1
               for update skip locked
           )
           update outbox o
           set attempts = o.attempts + 1, next_attempt_at = now() + make_interval(secs => $2)
           from due where o.id = due.id
           returning o.id, o.channel, o.recipient, o.subject, o.body, o.link, o.footer, o.attempts"#,
        BATCH,
        lease,
    )
    .fetch_all(pool)
    .await?;
    let mut sent = 0;
    for message in due {
        // Renew the lease as this send begins: the batch's earlier sends may
        // have taken a while. Another worker may have taken it meanwhile.
        let renewed = sqlx::query!(
            "update outbox set next_attempt_at = now() + make_interval(secs => $3)
             where id = $1 and attempts = $2 and status = 'pending'",
            message.id,
            message.attempts,
            lease,
        )
        .execute(pool)
        .await?
        .rows_affected();
        if renewed == 0 {
            continue;
        }
        let written = Written {
            subject: &message.subject,
            body: &message.body,
            link: &message.link,
            footer: &message.footer,
            secret: false,
        };
        let delivered = tokio::time::timeout(
            send_timeout,
            mailer.deliver(message.id, &message.channel, &message.recipient, &written),
        )
        .await
        .unwrap_or_else(|_| Err(format!("no answer in {} s", send_timeout.as_secs_f32())));
        match delivered {
            Ok(()) => {
                sqlx::query!(
                    "update outbox set status = 'sent', sent_at = now(), last_error = '',
                                       link = case when secret then '' else link end
                     where id = $1",
                    message.id
                )
                .execute(pool)
                .await?;
                sent += 1;
            }
            Err(error) => {
                tracing::warn!(outbox = message.id, attempt = message.attempts, %error, "message not sent");
                sqlx::query!(
                    "update outbox
                     set status = case when attempts >= $2 then 'failed' else 'pending' end,
                         next_attempt_at = now() + make_interval(secs => $3),
                         last_error = $4
                     where id = $1",
                    message.id,
                    MAX_ATTEMPTS,
                    backoff_seconds(message.attempts),
                    error,
                )
                .execute(pool)
                .await?;
            }
        }
    }
    Ok(sent)
}

/// Gathers each person's notifications waiting for their daily digest into one
/// e-mail; returns how many digests were queued.
pub async fn queue_digests(pool: &PgPool) -> Result<usize, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let people = sqlx::query!(
        r#"with gathered as (
               update notifications set in_digest = false where in_digest
               returning user_id, subject, link, created_at
           )
           select u.id, u.email, u.preferred_language,
                  coalesce(e.mode, 'immediate') = 'daily' as "by_email!",
                  case when coalesce(t.mode, 'immediate') = 'daily' then l.chat_id end as "chat_id?",
                  array_agg(g.subject order by g.created_at) as "subjects!",
                  array_agg(g.link order by g.created_at) as "links!"
           from gathered g join users u on u.id = g.user_id
           left join notification_settings e on e.user_id = u.id and e.channel = 'email'
           left join notification_settings t on t.user_id = u.id and t.channel = 'telegram'
           left join telegram_links l on l.user_id = u.id
           where u.active
           group by u.id, e.mode, t.mode, l.chat_id"#
    )
    .fetch_all(&mut *tx)
    .await?;
    for person in &people {
        let lang = crate::i18n::Lang::parse(&person.preferred_language).unwrap_or_default();
        let subject = lang.t_with(
            "notify-digest-subject",
            &[("count", person.subjects.len().to_string())],
        );
        let body = person
            .subjects
            .iter()
            .zip(&person.links)
            .map(|(subject, link)| format!("• {subject}\n  {link}"))
            .collect::<Vec<_>>()
            .join("\n");
        let footer = lang.t("notify-footer");
        let written = Written {
            subject: &subject,
            body: &body,
            link: "/notifications",
            footer: &footer,
            secret: false,
        };
        if person.by_email {
            queue_email(&mut tx, person.id, &person.email, &written).await?;
        }
        if let Some(chat) = person.chat_id {
            queue_telegram(&mut tx, person.id, chat, &written).await?;
        }
    }
    tx.commit().await?;
    Ok(people.len())
}

/// Claims today's run of a daily job for this instance; false when another
/// instance (or an earlier tick) already ran it today.
async fn claim_daily(pool: &PgPool, job: &str, today: time::Date) -> Result<bool, sqlx::Error> {
    let claimed = sqlx::query!(
        "insert into daily_jobs (name, last_run) values ($1, $2)
         on conflict (name) do update set last_run = excluded.last_run
         where daily_jobs.last_run < excluded.last_run",
        job,
        today,
    )
    .execute(pool)
    .await?
    .rows_affected();
    Ok(claimed == 1)
}

/// The worker: delivers what is due every few seconds, queues the due-date
/// reminders and the daily digests once a day after seven in the morning
/// (Cambodia's time), and on Mondays the weekly reminder of actions waiting
/// for a report.
pub fn spawn(pool: PgPool, mailer: Mailer) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(POLL);
        loop {
            tick.tick().await;
            let now = time::OffsetDateTime::now_utc().to_offset(time::macros::offset!(+7));
            // The weekly reminder goes with Monday's digest.
            if now.hour() >= DIGEST_HOUR && now.weekday() == time::Weekday::Monday {
                match claim_daily(&pool, "weekly_reminder", now.date()).await {
                    Ok(true) => {
                        if let Err(error) = super::remind_stale_actions(&pool).await {
                            tracing::error!(%error, "weekly reminders not queued");
                        }
                    }
                    Ok(false) => {}
                    Err(error) => tracing::error!(%error, "weekly job not claimed"),
                }
            }
            if now.hour() >= DIGEST_HOUR {
                // Before the digest, so that it carries them.
                match claim_daily(&pool, "due_reminders", now.date()).await {
                    Ok(true) => {
                        if let Err(error) = super::remind_due_actions(&pool, now.date()).await {
                            tracing::error!(%error, "due-date reminders not queued");
                        }
                    }
                    Ok(false) => {}
                    Err(error) => tracing::error!(%error, "due-date job not claimed"),
                }
                match claim_daily(&pool, "agreement_reminders", now.date()).await {
                    Ok(true) => {
                        if let Err(error) =
                            super::remind_expiring_agreements(&pool, now.date()).await
                        {
                            tracing::error!(%error, "agreement reminders not queued");
                        }
                    }
                    Ok(false) => {}
                    Err(error) => tracing::error!(%error, "agreement job not claimed"),
                }
                match claim_daily(&pool, "digest", now.date()).await {
                    Ok(true) => {
                        if let Err(error) = queue_digests(&pool).await {
                            tracing::error!(%error, "daily digests not queued");
                        }
                    }
                    Ok(false) => {}
                    Err(error) => tracing::error!(%error, "daily job not claimed"),
                }
            }
            if let Some(bot) = &mailer.telegram
                && let Err(error) = bot.receive_links(&pool).await
            {
                tracing::warn!(%error, "Telegram updates not read");
            }
            if let Err(error) = deliver_due(&pool, &mailer).await {
                tracing::error!(%error, "outbox not delivered");
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remote_smtp_must_upgrade_to_tls_and_waits_grow() {
        assert_eq!(
            with_tls_rule("smtp://user:pass@mail.example.org:587"),
            "smtp://user:pass@mail.example.org:587?tls=required"
        );
        assert_eq!(
            with_tls_rule("smtp://127.0.0.1:2525"),
            "smtp://127.0.0.1:2525"
        );
        assert_eq!(
            with_tls_rule("smtps://mail.example.org"),
            "smtps://mail.example.org"
        );
        assert_eq!(backoff_seconds(1), 60.0);
        assert_eq!(backoff_seconds(3), 960.0);
    }
}
