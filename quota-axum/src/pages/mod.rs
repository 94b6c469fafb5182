//! The server-rendered pages, French and English, without any external resource or front-end
//! build: the cockpit (`/analytics`, its top-up and share forms), the login form, the
//! monitoring page, the plan catalog and the read-only share page. The cockpit and the share
//! page render the snapshot through one view ([`snapshot_view`]).
//!
//! | route | who | what |
//! | --- | --- | --- |
//! | `GET /analytics?brandId=&lang=&topup=` | admin | the cockpit |
//! | `POST /analytics/topup` | admin | starts a top-up checkout, 303 to it |
//! | `POST /analytics/share` | admin | issues a share link, shows it |
//! | `GET /monitoring` | admin | store and alert-channel health |
//! | `GET`/`POST /login` | anyone | admin token form, sets the `quota_admin` session cookie |
//! | `POST /logout` | anyone | revokes the session, clears the cookie, 303 to `/login` |
//! | `GET /plans` | anyone | the plan catalog |
//! | `GET /share/quota/{token}` | token holder | the read-only snapshot |

pub mod admin;
pub mod chart;
pub mod cockpit;
pub mod i18n;
pub mod layout;
pub mod login;
pub mod money;
pub mod monitoring;
pub mod plans;
pub mod share;
pub mod snapshot_view;

use axum::Router;
use axum::extract::{FromRequest, Request};
use axum::response::Response;
use axum::routing::{get, post};
use http::StatusCode;
use serde::de::DeserializeOwned;

use crate::pages::layout::{Audience, message_page, page_lang};
use crate::state::AppState;

/// The page routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/analytics", get(cockpit::page))
        .route("/analytics/topup", post(cockpit::topup))
        .route("/analytics/share", post(cockpit::share))
        .route("/login", get(login::form).post(login::submit))
        .route("/logout", post(login::logout))
        .route("/monitoring", get(monitoring::page))
        .route("/plans", get(plans::page))
        .route("/share/quota/{token}", get(share::page))
}

/// A form body (`application/x-www-form-urlencoded`); a refused one gets a page with the
/// extractor's status (400 malformed, 413 too large, 415 another content type).
#[derive(Debug, Clone, Copy, Default)]
pub struct PageForm<T>(pub T);

impl<T, S> FromRequest<S> for PageForm<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let lang = page_lang(None, req.headers());
        match axum::Form::<T>::from_request(req, state).await {
            Ok(axum::Form(v)) => Ok(PageForm(v)),
            Err(r) => {
                let l = i18n::labels(lang);
                let status = if r.status().is_client_error() {
                    r.status()
                } else {
                    StatusCode::BAD_REQUEST
                };
                Err(message_page(
                    status,
                    lang,
                    l.bad_request_title,
                    &r.body_text(),
                    Audience::Public,
                ))
            }
        }
    }
}
