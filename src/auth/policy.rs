//! Who may do what (DESIGN.md §3): a pure function of the user, the action and,
//! where it matters, the district. Handlers ask it before they act; templates ask
//! it what to show.

/// The five roles of DESIGN.md §1, from the most to the least powerful.
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
}

/// The part of a user the policy looks at.
pub trait Principal {
    fn role(&self) -> Role;
    /// The districts the user acts in: an NGO's covered districts, or an SNA
    /// official's one district. Empty for the other roles.
    fn districts(&self) -> &[String];
}

/// May `user` do `action`?
pub fn allows(user: &impl Principal, action: Action) -> bool {
    match action {
        Action::Administer => user.role() == Role::Admin,
        Action::BrowseGeography => true,
    }
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
    }

    #[test]
    fn only_administrators_administer() {
        for role in Role::ALL {
            let user = User(role, vec![]);
            assert_eq!(
                allows(&user, Action::Administer),
                role == Role::Admin,
                "{role:?}"
            );
            assert!(allows(&user, Action::BrowseGeography));
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
    fn role_codes_round_trip() {
        for role in Role::ALL {
            assert_eq!(Role::parse(role.code()), Some(role));
        }
        assert_eq!(Role::parse("root"), None);
    }
}
