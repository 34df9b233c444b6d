//! Tests of `registry.rs`, kept beside it so the rules read without them.

use super::*;

fn registry(cap: usize) -> Arc<Registry> {
    Arc::new(Registry::new(
        cap,
        Duration::from_secs(10),
        Duration::from_secs(60),
    ))
}

#[tokio::test]
async fn at_the_cap_the_oldest_idle_connection_makes_room() {
    let registry = registry(2);
    let first = registry.admit().expect("room");
    let second = registry.admit().expect("room");
    assert!(!second.made_room);
    let _busy = first.connection.request_started();

    let third = registry.admit().expect("an idle one makes room");
    assert!(third.made_room);
    assert_eq!(second.connection.closed_by_server().await, Closing::Evicted);
    assert!(first.connection.has_request_in_flight());
}

#[tokio::test]
async fn the_accept_loop_can_wait_for_an_evicted_connection_to_close() {
    let registry = registry(1);
    let first = registry.admit().expect("room");
    let second = registry.admit().expect("room made");
    let closing = tokio::spawn(async move {
        first.connection.closed_by_server().await;
        drop(first.slot);
    });
    let started = Instant::now();
    registry.settled(Duration::from_secs(5)).await;
    assert!(started.elapsed() < Duration::from_secs(1));
    closing.await.expect("closing task");
    drop(second);
}

#[tokio::test]
async fn when_every_connection_is_busy_the_newcomer_is_refused() {
    let registry = registry(1);
    let only = registry.admit().expect("room");
    let request = only.connection.request_started();
    assert!(registry.admit().is_none());
    drop(request);
    assert!(
        registry.admit().is_some(),
        "idle again, so it can be evicted"
    );
}

#[tokio::test]
async fn a_closed_socket_frees_its_place() {
    let registry = registry(1);
    let only = registry.admit().expect("room");
    let _busy = only.connection.request_started();
    drop(only.slot);
    assert!(registry.admit().is_some());
}

// Real time, kept short: tokio's paused clock needs a feature the build does not enable.
fn quick_registry() -> Arc<Registry> {
    Arc::new(Registry::new(
        1,
        Duration::from_millis(200),
        Duration::from_secs(1),
    ))
}

#[tokio::test]
async fn a_silent_new_connection_is_closed_at_the_header_timeout() {
    let Admitted {
        slot: _slot,
        connection,
        ..
    } = quick_registry().admit().expect("room");
    let start = Instant::now();
    assert_eq!(connection.closed_by_server().await, Closing::HeaderTimeout);
    let waited = start.elapsed();
    assert!(waited >= Duration::from_millis(190), "{waited:?}");
    assert!(waited < Duration::from_secs(1), "{waited:?}");
}

#[tokio::test]
async fn idle_gets_the_idle_timeout_until_a_new_head_starts() {
    let Admitted {
        slot: _slot,
        connection,
        ..
    } = quick_registry().admit().expect("room");
    drop(connection.request_started());
    let idle_since = Instant::now();
    tokio::time::sleep(Duration::from_millis(100)).await;
    connection.bytes_arrived();
    assert_eq!(connection.closed_by_server().await, Closing::HeaderTimeout);
    let waited = idle_since.elapsed();
    assert!(waited >= Duration::from_millis(300), "{waited:?}");
    assert!(waited < Duration::from_secs(1), "{waited:?}");

    drop(connection.request_started());
    let idle_since = Instant::now();
    assert_eq!(connection.closed_by_server().await, Closing::IdleTimeout);
    assert!(idle_since.elapsed() >= Duration::from_secs(1));
}

#[tokio::test]
async fn a_request_in_flight_is_closed_once_nothing_moves_for_the_idle_timeout() {
    let Admitted {
        slot: _slot,
        connection,
        ..
    } = quick_registry().admit().expect("room");
    let _busy = connection.request_started();
    // Bytes keep moving for longer than the idle timeout: no stall yet.
    let moving = async {
        for _ in 0..5 {
            tokio::time::sleep(Duration::from_millis(300)).await;
            connection.bytes_sent();
        }
    };
    tokio::select! {
        why = connection.closed_by_server() => panic!("closed while moving: {why:?}"),
        () = moving => {}
    }
    let still_since = Instant::now();
    assert_eq!(connection.closed_by_server().await, Closing::Stalled);
    let waited = still_since.elapsed();
    assert!(waited >= Duration::from_millis(950), "{waited:?}");
    assert!(waited < Duration::from_millis(1500), "{waited:?}");
}

#[tokio::test]
async fn a_detached_connection_is_never_evicted() {
    let registry = registry(1);
    let only = registry.admit().expect("room");
    only.connection.detach();
    assert!(registry.admit().is_none());
}

#[tokio::test]
async fn at_the_shutdown_timeout_busy_connections_are_cut_and_tunnels_left_alone() {
    let registry = registry(3);
    let busy = registry.admit().expect("room");
    let _request = busy.connection.request_started();
    let idle = registry.admit().expect("room");
    let tunnel = registry.admit().expect("room");
    tunnel.connection.detach();

    assert_eq!(registry.cut_all(), 2, "the busy and the idle one");
    assert_eq!(
        busy.connection.closed_by_server().await,
        Closing::ShutdownTimeout
    );
    assert_eq!(
        idle.connection.closed_by_server().await,
        Closing::ShutdownTimeout
    );
}

#[tokio::test]
async fn a_connection_is_quiet_until_a_byte_of_its_next_request_is_read() {
    let Admitted {
        slot: _slot,
        connection,
        ..
    } = registry(1).admit().expect("room");
    assert!(connection.is_quiet(), "nothing read since accept");
    connection.bytes_arrived();
    assert!(!connection.is_quiet(), "a head has begun");
    let request = connection.request_started();
    assert!(!connection.is_quiet(), "a request is in flight");
    drop(request);
    assert!(connection.is_quiet(), "the request is over");
    connection.bytes_arrived();
    assert!(!connection.is_quiet(), "the next head has begun");
}

#[tokio::test]
async fn the_first_byte_does_not_extend_a_new_connections_head_deadline() {
    let Admitted {
        slot: _slot,
        connection,
        ..
    } = quick_registry().admit().expect("room");
    let accepted = Instant::now();
    tokio::time::sleep(Duration::from_millis(100)).await;
    connection.bytes_arrived();
    assert_eq!(connection.closed_by_server().await, Closing::HeaderTimeout);
    let waited = accepted.elapsed();
    assert!(
        waited < Duration::from_millis(290),
        "counted from accept: {waited:?}"
    );
}
