//! TODO: area under construction.

use super::Hub;

pub struct Search<'a>(pub(super) &'a Hub);
