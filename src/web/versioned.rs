//! The one way an edit is saved (docs/records.md): the form carries the version
//! of the record it was loaded at, parsed here once; the save applies only
//! while the record is still at that version (`… where id = $1 and version =
//! $2 returning version`); otherwise the user gets 409, the form with their
//! input kept, and the fields that someone else saved meanwhile.

use crate::error::AppError;
use crate::web::Ctx;

/// The version of a record a form was loaded at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Version(i32);

impl Version {
    /// The form's hidden `version` field. Our pages always send a number; a
    /// request without one was not sent by them.
    pub fn parse(text: &str) -> Result<Version, AppError> {
        text.trim()
            .parse()
            .map(Version)
            .map_err(|_| AppError::BadRequest)
    }

    pub fn number(self) -> i32 {
        self.0
    }
}

/// A field of a form as the conflict box names it: its label, and its value.
pub type Field = (String, String);

/// The fields whose stored value is no longer what the user sent: what someone
/// else saved while they were editing.
pub fn changed_since(stored: Vec<Field>, sent: &[Field]) -> Vec<Field> {
    stored
        .into_iter()
        .filter(|field| !sent.contains(field))
        .collect()
}

/// A form that names its fields and carries the version of the record it
/// was drawn at.
pub trait VersionedForm: Sized {
    /// The form's values as the conflict box names them.
    fn labelled(&self, ctx: &Ctx) -> Vec<Field>;

    /// This form's input, at the version of `stored`.
    fn at_version_of(self, stored: &Self) -> Self;
}

/// A save that found the record moved on since its form was drawn: the
/// user's input, now at the stored version (so that saving it again overrides
/// the other save on purpose, not by accident), and what was saved meanwhile.
pub fn conflict<F: VersionedForm>(ctx: &Ctx, stored: &F, sent: F) -> (F, Vec<Field>) {
    let theirs = changed_since(stored.labelled(ctx), &sent.labelled(ctx));
    (sent.at_version_of(stored), theirs)
}

/// The names of the fields a save changed, for the audit log: "Title, Due".
pub fn changed_names(saved: Vec<Field>, before: &[Field]) -> String {
    changed_since(saved, before)
        .into_iter()
        .map(|(label, _)| label)
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_numbers_and_changes_are_named() {
        assert_eq!(Version::parse(" 3 ").ok().map(Version::number), Some(3));
        assert!(Version::parse("3; drop").is_err());
        assert!(Version::parse("").is_err());
        let field = |label: &str, value: &str| (label.to_owned(), value.to_owned());
        assert_eq!(
            changed_since(
                vec![field("Name", "Bavel"), field("Code", "0204")],
                &[field("Name", "Banan"), field("Code", "0204")]
            ),
            [field("Name", "Bavel")]
        );
    }
}
