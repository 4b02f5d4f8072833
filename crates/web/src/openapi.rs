//! The OpenAPI document, generated from the handlers' annotations and the
//! types they exchange, so it cannot drift from the code.

use axum::response::IntoResponse;
use utoipa::OpenApi;

use crate::api;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Atelier API",
        description = "Sessions, jobs, logins and kinds of an Atelier server. \
        Authenticate with the login cookie (plus the X-Atelier-CSRF header on changes) or \
        `Authorization: Bearer <token>`."
    ),
    paths(
        api::auth::login,
        api::auth::logout,
        api::auth::me,
        api::kinds::kinds,
        api::kinds::clusters,
        api::sessions::list,
        api::sessions::create,
        api::sessions::get_one,
        api::sessions::stop,
        api::sessions::remove,
        api::sessions::log,
        api::events::events,
        api::users::list,
        api::jobs::list,
        api::jobs::create,
        api::jobs::get_one,
        api::jobs::cancel,
        api::jobs::remove,
        api::jobs::output,
    ),
    components(schemas(
        api::SessionView,
        api::SessionList,
        api::KindsView,
        api::ClusterList,
        api::UserList,
        api::JobView,
        api::JobList
    ))
)]
struct ApiDoc;

/// The OpenAPI document as JSON text.
pub fn openapi_json() -> String {
    ApiDoc::openapi()
        .to_pretty_json()
        .unwrap_or_else(|_| "{}".to_owned())
}

pub(crate) async fn serve() -> impl IntoResponse {
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        openapi_json(),
    )
}
