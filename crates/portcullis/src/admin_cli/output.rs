//! What `portcullis admin` commands print: the text for people, and the JSON for scripts,
//! rendered from the shared view types of `portcullis_http::views` or, for the admin keys
//! (which have no API), from the types here.

use serde::Serialize;

/// What a command prints, for people and for scripts (the JSON already rendered).
pub(crate) struct Output {
    pub text: String,
    pub json: String,
}

impl Output {
    pub fn new(text: String, json: &impl Serialize) -> anyhow::Result<Self> {
        let json = serde_json::to_string_pretty(json)?;
        Ok(Self { text, json })
    }
}

// The admin keys have no API: these shapes are the command line's own. Fields in alphabetical
// order, the order they have always been printed in (see `portcullis_http::views`).

/// A key just created: the only time its text is shown.
#[derive(Serialize)]
pub(super) struct KeyCreated {
    pub key: String,
    pub name: String,
}

/// A key as listed: names and dates, never the key.
#[derive(Serialize)]
pub(super) struct KeyListed<'a> {
    pub created_at: String,
    pub name: &'a str,
    pub revoked_at: Option<String>,
}

#[derive(Serialize)]
pub(super) struct KeyRevoked {
    pub name: String,
    pub revoked: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_admin_key_outputs_keep_their_shapes() {
        let created = KeyCreated {
            key: "pk_abc".into(),
            name: "ops".into(),
        };
        assert_eq!(
            Output::new(String::new(), &created).expect("renders").json,
            "{\n  \"key\": \"pk_abc\",\n  \"name\": \"ops\"\n}"
        );
        let listed = [KeyListed {
            created_at: "2023-11-14T22:13:20Z".into(),
            name: "ops",
            revoked_at: None,
        }];
        assert_eq!(
            serde_json::to_string(&listed).expect("serialises"),
            r#"[{"created_at":"2023-11-14T22:13:20Z","name":"ops","revoked_at":null}]"#
        );
        let revoked = KeyRevoked {
            name: "ops".into(),
            revoked: true,
        };
        assert_eq!(
            serde_json::to_string(&revoked).expect("serialises"),
            r#"{"name":"ops","revoked":true}"#
        );
    }
}
