//! Schemas of the inputs several routes share (emails, passwords, roles), precise enough that
//! a value the document calls valid is one the core's rules accept (`portcullis_core::user`).
//! Documentation only: the core does the checking.

use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, OneOfBuilder, Schema, Type};
use utoipa::openapi::RefOr;

/// Whitespace that `str::trim` removes around an email (Unicode `White_Space`).
const SPACE: &str = r"[\t-\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*";

/// `portcullis_core::user::normalize_email`: one `@`, a local part of printable ASCII without
/// `"(),:;<>[\]`, a domain of two or more labels of letters, digits and `-`.
pub fn email() -> Schema {
    let pattern =
        format!(r"^{SPACE}[!#-'*+\-./0-9=?A-Z^-~]{{1,64}}@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+{SPACE}$");
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(pattern))
        .max_length(Some(254))
        .examples(["alice@example.com"])
        .into()
}

/// `portcullis_core::user::check_password`: 8 to 128 characters.
pub fn password() -> Schema {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .min_length(Some(8))
        .max_length(Some(128))
        .examples(["correct horse battery"])
        .into()
}

/// A password presented for checking (the current one): any text; one that breaks today's
/// rules simply does not match.
pub fn any_password() -> Schema {
    ObjectBuilder::new().schema_type(Type::String).into()
}

pub fn optional_password() -> Schema {
    OneOfBuilder::new()
        .item(password())
        .item(ObjectBuilder::new().schema_type(Type::Null))
        .into()
}

/// `portcullis_core::user::check_role`.
pub fn role() -> Schema {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some("^[a-z0-9_.:-]{1,64}$"))
        .examples(["admin"])
        .into()
}

/// [`role`], for each of a list of roles.
pub fn roles() -> Schema {
    ArrayBuilder::new().items(RefOr::T(role())).into()
}
