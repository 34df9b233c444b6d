//! The gateway's public URL (`public_url`): checked once, and what it implies — the default
//! `issuer`, and the absolute URLs of the discovery document.

use super::Config;
use anyhow::{bail, Context};
use axum::http::Uri;

/// The `issuer` every deployment gets unless it sets one (or a `public_url`).
pub(super) const DEFAULT_ISSUER: &str = "portcullis";

impl Config {
    /// `public_url` without a trailing slash, once it is known to be an absolute http(s) URL
    /// with no query or fragment; `None` when unset.
    pub fn public_url(&self) -> anyhow::Result<Option<String>> {
        let Some(text) = self.public_url.as_deref() else {
            return Ok(None);
        };
        let uri: Uri = text
            .parse()
            .with_context(|| format!("public_url {text:?} is not a URL"))?;
        if !matches!(uri.scheme_str(), Some("http" | "https")) || uri.authority().is_none() {
            bail!("public_url must be an absolute http(s) URL such as https://auth.example.com");
        }
        if uri.query().is_some() || text.contains('#') {
            bail!("public_url must not carry a query or a fragment");
        }
        Ok(Some(text.trim_end_matches('/').to_owned()))
    }

    /// The `iss` of issued tokens: `issuer` when it is set, else `public_url` when that is, so
    /// that a verifier given only the gateway's URL finds both the keys and the issuer it expects.
    pub fn effective_issuer(&self) -> anyhow::Result<String> {
        match self.public_url()? {
            Some(public_url) if self.issuer == DEFAULT_ISSUER => Ok(public_url),
            _ => Ok(self.issuer.clone()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(public_url: Option<&str>, issuer: &str) -> Config {
        Config {
            public_url: public_url.map(str::to_owned),
            issuer: issuer.to_owned(),
            ..Config::default()
        }
    }

    #[test]
    fn the_issuer_defaults_to_the_public_url_without_its_trailing_slash() {
        let config = with(Some("https://auth.example.com/"), DEFAULT_ISSUER);
        assert_eq!(
            config.effective_issuer().unwrap(),
            "https://auth.example.com"
        );
        let config = with(Some("https://auth.example.com"), "urn:example");
        assert_eq!(config.effective_issuer().unwrap(), "urn:example");
        let config = with(None, DEFAULT_ISSUER);
        assert_eq!(config.effective_issuer().unwrap(), DEFAULT_ISSUER);
    }

    #[test]
    fn a_public_url_that_is_not_an_absolute_http_url_is_refused() {
        for bad in [
            "auth.example.com",
            "/auth",
            "ftp://auth.example.com",
            "https://auth.example.com/?tenant=a",
            "https://auth.example.com/#top",
            "https://",
        ] {
            assert!(
                with(Some(bad), DEFAULT_ISSUER).public_url().is_err(),
                "{bad}"
            );
        }
        let config = with(Some("http://127.0.0.1:8080/auth"), DEFAULT_ISSUER);
        assert_eq!(
            config.public_url().unwrap().as_deref(),
            Some("http://127.0.0.1:8080/auth")
        );
    }
}
