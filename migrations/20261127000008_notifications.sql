-- What people are told: one row per person and event, written in the same
-- transaction as the event, in the person's language. The app lists them at
-- /notifications; the header counts the unread ones.
create table notifications (
    id bigint generated always as identity primary key,
    user_id bigint not null references users (id) on delete cascade,
    kind text not null,
    subject text not null,
    body text not null,
    -- A local path to the page it is about.
    link text not null check (link like '/%' and link not like '//%'),
    created_at timestamptz not null default now(),
    read_at timestamptz,
    -- Waiting for the person's daily digest e-mail.
    in_digest boolean not null default false
);
create index notifications_user_idx on notifications (user_id, created_at desc);
create index notifications_unread_idx on notifications (user_id) where read_at is null;
create index notifications_digest_idx on notifications (user_id) where in_digest;

-- How each person wants to be told, per channel; no row means "immediately".
create table notification_settings (
    user_id bigint not null references users (id) on delete cascade,
    channel text not null check (channel in ('email', 'telegram')),
    mode text not null check (mode in ('immediate', 'daily', 'off')),
    primary key (user_id, channel)
);

-- Messages waiting to go out, written with the event: nothing is told about a
-- change that rolled back, and nothing is lost while the mail server is down.
-- A worker claims due rows (FOR UPDATE SKIP LOCKED) and leases them by moving
-- next_attempt_at on, so that two workers never send the same message.
create table outbox (
    id bigint generated always as identity primary key,
    channel text not null check (channel in ('email', 'telegram')),
    user_id bigint references users (id) on delete set null,
    recipient text not null,
    subject text not null,
    body text not null,
    link text not null default '',
    -- How to change what one is told, in the recipient's language.
    footer text not null default '',
    -- A link that opens an account (invitation, password reset): forgotten
    -- once the message is sent.
    secret boolean not null default false,
    status text not null default 'pending' check (status in ('pending', 'sent', 'failed')),
    attempts integer not null default 0,
    next_attempt_at timestamptz not null default now(),
    last_error text not null default '',
    created_at timestamptz not null default now(),
    sent_at timestamptz
);
create index outbox_due_idx on outbox (next_attempt_at) where status = 'pending';
create index outbox_created_idx on outbox (created_at desc);

-- Jobs that run once a day whichever instance gets there first.
create table daily_jobs (
    name text primary key,
    last_run date not null
);

-- Links that let a person set their own password: an invitation (7 days) or a
-- password reset (30 minutes). Only the token's SHA-256 is kept; each works once.
create table account_tokens (
    id bigint generated always as identity primary key,
    user_id bigint not null references users (id) on delete cascade,
    purpose text not null check (purpose in ('invitation', 'reset')),
    token_hash text not null unique,
    expires_at timestamptz not null,
    used_at timestamptz,
    created_at timestamptz not null default now()
);
create index account_tokens_user_idx on account_tokens (user_id, purpose, created_at desc);

-- Telegram: a person links their chat by sending the bot a one-time code
-- (through its deep link); only the code's SHA-256 is kept, for 15 minutes.
create table telegram_links (
    user_id bigint primary key references users (id) on delete cascade,
    chat_id bigint,
    code_hash text unique,
    code_expires_at timestamptz,
    linked_at timestamptz
);
-- How far the bot has read its updates.
create table bot_state (
    name text primary key,
    value bigint not null
);
