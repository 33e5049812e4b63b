//! Who reads figures: what they may read decides what is counted, and the
//! policy decides where they see small counts of people exactly. The
//! dashboard, the exports, the study report and the public pages count for a
//! reader.

use super::policy::{self, Action, Principal, Scope};

/// Whose figures these are: what they may read decides what is counted, and
/// the policy decides where they see small counts of people exactly.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Reader {
    /// Unpublished records everywhere (the secretariat).
    pub everywhere: bool,
    /// Districts whose unpublished records the reader may see.
    pub own_districts: Vec<String>,
    /// Figures that span the selection show small counts as "<5" (`disclosure`).
    pub blurs_small_counts: bool,
    /// Districts whose own records show small counts exactly, where the rest
    /// of the selection does not (an NGO's own districts).
    exact_districts: Vec<String>,
}

impl Reader {
    /// The reader of figures that span `district` (`""`: every district).
    pub fn of(user: &impl Principal, district: &str) -> Self {
        let scope = policy::unpublished_read_scope(user);
        let exact = |district: &str| {
            policy::allows(user, Action::ReadSmallCounts, Scope::District(district))
        };
        let blurs_small_counts = if district.is_empty() {
            !policy::allows(user, Action::ReadSmallCounts, Scope::Anything)
        } else {
            !exact(district)
        };
        Reader {
            everywhere: scope.everywhere,
            exact_districts: user
                .districts()
                .iter()
                .filter(|district| exact(district))
                .cloned()
                .collect(),
            own_districts: scope.districts,
            blurs_small_counts,
        }
    }

    /// Do one district's records show small counts as "<5" to this reader?
    pub fn blurs_in(&self, district: &str) -> bool {
        self.blurs_small_counts && !self.exact_districts.iter().any(|code| code == district)
    }
}
