//! (area: history — being written)

use super::Hub;

pub struct History<'a>(pub(super) &'a Hub);
