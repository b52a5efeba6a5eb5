//! Managed identity stand-ins: the Azure Instance Metadata Service's token endpoint
//! (`GET /metadata/identity/oauth2/token`, `Metadata: true`) and App Service's
//! (`GET /msi/token`, `X-IDENTITY-HEADER`), issuing the same bearer tokens as the Entra ID
//! endpoint. Both take a `resource` (the scope without `/.default`), as the SDKs send it.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use chrono::Duration;
use serde_json::json;

use super::AzureService;
use super::token::{BATCH_SCOPES, json_response};
use crate::faults::Provider;

/// Which managed identity endpoint a request came to.
#[derive(Clone, Copy)]
enum Endpoint {
    Imds,
    AppService,
}

/// `GET /metadata/identity/oauth2/token` (a VM's managed identity).
pub(crate) async fn imds(
    State(svc): State<Arc<AzureService>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    serve(&svc, Endpoint::Imds, query.as_deref(), &headers)
}

/// `GET /msi/token` (App Service's and Functions' managed identity).
pub(crate) async fn app_service(
    State(svc): State<Arc<AzureService>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    serve(&svc, Endpoint::AppService, query.as_deref(), &headers)
}

fn serve(svc: &AzureService, at: Endpoint, query: Option<&str>, headers: &HeaderMap) -> Response {
    let (op, path) = match at {
        Endpoint::Imds => (
            "ManagedIdentity_Imds",
            "GET /metadata/identity/oauth2/token",
        ),
        Endpoint::AppService => ("ManagedIdentity_AppService", "GET /msi/token"),
    };
    svc.ctx.stats.record_request(Provider::Azure, op);
    let answer = check(svc, at, query, headers);
    let outcome = answer.as_ref().err().map(|(_, e, _)| e.to_string());
    let response = match answer {
        Ok(()) => {
            let now = svc.ctx.auth_clock.now();
            let lifetime = svc.ctx.config.azure.token_lifetime_secs;
            let token = svc.tokens.issue(
                now,
                Duration::seconds(i64::try_from(lifetime).unwrap_or(i64::MAX / 1000)),
            );
            let expires_on = now.timestamp() + i64::try_from(lifetime).unwrap_or(0);
            // IMDS and App Service send every number as a string.
            json_response(
                StatusCode::OK,
                &json!({
                    "access_token": token,
                    "client_id": svc.ctx.config.azure.client_id,
                    "expires_in": lifetime.to_string(),
                    "expires_on": expires_on.to_string(),
                    "ext_expires_in": lifetime.to_string(),
                    "not_before": now.timestamp().to_string(),
                    "resource": "https://batch.core.windows.net/",
                    "token_type": "Bearer",
                }),
            )
        }
        Err((status, error, description)) => {
            svc.ctx.stats.record_error(Provider::Azure, error);
            json_response(
                status,
                &json!({"error": error, "error_description": description}),
            )
        }
    };
    crate::log::served(
        "azure",
        path,
        op,
        response.status(),
        None,
        outcome.as_deref(),
    );
    response
}

type Refusal = (StatusCode, &'static str, String);

fn check(
    svc: &AzureService,
    at: Endpoint,
    query: Option<&str>,
    headers: &HeaderMap,
) -> Result<(), Refusal> {
    let bad = |error: &'static str, text: String| Err((StatusCode::BAD_REQUEST, error, text));
    match at {
        Endpoint::Imds => {
            if headers.get("metadata").and_then(|v| v.to_str().ok()) != Some("true") {
                return bad(
                    "invalid_request",
                    "Required metadata header not specified".into(),
                );
            }
        }
        Endpoint::AppService => {
            let expected = svc.ctx.config.azure.identity_header.expose();
            let given = headers
                .get("x-identity-header")
                .and_then(|v| v.to_str().ok());
            if !given.is_some_and(|g| {
                polybatch_protocol::constant_time::eq(g.as_bytes(), expected.as_bytes())
            }) {
                return Err((
                    StatusCode::UNAUTHORIZED,
                    "unauthorized",
                    "The X-IDENTITY-HEADER header is missing or wrong.".into(),
                ));
            }
        }
    }
    let query: HashMap<String, String> =
        url::form_urlencoded::parse(query.unwrap_or("").as_bytes())
            .into_owned()
            .collect();
    if query.get("api-version").is_none_or(String::is_empty) {
        return bad(
            "invalid_request",
            "Required query variable 'api-version' is missing".into(),
        );
    }
    let Some(resource) = query.get("resource").filter(|r| !r.is_empty()) else {
        return bad(
            "invalid_request",
            "Required query variable 'resource' is missing".into(),
        );
    };
    // A resource is its scope without `/.default`, with or without the trailing slash.
    let batch = BATCH_SCOPES.iter().any(|s| {
        s.trim_end_matches("/.default").trim_end_matches('/') == resource.trim_end_matches('/')
    });
    if !batch {
        return bad(
            "invalid_resource",
            format!(
                "AADSTS500011: The resource principal named {resource} was not found in the tenant."
            ),
        );
    }
    // A user-assigned identity is named by its client id; the emulator has one identity.
    if let Some(id) = query.get("client_id")
        && id != &svc.ctx.config.azure.client_id
    {
        return bad(
            "invalid_request",
            format!("Identity not found: no user-assigned identity with client id {id}"),
        );
    }
    Ok(())
}
