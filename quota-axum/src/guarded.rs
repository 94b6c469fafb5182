//! Who calls the public demo routes: the brand comes from its public API key and is handed to
//! `quota_tower::QuotaLayer` (which meters the call) as a request extension.

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::auth::Caller;
use crate::problem::Problem;
use crate::state::AppState;

/// The brand a public request is made for (set by [`authenticate_brand`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrandId(pub String);

/// Resolves the brand from the public API key; refuses admin tokens and a foreign
/// `X-Brand-Id` (403).
pub async fn authenticate_brand(
    State(state): State<AppState>,
    mut req: Request,
    next: Next,
) -> Response {
    let brand = match state.auth.authenticate(req.headers()) {
        Ok(Caller::Brand(b)) => b,
        Ok(Caller::Admin) => {
            return Problem::forbidden(
                "public routes are metered per brand: call them with the brand's public API key",
            )
            .into_response();
        }
        Err(p) => return p.into_response(),
    };
    if let Some(claimed) = req.headers().get("x-brand-id") {
        let claimed = claimed.to_str().unwrap_or_default();
        if claimed != brand {
            return Problem::forbidden(format!(
                "the API key of brand {brand:?} cannot act for brand {claimed:?}"
            ))
            .into_response();
        }
    }
    req.extensions_mut()
        .insert(quota_tower::Brand::new(brand.as_str()));
    req.extensions_mut().insert(BrandId(brand));
    next.run(req).await
}
