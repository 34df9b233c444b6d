//! The revocation-cache contract (`portcullis-store-contract`), shared with the in-process
//! cache, and the single-use contract, shared with SQLite, against Redis: one fresh key prefix
//! per case.

mod cache {
    use crate::helpers::TestCache;

    portcullis_store_contract::cache_contract!(fixture: TestCache::new().await, store: |t| &t.cache);
}

mod single_use {
    use crate::helpers::TestCache;
    use portcullis_store_redis::RedisSingleUse;

    portcullis_store_contract::single_use_contract!(
        fixture: TestCache::new().await,
        store: |t| &RedisSingleUse::new(&t.cache)
    );
}
