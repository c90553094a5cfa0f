//! Accounts' states: what an account may do (its role) and where its claim to a Goated
//! player stands. Enums, not strings; text only at the edges (the database columns,
//! JSON, the access token's `role` claim).

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    User,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::User => "user",
            Role::Admin => "admin",
        }
    }

    pub fn parse(text: &str) -> Option<Role> {
        [Role::User, Role::Admin]
            .into_iter()
            .find(|r| r.as_str() == text)
    }
}

/// Where a verification request (an account claiming a Goated player) stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClaimStatus {
    /// Waiting for an admin; an account has at most one.
    Pending,
    /// The account is linked to the player.
    Approved,
    Rejected,
}

impl ClaimStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ClaimStatus::Pending => "pending",
            ClaimStatus::Approved => "approved",
            ClaimStatus::Rejected => "rejected",
        }
    }

    pub fn parse(text: &str) -> Option<ClaimStatus> {
        [
            ClaimStatus::Pending,
            ClaimStatus::Approved,
            ClaimStatus::Rejected,
        ]
        .into_iter()
        .find(|s| s.as_str() == text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_claim_status_reads_back() {
        for s in [
            ClaimStatus::Pending,
            ClaimStatus::Approved,
            ClaimStatus::Rejected,
        ] {
            assert_eq!(ClaimStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(ClaimStatus::parse("PENDING"), None);
    }

    #[test]
    fn each_role_reads_back_and_nothing_else_is_one() {
        for role in [Role::User, Role::Admin] {
            assert_eq!(Role::parse(role.as_str()), Some(role));
        }
        assert_eq!(Role::parse("Admin"), None);
        assert_eq!(Role::parse("root"), None);
    }
}
