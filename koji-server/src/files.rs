//! TODO: /kojifiles/, the content store served read-only.
