//! The revocation-cache contract (`portcullis-store-contract`), shared with the in-process
//! cache, against Redis: one fresh key prefix per case.

use crate::helpers::TestCache;

portcullis_store_contract::cache_contract!(fixture: TestCache::new().await, store: |t| &t.cache);
