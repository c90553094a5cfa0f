//! A prize's way from a finished race to the winner (SPEC §12): `pending` → `approved`
//! → `paid` (with a reference: a tip or transaction id), or `void` (with a reason) from
//! either of the first two. Approval is required before payment, so two decisions stand
//! behind every payment; `paid` and `void` are final.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PayoutStatus {
    Pending,
    Approved,
    Paid,
    Void,
}

impl PayoutStatus {
    pub const ALL: [PayoutStatus; 4] = [Self::Pending, Self::Approved, Self::Paid, Self::Void];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Approved => "approved",
            Self::Paid => "paid",
            Self::Void => "void",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

impl fmt::Display for PayoutStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PayoutError {
    #[error("a {from} prize cannot become {to}{hint}")]
    Transition {
        from: PayoutStatus,
        to: PayoutStatus,
        hint: &'static str,
    },
    #[error("marking a prize paid needs a reference (a tip or transaction id)")]
    ReferenceRequired,
    #[error("voiding a prize needs a reason")]
    ReasonRequired,
}

/// Checks one change of a prize's state, with the reference or reason it needs.
pub fn check_transition(
    from: PayoutStatus,
    to: PayoutStatus,
    reference: Option<&str>,
    reason: Option<&str>,
) -> Result<(), PayoutError> {
    use PayoutStatus::*;
    let given = |v: Option<&str>| v.is_some_and(|t| !t.trim().is_empty());
    match (from, to) {
        (Pending, Approved) => Ok(()),
        (Approved, Paid) if given(reference) => Ok(()),
        (Approved, Paid) => Err(PayoutError::ReferenceRequired),
        (Pending | Approved, Void) if given(reason) => Ok(()),
        (Pending | Approved, Void) => Err(PayoutError::ReasonRequired),
        (from, to) => Err(PayoutError::Transition {
            from,
            to,
            hint: match (from, to) {
                (Pending, Paid) => " before it is approved",
                (Paid | Void, _) => ": it is final",
                _ => "",
            },
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::PayoutStatus::*;
    use super::*;

    #[test]
    fn a_refused_change_says_why_in_words() {
        let say = |from, to| {
            check_transition(from, to, Some("ref"), Some("why"))
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            say(Pending, Paid),
            "a pending prize cannot become paid before it is approved"
        );
        assert_eq!(
            say(Paid, Approved),
            "a paid prize cannot become approved: it is final"
        );
        assert_eq!(
            say(Void, Pending),
            "a void prize cannot become pending: it is final"
        );
        assert_eq!(
            say(Approved, Pending),
            "a approved prize cannot become pending"
        );
        assert_eq!(Approved.to_string(), "approved");
    }

    #[test]
    fn the_way_is_pending_approved_paid_or_void() {
        assert_eq!(check_transition(Pending, Approved, None, None), Ok(()));
        assert_eq!(
            check_transition(Approved, Paid, Some("tip 123"), None),
            Ok(())
        );
        assert_eq!(
            check_transition(Pending, Void, None, Some("duplicate")),
            Ok(())
        );
        assert_eq!(
            check_transition(Approved, Void, None, Some("banned")),
            Ok(())
        );
    }

    #[test]
    fn payment_needs_approval_and_a_reference_and_voiding_a_reason() {
        assert!(matches!(
            check_transition(Pending, Paid, Some("tip"), None),
            Err(PayoutError::Transition { .. })
        ));
        assert_eq!(
            check_transition(Approved, Paid, Some("  "), None),
            Err(PayoutError::ReferenceRequired)
        );
        assert_eq!(
            check_transition(Approved, Void, None, None),
            Err(PayoutError::ReasonRequired)
        );
    }

    #[test]
    fn paid_and_void_are_final_and_nothing_goes_back() {
        for to in PayoutStatus::ALL {
            for from in [Paid, Void] {
                assert!(check_transition(from, to, Some("r"), Some("r")).is_err());
            }
        }
        assert!(check_transition(Approved, Pending, None, None).is_err());
        assert!(check_transition(Pending, Pending, None, None).is_err());
        assert_eq!(PayoutStatus::parse("paid"), Some(Paid));
        assert_eq!(PayoutStatus::parse("PAID"), None);
    }
}
