-- Forms that change what a record links to carry a version of those links,
-- so that a stale page never saves over a change made since it was drawn:
-- the activities a case study draws on, and a recommendation's priorities.
-- Their own counters, so that linking does not make the case study's text
-- form stale, and so that a priority removed and set again is still a change.
alter table case_studies add column activities_version integer not null default 1;
alter table recommendations add column priorities_version integer not null default 1;
