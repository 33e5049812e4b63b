//! Gazetteer import from CSV (`code,parent_code,type,name_en,name_km`): every line
//! is checked first, and the whole import is written in one transaction or not
//! at all. Rows are upserted by code, so importing the same file twice changes
//! nothing. GeoJSON files among the sources bring district boundaries for the
//! dashboard map (see `shapes`), written in the same transaction.

use std::collections::{HashMap, HashSet};

use sqlx::PgPool;

use super::shapes::{self, Shape};

const HEADER: [&str; 5] = ["code", "parent_code", "type", "name_en", "name_km"];
const MAX_NAME: usize = 200;

/// One file to import, with the name its errors are reported under.
pub struct Source {
    pub name: String,
    pub bytes: Vec<u8>,
}

/// A line that cannot be imported. `line` counts from 1, the header being line 1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineError {
    pub file: String,
    pub line: u64,
    /// A message key; `detail` fills its `{ $value }`.
    pub key: &'static str,
    pub detail: String,
}

/// How many rows of each level were new or changed, and how many were left as they were.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Summary {
    pub provinces: u64,
    pub districts: u64,
    pub communes: u64,
    pub unchanged: u64,
    /// District boundaries imported or replaced.
    pub shapes: u64,
    /// Other spellings of district names added.
    pub aliases: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Level {
    Province,
    District,
    Commune,
}

#[derive(Debug)]
struct Unit {
    level: Level,
    code: String,
    parent: String,
    kind: String,
    name_en: String,
    name_km: String,
    file: String,
    line: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("{} bad line(s)", .0.len())]
    Invalid(Vec<LineError>),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// Checks every line of every source, then writes them all, or nothing.
pub async fn import(pool: &PgPool, sources: &[Source]) -> Result<Summary, ImportError> {
    let mut errors = Vec::new();
    let mut units = Vec::new();
    let mut boundaries = Vec::new();
    let mut aliases = Vec::new();
    for source in sources {
        if source.is_aliases() {
            let (mut parsed, mut bad) = parse_aliases(source);
            aliases.append(&mut parsed);
            errors.append(&mut bad);
        } else if source.is_geojson() {
            let (mut parsed, mut bad) = shapes::parse(&source.name, &source.bytes);
            boundaries.extend(parsed.drain(..).map(|shape| (source.name.clone(), shape)));
            errors.append(&mut bad);
        } else {
            let (mut parsed, mut bad) = parse(source);
            units.append(&mut parsed);
            errors.append(&mut bad);
        }
    }
    check_codes_and_parents(pool, &units, &boundaries, &aliases, &mut errors).await?;
    if !errors.is_empty() {
        return Err(ImportError::Invalid(errors));
    }
    write(pool, &units, &boundaries, &aliases).await
}

/// Another spelling of a district's name, from a `code,alias` CSV.
#[derive(Debug)]
struct Alias {
    file: String,
    line: u64,
    code: String,
    alias: String,
}

/// The header of a file of other spellings.
const ALIAS_HEADER: [&str; 2] = ["code", "alias"];

fn parse_aliases(source: &Source) -> (Vec<Alias>, Vec<LineError>) {
    let error = |line: u64, key: &'static str, detail: String| LineError {
        file: source.name.clone(),
        line,
        key,
        detail,
    };
    let Ok(text) = std::str::from_utf8(&source.bytes) else {
        return (Vec::new(), vec![error(1, "import-not-utf8", String::new())]);
    };
    if text.contains('\0') {
        return (Vec::new(), vec![error(1, "import-not-utf8", String::new())]);
    }
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut aliases = Vec::new();
    let mut errors = Vec::new();
    for record in reader.records() {
        let Ok(record) = record else {
            errors.push(error(0, "import-unreadable", String::new()));
            continue;
        };
        let line = record.position().map_or(0, |position| position.line());
        let field = |index: usize| record.get(index).unwrap_or_default().trim().to_owned();
        let (code, alias) = (field(0), field(1));
        if record.len() != ALIAS_HEADER.len() {
            errors.push(error(line, "import-field-count", record.len().to_string()));
        } else if code.len() != 4 || !code.chars().all(|c| c.is_ascii_digit()) {
            errors.push(error(line, "import-bad-code", code));
        } else if alias.is_empty() || alias.chars().count() > MAX_NAME {
            errors.push(error(line, "import-missing-name", code));
        } else {
            aliases.push(Alias {
                file: source.name.clone(),
                line,
                code,
                alias,
            });
        }
    }
    (aliases, errors)
}

impl Source {
    /// Other spellings come as a CSV whose header is `code,alias`.
    fn is_aliases(&self) -> bool {
        let text = String::from_utf8_lossy(&self.bytes);
        let header = text
            .trim_start_matches('\u{feff}')
            .lines()
            .next()
            .unwrap_or_default();
        header.split(',').map(str::trim).eq(ALIAS_HEADER)
    }

    /// District boundaries come as GeoJSON; everything else is gazetteer CSV.
    fn is_geojson(&self) -> bool {
        let name = self.name.to_lowercase();
        name.ends_with(".geojson")
            || name.ends_with(".json")
            || self.bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{')
    }
}

/// The lines of one file that can be imported, and the ones that cannot.
fn parse(source: &Source) -> (Vec<Unit>, Vec<LineError>) {
    let error = |line: u64, key: &'static str, detail: String| LineError {
        file: source.name.clone(),
        line,
        key,
        detail,
    };
    let text = match std::str::from_utf8(&source.bytes) {
        Ok(text) => text.strip_prefix('\u{feff}').unwrap_or(text),
        Err(utf8) => {
            let line = source.bytes[..utf8.valid_up_to()]
                .iter()
                .filter(|b| **b == b'\n')
                .count() as u64
                + 1;
            return (
                Vec::new(),
                vec![error(line, "import-not-utf8", String::new())],
            );
        }
    };
    // A NUL byte means a binary file, and PostgreSQL stores no NUL in text.
    if let Some(at) = text.find('\0') {
        let line = text[..at].matches('\n').count() as u64 + 1;
        return (
            Vec::new(),
            vec![error(line, "import-not-utf8", String::new())],
        );
    }
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_reader(text.as_bytes());
    let header_ok = reader
        .headers()
        .is_ok_and(|header| header.iter().map(str::trim).eq(HEADER));
    if !header_ok {
        return (
            Vec::new(),
            vec![error(1, "import-bad-header", HEADER.join(","))],
        );
    }
    let mut units = Vec::new();
    let mut errors = Vec::new();
    for record in reader.records() {
        let record = match record {
            Ok(record) => record,
            Err(csv_error) => {
                let line = csv_error.position().map_or(0, |position| position.line());
                errors.push(error(line, "import-unreadable", String::new()));
                continue;
            }
        };
        let line = record.position().map_or(0, |position| position.line());
        match parse_unit(&record) {
            Ok(mut unit) => {
                unit.file = source.name.clone();
                unit.line = line;
                units.push(unit);
            }
            Err((key, detail)) => errors.push(error(line, key, detail)),
        }
    }
    (units, errors)
}

fn parse_unit(record: &csv::StringRecord) -> Result<Unit, (&'static str, String)> {
    if record.len() != HEADER.len() {
        return Err(("import-field-count", record.len().to_string()));
    }
    let field = |index: usize| record.get(index).unwrap_or_default().trim().to_owned();
    let (code, parent, kind, name_en, name_km) = (field(0), field(1), field(2), field(3), field(4));
    if !code.chars().all(|c| c.is_ascii_digit()) || ![2, 4, 6].contains(&code.len()) {
        return Err(("import-bad-code", code));
    }
    let level = match code.len() {
        2 => Level::Province,
        4 => Level::District,
        _ => Level::Commune,
    };
    let allowed_kinds: &[&str] = match level {
        Level::Province => &["province", "capital"],
        Level::District => &["municipality", "district", "khan"],
        Level::Commune => &["commune", "sangkat"],
    };
    if !allowed_kinds.contains(&kind.as_str()) {
        return Err(("import-bad-type", kind));
    }
    let expected_parent = &code[..code.len() - 2];
    if parent != expected_parent {
        return Err(("import-bad-parent", parent));
    }
    if name_en.is_empty() {
        return Err(("import-missing-name", code));
    }
    if name_en.chars().count() > MAX_NAME || name_km.chars().count() > MAX_NAME {
        return Err(("import-name-too-long", code));
    }
    Ok(Unit {
        level,
        code,
        parent,
        kind,
        name_en,
        name_km,
        file: String::new(),
        line: 0,
    })
}

/// Every code once, every parent either already known or in the import, and
/// every boundary of a known district.
async fn check_codes_and_parents(
    pool: &PgPool,
    units: &[Unit],
    boundaries: &[(String, Shape)],
    aliases: &[Alias],
    errors: &mut Vec<LineError>,
) -> Result<(), sqlx::Error> {
    let mut known: HashSet<String> =
        sqlx::query_scalar!("select code from provinces union all select code from districts")
            .fetch_all(pool)
            .await?
            .into_iter()
            .flatten()
            .collect();
    let mut first_seen: HashMap<&str, (&str, u64)> = HashMap::new();
    for unit in units {
        if let Some((file, line)) = first_seen.insert(&unit.code, (&unit.file, unit.line)) {
            errors.push(LineError {
                file: unit.file.clone(),
                line: unit.line,
                key: "import-duplicate-code",
                detail: format!("{} ({file}:{line})", unit.code),
            });
        }
        if unit.level != Level::Commune {
            known.insert(unit.code.clone());
        }
    }
    for unit in units {
        if unit.level != Level::Province && !known.contains(&unit.parent) {
            errors.push(LineError {
                file: unit.file.clone(),
                line: unit.line,
                key: "import-unknown-parent",
                detail: unit.parent.clone(),
            });
        }
    }
    let mut outlined = HashSet::new();
    for (file, shape) in boundaries {
        if !outlined.insert(&shape.code) {
            errors.push(LineError {
                file: file.clone(),
                line: shape.feature,
                key: "import-duplicate-code",
                detail: shape.code.clone(),
            });
        }
        if !known.contains(&shape.code) {
            errors.push(LineError {
                file: file.clone(),
                line: shape.feature,
                key: "import-unknown-district",
                detail: shape.code.clone(),
            });
        }
    }
    for alias in aliases.iter().filter(|alias| !known.contains(&alias.code)) {
        errors.push(LineError {
            file: alias.file.clone(),
            line: alias.line,
            key: "import-unknown-district",
            detail: alias.code.clone(),
        });
    }
    errors.sort_by(|a, b| (&a.file, a.line).cmp(&(&b.file, b.line)));
    Ok(())
}

/// The columns of one level, as arrays for `unnest`.
#[derive(Default)]
struct Columns {
    codes: Vec<String>,
    parents: Vec<String>,
    kinds: Vec<String>,
    names_en: Vec<String>,
    names_km: Vec<String>,
}

fn columns(units: &[Unit], level: Level) -> Columns {
    let mut columns = Columns::default();
    for unit in units.iter().filter(|unit| unit.level == level) {
        columns.codes.push(unit.code.clone());
        columns.parents.push(unit.parent.clone());
        columns.kinds.push(unit.kind.clone());
        columns.names_en.push(unit.name_en.clone());
        columns.names_km.push(unit.name_km.clone());
    }
    columns
}

async fn write(
    pool: &PgPool,
    units: &[Unit],
    boundaries: &[(String, Shape)],
    aliases: &[Alias],
) -> Result<Summary, ImportError> {
    let mut tx = pool.begin().await?;
    let p = columns(units, Level::Province);
    let provinces = sqlx::query!(
        "insert into provinces (code, type, name_en, name_km)
         select * from unnest($1::text[], $2::text[], $3::text[], $4::text[])
         on conflict (code) do update
             set type = excluded.type, name_en = excluded.name_en, name_km = excluded.name_km
             where (provinces.type, provinces.name_en, provinces.name_km)
                   is distinct from (excluded.type, excluded.name_en, excluded.name_km)",
        &p.codes,
        &p.kinds,
        &p.names_en,
        &p.names_km,
    )
    .execute(&mut *tx)
    .await?
    .rows_affected();
    let d = columns(units, Level::District);
    let districts = sqlx::query!(
        "insert into districts (code, province_code, type, name_en, name_km)
         select * from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[])
         on conflict (code) do update
             set type = excluded.type, name_en = excluded.name_en, name_km = excluded.name_km
             where (districts.type, districts.name_en, districts.name_km)
                   is distinct from (excluded.type, excluded.name_en, excluded.name_km)",
        &d.codes,
        &d.parents,
        &d.kinds,
        &d.names_en,
        &d.names_km,
    )
    .execute(&mut *tx)
    .await?
    .rows_affected();
    let c = columns(units, Level::Commune);
    let communes = sqlx::query!(
        "insert into communes (code, district_code, type, name_en, name_km)
         select * from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[])
         on conflict (code) do update
             set type = excluded.type, name_en = excluded.name_en, name_km = excluded.name_km
             where (communes.type, communes.name_en, communes.name_km)
                   is distinct from (excluded.type, excluded.name_en, excluded.name_km)",
        &c.codes,
        &c.parents,
        &c.kinds,
        &c.names_en,
        &c.names_km,
    )
    .execute(&mut *tx)
    .await?
    .rows_affected();
    let shapes = write_shapes(&mut tx, boundaries).await?;
    let (codes, names): (Vec<String>, Vec<String>) = aliases
        .iter()
        .map(|alias| (alias.code.clone(), alias.alias.clone()))
        .unzip();
    let aliases = sqlx::query!(
        "insert into district_aliases (district_code, alias)
         select * from unnest($1::text[], $2::text[]) on conflict do nothing",
        &codes,
        &names,
    )
    .execute(&mut *tx)
    .await?
    .rows_affected();
    tx.commit().await?;
    let changed = provinces + districts + communes;
    Ok(Summary {
        provinces,
        districts,
        communes,
        unchanged: units.len() as u64 - changed,
        shapes,
        aliases,
    })
}

async fn write_shapes(
    tx: &mut sqlx::PgConnection,
    boundaries: &[(String, Shape)],
) -> Result<u64, sqlx::Error> {
    if boundaries.is_empty() {
        return Ok(0);
    }
    let column =
        |pick: fn(&Shape) -> f32| boundaries.iter().map(|(_, s)| pick(s)).collect::<Vec<_>>();
    let codes: Vec<String> = boundaries.iter().map(|(_, s)| s.code.clone()).collect();
    let paths: Vec<String> = boundaries.iter().map(|(_, s)| s.path.clone()).collect();
    Ok(sqlx::query!(
        "insert into district_shapes (district_code, path, min_x, min_y, max_x, max_y)
         select * from unnest($1::text[], $2::text[], $3::real[], $4::real[], $5::real[], $6::real[])
         on conflict (district_code) do update
             set path = excluded.path, min_x = excluded.min_x, min_y = excluded.min_y,
                 max_x = excluded.max_x, max_y = excluded.max_y, imported_at = now()",
        &codes,
        &paths,
        &column(|s| s.min_x),
        &column(|s| s.min_y),
        &column(|s| s.max_x),
        &column(|s| s.max_y),
    )
    .execute(&mut *tx)
    .await?
    .rows_affected())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errors_in(text: &[u8]) -> Vec<LineError> {
        parse(&Source {
            name: "t.csv".into(),
            bytes: text.to_vec(),
        })
        .1
    }

    #[test]
    fn every_bad_line_is_reported_by_number() {
        let errors = errors_in(
            "code,parent_code,type,name_en,name_km\n\
             0201,02,district,Banan,បាណន់\n\
             021,02,district,Short,\n\
             0299,02,village,Nowhere,\n\
             020101,0202,commune,Wrong parent,\n"
                .as_bytes(),
        );
        let found: Vec<(u64, &str)> = errors.iter().map(|e| (e.line, e.key)).collect();
        assert_eq!(
            found,
            [
                (3, "import-bad-code"),
                (4, "import-bad-type"),
                (5, "import-bad-parent")
            ]
        );
    }

    #[test]
    fn a_wrong_header_or_broken_utf8_is_refused() {
        let errors = errors_in(b"code,name\n01,Somewhere\n");
        assert_eq!(errors[0].key, "import-bad-header");
        let mut bytes =
            b"code,parent_code,type,name_en,name_km\n01,,province,Ok,\n02,,province,Bad".to_vec();
        bytes.push(0xff);
        let errors = errors_in(&bytes);
        assert_eq!((errors[0].line, errors[0].key), (3, "import-not-utf8"));
    }
}
