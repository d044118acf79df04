//! The web UI, mounted by koji-server at `/koji/`. A placeholder page until
//! the web issue lands (Leptos, server-rendered).

use axum::{response::Html, routing::get, Router};

/// The UI's routes, to be nested under `/koji`.
pub fn router() -> Router {
    Router::new().route("/", get(index))
}

async fn index() -> Html<&'static str> {
    Html(
        "<!doctype html><html><head><title>koji-rs</title></head><body>\
         <h1>koji-rs</h1><p>The web interface is not written yet. \
         The hub answers at <a href=\"../kojihub\">/kojihub</a>.</p></body></html>",
    )
}
