//! The storage contract, written once: generic async functions over the core's storage traits
//! that every backend's test binary runs against its own store, so the embedded tier (SQLite +
//! in-process cache) and the production tier (Postgres + Redis) are held to the same behaviour.
//!
//! [`durable_contract!`] stamps out one `#[tokio::test]` per case in [`durable`] for a durable
//! store; [`cache_contract!`] does the same for a revocation cache with the cases in [`cache`],
//! and [`single_use_contract!`] for a single-use store with those in [`single_use`].
//! Each test gets a fresh fixture (a temp file, a fresh database, a fresh key prefix), so the
//! cases may assume an empty store.
//!
//! This crate is a dev-dependency only: it must never be linked into the gateway, and it holds
//! no backend-specific code (no SQL, no Redis keys).

// Test code: a failed expectation is a failed test, and the panic message is the report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod cache;
pub mod durable;
pub mod fixtures;
pub mod single_use;

/// Stamps out one `#[tokio::test]` per durable-store case. `fixture` is evaluated afresh in every
/// test and kept alive until it ends; `store` borrows the store out of it:
///
/// ```text
/// portcullis_store_contract::durable_contract!(fixture: TestDb::new().await, store: |db| &db.store);
/// ```
#[macro_export]
macro_rules! durable_contract {
    (fixture: $fixture:expr, store: |$db:ident| $store:expr) => {
        $crate::__stamp_cases!(
            durable,
            $fixture,
            $db,
            $store,
            [
                an_inserted_user_is_found_by_email_and_by_id,
                a_second_account_with_the_same_email_is_email_taken,
                locking_and_password_changes_apply_to_existing_users_only,
                new_roles_bump_the_token_version,
                a_session_opens_only_for_an_existing_unlocked_user,
                an_admin_password_reset_ends_every_session_and_bumps_the_version,
                an_owner_password_change_keeps_only_the_session_it_came_from,
                an_owner_password_change_whose_proof_no_longer_holds_changes_nothing,
                accounts_are_listed_by_email_filtered_and_paged,
                erasing_an_account_keeps_its_events_without_the_email_and_its_tokens_refused,
                a_fresh_token_rotates_to_one_successor_that_rotates_in_turn,
                a_replay_within_the_grace_window_returns_the_same_successor,
                reuse_after_the_grace_window_revokes_the_family,
                a_replay_deriving_a_different_successor_is_reuse,
                a_token_of_a_revoked_family_is_refused_with_the_family,
                a_token_of_a_locked_user_ends_its_family,
                unknown_tokens_are_invalid_and_expired_ones_expired,
                revoke_user_bumps_the_version_locks_and_revokes_every_live_family,
                a_session_is_revoked_only_by_its_owner_or_by_its_token,
                sessions_of_lists_live_and_recently_revoked_families_newest_first,
                mass_revocation_selects_by_creation_time_and_role_and_revokes_only_live_sessions,
                revocation_state_answers_all_three_checks,
                the_snapshot_lists_every_fact_still_in_force_and_nothing_else,
                a_fresh_log_is_empty_and_reading_from_the_head_finds_nothing,
                user_wide_revocations_are_logged_with_the_new_version,
                session_revocations_are_logged_with_their_denial,
                jti_denials_and_key_retirements_are_logged_when_they_deny_longer,
                writes_that_revoke_nothing_log_nothing,
                the_log_holds_every_fact_the_snapshot_lists,
                a_reader_pages_through_the_log_by_through,
                purged_entries_read_as_purged_and_the_log_goes_on,
                recent_events_come_newest_first_filtered_and_limited,
                events_page_by_cursor_and_filter_by_user_time_and_actor,
                the_purge_deletes_exactly_what_the_cutoffs_let_go,
                a_purge_with_cutoffs_in_the_past_deletes_nothing,
                signing_keys_keep_their_lifecycle_times_and_come_back_newest_first,
                a_scheduled_rotation_adds_a_key_only_if_none_is_that_recent,
                retiring_a_key_follows_the_rule_and_denies_its_tokens,
                a_chosen_event_is_stored_with_a_pending_delivery_and_others_without,
                a_claim_leases_a_due_row_to_one_holder_until_the_lease_lapses,
                a_failed_attempt_is_retried_when_due_and_only_its_lease_may_record_it,
                a_delivered_row_is_neither_claimed_nor_listed_again,
                concurrent_claims_never_get_the_same_row,
                the_purge_takes_a_deleted_events_delivery_with_it,
            ]
        );
    };
}

/// Stamps out one `#[tokio::test]` per revocation-cache case; see [`durable_contract!`].
#[macro_export]
macro_rules! cache_contract {
    (fixture: $fixture:expr, store: |$db:ident| $store:expr) => {
        $crate::__stamp_cases!(
            cache,
            $fixture,
            $db,
            $store,
            [
                before_any_load_the_cache_cannot_vouch,
                a_loaded_cache_answers_from_the_snapshot_and_later_changes,
                token_versions_only_move_forward,
                denials_are_never_shortened_and_lapse_by_the_callers_clock,
                a_retired_key_is_refused_until_its_denial_lapses,
            ]
        );
    };
}

/// Stamps out one `#[tokio::test]` per single-use-store case; see [`durable_contract!`].
#[macro_export]
macro_rules! single_use_contract {
    (fixture: $fixture:expr, store: |$db:ident| $store:expr) => {
        $crate::__stamp_cases!(
            single_use,
            $fixture,
            $db,
            $store,
            [
                a_key_is_used_once_until_it_lapses,
                different_keys_never_interfere,
                an_until_not_after_now_is_refused_and_remembers_nothing,
                concurrent_first_uses_of_one_key_yield_exactly_one_true,
                an_issued_challenge_is_taken_once_and_an_unknown_or_lapsed_one_never,
                concurrent_takes_of_one_challenge_yield_exactly_one_true,
            ]
        );
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __stamp_cases {
    ($module:ident, $fixture:expr, $db:ident, $store:expr, [$($case:ident),* $(,)?]) => {
        $(
            #[tokio::test]
            async fn $case() {
                let $db = $fixture;
                $crate::$module::$case($store).await;
            }
        )*
    };
}
