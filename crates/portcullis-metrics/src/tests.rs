//! Tests of `lib.rs`: the exposed names, labels and values, read back from the text a scrape gets.

use super::*;

/// The value of the sample `series` (name and labels exactly as exposed), if exposed.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines().find_map(|line| {
        let value = line.strip_prefix(series)?.strip_prefix(' ')?;
        value.parse().ok()
    })
}

#[test]
fn the_exposed_names_are_exactly_the_contracted_ones() {
    let metrics = Metrics::new();
    metrics.http_request("/auth/login", "POST", 200, Duration::from_millis(3));
    metrics.signing_key_in_use("k1", 0);
    let text = metrics.encode_prometheus().expect("encodes");
    for family in [
        "# TYPE portcullis_http_requests_total counter",
        "# TYPE portcullis_http_request_duration_seconds histogram",
        "# TYPE portcullis_verify_total counter",
        "# TYPE portcullis_refresh_total counter",
        "# TYPE portcullis_login_total counter",
        "# TYPE portcullis_revocations_total counter",
        "# TYPE portcullis_revocation_cache_trusted gauge",
        "# TYPE portcullis_password_hash_wait_seconds histogram",
        "# TYPE portcullis_signing_key_age_seconds gauge",
        "# TYPE portcullis_webhook_deliveries_total counter",
    ] {
        assert!(text.contains(family), "{family} missing from\n{text}");
    }
    assert!(!text.contains("_total_total"), "{text}");
    // The encoder ends each help text with a full stop itself.
    assert!(!text.contains("..\n"), "{text}");
}

#[test]
fn every_outcome_is_exposed_at_zero_before_it_happens() {
    let text = Metrics::new().encode_prometheus().expect("encodes");
    for outcome in VerifyOutcome::ALL {
        let series = format!(
            "portcullis_verify_total{{outcome=\"{}\"}}",
            outcome.as_str()
        );
        assert_eq!(sample(&text, &series), Some(0.0), "{series}");
    }
    for kind in RevocationKind::ALL {
        let series = format!("portcullis_revocations_total{{kind=\"{}\"}}", kind.as_str());
        assert_eq!(sample(&text, &series), Some(0.0), "{series}");
    }
    assert_eq!(
        sample(
            &text,
            "portcullis_webhook_deliveries_total{outcome=\"dropped\"}"
        ),
        Some(0.0)
    );
}

#[test]
fn counts_land_on_their_own_label_and_nowhere_else() {
    let metrics = Metrics::new();
    metrics.verify(VerifyOutcome::RevokedJti);
    metrics.verify(VerifyOutcome::RevokedJti);
    metrics.refresh(RefreshOutcome::GraceReplay);
    metrics.login(LoginOutcome::RateLimited);
    metrics.revocation(RevocationKind::Mass);
    metrics.webhook_deliveries(WebhookOutcome::Failed, 1);
    metrics.revocation_cache_trusted(true);
    let text = metrics.encode_prometheus().expect("encodes");
    let value = |series: &str| sample(&text, series).unwrap_or(-1.0);
    assert_eq!(
        value("portcullis_verify_total{outcome=\"revoked_jti\"}"),
        2.0
    );
    assert_eq!(value("portcullis_verify_total{outcome=\"ok\"}"), 0.0);
    assert_eq!(
        value("portcullis_refresh_total{outcome=\"grace_replay\"}"),
        1.0
    );
    assert_eq!(
        value("portcullis_login_total{outcome=\"rate_limited\"}"),
        1.0
    );
    assert_eq!(value("portcullis_revocations_total{kind=\"mass\"}"), 1.0);
    assert_eq!(
        value("portcullis_webhook_deliveries_total{outcome=\"failed\"}"),
        1.0
    );
    assert_eq!(value("portcullis_revocation_cache_trusted"), 1.0);
    metrics.revocation_cache_trusted(false);
    let text = metrics.encode_prometheus().expect("encodes");
    assert_eq!(
        sample(&text, "portcullis_revocation_cache_trusted"),
        Some(0.0)
    );
}

#[test]
fn a_made_up_method_shares_one_label_value() {
    let metrics = Metrics::new();
    for method in ["BREW", "WHEN", "GET"] {
        metrics.http_request("unmatched", method, 404, Duration::ZERO);
    }
    let text = metrics.encode_prometheus().expect("encodes");
    let series = |method: &str| {
        format!(
            "portcullis_http_requests_total{{route=\"unmatched\",method=\"{method}\",status=\"404\"}}"
        )
    };
    assert_eq!(sample(&text, &series("OTHER")), Some(2.0), "{text}");
    assert_eq!(sample(&text, &series("GET")), Some(1.0), "{text}");
    assert!(!text.contains("BREW"), "{text}");
}

#[test]
fn the_signing_key_age_is_computed_at_each_scrape() {
    let metrics = Metrics::new();
    let text = metrics.encode_prometheus().expect("encodes");
    assert!(
        !text.contains("portcullis_signing_key_age_seconds{"),
        "no key, no series: {text}"
    );
    let an_hour_ago = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs() as i64
        - 3600;
    metrics.signing_key_in_use("k1", an_hour_ago);
    let text = metrics.encode_prometheus().expect("encodes");
    let age = sample(&text, "portcullis_signing_key_age_seconds{kid=\"k1\"}").expect("age");
    assert!((3600.0..3700.0).contains(&age), "{age}");
}

#[test]
fn two_registries_never_share_counts() {
    let (one, other) = (Metrics::new(), Metrics::new());
    one.login(LoginOutcome::Ok);
    let text = other.encode_prometheus().expect("encodes");
    assert_eq!(
        sample(&text, "portcullis_login_total{outcome=\"ok\"}"),
        Some(0.0)
    );
}

#[test]
fn openmetrics_is_offered_too_and_ends_with_eof() {
    let metrics = Metrics::new();
    metrics.login(LoginOutcome::Ok);
    let text = metrics.encode_openmetrics().expect("encodes");
    assert!(text.ends_with("# EOF\n"), "{text}");
    assert!(text.contains("# TYPE portcullis_login counter"), "{text}");
    assert_eq!(
        sample(&text, "portcullis_login_total{outcome=\"ok\"}"),
        Some(1.0)
    );
}
