//! Who may do what (docs/design.md): a pure function of the user, the action and,
//! where it matters, the district. Handlers ask it before they act; templates ask
//! it what to show.

/// The five roles (docs/design.md), from the most to the least powerful.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    Admin,
    Secretariat,
    Ngo,
    Sna,
    Donor,
}

impl Role {
    pub const ALL: [Role; 5] = [
        Role::Admin,
        Role::Secretariat,
        Role::Ngo,
        Role::Sna,
        Role::Donor,
    ];

    pub fn parse(code: &str) -> Option<Self> {
        Role::ALL.into_iter().find(|role| role.code() == code)
    }

    pub fn code(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Secretariat => "secretariat",
            Role::Ngo => "ngo",
            Role::Sna => "sna",
            Role::Donor => "donor",
        }
    }

    /// The kind of organization a user of this role belongs to.
    pub fn organization_kind(self) -> &'static str {
        match self {
            Role::Admin | Role::Secretariat => "secretariat",
            Role::Ngo => "member_ngo",
            Role::Sna => "sna",
            Role::Donor => "donor",
        }
    }
}

/// What a user may ask to do. Later features add their own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Manage users, organizations and the gazetteer; read the audit log.
    Administer,
    /// Browse provinces, districts and communes.
    BrowseGeography,
    /// Create and edit studies and the list of themes.
    ManageStudies,
    /// Record or edit activities and their findings.
    RecordActivity,
    /// Read an activity's details and findings.
    ReadActivity,
    /// Create or edit a case study that is a draft, and submit it for review.
    WriteCaseStudy,
    /// Publish, return or archive a case study.
    ReviewCaseStudy,
    /// Read a case study.
    ReadCaseStudy,
    /// Read free text not marked public: activity summaries, places, internal
    /// findings, progress notes. The secretariat everywhere; NGO staff in their
    /// districts; officials in theirs, except what citizens said alone (FGDs,
    /// interviews) about their own administration. Ask it of a `Scope::FieldWork`.
    ReadInternalText,
    /// Draft a district's recommendation list and edit its recommendations.
    WriteRecommendations,
    /// Submit a list for endorsement, or reopen an endorsed one.
    SubmitRecommendations,
    /// Endorse or return a submitted list: only the district's own officials.
    EndorseList,
    /// Read a recommendation list; `published` means endorsed.
    ReadRecommendations,
    /// Mark endorsed recommendations as provincial or national priorities.
    SetPriorities,
    /// Create and edit action plans and their actions.
    ManagePlans,
    /// Report progress on an action, and attach its evidence: its owner
    /// organization's users and staff; for a joint action, also the NGO staff
    /// and officials of its district (who confirm each other's reports). Ask
    /// it of a `Scope::ActionOf`.
    ReportProgress,
    /// Remove a finding's text, history included, when it names someone.
    RedactFinding,
    /// Restore deleted field records from the bin, or purge them before their
    /// 30 days are up.
    EmptyBin,
    /// Send files (photos, minutes, evidence): anyone who may write somewhere.
    /// Who may attach to which record is asked of that record.
    UploadFiles,
    /// See counts of one to four people as they are (docs/disclosure.md): the
    /// secretariat, and NGO staff for their own districts. Everyone else sees
    /// "<5", with the counts that would give it back withheld (`disclosure`).
    /// Without a district the figures span districts.
    ReadSmallCounts,
    /// Create and edit projects, agreements and events, and publish events
    /// as news.
    ManageProgrammes,
    /// Read a project, an agreement, or the files of an event: the
    /// secretariat, the organizations that take part, and, when it is
    /// published, everyone signed in. Ask it of a `Scope::Programme`.
    ReadProgramme,
}

/// What an action is about: anything, or a record of one district, published
/// (visible beyond its district and to donors) or not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope<'a> {
    Anything,
    District(&'a str),
    Record {
        district: &'a str,
        published: bool,
    },
    /// An action of a plan, owned by the organization `owner`. A joint action
    /// names the district whose NGO staff and officials share it.
    ActionOf {
        owner: i64,
        joint_district: Option<&'a str>,
    },
    /// Field work of one district: `citizens_only` for what citizens said
    /// without officials present (`citizens_only`, the function).
    FieldWork {
        district: &'a str,
        citizens_only: bool,
    },
    /// A project, agreement or event: whether the user's organization takes
    /// part in it (leads, funds, partners, is a party), and whether it is
    /// published.
    Programme {
        takes_part: bool,
        published: bool,
    },
}

/// The kinds of activity at which citizens speak without officials present.
const CITIZENS_ONLY: [&str; 2] = ["fgd", "interview"];

/// Does an activity of this kind record citizens alone?
pub fn citizens_only(kind: &str) -> bool {
    CITIZENS_ONLY.contains(&kind)
}

/// The part of a user the policy looks at.
pub trait Principal {
    fn role(&self) -> Role;
    /// The districts the user acts in: an NGO's covered districts, or an SNA
    /// official's one district. Empty for the other roles.
    fn districts(&self) -> &[String];
    /// The organization the user belongs to.
    fn organization_id(&self) -> i64;
}

/// May `user` do `action` on what `scope` describes?
pub fn allows(user: &impl Principal, action: Action, scope: Scope) -> bool {
    let role = user.role();
    let staff = matches!(role, Role::Admin | Role::Secretariat);
    let own = |district: &str| user.districts().iter().any(|code| code == district);
    let (district, published) = match scope {
        Scope::Anything | Scope::ActionOf { .. } => (None, false),
        Scope::Programme { published, .. } => (None, published),
        Scope::District(code) | Scope::FieldWork { district: code, .. } => (Some(code), false),
        Scope::Record {
            district,
            published,
        } => (Some(district), published),
    };
    match action {
        Action::Administer => role == Role::Admin,
        Action::BrowseGeography => true,
        Action::ManageStudies
        | Action::ReviewCaseStudy
        | Action::SubmitRecommendations
        | Action::SetPriorities
        | Action::ManagePlans
        | Action::RedactFinding
        | Action::EmptyBin
        | Action::ManageProgrammes => staff,
        Action::ReadProgramme => {
            let takes_part = matches!(
                scope,
                Scope::Programme {
                    takes_part: true,
                    ..
                }
            );
            staff || takes_part || published
        }
        Action::ReportProgress => {
            let (owner, joint_district) = match scope {
                Scope::ActionOf {
                    owner,
                    joint_district,
                } => (Some(owner), joint_district),
                _ => (None, None),
            };
            staff
                || (matches!(role, Role::Ngo | Role::Sna)
                    && (owner == Some(user.organization_id()) || joint_district.is_some_and(own)))
        }
        Action::WriteRecommendations => staff || (role == Role::Ngo && district.is_none_or(own)),
        // Not even an administrator endorses on a district's behalf.
        Action::EndorseList => role == Role::Sna && district.is_some_and(own),
        Action::UploadFiles => role != Role::Donor,
        Action::ReadInternalText => {
            let citizens_only = matches!(
                scope,
                Scope::FieldWork {
                    citizens_only: true,
                    ..
                }
            );
            staff
                || (district.is_some_and(own)
                    && (role == Role::Ngo || (role == Role::Sna && !citizens_only)))
        }
        Action::ReadSmallCounts => staff || (role == Role::Ngo && district.is_some_and(own)),
        // Without a district, the question is whether the user may start one at all.
        Action::RecordActivity | Action::WriteCaseStudy => {
            staff || (role == Role::Ngo && district.is_none_or(own))
        }
        // Published material is for everyone signed in; the rest stays in its district.
        Action::ReadActivity | Action::ReadCaseStudy | Action::ReadRecommendations => {
            staff
                || published
                || (matches!(role, Role::Ngo | Role::Sna) && district.is_some_and(own))
        }
    }
}

/// Which unpublished records a user may read, in the form a list query takes:
/// everywhere, or only in these districts. Published records are for everyone.
#[derive(Debug, Clone)]
pub struct ReadScope {
    pub everywhere: bool,
    pub districts: Vec<String>,
}

/// The `ReadActivity` and `ReadCaseStudy` rules of `allows`, for lists.
pub fn unpublished_read_scope(user: &impl Principal) -> ReadScope {
    match user.role() {
        Role::Admin | Role::Secretariat => ReadScope {
            everywhere: true,
            districts: Vec::new(),
        },
        Role::Ngo | Role::Sna => ReadScope {
            everywhere: false,
            districts: user.districts().to_vec(),
        },
        Role::Donor => ReadScope {
            everywhere: false,
            districts: Vec::new(),
        },
    }
}

/// The `ReadInternalText` rule of `allows`, for queries over many districts:
/// the arguments of the SQL function `reads_internal_text`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct InternalScope {
    pub everywhere: bool,
    /// Districts where every internal text may be read.
    pub districts: Vec<String>,
    /// Districts where only the records of meetings with officials may be read.
    pub meeting_districts: Vec<String>,
}

impl InternalScope {
    /// The rule for one record.
    pub fn reads(&self, district: &str, citizens_only: bool) -> bool {
        let among = |districts: &[String]| districts.iter().any(|code| code == district);
        self.everywhere
            || among(&self.districts)
            || (!citizens_only && among(&self.meeting_districts))
    }

    /// Districts where some internal text may be read.
    pub fn any_districts(&self) -> Vec<String> {
        [self.districts.as_slice(), &self.meeting_districts].concat()
    }
}

pub fn internal_text_scope(user: &impl Principal) -> InternalScope {
    let staff = matches!(user.role(), Role::Admin | Role::Secretariat);
    let own = || user.districts().to_vec();
    InternalScope {
        everywhere: staff,
        districts: if user.role() == Role::Ngo {
            own()
        } else {
            Vec::new()
        },
        meeting_districts: if user.role() == Role::Sna {
            own()
        } else {
            Vec::new()
        },
    }
}

/// The `ReadProgramme` rule for lists: does the user read every project,
/// agreement and event file, published or not? Everyone else reads those
/// their organization takes part in (`takes_part_in_project` in SQL) and the
/// published ones.
pub fn reads_every_programme(user: &impl Principal) -> bool {
    matches!(user.role(), Role::Admin | Role::Secretariat)
}

/// Is `district_code` within the districts `user` acts in? Secretariat staff and
/// administrators act everywhere; donors nowhere.
pub fn acts_in_district(user: &impl Principal, district_code: &str) -> bool {
    match user.role() {
        Role::Admin | Role::Secretariat => true,
        Role::Ngo | Role::Sna => user.districts().iter().any(|code| code == district_code),
        Role::Donor => false,
    }
}

/// Do the user's forms offer every district? Staff record anywhere; everyone
/// else who may write, only in their own districts.
pub fn writes_everywhere(user: &impl Principal) -> bool {
    matches!(user.role(), Role::Admin | Role::Secretariat)
}

/// Does the user's home page list work waiting for them? A donor only reads:
/// their home is the dashboard.
pub fn has_worklist(user: &impl Principal) -> bool {
    user.role() != Role::Donor
}

/// Which side of a joint action's partnership the user speaks for: the
/// district administration's officials, or civil society (everyone else).
pub fn side_of(user: &impl Principal) -> &'static str {
    if user.role() == Role::Sna {
        "sna"
    } else {
        "cso"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct User(Role, Vec<String>);

    impl Principal for User {
        fn role(&self) -> Role {
            self.0
        }
        fn districts(&self) -> &[String] {
            &self.1
        }
        fn organization_id(&self) -> i64 {
            7
        }
    }

    #[test]
    fn only_administrators_administer() {
        for role in Role::ALL {
            let user = User(role, vec![]);
            assert_eq!(
                allows(&user, Action::Administer, Scope::Anything),
                role == Role::Admin,
                "{role:?}"
            );
            assert!(allows(&user, Action::BrowseGeography, Scope::Anything));
        }
    }

    #[test]
    fn ngo_and_sna_users_act_only_in_their_districts() {
        let ngo = User(Role::Ngo, vec!["0203".into(), "0201".into()]);
        assert!(acts_in_district(&ngo, "0201"));
        assert!(!acts_in_district(&ngo, "0204"));
        let sna = User(Role::Sna, vec!["0204".into()]);
        assert!(acts_in_district(&sna, "0204"));
        assert!(!acts_in_district(&sna, "0203"));
        assert!(acts_in_district(&User(Role::Secretariat, vec![]), "0204"));
        assert!(!acts_in_district(&User(Role::Donor, vec![]), "0204"));
    }

    #[test]
    fn field_work_follows_the_district_scope() {
        let ngo = User(Role::Ngo, vec!["0203".into()]);
        let sna = User(Role::Sna, vec!["0204".into()]);
        let donor = User(Role::Donor, vec![]);
        let secretariat = User(Role::Secretariat, vec![]);
        let draft = |district| Scope::Record {
            district,
            published: false,
        };
        let published = |district| Scope::Record {
            district,
            published: true,
        };
        assert!(allows(
            &ngo,
            Action::RecordActivity,
            Scope::District("0203")
        ));
        assert!(!allows(
            &ngo,
            Action::RecordActivity,
            Scope::District("0204")
        ));
        assert!(!allows(
            &sna,
            Action::RecordActivity,
            Scope::District("0204")
        ));
        assert!(allows(&sna, Action::ReadActivity, draft("0204")));
        assert!(!allows(&sna, Action::ReadActivity, draft("0203")));
        assert!(allows(&sna, Action::ReadActivity, published("0203")));
        assert!(!allows(&donor, Action::ReadActivity, draft("0203")));
        assert!(allows(&donor, Action::ReadActivity, published("0203")));
        assert!(!allows(&donor, Action::ReadCaseStudy, draft("0203")));
        assert!(allows(&donor, Action::ReadCaseStudy, published("0203")));
        assert!(allows(&ngo, Action::ReadCaseStudy, published("0204")));
        assert!(!allows(&ngo, Action::ReadCaseStudy, draft("0204")));
        assert!(allows(&sna, Action::ReadCaseStudy, draft("0204")));
        assert!(!allows(&ngo, Action::ReviewCaseStudy, draft("0203")));
        assert!(allows(&secretariat, Action::ReviewCaseStudy, draft("0203")));
        assert!(!allows(&donor, Action::ManageStudies, Scope::Anything));
    }

    /// The list form of the read rule agrees with `allows` for every role.
    #[test]
    fn the_read_scope_agrees_with_the_policy() {
        for role in Role::ALL {
            let user = User(role, vec!["0203".into()]);
            let scope = unpublished_read_scope(&user);
            for district in ["0203", "0204"] {
                let in_scope =
                    scope.everywhere || scope.districts.iter().any(|code| code == district);
                let draft = Scope::Record {
                    district,
                    published: false,
                };
                assert_eq!(
                    in_scope,
                    allows(&user, Action::ReadCaseStudy, draft),
                    "{role:?} {district}"
                );
                assert_eq!(
                    in_scope,
                    allows(&user, Action::ReadActivity, draft),
                    "{role:?} {district}"
                );
            }
        }
    }

    #[test]
    fn only_a_districts_own_officials_endorse_its_list() {
        for role in Role::ALL {
            let user = User(role, vec!["0203".into()]);
            let endorses = allows(&user, Action::EndorseList, Scope::District("0203"));
            assert_eq!(endorses, role == Role::Sna, "{role:?}");
            assert!(
                !allows(&user, Action::EndorseList, Scope::District("0204")),
                "{role:?}"
            );
        }
    }

    #[test]
    fn progress_is_reported_by_the_owner_organization_and_staff() {
        for role in Role::ALL {
            let user = User(role, vec![]);
            let action_of = |owner| Scope::ActionOf {
                owner,
                joint_district: None,
            };
            let own = allows(&user, Action::ReportProgress, action_of(7));
            let other = allows(&user, Action::ReportProgress, action_of(8));
            assert_eq!(own, role != Role::Donor, "{role:?}");
            assert_eq!(
                other,
                matches!(role, Role::Admin | Role::Secretariat),
                "{role:?}"
            );
        }
    }

    #[test]
    fn a_joint_action_is_reported_by_both_sides_of_its_district() {
        for role in Role::ALL {
            let user = User(role, vec!["0204".into()]);
            let joint_in = |district| Scope::ActionOf {
                owner: 8,
                joint_district: Some(district),
            };
            let staff = matches!(role, Role::Admin | Role::Secretariat);
            let sides = matches!(role, Role::Ngo | Role::Sna);
            assert_eq!(
                allows(&user, Action::ReportProgress, joint_in("0204")),
                staff || sides,
                "{role:?}"
            );
            assert_eq!(
                allows(&user, Action::ReportProgress, joint_in("0203")),
                staff,
                "{role:?}"
            );
        }
    }

    #[test]
    fn small_counts_are_exact_for_staff_and_a_districts_own_ngo_only() {
        for role in Role::ALL {
            let user = User(role, vec!["0203".into()]);
            let staff = matches!(role, Role::Admin | Role::Secretariat);
            let exact = |scope| allows(&user, Action::ReadSmallCounts, scope);
            assert_eq!(exact(Scope::Anything), staff, "{role:?}");
            assert_eq!(
                exact(Scope::District("0203")),
                staff || role == Role::Ngo,
                "{role:?}"
            );
            assert_eq!(exact(Scope::District("0204")), staff, "{role:?}");
        }
    }

    #[test]
    fn officials_do_not_read_what_citizens_said_alone_about_them() {
        let field_work = |district, citizens_only| Scope::FieldWork {
            district,
            citizens_only,
        };
        for role in Role::ALL {
            let user = User(role, vec!["0203".into()]);
            let reads = |scope| allows(&user, Action::ReadInternalText, scope);
            let staff = matches!(role, Role::Admin | Role::Secretariat);
            assert_eq!(
                reads(field_work("0203", true)),
                staff || role == Role::Ngo,
                "{role:?}"
            );
            assert_eq!(
                reads(field_work("0203", false)),
                staff || matches!(role, Role::Ngo | Role::Sna),
                "{role:?}"
            );
            assert_eq!(reads(field_work("0204", false)), staff, "{role:?}");
            assert_eq!(reads(Scope::Anything), staff, "{role:?}");
            // The list form says the same.
            let scope = internal_text_scope(&user);
            for (district, citizens_only) in [("0203", true), ("0203", false), ("0204", false)] {
                assert_eq!(
                    scope.reads(district, citizens_only),
                    reads(field_work(district, citizens_only)),
                    "{role:?} {district}"
                );
            }
        }
        assert!(citizens_only("fgd") && citizens_only("interview"));
        assert!(!citizens_only("joint_consultation"));
    }

    #[test]
    fn role_codes_round_trip() {
        for role in Role::ALL {
            assert_eq!(Role::parse(role.code()), Some(role));
        }
        assert_eq!(Role::parse("root"), None);
    }

    #[test]
    fn projects_are_read_by_staff_those_taking_part_and_everyone_once_published() {
        for role in Role::ALL {
            let user = User(role, vec!["0203".into()]);
            let staff = matches!(role, Role::Admin | Role::Secretariat);
            let reads = |takes_part, published| {
                allows(
                    &user,
                    Action::ReadProgramme,
                    Scope::Programme {
                        takes_part,
                        published,
                    },
                )
            };
            assert_eq!(reads(false, false), staff, "{role:?}");
            assert!(reads(true, false), "{role:?}");
            assert!(reads(false, true), "{role:?}");
            assert_eq!(
                allows(&user, Action::ManageProgrammes, Scope::Anything),
                staff
            );
        }
    }
}
