-- Public transparency pages (issue 15): a study's results are published
-- without sign-in only when the secretariat turns them on, under the licence
-- it chose for the open data.
alter table studies
    add column public_since timestamptz,
    add column licence text not null default 'CC-BY-4.0'
        check (licence in ('CC-BY-4.0', 'CC-BY-SA-4.0', 'CC0-1.0'));
