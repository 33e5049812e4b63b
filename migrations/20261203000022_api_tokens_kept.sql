-- Instances keep the tokens in use in memory (api::auth). A token revoked,
-- shortened or marked used is announced as a change of its user, so every
-- instance forgets what it kept of that user's tokens.
create function announce_token_change() returns trigger language plpgsql as $$
begin
    perform pg_notify('samleng_auth', 'user:' || old.user_id);
    return null;
end $$;
create trigger api_token_changes_announced after update or delete on api_tokens
    for each row execute function announce_token_change();
