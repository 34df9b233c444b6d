//! The closed sets of label values: one enum per labelled counter, so a caller can only count
//! an outcome the metric's contract names, and the set of series stays bounded.

/// Declares an enum of label values with its exact text and the list of every value.
macro_rules! label_values {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vmeta])* $variant),+
        }

        impl $name {
            /// Every value, in the order the metric's contract lists them.
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];

            /// The label value, exactly as exposed.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $text),+
                }
            }
        }
    };
}

label_values! {
    /// How one access-token check ended (`portcullis_verify_total{outcome}`).
    VerifyOutcome {
        Ok => "ok",
        Expired => "expired",
        /// Missing, malformed, wrongly signed, not yet valid, or for someone else.
        BadToken => "bad_token",
        /// Issued before the user's tokens were revoked (token version).
        RevokedVersion => "revoked_version",
        RevokedSession => "revoked_session",
        RevokedJti => "revoked_jti",
        /// A valid token without a role the route needs.
        Forbidden => "forbidden",
        /// The revocation state could not be read: refused, never accepted.
        Unavailable => "unavailable",
    }
}

label_values! {
    /// How one refresh-token presentation ended (`portcullis_refresh_total{outcome}`).
    RefreshOutcome {
        Rotated => "rotated",
        /// The just-rotated token came back within the grace window: same answer again.
        GraceReplay => "grace_replay",
        /// A used token came back: its whole family was revoked.
        ReuseDetected => "reuse_detected",
        /// The family was revoked already (or its user is locked).
        Revoked => "revoked",
        Expired => "expired",
        /// Unknown or unparsable token.
        Invalid => "invalid",
    }
}

label_values! {
    /// How one login attempt ended (`portcullis_login_total{outcome}`).
    LoginOutcome {
        Ok => "ok",
        InvalidCredentials => "invalid_credentials",
        Locked => "locked",
        RateLimited => "rate_limited",
    }
}

label_values! {
    /// What a deliberate revocation covered (`portcullis_revocations_total{kind}`).
    RevocationKind {
        /// Every token and session of one user (revoke, lock, logout-all).
        User => "user",
        /// One session, by an admin or by its owner.
        Session => "session",
        /// One access token.
        Jti => "jti",
        /// One mass revocation, however many sessions it ended.
        Mass => "mass",
    }
}

label_values! {
    /// What became of one security event handed to the webhook
    /// (`portcullis_webhook_deliveries_total{outcome}`).
    WebhookOutcome {
        /// The receiver accepted it (2xx), possibly after retries or a restart.
        Delivered => "delivered",
        /// Every attempt failed; delivery gave up (the row is kept for the operator).
        Failed => "failed",
        /// Never attempted: storing the event, and so its delivery, failed.
        Dropped => "dropped",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_label_value_is_lower_snake_case_and_unique_within_its_set() {
        fn check(values: Vec<&'static str>) {
            let mut seen = std::collections::HashSet::new();
            for value in values {
                assert!(
                    value.chars().all(|c| c.is_ascii_lowercase() || c == '_'),
                    "{value}"
                );
                assert!(seen.insert(value), "{value} twice");
            }
        }
        check(VerifyOutcome::ALL.iter().map(|o| o.as_str()).collect());
        check(RefreshOutcome::ALL.iter().map(|o| o.as_str()).collect());
        check(LoginOutcome::ALL.iter().map(|o| o.as_str()).collect());
        check(RevocationKind::ALL.iter().map(|o| o.as_str()).collect());
        check(WebhookOutcome::ALL.iter().map(|o| o.as_str()).collect());
    }
}
