//! TODO: area under construction.

use super::Hub;

pub struct Tagging<'a>(pub(super) &'a Hub);
