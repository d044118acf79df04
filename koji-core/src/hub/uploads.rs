//! TODO: area under construction.

use super::Hub;

pub struct Uploads<'a>(pub(super) &'a Hub);
