use crate::api::Registry;

pub(super) fn register(_r: &mut Registry) {}
