//! `portcullis config keys`: every configuration key with its default and meaning, read from
//! the README's Configuration table (compiled in), so the command line and the documentation
//! are one text. A test holds the table to the keys [`super::Config`] actually reads.

/// The README, whose Configuration table is the one description of every key.
const README: &str = include_str!("../../../../README.md");

/// One documented key: its name, its default and what it does, as the README writes them.
#[derive(Debug, PartialEq, Eq)]
pub struct KeyDoc<'a> {
    pub key: &'a str,
    pub default: &'a str,
    pub meaning: &'a str,
}

/// The rows of the README's Configuration table, in its order.
pub fn documented_keys() -> Vec<KeyDoc<'static>> {
    table_rows(README)
}

fn table_rows(readme: &str) -> Vec<KeyDoc<'_>> {
    readme
        .lines()
        .skip_while(|line| line.trim() != "## Configuration")
        .skip(1)
        .take_while(|line| !line.starts_with("## "))
        .filter_map(|line| {
            let row = line.strip_prefix("| `")?;
            let (key, rest) = row.split_once("` | ")?;
            let (default, meaning) = rest.split_once(" | ")?;
            Some(KeyDoc {
                key,
                default,
                meaning: meaning.trim_end_matches(" |"),
            })
        })
        .collect()
}

/// The text `config keys` prints: each key, its default, then its meaning indented.
pub fn render(keys: &[KeyDoc<'_>]) -> String {
    keys.iter()
        .map(|doc| format!("{} = {}\n    {}", doc.key, doc.default, doc.meaning))
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use serde::Deserialize;

    /// The keys `Config` reads, as serde names them when it refuses an unknown one.
    fn config_keys() -> Vec<String> {
        let error = Config::deserialize(serde_json::json!({ "no such key": 1 }))
            .expect_err("unknown keys are refused")
            .to_string();
        let expected = error.split("expected one of").nth(1).expect("the list");
        expected
            .split('`')
            .skip(1)
            .step_by(2)
            .map(str::to_owned)
            .collect()
    }

    #[test]
    fn the_readme_documents_exactly_the_keys_the_config_reads() {
        let mut documented: Vec<String> = documented_keys()
            .iter()
            .map(|doc| doc.key.to_owned())
            .collect();
        let mut read = config_keys();
        documented.sort();
        read.sort();
        assert!(read.len() > 40, "{read:?}");
        assert_eq!(documented, read);
    }

    #[test]
    fn a_row_reads_as_key_default_and_meaning() {
        let readme = "intro\n## Configuration\n| Key | Default | Meaning |\n| --- | --- | --- |\n\
                      | `listen` | `127.0.0.1:8080` | Address to serve on. |\n## Next\n| `x` | y | z |\n";
        let rows = table_rows(readme);
        assert_eq!(
            rows,
            [KeyDoc {
                key: "listen",
                default: "`127.0.0.1:8080`",
                meaning: "Address to serve on."
            }]
        );
        assert_eq!(
            render(&rows),
            "listen = `127.0.0.1:8080`\n    Address to serve on."
        );
    }
}
