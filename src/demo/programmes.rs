//! The coalition's wider work in 2025, from its own posts: the project
//! "Strengthening Transparency…" closed at a national workshop in Phnom Penh
//! (18 September), an orientation on the GEF Small Grants Programme in Siem
//! Reap (2–4 September), an MoU with ThanksCarbon signed at the coalition's
//! office (9 July, 6 participants) and MoUs with the Provincial Departments
//! of Agriculture, Forestry and Fisheries of Pursat (4 July, 13) and Kampong
//! Speu (3 July, 14). Counts the posts do not give, budgets, periods and the
//! full titles are illustrative, and say so.

use sqlx::PgConnection;

/// The organizations met in the posts: (name, acronym, kind).
const ORGANIZATIONS: [(&str, &str, &str); 6] = [
    ("United Nations Development Programme", "UNDP", "donor"),
    (
        "National Committee for Sub-National Democratic Development",
        "NCDD",
        "government",
    ),
    ("GEF Small Grants Programme", "GEF SGP", "donor"),
    ("ThanksCarbon", "ThanksCarbon", "company"),
    (
        "Pursat Provincial Department of Agriculture, Forestry and Fisheries",
        "PDAFF Pursat",
        "government",
    ),
    (
        "Kampong Speu Provincial Department of Agriculture, Forestry and Fisheries",
        "PDAFF Kampong Speu",
        "government",
    ),
];

/// An event of the posts: title, kind, level, province, first and last day,
/// venue, partners' acronyms, project, agreement (by title), counts as
/// (kind of organization, female, male), and whether it is told as news.
struct Held {
    title_en: &'static str,
    title_km: &'static str,
    kind: &'static str,
    level: &'static str,
    province: Option<&'static str>,
    days: (&'static str, &'static str),
    venue: &'static str,
    summary: &'static str,
    partners: &'static [&'static str],
    project: Option<&'static str>,
    agreement: Option<&'static str>,
    counts: &'static [(&'static str, i32, i32)],
    news: bool,
}

const TRANSPARENCY: &str = "Strengthening Transparency and Accountability of Sub-National Administrations (illustrative full title)";
const SMALL_GRANTS: &str =
    "GEF Small Grants Programme: community projects 2025–2026 (illustrative)";
const CARBON: &str =
    "Community forests and carbon in Takeo, Kampong Speu and Pursat (illustrative title)";
const CARBON_MOU: &str = "MoU between CPDD and ThanksCarbon";
const PURSAT_MOU: &str = "MoU between CPDD and the Pursat PDAFF";
const KAMPONG_SPEU_MOU: &str = "MoU between CPDD and the Kampong Speu PDAFF";

const EVENTS: [Held; 5] = [
    Held {
        title_en: "National workshop: results and closing of the project “Strengthening Transparency…”",
        title_km: "សិក្ខាសាលាថ្នាក់ជាតិ៖ ផ្សព្វផ្សាយលទ្ធផល និងបិទគម្រោង",
        kind: "workshop",
        level: "national",
        province: None,
        days: ("2025-09-18", "2025-09-18"),
        venue: "A hotel in Phnom Penh",
        summary: "With NCDD and UNDP, the coalition disseminated the project's results and officially closed it. Counts by kind of organization are illustrative.",
        partners: &["NCDD", "UNDP"],
        project: Some(TRANSPARENCY),
        agreement: None,
        counts: &[
            ("government", 9, 18),
            ("sna", 6, 14),
            ("cso", 12, 10),
            ("development_partner", 3, 2),
            ("citizen", 5, 3),
        ],
        news: true,
    },
    Held {
        title_en: "Orientation workshop on the GEF Small Grants Programme and project management",
        title_km: "សិក្ខាសាលាតម្រង់ទិសស្ដីពីកម្មវិធីជំនួយតូចៗ GEF និងការគ្រប់គ្រងគម្រោង",
        kind: "orientation",
        level: "provincial",
        province: Some("17"),
        days: ("2025-09-02", "2025-09-04"),
        venue: "Siem Reap",
        summary: "Three days of updates on the GEF Small Grants Programme and guidance on managing projects, focused on the Memorandum of Understanding. Counts are illustrative.",
        partners: &["GEF SGP"],
        project: Some(SMALL_GRANTS),
        agreement: None,
        counts: &[("cso", 11, 9), ("cbo", 6, 4), ("development_partner", 1, 1)],
        news: true,
    },
    Held {
        title_en: "Signing of the MoU with ThanksCarbon",
        title_km: "ពិធីចុះហត្ថលេខាលើអនុស្សរណៈជាមួយ ThanksCarbon",
        kind: "signing",
        level: "national",
        province: None,
        days: ("2025-07-09", "2025-07-09"),
        venue: "The coalition's office, Phnom Penh",
        summary: "The coalition and ThanksCarbon signed an MoU for a project in Takeo, Kampong Speu and Pursat. Six took part; their split by sex is illustrative.",
        partners: &["ThanksCarbon"],
        project: Some(CARBON),
        agreement: Some(CARBON_MOU),
        counts: &[("cso", 2, 2), ("private_sector", 1, 1)],
        news: true,
    },
    Held {
        title_en: "MoU meeting with the Pursat Provincial Department of Agriculture, Forestry and Fisheries",
        title_km: "កិច្ចប្រជុំចុះអនុស្សរណៈជាមួយមន្ទីរកសិកម្ម រុក្ខាប្រមាញ់ និងនេសាទខេត្តពោធិ៍សាត់",
        kind: "signing",
        level: "provincial",
        province: Some("15"),
        days: ("2025-07-04", "2025-07-04"),
        venue: "Pursat PDAFF",
        summary: "Thirteen took part; their split by sex and organization is illustrative.",
        partners: &["PDAFF Pursat"],
        project: Some(CARBON),
        agreement: Some(PURSAT_MOU),
        counts: &[("government", 3, 6), ("cso", 2, 2)],
        news: false,
    },
    Held {
        title_en: "MoU meeting with the Kampong Speu Provincial Department of Agriculture, Forestry and Fisheries",
        title_km: "កិច្ចប្រជុំចុះអនុស្សរណៈជាមួយមន្ទីរកសិកម្ម រុក្ខាប្រមាញ់ និងនេសាទខេត្តកំពង់ស្ពឺ",
        kind: "signing",
        level: "provincial",
        province: Some("05"),
        days: ("2025-07-03", "2025-07-03"),
        venue: "Kampong Speu PDAFF",
        summary: "Fourteen took part; their split by sex and organization is illustrative.",
        partners: &["PDAFF Kampong Speu"],
        project: Some(CARBON),
        agreement: Some(KAMPONG_SPEU_MOU),
        counts: &[("government", 4, 6), ("cso", 2, 2)],
        news: false,
    },
];

pub async fn load(tx: &mut PgConnection, secretariat_user: i64) -> Result<(), sqlx::Error> {
    for (name, acronym, kind) in ORGANIZATIONS {
        sqlx::query!(
            "insert into organizations (name_en, acronym, kind) values ($1, $2, $3)",
            name,
            acronym,
            kind
        )
        .execute(&mut *tx)
        .await?;
    }
    projects(tx).await?;
    agreements(tx).await?;
    for held in &EVENTS {
        event(tx, held, secretariat_user).await?;
    }
    Ok(())
}

/// The three projects: CTOD worked in the first (the Battambang study of
/// 2021 is its field work), which the demo donor co-funded; the third is
/// published, so everyone signed in reads it.
async fn projects(tx: &mut PgConnection) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"with planned (title_en, title_km, starts_on, ends_on, budget, currency, status, published,
                         funders, partners, provinces) as (values
               ($1, 'ពង្រឹងតម្លាភាព និងគណនេយ្យភាពរបស់រដ្ឋបាលថ្នាក់ក្រោមជាតិ', date '2021-01-01', date '2025-09-30',
                480000::bigint, 'USD', 'closed', false, array['UNDP', 'DDP'], array['NCDD', 'CTOD'], array['02']),
               ($2, 'កម្មវិធីជំនួយតូចៗ GEF៖ គម្រោងសហគមន៍ ២០២៥–២០២៦', date '2025-01-01', date '2026-12-31',
                150000::bigint, 'USD', 'active', false, array['GEF SGP'], array[]::text[], array['17']),
               ($3, 'ព្រៃសហគមន៍ និងកាបូននៅខេត្តតាកែវ កំពង់ស្ពឺ និងពោធិ៍សាត់', date '2025-07-01', date '2028-06-30',
                null::bigint, 'USD', 'active', true, array[]::text[], array['ThanksCarbon', 'PDAFF Pursat', 'PDAFF Kampong Speu'],
                array['21', '05', '15'])),
           made as (
               insert into projects (title_en, title_km, lead_organization_id, starts_on, ends_on, budget, currency, status, published)
               select p.title_en, p.title_km, o.id, p.starts_on, p.ends_on, p.budget, p.currency, p.status, p.published
               from planned p, organizations o where o.acronym = 'CPDD'
               returning id, title_en),
           taking_part as (
               insert into project_organizations (project_id, organization_id, role)
               select m.id, o.id, r.role from made m join planned p using (title_en)
               cross join lateral (select 'funder' as role, unnest(p.funders) as acronym
                                   union all select 'partner', unnest(p.partners)) r
               join organizations o on o.acronym = r.acronym),
           covered as (
               insert into project_provinces (project_id, province_code)
               select m.id, unnest(p.provinces) from made m join planned p using (title_en))
           update studies set project_id = (select id from made where title_en = $1)
           where province_code = '02' and period_start < date '2022-01-01'"#,
        TRANSPARENCY,
        SMALL_GRANTS,
        CARBON,
    )
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// The three MoUs of July 2025, signed (valid for three years, an
/// illustrative term), and a letter of intent with NCDD still a draft.
async fn agreements(tx: &mut PgConnection) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"with planned (kind, title_en, title_km, project, signed_on, party, provinces) as (values
               ('mou', $1, 'អនុស្សរណៈរវាង CPDD និង ThanksCarbon', $4, date '2025-07-09', 'ThanksCarbon', array['21', '05', '15']),
               ('mou', $2, 'អនុស្សរណៈរវាង CPDD និងមន្ទីរកសិកម្ម រុក្ខាប្រមាញ់ និងនេសាទខេត្តពោធិ៍សាត់', $4, date '2025-07-04', 'PDAFF Pursat', array['15']),
               ('mou', $3, 'អនុស្សរណៈរវាង CPDD និងមន្ទីរកសិកម្ម រុក្ខាប្រមាញ់ និងនេសាទខេត្តកំពង់ស្ពឺ', $4, date '2025-07-03', 'PDAFF Kampong Speu', array['05']),
               ('letter_of_intent', 'Letter of intent with NCDD on a second phase (illustrative draft)',
                'លិខិតបង្ហាញចេតនាជាមួយ គ.ជ.អ.ប ស្ដីពីដំណាក់កាលទីពីរ (សេចក្ដីព្រាង ឧទាហរណ៍)', $5, null::date, 'NCDD', array['02'])),
           made as (
               insert into agreements (kind, title_en, title_km, project_id, signed_on, valid_until, status)
               select p.kind, p.title_en, p.title_km, j.id, p.signed_on,
                      (p.signed_on + interval '3 years' - interval '1 day')::date,
                      case when p.signed_on is null then 'draft' else 'signed' end
               from planned p join projects j on j.title_en = p.project
               returning id, title_en),
           parties as (
               insert into agreement_parties (agreement_id, organization_id)
               select m.id, o.id from made m join planned p using (title_en)
               join organizations o on o.acronym in ('CPDD', p.party))
           insert into agreement_provinces (agreement_id, province_code)
           select m.id, unnest(p.provinces) from made m join planned p using (title_en)"#,
        CARBON_MOU,
        PURSAT_MOU,
        KAMPONG_SPEU_MOU,
        CARBON,
        TRANSPARENCY,
    )
    .execute(&mut *tx)
    .await?;
    Ok(())
}

async fn event(
    tx: &mut PgConnection,
    held: &Held,
    secretariat_user: i64,
) -> Result<(), sqlx::Error> {
    let kinds: Vec<String> = held
        .counts
        .iter()
        .map(|(kind, ..)| kind.to_string())
        .collect();
    let female: Vec<i32> = held.counts.iter().map(|(_, female, _)| *female).collect();
    let male: Vec<i32> = held.counts.iter().map(|(.., male)| *male).collect();
    let partners: Vec<String> = held.partners.iter().map(|p| p.to_string()).collect();
    let id = sqlx::query_scalar!(
        r#"insert into events (kind, level, title_en, title_km, starts_on, ends_on, province_code, venue,
                               summary_en, organizer_id, project_id, agreement_id, created_by)
           select $1, $2, $3, $4, $5::text::date, $6::text::date, $7, $8, $9,
                  (select id from organizations where acronym = 'CPDD'),
                  (select id from projects where title_en = $10),
                  (select id from agreements where title_en = $11), $12
           returning id"#,
        held.kind,
        held.level,
        held.title_en,
        held.title_km,
        held.days.0,
        held.days.1,
        held.province,
        held.venue,
        held.summary,
        held.project,
        held.agreement,
        secretariat_user,
    )
    .fetch_one(&mut *tx)
    .await?;
    sqlx::query!(
        "with partners as (
             insert into event_partners (event_id, organization_id)
             select $1, id from organizations where acronym = any($2))
         insert into event_participants (event_id, organization_kind, sex, count)
         select $1, c.kind, s.sex, case s.sex when 'female' then c.female else c.male end
         from unnest($3::text[], $4::int[], $5::int[]) c(kind, female, male),
              (values ('female'), ('male')) s(sex)",
        id,
        &partners,
        &kinds,
        &female,
        &male,
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query!("select refresh_event_participants($1)", id)
        .execute(&mut *tx)
        .await?;
    if held.news {
        sqlx::query!(
            "insert into news_items (event_id, headline_en, headline_km, body_en, published_at)
             values ($1, $2, $3, $4, $5::text::date + time '17:00' at time zone 'Asia/Phnom_Penh')",
            id,
            held.title_en,
            held.title_km,
            held.summary,
            held.days.1,
        )
        .execute(&mut *tx)
        .await?;
    }
    Ok(())
}
