//! TODO: area under construction.

use super::Hub;

pub struct Rpms<'a>(pub(super) &'a Hub);
