//! The exact content an official endorses, written down as canonical JSON, and
//! its SHA-256 fingerprint: recomputing it over the stored snapshot proves the
//! endorsed text has not changed since.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// What was endorsed. Field order is fixed by this struct, so the same content
/// always serializes to the same bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    pub list_id: i64,
    pub district_code: String,
    pub study_id: i64,
    pub list_version: i32,
    pub recommendations: Vec<Item>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Item {
    pub position: i32,
    pub text_en: String,
    pub text_km: String,
    pub addressee: String,
    pub theme: Option<String>,
    /// The theme's Khmer name; snapshots taken before it was kept lack it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub theme_km: Option<String>,
    pub evidence: Vec<i64>,
}

impl Snapshot {
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// The SHA-256 of the snapshot's text, in lowercase hex.
pub fn fingerprint(snapshot_json: &str) -> String {
    Sha256::digest(snapshot_json.as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// Reads the list's current content inside the endorsing transaction.
pub async fn take(tx: &mut sqlx::PgConnection, list_id: i64) -> Result<Snapshot, sqlx::Error> {
    let list = sqlx::query!(
        "select district_code, study_id, list_version from recommendation_lists where id = $1",
        list_id
    )
    .fetch_one(&mut *tx)
    .await?;
    let recommendations = sqlx::query!(
        r#"select r.position, r.text_en, r.text_km, r.addressee, t.name_en as "theme?", t.name_km as "theme_km?",
                  array(select e.finding_id from recommendation_evidence e
                        where e.recommendation_id = r.id order by e.finding_id) as "evidence!"
           from recommendations r left join themes t on t.id = r.theme_id
           where r.list_id = $1 order by r.position, r.id"#,
        list_id
    )
    .fetch_all(&mut *tx)
    .await?
    .into_iter()
    .map(|row| Item {
        position: row.position,
        text_en: row.text_en,
        text_km: row.text_km,
        addressee: row.addressee,
        theme: row.theme,
        theme_km: row.theme_km,
        evidence: row.evidence,
    })
    .collect();
    Ok(Snapshot {
        list_id,
        district_code: list.district_code,
        study_id: list.study_id,
        list_version: list.list_version,
        recommendations,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fingerprint_is_the_sha256_of_the_text() {
        assert_eq!(
            fingerprint("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn the_same_content_gives_the_same_text() {
        let snapshot = Snapshot {
            list_id: 1,
            district_code: "0203".into(),
            study_id: 1,
            list_version: 1,
            recommendations: vec![Item {
                position: 1,
                text_en: "Publish the budget".into(),
                text_km: String::new(),
                addressee: "sna".into(),
                theme: Some("Budget transparency".into()),
                theme_km: None,
                evidence: vec![3, 5],
            }],
        };
        let text = snapshot.to_json();
        assert_eq!(text, snapshot.clone().to_json());
        assert_eq!(serde_json::from_str::<Snapshot>(&text).ok(), Some(snapshot));
        assert!(
            !text.contains("theme_km"),
            "a snapshot without the Khmer name reads back as it was written"
        );
    }
}
