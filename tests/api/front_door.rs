//! The gateway in front of an application, the ways people deploy it: a real nginx using
//! `auth_request` and a real Traefik using `ForwardAuth`, each on its example config in
//! `deploy/`, and the built-in reverse proxy. The same scenarios run through every door, against
//! an upstream that echoes what it receives.

use futures::{SinkExt, StreamExt};
use portcullis::config::{RouteConfig, UpstreamConfig};
use portcullis::Config;
use portcullis_tests::raw_http::exchange;
use portcullis_tests::switching_upstream::{upgrades_in, Switches, SwitchingUpstream, RAW_BYTES};
use portcullis_tests::upstream::{try_ws_connect, ws_connect};
use portcullis_tests::{EchoUpstream, Nginx, Reply, TestApp, Traefik};
use reqwest::StatusCode;
use std::net::SocketAddr;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

/// The route policy every door is configured with.
fn policy(config: &mut Config) {
    config.routes = vec![
        RouteConfig {
            prefix: "/api/public".to_owned(),
            methods: Vec::new(),
            access: Some("public".to_owned()),
            roles: None,
        },
        RouteConfig {
            prefix: "/api/admin".to_owned(),
            methods: Vec::new(),
            access: None,
            roles: Some(vec!["admin".to_owned()]),
        },
        RouteConfig {
            prefix: "/api/catalog".to_owned(),
            methods: vec!["GET".to_owned()],
            access: Some("public".to_owned()),
            roles: None,
        },
    ];
}

/// The three doors the scenarios run through.
#[derive(Clone, Copy)]
enum Door {
    Nginx,
    Traefik,
    BuiltIn,
}

/// A gateway, the application behind it, and the address clients use.
struct FrontDoor {
    app: TestApp,
    upstream: EchoUpstream,
    base: String,
    /// Whether the door strips every client `X-Auth-*` name, not only the identity headers
    /// (stock nginx cannot strip by pattern; the README says so).
    strips_every_identity_name: bool,
    _proxy: Option<Box<dyn std::any::Any>>,
}

impl FrontDoor {
    async fn nginx() -> Self {
        Self::open(Door::Nginx).await
    }

    async fn traefik() -> Self {
        Self::open(Door::Traefik).await
    }

    async fn built_in() -> Self {
        Self::open(Door::BuiltIn).await
    }

    async fn open(door: Door) -> Self {
        let upstream = EchoUpstream::start().await;
        let (app, base, proxy) = in_front_of(door, upstream.addr()).await;
        Self {
            app,
            upstream,
            base,
            strips_every_identity_name: !matches!(door, Door::Nginx),
            _proxy: proxy,
        }
    }
    async fn get(&self, path: &str, bearer: Option<&str>, headers: &[(&str, &str)]) -> Reply {
        let mut request = self.app.http().get(format!("{}{path}", self.base));
        if let Some(token) = bearer {
            request = request.bearer_auth(token);
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        Reply::read(
            request
                .send()
                .await
                .expect("request through the front door"),
        )
        .await
    }

    async fn user_id(&self, email: &str) -> String {
        let user = self.app.gateway.find_user(email).await.expect("user");
        user.id.to_string()
    }
}

/// A gateway with the shared policy behind `door`, in front of the application at `app`;
/// returns the gateway, the address clients use, and the proxy process to keep alive.
async fn in_front_of(
    door: Door,
    app: SocketAddr,
) -> (TestApp, String, Option<Box<dyn std::any::Any>>) {
    match door {
        Door::Nginx => {
            let gateway = TestApp::spawn_with(policy).await;
            let nginx = Nginx::start(gateway.addr(), app).await;
            (gateway, nginx.base(), Some(Box::new(nginx)))
        }
        Door::Traefik => {
            let gateway = TestApp::spawn_with(policy).await;
            let traefik = Traefik::start(gateway.addr(), app).await;
            (gateway, traefik.base(), Some(Box::new(traefik)))
        }
        Door::BuiltIn => {
            let url = format!("http://{app}");
            let gateway = TestApp::spawn_with(|config| {
                policy(config);
                config.upstreams = vec![UpstreamConfig {
                    prefix: "/api".to_owned(),
                    url,
                }];
            })
            .await;
            let base = gateway.base.clone();
            (gateway, base, None)
        }
    }
}

/// What the application received, from the echo body.
fn seen<'a>(reply: &'a Reply, header: &str) -> Option<&'a str> {
    reply.body["headers"][header].as_str()
}

async fn no_token_is_refused(door: FrontDoor) {
    let reply = door.get("/api/orders", None, &[]).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{reply:?}");
    assert_eq!(door.upstream.hits(), 0, "nothing reached the application");
}

async fn a_valid_token_reaches_the_app_with_its_identity(door: FrontDoor) {
    let (_, email, token) = door.app.logged_in().await;
    let reply = door.get("/api/orders?page=2", Some(&token), &[]).await;
    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    assert_eq!(reply.body["uri"], "/api/orders?page=2");
    let user_id = door.user_id(&email).await;
    assert_eq!(seen(&reply, "x-auth-user-id"), Some(user_id.as_str()));
    assert_eq!(seen(&reply, "x-auth-email"), Some(email.as_str()));
    assert!(seen(&reply, "x-auth-session-id").is_some());
}

async fn a_spoofed_identity_never_reaches_the_app(door: FrontDoor) {
    let (_, email, token) = door.app.logged_in().await;
    let spoof = [
        ("x-auth-user-id", "00000000-0000-0000-0000-000000000000"),
        ("x-auth-roles", "admin"),
        ("x-auth-email", "ceo@example.com"),
    ];
    let reply = door.get("/api/orders", Some(&token), &spoof).await;
    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    let user_id = door.user_id(&email).await;
    assert_eq!(seen(&reply, "x-auth-user-id"), Some(user_id.as_str()));
    assert_eq!(
        seen(&reply, "x-auth-roles").unwrap_or_default(),
        "",
        "the user has no roles"
    );
    assert_eq!(seen(&reply, "x-auth-email"), Some(email.as_str()));

    let anonymous = door.get("/api/public/catalog", None, &spoof).await;
    assert_eq!(anonymous.status, StatusCode::OK, "{anonymous:?}");
    for (name, _) in spoof {
        assert_eq!(seen(&anonymous, name), None, "{name} reached the app");
    }

    if door.strips_every_identity_name {
        let invented = [("x-auth-admin", "true"), ("X-AUTH-TENANT", "other")];
        let reply = door.get("/api/orders", Some(&token), &invented).await;
        assert_eq!(seen(&reply, "x-auth-admin"), None, "{reply:?}");
        assert_eq!(seen(&reply, "x-auth-tenant"), None, "{reply:?}");
    }
}

async fn a_revoked_users_token_is_refused_on_the_next_request(door: FrontDoor) {
    let (_, email, token) = door.app.logged_in().await;
    assert_eq!(
        door.get("/api/orders", Some(&token), &[]).await.status,
        StatusCode::OK
    );
    let user = door.app.gateway.find_user(&email).await.expect("user");
    door.app
        .gateway
        .revoke_user(user.id, "test")
        .await
        .expect("revoke");
    let reply = door.get("/api/orders", Some(&token), &[]).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{reply:?}");
}

async fn a_route_needing_a_role_the_user_lacks_is_forbidden(door: FrontDoor) {
    let (_, _, plain) = door.app.logged_in().await;
    let reply = door.get("/api/admin/users", Some(&plain), &[]).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN, "{reply:?}");
    // The same resource spelled so a servlet container would read it as /api/admin/users:
    // forbidden where the gateway forwards the judged path itself (the built-in proxy), refused
    // as not canonical where a proxy forwards it as sent (400 from the check, which nginx's
    // auth_request turns into a 500).
    let sneaky = door
        .get("/api/public/..;/admin/users", Some(&plain), &[])
        .await;
    assert!(
        [
            StatusCode::FORBIDDEN,
            StatusCode::BAD_REQUEST,
            StatusCode::INTERNAL_SERVER_ERROR
        ]
        .contains(&sneaky.status),
        "{sneaky:?}"
    );
    assert_eq!(door.upstream.hits(), 0, "nothing reached the application");

    let (_, _, admin) = door.app.logged_in_with_roles(&["admin"]).await;
    let reply = door.get("/api/admin/users", Some(&admin), &[]).await;
    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    assert_eq!(seen(&reply, "x-auth-roles"), Some("admin"));
}

async fn a_client_cannot_describe_a_different_request(door: FrontDoor) {
    let (_, _, plain) = door.app.logged_in().await;
    let lies = [
        ("x-forwarded-method", "GET"),
        ("x-forwarded-uri", "/api/public/catalog"),
        ("x-original-method", "GET"),
        ("x-original-uri", "/api/public/catalog"),
    ];
    let reply = door.get("/api/admin/users", Some(&plain), &lies).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN, "{reply:?}");
    assert_eq!(door.upstream.hits(), 0);
}

async fn a_public_route_needs_no_token(door: FrontDoor) {
    let reply = door.get("/api/public/catalog", None, &[]).await;
    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    assert_eq!(seen(&reply, "x-auth-user-id"), None);
    let (_, _, token) = door.app.logged_in().await;
    let identified = door.get("/api/public/catalog", Some(&token), &[]).await;
    assert!(
        seen(&identified, "x-auth-user-id").is_some(),
        "a valid token on a public route still identifies the caller"
    );
}

async fn a_websocket_passes_after_the_check_with_the_identity(door: FrontDoor) {
    let url = format!("{}/api/live/ws", door.base.replace("http://", "ws://"));
    match try_ws_connect(&url, &[]).await {
        Err(WsError::Http(response)) => {
            assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        }
        other => panic!("an upgrade without a token must be refused, got {other:?}"),
    }
    assert_eq!(door.upstream.hits(), 0);

    let (_, email, token) = door.app.logged_in().await;
    let bearer = format!("Bearer {token}");
    let headers = [
        ("authorization", bearer.as_str()),
        ("x-auth-user-id", "spoofed"),
    ];
    let (mut socket, _) = ws_connect(&url, &headers).await;
    let Some(Ok(Message::Text(greeting))) = socket.next().await else {
        panic!("the upstream greets with the headers it saw");
    };
    let greeting: serde_json::Value = serde_json::from_str(&greeting).expect("json");
    let user_id = door.user_id(&email).await;
    assert_eq!(greeting["headers"]["x-auth-user-id"], user_id.as_str());

    let text = "ping through the gateway";
    socket.send(Message::Text(text.into())).await.expect("send");
    let Some(Ok(Message::Text(echoed))) = socket.next().await else {
        panic!("an echo");
    };
    assert_eq!(echoed.as_str(), text);
}

async fn a_path_spelled_otherwise_gets_no_weaker_decision(door: FrontDoor) {
    let (_, _, plain) = door.app.logged_in().await;
    // Each of these is /api/admin/... to a case-insensitive or Windows application.
    for path in [
        "/API/admin/users",
        "/api/ADMIN/users",
        "/api/Admin",
        "/api/admin./users",
        "/api/admin%2e/users",
        "/api/admin%20/users",
        "/api/adm%C4%B1n/users",
        "/api/%EF%BD%81dmin/users",
        "/api/admin::$DATA/users",
        "/api/admin:$i30:$INDEX_ALLOCATION/users",
        "/api/ADMINI~1/users",
        "/api/%E2%93%90dmin/users",
        "/api/%C2%AAdmin/users",
    ] {
        let reply = door.get(path, Some(&plain), &[]).await;
        assert!(
            reply.status.is_client_error() || reply.status.is_server_error(),
            "{path}: {reply:?}"
        );
    }
    assert_eq!(door.upstream.hits(), 0, "nothing reached the application");
}

/// The door forwards the original target; an application may resolve `..`, `;params` or empty
/// segments otherwise than the gateway would (Express leaves `..` alone, RFC 3986 lets `..`
/// remove an empty segment), so a path that reaches it is exactly the path that was judged.
async fn a_path_the_app_may_resolve_otherwise_never_passes_as_another(door: FrontDoor) {
    let addr: SocketAddr = door
        .base
        .trim_start_matches("http://")
        .parse()
        .expect("door address");
    for path in [
        "/api/admin/settings/../../public/x",
        "/api/admin/settings/%2e%2e/%2e%2e/public/x",
        "/api/admin/settings/..;/..;/public/x",
        "/api/admin//../public/x",
        "/api/admin/x//../../public/x",
        "/api/public;x/../admin/users",
    ] {
        let request =
            format!("GET {path} HTTP/1.1\r\nHost: app.example\r\nConnection: close\r\n\r\n");
        let reply = exchange(addr, &request).await;
        if reply.status == 200 {
            // Resolved in front of the check (Traefik's sanitizePath, the built-in proxy):
            // then the application must get the very path that was judged public.
            let uri = reply.json()["uri"].as_str().unwrap_or_default().to_owned();
            assert!(
                uri.starts_with("/api/public/"),
                "{path} reached the app as {uri:?}:\n{}",
                reply.text
            );
        } else {
            assert!(reply.status >= 400, "{path}: {}", reply.text);
        }
    }
}

async fn an_identity_header_in_any_spelling_never_reaches_the_app(door: FrontDoor) {
    let (_, email, token) = door.app.logged_in().await;
    let forged = [
        ("x_auth_user_id", "00000000-0000-0000-0000-000000000000"),
        ("X_Auth_Roles", "admin"),
        ("x.auth.email", "ceo@example.com"),
        ("x-auth_session-id", "forged"),
        ("X-AUTH_ROLES", "admin"),
    ];
    let user_id = door.user_id(&email).await;
    let identified = door.get("/api/orders", Some(&token), &forged).await;
    let anonymous = door.get("/api/public/catalog", None, &forged).await;
    for reply in [&identified, &anonymous] {
        assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
        let headers = reply.body["headers"].as_object().expect("echoed headers");
        for (name, value) in headers {
            let read_as = name.to_ascii_lowercase().replace(['_', '.'], "-");
            if !read_as.starts_with("x-auth-") {
                continue;
            }
            assert_eq!(name, &read_as, "a forged spelling {name} reached the app");
            assert!(
                !forged.iter().any(|(_, forged)| value == forged),
                "{name}: {value} is forged"
            );
        }
    }
    assert_eq!(seen(&identified, "x-auth-user-id"), Some(user_id.as_str()));
    assert_eq!(seen(&anonymous, "x-auth-user-id"), None);
}

async fn a_method_override_is_judged_as_the_method_it_names(door: FrontDoor) {
    let reply = door.get("/api/catalog/items", None, &[]).await;
    assert_eq!(reply.status, StatusCode::OK, "reads are public: {reply:?}");
    let hits = door.upstream.hits();
    // Frameworks behind the door may read each of these as a DELETE, which needs a token.
    for header in [
        "X-HTTP-Method-Override",
        "X-HTTP-Method",
        "X-Method-Override",
    ] {
        let reply = door
            .get("/api/catalog/items", None, &[(header, "DELETE")])
            .await;
        assert_eq!(
            reply.status,
            StatusCode::UNAUTHORIZED,
            "{header}: {reply:?}"
        );
    }
    for query in ["_method=DELETE", ".method=DELETE", "_method%00=DELETE"] {
        let reply = door
            .get(&format!("/api/catalog/items?{query}"), None, &[])
            .await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{query}: {reply:?}");
    }
    assert_eq!(
        door.upstream.hits(),
        hits,
        "no override reached the application"
    );
    // CGI-style spellings: judged as overrides, or dropped before the application.
    for header in ["X_HTTP_Method_Override", "x.http.method.override"] {
        let reply = door
            .get("/api/catalog/items", None, &[(header, "DELETE")])
            .await;
        if reply.status == StatusCode::OK {
            let seen = reply.body["headers"].as_object().expect("echoed headers");
            assert!(
                !seen.keys().any(|name| name
                    .to_ascii_lowercase()
                    .replace(['_', '.'], "-")
                    .contains("method")),
                "{header} reached the application unjudged: {reply:?}"
            );
        } else {
            assert_eq!(
                reply.status,
                StatusCode::UNAUTHORIZED,
                "{header}: {reply:?}"
            );
        }
    }
}

/// An h2c-capable application behind each door: a client asking to upgrade to anything but a
/// WebSocket gets a plain answer, and the application never sees any other upgrade.
async fn only_websocket_upgrades_are_relayed(door: Door) {
    let upstream = SwitchingUpstream::start(Switches::WhenAsked).await;
    let (_gateway, base, _proxy) = in_front_of(door, upstream.addr()).await;
    let addr: SocketAddr = base
        .trim_start_matches("http://")
        .parse()
        .expect("door address");
    let settings = "HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n";
    for upgrade_lines in [
        "Upgrade: h2c\r\n",
        "Upgrade: websocket, h2c\r\n",
        "Upgrade: TLS/1.2\r\n",
        // Two lines: a router may match on one and a proxy relay the other.
        "Upgrade: h2c\r\nUpgrade: websocket\r\n",
    ] {
        let request = format!(
            "GET /api/public/catalog HTTP/1.1\r\nHost: app.example\r\n\
             Connection: Upgrade, HTTP2-Settings\r\n{upgrade_lines}{settings}\r\n"
        );
        let reply = exchange(addr, &request).await;
        let switched_to = upgrades_in(&reply.text.to_ascii_lowercase());
        assert!(
            reply.status != 101 || switched_to == ["websocket"],
            "{upgrade_lines} was relayed:\n{}",
            reply.text
        );
        assert!(
            reply.status == 101 || !reply.text.contains(RAW_BYTES),
            "{}",
            reply.text
        );
    }
    for head in upstream.heads() {
        assert!(
            upgrades_in(&head)
                .iter()
                .all(|protocol| protocol == "websocket"),
            "the application saw another upgrade:\n{head}"
        );
        assert!(!head.contains("http2-settings"), "{head}");
    }
}

#[tokio::test]
async fn the_built_in_proxy_never_relays_a_switch_the_client_did_not_get_to_ask_for() {
    let upstream = SwitchingUpstream::start(Switches::Always).await;
    let (gateway, _, _) = in_front_of(Door::BuiltIn, upstream.addr()).await;
    let request = "GET /api/public/catalog HTTP/1.1\r\nHost: app.example\r\n\
                   Connection: Upgrade\r\nUpgrade: h2c\r\n\r\n";
    let reply = exchange(gateway.addr(), request).await;
    assert_eq!(reply.status, 502, "{}", reply.text);
    assert!(!reply.text.contains(RAW_BYTES), "{}", reply.text);
    let reply = exchange(
        gateway.addr(),
        "GET /api/public/catalog HTTP/1.1\r\nHost: app.example\r\n\r\n",
    )
    .await;
    assert_eq!(
        reply.status, 502,
        "an unasked switch is an upstream fault: {}",
        reply.text
    );
}

mod upgrades {
    use super::{only_websocket_upgrades_are_relayed, Door};

    #[tokio::test]
    async fn through_nginx_only_websocket_upgrades_are_relayed() {
        only_websocket_upgrades_are_relayed(Door::Nginx).await;
    }

    #[tokio::test]
    async fn through_traefik_only_websocket_upgrades_are_relayed() {
        only_websocket_upgrades_are_relayed(Door::Traefik).await;
    }

    #[tokio::test]
    async fn through_the_built_in_proxy_only_websocket_upgrades_are_relayed() {
        only_websocket_upgrades_are_relayed(Door::BuiltIn).await;
    }
}

/// One test per scenario and door, named `<door>::<scenario>`.
macro_rules! through_each_door {
    ($($scenario:ident),* $(,)?) => {
        mod nginx {
            $(
                #[tokio::test]
                async fn $scenario() {
                    super::$scenario(super::FrontDoor::nginx().await).await;
                }
            )*
        }
        mod traefik {
            $(
                #[tokio::test]
                async fn $scenario() {
                    super::$scenario(super::FrontDoor::traefik().await).await;
                }
            )*
        }
        mod built_in_proxy {
            $(
                #[tokio::test]
                async fn $scenario() {
                    super::$scenario(super::FrontDoor::built_in().await).await;
                }
            )*
        }
    };
}

through_each_door!(
    no_token_is_refused,
    a_valid_token_reaches_the_app_with_its_identity,
    a_spoofed_identity_never_reaches_the_app,
    a_revoked_users_token_is_refused_on_the_next_request,
    a_route_needing_a_role_the_user_lacks_is_forbidden,
    a_public_route_needs_no_token,
    a_client_cannot_describe_a_different_request,
    a_websocket_passes_after_the_check_with_the_identity,
    a_path_spelled_otherwise_gets_no_weaker_decision,
    an_identity_header_in_any_spelling_never_reaches_the_app,
    a_method_override_is_judged_as_the_method_it_names,
    a_path_the_app_may_resolve_otherwise_never_passes_as_another,
);
