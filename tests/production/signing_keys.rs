//! The signing-key lifecycle across replicas: a key rotated in on one replica is trusted by the
//! others at the next request, and a key retired on one is refused by every one at the next
//! request; each replica's JWKS follows within its reread interval.

use portcullis_tests::replica::{create_admin_key, Replica};
use portcullis_tests::tier::{TestStorage, Tier};
use portcullis_tests::{eventually, kid_of, Browser, Reply, PASSWORD};
use reqwest::StatusCode;
use serde_json::json;

async fn verify(replica: &Replica, token: &str) -> StatusCode {
    reqwest::Client::new()
        .get(format!("{}/auth/verify", replica.base))
        .bearer_auth(token)
        .send()
        .await
        .expect("verify")
        .status()
}

async fn published(replica: &Replica) -> Vec<String> {
    let jwks = Reply::read(
        reqwest::Client::new()
            .get(format!("{}/.well-known/jwks.json", replica.base))
            .send()
            .await
            .expect("jwks"),
    )
    .await;
    jwks.body["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .map(|key| key["kid"].as_str().expect("kid").to_owned())
        .collect()
}

async fn admin_post(replica: &Replica, key: &str, path: &str, body: serde_json::Value) -> Reply {
    Reply::read(
        reqwest::Client::new()
            .post(format!("{}{path}", replica.base))
            .bearer_auth(key)
            .json(&body)
            .send()
            .await
            .expect("admin call"),
    )
    .await
}

async fn login(replica: &Replica, email: &str) -> String {
    let mut browser = Browser::new(reqwest::Client::new(), replica.base.clone());
    browser.login(email, PASSWORD).await.access_token()
}

#[tokio::test]
async fn a_key_rotated_and_retired_on_one_replica_holds_on_the_other_at_the_next_request() {
    let storage = TestStorage::create(Tier::Production).await;
    let a = Replica::start(&storage, &[]).await;
    let b = Replica::start(&storage, &[]).await;
    let admin = create_admin_key(&storage, "key-custodian");
    let email = a.new_user().await;
    let old_token = login(&a, &email).await;
    let old = kid_of(&old_token);
    for replica in [&a, &b] {
        assert_eq!(published(replica).await, [old.as_str()]);
    }

    let rotated = admin_post(&a, &admin, "/admin/keys/rotate", json!({ "now": true })).await;
    assert_eq!(rotated.status, StatusCode::CREATED, "{rotated:?}");
    let new = rotated.body["kid"].as_str().expect("kid").to_owned();
    // A signs with the new key at once; B trusts A's new tokens at once (it rereads the keys
    // when it meets a kid it does not hold), and signs with the new key within a second.
    let new_token = login(&a, &email).await;
    assert_eq!(kid_of(&new_token), new);
    assert_eq!(verify(&b, &new_token).await, StatusCode::OK);
    for replica in [&a, &b] {
        assert_eq!(
            verify(replica, &old_token).await,
            StatusCode::OK,
            "still retiring"
        );
    }
    eventually("B signs with the new key", async || {
        kid_of(&login(&b, &email).await) == new
    })
    .await;
    for replica in [&a, &b] {
        assert_eq!(published(replica).await, [new.clone(), old.clone()]);
    }

    let retired = admin_post(&a, &admin, &format!("/admin/keys/{old}/retire"), json!({})).await;
    assert_eq!(retired.status, StatusCode::OK, "{retired:?}");
    for replica in [&a, &b] {
        assert_eq!(
            verify(replica, &old_token).await,
            StatusCode::UNAUTHORIZED,
            "the old key's token is refused at the next request"
        );
        assert_eq!(verify(replica, &new_token).await, StatusCode::OK);
    }
    assert_eq!(published(&a).await, [new.as_str()]);
    eventually("B stops publishing the retired key", async || {
        published(&b).await == [new.clone()]
    })
    .await;
}
