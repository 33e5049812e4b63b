-- Forms sent twice change things once (src/web/once.rs): the key a form
-- carries, claimed by the write it made, with where that write led.
create table once_keys (
    key text primary key check (length(key) = 32),
    user_id bigint not null references users (id) on delete cascade,
    claimed_at timestamptz not null default now(),
    location text
);
create index once_keys_user_claimed_idx on once_keys (user_id, claimed_at);

-- Any change of a password ends the account's outstanding one-time links
-- (reset and invitation), whichever way it was made: a link asked for before
-- the change must not set a password afterwards.
create function end_account_tokens() returns trigger language plpgsql as $$
begin
    update account_tokens set used_at = now() where user_id = new.id and used_at is null;
    return null;
end $$;
create trigger users_password_changed_end_tokens after update of password_hash on users
    for each row when (old.password_hash is distinct from new.password_hash)
    execute function end_account_tokens();
