//! TODO: area under construction.

use super::Hub;

pub struct Archives<'a>(pub(super) &'a Hub);
