//! How the admin API's inputs read in the OpenAPI document: schemas precise enough that a
//! request the document calls valid is one the handlers accept. Documentation only; the
//! handlers and the core's rules do the checking.

use super::bodies::{RevocationFilter, TokenBody};
use super::{MAX_EVENTS_PAGE, MAX_USERS_PAGE};
use crate::openapi::inputs::{email, role};
use crate::openapi::parameter;
use utoipa::openapi::path::{Parameter, ParameterIn};
use utoipa::openapi::schema::{
    AdditionalProperties, AnyOfBuilder, KnownFormat, ObjectBuilder, OneOfBuilder, Schema,
    SchemaFormat, Type,
};
use utoipa::openapi::RefOr;
use utoipa::{IntoParams, PartialSchema, ToSchema};

fn string(format: KnownFormat) -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .format(Some(SchemaFormat::KnownFormat(format)))
}

/// The user a path names: their id, or their email.
pub struct UserRef;

impl IntoParams for UserRef {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        let description = "The user's id, or their email address.";
        vec![parameter(
            "user",
            ParameterIn::Path,
            true,
            description,
            user_reference(),
        )]
    }
}

fn user_reference() -> Schema {
    AnyOfBuilder::new()
        .item(string(KnownFormat::Uuid))
        .item(email())
        .into()
}

/// The query of `GET /admin/events`; every parameter is optional and they combine.
pub struct EventFilter;

impl IntoParams for EventFilter {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        let query = |name, description, schema: Schema| {
            parameter(name, ParameterIn::Query, false, description, schema)
        };
        let limit = ObjectBuilder::new()
            .schema_type(Type::Integer)
            .minimum(Some(1))
            .maximum(Some(MAX_EVENTS_PAGE));
        let cursor = ObjectBuilder::new()
            .schema_type(Type::Integer)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)));
        vec![
            query(
                "user",
                "Only events about this user (an id or an email).",
                user_reference(),
            ),
            query("kind", "Only events of this kind.", event_kind()),
            query(
                "since",
                "Only events at or after this time (RFC 3339).",
                string(KnownFormat::DateTime).into(),
            ),
            query(
                "until",
                "Only events before this time (RFC 3339).",
                string(KnownFormat::DateTime).into(),
            ),
            query("limit", "Events per page (default 50).", limit.into()),
            query(
                "cursor",
                "`next_cursor` of the previous page.",
                cursor.into(),
            ),
        ]
    }
}

/// The query of `GET /admin/users`; every parameter is optional and they combine.
pub struct UserFilter;

impl IntoParams for UserFilter {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        let query = |name, description, schema: Schema| {
            parameter(name, ParameterIn::Query, false, description, schema)
        };
        // As the handler reads them: printable ASCII, as an email is.
        let text = || {
            ObjectBuilder::new()
                .schema_type(Type::String)
                .pattern(Some("^[!-~]{1,254}$"))
        };
        let limit = ObjectBuilder::new()
            .schema_type(Type::Integer)
            .minimum(Some(1))
            .maximum(Some(MAX_USERS_PAGE));
        vec![
            query(
                "email",
                "Only accounts whose email contains this text (case-insensitive).",
                text().into(),
            ),
            query("role", "Only accounts holding this role.", role()),
            query(
                "locked",
                "Only locked (`true`) or unlocked (`false`) accounts.",
                ObjectBuilder::new().schema_type(Type::Boolean).into(),
            ),
            query("limit", "Accounts per page (default 50).", limit.into()),
            query(
                "cursor",
                "`next_cursor` of the previous page.",
                text().into(),
            ),
        ]
    }
}

fn event_kind() -> Schema {
    let kinds = portcullis_core::EventKind::ALL.map(|kind| kind.as_str());
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(kinds))
        .into()
}

/// Either `{"token": ...}` or `{"jti": ..., "exp": ...}`, nothing else.
impl PartialSchema for TokenBody {
    fn schema() -> RefOr<Schema> {
        let by_token = ObjectBuilder::new()
            .property(
                "token",
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .description(Some("An access token this gateway signed.")),
            )
            .required("token")
            .additional_properties(Some(AdditionalProperties::FreeForm(false)));
        let by_id = ObjectBuilder::new()
            .property("jti", string(KnownFormat::Uuid))
            .property(
                "exp",
                ObjectBuilder::new()
                    .schema_type(Type::Integer)
                    .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
                    .description(Some("The token's expiry, in seconds since the epoch.")),
            )
            .required("jti")
            .required("exp")
            .additional_properties(Some(AdditionalProperties::FreeForm(false)));
        OneOfBuilder::new().item(by_token).item(by_id).into()
    }
}

impl ToSchema for TokenBody {}

/// At least one criterion; they combine. `dry_run` only counts.
impl PartialSchema for RevocationFilter {
    fn schema() -> RefOr<Schema> {
        let nullable = |schema: Schema| {
            OneOfBuilder::new()
                .item(schema)
                .item(ObjectBuilder::new().schema_type(Type::Null))
        };
        let criteria = [
            (
                "created_before",
                string(KnownFormat::DateTime)
                    .description(Some("Sessions created before this time (RFC 3339).")),
            ),
            (
                "last_ip_in",
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .pattern(Some(ip_or_range()))
                    .description(Some(
                        "Sessions last used from this address or CIDR range (IPv4 or IPv6).",
                    )),
            ),
            (
                "role",
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .description(Some("Sessions of users holding this role.")),
            ),
        ];
        let mut filter =
            ObjectBuilder::new().additional_properties(Some(AdditionalProperties::FreeForm(false)));
        let mut at_least_one = AnyOfBuilder::new();
        for (name, schema) in criteria {
            let schema = Schema::from(schema);
            filter = filter.property(name, nullable(schema.clone()));
            at_least_one =
                at_least_one.item(ObjectBuilder::new().property(name, schema).required(name));
        }
        let dry_run = ObjectBuilder::new()
            .schema_type(Type::Boolean)
            .description(Some("Only count what would be revoked."));
        filter = filter.property("dry_run", dry_run);
        utoipa::openapi::schema::AllOfBuilder::new()
            .item(filter)
            .item(at_least_one)
            .into()
    }
}

impl ToSchema for RevocationFilter {}

/// An IPv4 or IPv6 address, with or without a `/prefix` of at most 32 or 128 bits: what
/// `ipnet::IpNet` or `std::net::IpAddr` parse.
fn ip_or_range() -> String {
    let byte = r"(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])";
    let v4 = format!(r"{byte}(\.{byte}){{3}}");
    let h = "[0-9a-fA-F]{1,4}";
    // Eight groups, or fewer around one `::`; the last two groups may be written as IPv4.
    let v6 = [
        format!("({h}:){{7}}{h}"),
        format!("({h}:){{6}}{v4}"),
        format!("({h}:){{1,7}}:"),
        format!("({h}:){{1,6}}:{h}"),
        format!("({h}:){{1,5}}(:{h}){{1,2}}"),
        format!("({h}:){{1,4}}(:{h}){{1,3}}"),
        format!("({h}:){{1,3}}(:{h}){{1,4}}"),
        format!("({h}:){{1,2}}(:{h}){{1,5}}"),
        format!("{h}:(:{h}){{1,6}}"),
        format!(":((:{h}){{1,7}}|:)"),
        format!("({h}:){{1,5}}:{v4}"),
        format!("({h}:){{1,4}}:({h}:){{1}}{v4}"),
        format!("({h}:){{1,3}}:({h}:){{1,2}}{v4}"),
        format!("({h}:){{1,2}}:({h}:){{1,3}}{v4}"),
        format!("{h}::({h}:){{1,4}}{v4}"),
        format!("::({h}:){{0,5}}{v4}"),
    ]
    .join("|");
    let v4_prefix = "(3[0-2]|[12]?[0-9])";
    let v6_prefix = "(12[0-8]|1[01][0-9]|[1-9]?[0-9])";
    format!("^({v4}(/{v4_prefix})?|({v6})(/{v6_prefix})?)$")
}
