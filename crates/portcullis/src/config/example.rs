//! `portcullis config example`: the text of `portcullis.example.toml`, every key with its default
//! (serialized from [`Config::default`]) under its meaning (the README's Configuration table, as
//! `config keys` prints it), so the example can drift from neither. A test holds the committed
//! file to this text; nothing here reads a file or the environment.

use super::keys::{self, KeyDoc};
use super::Config;
use std::fmt::Write;

/// Comment lines are wrapped to this many columns, as the rest of the repository is.
const WIDTH: usize = 100;

const HEADER: &str = "\
# Portcullis configuration: every key, its default and what it does.
#
# Written by `portcullis config example` from the configuration types and the README's
# Configuration table (`just config-example` rewrites this file; a test fails when they differ).
# Use it with `portcullis serve --config FILE`. Each key can also be set in the environment as
# PORTCULLIS_<KEY> (the key in upper case), which wins over the file. Durations read as `15m`,
# `7d`, `10s` or a number of seconds.
#
# Every key is set to its default, so this file as it stands behaves exactly like no file at all
# (`portcullis config check --config FILE` shows the result). Keep only the keys you change: the
# others then follow the defaults of later releases. Keys unset by default are commented out.
";

/// The whole example file.
pub fn render() -> anyhow::Result<String> {
    let defaults = toml::Table::try_from(Config::default())?;
    let mut text = HEADER.to_owned();
    for doc in keys::documented_keys() {
        text.push('\n');
        render_key(&mut text, &doc, defaults.get(doc.key));
    }
    Ok(text)
}

fn render_key(text: &mut String, doc: &KeyDoc<'_>, default: Option<&toml::Value>) {
    comment(text, &plain(doc.meaning));
    // `fmt::Write` for `String` never fails.
    let _ = match default {
        Some(value) => writeln!(text, "{} = {value}", doc.key),
        // Unset (an `Option` that is `None`): nothing to write but what the README says.
        None => {
            comment(text, &format!("Default: {}.", plain(doc.default)));
            writeln!(text, "# {} = \"...\"", doc.key)
        }
    };
}

/// Markdown table text as a comment reads it: `\|` was only escaped for the table.
fn plain(cell: &str) -> String {
    cell.replace("\\|", "|")
}

/// `words` as `# ` lines of at most [`WIDTH`] columns (a longer word stands on its own line).
fn comment(text: &mut String, words: &str) {
    let mut line = String::from("#");
    for word in words.split_whitespace() {
        if line.len() > 1 && line.len() + 1 + word.len() > WIDTH {
            text.push_str(&line);
            text.push('\n');
            line = String::from("#");
        }
        line.push(' ');
        line.push_str(word);
    }
    text.push_str(&line);
    text.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;
    use figment::providers::{Format, Toml};
    use figment::Figment;

    const COMMITTED: &str = include_str!("../../../../portcullis.example.toml");

    #[test]
    fn the_committed_example_is_what_config_example_writes() {
        let written = render().expect("renders");
        assert!(
            COMMITTED == written,
            "portcullis.example.toml is out of date: run `just config-example` and commit it.\n\
             --- committed\n{COMMITTED}\n--- written\n{written}"
        );
    }

    #[test]
    fn the_example_reads_back_as_the_defaults() {
        let read: Config = Figment::new()
            .merge(Toml::string(&render().expect("renders")))
            .extract()
            .expect("the example is a valid configuration");
        read.validate().expect("and passes validation");
        assert_eq!(
            toml::Table::try_from(read).expect("serializes"),
            toml::Table::try_from(Config::default()).expect("serializes")
        );
    }

    #[test]
    fn every_documented_key_is_in_the_example_once_set_or_commented_out() {
        let example = render().expect("renders");
        for doc in keys::documented_keys() {
            let lines = example
                .lines()
                .filter(|line| {
                    let line = line.strip_prefix("# ").unwrap_or(line);
                    line.starts_with(&format!("{} = ", doc.key))
                })
                .count();
            assert_eq!(lines, 1, "{}", doc.key);
        }
        for line in [
            "\n# metrics_listen = \"...\"\n",
            "\nlisten = \"127.0.0.1:8080\"\n",
            "\nsession_max_ttl = \"30d\"\n",
        ] {
            assert!(example.contains(line), "{line:?} in {example}");
        }
    }

    #[test]
    fn comments_wrap_at_the_width_and_keep_every_word() {
        let mut text = String::new();
        let words = "word ".repeat(50);
        comment(&mut text, &words);
        assert!(text.lines().all(|line| line.len() <= WIDTH), "{text}");
        assert_eq!(text.split_whitespace().filter(|w| *w == "word").count(), 50);
        let mut long = String::new();
        comment(&mut long, &"x".repeat(WIDTH + 10));
        assert_eq!(long.lines().count(), 1);
    }
}
