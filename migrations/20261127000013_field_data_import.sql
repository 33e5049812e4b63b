-- Field data brought in from a filled-in spreadsheet template or a KoboToolbox
-- / ODK export (issue 16). The uploaded file is kept: its preview is read again
-- from it when confirmed, and it stays as the record of what was imported.
create table imports (
    id bigint generated always as identity primary key,
    file_name text not null,
    file_sha256 text not null,
    content bytea not null,
    study_id bigint references studies (id) on delete set null,
    uploaded_by bigint references users (id),
    uploaded_at timestamptz not null default now(),
    confirmed_at timestamptz
);

-- Each row of a confirmed import and the activity it became. A KoboToolbox or
-- ODK submission keeps its UUID, so the same export imported again creates
-- nothing, even for an activity deleted since.
create table imported_rows (
    import_id bigint not null references imports (id) on delete cascade,
    line integer not null,
    activity_id bigint references activities (id) on delete set null,
    submission_uuid text unique,
    primary key (import_id, line)
);
create index imported_rows_activity_idx on imported_rows (activity_id);

-- A revision saved by an import names it, so a record's history names the file.
alter table revisions add column import_id bigint references imports (id);

-- A tally sheet filled in as a spreadsheet can be attached as it is (the
-- content is checked: an XLSX workbook without macros).
alter table attachments drop constraint attachments_content_type_check;
alter table attachments add constraint attachments_content_type_check check (content_type in (
    'image/jpeg', 'image/png', 'image/webp', 'application/pdf',
    'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet'));
