//! [`Causes`]: an error shown with every cause after it, for log lines. Errors in this project
//! say only what failed and keep what caused it as their `source`, so a plain `%error` would
//! show only the outermost message.

use std::error::Error;
use std::fmt;

/// Displays `outer: inner: root`.
pub struct Causes<'a>(pub &'a (dyn Error + 'static));

impl fmt::Display for Causes<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)?;
        let mut cause = self.0.source();
        while let Some(error) = cause {
            write!(f, ": {error}")?;
            cause = error.source();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::StoreError;

    #[test]
    fn a_store_failure_names_its_cause_once() {
        let error = StoreError::Backend("disk I/O error".into());
        assert_eq!(error.to_string(), "storage failed");
        assert_eq!(Causes(&error).to_string(), "storage failed: disk I/O error");
    }
}
