-- Personal access tokens for the API (issue 28, docs/api.md). The secret is
-- shown once, when made; only its SHA-256 is kept. A token reads, or reads and
-- writes field records, as its user may; it ends on its last day, when revoked,
-- or when its user is deactivated.
create table api_tokens (
    id bigint generated always as identity primary key,
    user_id bigint not null references users (id),
    name text not null check (name <> '' and length(name) <= 100),
    scope text not null check (scope in ('read', 'write')),
    secret_hash bytea not null unique check (length(secret_hash) = 32),
    expires_on date not null,
    last_used_at timestamptz,
    revoked_at timestamptz,
    created_at timestamptz not null default now()
);
create index api_tokens_user_id_idx on api_tokens (user_id);
