-- Geography, organizations, users, sessions and the audit log: the foundation every
-- later feature hangs its records on.

create table provinces (
    code text primary key check (code ~ '^[0-9]{2}$'),
    type text not null check (type in ('province', 'capital')),
    name_en text not null check (name_en <> ''),
    name_km text not null
);

create table districts (
    code text primary key check (code ~ '^[0-9]{4}$'),
    province_code text not null references provinces (code),
    type text not null check (type in ('municipality', 'district', 'khan')),
    name_en text not null check (name_en <> ''),
    name_km text not null,
    check (left(code, 2) = province_code)
);
create index districts_province_code_idx on districts (province_code);

create table communes (
    code text primary key check (code ~ '^[0-9]{6}$'),
    district_code text not null references districts (code),
    type text not null check (type in ('commune', 'sangkat')),
    name_en text not null check (name_en <> ''),
    name_km text not null,
    check (left(code, 4) = district_code)
);
create index communes_district_code_idx on communes (district_code);

create table organizations (
    id bigint generated always as identity primary key,
    name_en text not null check (name_en <> ''),
    name_km text not null default '',
    acronym text not null default '',
    kind text not null check (kind in ('secretariat', 'member_ngo', 'sna', 'donor', 'partner')),
    -- An SNA organization is the administration of exactly one district.
    district_code text references districts (code),
    version integer not null default 1,
    created_at timestamptz not null default now(),
    check ((kind = 'sna') = (district_code is not null))
);
create unique index organizations_name_en_key on organizations (lower(name_en));
create unique index organizations_sna_district_key on organizations (district_code);

-- The districts a member NGO works in.
create table organization_districts (
    organization_id bigint not null references organizations (id) on delete cascade,
    district_code text not null references districts (code),
    primary key (organization_id, district_code)
);

create table users (
    id bigint generated always as identity primary key,
    email text not null check (email <> ''),
    display_name text not null check (display_name <> ''),
    role text not null check (role in ('admin', 'secretariat', 'ngo', 'sna', 'donor')),
    organization_id bigint not null references organizations (id),
    preferred_language text not null default 'en' check (preferred_language in ('en', 'km')),
    password_hash text not null,
    active boolean not null default true,
    failed_sign_ins integer not null default 0,
    locked_until timestamptz,
    version integer not null default 1,
    created_at timestamptz not null default now()
);
create unique index users_email_key on users (lower(email));
create index users_organization_id_idx on users (organization_id);

-- Append-only: who did what to which record, when, and from where.
create table audit_events (
    id bigint generated always as identity primary key,
    at timestamptz not null default now(),
    actor_id bigint references users (id),
    action text not null,
    entity text not null,
    entity_id text,
    summary text not null default '',
    ip text
);
create index audit_events_at_idx on audit_events (at desc);
create index audit_events_actor_id_idx on audit_events (actor_id);

-- The table tower-sessions' PostgresStore reads and writes.
create schema tower_sessions;
create table tower_sessions.session (
    id text primary key not null,
    data bytea not null,
    expiry_date timestamptz not null
);
create index session_expiry_date_idx on tower_sessions.session (expiry_date);

-- The 25 capital and provinces and Battambang's districts ship with the application;
-- the rest of the gazetteer is imported from CSV.
insert into provinces (code, type, name_en, name_km) values
    ('01', 'province', 'Banteay Meanchey', 'បន្ទាយមានជ័យ'),
    ('02', 'province', 'Battambang', 'បាត់ដំបង'),
    ('03', 'province', 'Kampong Cham', 'កំពង់ចាម'),
    ('04', 'province', 'Kampong Chhnang', 'កំពង់ឆ្នាំង'),
    ('05', 'province', 'Kampong Speu', 'កំពង់ស្ពឺ'),
    ('06', 'province', 'Kampong Thom', 'កំពង់ធំ'),
    ('07', 'province', 'Kampot', 'កំពត'),
    ('08', 'province', 'Kandal', 'កណ្តាល'),
    ('09', 'province', 'Koh Kong', 'កោះកុង'),
    ('10', 'province', 'Kratié', 'ក្រចេះ'),
    ('11', 'province', 'Mondulkiri', 'មណ្ឌលគិរី'),
    ('12', 'capital', 'Phnom Penh', 'ភ្នំពេញ'),
    ('13', 'province', 'Preah Vihear', 'ព្រះវិហារ'),
    ('14', 'province', 'Prey Veng', 'ព្រៃវែង'),
    ('15', 'province', 'Pursat', 'ពោធិ៍សាត់'),
    ('16', 'province', 'Ratanakiri', 'រតនគិរី'),
    ('17', 'province', 'Siem Reap', 'សៀមរាប'),
    ('18', 'province', 'Preah Sihanouk', 'ព្រះសីហនុ'),
    ('19', 'province', 'Stung Treng', 'ស្ទឹងត្រែង'),
    ('20', 'province', 'Svay Rieng', 'ស្វាយរៀង'),
    ('21', 'province', 'Takéo', 'តាកែវ'),
    ('22', 'province', 'Oddar Meanchey', 'ឧត្តរមានជ័យ'),
    ('23', 'province', 'Kep', 'កែប'),
    ('24', 'province', 'Pailin', 'ប៉ៃលិន'),
    ('25', 'province', 'Tboung Khmum', 'ត្បូងឃ្មុំ');

insert into districts (code, province_code, type, name_en, name_km) values
    ('0201', '02', 'district', 'Banan', 'បាណន់'),
    ('0202', '02', 'district', 'Thma Koul', 'ថ្មគោល'),
    ('0203', '02', 'municipality', 'Battambang', 'បាត់ដំបង'),
    ('0204', '02', 'district', 'Bavel', 'បវេល'),
    ('0205', '02', 'district', 'Aek Phnum', 'ឯកភ្នំ'),
    ('0206', '02', 'district', 'Moung Ruessei', 'មោងឫស្សី'),
    ('0207', '02', 'district', 'Rotonak Mondol', 'រតនមណ្ឌល'),
    ('0208', '02', 'district', 'Sangkae', 'សង្កែ'),
    ('0209', '02', 'district', 'Samlout', 'សំឡូត'),
    ('0210', '02', 'district', 'Sampov Lun', 'សំពៅលូន'),
    ('0211', '02', 'district', 'Phnum Proek', 'ភ្នំព្រឹក'),
    ('0212', '02', 'district', 'Kamrieng', 'កំរៀង'),
    ('0213', '02', 'district', 'Koas Krala', 'គាស់ក្រឡ'),
    ('0214', '02', 'district', 'Rukh Kiri', 'រុក្ខគិរី');
